//! Keys that never leave a token: profiles whose keys live in a PKCS#11 token (SoftHSM2,
//! a real token implementation) or in AWS KMS (moto's server) sign with `sign`, with a
//! worker and with `layer publish --sign`; the packages verify, with signer and with
//! openssl; the home holds only a reference; and each way a key cannot be reached says so.
//!
//! The PKCS#11 tests run when `SIGNER_TEST_PKCS11_MODULE` names SoftHSM2's module (the
//! test script installs Debian's softhsm2 and opensc and sets it); the KMS tests when
//! `SIGNER_TEST_S3_ENDPOINT` names moto's server (KMS is served by the same process).
//! Each test makes its own token, in its own directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Env, Moto, Run, make_zip, openssl_verify_exported, tool};

const PIN: &str = "4321-test-pin";

/// A SoftHSM2 token of its own: its configuration, module and PIN file.
struct Token {
    conf: PathBuf,
    module: String,
    pin_file: PathBuf,
    label: String,
}

impl Token {
    /// A fresh token labelled `signer-test`, or `None` when SoftHSM2 is not set up (plain
    /// `cargo test`). With SIGNER_TEST_PKCS11_MODULE set, a missing tool is a failure.
    fn new(env: &Env) -> Option<Self> {
        let Ok(module) = std::env::var("SIGNER_TEST_PKCS11_MODULE") else {
            eprintln!("SIGNER_TEST_PKCS11_MODULE is not set: skipping the PKCS#11 test (scripts/test.sh sets it)");
            return None;
        };
        let dir = env.path("softhsm");
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let label = "signer-test".to_owned();
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", &label, "--so-pin", "8765-test-so", "--pin", PIN])
            .output()
            .expect("softhsm2-util (Debian's softhsm2) is needed for the PKCS#11 tests");
        assert!(out.status.success(), "softhsm2-util: {}", String::from_utf8_lossy(&out.stderr));
        let pin_file = dir.join("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Some(Self { conf, module, pin_file, label })
    }

    fn uri(&self) -> String {
        format!("pkcs11:token={}", self.label)
    }

    /// `signer ARGS…` (JSON output) with the token configured.
    fn run(&self, env: &Env, args: &[&str]) -> Run {
        self.configure(&mut env.cmd()).arg("--output").arg("json").args(args).output().unwrap().into()
    }

    fn configure<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("SIGNER_PKCS11_MODULE", &self.module)
            .env("SIGNER_PKCS11_PIN_FILE", &self.pin_file)
            .env_remove("SIGNER_PKCS11_PIN")
    }

    /// `pkcs11-tool --list-objects` of the token, logged in.
    fn objects(&self) -> String {
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--module", &self.module, "--token-label", &self.label, "--login", "--pin", PIN, "--list-objects"])
            .output()
            .expect("pkcs11-tool (Debian's opensc) is needed for the PKCS#11 tests");
        assert!(out.status.success(), "pkcs11-tool: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn package(env: &Env, name: &str) -> PathBuf {
    let src = env.path(name);
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    make_zip(&src, &[("index.js", b"exports.handler = async () => 'ok';\n", true), ("blob.bin", &data, false)]);
    src
}

/// Every file under the home's `keys/`, relative.
fn key_files(env: &Env) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&env.home().join("keys"), &env.home(), &mut out);
    out.sort();
    out
}

