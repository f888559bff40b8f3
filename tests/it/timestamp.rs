//! RFC 3161 timestamps against a real time-stamping authority (issue 13): OpenSSL's
//! `openssl ts -reply` behind the small HTTP shim of `tests/tsa/tsa.py`, with a CA of its
//! own made at start. What signer asks for, the TSA grants and openssl verifies; what the
//! TSA answers, signer checks — and refuses when copied, altered, from another TSA or not
//! an answer to its request.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use signer::timestamp::{self, TimestampError};

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
