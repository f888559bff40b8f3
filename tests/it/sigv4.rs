//! Issue 17, point 3: the SigV4 verifier against the AWS test suite
//! (`fixtures/aws-sigv4-test-suite`), and the attacks on it: a changed byte, a wrong
//! secret, another service's scope, a stale or future date, an unknown key, an unsigned
//! `host`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use signer::model::Timestamp;
use signer::sigv4::{self, Expect, Request, SigV4Error};

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws-sigv4-test-suite")
}

/// A signed request of the suite, as a server receives it.
struct Case {
    name: String,
    context: Value,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Case {
    fn load(dir: &Path) -> Self {
        let context: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap()).unwrap();
        let raw = std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap();
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap();
        let (method, rest) = request_line.split_once(' ').unwrap();
        let target = rest.rsplit_once(' ').unwrap().0;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            // A folded line (obsolete HTTP/1.1 line folding) continues the header before.
            if line.starts_with([' ', '\t']) {
                headers.last_mut().unwrap().1.push_str(&format!(" {}", line.trim()));
            } else {
                let (k, v) = line.split_once(':').unwrap();
                headers.push((k.to_owned(), v.to_owned()));
            }
        }
        Self {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            context,
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn expect(&self) -> Expect<'_> {
        Expect {
            service: self.context["service"].as_str().unwrap(),
            region: self.context["region"].as_str().unwrap(),
            now: self.context["timestamp"].as_str().unwrap().parse().unwrap(),
            normalize: self.context["normalize"].as_bool().unwrap(),
        }
    }

    fn secret(&self) -> String {
        self.context["credentials"]["secret_access_key"].as_str().unwrap().to_owned()
    }

    fn verify_with(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        expect: Expect<'_>,
        secret: &str,
    ) -> Result<String, SigV4Error> {
        let body_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, body));
        let req =
            Request { method: &self.method, path: &self.path, query: &self.query, headers, body_sha256: &body_sha256 };
        let key = self.context["credentials"]["access_key_id"].as_str().unwrap().to_owned();
        sigv4::verify(&req, expect, |id| (id == key).then(|| zeroize::Zeroizing::new(secret.to_owned())))
    }

    fn verify(&self) -> Result<String, SigV4Error> {
        self.verify_with(&self.headers, &self.body, self.expect(), &self.secret())
    }
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(suite()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs.iter().map(|d| Case::load(d)).collect()
}

#[test]
fn every_request_of_the_aws_test_suite_verifies_with_the_same_canonical_request() {
    let cases = cases();
    assert!(cases.len() >= 38, "{} cases", cases.len());
    for case in &cases {
        let auth_header = &case.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).unwrap().1;
        let auth = sigv4::Authorization::parse(auth_header).unwrap();
        let body_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &case.body));
        let req = Request {
            method: &case.method,
            path: &case.path,
            query: &case.query,
            headers: &case.headers,
            body_sha256: &body_sha256,
        };
        let canonical = sigv4::canonical_request(&req, &auth.signed_headers, case.expect().normalize).unwrap();
        let want = std::fs::read_to_string(suite().join(&case.name).join("header-canonical-request.txt")).unwrap();
        assert_eq!(canonical, want, "{}: canonical request", case.name);
        let amz_date = &case.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date")).unwrap().1;
        let sts = sigv4::string_to_sign(amz_date, &auth.scope(), &canonical);
        let want = std::fs::read_to_string(suite().join(&case.name).join("header-string-to-sign.txt")).unwrap();
        assert_eq!(sts, want, "{}: string to sign", case.name);
        assert_eq!(sigv4::signature(&case.secret(), &auth, &sts), auth.signature, "{}: signature", case.name);
        assert_eq!(case.verify(), Ok("AKIDEXAMPLE".to_owned()), "{}", case.name);
    }
}