/// The profile version's key is only a reference in the home: no `.pk8`, and the
/// reference names the backend and holds nothing secret.
fn assert_only_a_reference(env: &Env, profile: &str, version: &str, backend: &str) -> serde_json::Value {
    let files = key_files(env);
    let dir = format!("keys/profiles/{profile}/");
    let ours: Vec<&String> = files.iter().filter(|f| f.starts_with(&dir)).collect();
    let reference = format!("{dir}{version}.ref.json");
    assert!(ours.contains(&&reference), "no reference {reference}: {files:?}");
    assert!(!ours.iter().any(|f| f.ends_with(".pk8")), "the home holds only references: {files:?}");
    let text = std::fs::read_to_string(env.home().join(reference)).unwrap();
    assert!(!text.contains("PRIVATE") && !text.contains(PIN), "{text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["backend"], backend, "{text}");
    r
}

/// Signs with `sign`, with a worker and with `layer publish --sign`; each verifies; the
/// `sign` output also verifies with openssl from the exported pieces.
fn sign_every_way(env: &Env, profile: &str, platform: &str, with: &dyn Fn(&[&str]) -> Run) {
    let src = package(env, "src.zip");
    let signed = env.path("signed.zip");
    let r = with(&["sign", "--profile", profile, s(&src), "-o", s(&signed)]).expect(0);
    assert_eq!(r.json()["profile"], profile, "{}", r.stdout);
    env.json(["verify", s(&signed)]).expect(0);

    // openssl, from the exported pieces.
    let dir = env.path("pieces");
    env.json(["signature", "export", s(&signed), "--dir", s(&dir)]).expect(0);
    let openssl = |payload: &str| openssl_verify_exported(&dir, platform, &dir.join(payload));
    openssl("payload.bin").expect(0);
    let mut tampered = std::fs::read(dir.join("payload.bin")).unwrap();
    tampered[10] ^= 1;
    std::fs::write(dir.join("tampered.bin"), tampered).unwrap();
    assert_ne!(openssl("tampered.bin").code, 0, "openssl accepted a tampered payload");

    // A worker.
    let out = env.path("job-out");
    let started =
        env.json(["sign-job", "start", "--profile", profile, "--source", s(&src), "--destination", s(&out)]).expect(0);
    let id = started.json()["job_id"].as_str().unwrap().to_owned();
    with(&["worker", "--until-idle", "--lease", "5"]).expect(0);
    let job = env.json(["sign-job", "describe", &id]).expect(0).json();
    assert_eq!(job["status"], "Succeeded", "{job}");
    env.json(["verify", job["signed_object"].as_str().unwrap()]).expect(0);

    // A signed layer.
    let layer = env.path("layer.zip");
    make_zip(&layer, &[("nodejs/node_modules/dep/index.js", b"module.exports = 1;\n", true)]);
    with(&["layer", "publish", "deps", s(&layer), "--sign", profile]).expect(0);
    let got = env.path("layer-got.zip");
    env.run(["layer", "get", "deps:1", "-o", s(&got)]).expect(0);
    let v = env.json(["verify", s(&got)]).expect(0).json();
    assert_eq!(v["packages"][0]["signature"]["profile"], profile, "{v}");
}

#[test]
fn a_profile_in_a_pkcs11_token_signs_every_way_and_the_key_never_leaves_it() {
    let env = Env::new();
    let Some(token) = Token::new(&env) else { return };
    env.run(["init"]).expect(0);
    let with = |args: &[&str]| token.run(&env, args);
    let created = with(&["profile", "create", "Hsm", "--key-store", &token.uri()]).expect(0).json();
    let version = created["current_version"].as_str().unwrap().to_owned();
    let reference = assert_only_a_reference(&env, "Hsm", &version, "pkcs11");
    let uri = reference["uri"].as_str().unwrap();
    assert!(uri.starts_with("pkcs11:token=signer-test;object=signer%20Hsm%2F") && uri.contains(";id=%"), "{uri}");

    // The token says the key is sensitive and was never extractable.
    let objects = token.objects();
    let private = objects.split("Private Key Object").nth(1).unwrap_or_else(|| panic!("no private key: {objects}"));
    let private = private.split("Object;").next().unwrap();
    assert!(private.contains("sensitive") && private.contains("never extract"), "{private}");
    assert!(private.contains(&format!("signer Hsm/{version}")), "{private}");

    sign_every_way(&env, "Hsm", "ECDSA-P384-SHA384", &with);

    // A rotation goes where the profile's keys go: a new key pair in the token.
    let rotated = with(&["profile", "rotate", "Hsm"]).expect(0).json();
    let v2 = rotated["current_version"].as_str().unwrap();
    assert_ne!(v2, version);
    let second = assert_only_a_reference(&env, "Hsm", v2, "pkcs11");
    assert_ne!(second["uri"], reference["uri"]);
    assert_eq!(token.objects().matches("Private Key Object").count(), 2);
    let signed = env.path("rotated.zip");
    with(&["sign", "--profile", "Hsm", s(&package(&env, "r.zip")), "-o", s(&signed)]).expect(0);
    assert_eq!(env.json(["verify", s(&signed)]).expect(0).json()["packages"][0]["signature"]["profile_version"], v2);
}

#[test]
fn pkcs11_failures_say_which_and_a_job_waits_for_a_worker_that_can_sign() {
    let env = Env::new();
    let Some(token) = Token::new(&env) else { return };
    env.run(["init"]).expect(0);
    token.run(&env, &["profile", "create", "Hsm", "--platform", "Ed25519", "--key-store", &token.uri()]).expect(0);
    let src = package(&env, "src.zip");
    let out = env.path("out.zip");
    let jobs_out = env.path("jobs-out");
    let sign = |c: &mut Command| -> Run {
        c.args(["sign", "--profile", "Hsm", s(&src), "-o", s(&out)]).output().unwrap().into()
    };

    // A wrong PIN.
    let wrong = env.path("wrong-pin");
    std::fs::write(&wrong, "0000\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = sign(token.configure(&mut env.cmd()).env("SIGNER_PKCS11_PIN_FILE", &wrong)).expect(6);
    assert!(r.stderr.contains("refused the PIN (wrong PIN)"), "{}", r.stderr);
    assert!(!r.stderr.contains(PIN) && !r.stderr.contains("0000"), "no PIN in messages: {}", r.stderr);
    // A PIN file others can read.
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = sign(token.configure(&mut env.cmd()).env("SIGNER_PKCS11_PIN_FILE", &wrong)).expect(6);
    assert!(r.stderr.contains("readable by group or others"), "{}", r.stderr);
    // A missing module, and none configured.
    let r = sign(token.configure(&mut env.cmd()).env("SIGNER_PKCS11_MODULE", "/nonexistent/libpkcs11.so")).expect(6);
    assert!(r.stderr.contains("/nonexistent/libpkcs11.so could not be loaded"), "{}", r.stderr);
    let r = sign(token.configure(&mut env.cmd()).env_remove("SIGNER_PKCS11_MODULE")).expect(6);
    assert!(r.stderr.contains("no PKCS#11 module: set SIGNER_PKCS11_MODULE"), "{}", r.stderr);
    // A PIN on the command line is refused before anything is made.
    let r = token
        .run(&env, &["profile", "create", "Other", "--key-store", "pkcs11:token=signer-test?pin-value=4321"])
        .expect(2);
    assert!(r.stderr.contains("a PIN never goes on the command line"), "{}", r.stderr);
    assert!(!out.exists());

    // A job submitted while no worker can reach the key stays queued, then a worker that
    // can signs it.
    let started = env
        .json(["sign-job", "start", "--profile", "Hsm", "--source", s(&src), "--destination", s(&jobs_out)])
        .expect(0);
    let id = started.json()["job_id"].as_str().unwrap().to_owned();
    let r: Run = token
        .configure(&mut env.cmd())
        .env("SIGNER_PKCS11_PIN_FILE", &wrong)
        .args(["worker", "--until-idle", "--lease", "5"])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("job {id}: left to a worker that can sign for Hsm/")), "{}", r.stderr);
    let job = env.json(["sign-job", "describe", &id]).expect(0).json();
    assert_eq!(job["status"], "Submitted", "{job}");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    token.run(&env, &["worker", "--until-idle", "--lease", "5"]).expect(0);
    let job = env.json(["sign-job", "describe", &id]).expect(0).json();
    assert_eq!(job["status"], "Succeeded", "{job}");
    env.json(["verify", job["signed_object"].as_str().unwrap()]).expect(0);
}

