//! RFC 3161 timestamps against a real time-stamping authority (issue 13): OpenSSL's
//! `openssl ts -reply` behind the small HTTP shim of `tests/tsa/tsa.py`, with a CA of its
//! own made at start. What signer asks for, the TSA grants and openssl verifies; what the
//! TSA answers, signer checks — and refuses when copied, altered, from another TSA or not
//! an answer to its request.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use signer::timestamp::{self, Stamp, TimestampError};
use signer::verify::{Integrity, WholeHash};

use crate::util::{Env, Run, fixture};

/// The stamp a signed package's timestamp carries, checked against `tsa`'s root.
pub fn stamp_of(pkg: &Path, tsa: &Tsa) -> Stamp {
    let read =
        signer::verify::read_package(&mut std::fs::File::open(pkg).unwrap(), WholeHash::Skip, &mut |_| {}).unwrap();
    let Integrity::Intact(block) = &read.integrity else { panic!("{:?}", read.integrity) };
    let signed = signer::crypto::signature_to_der(block.statement.platform, &block.signature).unwrap();
    timestamp::verify(block.timestamp.as_ref().expect("a timestamp"), &signed, &tsa.root_der()).unwrap()
}

/// The failed checks of a JSON verdict's first package, with their reasons.
fn failures(run: &Run) -> Vec<(String, String)> {
    let v = run.json();
    let checks = v["packages"][0]["checks"].as_array().unwrap().clone();
    checks
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| (c["check"].as_str().unwrap().to_owned(), c["reason"].as_str().unwrap().to_owned()))
        .collect()
}

/// Waits until the clock is past `t`, so that `t` may be an effective time.
fn wait_past(t: signer::model::Timestamp) {
    while signer::clock::now() <= t {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A TSA of our own, stopped (by its process id) when dropped.
pub struct Tsa {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Tsa {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tsa/tsa.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path().join("tsa"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the test TSA");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the test TSA printed {line:?}, not its port"));
        Self { child, port, dir }
    }

    /// Its root CA certificate, DER.
    pub fn root_der(&self) -> Vec<u8> {
        let pem = std::fs::read_to_string(self.root_pem()).unwrap();
        signer::crypto::parse_pem_certs(&pem).unwrap().remove(0)
    }

    pub fn root_pem(&self) -> PathBuf {
        self.dir.path().join("tsa/ca.pem")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// `signer tsa set` for `env`'s store.
    pub fn configure(&self, env: &Env) {
        env.run(["tsa", "set", &self.url(), "--root", self.root_pem().to_str().unwrap()]).expect(0);
    }

    /// POSTs a TimeStampReq; the response body.
    pub fn ask(&self, query: &[u8]) -> Vec<u8> {
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            conn,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            query.len()
        )
        .unwrap();
        conn.write_all(query).unwrap();
        let mut reply = Vec::new();
        conn.read_to_end(&mut reply).unwrap();
        let split = reply.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP reply");
        assert!(
            reply.starts_with(b"HTTP/1.0 200") || reply.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&reply[..split])
        );
        reply[split + 4..].to_vec()
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).current_dir(dir).output().unwrap()
}

