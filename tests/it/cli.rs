//! The foundation through the real binary: init, profiles, sign, verify, signature
//! export, refusals and their exit codes (issue #2).

use sha2::Digest as _;
use std::os::unix::fs::PermissionsExt;

use crate::util::{Env, fixture, make_zip, tool};

const PLATFORMS: [&str; 3] = ["ECDSA-P384-SHA384", "ECDSA-P256-SHA256", "Ed25519"];

#[test]
fn init_is_idempotent() {
    let env = Env::new();
    let first = env.json(["init"]).expect(0).json();
    assert_eq!(first["created"], true);
    let again = env.json(["init"]).expect(0).json();
    assert_eq!(again["created"], false);
    assert_eq!(first["root_ca"]["fingerprint"], again["root_ca"]["fingerprint"]);
}

#[test]
fn sign_verify_round_trip_for_every_platform_and_unzip_tools_see_the_source() {
    for platform in PLATFORMS {
        let env = Env::new();
        let name = format!("P_{}", platform.replace('-', "_"));
        env.profile(&name, &["--platform", platform]);
        let src = fixture("packages/hello-function.zip");
        let signed = env.sign(&name, &src, "signed.zip");
        let v = env.json(["verify", signed.to_str().unwrap()]).expect(0).json();
        assert_eq!(v["decision"], "allow", "{platform}: {v}");
        assert_eq!(v["packages"][0]["signature"]["profile"], name.as_str());
        let checks = v["packages"][0]["checks"].as_array().unwrap();
        assert_eq!(checks[0]["check"], "integrity");
        assert_eq!(checks[0]["status"], "pass");
        assert_eq!(checks[1]["status"], "pass");
        // The JSON verdict carries the whole package's SHA-256 (the text verdict does not
        // show it, and `verify` then skips that second whole-package hash).
        let bytes = std::fs::read(&signed).unwrap();
        assert_eq!(v["packages"][0]["sha256"], hex::encode(sha2::Sha256::digest(&bytes)), "{platform}");
        assert_eq!(v["packages"][0]["size"], bytes.len());
        env.run(["verify", signed.to_str().unwrap()]).expect(0);

        // Info-ZIP and Python see exactly the source's entries and bytes.
        tool("unzip", &["-tq", signed.to_str().unwrap()]).expect(0);
        let script = r#"
import sys, zipfile
a, b = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
assert a.namelist() == b.namelist(), (a.namelist(), b.namelist())
for n in a.namelist():
    assert a.read(n) == b.read(n), n
assert b.testzip() is None
"#;
        tool("python3", &["-c", script, src.to_str().unwrap(), signed.to_str().unwrap()]).expect(0);
        let x1 = env.path("x1");
        let x2 = env.path("x2");
        tool("unzip", &["-q", src.to_str().unwrap(), "-d", x1.to_str().unwrap()]).expect(0);
        tool("unzip", &["-q", signed.to_str().unwrap(), "-d", x2.to_str().unwrap()]).expect(0);
        tool("diff", &["-r", x1.to_str().unwrap(), x2.to_str().unwrap()]).expect(0);
    }
}

#[test]
fn tampered_appended_prepended_and_truncated_packages_fail() {
    let env = Env::new();
    env.profile("Tamper", &[]);
    let signed = env.sign("Tamper", &fixture("packages/hello-function.zip"), "signed.zip");
    let good = std::fs::read(&signed).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flip in an entry", {
            let mut b = good.clone();
            b[40] ^= 1;
            b
        }),
        ("flip in the block", {
            let mut b = good.clone();
            let i = b.len() - 200;
            b[i] ^= 1;
            b
        }),
        ("appended", [good.as_slice(), b"x"].concat()),
        ("prepended", [b"x".as_slice(), good.as_slice()].concat()),
        ("truncated", good[..good.len() - 1].to_vec()),
    ];
    for (what, bytes) in cases {
        let p = env.path("bad.zip");
        std::fs::write(&p, bytes).unwrap();
        let v = env.json(["verify", p.to_str().unwrap()]).expect(1).json();
        assert_eq!(v["decision"], "deny", "{what}");
    }
}

