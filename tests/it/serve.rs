//! `signer serve` (issue 17) from the outside: the real binary on a loopback port, raw
//! HTTP requests signed here with AWS Signature Version 4, and the attacks on it — no
//! signature, a wrong secret, an unknown key, another service's scope, a stale date, a
//! body changed after signing, keys without the right — each answered with AWS's error
//! type. The aws cli and boto3 drive it in `aws_clients` (tests/serve/clients.py).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::Env;
use signer::sigv4;

/// A `signer serve` child process on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
    ready: String,
}

/// The line `signer serve` prints once it listens (the server is stopped after it).
pub fn ready_line(env: &Env, extra: &[&str]) -> String {
    Server::start(env, extra).ready.clone()
}

impl Server {
    fn start(env: &Env, extra: &[&str]) -> Self {
        let mut cmd = env.cmd();
        cmd.args(["--output", "json", "serve", "--listen", "127.0.0.1:0"]).args(extra);
        // No S3 request of the server may leave the machine: an endpoint nothing answers.
        if std::env::var_os("SIGNER_TEST_S3_ENDPOINT").is_none() {
            cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9").env("AWS_ALLOW_HTTP", "true");
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        // The guard exists before anything can fail, so a failing test stops the server
        // (a server left running would hold the test's output open).
        let mut server = Self { child, addr: String::new(), ready: String::new() };
        let mut out = server.child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        server.ready = String::from_utf8(line).unwrap();
        let doc: Value =
            serde_json::from_str(&server.ready).unwrap_or_else(|e| panic!("serve printed no ready line: {e}"));
        let url = doc["url"].as_str().unwrap();
        server.addr = url.split_once("://").unwrap().1.to_owned();
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An access key: id and secret.
#[derive(Clone)]
struct Key {
    id: String,
    secret: String,
}

fn access_key(env: &Env, name: &str, flag: Option<&str>) -> Key {
    let mut args = vec!["access-key", "create", name];
    args.extend(flag);
    let doc = env.json(args).expect(0).json();
    Key {
        id: doc["access_key_id"].as_str().unwrap().to_owned(),
        secret: doc["secret_access_key"].as_str().unwrap().to_owned(),
    }
}

/// How a test request is signed (or mis-signed).
struct Signing<'a> {
    key: &'a Key,
    service: &'a str,
    region: &'a str,
    /// Seconds to move the signing time by.
    skew: i64,
}

impl<'a> Signing<'a> {
    fn signer(key: &'a Key) -> Self {
        Self { key, service: "signer", region: "us-east-1", skew: 0 }
    }
}

/// An answer: status, the error type header, the body as JSON (null when empty).
#[derive(Debug)]
struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

/// Sends one request (`Connection: close`) and reads the whole answer.
fn send(addr: &str, raw: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let error_type = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype")))
        .map(|(_, v)| v.trim().to_owned());
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()))
    };
    Answer { status, error_type, body }
}

/// A request signed as `how` says; `sent_body` replaces the body after signing when given.
fn request(
    addr: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    how: &Signing<'_>,
    sent_body: Option<&[u8]>,
) -> Answer {
    let now = signer::clock::now().plus_secs(how.skew).to_offset();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let headers = vec![("host".to_owned(), addr.to_owned()), ("x-amz-date".to_owned(), amz_date.clone())];
    let body_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, body));
    let req = sigv4::Request { method, path, query, headers: &headers, body_sha256: &body_sha256 };
    let auth = sigv4::Authorization {
        access_key_id: how.key.id.clone(),
        date: amz_date[..8].to_owned(),
        region: how.region.to_owned(),
        service: how.service.to_owned(),
        signed_headers: vec!["host".into(), "x-amz-date".into()],
        signature: String::new(),
    };
    let canonical = sigv4::canonical_request(&req, &auth.signed_headers, false).unwrap();
    let sts = sigv4::string_to_sign(&amz_date, &auth.scope(), &canonical);
    let signature = sigv4::signature(&how.key.secret, &auth, &sts);
    let sent = sent_body.unwrap_or(body);
    let mut raw = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {amz_date}\r\nAuthorization: {} Credential={}/{}, SignedHeaders=host;x-amz-date, Signature={signature}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sigv4::ALGORITHM,
        how.key.id,
        auth.scope(),
        sent.len()
    )
    .into_bytes();
    raw.extend_from_slice(sent);
    send(addr, &raw)
}

