//! Layers (issue #4): numbering, immutability, content-addressed blobs, Lambda's size
//! limit on the real bytes, zip bombs, concurrent publishes on the file store and on S3,
//! and the parallel size accounting against the sequential gate.

use std::io::{Cursor, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use signer::zipcheck::{self, InspectError, Parallelism, ZipLimits};

use crate::util::{Env, corpus_dir, fixture, make_zip, s3_bucket};

const LIMIT: u64 = 262_144_000;

fn publish(env: &Env, name: &str, zip: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["layer", "publish", name, zip.to_str().unwrap()];
    args.extend_from_slice(extra);
    env.json(args).expect(0).json()
}

fn version_numbers(env: &Env, name: &str) -> Vec<u64> {
    let doc = env.json(["layer", "versions", name]).expect(0).json();
    doc["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// A zip of `entries` deflated entries of zeros, `total` bytes unzipped in all.
fn zeros_zip(path: &Path, total: u64, entries: u64) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(false);
    let chunk = vec![0u8; 1 << 20];
    for i in 0..entries {
        let mut left = total / entries + u64::from(i < total % entries);
        w.start_file(format!("zeros/{i:02}.bin"), opts).unwrap();
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            w.write_all(&chunk[..n]).unwrap();
            left -= n as u64;
        }
    }
    w.finish().unwrap();
}

/// One deflated entry whose headers declare `declared` bytes but whose data inflates to
/// `data.len()`: the central directory and local header agree, and lie together.
fn understated_zip(data: &[u8], declared: u32) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    let compressed = enc.finish().unwrap();
    let name = b"lies.bin";
    let crc = crc32fast::hash(data);
    let csize = compressed.len() as u32;
    let mut z = Vec::new();
    // Local header.
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    z.extend_from_slice(&20u16.to_le_bytes()); // version needed
    z.extend_from_slice(&0u16.to_le_bytes()); // flags
    z.extend_from_slice(&8u16.to_le_bytes()); // deflate
    z.extend_from_slice(&0u32.to_le_bytes()); // time, date
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&csize.to_le_bytes());
    z.extend_from_slice(&declared.to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name);
    z.extend_from_slice(&compressed);
    let central = z.len() as u32;
    // Central directory header.
    z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    z.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix
    z.extend_from_slice(&20u16.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(&8u16.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&csize.to_le_bytes());
    z.extend_from_slice(&declared.to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0; 4]); // extra, comment lengths
    z.extend_from_slice(&[0; 4]); // disk, internal attributes
    z.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.extend_from_slice(name);
    let central_size = z.len() as u32 - central;
    // End record.
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&1u16.to_le_bytes());
    z.extend_from_slice(&1u16.to_le_bytes());
    z.extend_from_slice(&central_size.to_le_bytes());
    z.extend_from_slice(&central.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

/// `env` after `signer init`: layer records are sealed by the store's root CA.
fn initialised(env: Env) -> Env {
    env.run(["init"]).expect(0);
    env
}

/// Runs `signer ARGS…` under Python to read the child's peak RSS (`ru_maxrss`, KiB on
/// Linux): the crate forbids the unsafe code `getrusage` would take.
fn run_measured(env: &Env, args: &[&str]) -> (crate::util::Run, Duration, u64) {
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
                  sys.stderr.buffer.write(r.stderr)\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                  sys.exit(r.returncode)\n";
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_signer")).args(args);
    cmd.env("SIGNER_HOME", env.home()).env_remove("SIGNER_STORE");
    let start = Instant::now();
    let run: crate::util::Run = cmd.output().unwrap().into();
    let elapsed = start.elapsed();
    let kib: u64 = run.stdout.trim().parse().unwrap_or_else(|_| panic!("no ru_maxrss from python: {}", run.stdout));
    (run, elapsed, kib)
}

#[test]
fn numbers_only_grow_and_deleted_numbers_stay_burned() {
    let env = initialised(Env::new());
    let zip = fixture("packages/greetings-layer.zip");
    for n in 1..=3 {
        assert_eq!(publish(&env, "deps", &zip, &[])["version"], n);
    }
    let d = env.json(["layer", "delete", "deps:2"]).expect(0).json();
    assert_eq!(d["already_deleted"], false);
    assert_eq!(publish(&env, "deps", &zip, &[])["layer"], "deps:4");
    assert_eq!(version_numbers(&env, "deps"), [1, 3, 4]);

    // A deleted version is gone for show and get, and deleting again is not an error.
    let out = env.path("two.zip");
    let r = env.run(["layer", "show", "deps:2"]).expect(4);
    assert!(r.stderr.contains("deleted"), "{}", r.stderr);
    env.run(["layer", "get", "deps:2", "-o", out.to_str().unwrap()]).expect(4);
    assert!(!out.exists());
    assert_eq!(env.json(["layer", "delete", "deps:2"]).expect(0).json()["already_deleted"], true);

    // Unknown names and versions: exit 4 everywhere.
    for args in [
        vec!["layer", "show", "deps:9"],
        vec!["layer", "show", "nope:1"],
        vec!["layer", "versions", "nope"],
        vec!["layer", "delete", "deps:9"],
        vec!["layer", "delete", "nope:1"],
        vec!["layer", "get", "nope:1", "-o", out.to_str().unwrap()],
    ] {
        let r = env.run(&args).expect(4);
        assert!(r.stderr.contains("not found"), "{args:?}: {}", r.stderr);
    }

    // Every version deleted: the layer is not listed, has no versions, and the next
    // publish still takes a new number.
    for v in ["deps:1", "deps:3", "deps:4"] {
        env.run(["layer", "delete", v]).expect(0);
    }
    assert!(version_numbers(&env, "deps").is_empty());
    assert_eq!(env.json(["layer", "list"]).expect(0).json()["layers"], serde_json::json!([]));
    assert_eq!(publish(&env, "deps", &zip, &[])["version"], 5);
    assert_eq!(version_numbers(&env, "deps"), [5]);
}

#[test]
fn show_records_every_field_get_returns_the_bytes_and_identical_content_is_stored_once() {
    let env = initialised(Env::new());
    let zip = fixture("packages/greetings-layer.zip");
    let bytes = std::fs::read(&zip).unwrap();
    let flags = [
        "--description",
        "greetings for Python",
        "--compatible-runtime",
        "python3.12",
        "--compatible-runtime",
        "python3.13",
        "--compatible-architecture",
        "x86_64",
        "--compatible-architecture",
        "arm64",
        "--license-info",
        "MIT",
    ];
    let first = publish(&env, "greetings", &zip, &flags);
    assert_eq!(first["blob_created"], true);
    let shown = env.json(["layer", "show", "greetings:1"]).expect(0).json();
    let expected = serde_json::json!({
        "layer": "greetings:1",
        "name": "greetings",
        "version": 1,
        "sha256": sha256_hex(&bytes),
        "zipped_size": bytes.len(),
        "unzipped_size": 44,
        "entry_count": 3,
        "description": "greetings for Python",
        "compatible_runtimes": ["python3.12", "python3.13"],
        "compatible_architectures": ["x86_64", "arm64"],
        "license_info": "MIT",
        "publisher": null,
        "job_id": null,
        "signed_at": null,
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&shown[k], v, "field {k}: {shown}");
    }
    let created = shown["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    let text = env.run(["layer", "show", "greetings:1"]).expect(0).stdout;
    for needle in ["greetings:1", "python3.13", "arm64", "MIT", "44 bytes", "not signed"] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }

    // `get` is byte-identical, to a path and to a file:// object URL.
    let out = env.path("got.zip");
    env.json(["layer", "get", "greetings:1", "-o", out.to_str().unwrap()]).expect(0);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let url_out = env.path("got-by-url.zip");
    env.run(["layer", "get", "greetings:1", "-o", &format!("file://{}", url_out.display())]).expect(0);
    assert_eq!(std::fs::read(&url_out).unwrap(), bytes);

    // Identical content again (here given as a file:// URL): a new version, no new blob.
    let again = publish(&env, "greetings", Path::new(&format!("file://{}", zip.display())), &[]);
    assert_eq!(again["version"], 2);
    assert_eq!(again["blob_created"], false);
    assert_eq!(again["sha256"], first["sha256"]);
    let blobs: Vec<_> = std::fs::read_dir(env.home().join("store/blobs/sha256")).unwrap().collect();
    assert_eq!(blobs.len(), 1);
    // Its own record: no description or runtimes inherited.
    assert_eq!(env.json(["layer", "show", "greetings:2"]).expect(0).json()["description"], "");

    // A blob changed behind the store's back is caught on the way out; nothing is written.
    let blob = blobs[0].as_ref().unwrap().path();
    let mut evil = bytes.clone();
    *evil.last_mut().unwrap() ^= 1;
    std::fs::write(&blob, &evil).unwrap();
    let bad_out = env.path("bad.zip");
    let r = env.run(["layer", "get", "greetings:1", "-o", bad_out.to_str().unwrap()]).expect(6);
    assert!(r.stderr.contains("corrupt"), "{}", r.stderr);
    assert!(!bad_out.exists());
}

#[test]
fn list_shows_the_latest_version_per_layer_and_filters_by_runtime() {
    let env = initialised(Env::new());
    let zip = fixture("packages/greetings-layer.zip");
    publish(&env, "alpha", &zip, &["--compatible-runtime", "python3.12"]);
    publish(&env, "alpha", &zip, &["--compatible-runtime", "nodejs20.x"]);
    publish(&env, "beta", &zip, &["--compatible-runtime", "python3.12"]);
    let all = env.json(["layer", "list"]).expect(0).json();
    let layers: Vec<&str> = all["layers"].as_array().unwrap().iter().map(|l| l["layer"].as_str().unwrap()).collect();
    assert_eq!(layers, ["alpha:2", "beta:1"]);
    let py = env.json(["layer", "list", "--compatible-runtime", "python3.12"]).expect(0).json();
    let layers: Vec<&str> = py["layers"].as_array().unwrap().iter().map(|l| l["layer"].as_str().unwrap()).collect();
    assert_eq!(layers, ["alpha:1", "beta:1"]);
    let none = env.json(["layer", "list", "--compatible-runtime", "java21"]).expect(0).json();
    assert_eq!(none["layers"], serde_json::json!([]));
    env.run(["layer", "list", "--compatible-runtime", "Not A Runtime"]).expect(2);
}

#[test]
fn publish_refuses_bad_input_with_the_right_exit_code() {
    let env = initialised(Env::new());
    let not_zip = env.path("not.zip");
    std::fs::write(&not_zip, b"hello").unwrap();
    let r = env.run(["layer", "publish", "x", not_zip.to_str().unwrap()]).expect(3);
    assert!(r.stderr.contains("not.zip"), "{}", r.stderr);
    env.run(["layer", "publish", "x", env.path("missing.zip").to_str().unwrap()]).expect(4);
    env.run(["layer", "publish", "bad/name", not_zip.to_str().unwrap()]).expect(2);
    let zip = fixture("packages/greetings-layer.zip");
    let long = "d".repeat(257);
    let r = env.run(["layer", "publish", "x", zip.to_str().unwrap(), "--description", &long]).expect(3);
    assert!(r.stderr.contains("at most 256"), "{}", r.stderr);
    // Nothing was numbered by the refusals.
    env.run(["layer", "versions", "x"]).expect(4);
}

#[test]
fn a_header_that_understates_the_size_is_refused_before_inflating_the_rest() {
    let env = initialised(Env::new());
    let zip = env.path("lies.zip");
    std::fs::write(&zip, understated_zip(&vec![b'A'; 50 << 20], 1000)).unwrap();
    // Python's zipfile and the `zip` crate trust the header here; the gate does not.
    let r = env.run(["layer", "publish", "liar", zip.to_str().unwrap()]).expect(3);
    assert!(r.stderr.contains("lies.bin") && r.stderr.contains("more than the 1000 bytes declared"), "{}", r.stderr);
    // The same lie, with the real size over the limit: still caught at the entry.
    let (run, elapsed, _) = {
        std::fs::write(&zip, understated_zip(&vec![0; 300 << 20], 4096)).unwrap();
        run_measured(&env, &["layer", "publish", "liar", zip.to_str().unwrap()])
    };
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("more than the 4096 bytes declared"), "{}", run.stderr);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    env.run(["layer", "versions", "liar"]).expect(4);
}