#[test]
fn the_root_ca_and_an_administrator_can_live_in_a_token() {
    let env = Env::new();
    let Some(token) = Token::new(&env) else { return };
    let with = |args: &[&str]| token.run(&env, args);
    with(&["init", "--key-store", &token.uri()]).expect(0);
    let files = key_files(&env);
    assert!(files.len() == 1 && files[0].starts_with("keys/ca/") && files[0].ends_with(".ref.json"), "{files:?}");
    // The root in the token issues versions and seals records (the profile is sealed).
    with(&["profile", "create", "Filed"]).expect(0);
    env.json(["profile", "show", "Filed"]).expect(0);
    // Without the token the root cannot act, and says why.
    let r = env.run(["profile", "create", "Later"]).expect(6);
    assert!(r.stderr.contains("SIGNER_PKCS11_MODULE"), "{}", r.stderr);
    // An administrator key in the token.
    let pubkey = env.path("ops.pub.pem");
    with(&["admin", "keygen", "ops", "-o", s(&pubkey), "--key-store", &token.uri()]).expect(0);
    assert!(key_files(&env).contains(&"keys/admins/ops.ref.json".to_owned()));
    with(&["admin", "add", "ops", "--public-key", s(&pubkey)]).expect(0);
}

/// moto's endpoint, or `None` (plain `cargo test`).
fn kms_endpoint() -> Option<String> {
    let endpoint = std::env::var("SIGNER_TEST_S3_ENDPOINT").ok();
    if endpoint.is_none() {
        eprintln!("SIGNER_TEST_S3_ENDPOINT is not set: skipping the KMS test (scripts/test.sh starts moto)");
    }
    endpoint
}