fn call(addr: &str, method: &str, path: &str, body: &Value, key: &Key) -> Answer {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    request(addr, method, path, &bytes, &Signing::signer(key), None)
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!((a.status, a.error_type.as_deref()), (status, Some(code)), "{a:?}");
    assert_eq!(a.body["code"], code, "the body names the error type too: {a:?}");
}

/// A store with a profile, and keys of each kind.
struct Setup {
    env: Env,
    admin: Key,
    ci: Key,
    dash: Key,
}

fn setup() -> Setup {
    let env = Env::new();
    env.profile("MyApp", &[]);
    let admin = access_key(&env, "admin", Some("--admin"));
    let ci = access_key(&env, "ci", None);
    let dash = access_key(&env, "dash", Some("--read-only"));
    Setup { env, admin, ci, dash }
}

#[test]
fn requests_not_signed_right_are_refused_with_awss_error_types() {
    let s = setup();
    let server = Server::start(&s.env, &[]);
    let addr = server.addr.as_str();
    let ok = call(addr, "GET", "/signing-profiles", &Value::Null, &s.dash);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["profiles"][0]["profileName"], "MyApp");
    assert_eq!(ok.body["profiles"][0]["platformId"], "AWSLambda-SHA384-ECDSA");

    let unsigned =
        send(addr, format!("GET /signing-profiles HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_error(&unsigned, 403, "MissingAuthenticationTokenException");

    let wrong_secret = Key { id: s.dash.id.clone(), secret: "x".repeat(40) };
    let a = call(addr, "GET", "/signing-profiles", &Value::Null, &wrong_secret);
    assert_error(&a, 403, "InvalidSignatureException");

    let unknown = Key { id: "SGNRAAAAAAAAAAAAAAAA".into(), secret: s.dash.secret.clone() };
    assert_error(&call(addr, "GET", "/signing-profiles", &Value::Null, &unknown), 403, "UnrecognizedClientException");

    // Signed for Lambda, sent to a Signer route: a signature for one service is not one
    // for another.
    let lambda = Signing { service: "lambda", ..Signing::signer(&s.dash) };
    let a = request(addr, "GET", "/signing-profiles", b"", &lambda, None);
    assert_error(&a, 403, "InvalidSignatureException");
    assert!(a.body["message"].as_str().unwrap().contains("'signer'"), "{a:?}");
    let region = Signing { region: "eu-west-1", ..Signing::signer(&s.dash) };
    assert_error(&request(addr, "GET", "/signing-profiles", b"", &region, None), 403, "InvalidSignatureException");

    // A request recorded and replayed after the skew window, or dated ahead of it.
    for skew in [-16 * 60, 16 * 60] {
        let stale = Signing { skew, ..Signing::signer(&s.dash) };
        let a = request(addr, "GET", "/signing-profiles", b"", &stale, None);
        assert_error(&a, 403, "InvalidSignatureException");
        assert!(a.body["message"].as_str().unwrap().contains("Signature expired"), "{a:?}");
    }

    // A body changed after signing: the server hashes what it received.
    let signed = br#"{"profileName":"MyApp","reason":"x"}"#;
    let sent = br#"{"profileName":"Other","reason":"x"}"#;
    let a = request(addr, "POST", "/signing-jobs", signed, &Signing::signer(&s.admin), Some(sent));
    assert_error(&a, 403, "InvalidSignatureException");

    // A key deleted while the server runs is refused from the next request on.
    s.env.run(["access-key", "delete", "dash"]).expect(0);
    assert_error(&call(addr, "GET", "/signing-profiles", &Value::Null, &s.dash), 403, "UnrecognizedClientException");
}

#[test]
fn bad_input_gets_the_models_error_and_changes_nothing() {
    let s = setup();
    let server = Server::start(&s.env, &["--client-timeout", "1s"]);
    let addr = server.addr.as_str();
    let put = |body: &[u8]| request(addr, "PUT", "/signing-profiles/Fresh", body, &Signing::signer(&s.admin), None);
    assert_error(&put(b"{not json"), 400, "ValidationException");
    assert_error(&put(br#"{"platformId":"AWSLambda-SHA384-ECDSA","colour":"red"}"#), 400, "ValidationException");
    assert_error(&put(br#"{"platformId":"AWSIoTDeviceManagement-SHA256-ECDSA"}"#), 400, "ValidationException");
    let too_long =
        br#"{"platformId":"AWSLambda-SHA384-ECDSA","signatureValidityPeriod":{"value":136,"type":"MONTHS"}}"#;
    assert_error(&put(too_long), 400, "ValidationException");
    assert_error(&put(&vec![b' '; 300 << 10]), 413, "RequestEntityTooLargeException");
    let get = call(addr, "GET", "/signing-profiles/Fresh", &Value::Null, &s.admin);
    assert_error(&get, 404, "ResourceNotFoundException");

    assert_error(&call(addr, "GET", "/no-such-operation", &Value::Null, &s.admin), 404, "UnknownOperationException");
    assert_error(&call(addr, "PATCH", "/signing-profiles", &Value::Null, &s.admin), 404, "UnknownOperationException");
    let a = call(addr, "GET", "/signing-profiles?maxResults=26", &Value::Null, &s.admin);
    assert_error(&a, 400, "ValidationException");
    let a = call(addr, "GET", "/signing-profiles?nextToken=not%20base64%21", &Value::Null, &s.admin);
    assert_error(&a, 400, "ValidationException");

    // A client that sends half its headers and stops is cut off, and the server goes on.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    slow.write_all(b"GET /signing-profiles HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"), "{rest:?}");
    assert_eq!(call(addr, "GET", "/signing-profiles", &Value::Null, &s.admin).status, 200);
}

#[test]
fn keys_do_only_what_their_access_and_the_profiles_permissions_allow() {
    let s = setup();
    let server = Server::start(&s.env, &[]);
    let addr = server.addr.as_str();
    let create = json_body(
        r#"{"platformId":"AWSLambda-SHA384-ECDSA","signatureValidityPeriod":{"value":12,"type":"MONTHS"},"tags":{"team":"payments"}}"#,
    );
    assert_error(&call(addr, "PUT", "/signing-profiles/Payments", &create, &s.dash), 403, "AccessDeniedException");
    assert_error(&call(addr, "PUT", "/signing-profiles/Payments", &create, &s.ci), 403, "AccessDeniedException");
    let made = call(addr, "PUT", "/signing-profiles/Payments", &create, &s.admin);
    assert_eq!(made.status, 200, "{made:?}");
    let arn = made.body["arn"].as_str().unwrap().to_owned();
    assert_eq!(arn, "arn:aws:signer:us-east-1:000000000000:/signing-profiles/Payments");
    let version = made.body["profileVersion"].as_str().unwrap().to_owned();
    let shown = call(addr, "GET", "/signing-profiles/Payments", &Value::Null, &s.dash);
    assert_eq!(shown.body["signatureValidityPeriod"], serde_json::json!({"value": 12, "type": "MONTHS"}));
    assert_eq!(shown.body["tags"]["team"], "payments");
    assert_eq!(shown.body["profileVersionArn"], format!("{arn}/{version}"));
    // The CLI sees the profile the server made.
    assert_eq!(s.env.json(["profile", "show", "Payments"]).expect(0).json()["current_version"], version.as_str());

    // A sign key without a statement may not start a job; the start is refused before
    // the source is looked at.
    let start = json_body(
        r#"{"source":{"s3":{"bucketName":"in","key":"fn.zip","version":null}},"destination":{"s3":{"bucketName":"out","prefix":"signed/"}},"profileName":"MyApp","clientRequestToken":"t-1"}"#,
    );
    let denied = call(addr, "POST", "/signing-jobs", &start, &s.ci);
    assert_error(&denied, 403, "AccessDeniedException");
    assert!(denied.body["message"].as_str().unwrap().contains("signer profile permission add MyApp"), "{denied:?}");
    assert_error(&call(addr, "POST", "/signing-jobs", &start, &s.dash), 403, "AccessDeniedException");
    // A statement for another key, or for another version, grants ci nothing.
    s.env
        .run([
            "profile",
            "permission",
            "add",
            "MyApp",
            "--statement-id",
            "other",
            "--action",
            "signer:StartSigningJob",
            "--principal",
            "admin",
        ])
        .expect(0);
    let grant = json_body(
        r#"{"action":"signer:StartSigningJob","principal":"ci","statementId":"old","profileVersion":"ZZZZZ99999"}"#,
    );
    let added = call(addr, "POST", "/signing-profiles/MyApp/permissions", &grant, &s.admin);
    assert_eq!((added.status, added.body["revisionId"].as_str()), (200, Some("2")), "{added:?}");
    assert_error(&call(addr, "POST", "/signing-jobs", &start, &s.ci), 403, "AccessDeniedException");
    // Only admin keys grant; a stale revision is a conflict; then ci is let through (and
    // fails further on, at the source, which no S3 holds here).
    let grant =
        json_body(r#"{"action":"signer:StartSigningJob","principal":"ci","statementId":"ci-signs","revisionId":"2"}"#);
    assert_error(
        &call(addr, "POST", "/signing-profiles/MyApp/permissions", &grant, &s.ci),
        403,
        "AccessDeniedException",
    );
    let stale = json_body(r#"{"action":"signer:StartSigningJob","principal":"ci","statementId":"x","revisionId":"1"}"#);
    assert_error(
        &call(addr, "POST", "/signing-profiles/MyApp/permissions", &stale, &s.admin),
        409,
        "ConflictException",
    );
    assert_eq!(call(addr, "POST", "/signing-profiles/MyApp/permissions", &grant, &s.admin).status, 200);
    let listed = call(addr, "GET", "/signing-profiles/MyApp/permissions", &Value::Null, &s.dash);
    assert_eq!(
        (listed.body["revisionId"].as_str(), listed.body["permissions"].as_array().unwrap().len()),
        (Some("3"), 3)
    );
    let through = call(addr, "POST", "/signing-jobs", &start, &s.ci);
    assert_ne!(through.status, 403, "{through:?}");
    // A store writer's statement, not sealed by the root, grants nothing.
    let forged = s.env.home().join("store/profiles/MyApp/permissions/00000000000000000004.json");
    let policy = serde_json::json!({"profile":"MyApp","revision":4,"statements":[{"statement_id":"w","action":"signer:RevokeSignature","principal":"*"}],"updated_at":null});
    std::fs::write(&forged, policy.to_string()).unwrap();
    let refused = call(addr, "GET", "/signing-profiles/MyApp/permissions", &Value::Null, &s.dash);
    assert_ne!(refused.status, 200, "an unsealed permission record was believed: {refused:?}");
    std::fs::remove_file(&forged).unwrap();
    // The CLI lists and removes what the server granted.
    let cli = s.env.json(["profile", "permission", "list", "MyApp"]).expect(0).json();
    assert_eq!(cli["statements"][2]["statement_id"], "ci-signs");
    s.env.run(["profile", "permission", "remove", "MyApp", "ci-signs"]).expect(0);
    assert_error(&call(addr, "POST", "/signing-jobs", &start, &s.ci), 403, "AccessDeniedException");

    // Canceling is an admin's; the canceled profile says so.
    assert_error(
        &call(addr, "DELETE", "/signing-profiles/Payments", &Value::Null, &s.ci),
        403,
        "AccessDeniedException",
    );
    assert_eq!(call(addr, "DELETE", "/signing-profiles/Payments", &Value::Null, &s.admin).status, 200);
    assert_eq!(call(addr, "GET", "/signing-profiles/Payments", &Value::Null, &s.ci).body["status"], "Canceled");
}

fn json_body(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The aws cli and boto3 (the versions scripts/test.sh installs; `SIGNER_TEST_AWS_CLIENTS`
/// names their virtualenv's bin folder) against the server, with sources and signed
/// objects on the test S3 server: tests/serve/clients.py, then `signer verify` of the
/// object the aws cli's job signed.
#[test]
fn the_aws_cli_and_boto3_drive_the_server() {
    let Some(bin) = std::env::var_os("SIGNER_TEST_AWS_CLIENTS").map(std::path::PathBuf::from) else {
        eprintln!(
            "skipping: set SIGNER_TEST_AWS_CLIENTS to a virtualenv's bin with awscli and boto3 (scripts/test.sh does)"
        );
        return;
    };
    let Some(bucket) = crate::util::s3_bucket() else { return };
    let s = setup();
    let server = Server::start(&s.env, &["--with-worker", "--concurrency", "2", "-q"]);
    let out = s.env.path("downloads");
    std::fs::create_dir_all(&out).unwrap();
    let run = std::process::Command::new(bin.join("python"))
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/clients.py"))
        .env("SIGNER_URL", format!("http://{}", server.addr))
        .env("BUCKET", &bucket)
        .env("AWS_CLI", bin.join("aws"))
        .env("S3_ENDPOINT", std::env::var("SIGNER_TEST_S3_ENDPOINT").unwrap())
        .env("ADMIN_ID", &s.admin.id)
        .env("ADMIN_SECRET", &s.admin.secret)
        .env("CI_ID", &s.ci.id)
        .env("CI_SECRET", &s.ci.secret)
        .env("ZIP", crate::util::fixture("packages/hello-function.zip"))
        .env("LAYER_ZIP", crate::util::fixture("packages/greetings-layer.zip"))
        .env("OUT_DIR", &out)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let run = crate::util::Run::from(run).expect(0);
    let done: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    let verdict = s.env.json(["verify", done["signed"].as_str().unwrap()]).expect(0).json();
    let signature = &verdict["packages"][0]["signature"];
    assert_eq!(
        (verdict["decision"].as_str(), &signature["profile"]),
        (Some("allow"), &Value::from("CliApp")),
        "{verdict}"
    );
    assert_eq!(signature["job_id"], done["job_id"], "{verdict}");

    // The strict client, on what the script left: the AWS SDK for Rust (tests/sdk-rust).
    let Some(sdk) = std::env::var_os("SIGNER_TEST_SDK_RUST") else {
        eprintln!(
            "skipping the AWS SDK for Rust: set SIGNER_TEST_SDK_RUST to tests/sdk-rust's binary (scripts/test.sh does)"
        );
        return;
    };
    let strict = std::process::Command::new(sdk)
        .env("SIGNER_URL", format!("http://{}", server.addr))
        .env("BUCKET", &bucket)
        .env("ADMIN_ID", &s.admin.id)
        .env("ADMIN_SECRET", &s.admin.secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let strict = crate::util::Run::from(strict).expect(0);
    assert_eq!(strict.stdout.trim(), "ok", "{}", strict.stderr);
    drop(server);
}

/// With a certificate and key, the server speaks TLS only (curl, trusting that
/// certificate, reaches it; plain HTTP does not); off loopback it refuses plain HTTP
/// unless told.
#[test]
fn tls_is_served_with_a_certificate_and_plain_http_stays_on_loopback() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    let (cert, key) = (env.path("server.pem"), env.path("server.key"));
    let made = crate::util::tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let server = Server::start(&env, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(server.ready.contains("\"url\":\"https://"), "{}", server.ready);
    let url = format!("https://{}/signing-profiles", server.addr);
    let over_tls = crate::util::tool("curl", &["-s", "--cacert", cert.to_str().unwrap(), "-D", "-", &url]);
    assert_eq!(over_tls.code, 0, "{}", over_tls.stderr);
    assert!(over_tls.stdout.contains("MissingAuthenticationTokenException"), "{}", over_tls.stdout);
    let untrusted = crate::util::tool("curl", &["-s", &url]);
    assert_ne!(untrusted.code, 0, "curl trusted a certificate it was not given");
    let plain = crate::util::tool("curl", &["-s", "-m", "5", &format!("http://{}/signing-profiles", server.addr)]);
    assert!(!plain.stdout.contains("MissingAuthenticationTokenException"), "plain HTTP was answered: {}", plain.stdout);
    drop(server);

    let open = env.json(["serve", "--listen", "0.0.0.0:0"]).expect(2);
    assert!(open.json()["error"]["message"].as_str().unwrap().contains("--allow-plain-http"), "{}", open.stdout);
    let bad_key = env.json(["serve", "--tls-cert", cert.to_str().unwrap(), "--tls-key", cert.to_str().unwrap()]);
    bad_key.expect(2);
}
