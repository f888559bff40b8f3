//! S3 credentials from the chain the aws cli uses (issue 16, point 3): a named profile of
//! a shared credentials file, a profile with `credential_process`, and the errors for a
//! wrong secret and a profile that does not exist. Against a moto of the test's own that
//! checks IAM, so only the right credentials get in.

use std::path::Path;

use crate::util::{Env, Moto, Run, tool};

/// The variables that would give credentials without a profile: cleared for every run.
const CLEARED: &[&str] = &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"];

#[test]
fn s3_credentials_come_from_profiles_and_credential_process_and_failures_say_why() {
    if std::env::var_os("SIGNER_TEST_S3_ENDPOINT").is_none() {
        eprintln!("SIGNER_TEST_S3_ENDPOINT is not set: skipping (scripts/test.sh starts moto)");
        return;
    }
    let Ok(moto) = std::env::var("SIGNER_TEST_MOTO_SERVER") else {
        panic!("SIGNER_TEST_MOTO_SERVER (moto_server in the test venv) is set with SIGNER_TEST_S3_ENDPOINT");
    };
    // IAM is checked after the first four requests, which make a user allowed to use S3,
    // its access key, and the bucket.
    let server = Moto::with_auth_after(&moto, 4);
    let python = Path::new(&moto).with_file_name("python");
    let setup = format!(
        "import boto3, json\n\
         kw = dict(endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         iam = boto3.client('iam', **kw)\n\
         iam.create_user(UserName='ci')\n\
         iam.put_user_policy(UserName='ci', PolicyName='s3', PolicyDocument=json.dumps({{'Version': '2012-10-17', \
         'Statement': [{{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}}]}}))\n\
         k = iam.create_access_key(UserName='ci')['AccessKey']\n\
         boto3.client('s3', **kw).create_bucket(Bucket='creds')\n\
         print(k['AccessKeyId'], k['SecretAccessKey'])",
        url = server.url()
    );
    let keys = tool(python.to_str().unwrap(), &["-c", &setup]).expect(0).stdout;
    let (id, secret) = keys.trim().split_once(' ').unwrap();

    let env = Env::with_store("s3://creds/state");
    let aws = env.path("aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[signer-ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\n\
             [wrong-secret]\naws_access_key_id = {id}\naws_secret_access_key = not-{secret}\n"
        ),
    )
    .unwrap();
    let process = aws.join("credentials.sh");
    std::fs::write(
        &process,
        format!("#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{secret}\"}}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&process, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(
        aws.join("config"),
        format!("[profile signer-proc]\ncredential_process = {}\nregion = us-east-1\n", process.display()),
    )
    .unwrap();
    let with_profile = |profile: &str, args: &[&str]| -> Run {
        let mut c = env.cmd();
        for v in CLEARED {
            c.env_remove(v);
        }
        c.env("AWS_PROFILE", profile)
            .env("AWS_SHARED_CREDENTIALS_FILE", aws.join("credentials"))
            .env("AWS_CONFIG_FILE", aws.join("config"))
            .env("AWS_ENDPOINT_URL", server.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .output()
            .unwrap()
            .into()
    };

    // The profile's keys: the store is made and used.
    with_profile("signer-ci", &["init"]).expect(0);
    with_profile("signer-ci", &["profile", "create", "App"]).expect(0);
    // credential_process: the same store, read and written.
    let listed = with_profile("signer-proc", &["--output", "json", "profile", "list"]).expect(0);
    assert!(listed.stdout.contains("\"App\""), "{}", listed.stdout);
    with_profile("signer-proc", &["profile", "rotate", "App"]).expect(0);

    // A wrong secret: S3 refuses it, exit 6, and no secret is printed.
    let r = with_profile("wrong-secret", &["profile", "list"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("403") || r.stderr.contains("Forbidden"), "{}", r.stderr);
    assert!(!r.stderr.contains(secret), "no secret in messages");
    // A profile that does not exist is named, with what to do.
    let r = with_profile("no-such-profile", &["profile", "list"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-profile") && r.stderr.contains("AWS_PROFILE"), "{}", r.stderr);
}
