//! The AWS SDK's configuration, shared by the S3 store and AWS KMS: credentials from the
//! chain the aws cli uses — the environment, `~/.aws/config` and `~/.aws/credentials`
//! with `AWS_PROFILE`, SSO, `credential_process`, web identity, container and instance
//! metadata — and the region from the environment or the profile, over TLS on ring.
//!
//! The S3 store is object_store's; [`ChainCredentials`] plugs the SDK's chain into it as
//! its credential provider, so both clients find the same credentials the same way.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::provider::error::CredentialsError;
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

/// The region when neither the environment nor the profile names one (the aws cli has
/// none and refuses; S3 and KMS clients elsewhere take this one).
const DEFAULT_REGION: &str = "us-east-1";

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_SECS: i64 = 300;

/// The SDK configuration, with `region` if given (a KMS key's ARN names one), else the
/// environment's or the profile's. Never asks instance metadata for the region.
pub(crate) async fn load(region: Option<String>) -> SdkConfig {
    use aws_smithy_http_client::{Builder, tls};
    let http = Builder::new().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build_https();
    let region = match region {
        Some(r) => RegionProviderChain::first_try(Region::new(r)),
        None => RegionProviderChain::first_try(aws_config::environment::EnvironmentVariableRegionProvider::new())
            .or_else(aws_config::profile::ProfileFileRegionProvider::new()),
    }
    .or_else(Region::from_static(DEFAULT_REGION));
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).region(region).load().await
}

/// The region the environment or the profile names, if any: for an S3 store whose
/// `AWS_REGION` is not set (object_store reads only the environment). Read once per
/// process: a worker opens a store for every job's source and destination.
pub(crate) fn profile_region() -> Option<String> {
    static REGION: OnceLock<Option<String>> = OnceLock::new();
    REGION
        .get_or_init(|| {
            run(async {
                RegionProviderChain::first_try(aws_config::environment::EnvironmentVariableRegionProvider::new())
                    .or_else(aws_config::profile::ProfileFileRegionProvider::new())
                    .region()
                    .await
                    .map(|r| r.to_string())
            })
            .ok()
            .flatten()
        })
        .clone()
}

/// Runs `fut` on the AWS runtime and waits for it, from any thread (in a runtime or not):
/// for callers that are not asynchronous (a [`SigningKey`](crate::crypto::SigningKey),
/// a store being opened). `Err` says why the runtime could not run it.
pub(crate) fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let runtime = RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("signer-aws")
                .enable_all()
                .build()
                .map_err(|e| format!("could not start the AWS client's runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _receiver_gone = tx.send(fut.await);
    });
    rx.recv().map_err(|_| "the AWS client's task ended without an answer".to_owned())
}

/// object_store's S3 credentials from the SDK's chain: found on first use, kept until
/// shortly before they expire, and shared by every S3 store the process opens (a worker
/// opens one per job's source and destination: a `credential_process` runs once).
#[derive(Debug, Default)]
pub(crate) struct ChainCredentials {
    current: tokio::sync::Mutex<Option<Current>>,
}

impl ChainCredentials {
    /// The process's one provider.
    pub(crate) fn shared() -> Arc<Self> {
        static SHARED: OnceLock<Arc<ChainCredentials>> = OnceLock::new();
        Arc::clone(SHARED.get_or_init(Arc::default))
    }
}

#[derive(Debug)]
struct Current {
    credential: Arc<AwsCredential>,
    /// Unix seconds; `None`: they do not expire (keys in the environment or a profile).
    expires_at: Option<i64>,
}

#[async_trait::async_trait]
impl CredentialProvider for ChainCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut current = self.current.lock().await;
        let now = crate::clock::now().unix();
        if let Some(c) = current.as_ref()
            && c.expires_at.is_none_or(|at| now < at - REFRESH_BEFORE_SECS)
        {
            return Ok(Arc::clone(&c.credential));
        }
        let config = load(None).await;
        let provider = config.credentials_provider().ok_or_else(|| no_credentials("no credentials chain"))?;
        let found = provider.provide_credentials().await.map_err(|e| match e {
            CredentialsError::CredentialsNotLoaded(_) => no_credentials("no source in the chain had any"),
            e => no_credentials(&describe(&e)),
        })?;
        let expires_at = found
            .expiry()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        let credential = Arc::new(AwsCredential {
            key_id: found.access_key_id().to_owned(),
            secret_key: found.secret_access_key().to_owned(),
            token: found.session_token().map(str::to_owned),
        });
        *current = Some(Current { credential: Arc::clone(&credential), expires_at });
        Ok(credential)
    }
}

/// An SDK error and its causes on one line (the SDK's own message is often only "an
/// error occurred", its cause says what).
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn no_credentials(why: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!(
            "no AWS credentials ({why}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE \
             naming a profile of ~/.aws/config or ~/.aws/credentials (keys, SSO, credential_process, a role), \
             or run where a container or instance role applies"
        )
        .into(),
    }
}
