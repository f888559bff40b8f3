//! The store contract: one suite, run on every backend (STYLE practices 8, 9).
//!
//! Each contract is an `async fn(&Store)`; `contract!` runs it on `memory://`, on a
//! `file://` temp dir and on S3. The S3 run needs a real S3-compatible server:
//! `SIGNER_TEST_S3_ENDPOINT` (scripts/test.sh starts moto's server and sets it, with the
//! `AWS_*` variables that `Store::open` reads); each test gets a fresh bucket. Without it
//! the S3 runs print a notice and pass, like object_store's `maybe_skip_integration!`.

// Test code: a failed unwrap, index or panic is a failed test (clippy.toml allows these in
// `#[test]` functions only, and the contracts are plain functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use signer::store::{Key, ObjectReader, ObjectWriter, Store, StoreError, keys};
use tempfile::TempDir;

/// A store under test and what keeps it alive.
struct Fixture {
    store: Store,
    _dir: Option<TempDir>,
}

fn memory() -> Fixture {
    Fixture { store: Store::open("memory://").unwrap(), _dir: None }
}

fn file() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", dir.path().display());
    Fixture { store: Store::open(&url).unwrap(), _dir: Some(dir) }
}

/// A store in a fresh bucket of the test S3 server, or `None` (and a notice) without one.
async fn s3() -> Option<Fixture> {
    let Ok(endpoint) = std::env::var("SIGNER_TEST_S3_ENDPOINT") else {
        eprintln!("skipping the S3 run: set SIGNER_TEST_S3_ENDPOINT (scripts/test.sh starts a server and sets it)");
        return None;
    };
    let configured =
        ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT"].iter().any(|v| std::env::var(v).is_ok());
    assert!(
        configured && std::env::var("AWS_ACCESS_KEY_ID").is_ok(),
        "SIGNER_TEST_S3_ENDPOINT is set, so also set AWS_ENDPOINT_URL={endpoint}, AWS_ACCESS_KEY_ID, \
         AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ALLOW_HTTP=true (scripts/test.sh does)"
    );
    let bucket = format!("signer-test-{}", uuid::Uuid::new_v4().simple());
    create_bucket(&endpoint, &bucket).await;
    // A prefix, so every contract also runs through Store::open's PrefixStore.
    let store = Store::open(&format!("s3://{bucket}/contract")).unwrap();
    Some(Fixture { store, _dir: None })
}

/// Creates a bucket with a plain HTTP PUT (the test server does not check signatures).
async fn create_bucket(endpoint: &str, bucket: &str) {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .put(format!("{}/{bucket}", endpoint.trim_end_matches('/')))
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the S3 test server at {endpoint}: {e}"));
    assert!(response.status().is_success(), "creating bucket {bucket}: {}", response.status());
}

/// Runs each contract on every backend: `store_contract::<contract>::{memory, file, s3}`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn memory() {
                    super::$name(&super::memory().store).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn file() {
                    super::$name(&super::file().store).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn s3() {
                    if let Some(f) = super::s3().await {
                        super::$name(&f.store).await;
                    }
                }
            }
        )*
    };
}

contract!(
    create_is_exclusive,
    create_race,
    numbered_race,
    numbered_ignores_strays,
    list_paginates,
    list_respects_segment_boundaries,
    missing_objects,
    object_reader_writer_round_trip,
    object_writer_abort_leaves_nothing,
    object_reader_pins_the_version,
);

fn key(s: &str) -> Key {
    Key::new(&s.split('/').collect::<Vec<_>>()).unwrap()
}

async fn create_is_exclusive(store: &Store) {
    let k = key("records/one.json");
    store.create_json(&k, &serde_json::json!({"v": 1})).await.unwrap();
    let err = store.create_json(&k, &serde_json::json!({"v": 2})).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(signer::error::exit::of_store(&err), 5);
    assert!(err.to_string().contains("records/one.json"), "{err}");
    let got: serde_json::Value = store.get_json(&k).await.unwrap().unwrap();
    assert_eq!(got, serde_json::json!({"v": 1}), "the loser changed nothing");

    let b = key("records/raw.bin");
    store.create_bytes(&b, Bytes::from_static(b"first")).await.unwrap();
    let err = store.create_bytes(&b, Bytes::from_static(b"second")).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(store.get_bytes(&b).await.unwrap().unwrap(), Bytes::from_static(b"first"));

    // put_json overwrites (derived data only).
    store.put_json(&k, &serde_json::json!({"v": 3})).await.unwrap();
    let got: serde_json::Value = store.get_json(&k).await.unwrap().unwrap();
    assert_eq!(got, serde_json::json!({"v": 3}));

    assert!(store.exists(&k).await.unwrap());
    store.delete(&k).await.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    store.delete(&k).await.unwrap();
    assert_eq!(store.get_json::<serde_json::Value>(&k).await.unwrap(), None);
    // Once deleted, the key can be created again.
    store.create_json(&k, &1).await.unwrap();
}