#[test]
fn exactly_the_limit_publishes_and_one_byte_more_is_refused_in_lambdas_words() {
    let env = initialised(Env::new());
    let at = env.path("at-limit.zip");
    zeros_zip(&at, LIMIT, 5);
    let (run, elapsed, kib) = run_measured(&env, &["layer", "publish", "big", at.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown = env.json(["layer", "show", "big:1"]).expect(0).json();
    assert_eq!(shown["unzipped_size"], LIMIT);
    assert_eq!(shown["entry_count"], 5);
    assert!(kib < 256 * 1024, "peak RSS {kib} KiB publishing {LIMIT} bytes unzipped");
    eprintln!("published {LIMIT} unzipped bytes in {elapsed:?}, peak RSS {kib} KiB");

    let over = env.path("over-limit.zip");
    zeros_zip(&over, LIMIT + 1, 5);
    let r = env.run(["layer", "publish", "big", over.to_str().unwrap()]).expect(3);
    assert!(
        r.stderr.contains("Unzipped size must be smaller than 262144000 bytes. The actual size is 262144001 bytes."),
        "{}",
        r.stderr
    );
    // Signed first, the same refusal in the same words.
    env.profile("BigSigner", &[]);
    let r = env.run(["layer", "publish", "big", over.to_str().unwrap(), "--sign", "BigSigner"]).expect(3);
    assert!(
        r.stderr.contains("The actual size is 262144001 bytes.") && !r.stderr.contains("into a layer"),
        "{}",
        r.stderr
    );
    assert_eq!(version_numbers(&env, "big"), [1]);
}

#[test]
fn every_zip_bomb_in_the_corpus_is_refused_fast_with_bounded_memory() {
    let env = initialised(Env::new());
    let mut bombs = Vec::new();
    walk(&corpus_dir().join("zip-bombs"), &mut bombs);
    assert!(bombs.len() >= 7, "{bombs:?}");
    for bomb in &bombs {
        let (run, elapsed, kib) = run_measured(&env, &["layer", "publish", "bomb", bomb.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{}: {}", bomb.display(), run.stderr);
        assert!(elapsed < Duration::from_secs(10), "{}: {elapsed:?}", bomb.display());
        assert!(kib < 256 * 1024, "{}: peak RSS {kib} KiB", bomb.display());
    }
    env.run(["layer", "versions", "bomb"]).expect(4);
}

#[test]
fn eight_concurrent_publishes_on_the_file_store_get_eight_consecutive_numbers() {
    concurrent_publishes(&initialised(Env::new()));
}

#[test]
fn eight_concurrent_publishes_on_s3_get_eight_consecutive_numbers() {
    let Some(bucket) = s3_bucket() else { return };
    let env = initialised(Env::with_store(&format!("s3://{bucket}/state")));
    concurrent_publishes(&env);
    // The rest of the life cycle on S3 too.
    env.run(["layer", "delete", "race:3"]).expect(0);
    let zip = fixture("packages/greetings-layer.zip");
    assert_eq!(publish(&env, "race", &zip, &[])["version"], 9);
    assert_eq!(version_numbers(&env, "race"), [1, 2, 4, 5, 6, 7, 8, 9]);
    let listed = env.json(["layer", "list"]).expect(0).json();
    assert_eq!(listed["layers"][0]["layer"], "race:9", "{listed}");
    let out = env.path("s3-got.zip");
    env.run(["layer", "get", "race:9", "-o", out.to_str().unwrap()]).expect(0);
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(zip).unwrap());
}

/// Eight `signer layer publish` processes at once, half of them with the same bytes.
fn concurrent_publishes(env: &Env) {
    let zips: Vec<PathBuf> = (0..8)
        .map(|i| {
            let p = env.path(&format!("c{i}.zip"));
            let body = format!("layer content {}", i % 5);
            make_zip(&p, &[("python/mod.py", body.as_bytes(), true)]);
            p
        })
        .collect();
    let children: Vec<_> = zips
        .iter()
        .map(|z| {
            env.cmd()
                .args(["--output", "json", "layer", "publish", "race", z.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut numbers: Vec<u64> = children
        .into_iter()
        .map(|c| {
            let run: crate::util::Run = c.wait_with_output().unwrap().into();
            run.expect(0).json()["version"].as_u64().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<u64>>());
    assert_eq!(version_numbers(env, "race"), (1..=8).collect::<Vec<u64>>());
}

#[test]
fn a_zip_larger_than_one_upload_part_is_stored_and_read_back_on_every_store() {
    // 20 MiB that do not compress: more than one 8 MiB part of a multipart upload.
    let env = initialised(Env::new());
    let zip = env.path("noise.zip");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..(20 << 20) / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    make_zip(&zip, &[("a.bin", &noise[..7 << 20], true), ("b.bin", &noise[7 << 20..], false)]);
    let bytes = std::fs::read(&zip).unwrap();
    let mut stores = vec![env];
    if let Some(bucket) = s3_bucket() {
        stores.push(initialised(Env::with_store(&format!("s3://{bucket}/big"))));
    }
    for env in &stores {
        let v = publish(env, "noise", &zip, &[]);
        assert_eq!(v["zipped_size"], bytes.len());
        assert_eq!(v["unzipped_size"], 20 << 20);
        assert_eq!(v["sha256"], sha256_hex(&bytes));
        let out = env.path("noise-got.zip");
        env.run(["layer", "get", "noise:1", "-o", out.to_str().unwrap()]).expect(0);
        assert!(std::fs::read(&out).unwrap() == bytes, "{:?}", env.store);
        assert_eq!(publish(env, "noise", &zip, &[])["blob_created"], false);
    }
}

#[test]
fn publish_with_sign_stores_the_signed_package_and_records_the_signer() {
    let env = initialised(Env::new());
    let version = env.profile("LayerSigner", &[]);
    let zip = fixture("packages/greetings-layer.zip");
    let v = publish(&env, "signed", &zip, &["--sign", "LayerSigner"]);
    assert_eq!(v["publisher"], format!("LayerSigner/{version}"));
    assert!(v["signed_at"].is_string(), "{v}");
    assert_eq!(v["job_id"], Value::Null);
    let out = env.path("signed.zip");
    env.run(["layer", "get", "signed:1", "-o", out.to_str().unwrap()]).expect(0);
    let stored = std::fs::read(&out).unwrap();
    assert_ne!(stored, std::fs::read(&zip).unwrap(), "the stored zip is the signed package");
    assert_eq!(v["sha256"], sha256_hex(&stored));
    assert_eq!(v["unzipped_size"], 44);
    let verdict = env.json(["verify", out.to_str().unwrap()]).expect(0).json();
    assert_eq!(verdict["decision"], "allow");
    assert_eq!(verdict["packages"][0]["signature"]["profile_version"], version.as_str());
    let text = env.run(["layer", "show", "signed:1"]).expect(0).stdout;
    assert!(text.contains(&format!("LayerSigner/{version}")) && text.contains("no job"), "{text}");
    // An unknown profile signs nothing and numbers nothing.
    env.run(["layer", "publish", "signed", zip.to_str().unwrap(), "--sign", "Nobody"]).expect(4);
    assert_eq!(version_numbers(&env, "signed"), [1]);
}

#[tokio::test]
async fn resolve_reports_deleted_versions_for_the_deploy_check() {
    use signer::layers::{self, PublishParams};
    use signer::model::Timestamp;
    let dir = tempfile::tempdir().unwrap();
    let home = signer::home::Home::open(&dir.path().join("home")).unwrap();
    let store = signer::store::Store::open("memory://").unwrap().trusting_home(&home);
    let at = Timestamp::from_unix(1_800_000_000);
    signer::profiles::init(&store, &home, at, Default::default()).await.unwrap();
    let zip = dir.path().join("l.zip");
    make_zip(&zip, &[("python/x.py", b"print('x')", true)]);
    let params = PublishParams {
        name: "lib".parse().unwrap(),
        description: None,
        compatible_runtimes: vec![],
        compatible_architectures: vec![],
        license_info: None,
    };
    let loc = signer::location::Location::Path(zip.clone());
    let published = layers::publish(&store, &loc, params, None, at, |_| {}).await.unwrap();
    assert_eq!(published.version.layer.to_string(), "lib:1");
    assert_eq!(published.version.created_at, at);
    let r = layers::resolve(&store, &"lib:1".parse().unwrap()).await.unwrap();
    assert!(!r.deleted);
    assert_eq!(r.version, published.version);
    // The location reads the published bytes.
    let mut src = r.location.open().await.unwrap();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut src, &mut v).unwrap();
        v
    })
    .await
    .unwrap();
    assert_eq!(bytes, std::fs::read(&zip).unwrap());
    layers::delete(&store, &"lib:1".parse().unwrap(), at).await.unwrap();
    let r = layers::resolve(&store, &"lib:1".parse().unwrap()).await.unwrap();
    assert!(r.deleted);
    for unknown in ["lib:2", "other:1"] {
        let e = layers::resolve(&store, &unknown.parse().unwrap()).await.unwrap_err();
        assert_eq!(e.exit_code(), 4, "{unknown}: {e}");
    }
}

#[test]
fn parallel_accounting_gives_the_sequential_verdicts_on_the_corpus() {
    let mut zips = Vec::new();
    walk(&corpus_dir(), &mut zips);
    walk(&fixture("zips"), &mut zips);
    walk(&fixture("packages"), &mut zips);
    assert!(zips.len() > 40, "{}", zips.len());
    let limits = ZipLimits::default();
    let show = |r: Result<_, InspectError>| match r {
        Ok(ok) => Ok(ok),
        Err(InspectError::Zip(z)) => Err(z.to_string()),
        Err(InspectError::Io(e)) => Err(format!("I/O: {:?}", e.kind())),
    };
    let (mut accepted, mut refused) = (0, 0);
    for path in &zips {
        let bytes = std::fs::read(path).unwrap();
        let sequential = show(zipcheck::inspect(&mut Cursor::new(&bytes), &limits).map(|(_, i)| i));
        for parallelism in [
            Parallelism { workers: NonZeroUsize::new(3).unwrap(), min_run: 0 },
            Parallelism { workers: NonZeroUsize::new(2).unwrap(), min_run: 1000 },
            Parallelism::available(),
        ] {
            let parallel = show(zipcheck::inspect_parallel(&bytes[..], &limits, parallelism, &|_| {}));
            assert_eq!(sequential, parallel, "{} with {parallelism:?}", path.display());
        }
        if sequential.is_ok() { accepted += 1 } else { refused += 1 }
    }
    assert!(accepted > 5 && refused > 20, "{accepted} accepted, {refused} refused");
}

/// Every `.zip` under `dir`, sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "zip") {
            out.push(p);
        }
    }
}