#[test]
fn a_profile_in_kms_signs_every_way_and_a_fleet_needs_only_access() {
    let Some(endpoint) = kms_endpoint() else { return };
    let env = Env::new();
    env.run(["init"]).expect(0);
    let with = |args: &[&str]| -> Run { env.cmd().arg("--output").arg("json").args(args).output().unwrap().into() };
    let created = with(&["profile", "create", "Kms", "--platform", "ECDSA-P256-SHA256", "--key-store", "aws-kms"])
        .expect(0)
        .json();
    let version = created["current_version"].as_str().unwrap().to_owned();
    let reference = assert_only_a_reference(&env, "Kms", &version, "aws-kms");
    let arn = reference["key_id"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:"), "{arn}");

    // KMS holds the key: its public key is the certificate's (checked with the AWS CLI's
    // own client library, boto3, in moto's venv when there is one).
    sign_every_way(&env, "Kms", "ECDSA-P256-SHA256", &with);

    // A worker of the fleet: another home, the same store, no reference in its home. It
    // signs with the KMS key the version's record names.
    let store = format!("file://{}", env.home().join("store").display());
    let fleet = Env::with_store(&store);
    std::fs::create_dir_all(fleet.home().join("trust")).unwrap();
    std::fs::copy(env.home().join("trust/root.pem"), fleet.home().join("trust/root.pem")).unwrap();
    let src = package(&env, "fleet-src.zip");
    let out = env.path("fleet-out");
    let started =
        env.json(["sign-job", "start", "--profile", "Kms", "--source", s(&src), "--destination", s(&out)]).expect(0);
    let id = started.json()["job_id"].as_str().unwrap().to_owned();
    // One that cannot reach KMS leaves the job queued…
    let r = fleet
        .cmd()
        .env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9")
        .args(["worker", "--until-idle"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("job {id}: left to a worker that can sign for Kms/")), "{stderr}");
    assert_eq!(env.json(["sign-job", "describe", &id]).expect(0).json()["status"], "Submitted");
    // …and one that can signs it.
    fleet.run(["worker", "--until-idle", "--lease", "5"]).expect(0);
    let job = env.json(["sign-job", "describe", &id]).expect(0).json();
    assert_eq!(job["status"], "Succeeded", "{job}");
    env.json(["verify", job["signed_object"].as_str().unwrap()]).expect(0);
    assert!(key_files(&fleet).is_empty(), "the fleet's home holds no key: {:?}", key_files(&fleet));

    // A rotation makes a new KMS key; --key-store moves a profile's next key elsewhere.
    let rotated = with(&["profile", "rotate", "Kms"]).expect(0).json();
    let v2 = rotated["current_version"].as_str().unwrap().to_owned();
    let second = assert_only_a_reference(&env, "Kms", &v2, "aws-kms");
    assert_ne!(second["key_id"], reference["key_id"]);
    let v3 = with(&["profile", "rotate", "Kms", "--key-store", "file"]).expect(0).json()["current_version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(env.home().join(format!("keys/profiles/Kms/{v3}.pk8")).is_file());

    // Ed25519 is refused before any KMS key is made.
    let r = with(&["profile", "create", "KmsEd", "--platform", "Ed25519", "--key-store", "aws-kms"]).expect(2);
    assert!(r.stderr.contains("aws-kms cannot hold Ed25519 keys"), "{}", r.stderr);
    drop(endpoint);
}

#[test]
fn kms_access_denied_is_said_as_such() {
    let Some(_) = kms_endpoint() else { return };
    let Ok(moto) = std::env::var("SIGNER_TEST_MOTO_SERVER") else {
        panic!("SIGNER_TEST_MOTO_SERVER (moto_server in the test venv) is set with SIGNER_TEST_S3_ENDPOINT");
    };
    // A moto of its own that checks IAM after the first two requests, which make a user
    // with no permissions.
    let server = Moto::with_auth_after(&moto, 2);
    let python = Path::new(&moto).with_file_name("python");
    let keys = tool(
        s(&python),
        &[
            "-c",
            &format!(
                "import boto3; iam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', \
                 aws_access_key_id='testing', aws_secret_access_key='testing'); iam.create_user(UserName='nobody'); \
                 k = iam.create_access_key(UserName='nobody')['AccessKey']; print(k['AccessKeyId'], k['SecretAccessKey'])",
                server.url()
            ),
        ],
    )
    .expect(0)
    .stdout;
    let (id, secret) = keys.trim().split_once(' ').unwrap();
    let env = Env::new();
    env.run(["init"]).expect(0);
    let r: Run = env
        .cmd()
        .env("AWS_ENDPOINT_URL", server.url())
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(["profile", "create", "Denied", "--key-store", "aws-kms"])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("AWS KMS denied CreateKey"), "{}", r.stderr);
    assert!(r.stderr.contains("grant this identity kms:CreateKey"), "{}", r.stderr);
    assert!(!r.stderr.contains(secret), "no secret in messages");
    env.json(["profile", "show", "Denied"]).expect(4);
}