async fn create_race(store: &Store) {
    let store = Arc::new(store.clone());
    let k = key("race/claim.json");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, k) = (Arc::clone(&store), k.clone());
            tokio::spawn(async move { (i, store.create_json(&k, &i).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(StoreError::AlreadyExists { .. })) => {}
            (i, Err(e)) => panic!("creator {i}: {e:#}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creator wins: {winners:?}");
    assert_eq!(store.get_json::<i32>(&k).await.unwrap(), Some(winners[0]), "the object is the winner's");
}

async fn numbered_race(store: &Store) {
    let store = Arc::new(store.clone());
    let prefix = key("layers/deps/versions");
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let (store, prefix) = (Arc::clone(&store), prefix.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..4 {
                    let n = store.create_next(&prefix, |n| serde_json::json!({"n": n, "task": task})).await.unwrap();
                    mine.push(n);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=32).collect::<Vec<u64>>(), "distinct, consecutive, none lost");
    assert_eq!(store.list_numbered(&prefix).await.unwrap(), all);
    for n in [1, 17, 32] {
        let record: serde_json::Value = store.get_json(&keys::numbered(&prefix, n).unwrap()).await.unwrap().unwrap();
        assert_eq!(record["n"], n, "record {n} was built for its own number");
    }
}

async fn numbered_ignores_strays(store: &Store) {
    let prefix = key("numbered");
    assert_eq!(store.list_numbered(&prefix).await.unwrap(), Vec::<u64>::new());
    // Not numbered records: a deeper object, an odd name, a sibling prefix.
    store.create_json(&keys::numbered(&prefix.child("sub").unwrap(), 9).unwrap(), &0).await.unwrap();
    store.create_json(&key("numbered/7.json"), &0).await.unwrap();
    store.create_json(&keys::numbered(&key("numbered2"), 5).unwrap(), &0).await.unwrap();
    assert_eq!(store.create_next(&prefix, |n| n).await.unwrap(), 1);
    store.create_json(&keys::numbered(&prefix, 41).unwrap(), &41).await.unwrap();
    assert_eq!(store.create_next(&prefix, |n| n).await.unwrap(), 42, "max + 1, gaps are not refilled");
    assert_eq!(store.list_numbered(&prefix).await.unwrap(), vec![1, 41, 42]);
}

async fn list_paginates(store: &Store) {
    const N: usize = 1_200;
    let expected: BTreeSet<Key> = (0..N).map(|i| key(&format!("many/{:02}/obj-{i:05}.json", i % 7))).collect();
    let writes = futures::stream::iter(expected.iter().cloned())
        .map(|k| async move { store.create_bytes(&k, Bytes::from_static(b"{}")).await })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(writes.iter().all(Result::is_ok), "{:?}", writes.iter().find(|r| r.is_err()));
    store.create_bytes(&key("many-not/x"), Bytes::new()).await.unwrap();
    store.create_bytes(&key("other/y"), Bytes::new()).await.unwrap();
    let listed = store.list_keys(&key("many")).await.unwrap();
    assert_eq!(listed.len(), N, "every object listed, across pages");
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected);
}

async fn list_respects_segment_boundaries(store: &Store) {
    for k in ["a/1.json", "a/b/2.json", "ab/3.json", "a.json"] {
        store.create_json(&key(k), &0).await.unwrap();
    }
    let listed: Vec<String> = store.list_keys(&key("a")).await.unwrap().iter().map(|k| k.to_string()).collect();
    assert_eq!(listed, ["a/1.json", "a/b/2.json"]);
    assert!(store.list_keys(&key("none")).await.unwrap().is_empty());
}

async fn missing_objects(store: &Store) {
    let k = key("missing/x.json");
    assert_eq!(store.get_json::<serde_json::Value>(&k).await.unwrap(), None);
    assert_eq!(store.get_bytes(&k).await.unwrap(), None);
    assert!(!store.exists(&k).await.unwrap());
    let err = store.reader(&k).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(signer::error::exit::of_store(&err), 4);
}

/// Deterministic bytes that differ at every offset of interest.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

