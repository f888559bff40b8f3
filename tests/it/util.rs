//! Shared helpers for the integration tests: a temp home with its embedded store, and a
//! command helper that runs the real `signer` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The third-party zips vendored under `fixtures/third-party/` (their READMEs name each
/// upstream and licence).
pub fn corpus_dir() -> PathBuf {
    fixture("third-party")
}

/// A file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// A throwaway home (with its default file store) and the `signer` binary.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Option<String>,
}

/// A finished command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as the one JSON document it must be.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not one JSON document ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// Asserts the exit code, showing output on failure.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Env {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), store: None }
    }

    /// An environment whose state lives in `store` (keys still in the temp home).
    pub fn with_store(store: &str) -> Self {
        Self { dir: tempfile::tempdir().unwrap(), store: Some(store.to_owned()) }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signer"));
        c.env("SIGNER_HOME", self.home()).env_remove("SIGNER_STORE");
        if let Some(s) = &self.store {
            c.env("SIGNER_STORE", s);
        }
        c
    }

    /// Runs `signer ARGS…`.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd().args(args).output().unwrap().into()
    }

    /// Runs `signer --output json ARGS…`.
    pub fn json<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd().arg("--output").arg("json").args(args).output().unwrap().into()
    }

    /// `init` + `profile create NAME [extra…]`; returns the version id.
    pub fn profile(&self, name: &str, extra: &[&str]) -> String {
        self.run(["init"]).expect(0);
        let mut args = vec!["profile", "create", name];
        args.extend_from_slice(extra);
        let r = self.json(args).expect(0);
        r.json()["current_version"].as_str().unwrap().to_owned()
    }

    /// Signs `src` with `profile` to a new file; returns its path.
    pub fn sign(&self, profile: &str, src: &Path, out_name: &str) -> PathBuf {
        let out = self.path(out_name);
        self.run(["sign", "--profile", profile, src.to_str().unwrap(), "-o", out.to_str().unwrap()]).expect(0);
        out
    }
}

/// Writes a zip with the `zip` crate: (name, bytes, deflate?) entries.
pub fn make_zip(path: &Path, entries: &[(&str, &[u8], bool)]) {
    use std::io::Write;
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(f);
    for (name, data, deflate) in entries {
        let method = if *deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Runs a command line tool and returns (exit code, stdout, stderr).
pub fn tool(program: &str, args: &[&str]) -> Run {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}")).into()
}

/// A fresh bucket on the test S3 server (scripts/test.sh starts it and sets
/// `SIGNER_TEST_S3_ENDPOINT`), or `None` with a printed notice when there is none.
pub fn s3_bucket() -> Option<String> {
    if std::env::var_os("SIGNER_TEST_S3_ENDPOINT").is_none() {
        eprintln!("skipping the S3 part: set SIGNER_TEST_S3_ENDPOINT (scripts/test.sh starts a server and sets it)");
        return None;
    }
    let bucket = format!("signer-it-{}", uuid::Uuid::new_v4().simple());
    s3_request("PUT", &format!("/{bucket}"), "");
    Some(bucket)
}

/// Turns on object versioning for a bucket made by [`s3_bucket`].
pub fn s3_enable_versioning(bucket: &str) {
    let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    s3_request("PUT", &format!("/{bucket}?versioning"), body);
}

/// Deletes one version of an object, for good (a versioned bucket made by [`s3_bucket`]).
pub fn s3_delete_version(bucket: &str, key: &str, version: &str) {
    s3_request("DELETE", &format!("/{bucket}/{key}?versionId={version}"), "");
}

/// A request to the test server, asserting 2xx. moto does not check signatures, but it
/// refuses some operations (deleting a version) to a request with no credential at all.
fn s3_request(method: &str, path: &str, body: &str) {
    let endpoint = std::env::var("SIGNER_TEST_S3_ENDPOINT").unwrap();
    let auth =
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut conn = std::net::TcpStream::connect(&host).unwrap_or_else(|e| panic!("S3 test server at {host}: {e}"));
    write!(conn, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 20"), "{method} {path}: {}", reply.lines().next().unwrap_or(""));
}

/// openssl's check of a signature exported by `signer signature export --dir DIR`: the
/// certificate's public key over `payload`, on `platform` (its name as signer writes it).
pub fn openssl_verify_exported(dir: &Path, platform: &str, payload: &Path) -> Run {
    let d = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    if !dir.join("pub.pem").exists() {
        let pubkey = tool("openssl", &["x509", "-in", &d("certificate.pem"), "-pubkey", "-noout"]).expect(0).stdout;
        std::fs::write(dir.join("pub.pem"), pubkey).unwrap();
    }
    let payload = payload.to_str().unwrap();
    let signature_file = if platform == "Ed25519" { "signature.bin" } else { "signature.der" };
    let (pubkey, signature) = (d("pub.pem"), d(signature_file));
    match platform {
        "Ed25519" => tool(
            "openssl",
            &["pkeyutl", "-verify", "-pubin", "-inkey", &pubkey, "-rawin", "-in", payload, "-sigfile", &signature],
        ),
        "ECDSA-P256-SHA256" => {
            tool("openssl", &["dgst", "-sha256", "-verify", &pubkey, "-signature", &signature, payload])
        }
        _ => tool("openssl", &["dgst", "-sha384", "-verify", &pubkey, "-signature", &signature, payload]),
    }
}

/// A moto server of the test's own, which enforces IAM after its first `n` requests;
/// stopped (by its process) when dropped.
pub struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Moto {
    pub fn with_auth_after(server: &str, n: u32) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let moto = Self { child, port };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto did not listen on {port} within 30 s");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every command `signer --help` lists, down to the leaves, the top one (`[]`) first:
/// each with whether it is a leaf (runs, rather than listing subcommands).
pub fn commands(env: &Env) -> Vec<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = env.run(&args).expect(0).stdout;
        let subcommands: Vec<String> = match help.split("Commands:\n").nth(1) {
            // A command's line is indented two spaces; its wrapped description more.
            Some(list) => list
                .lines()
                .take_while(|l| l.starts_with("  "))
                .filter(|l| !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        for name in &subcommands {
            todo.push(path.iter().cloned().chain([name.clone()]).collect());
        }
        out.push((path, subcommands.is_empty()));
    }
    out
}

/// Every file under `dir` with its bytes.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}
