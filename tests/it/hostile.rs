//! The attacks of issue 11, tried through the commands a user runs: each is refused with
//! exit 3 and the rule's id, and nothing is written. Where a reader is at hand, the test
//! first shows that the crafted bytes really mislead it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use signer::home::Home;
use signer::location::Location;
use signer::sign::SignParams;
use signer::signing::sign_location;
use signer::store::Store;
use signer::zipcheck::ZipLimits;

use crate::util::{Env, Run, fixture};
use crate::zipgate::{E, extra, sample, smuggled_handler, zip};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `signer` and fails (rather than hangs) if it has not exited after 20 s: a FIFO
/// that blocks an `open` is exactly what these tests look for.
fn run_bounded(env: &Env, args: &[&str]) -> Run {
    let mut child =
        env.cmd().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("signer {args:?} blocked for 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

/// Asserts exit 3 with the zip rule's id in the message.
#[track_caller]
fn refused_by(r: Run, rule: &str) {
    let r = r.expect(3);
    assert!(r.stderr.contains(&format!("[zip rule {rule}]")), "wanted rule {rule}:\n{}", r.stderr);
}

/// The names a streaming reader lists: `bsdtar -tf -` fed from a pipe, if bsdtar is here.
/// (A pipe, not the file: given a file, libarchive seeks and reads the central directory.)
fn streaming_listing(zip: &Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(zip).unwrap();
    let mut child =
        Command::new("bsdtar").args(["-tf", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().ok()?;
    feeder.join().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

fn profile(env: &Env) {
    env.profile("Hostile", &[]);
}

fn sign_args<'a>(src: &'a Path, out: &'a Path) -> [&'a str; 6] {
    ["sign", "--profile", "Hostile", s(src), "-o", s(out)]
}

#[test]
fn the_streaming_reader_smuggle_is_refused_by_sign_and_deploy_check() {
    let env = Env::new();
    profile(&env);
    let src = env.path("smuggle.zip");
    std::fs::write(&src, smuggled_handler().build()).unwrap();
    // The attack is real: a streaming reader sees a handler.py that the central directory
    // does not list (before the reviewed one).
    if let Some(names) = streaming_listing(&src) {
        assert_eq!(names.iter().filter(|n| *n == "handler.py").count(), 2, "bsdtar -tf - listed {names:?}");
    }
    let out = env.path("out.zip");
    refused_by(env.run(sign_args(&src, &out)), "descriptor-signature-in-data");
    assert!(!out.exists());
    let doc = env.path("deploy.json");
    std::fs::write(&doc, json!({"function": "f", "code": s(&src)}).to_string()).unwrap();
    refused_by(env.run(["deploy", "check", s(&doc)]), "descriptor-signature-in-data");
    let r = env.json(["sign", "--profile", "Hostile", s(&src), "-o", s(&out)]).expect(3);
    assert_eq!(r.json()["error"]["rule"], "descriptor-signature-in-data");
}

#[test]
fn a_file_type_set_by_an_extra_field_is_refused_in_either_header() {
    let env = Env::new();
    profile(&env);
    let mut xl = vec![0x05];
    xl.extend(0x031e_u16.to_le_bytes());
    xl.extend((0o120_777_u32 << 16).to_le_bytes());
    for local in [true, false] {
        let z = zip(vec![E::stored("config", b"/etc/passwd").extra_in(local, extra(0x6c78, &xl))]);
        let src = env.path("typed.zip");
        std::fs::write(&src, z.build()).unwrap();
        let out = env.path("typed.signed.zip");
        refused_by(env.run(sign_args(&src, &out)), "extra-field");
        assert!(!out.exists());
    }
}

#[test]
fn sign_never_writes_a_package_that_verify_would_read_another_way() {
    // A stored entry holds an end record whose comment length is chosen to reach exactly
    // the end of the signed package: harmless in the source, a second reading once the
    // block is appended.
    let env = Env::new();
    profile(&env);
    let build = |comment_len: u16| {
        let mut fake = Vec::new();
        fake.extend(0x0605_4b50_u32.to_le_bytes());
        fake.extend([0; 16]);
        fake.extend(comment_len.to_le_bytes());
        zip(vec![E::stored("inner.bin", &[b"data ".repeat(20), fake].concat())]).build()
    };
    let src = env.path("src.zip");
    std::fs::write(&src, build(0)).unwrap();
    let probe = env.sign("Hostile", &src, "probe.zip");
    let grown = std::fs::metadata(&probe).unwrap().len();
    let bytes = build(0);
    let fake_at = bytes.windows(4).position(|w| w == b"PK\x05\x06").unwrap() as u64;
    let reach = u16::try_from(grown - fake_at - 22).unwrap();
    std::fs::write(&src, build(reach)).unwrap();
    let out = env.path("out.zip");
    refused_by(env.run(sign_args(&src, &out)), "ambiguous-end-record");
    assert!(!out.exists());
}

#[test]
fn fifos_devices_and_folders_are_refused_wherever_a_file_is_read() {
    let env = Env::new();
    profile(&env);
    let fifo = env.path("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let url = format!("file://{}", fifo.display());
    let dir = env.path("folder");
    std::fs::create_dir(&dir).unwrap();
    let out = env.path("out.zip");
    for input in [s(&fifo), url.as_str(), "/dev/zero", s(&dir)] {
        let r = run_bounded(&env, &sign_args(Path::new(input), &out)).expect(3);
        assert!(r.stderr.contains("not a regular file"), "{input}: {}", r.stderr);
        run_bounded(&env, &["verify", input]).expect(3);
        let doc = env.path("deploy.json");
        std::fs::write(&doc, json!({"function": "f", "code": input}).to_string()).unwrap();
        run_bounded(&env, &["deploy", "check", s(&doc)]).expect(3);
        run_bounded(&env, &["layer", "publish", "deps", input]).expect(3);
    }
    assert!(!out.exists());
    let signed = env.sign("Hostile", &fixture("packages/hello-function.zip"), "signed.zip");
    run_bounded(&env, &["deploy", "check", s(&fifo)]).expect(3);
    run_bounded(&env, &["verify", s(&signed), "--revocations", s(&fifo)]).expect(3);
    run_bounded(&env, &["verify", s(&signed), "--csc-file", s(&fifo)]).expect(3);
    let key = env.path("key.pem");
    std::fs::write(&key, "").unwrap();
    run_bounded(&env, &["profile", "create", "Own", "--cert-chain", s(&fifo), "--key", s(&key)]).expect(3);
}

#[test]
fn a_non_zip_is_refused_from_its_tail_without_hashing_it() {
    let env = Env::new();
    profile(&env);
    // 3 GiB, sparse: hashing it would take seconds; its last bytes hold no end record.
    let big = env.path("big.bin");
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    refused_by(env.run(["verify", s(&big)]), "not-a-zip");
    let doc = env.path("deploy.json");
    std::fs::write(&doc, json!({"function": "f", "code": s(&big)}).to_string()).unwrap();
    refused_by(env.run(["deploy", "check", s(&doc)]), "not-a-zip");
}

#[test]
fn padding_after_the_end_record_is_dropped_and_said() {
    let env = Env::new();
    profile(&env);
    let plain = zip(sample()).build();
    let mut padded = plain.clone();
    padded.resize(plain.len().next_multiple_of(10_240), 0);
    let src = env.path("padded.zip");
    std::fs::write(&src, &padded).unwrap();
    let out = env.path("out.zip");
    let r = env.json(sign_args(&src, &out)).expect(0);
    assert_eq!(r.json()["dropped_padding"], (padded.len() - plain.len()) as u64);
    let signed = std::fs::read(&out).unwrap();
    // Byte for byte the source up to the comment length, which now counts the block.
    assert_eq!(signed[..plain.len() - 2], plain[..plain.len() - 2]);
    env.run(["verify", s(&out)]).expect(0);
    // Padding after a signed package is not what was signed.
    let mut tampered = signed.clone();
    tampered.extend([0; 512]);
    std::fs::write(&out, tampered).unwrap();
    env.run(["verify", s(&out)]).expect(1);
}

// ---------------------------------------------------------------------------------------
// Races, driven deterministically: the source is rewritten from the progress callback,
// after the gate has started reading it.

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn params(env: &Env) -> SignParams {
    let home = Home::open(&env.home()).unwrap();
    let store = Store::open(&format!("file://{}", env.home().join("store").display())).unwrap().trusting_home(&home);
    let id = rt().block_on(signer::profiles::signing_identity(&store, &home, &"Hostile".parse().unwrap())).unwrap();
    id.sign_params(None, signer::clock::now()).unwrap()
}

/// Overwrites `bytes` at `offset` of `path` the first time it is called.
fn rewrite_once(path: PathBuf, offset: u64, bytes: Vec<u8>) -> impl FnMut(u64) + Send + 'static {
    let done = Arc::new(AtomicBool::new(false));
    move |_| {
        if !done.swap(true, Ordering::SeqCst) {
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.seek(SeekFrom::Start(offset)).unwrap();
            f.write_all(&bytes).unwrap();
        }
    }
}

/// A zip of many entries: its central directory is larger than the window `sign` reads
/// again at the end, so a rewrite of its start is not seen there.
fn many_entries() -> Vec<u8> {
    zip((0..4000).map(|i| E::stored(&format!("pkg/module_{i:05}.py"), b"x = 1\n")).collect()).build()
}

/// The offset of the first central-directory header's external attributes.
fn first_external_attributes(bytes: &[u8]) -> u64 {
    bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap() as u64 + 38
}

/// The symlink mode, as the 4 bytes of external attributes that make an entry a link.
fn symlink_attributes() -> Vec<u8> {
    (0o120_777_u32 << 16).to_le_bytes().to_vec()
}

/// Signs `bytes` (written to a file) while the first body read turns the first entry into a
/// symlink in the source; returns the source, the output and what signing answered.
fn sign_while_rewriting(env: &Env, bytes: &[u8]) -> (PathBuf, PathBuf, Result<signer::sign::Signed, signer::Error>) {
    profile(env);
    let src = env.path("src.zip");
    std::fs::write(&src, bytes).unwrap();
    let out = env.path("out.zip");
    let progress = rewrite_once(src.clone(), first_external_attributes(bytes), symlink_attributes());
    let signed = rt().block_on(sign_location(
        &Location::Path(src.clone()),
        &Location::Path(out.clone()),
        params(env),
        ZipLimits::default(),
        progress,
    ));
    (src, out, signed)
}

#[test]
fn a_central_directory_rewritten_while_signing_is_never_what_gets_signed() {
    let env = Env::new();
    let bytes = many_entries();
    let (src, out, signed) = sign_while_rewriting(&env, &bytes);
    assert_eq!(signed.unwrap().inspected.entries, 4000);
    // The source changed; the package carries the central directory that was checked.
    let at = first_external_attributes(&bytes) as usize;
    assert_eq!(std::fs::read(&src).unwrap()[at..at + 4], symlink_attributes()[..]);
    assert_eq!(std::fs::read(&out).unwrap()[at..at + 4], bytes[at..at + 4]);
    env.run(["verify", s(&out)]).expect(0);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(archive.by_index(0).unwrap().unix_mode(), Some(0o100_644));
}

#[test]
fn end_records_rewritten_while_signing_fail_the_signing_and_leave_nothing() {
    let env = Env::new();
    let (_, out, signed) = sign_while_rewriting(&env, &zip(sample()).build());
    let err = signed.unwrap_err();
    assert!(err.to_string().contains("changed while it was being signed"), "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(env.path("")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("partial")), "{leftovers:?}");
}

#[test]
fn a_layer_rewritten_while_it_is_checked_is_stored_as_it_was_checked() {
    let env = Env::new();
    profile(&env);
    let bytes = many_entries();
    let src = env.path("layer.zip");
    std::fs::write(&src, &bytes).unwrap();
    let at = first_external_attributes(&bytes);
    let rewrite = std::sync::Mutex::new(rewrite_once(src.clone(), at, symlink_attributes()));
    let store = Store::open(&format!("file://{}", env.home().join("store").display()))
        .unwrap()
        .trusting_home(&Home::open(&env.home()).unwrap());
    let params = signer::layers::PublishParams {
        name: "deps".parse().unwrap(),
        description: None,
        compatible_runtimes: Vec::new(),
        compatible_architectures: Vec::new(),
        license_info: None,
    };
    let published = rt()
        .block_on(signer::layers::publish(
            &store,
            &Location::Path(src.clone()),
            params,
            None,
            signer::clock::now(),
            move |step| {
                if let signer::layers::Step::Checking(n) = step {
                    (rewrite.lock().unwrap())(n);
                }
            },
        ))
        .unwrap();
    assert_ne!(std::fs::read(&src).unwrap(), bytes, "the source was rewritten");
    let got = env.path("got.zip");
    env.run(["layer", "get", &format!("deps:{}", published.version.layer.version), "-o", s(&got)]).expect(0);
    let mut stored = Vec::new();
    std::fs::File::open(&got).unwrap().read_to_end(&mut stored).unwrap();
    assert_eq!(stored, bytes, "the stored layer is the zip that was checked");
}
