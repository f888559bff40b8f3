//! Drives `signer serve` with the AWS SDK for Rust (aws-sdk-signer, aws-sdk-lambda), whose
//! generated parsers are strict, and exits non-zero at the first answer they refuse or
//! that is not what the server should say.
//!
//! Environment: SIGNER_URL, ADMIN_ID, ADMIN_SECRET, BUCKET (holding `in/fn.zip`), and a
//! published layer `greet` (tests/serve/clients.py leaves both behind).

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_signer::types::{
    Destination, S3Destination, S3Source, SignatureValidityPeriod, SigningStatus, Source, ValidityType,
};

type Check = Result<(), Box<dyn std::error::Error>>;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

async fn config(secret: &str) -> aws_config::SdkConfig {
    use aws_smithy_http_client::{Builder, tls};
    let http = Builder::new().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(env("SIGNER_URL"))
        .credentials_provider(Credentials::new(env("ADMIN_ID"), secret, None, None, "signer-test"))
        .load()
        .await
}

fn ensure(ok: bool, what: &str) -> Check {
    if ok { Ok(()) } else { Err(what.into()) }
}

#[tokio::main]
async fn main() -> Check {
    let conf = config(&env("ADMIN_SECRET")).await;
    let signer = aws_sdk_signer::Client::new(&conf);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let bucket = env("BUCKET");

    let made = signer
        .put_signing_profile()
        .profile_name("SdkApp")
        .platform_id("AWSLambda-SHA384-ECDSA")
        .signature_validity_period(SignatureValidityPeriod::builder().value(30).r#type(ValidityType::Days).build())
        .send()
        .await?;
    let version = made.profile_version().ok_or("no profileVersion")?.to_owned();
    let profile = signer.get_signing_profile().profile_name("SdkApp").send().await?;
    ensure(profile.status().map(|s| s.as_str()) == Some("Active"), "the profile is not Active")?;
    ensure(profile.signature_validity_period().map(|p| p.value()) == Some(30), "validity")?;

    let source = S3Source::builder().bucket_name(&bucket).key("in/fn.zip").version("null").build()?;
    let destination = S3Destination::builder().bucket_name(&bucket).prefix("sdk/").build();
    let job = signer
        .start_signing_job()
        .profile_name("SdkApp")
        .source(Source::builder().s3(source).build())
        .destination(Destination::builder().s3(destination).build())
        .client_request_token("sdk-token-1")
        .send()
        .await?;
    let id = job.job_id().ok_or("no jobId")?.to_owned();
    let mut described = signer.describe_signing_job().job_id(&id).send().await?;
    for _ in 0..120 {
        if described.status() != Some(&SigningStatus::InProgress) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        described = signer.describe_signing_job().job_id(&id).send().await?;
    }
    ensure(described.status() == Some(&SigningStatus::Succeeded), "the job did not succeed")?;
    ensure(described.profile_version() == Some(version.as_str()), "the job's version")?;
    ensure(described.created_at().is_some() && described.signature_expires_at().is_some(), "the job's times")?;
    let key = described.signed_object().and_then(|o| o.s3()).and_then(|s| s.key()).ok_or("no signed object")?;
    ensure(key == format!("sdk/{id}.zip"), "the signed object's key")?;

    let mut seen = 0;
    let mut pages = signer.list_signing_jobs().max_results(3).into_paginator().send();
    while let Some(page) = pages.next().await {
        for j in page?.jobs() {
            ensure(j.created_at().is_some() && j.status().is_some(), "a listed job's time and status")?;
            seen += 1;
        }
    }
    ensure(seen >= 1, "no jobs listed")?;
    let platform = signer.get_signing_platform().platform_id("AWSLambda-SHA384-ECDSA").send().await?;
    ensure(platform.max_size_in_mb() == 250, "the platform")?;
    signer.list_profile_permissions().profile_name("SdkApp").send().await?;
    let missing = signer.get_signing_profile().profile_name("NoSuchProfile").send().await;
    ensure(
        missing.as_ref().err().and_then(|e| e.as_service_error()).is_some_and(|e| e.is_resource_not_found_exception()),
        "an unknown profile is not ResourceNotFoundException",
    )?;

    let versions = lambda.list_layer_versions().layer_name("greet").send().await?;
    let newest = versions.layer_versions().first().ok_or("no layer versions")?;
    ensure(newest.created_date().is_some_and(|d| d.ends_with("+0000")), "CreatedDate")?;
    let layer = lambda.get_layer_version().layer_name("greet").version_number(newest.version()).send().await?;
    ensure(layer.content().and_then(|c| c.code_sha256()).is_some_and(|s| s.ends_with('=')), "CodeSha256")?;
    let arn = made.profile_version_arn().ok_or("no profileVersionArn")?;
    let csc = lambda
        .create_code_signing_config()
        .allowed_publishers(
            aws_sdk_lambda::types::AllowedPublishers::builder().signing_profile_version_arns(arn).build()?,
        )
        .send()
        .await?;
    let csc_arn = csc.code_signing_config().map(|c| c.code_signing_config_arn().to_owned()).ok_or("no config")?;
    lambda.get_code_signing_config().code_signing_config_arn(&csc_arn).send().await?;
    lambda.list_code_signing_configs().send().await?;
    lambda.delete_code_signing_config().code_signing_config_arn(&csc_arn).send().await?;

    let wrong = aws_sdk_signer::Client::new(&config("x".repeat(40).as_str()).await);
    let refused = wrong.list_signing_profiles().send().await;
    let code = refused.as_ref().err().and_then(|e| e.as_service_error()).and_then(|e| {
        use aws_sdk_signer::error::ProvideErrorMetadata as _;
        e.code().map(str::to_owned)
    });
    ensure(code.as_deref() == Some("InvalidSignatureException"), "a wrong secret is not InvalidSignatureException")?;
    println!("ok");
    Ok(())
}
