//! Issue 16, points 8 and 9: `-` for stdin and stdout wherever a command reads or writes
//! a file, relative `code` paths taken beside the deployment file, profiles and configs
//! created from files, and a quick start that cleans up after itself.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{Env, Run, fixture};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `cmd` with `input` on its stdin; stdout kept as bytes.
fn with_stdin(mut cmd: Command, input: &[u8]) -> (Run, Vec<u8>) {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A writer of its own: a command that refuses early closes stdin before reading it.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let bytes = out.stdout.clone();
    (out.into(), bytes)
}

fn signer(env: &Env, args: &[&str]) -> Command {
    let mut c = env.cmd();
    c.args(args);
    c
}

#[test]
fn dash_reads_stdin_and_writes_stdout_and_only_a_whole_result() {
    let env = Env::new();
    env.profile("Piped", &[]);
    let zip = std::fs::read(fixture("packages/hello-function.zip")).unwrap();

    // sign - -o -: a filter. The summary goes to stderr; stdout is exactly the package.
    let (r, signed) = with_stdin(signer(&env, &["sign", "--profile", "Piped", "-", "-o", "-"]), &zip);
    let r = r.expect(0);
    assert!(r.stderr.contains("signed stdin → stdout"), "{}", r.stderr);
    let file = env.path("signed.zip");
    std::fs::write(&file, &signed).unwrap();
    env.run(["verify", s(&file)]).expect(0);
    // verify - and signature show -: the package named "stdin".
    let (r, _) = with_stdin(signer(&env, &["--output", "json", "verify", "-"]), &signed);
    let v = r.expect(0).json();
    assert_eq!(v["packages"][0]["name"], "stdin", "{v}");
    let (r, _) = with_stdin(signer(&env, &["signature", "show", "-"]), &signed);
    assert!(r.expect(0).stdout.contains("Piped"));

    // A failed sign writes nothing to stdout: the bytes go out only once whole.
    let (r, out) = with_stdin(signer(&env, &["sign", "--profile", "Piped", "-", "-o", "-"]), b"not a zip at all");
    r.expect(3);
    assert!(out.is_empty(), "{} bytes on stdout", out.len());
    // With --output json stdout holds the document: `-o -` is a usage error, said in JSON.
    let (r, _) = with_stdin(signer(&env, &["--output", "json", "sign", "--profile", "Piped", "-", "-o", "-"]), &zip);
    let e = r.expect(2).json();
    assert!(e["error"]["message"].as_str().unwrap().contains("--output json"), "{e}");
    // Two arguments cannot both read stdin.
    let (r, _) = with_stdin(signer(&env, &["verify", "-", "--csc-file", "-"]), &signed);
    assert!(r.expect(2).stderr.contains("already read"));

    // Small files: trust export -o - prints the PEM; a profile's chain and key from stdin.
    let pem = env.run(["trust", "export", "-o", "-"]).expect(0).stdout;
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    // Layers: publish from stdin, get to stdout, byte for byte.
    let layer = std::fs::read(fixture("packages/greetings-layer.zip")).unwrap();
    let (r, _) = with_stdin(signer(&env, &["layer", "publish", "greet", "-"]), &layer);
    r.expect(0);
    let (r, got) = with_stdin(signer(&env, &["layer", "get", "greet:1", "-o", "-"]), b"");
    r.expect(0);
    assert_eq!(got, layer);
    // A missing input file says how to use stdin.
    let r = env.run(["csc", "create", "--from", s(&env.path("nope.json"))]).expect(4);
    assert!(r.stderr.contains("- for stdin"), "{}", r.stderr);
}

#[test]
fn a_relative_code_path_is_taken_beside_the_deployment_file() {
    let env = Env::new();
    env.profile("Rel", &[]);
    let dir = env.path("deploy");
    std::fs::create_dir(&dir).unwrap();
    let signed = env.sign("Rel", &fixture("packages/hello-function.zip"), "deploy/fn.signed.zip");
    assert!(signed.starts_with(&dir));
    let doc = json!({"function": "f", "code": "fn.signed.zip"});
    std::fs::write(dir.join("deployment.json"), doc.to_string()).unwrap();
    // From another folder: the file's folder decides, not the current one.
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let run = |args: &[&str], cwd: &Path, stdin: &[u8]| {
        let mut c = signer(&env, args);
        c.current_dir(cwd);
        with_stdin(c, stdin).0
    };
    let v = run(&["--output", "json", "deploy", "check", s(&dir.join("deployment.json"))], &elsewhere, b"");
    assert_eq!(v.expect(0).json()["decision"], "allow");
    // From stdin there is no file: the current folder decides.
    let stdin = doc.to_string();
    run(&["deploy", "check", "-"], &elsewhere, stdin.as_bytes()).expect(4);
    run(&["deploy", "check", "-"], &dir, stdin.as_bytes()).expect(0);
}