#[test]
fn a_changed_byte_a_wrong_secret_scope_or_time_is_refused_with_awss_error_types() {
    for case in cases().iter().filter(|c| c.name == "post-x-www-form-urlencoded" || c.name == "get-vanilla-query") {
        let code = |r: Result<String, SigV4Error>| r.unwrap_err().code();
        let e = case.expect();
        // A changed body (where it is signed), a changed signed header.
        if !case.body.is_empty() {
            let mut body = case.body.clone();
            body[0] ^= 1;
            assert_eq!(code(case.verify_with(&case.headers, &body, e, &case.secret())), "InvalidSignatureException");
        }
        let mut headers = case.headers.clone();
        headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("host")).unwrap().1.push('x');
        assert_eq!(code(case.verify_with(&headers, &case.body, e, &case.secret())), "InvalidSignatureException");
        // The wrong secret.
        assert_eq!(code(case.verify_with(&case.headers, &case.body, e, "not-the-secret")), "InvalidSignatureException");
        // Another service's or region's scope: a signature for one route is not one for another.
        let lambda = Expect { service: "lambda", ..e };
        let r = case.verify_with(&case.headers, &case.body, lambda, &case.secret());
        assert!(matches!(&r, Err(SigV4Error::Invalid(m)) if m.contains("correct service")), "{r:?}");
        let other = Expect { region: "eu-west-1", ..e };
        assert_eq!(
            code(case.verify_with(&case.headers, &case.body, other, &case.secret())),
            "InvalidSignatureException"
        );
        // A replay 16 minutes later, or a request from 16 minutes ahead; 14 minutes pass.
        for (secs, ok) in [(16 * 60, false), (-16 * 60, false), (14 * 60, true)] {
            let now = Timestamp::from_unix(e.now.unix() + secs);
            let r = case.verify_with(&case.headers, &case.body, Expect { now, ..e }, &case.secret());
            assert_eq!(r.is_ok(), ok, "{secs}: {r:?}");
            if !ok {
                assert!(matches!(&r, Err(SigV4Error::Invalid(m)) if m.contains("Signature expired")), "{r:?}");
            }
        }
        // An unknown key; no Authorization at all.
        let mut unknown = case.headers.clone();
        let auth = unknown.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).unwrap();
        auth.1 = auth.1.replace("AKIDEXAMPLE", "AKIDOTHER");
        assert_eq!(code(case.verify_with(&unknown, &case.body, e, &case.secret())), "UnrecognizedClientException");
        let bare: Vec<(String, String)> =
            case.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("authorization")).cloned().collect();
        assert_eq!(code(case.verify_with(&bare, &case.body, e, &case.secret())), "MissingAuthenticationTokenException");
    }
}

#[test]
fn host_and_date_must_be_signed_and_a_claimed_body_hash_must_be_the_bodys() {
    let cases = cases();
    let case = cases.iter().find(|c| c.name == "post-x-www-form-urlencoded").unwrap();
    let e = case.expect();
    for dropped in ["host", "x-amz-date"] {
        let headers: Vec<(String, String)> = case
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("authorization") {
                    v.replace(&format!("{dropped};"), "").replace(&format!(";{dropped}"), "")
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        let r = case.verify_with(&headers, &case.body, e, &case.secret());
        assert!(matches!(&r, Err(SigV4Error::Invalid(m)) if m.contains("must be signed")), "{dropped}: {r:?}");
    }
    // The body the server read is what counts, whatever x-amz-content-sha256 claims.
    let mut headers = case.headers.clone();
    headers.iter_mut().find(|(k, _)| k == "x-amz-content-sha256").unwrap().1 = sigv4_empty();
    let r = case.verify_with(&headers, &case.body, e, &case.secret());
    assert!(matches!(&r, Err(SigV4Error::Invalid(m)) if m.contains("X-Amz-Content-Sha256")), "{r:?}");
}

fn sigv4_empty() -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b""))
}

/// A request the aws cli sent (fixtures/aws-cli-requests), as the server receives it.
fn recorded(name: &str) -> (String, String, String, Vec<(String, String)>, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws-cli-requests");
    let raw = std::fs::read(dir.join(name)).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let (method, rest) = lines.next().unwrap().split_once(' ').unwrap();
    let target = rest.rsplit_once(' ').unwrap().0;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines.map(|l| l.split_once(':').map(|(k, v)| (k.to_owned(), v.trim().to_owned())).unwrap()).collect();
    (method.to_owned(), path.to_owned(), query.to_owned(), headers, body)
}

#[test]
fn requests_recorded_from_the_aws_cli_verify_and_a_changed_byte_does_not() {
    let secret = "recorded-requests-test-secret-not-a-key0";
    let key = |id: &str| (id == "SGNRRECORDEDTESTKEY0").then(|| zeroize::Zeroizing::new(secret.to_owned()));
    let mut names: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws-cli-requests"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".http"))
            .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    for name in &names {
        let (method, path, query, headers, body) = recorded(name);
        let header = |k: &str| headers.iter().find(|(h, _)| h.eq_ignore_ascii_case(k)).unwrap().1.clone();
        let auth = sigv4::Authorization::parse(&header("authorization")).unwrap();
        let expect = Expect {
            service: &auth.service,
            region: "us-east-1",
            now: sigv4::parse_amz_date(&header("x-amz-date")).unwrap(),
            normalize: true,
        };
        let verify = |path: &str, body: &[u8]| {
            let body_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, body));
            let req = Request { method: &method, path, query: &query, headers: &headers, body_sha256: &body_sha256 };
            sigv4::verify(&req, expect, key)
        };
        assert_eq!(verify(&path, &body), Ok("SGNRRECORDEDTESTKEY0".to_owned()), "{name}");
        let changed_path = path.replacen('s', "S", 1);
        assert!(matches!(verify(&changed_path, &body), Err(SigV4Error::Invalid(_))), "{name}: a changed path");
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[body.len() / 2] ^= 1;
            assert!(matches!(verify(&path, &changed), Err(SigV4Error::Invalid(_))), "{name}: a changed body");
        }
    }
    // The ARN in the path: sent encoded once, signed encoded twice, and verified.
    let (_, path, ..) = recorded("list-tags-for-resource.http");
    assert!(path.contains("%3A") && !path.contains("%253A"), "{path}");
}