async fn object_reader_writer_round_trip(store: &Store) {
    const LEN: usize = 20 * 1024 * 1024;
    let data = Arc::new(pattern(LEN));
    let k = key("packages/big.zip");
    let mut writer = store.writer(&k).await.unwrap();
    let input = Arc::clone(&data);
    let (written, put) = tokio::task::spawn_blocking(move || {
        // Odd-sized writes, so parts are cut inside writes.
        for chunk in input.chunks(1024 * 1024 + 7) {
            writer.write_all(chunk).unwrap();
        }
        writer.flush().unwrap();
        let written = writer.bytes_written();
        (written, writer.finish().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(written, LEN as u64);
    assert!(put.e_tag.is_some());

    let reader = store.reader(&k).await.unwrap();
    assert_eq!(reader.size(), LEN as u64);
    let expected = Arc::clone(&data);
    tokio::task::spawn_blocking(move || {
        let mut r = reader;
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert!(all == *expected, "whole object read back identical");
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0, "at the end");

        let probe = |r: &mut ObjectReader, to: SeekFrom, at: usize, len: usize| {
            assert_eq!(r.seek(to).unwrap(), at as u64, "{to:?}");
            let mut buf = vec![0u8; len];
            r.read_exact(&mut buf).unwrap();
            assert!(buf == expected[at..at + len], "{len} bytes at {at}");
        };
        let chunk = 8 * 1024 * 1024;
        probe(&mut r, SeekFrom::Start(chunk as u64 - 3), chunk - 3, 10); // across a chunk boundary
        probe(&mut r, SeekFrom::Current(-100), chunk + 7 - 100, 200);
        probe(&mut r, SeekFrom::End(-5), LEN - 5, 5);
        probe(&mut r, SeekFrom::Start(0), 0, 2 * chunk + 100); // one read_exact over three chunks
        assert!(r.seek(SeekFrom::Current(-(4 * chunk as i64))).is_err(), "before the start");
        assert_eq!(r.seek(SeekFrom::End(10)).unwrap(), LEN as u64 + 10);
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0, "past the end");
    })
    .await
    .unwrap();

    // The object is one object, also through the plain API.
    assert_eq!(store.get_bytes(&k).await.unwrap().unwrap().len(), LEN);
    let direct = store.inner().get_range(&k.path(), 5..9).await.unwrap();
    assert_eq!(&direct[..], &data[5..9]);

    // An empty object round-trips too.
    let empty = key("packages/empty.zip");
    let writer = store.writer(&empty).await.unwrap();
    tokio::task::spawn_blocking(move || writer.finish().unwrap()).await.unwrap();
    let mut reader = store.reader(&empty).await.unwrap();
    assert_eq!(reader.size(), 0);
    let all = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        all
    })
    .await
    .unwrap();
    assert!(all.is_empty());
}

async fn object_writer_abort_leaves_nothing(store: &Store) {
    let kept = key("out/kept.json");
    store.create_json(&kept, &0).await.unwrap();
    // Over a part (a multipart upload under way), and under one (held for a single PUT).
    for (size, name) in [(10 * 1024 * 1024, "big"), (1024, "small")] {
        writer_abort_leaves_nothing(store, size, name, &kept).await;
    }
}

async fn writer_abort_leaves_nothing(store: &Store, size: usize, name: &str, kept: &Key) {
    let data = pattern(size);
    let aborted = key(&format!("out/aborted-{name}.zip"));
    let dropped = key(&format!("out/dropped-{name}.zip"));

    let mut writer = store.writer(&aborted).await.unwrap();
    let input = data.clone();
    tokio::task::spawn_blocking(move || {
        writer.write_all(&input).unwrap();
        writer.abort().unwrap();
    })
    .await
    .unwrap();

    // Dropped unfinished (a worker that failed mid-way): the upload is discarded.
    let mut writer: ObjectWriter = store.writer(&dropped).await.unwrap();
    tokio::task::spawn_blocking(move || {
        writer.write_all(&data).unwrap();
        drop(writer);
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert!(!store.exists(&aborted).await.unwrap());
    assert!(!store.exists(&dropped).await.unwrap());
    let listed = store.list_keys(&key("out")).await.unwrap();
    assert_eq!(listed, vec![kept.clone()], "no partial object is visible ({name})");
    // And the keys are still free.
    store.create_json(&aborted, &1).await.unwrap();
    store.delete(&aborted).await.unwrap();
}

async fn object_reader_pins_the_version(store: &Store) {
    const LEN: usize = 9 * 1024 * 1024; // two chunks
    let k = key("src/pkg.zip");
    store.create_bytes(&k, Bytes::from(pattern(LEN))).await.unwrap();
    let reader = store.reader(&k).await.unwrap();
    let e_tag = reader.e_tag().expect("every backend has ETags").to_owned();

    let pinned = ObjectReader::open_if_match(Arc::clone(store.inner()), k.path(), &e_tag).await.unwrap();
    assert_eq!(pinned.e_tag(), Some(e_tag.as_str()));
    drop(pinned);

    // The source changes under the reader: it fails rather than mix versions.
    store.inner().put(&k.path(), vec![1u8; LEN].into()).await.unwrap();
    let err = tokio::task::spawn_blocking(move || {
        let mut r = reader;
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap_err()
    })
    .await
    .unwrap();
    let inner = err.downcast::<StoreError>().expect("a StoreError inside");
    assert!(matches!(inner, StoreError::Conflict { .. }), "{inner}");
    assert_eq!(signer::error::exit::of_store(&inner), 5);

    let err = ObjectReader::open_if_match(Arc::clone(store.inner()), k.path(), &e_tag).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
}