#[test]
fn profiles_and_configs_are_created_from_files() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));

    // The file in profiles/ as it is: its name, platform, validity and description.
    let p = env.json(["profile", "create", "--from", s(&repo.join("profiles/release-profile.json"))]).expect(0).json();
    let def: Value =
        serde_json::from_slice(&std::fs::read(repo.join("profiles/release-profile.json")).unwrap()).unwrap();
    for field in ["name", "platform", "description"] {
        assert_eq!(p[field], def[field], "{field}: {p}");
    }
    assert_eq!(p["signature_validity"], def["validity"], "{p}");
    assert!(env.run(["profile", "show", "ReleaseApp"]).expect(0).stdout.contains(def["description"].as_str().unwrap()));
    // Flags win over the file, the name included.
    let short = s(&repo.join("profiles/short-lived-profile.json")).to_owned();
    let p = env.json(["profile", "create", "Other", "--from", &short, "--validity", "7d"]).expect(0).json();
    assert_eq!((p["name"].as_str(), p["platform"].as_str()), (Some("Other"), Some("Ed25519")), "{p}");
    assert_eq!(p["signature_validity"], "7days", "{p}");
    // From stdin; a file that names no profile, or has a field signer does not know.
    let (r, _) = with_stdin(signer(&env, &["profile", "create", "--from", "-"]), br#"{"name":"FromStdin"}"#);
    r.expect(0);
    let (r, _) = with_stdin(signer(&env, &["profile", "create", "--from", "-"]), br#"{"platform":"Ed25519"}"#);
    assert!(r.expect(2).stderr.contains("no profile name"));
    let (r, _) = with_stdin(signer(&env, &["profile", "create", "--from", "-"]), br#"{"name":"Typo","valdity":"1d"}"#);
    let r = r.expect(3);
    assert!(r.stderr.contains("valdity") && r.stderr.contains("profiles/README.md"), "{}", r.stderr);
    assert!(r.stderr.contains("definition on stdin"), "{}", r.stderr);
    let (r, _) =
        with_stdin(signer(&env, &["profile", "create", "--from", "-"]), br#"{"name":"Kv","key_store":"vault"}"#);
    assert!(r.expect(3).stderr.contains("pkcs11:"));
    env.run(["profile", "create"]).expect(2);

    // A config from what `csc show` printed: a new id, the same trust.
    let version = p["current_version"].as_str().unwrap();
    let first = env
        .json(["csc", "create", "--allowed-publisher", &format!("Other/{version}"), "--description", "prod"])
        .expect(0)
        .json();
    let shown = env.json(["csc", "show", first["id"].as_str().unwrap()]).expect(0).stdout;
    let (r, _) = with_stdin(signer(&env, &["--output", "json", "csc", "create", "--from", "-"]), shown.as_bytes());
    let copy = r.expect(0).json();
    assert_ne!(copy["id"], first["id"]);
    for field in ["allowed_publishers", "policy", "description", "require_timestamp"] {
        assert_eq!(copy[field], first[field], "{field}: {copy}");
    }
    let (r, _) = with_stdin(
        signer(&env, &["--output", "json", "csc", "create", "--from", "-", "--policy", "warn"]),
        shown.as_bytes(),
    );
    assert_eq!(r.expect(0).json()["policy"], "warn");
    env.run(["csc", "create"]).expect(2);
}

#[test]
fn the_quick_start_removes_its_folder_unless_kept() {
    let env = Env::new();
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let quickstart = |extra: &[&str]| {
        let mut c = signer(&env, &["--output", "json", "quickstart"]);
        c.args(extra).env("TMPDIR", &tmp);
        Run::from(c.output().unwrap()).expect(0).json()
    };
    let r = quickstart(&[]);
    assert_eq!(r["kept"], false, "{r}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "nothing left in the temporary folder");
    let r = quickstart(&["--keep"]);
    assert_eq!(r["kept"], true, "{r}");
    assert!(Path::new(r["home"].as_str().unwrap()).join("store").is_dir(), "{r}");
}