#[test]
fn a_token_from_a_real_tsa_is_checked_and_openssl_agrees() {
    let tsa = Tsa::start();
    let signature = b"the raw signature of a signed package".to_vec();
    let nonce = [0x91, 2, 3, 4, 5, 6, 7, 8];
    let response = tsa.ask(&timestamp::request(&signature, &nonce).unwrap());
    let (token, stamp) = timestamp::token_from_response(&response, &signature, &nonce, &tsa.root_der()).unwrap();
    let now = signer::clock::now();
    assert!((now.unix() - stamp.time.unix()).abs() < 300, "{} vs {now}", stamp.time);
    assert_eq!(stamp.tsa.as_deref(), Some("signer test TSA"));
    assert!(!stamp.serial.is_empty());
    assert_eq!(timestamp::verify(&token, &signature, &tsa.root_der()).unwrap(), stamp);

    // openssl verifies the same exchange: the response, and the token alone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sig.bin"), &signature).unwrap();
    std::fs::write(dir.path().join("r.tsr"), &response).unwrap();
    std::fs::write(dir.path().join("t.der"), &token).unwrap();
    let root = tsa.root_pem();
    let root = root.to_str().unwrap();
    for args in [
        &["ts", "-verify", "-data", "sig.bin", "-in", "r.tsr", "-CAfile", root][..],
        &["ts", "-verify", "-data", "sig.bin", "-in", "t.der", "-token_in", "-CAfile", root],
    ] {
        let out = openssl(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // Copied onto another signature.
    assert_eq!(timestamp::verify(&token, b"another signature", &tsa.root_der()), Err(TimestampError::OtherSignature));
    // Not the answer to this request.
    let e = timestamp::token_from_response(&response, &signature, &[9; 8], &tsa.root_der()).unwrap_err();
    assert_eq!(e, TimestampError::Nonce);
    // Another TSA's root.
    let other = Tsa::start();
    let e = timestamp::verify(&token, &signature, &other.root_der()).unwrap_err();
    assert!(matches!(e, TimestampError::Untrusted(_)), "{e}");
    // A certificate off the TSA's chain slipped into the token (bytes no signature
    // covers, where data could hide): refused, though every signature still holds.
    let padded = {
        use der::{Decode, Encode};
        let info = cms::content_info::ContentInfo::from_der(&token).unwrap();
        let mut sd: cms::signed_data::SignedData = info.content.decode_as().unwrap();
        let stranger = x509_cert::Certificate::from_der(&other.root_der()).unwrap();
        sd.certificates.as_mut().unwrap().0.insert(cms::cert::CertificateChoices::Certificate(stranger)).unwrap();
        let content = der::Any::encode_from(&sd).unwrap();
        cms::content_info::ContentInfo { content_type: info.content_type, content }.to_der().unwrap()
    };
    let e = timestamp::verify(&padded, &signature, &tsa.root_der()).unwrap_err();
    assert!(matches!(&e, TimestampError::Malformed(m) if m.contains("not on its TSA's chain")), "{e}");
    // The time changed by one digit: the TSA's signature no longer holds.
    let at = token.windows(2).position(|w| w == [0x18, 0x0f]).expect("a GeneralizedTime in the token") + 2;
    let mut altered = token.clone();
    altered[at + 3] = if altered[at + 3] == b'0' { b'1' } else { b'0' };
    let e = timestamp::verify(&altered, &signature, &tsa.root_der()).unwrap_err();
    assert!(matches!(e, TimestampError::Signature(_)), "{e}");
    // Any single byte of the signed TSTInfo or of the signature changed: never accepted.
    for i in 0..token.len() {
        let mut t = token.clone();
        t[i] ^= 0x01;
        if let Ok(s) = timestamp::verify(&t, &signature, &tsa.root_der()) {
            // Only bytes outside what is signed (the copy of the TSA's CA the token carries)
            // may change without effect, and then the stamp is the same.
            assert_eq!(s, stamp, "byte {i} changed the stamp");
        }
    }
}

#[test]
fn a_refusal_of_the_tsa_is_said() {
    let tsa = Tsa::start();
    // A SHA-1 imprint, which this TSA does not accept: openssl answers "rejection".
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sig.bin"), b"x").unwrap();
    let out = openssl(dir.path(), &["ts", "-query", "-data", "sig.bin", "-sha1", "-cert", "-out", "q.tsq"]);
    assert!(out.status.success());
    let response = tsa.ask(&std::fs::read(dir.path().join("q.tsq")).unwrap());
    let e = timestamp::token_from_response(&response, b"x", &[0; 8], &tsa.root_der()).unwrap_err();
    assert!(matches!(e, TimestampError::Refused(_)), "{e}");
    assert!(matches!(
        timestamp::token_from_response(b"<html>", b"x", &[0; 8], &tsa.root_der()),
        Err(TimestampError::Malformed(_))
    ));
}

/// With a TSA configured, every signature carries its timestamp, and the timestamp is the
/// signing time that cancellation weighs; without one a canceled profile's signature is
/// denied whatever it claims. A token moved, altered or from another TSA is refused.
#[test]
fn the_timestamp_is_the_signing_time_a_cancellation_is_weighed_against() {
    let tsa = Tsa::start();
    let env = Env::new();
    env.profile("App", &[]);
    let src = fixture("packages/hello-function.zip");
    let untimestamped = env.sign("App", &src, "untimestamped.zip");
    tsa.configure(&env);
    let shown = env.json(["tsa", "show"]).expect(0).json();
    assert_eq!(shown["url"], tsa.url());
    let stamped = env.sign("App", &src, "stamped.zip");
    let other = env.sign("App", &src, "other.zip");
    let stamp = stamp_of(&stamped, &tsa);
    assert_eq!(stamp.tsa.as_deref(), Some("signer test TSA"));
    // Shown, and exported for openssl, which verifies it against the TSA's root.
    let shown = env.json(["signature", "show", stamped.to_str().unwrap()]).expect(0).json();
    assert_eq!(shown["timestamp"]["stamped_at"], stamp.time.to_string());
    assert_eq!(shown["timestamp"]["serial"], stamp.serial);
    let sig = env.path("sig");
    env.run(["signature", "export", stamped.to_str().unwrap(), "--dir", sig.to_str().unwrap()]).expect(0);
    let root = tsa.root_pem();
    let out = openssl(
        &sig,
        &["ts", "-verify", "-data", "signature.der", "-in", "timestamp.tsr", "-CAfile", root.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(env.json(["signature", "show", untimestamped.to_str().unwrap()]).expect(0).json()["timestamp"].is_null());
    env.run(["verify", stamped.to_str().unwrap()]).expect(0);
    env.run(["verify", untimestamped.to_str().unwrap()]).expect(0);

    // Canceled after the timestamp: the timestamped signature stands, the other does not.
    wait_past(stamp.time.plus_secs(1));
    env.run(["profile", "cancel", "App"]).expect(0);
    env.run(["verify", stamped.to_str().unwrap()]).expect(0);
    let f = failures(&env.json(["verify", untimestamped.to_str().unwrap()]).expect(1));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "revocation");
    assert!(f[0].1.contains("canceled") && f[0].1.contains("no trusted timestamp"), "{f:?}");

    // The token of another package put into this one (same length: same TSA, same form).
    let line = |p: &Path| -> (usize, Vec<u8>) {
        let bytes = std::fs::read(p).unwrap();
        let at = bytes.windows(10).rposition(|w| w == b"timestamp ").unwrap();
        (at, bytes[at..at + 8192].to_vec())
    };
    let (at, _) = line(&stamped);
    let (_, theirs) = line(&other);
    let mut swapped = std::fs::read(&stamped).unwrap();
    swapped[at..at + 8192].copy_from_slice(&theirs);
    let copied = env.path("copied.zip");
    std::fs::write(&copied, &swapped).unwrap();
    let f = failures(&env.json(["verify", copied.to_str().unwrap()]).expect(1));
    assert_eq!(f[0].0, "authenticity", "{f:?}");
    assert!(f[0].1.contains("another signature"), "{f:?}");
    // One character of the token changed.
    let mut altered = std::fs::read(&stamped).unwrap();
    let i = at + 200;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let tampered = env.path("tampered.zip");
    std::fs::write(&tampered, &altered).unwrap();
    let f = failures(&env.json(["verify", tampered.to_str().unwrap()]).expect(1));
    assert_eq!(f[0].0, "authenticity", "{f:?}");
    // Another TSA is configured now: the token's TSA is not the trusted one.
    let elsewhere = Tsa::start();
    elsewhere.configure(&env);
    let f = failures(&env.json(["verify", stamped.to_str().unwrap()]).expect(1));
    assert!(f[0].0 == "authenticity" && f[0].1.contains("not trusted"), "{f:?}");
}

/// A TSA that does not answer: `sign` fails with exit 6 naming it, and writes nothing.
#[test]
fn a_tsa_that_does_not_answer_fails_the_signing_and_says_where() {
    let env = Env::new();
    env.profile("App", &[]);
    let tsa = Tsa::start();
    let (url, root) = (tsa.url(), tsa.root_pem());
    let root_copy = env.path("tsa-root.pem");
    std::fs::copy(&root, &root_copy).unwrap();
    drop(tsa);
    env.run(["tsa", "set", &url, "--root", root_copy.to_str().unwrap()]).expect(0);
    let out = env.path("signed.zip");
    let r = env
        .json([
            "sign",
            "--profile",
            "App",
            fixture("packages/hello-function.zip").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .expect(6);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains(&url), "{}", r.stdout);
    assert!(!out.exists());
}

/// `--reason key-compromise` revokes from the certificate's start: even a signature
/// timestamped long before the revocation fails, since the key's holder may have made it.
#[test]
fn a_key_compromise_revokes_every_signature_the_key_could_have_made() {
    let tsa = Tsa::start();
    let env = Env::new();
    let version = env.profile("App", &[]);
    let untimestamped = env.sign("App", &fixture("packages/hello-function.zip"), "untimestamped.zip");
    tsa.configure(&env);
    let stamped = env.sign("App", &fixture("packages/hello-function.zip"), "stamped.zip");
    env.run(["verify", stamped.to_str().unwrap()]).expect(0);
    // A config that requires timestamps: the untimestamped signature fails mismatch.
    let allowed = format!("App/{version}");
    let c = env.json(["csc", "create", "--allowed-publisher", &allowed, "--require-timestamp"]).expect(0).json();
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["require_timestamp"], true);
    env.run(["verify", stamped.to_str().unwrap(), "--csc", &id]).expect(0);
    let f = failures(&env.json(["verify", untimestamped.to_str().unwrap(), "--csc", &id]).expect(1));
    assert!(f.len() == 1 && f[0].0 == "mismatch" && f[0].1.contains("requires a timestamp"), "{f:?}");
    env.json(["csc", "update", &id, "--require-timestamp", "false"]).expect(0);
    env.run(["verify", untimestamped.to_str().unwrap(), "--csc", &id]).expect(0);
    // Any other reason needs an effective time.
    env.run(["profile", "revoke", "App", "--version", &version, "--reason", "rotated"]).expect(2);
    let r =
        env.json(["profile", "revoke", "App", "--version", &version, "--reason", "key-compromise"]).expect(0).json();
    let effective: signer::model::Timestamp = r["effective_at"].as_str().unwrap().parse().unwrap();
    assert!(effective < stamp_of(&stamped, &tsa).time, "{effective}");
    let f = failures(&env.json(["verify", stamped.to_str().unwrap()]).expect(1));
    assert_eq!(f[0].0, "revocation", "{f:?}");
}

/// A profile created with `--sign-without-tsa` signs untimestamped when the TSA does not
/// answer, and says so; the package verifies, as an untimestamped one.
#[test]
fn a_profile_may_sign_without_the_tsa_when_it_does_not_answer() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    env.run(["profile", "create", "Lenient", "--sign-without-tsa"]).expect(0);
    let tsa = Tsa::start();
    tsa.configure(&env);
    let src = fixture("packages/hello-function.zip");
    let stamped = env.sign("Lenient", &src, "stamped.zip");
    stamp_of(&stamped, &tsa);
    drop(tsa);
    let out = env.path("lenient.zip");
    let r = env.json(["sign", "--profile", "Lenient", src.to_str().unwrap(), "-o", out.to_str().unwrap()]).expect(0);
    assert_eq!(r.json()["timestamped"], false);
    let shown = env.json(["signature", "show", out.to_str().unwrap()]).expect(0).json();
    assert!(shown["timestamp"].is_null(), "{shown}");
    env.run(["verify", out.to_str().unwrap()]).expect(0);
    assert_eq!(env.json(["profile", "show", "Lenient"]).expect(0).json()["sign_without_tsa"], true);
    // Same length as a timestamped package: the line was reserved, and is empty.
    assert_eq!(std::fs::metadata(&out).unwrap().len(), std::fs::metadata(&stamped).unwrap().len());
}