#[test]
fn exported_pieces_verify_with_openssl() {
    for platform in PLATFORMS {
        let env = Env::new();
        env.profile("Ossl", &["--platform", platform]);
        // Over two chunks of the content digest, the last one partial.
        let src = env.path("src.zip");
        let data: Vec<u8> = (0..2_500_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        make_zip(&src, &[("blob.bin", &data, false)]);
        let signed = env.sign("Ossl", &src, "signed.zip");
        let dir = env.path("sig");
        let e = env
            .json(["signature", "export", signed.to_str().unwrap(), "--dir", dir.to_str().unwrap()])
            .expect(0)
            .json();
        let d = |f: &str| dir.join(f).to_str().unwrap().to_owned();
        let verify =
            |payload: &str| crate::util::openssl_verify_exported(&dir, platform, std::path::Path::new(payload));
        verify(&d("payload.bin")).expect(0);
        let mut tampered = std::fs::read(dir.join("payload.bin")).unwrap();
        tampered[30] ^= 1;
        std::fs::write(dir.join("tampered.bin"), tampered).unwrap();
        assert_ne!(verify(&d("tampered.bin")).code, 0, "{platform}: openssl accepted a tampered payload");

        // The commands the export prints, run as printed: the signature checks (an
        // Ed25519 one with pkeyutl on the raw signature, not dgst on a DER one).
        let commands: Vec<&str> = e["check_commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        std::fs::remove_file(dir.join("pub.pem")).unwrap();
        let printed = commands[..2].join(" && ");
        let r = std::process::Command::new("sh").arg("-c").arg(&printed).current_dir(&dir).output().unwrap();
        assert!(r.status.success(), "{platform}: `{printed}` failed: {}", String::from_utf8_lossy(&r.stderr));
        let want = if platform == "Ed25519" { "pkeyutl" } else { "dgst" };
        assert!(commands[1].contains(want), "{platform}: {}", commands[1]);
        assert_eq!(e["signature_file"], if platform == "Ed25519" { "signature.bin" } else { "signature.der" });

        // The chain: the issuer in chain.pem is the store's root; the leaf is for code signing.
        tool("openssl", &["verify", "-CAfile", &d("chain.pem"), "-purpose", "any", &d("certificate.pem")]).expect(0);
        let eku = tool("openssl", &["x509", "-in", &d("certificate.pem"), "-noout", "-ext", "extendedKeyUsage"])
            .expect(0)
            .stdout;
        assert!(eku.contains("Code Signing"), "{eku}");

        // The content digest in the statement is the hash of the hashes of the 1 MiB
        // chunks of the package's first `length` bytes, as SECURITY.md computes it by hand.
        let len = e["content_length"].as_u64().unwrap();
        let hash = e["hash"].as_str().unwrap();
        let by_hand = format!(
            "head -c {len} {} | split -b 1M --filter='openssl dgst -{hash} -binary' | openssl dgst -{hash} -r",
            signed.display()
        );
        let out = tool("sh", &["-c", &by_hand]).expect(0).stdout;
        assert!(out.starts_with(e["content_digest"]["value"].as_str().unwrap()), "{out}");
        assert_eq!(e["content_digest"]["algorithm"], format!("{hash}-chunked-1mib"));
    }
}

#[test]
fn refusals_have_their_exit_codes() {
    let env = Env::new();
    env.profile("Refuse", &[]);
    let sign = |src: &std::path::Path| {
        let out = env.path("out.zip");
        let r = env.run(["sign", "--profile", "Refuse", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert!(!out.exists(), "a refused sign left {}", out.display());
        r
    };
    let not_zip = env.path("not.zip");
    std::fs::write(&not_zip, b"hello, not a zip").unwrap();
    sign(&not_zip).expect(3);

    let empty = env.path("empty.zip");
    make_zip(&empty, &[]);
    sign(&empty).expect(3);

    let signed = env.sign("Refuse", &fixture("packages/hello-function.zip"), "signed.zip");
    let r = sign(&signed).expect(3);
    assert!(r.stderr.contains("already signed"), "{}", r.stderr);

    let dotdot = env.path("dotdot.zip");
    make_zip(&dotdot, &[("../evil.sh", b"#!/bin/sh\n", false)]);
    sign(&dotdot).expect(3);

    let unknown = env.run([
        "sign",
        "--profile",
        "NoSuch",
        fixture("packages/hello-function.zip").to_str().unwrap(),
        "-o",
        env.path("o.zip").to_str().unwrap(),
    ]);
    unknown.expect(4);

    env.run(["profile", "cancel", "Refuse"]).expect(0);
    sign(&fixture("packages/hello-function.zip")).expect(5);
    // A canceled name is never reused.
    env.run(["profile", "create", "Refuse"]).expect(5);
    // Leftover temporaries: none.
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn over_the_unzipped_limit_is_refused_with_lambdas_wording() {
    let env = Env::new();
    env.profile("Big", &[]);
    let big = env.path("big.zip");
    let zeros = vec![0u8; 262_144_001];
    make_zip(&big, &[("zeros.bin", &zeros, true)]);
    let r = env
        .run(["sign", "--profile", "Big", big.to_str().unwrap(), "-o", env.path("o.zip").to_str().unwrap()])
        .expect(3);
    assert!(r.stderr.contains("262144000") && r.stderr.contains("262144001"), "{}", r.stderr);
}

#[test]
fn key_files_are_owner_only_readable_keys_are_refused_and_never_printed() {
    let env = Env::new();
    let version = env.profile("Keys", &[]);
    let key = env.home().join(format!("keys/profiles/Keys/{version}.pk8"));
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(env.home().join("keys")).unwrap().permissions().mode() & 0o777, 0o700);
    let der = std::fs::read(&key).unwrap();

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.path("o.zip");
    let r = env.run([
        "sign",
        "--profile",
        "Keys",
        fixture("packages/hello-function.zip").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Nothing any command prints holds key material.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let signed = env.sign("Keys", &fixture("packages/hello-function.zip"), "s.zip");
    for args in
        [vec!["profile", "show", "Keys"], vec!["profile", "list"], vec!["signature", "show", signed.to_str().unwrap()]]
    {
        for r in [env.run(&args), env.json(&args)] {
            let all = format!("{}{}", r.stdout, r.stderr);
            assert!(!all.contains("PRIVATE KEY") && !all.contains(&b64[20..60]), "{args:?} printed key material");
        }
    }
}

#[test]
fn profile_lifecycle_rotate_list_show_cancel_revoke() {
    let env = Env::new();
    let v1 = env.profile("Life", &["--validity", "30days"]);
    let show = env.json(["profile", "show", "Life"]).expect(0).json();
    assert_eq!(show["status"], "Active");
    assert_eq!(show["signature_validity"], "30days");
    let rotated = env.json(["profile", "rotate", "Life"]).expect(0).json();
    let v2 = rotated["current_version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    assert_eq!(rotated["versions"].as_array().unwrap().len(), 2);

    // Revocation: future refused; later refused; earlier accepted.
    let revoke = |time: &str| {
        env.run(["profile", "revoke", "Life", "--version", &v1, "--effective-time", time, "--reason", "test"])
    };
    revoke("2999-01-01T00:00:00Z").expect(3);
    revoke("2026-01-01T00:00:00Z").expect(0);
    revoke("2026-02-01T00:00:00Z").expect(5);
    revoke("2025-06-01T00:00:00Z").expect(0);
    let show = env.json(["profile", "show", "Life"]).expect(0).json();
    assert_eq!(show["versions"][0]["revoked_effective_at"], "2025-06-01T00:00:00Z");
    assert_eq!(show["status"], "Active", "the current version is not revoked");

    env.run(["profile", "show", "Nope"]).expect(4);
    env.run(["profile", "cancel", "Life"]).expect(0);
    // Issue 16, point 6: ending what has ended is not an error, for every kind of record.
    assert_eq!(env.json(["profile", "cancel", "Life"]).expect(0).json()["already_canceled"], true);
    let list = env.json(["profile", "list"]).expect(0).json();
    assert!(list["profiles"].as_array().unwrap().is_empty());
    let list = env.json(["profile", "list", "--include-canceled"]).expect(0).json();
    assert_eq!(list["profiles"][0]["status"], "Canceled");
}

#[test]
fn a_signature_made_after_its_version_was_revoked_fails_revocation() {
    let env = Env::new();
    let v = env.profile("Rev", &[]);
    let signed = env.sign("Rev", &fixture("packages/hello-function.zip"), "s.zip");
    env.run([
        "profile",
        "revoke",
        "Rev",
        "--version",
        &v,
        "--effective-time",
        "2020-01-01T00:00:00Z",
        "--reason",
        "compromised",
    ])
    .expect(0);
    let v = env.json(["verify", signed.to_str().unwrap()]).expect(1).json();
    let checks = v["packages"][0]["checks"].as_array().unwrap();
    assert_eq!(checks[4]["check"], "revocation");
    assert_eq!(checks[4]["status"], "fail");
}

#[test]
fn expiry_is_judged_at_the_given_time() {
    let env = Env::new();
    env.profile("Exp", &["--validity", "1day"]);
    let signed = env.sign("Exp", &fixture("packages/hello-function.zip"), "s.zip");
    env.run(["verify", signed.to_str().unwrap()]).expect(0);
    let v = env.json(["verify", signed.to_str().unwrap(), "--at", "2999-01-01T00:00:00Z"]).expect(1).json();
    assert_eq!(v["packages"][0]["checks"][3]["status"], "fail");
}

#[test]
fn own_certificate_chain_profiles_sign_and_verify() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    let d = |f: &str| env.path(f).to_str().unwrap().to_owned();
    // An openssl-made CA and code-signing leaf.
    tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            &d("ca.key"),
            "-out",
            &d("ca.pem"),
            "-days",
            "3650",
            "-subj",
            "/CN=Vendor Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    )
    .expect(0);
    tool("openssl", &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &d("leaf.key")])
        .expect(0);
    tool("openssl", &["req", "-new", "-key", &d("leaf.key"), "-out", &d("leaf.csr"), "-subj", "/CN=Vendor Signing"])
        .expect(0);
    // The leaf, with `eku`, signed by the root; its chain in `chain`.
    let issue = |eku: &str, chain: &str| {
        let ext = format!("extendedKeyUsage={eku}\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n");
        std::fs::write(env.path("ext.cnf"), ext).unwrap();
        let (csr, ca, ca_key, leaf, ext) = (d("leaf.csr"), d("ca.pem"), d("ca.key"), d("leaf.pem"), d("ext.cnf"));
        let args = ["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-out", &leaf];
        tool("openssl", &[&args[..], &["-days", "365", "-extfile", &ext]].concat()).expect(0);
        let pem = format!(
            "{}{}",
            std::fs::read_to_string(env.path("leaf.pem")).unwrap(),
            std::fs::read_to_string(env.path("ca.pem")).unwrap()
        );
        std::fs::write(env.path(chain), pem).unwrap();
    };
    issue("codeSigning", "chain.pem");
    env.run(["profile", "create", "Vendor", "--cert-chain", &d("chain.pem"), "--key", &d("leaf.key")]).expect(0);
    let signed = env.sign("Vendor", &fixture("packages/hello-function.zip"), "s.zip");
    let v = env.json(["verify", signed.to_str().unwrap()]).expect(0).json();
    assert_eq!(v["packages"][0]["signature"]["profile"], "Vendor");
    // A key that does not match the leaf is refused.
    tool("openssl", &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &d("other.key")])
        .expect(0);
    env.run(["profile", "create", "Vendor2", "--cert-chain", &d("chain.pem"), "--key", &d("other.key")]).expect(3);
    // Issue 16, point 6: a chain whose leaf is not for code signing is invalid input
    // (exit 3), not a denial (1).
    issue("serverAuth", "tls-chain.pem");
    let r = env.run(["profile", "create", "Vendor3", "--cert-chain", &d("tls-chain.pem"), "--key", &d("leaf.key")]);
    assert!(r.expect(3).stderr.contains("codeSigning"));
}

#[test]
fn json_mode_prints_one_document_even_for_errors() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    let r = env.json(["profile", "show", "Missing"]).expect(4);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("Missing"));
    let r = env.json(["verify", env.path("nope.zip").to_str().unwrap()]).expect(4);
    r.json();
}

#[test]
fn help_completions_and_man_page() {
    let env = Env::new();
    let help = env.run(["sign", "--help"]).expect(0).stdout;
    assert!(help.contains("Example"), "{help}");
    for shell in ["bash", "zsh", "fish"] {
        // The script asks signer itself at completion time.
        let script = env.run(["completions", shell]).expect(0).stdout;
        assert!(
            script.contains(&format!("COMPLETE=\"{shell}\"")) || script.contains(&format!("COMPLETE={shell}")),
            "{script}"
        );
    }
    assert!(env.run(["man"]).expect(0).stdout.contains(".TH"));
    env.run(["no-such-command"]).expect(2);
}

/// Issue 16, point 7: a man page per command, each with ENVIRONMENT and EXIT STATUS;
/// `signer man CMD…` prints one; an unknown command is a usage error.
#[test]
fn every_command_has_a_man_page_with_environment_and_exit_status() {
    let env = Env::new();
    let dir = env.path("man");
    let r = env.json(["man", "--dir", dir.to_str().unwrap()]).expect(0).json();
    let pages: Vec<String> = r["pages"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
    // Every command `--help` lists has its page, down to the leaves.
    let all = crate::util::commands(&env);
    for (path, _) in &all {
        let page = format!("signer{}.1", path.iter().map(|c| format!("-{c}")).collect::<String>());
        assert!(pages.contains(&page), "no {page} in {pages:?}");
        let roff = std::fs::read_to_string(dir.join(&page)).unwrap();
        for section in [".SH ENVIRONMENT", ".SH \"EXIT STATUS\"", "SIGNER_STORE", "AWS_PROFILE"] {
            assert!(roff.contains(section), "{page} lacks {section}");
        }
    }
    let commands = all.len();
    assert_eq!(pages.len(), commands, "{pages:?}");
    assert!(commands > 40, "{commands}");
    let one = env.run(["man", "sign-job", "purge"]).expect(0).stdout;
    assert_eq!(one, std::fs::read_to_string(dir.join("signer-sign-job-purge.1")).unwrap());
    let r = env.json(["man", "profile", "nope"]).expect(2).json();
    assert!(r["error"]["message"].as_str().unwrap().contains("signer profile nope"), "{r}");
    if let Some(rendered) = which("man").then(|| {
        let mut man = std::process::Command::new("man");
        man.args(["-l", dir.join("signer-status.1").to_str().unwrap()]).env("MANPAGER", "cat").env("COLUMNS", "200");
        crate::util::Run::from(man.output().unwrap())
    }) {
        assert!(
            rendered.stdout.contains("EXIT STATUS") && rendered.stdout.contains("ENVIRONMENT"),
            "{}",
            rendered.stdout
        );
    }
}

fn which(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Issue 16, point 7: completions that know the store. The shell asks signer with
/// COMPLETE=SHELL; fish's protocol is the simplest to drive: the words, the last one the
/// one to complete, and candidates one per line (a tab before their help).
#[test]
fn completions_offer_the_stores_profiles_layers_configs_and_platforms() {
    let env = Env::new();
    let version = env.profile("Alpha", &[]);
    env.profile("Beta", &["--platform", "Ed25519"]);
    env.run(["layer", "publish", "greet", fixture("packages/greetings-layer.zip").to_str().unwrap()]).expect(0);
    let csc = env.json(["csc", "create", "--allowed-publisher", &format!("Alpha/{version}")]).expect(0).json();
    let complete = |words: &[&str]| -> Vec<String> {
        let out = env.cmd().env("COMPLETE", "fish").arg("--").arg("signer").args(words).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect()
    };
    let values =
        |words: &[&str]| -> Vec<String> { complete(words).into_iter().filter(|c| !c.starts_with('-')).collect() };
    assert_eq!(values(&["profile", "show", ""]), ["Alpha", "Beta"]);
    assert_eq!(values(&["sign", "--profile", "B"]), ["Beta"]);
    assert_eq!(values(&["layer", "show", ""]), ["greet:1"]);
    assert_eq!(values(&["layer", "versions", ""]), ["greet"]);
    assert_eq!(values(&["verify", "x.zip", "--csc", ""]), [csc["id"].as_str().unwrap()]);
    assert_eq!(
        values(&["profile", "create", "X", "--platform", ""]),
        ["ECDSA-P384-SHA384", "ECDSA-P256-SHA256", "Ed25519"]
    );
    // A store that cannot be read completes nothing, and says nothing.
    let out = env
        .cmd()
        .env("COMPLETE", "fish")
        .env("SIGNER_STORE", "file:///nonexistent/store")
        .args(["--", "signer", "profile", "show", ""])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).lines().any(|l| !l.starts_with('-')), "{:?}", out);
}

/// Issue 16, point 6: the README's exit-code table is the one signer prints (`signer man`
/// renders it from the table the code uses).
#[test]
fn the_readmes_exit_code_table_is_the_one_signer_has() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme.split("## Exit codes").nth(1).unwrap();
    let rows: Vec<(String, String)> = table
        .lines()
        .skip_while(|l| !l.starts_with("| 0"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect();
    let page = Env::new().run(["man"]).expect(0).stdout;
    let section = page.split(".SH \"EXIT STATUS\"").nth(1).unwrap();
    let mut from_man = Vec::new();
    let mut lines = section.lines();
    while let Some(l) = lines.next() {
        if l == ".TP" {
            let code = lines.next().unwrap().trim_start_matches("\\fB").trim_end_matches("\\fR").to_owned();
            let what = lines.next().unwrap().replace("\\-", "-").replace("\\*(Aq", "'");
            from_man.push((code, what));
        } else if l.starts_with(".SH") {
            break;
        }
    }
    assert_eq!(rows, from_man);
}

#[test]
fn quickstart_passes_on_a_fresh_home() {
    let env = Env::new();
    let r = env.json(["quickstart", "--dir", env.path("qs").to_str().unwrap()]).expect(0);
    assert!(r.json()["steps"].as_array().unwrap().len() >= 5);
}

/// A reader that goes away (`signer … | head -1`) ends the command quietly: no panic, no
/// backtrace, exit 0 for a command that succeeded. The read end is closed before the
/// command writes, so every write meets a closed pipe.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let env = Env::new();
    env.profile("Piped", &[]);
    let cases: [(&[&str], i32); 4] = [
        (&["completions", "bash"], 0),
        (&["profile", "list"], 0),
        (&["--output", "json", "profile", "list"], 0),
        (&["--output", "json", "verify", "no-such-file.zip"], 4),
    ];
    for (args, code) in cases {
        let mut child = env
            .cmd()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.matches("(os error").count() <= 1, "a cause said twice: {stderr}");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    }
}

/// The default store is `<home>/store` whatever the home is called: spaces, `#` and `%`
/// in its name, or a relative `SIGNER_HOME` (issue #15: the CLI built the URL by hand, so
/// `#` broke `init` and `%41` put the keys in one folder and the store in another).
#[test]
fn the_default_store_lives_in_any_home() {
    let base = tempfile::tempdir().unwrap();
    for name in ["with space", "hash#tag", "percent%41", "q?mark", "relative"] {
        let (home, cwd) = if name == "relative" {
            (std::path::PathBuf::from("rel/home"), base.path().join("cwd"))
        } else {
            (base.path().join(name).join("home"), base.path().to_owned())
        };
        std::fs::create_dir_all(&cwd).unwrap();
        let run = |args: &[&str]| -> crate::util::Run {
            std::process::Command::new(env!("CARGO_BIN_EXE_signer"))
                .current_dir(&cwd)
                .env("SIGNER_HOME", &home)
                .env_remove("SIGNER_STORE")
                .args(args)
                .output()
                .unwrap()
                .into()
        };
        run(&["init"]).expect(0);
        run(&["profile", "create", "App"]).expect(0);
        let out = base.path().join(format!("{}.signed.zip", name.replace(['#', '%', '?', ' '], "_")));
        let src = fixture("packages/hello-function.zip");
        run(&["sign", "--profile", "App", src.to_str().unwrap(), "-o", out.to_str().unwrap()]).expect(0);
        run(&["verify", out.to_str().unwrap()]).expect(0);
        // Keys and store side by side in the one home, nowhere else.
        let abs = cwd.join(&home);
        assert!(abs.join("store").is_dir(), "{name}: no store in {}", abs.display());
        assert!(abs.join("keys").is_dir(), "{name}: no keys in {}", abs.display());
        let stray: Vec<_> = std::fs::read_dir(abs.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(stray, ["home"], "{name}: something was written beside the home");
    }
}

/// Free text is bounded and one line, in every command that takes some: a reason with a
/// newline would forge a line in `profile show`, a listing or an exported list.
#[test]
fn free_text_is_bounded_and_on_one_line() {
    let env = Env::new();
    let version = env.profile("App", &[]);
    let revoke = |reason: &str| {
        env.run([
            "profile",
            "revoke",
            "App",
            "--version",
            &version,
            "--effective-time",
            "2020-01-01T00:00:00Z",
            "--reason",
            reason,
        ])
    };
    let r = revoke("leaked\nrevoked: nothing").expect(3);
    assert!(r.stderr.contains("revocation reason holds a control character"), "{}", r.stderr);
    revoke(&"x".repeat(1025)).expect(3);
    revoke("").expect(3);
    revoke("key leaked").expect(0);
    let desc = "two\nlines";
    let r =
        env.run(["csc", "create", "--allowed-publisher", &format!("App/{version}"), "--description", desc]).expect(3);
    assert!(r.stderr.contains("description holds a control character"), "{}", r.stderr);
}

/// What a holder of a version's key cannot claim with the statement's own times (issue
/// #12, point 4): a signature dated at or after its profile's cancellation fails the
/// revocation check, and one that claims to outlast its certificate, or any profile's
/// validity, fails expiry. Each is built by hand with the version's real key.
#[test]
fn the_statement_cannot_outlast_its_certificate_or_its_profile() {
    let env = Env::new();
    env.profile("App", &[]);
    let src = fixture("packages/hello-function.zip");
    let before = env.sign("App", &src, "before.zip");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store =
        signer::store::Store::open(&signer::home::Home::open(&env.home()).unwrap().default_store_url()).unwrap();
    let home = signer::home::Home::open(&env.home()).unwrap();
    let store = store.trusting_home(&home);
    let ident = rt.block_on(signer::profiles::signing_identity(&store, &home, &"App".parse().unwrap())).unwrap();
    let chain = ident.version.chain_der().unwrap();
    let not_after = signer::crypto::cert_info(&chain[0]).unwrap().not_after;
    let key = || {
        let der = home.read_key(&signer::home::KeyId::Version(ident.version.version.clone())).unwrap();
        std::sync::Arc::new(signer::crypto::SecretKey::from_pkcs8(&der).unwrap())
    };
    // `sign` never writes such times (it cuts the expiry at the certificate's end), so the
    // statement of a good package is rewritten and signed again with the version's key:
    // times have a fixed width, so the block keeps its length and the content digest holds.
    let forge = |name: &str, signed_at: signer::model::Timestamp, expires_at: signer::model::Timestamp| {
        let params = signer::sign::SignParams {
            key: key(),
            chain: chain.clone(),
            version: ident.version.version.clone(),
            job_id: None,
            signed_at,
            expires_at: signed_at.plus_secs(3_600),
            stamper: None,
        };
        let mut good = Vec::new();
        let mut input = std::fs::File::open(&src).unwrap();
        signer::sign::sign_package(
            &mut input,
            &mut good,
            &params,
            &signer::zipcheck::ZipLimits::default(),
            &mut |_| {},
        )
        .unwrap();
        let block = signer::format::block::parse(&good).unwrap();
        let mut statement = block.statement.clone();
        statement.expires_at = expires_at;
        let payload = signer::format::block::payload(&statement).unwrap();
        let forged = signer::format::block::encode(&payload, &key().sign(&payload).unwrap(), None).unwrap();
        assert_eq!(forged.len(), block.len);
        let out = env.path(name);
        std::fs::write(&out, [&good[..good.len() - block.len], &forged[..]].concat()).unwrap();
        out
    };
    let now = signer::clock::now();
    let check = |pkg: &std::path::Path, name: &str| -> serde_json::Value {
        let v = env.json(["verify", pkg.to_str().unwrap()]).expect(1).json();
        let checks = v["packages"][0]["checks"].as_array().unwrap().clone();
        checks.into_iter().find(|c| c["check"] == name).unwrap()
    };

    // Past the certificate's end, and past the longest validity a profile may give.
    let c = check(&forge("past-cert.zip", not_after.plus_secs(-86_400), not_after.plus_secs(86_400)), "expiry");
    assert_eq!(c["status"], "fail");
    assert!(c["reason"].as_str().unwrap().contains("past the end of its certificate"), "{c}");
    let c =
        check(&forge("past-validity.zip", now, now.plus_secs(signer::model::Validity::MAX.secs() + 86_400)), "expiry");
    assert!(c["reason"].as_str().unwrap().contains("than any profile's validity"), "{c}");

    // After the cancellation: denied. And, with no timestamp (this store has no TSA), what
    // claims to be from before it is too: its time is only its signer's word (the
    // timestamped case is in timestamp.rs).
    env.run(["verify", before.to_str().unwrap()]).expect(0);
    env.run(["profile", "cancel", "App"]).expect(0);
    let c = check(&forge("after-cancel.zip", now.plus_secs(5), now.plus_secs(3_600)), "revocation");
    assert_eq!(c["status"], "fail");
    assert!(c["reason"].as_str().unwrap().contains("was canceled at"), "{c}");
    let c = check(&before, "revocation");
    assert!(c["reason"].as_str().unwrap().contains("no trusted timestamp"), "{c}");
}

/// A read-only command never creates a store or a home: a mistyped `--store` or a home
/// that was never initialised is "no store at … (run `signer init`)", exit 4 — not an
/// empty store that denies everything (issue #12).
#[test]
fn a_missing_store_is_not_found_and_nothing_is_created() {
    let env = Env::new();
    let pkg = fixture("packages/hello-function.zip");
    let typo = env.path("no-such-store");
    let url = format!("file://{}", typo.display());
    for args in [
        vec!["--store", url.as_str(), "verify", pkg.to_str().unwrap()],
        vec!["--store", url.as_str(), "profile", "list"],
        vec!["verify", pkg.to_str().unwrap()],
        vec!["csc", "list"],
    ] {
        let r = env.run(&args).expect(4);
        assert!(r.stderr.contains("no store at") && r.stderr.contains("signer init"), "{args:?}: {}", r.stderr);
    }
    assert!(!typo.exists(), "a read-only command created {}", typo.display());
    assert!(!env.home().exists(), "a read-only command created the home");
    env.run(["init"]).expect(0);
    env.run(["verify", pkg.to_str().unwrap()]).expect(1);
}

/// Issue 16, point 1: with `--output json`, a usage error too prints exactly one JSON
/// document on stdout, with its exit code, so `| jq` gets input when a variable is empty.
#[test]
fn usage_errors_in_json_mode_print_one_json_document() {
    let env = Env::new();
    let cases: [&[&str]; 5] = [
        &["--output", "json", "verify", "pkg.zip", "--csc", ""],
        &["--output=json", "no-such-command"],
        &["--output", "json", "sign-job", "wait"],
        &["profile", "--output", "json", "create"],
        &["--output", "json", "worker", "--lease", "soon"],
    ];
    for args in cases {
        let r = env.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        let doc: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}): {:?}", r.stdout));
        assert_eq!(doc["error"]["exit_code"], 2, "{args:?}: {doc}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.starts_with("error:"), "{args:?}: {doc}");
        assert!(r.stderr.contains("error:"), "the error is on stderr too: {}", r.stderr);
    }
    // Text mode keeps stdout empty; help stays text, exit 0.
    let r = env.run(["no-such-command"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    let help = env.run(["--output", "json", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Usage:"), "{}", help.stdout);
    // After `--`, `--output json` is an argument, not the flag.
    let r = env.run(["verify", "--", "--output", "json"]);
    assert!(r.stdout.is_empty() || serde_json::from_str::<serde_json::Value>(&r.stdout).is_err(), "{}", r.stdout);
}

/// Issue 16, point 5: one duration syntax for every flag that takes one.
#[test]
fn every_duration_flag_reads_the_same_syntax() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    // --validity: 30d as 30days; 2w as 14 days.
    let p = env.json(["profile", "create", "Short", "--validity", "30d"]).expect(0).json();
    assert_eq!(p["signature_validity"], "30days", "{p}");
    let p = env.json(["profile", "create", "Weeks", "--validity", "2w"]).expect(0).json();
    assert_eq!(p["signature_validity"], "14days", "{p}");
    // --max-age: 1days and 1d alike.
    let pkg = env.sign("Short", &fixture("packages/hello-function.zip"), "s.zip");
    for age in ["1d", "1days", "24h"] {
        env.run(["verify", pkg.to_str().unwrap(), "--max-age", age]).expect(0);
    }
    // --timeout: 1s and bare 1 alike (no worker: the wait times out, exit 5).
    let out = env.path("out");
    let started = env
        .json([
            "sign-job",
            "start",
            "--profile",
            "Short",
            "--source",
            fixture("packages/hello-function.zip").to_str().unwrap(),
            "--destination",
            out.to_str().unwrap(),
        ])
        .expect(0)
        .json();
    let job = started["job_id"].as_str().unwrap();
    for t in ["1s", "1"] {
        assert_eq!(env.run(["sign-job", "wait", job, "--timeout", t]).code, 5, "--timeout {t}");
    }
    // --lease and --poll take it too; out of range or not a duration is a usage error
    // that names the syntax.
    env.run(["worker", "--until-idle", "--lease", "1m", "--poll", "1s"]).expect(0);
    for (flag, value) in [("--lease", "1s"), ("--lease", "2h"), ("--poll", "soon"), ("--timeout", "3x")] {
        let args: Vec<&str> = if flag == "--timeout" {
            vec!["sign-job", "wait", job, flag, value]
        } else {
            vec!["worker", "--until-idle", flag, value]
        };
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{}", r.stderr);
    }
    let r = env.run(["sign-job", "wait", job, "--timeout", "3x"]);
    assert!(r.stderr.contains("90s, 30m, 12h, 7d"), "the message shows the syntax: {}", r.stderr);
}

/// Issue 16, point 10: `--version` names the commit and the build's date.
#[test]
fn version_names_the_commit_and_the_build_date() {
    let r = Env::new().run(["--version"]);
    assert_eq!(r.code, 0);
    let line = r.stdout.trim();
    let (release, rest) = line.strip_prefix("signer ").unwrap().split_once(" (commit ").unwrap();
    assert_eq!(release, env!("CARGO_PKG_VERSION"));
    let (commit, date) = rest.strip_suffix(')').unwrap().split_once(", built ").unwrap();
    assert!(commit == "unknown" || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{line}");
    assert!(date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-', "{line}");
}

/// Issue 16, point 11: every command's `--help` lists the global options apart, after its
/// own, and keeps its examples one per line.
#[test]
fn help_lists_global_options_apart_and_examples_one_per_line() {
    let env = Env::new();
    for cmd in [&["profile", "create"][..], &["sign-job", "start"], &["verify"], &["worker"]] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = env.run(&args).expect(0).stdout;
        let (own, global) = help.split_once("\nGlobal options:\n").unwrap_or_else(|| panic!("{cmd:?}: {help}"));
        for flag in ["--store <URL>", "--home <DIR>", "--output <OUTPUT>", "--trust-root <FILE"] {
            assert!(global.contains(flag) && !own.contains(flag), "{cmd:?}: {flag} not apart:\n{help}");
        }
        assert!(own.contains("\nOptions:\n") || own.contains("\nArguments:\n"), "{cmd:?}: {help}");
    }
    let help = env.run(["profile", "create", "--help"]).expect(0).stdout;
    let examples: Vec<&str> = help.lines().filter(|l| l.trim_start().starts_with("signer profile create")).collect();
    assert!(examples.len() >= 2, "examples one per line: {help}");
}

/// Issue 16, point 6: a directory where a file is wanted, or a file where a folder is,
/// is invalid input (exit 3) in every command, inputs and outputs alike, before anything
/// is written.
#[test]
fn a_directory_for_a_file_is_exit_3_in_every_command() {
    let env = Env::new();
    env.profile("Dirs", &[]);
    let zip = fixture("packages/hello-function.zip");
    let signed = env.sign("Dirs", &zip, "s.zip");
    env.run(["layer", "publish", "lib", zip.to_str().unwrap()]).expect(0);
    let dir = env.path("a-folder");
    std::fs::create_dir(&dir).unwrap();
    let file = env.path("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (d, f, z, s) = (dir.to_str().unwrap(), file.to_str().unwrap(), zip.to_str().unwrap(), signed.to_str().unwrap());
    std::fs::write(env.path("dep.json"), serde_json::json!({"function": "f", "code": d}).to_string()).unwrap();
    let dep = env.path("dep.json");
    let out = env.path("out");
    let cases: Vec<Vec<&str>> = vec![
        vec!["sign", "--profile", "Dirs", d, "-o", "x.zip"],
        vec!["sign", "--profile", "Dirs", z, "-o", d],
        vec!["verify", d],
        vec!["verify", s, "--csc-file", d],
        vec!["verify", s, "--revocations", d],
        vec!["verify", s, "--trust-bundle", d],
        vec!["--trust-root", d, "verify", s],
        vec!["signature", "show", d],
        vec!["signature", "export", s, "--dir", f],
        vec!["layer", "publish", "lib2", d],
        vec!["layer", "get", "lib:1", "-o", d],
        vec!["deploy", "check", d],
        vec!["deploy", "check", dep.to_str().unwrap()],
        vec!["profile", "create", "Other", "--cert-chain", d, "--key", d],
        vec!["profile", "create", "--from", d],
        vec!["csc", "create", "--from", d],
        vec!["tsa", "set", "http://127.0.0.1:9/", "--root", d],
        vec!["admin", "keygen", "Ops", "-o", d],
        vec!["admin", "add", "Ops", "--public-key", d],
        vec!["trust", "export", "-o", d],
        vec!["trust", "bundle", "-o", d],
        vec!["revocations", "export", "-o", d],
        vec!["man", "--dir", f],
        vec!["quickstart", "--dir", f],
        vec!["sign-job", "start", "--profile", "Dirs", "--source", d, "--destination", out.to_str().unwrap()],
        vec!["sign-job", "start", "--profile", "Dirs", "--source", z, "--destination", f],
    ];
    for args in cases {
        let r = env.run(&args);
        assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("a-folder") || r.stderr.contains("a-file"), "{args:?} names the path: {}", r.stderr);
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written into the folder");
}

/// Issue 16, point 6: one command for each row of the exit-code table.
#[test]
fn each_row_of_the_exit_code_table() {
    let env = Env::new();
    env.profile("Rows", &[]);
    let zip = fixture("packages/hello-function.zip");
    let signed = env.sign("Rows", &zip, "s.zip");
    env.run(["verify", signed.to_str().unwrap()]).expect(0);
    env.run(["verify", zip.to_str().unwrap()]).expect(1);
    env.run(["verify", "--no-such-flag"]).expect(2);
    std::fs::write(env.path("text.zip"), b"not a zip").unwrap();
    env.run(["sign", "--profile", "Rows", env.path("text.zip").to_str().unwrap(), "-o", "x.zip"]).expect(3);
    env.run(["verify", env.path("missing.zip").to_str().unwrap()]).expect(4);
    env.run(["profile", "create", "Rows"]).expect(5);
    // A store that cannot be written: a file where its folder would be.
    std::fs::write(env.path("blocked"), b"").unwrap();
    let store = format!("file://{}/store", env.path("blocked").display());
    let r = env.run(["--store", &store, "profile", "create", "Other"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
}

/// Issue 17, point 3: access keys live in the home only (0600, never in the store), the
/// secret is shown once, and a request's key id finds its secret.
#[test]
fn access_keys_are_kept_in_the_home_and_their_secret_shown_once() {
    let env = Env::new();
    env.run(["init"]).expect(0);
    let made = env.json(["access-key", "create", "ci"]).expect(0).json();
    let secret = made["secret_access_key"].as_str().unwrap().to_owned();
    let id = made["access_key_id"].as_str().unwrap().to_owned();
    assert_eq!((secret.len(), id.len()), (40, 20), "{made}");
    let file = env.home().join("keys/access/ci.json");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    // Listed without the secret; in no file of the store; never again on stdout.
    let listed = env.run(["--output", "json", "access-key", "list"]).expect(0).stdout;
    assert!(listed.contains(&id) && !listed.contains(&secret), "{listed}");
    for (path, bytes) in crate::util::snapshot_tree(&env.home().join("store")) {
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret), "{}", path.display());
    }
    let keyring = signer::access_keys::Keyring::new(signer::home::Home::open(&env.home()).unwrap());
    let (key, found) = keyring.find(&id).unwrap().unwrap();
    let sign = signer::access_keys::Access::Sign;
    assert_eq!((key.name.as_str(), found.as_str(), key.access), ("ci", secret.as_str(), sign));
    assert!(keyring.find("SGNRAAAAAAAAAAAAAAAA").unwrap().is_none());
    // A second key of that name is a conflict; the access asked for is recorded; delete
    // twice is fine.
    env.run(["access-key", "create", "ci"]).expect(5);
    assert_eq!(env.json(["access-key", "create", "dash", "--read-only"]).expect(0).json()["access"], "read-only");
    assert_eq!(env.json(["access-key", "create", "ops", "--admin"]).expect(0).json()["access"], "admin");
    env.run(["access-key", "create", "both", "--admin", "--read-only"]).expect(2);
    assert_eq!(env.json(["access-key", "delete", "ci"]).expect(0).json()["already_deleted"], false);
    assert_eq!(env.json(["access-key", "delete", "ci"]).expect(0).json()["already_deleted"], true);
    // The keyring read the keys before the delete, and refuses the deleted one at once.
    assert!(keyring.find(&id).unwrap().is_none(), "deleted keys are gone");
    // A record loosened to group-readable is refused, as a key file is.
    let dash = env.home().join("keys/access/dash.json");
    std::fs::set_permissions(&dash, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run(["access-key", "list"]).expect(3);
}
