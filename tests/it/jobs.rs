//! Signing jobs and workers (issue 3), against the real binary and the library: on the
//! embedded file store, and on a real S3-compatible server when `SIGNER_TEST_S3_ENDPOINT`
//! is set (scripts/test.sh starts one; otherwise the S3 test prints a notice and passes).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use signer::jobs::{self, FinalStatus, JobEnd, JobRecord, JobResult, JobStatus, ListFilter, SourcePin, StartRequest};
use signer::model::{Platform, Timestamp, Validity};
use signer::store::{Store, keys};

use crate::util::{Env, make_zip, s3_bucket, s3_delete_version, s3_enable_versioning, snapshot_tree};

const PROFILE: &str = "JobApp";

/// A home with a profile, and a folder for packages.
fn setup() -> Env {
    let env = Env::new();
    env.profile(PROFILE, &[]);
    env
}

/// A small valid zip whose bytes depend on `seed`.
fn package(path: &Path, seed: u32, size: usize) {
    let data = noise(seed, size);
    make_zip(
        path,
        &[("index.js", format!("exports.handler = () => {seed};\n").as_bytes(), true), ("data.bin", &data, false)],
    );
}

/// Incompressible bytes, reproducible from `seed`.
fn noise(seed: u32, size: usize) -> Vec<u8> {
    let mut x = u64::from(seed).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..size)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn url_of_dir(p: &Path) -> String {
    url::Url::from_directory_path(p.canonicalize().unwrap()).unwrap().to_string()
}

fn start(env: &Env, source: &Path, dest: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        source.to_str().unwrap(),
        "--destination",
        dest.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    env.json(args).expect(0).json()
}

fn describe(env: &Env, id: &str) -> Value {
    env.json(["sign-job", "describe", id]).expect(0).json()
}

fn worker_until_idle(env: &Env) -> crate::util::Run {
    env.run(["worker", "--until-idle", "--lease", "3", "--concurrency", "2"]).expect(0)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_job_is_signed_by_a_worker_and_verifies() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 1, 1000);
    let out = out_dir(&env);
    let started = start(&env, &src, &out, &[]);
    assert_eq!(started["status"], "Submitted");
    assert_eq!(started["created"], true);
    let id = started["job_id"].as_str().unwrap().to_owned();
    assert!(started["source_pin"]["etag"].as_str().is_some_and(|e| !e.is_empty()), "the source is pinned");

    let r = worker_until_idle(&env);
    assert!(!r.stderr.contains("clock is"), "one machine's clock is not off its own store's: {}", r.stderr);
    // One log line per job: id, source, outcome, duration.
    let line = r.stderr.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line:\n{}", r.stderr));
    assert!(line.contains("fn.zip") && line.contains("Succeeded") && line.contains(" s"), "{line}");

    let v = describe(&env, &id);
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["attempts"], 1);
    assert_eq!(v["failed_attempts"], 0);
    let signed = format!("{}{id}.zip", url_of_dir(&out));
    assert_eq!(v["signed_object"], signed);
    assert!(v["signature_expires_at"].is_string() && v["submitted_at"].is_string() && v["ended_at"].is_string());
    assert_eq!(files_in(&out), vec![format!("{id}.zip")], "exactly the signed object, no temporaries");
    let verdict = env.json(["verify", &signed]).expect(0).json();
    assert_eq!(verdict["packages"][0]["signature"]["job_id"], id.as_str());
    env.json(["sign-job", "wait", &id]).expect(0);
}

#[test]
fn start_is_idempotent_with_a_client_token_also_across_processes() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 2, 100);
    let out = out_dir(&env);
    let first = start(&env, &src, &out, &["--client-token", "build-42"]);
    let again = start(&env, &src, &out, &["--client-token", "build-42"]);
    assert_eq!(first["job_id"], again["job_id"]);
    assert_eq!(again["created"], false);
    // The token names this request only.
    let other = env.path("other.zip");
    package(&other, 3, 100);
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        other.to_str().unwrap(),
        "--destination",
        out.to_str().unwrap(),
        "--client-token",
        "build-42",
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("client token"), "{}", r.stderr);

    // Two concurrent starts (two processes) with a fresh token agree on one job.
    for round in 0..3 {
        let token = format!("race-{round}");
        let spawn = || {
            env.cmd()
                .args(["--output", "json", "sign-job", "start", "--profile", PROFILE, "--source"])
                .arg(&src)
                .arg("--destination")
                .arg(&out)
                .args(["--client-token", &token])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let ids: Vec<String> = [a, b]
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let v: Value = serde_json::from_slice(&o.stdout).unwrap();
                v["job_id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids[0], ids[1], "round {round}");
    }
    let all = env.json(["sign-job", "list"]).expect(0).json();
    assert_eq!(all["jobs"].as_array().unwrap().len(), 4, "one job per token: {all}");
}

#[test]
fn a_source_changed_after_submission_fails_the_job_and_writes_nothing() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 4, 500);
    let out = out_dir(&env);
    let id = start_id(&env, &src, &out);
    std::thread::sleep(Duration::from_millis(20));
    package(&src, 5, 900); // other bytes, another size, another modification time
    worker_until_idle(&env);
    let v = describe(&env, &id);
    assert_eq!(v["status"], "Failed", "{v}");
    let reason = v["status_reason"].as_str().unwrap();
    assert!(reason.contains("changed since submission") && reason.contains("ETag"), "{reason}");
    assert_eq!(v["attempts"], 1, "a changed source is not retried");
    assert!(files_in(&out).is_empty(), "nothing at the destination: {:?}", files_in(&out));
    env.json(["sign-job", "wait", &id]).expect(1);
    // A deleted source fails the same way.
    let id = start_id(&env, &src, &out);
    std::fs::remove_file(&src).unwrap();
    worker_until_idle(&env);
    let v = describe(&env, &id);
    assert_eq!(v["status"], "Failed");
    assert!(v["status_reason"].as_str().unwrap().contains("no longer exists"), "{v}");
    assert!(files_in(&out).is_empty());
}

#[test]
fn start_checks_the_profile_and_the_source() {
    let env = setup();
    let out = out_dir(&env);
    let missing = env.path("missing.zip");
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        missing.to_str().unwrap(),
        "--destination",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let src = env.path("fn.zip");
    package(&src, 6, 10);
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        "Nobody",
        "--source",
        src.to_str().unwrap(),
        "--destination",
        "out/",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    env.run(["profile", "cancel", PROFILE]).expect(0);
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        src.to_str().unwrap(),
        "--destination",
        "out/",
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("Canceled"), "{}", r.stderr);
    env.json(["sign-job", "describe", "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d"]).expect(4);
    env.json(["sign-job", "describe", "not-a-job"]).expect(2);
}

#[test]
fn a_profile_canceled_before_signing_and_a_bad_zip_fail_at_once() {
    let env = setup();
    let out = out_dir(&env);
    let bad = env.path("notzip.zip");
    std::fs::write(&bad, b"this is not a zip file at all").unwrap();
    let bad_id = start_id(&env, &bad, &out);
    let src = env.path("fn.zip");
    package(&src, 7, 10);
    let canceled_id = start_id(&env, &src, &out);
    env.run(["profile", "cancel", PROFILE]).expect(0);
    worker_until_idle(&env);
    let v = describe(&env, &bad_id);
    assert_eq!(v["status"], "Failed");
    assert_eq!(v["attempts"], 1, "a hostile or broken zip is not retried: {v}");
    let v = describe(&env, &canceled_id);
    assert_eq!(v["status"], "Failed");
    assert!(v["status_reason"].as_str().unwrap().contains("canceled"), "{v}");
    assert!(files_in(&out).is_empty());
}

#[test]
fn every_end_is_an_event_and_failures_go_to_the_dead_letter_prefix() {
    let env = setup();
    let out = out_dir(&env);
    let src = env.path("fn.zip");
    package(&src, 8, 10);
    let good = start_id(&env, &src, &out);
    let bad = env.path("bad.zip");
    std::fs::write(&bad, b"PK\x03\x04 but nothing else").unwrap();
    let failed = start_id(&env, &bad, &out);
    worker_until_idle(&env);

    let events = env.json(["sign-job", "list", "--events"]).expect(0).json();
    assert_eq!(events["events"].as_array().unwrap().len(), 2, "{events}");
    let by_id: BTreeMap<&str, &Value> =
        events["events"].as_array().unwrap().iter().map(|e| (e["job_id"].as_str().unwrap(), e)).collect();
    assert_eq!(by_id[good.as_str()]["status"], "Succeeded");
    assert!(by_id[good.as_str()]["signed_object"].as_str().unwrap().ends_with(&format!("{good}.zip")));
    assert_eq!(by_id[failed.as_str()]["status"], "Failed");
    assert!(by_id[failed.as_str()]["status_reason"].is_string());
    for e in by_id.values() {
        assert!(e["submitted_at"].is_string() && e["ended_at"].is_string(), "{e}");
    }
    let dead = env.json(["sign-job", "list", "--dead-letter"]).expect(0).json();
    assert_eq!(dead["dead_letters"].as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead["dead_letters"][0]["job_id"], failed.as_str());
    assert!(dead["dead_letters"][0]["status_reason"].as_str().is_some_and(|r| !r.is_empty()));
    // The records a pipeline polls are plain objects under fixed prefixes.
    let store = env.home().join("store");
    assert_eq!(files_in(&store.join("events/jobs")).len(), 2);
    let dl = files_in(&store.join("dead-letter/jobs"));
    assert_eq!(dl.len(), 1);
    assert!(dl[0].ends_with(&format!("-{failed}.json")), "{dl:?}");
    assert!(files_in(&store.join("queue/jobs")).is_empty(), "settled jobs leave the queue");
    let only_failed = env.json(["sign-job", "list", "--events", "--status", "failed"]).expect(0).json();
    assert_eq!(only_failed["events"].as_array().unwrap().len(), 1);
}

#[test]
fn transient_failures_are_retried_with_backoff_and_give_up_after_three() {
    // A destination that cannot be written (here: its folder is a file) is an I/O error of
    // the store: transient. One recovers before the retry; the other never does. The
    // worker runs on a clock 20 times as fast as the wall's, so the backoffs between the
    // attempts take a twentieth of their time, in the same order.
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 9, 10);
    let (out_ok, out_never) = (env.path("out-ok"), env.path("out-never"));
    std::fs::create_dir(&out_ok).unwrap();
    std::fs::create_dir(&out_never).unwrap();
    let recovers = start(&env, &src, &out_ok, &[])["job_id"].as_str().unwrap().to_owned();
    let never = start(&env, &src, &out_never, &[])["job_id"].as_str().unwrap().to_owned();
    for d in [&out_ok, &out_never] {
        std::fs::remove_dir(d).unwrap();
        std::fs::write(d, b"a file where a folder should be").unwrap();
    }
    let recovers_id: signer::model::JobId = recovers.parse().unwrap();
    let repaired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let summary = {
        let (out_ok, repaired) = (out_ok.clone(), std::sync::Arc::clone(&repaired));
        // The first failed attempt of `recovers` is told before its retry is due: the
        // destination is mended then, so attempt 2 succeeds.
        run_fast_worker(&env, move |r| {
            if let signer::worker::Report::Ended { job, outcome: signer::worker::Outcome::Retrying { .. }, .. } = r
                && job == recovers_id
                && !repaired.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                std::fs::remove_file(&out_ok).unwrap();
                std::fs::create_dir(&out_ok).unwrap();
            }
        })
    };
    assert!(repaired.load(std::sync::atomic::Ordering::SeqCst), "attempt 1 of {recovers} never failed: {summary:?}");
    // Two retries of `never`, one of `recovers`; `never`'s end is recorded, but settling it
    // cannot clean its unwritable destination (told as unrecorded).
    assert_eq!((summary.succeeded, summary.retried), (1, 3), "{summary:?}");
    let v = describe(&env, &recovers);
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["failed_attempts"], 1);
    assert_eq!(files_in(&out_ok), vec![format!("{recovers}.zip")]);
    let v = describe(&env, &never);
    assert_eq!(v["status"], "Failed", "{v}");
    assert_eq!(v["attempts"], 3);
    assert!(v["status_reason"].as_str().unwrap().contains("gave up after 3 failed attempts"), "{v}");
}

/// Runs an in-process worker over `env`'s store until it is idle, on a clock 20 times as
/// fast as the wall's (3 s leases), telling `report` what happens.
fn run_fast_worker(
    env: &Env,
    report: impl Fn(signer::worker::Report) + Send + Sync + 'static,
) -> signer::worker::Summary {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, home) = open_library(env);
        let (_tx, stop) = tokio::sync::watch::channel(signer::worker::Stop::Run);
        let opts = signer::worker::WorkerOptions { until_idle: true, lease_secs: 3, ..Default::default() };
        let clock = std::sync::Arc::new(signer::clock::ScaledClock::new(20));
        signer::worker::Worker::with_clock(store, home, opts, clock, report).run(stop).await.unwrap()
    })
}

fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not finish within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn revoking_a_job_fails_the_revocation_check_of_verify() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 10, 10);
    let out = out_dir(&env);
    let v = start(&env, &src, &out, &["--wait"]);
    assert_eq!(v["status"], "Succeeded", "{v}");
    let id = v["job_id"].as_str().unwrap().to_owned();
    let signed = v["signed_object"].as_str().unwrap().to_owned();
    env.json(["verify", &signed]).expect(0);
    let r = env.json(["sign-job", "revoke", &id, "--reason", "built from a compromised commit"]).expect(0).json();
    assert_eq!(r["revoked"], true);
    assert_eq!(r["revocation"]["reason"], "built from a compromised commit");
    let verdict = env.json(["verify", &signed]).expect(1).json();
    let check =
        verdict["packages"][0]["checks"].as_array().unwrap().iter().find(|c| c["check"] == "revocation").unwrap();
    assert_eq!(check["status"], "fail");
    assert!(check["reason"].as_str().unwrap().contains(&id), "{check}");
    // Irreversible, and recorded on the job.
    env.json(["sign-job", "revoke", &id, "--reason", "again"]).expect(5);
    assert_eq!(describe(&env, &id)["revocation"]["reason"], "built from a compromised commit");
    // Only a Succeeded job has a signature to revoke.
    let pending = start_id(&env, &src, &out);
    env.json(["sign-job", "revoke", &pending, "--reason", "x"]).expect(5);
}

#[test]
fn start_wait_signs_in_process_and_wait_times_out_without_a_worker() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 11, 10);
    let out = out_dir(&env);
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        src.to_str().unwrap(),
        "--destination",
        out.to_str().unwrap(),
        "--wait",
    ]);
    let v = r.expect(0).json();
    assert_eq!(v["status"], "Succeeded");
    assert!(r_contains(&env, &v));
    // A failing job: --wait exits 1.
    let bad = env.path("bad.zip");
    std::fs::write(&bad, b"nope").unwrap();
    let r = env.json([
        "sign-job",
        "start",
        "--profile",
        PROFILE,
        "--source",
        bad.to_str().unwrap(),
        "--destination",
        out.to_str().unwrap(),
        "--wait",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"], "Failed");
    // No worker: wait gives up after its timeout, exit 5, and the job goes on.
    let id = start_id(&env, &src, &out);
    let t0 = Instant::now();
    let r = env.json(["sign-job", "wait", &id, "--timeout", "1"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(describe(&env, &id)["status"], "Submitted");
}

fn r_contains(env: &Env, v: &Value) -> bool {
    let signed = v["signed_object"].as_str().unwrap();
    env.json(["verify", signed]).code == 0
}

#[test]
fn a_worker_without_the_key_leaves_the_job_to_one_that_has_it() {
    let owner = setup();
    let src = owner.path("fn.zip");
    package(&src, 12, 10);
    let out = owner.path("out");
    std::fs::create_dir(&out).unwrap();
    let id = start(&owner, &src, &out, &[])["job_id"].as_str().unwrap().to_owned();
    // Another machine: same store, a home without the profile's key.
    let store_url = url::Url::from_directory_path(owner.home().join("store")).unwrap().to_string();
    let stranger = Env::with_store(store_url.trim_end_matches('/'));
    let r = stranger.run(["worker", "--until-idle", "--lease", "3"]).expect(0);
    assert!(r.stderr.contains(&id) && r.stderr.contains("left to a worker that can sign for"), "{}", r.stderr);
    assert_eq!(describe(&owner, &id)["status"], "Submitted", "the job was not failed");
    worker_until_idle(&owner);
    assert_eq!(describe(&owner, &id)["status"], "Succeeded");
}

#[test]
fn list_filters_return_the_right_sets() {
    let env = setup();
    let v2 = {
        let r = env.json(["profile", "create", "OtherApp", "--validity", "30days"]).expect(0);
        r.json()["current_version"].as_str().unwrap().to_owned()
    };
    assert!(!v2.is_empty());
    let out = out_dir(&env);
    let src = env.path("fn.zip");
    package(&src, 13, 10);
    let bad = env.path("bad.zip");
    std::fs::write(&bad, b"nope").unwrap();
    let long = start_id(&env, &src, &out);
    let failed = start_id(&env, &bad, &out);
    let short = env
        .json([
            "sign-job",
            "start",
            "--profile",
            "OtherApp",
            "--source",
            src.to_str().unwrap(),
            "--destination",
            out.to_str().unwrap(),
        ])
        .expect(0)
        .json()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    worker_until_idle(&env);
    // Submission times are whole seconds (ties list by id): start the newest in a later one.
    std::thread::sleep(Duration::from_millis(1100));
    let pending = start_id(&env, &src, &out);
    env.run(["sign-job", "revoke", &long, "--reason", "test"]).expect(0);

    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["sign-job", "list"];
        all.extend_from_slice(args);
        let v = env.json(all).expect(0).json();
        v["jobs"].as_array().unwrap().iter().map(|j| j["job_id"].as_str().unwrap().to_owned()).collect()
    };
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    let of = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();
    let everything = ids(&[]);
    assert_eq!(everything.len(), 4);
    assert_eq!(everything[0], pending, "newest first");
    assert_eq!(set(ids(&["--status", "Succeeded"])), of(&[&long, &short]));
    assert_eq!(set(ids(&["--status", "Failed"])), of(&[&failed]));
    assert_eq!(set(ids(&["--status", "Submitted"])), of(&[&pending]));
    assert!(ids(&["--status", "InProgress"]).is_empty());
    assert_eq!(set(ids(&["--profile", "OtherApp"])), of(&[&short]));
    assert_eq!(set(ids(&["--profile", PROFILE])), of(&[&long, &failed, &pending]));
    assert_eq!(set(ids(&["--revoked"])), of(&[&long]));
    // OtherApp signs for 30 days, JobApp for 135 months.
    let in_a_year = Timestamp::from_unix(signer::clock::now().unix() + 365 * 86_400).to_string();
    assert_eq!(set(ids(&["--expires-before", &in_a_year])), of(&[&short]));
    assert_eq!(set(ids(&["--expires-after", &in_a_year])), of(&[&long]));
    assert_eq!(set(ids(&["--expires-after", &in_a_year, "--profile", "OtherApp"])), BTreeSet::new());
    env.json(["sign-job", "list", "--status", "Bogus"]).expect(2);
}

#[test]
fn list_handles_thousands_of_jobs() {
    const JOBS: u64 = 2_000;
    let env = Env::new();
    let store_dir = env.home().join("store");
    std::fs::create_dir_all(&store_dir).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // Seed records straight into the file store (without fsync, for speed).
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&store_dir).unwrap();
    let store = Store::from_object_store(Arc::new(fs), "seed".into());
    let base = 1_900_000_000;
    let expected_succeeded = rt.block_on(async {
        use futures::StreamExt;
        futures::stream::iter(0..JOBS)
            .map(|i| {
                let store = store.clone();
                async move { seed_job(&store, i, base).await }
            })
            .buffer_unordered(64)
            .filter(|s| std::future::ready(*s == Some(FinalStatus::Succeeded)))
            .count()
            .await
    });
    let t0 = Instant::now();
    let all = env.json(["sign-job", "list"]).expect(0).json();
    let took = t0.elapsed();
    eprintln!("sign-job list of {JOBS} jobs took {took:?}");
    assert!(took < Duration::from_secs(30), "listing {JOBS} jobs took {took:?}");
    let jobs = all["jobs"].as_array().unwrap();
    assert_eq!(jobs.len() as u64, JOBS);
    let times: Vec<&str> = jobs.iter().map(|j| j["submitted_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let ok = env.json(["sign-job", "list", "--status", "Succeeded", "--profile", "ListA"]).expect(0).json();
    let want = (0..JOBS).filter(|i| i % 3 == 0 && i % 2 == 0).count();
    assert_eq!(ok["jobs"].as_array().unwrap().len(), want);
    assert!(expected_succeeded > 0);
}

/// Writes job `i`: every third Succeeded, every third Failed, the rest Submitted.
async fn seed_job(store: &Store, i: u64, base: i64) -> Option<FinalStatus> {
    let id = signer::model::JobId::random();
    let at = Timestamp::from_unix(base + i as i64);
    let job = JobRecord {
        job_id: id.clone(),
        profile: if i.is_multiple_of(2) { "ListA" } else { "ListB" }.parse().unwrap(),
        profile_version: "AbCdEf1234".parse().unwrap(),
        platform: Platform::default(),
        signature_validity: Validity::MAX,
        source: SourcePin {
            url: format!("s3://in/{i}.zip"),
            e_tag: format!("\"{i}\""),
            size: 10,
            last_modified: at,
            version: None,
        },
        destination: "s3://out/".into(),
        signed_object: format!("s3://out/{id}.zip"),
        submitted_at: at,
        requested_by: None,
    };
    store.create_json(&keys::job(&id).unwrap(), &job).await.unwrap();
    let status = match i % 3 {
        0 => FinalStatus::Succeeded,
        1 => FinalStatus::Failed,
        _ => return None,
    };
    let end = match status {
        FinalStatus::Succeeded => JobEnd::Succeeded {
            signed_object: job.signed_object.clone(),
            signed_at: at,
            signature_expires_at: at.plus_secs(86_400),
            sha256: "00".repeat(32),
            size: 0,
        },
        FinalStatus::Failed => JobEnd::Failed { status_reason: "not a zip".to_owned() },
    };
    let result =
        JobResult { job_id: id.clone(), end, attempts: 1, worker: Some("w".into()), ended_at: at.plus_secs(1) };
    store.create_json(&keys::job_result(&id).unwrap(), &result).await.unwrap();
    Some(status)
}

/// A fresh destination folder `out` in the test's directory.
fn out_dir(env: &Env) -> std::path::PathBuf {
    let out = env.path("out");
    std::fs::create_dir(&out).unwrap();
    out
}

/// Starts a job of the test profile from `src` into `out`; returns its id.
fn start_id(env: &Env, src: &Path, out: &Path) -> String {
    start(env, src, out, &[])["job_id"].as_str().unwrap().to_owned()
}

/// The test's store and home, opened through the library.
fn open_library(env: &Env) -> (Store, signer::home::Home) {
    let home = signer::home::Home::open(&env.home()).unwrap();
    (Store::open(&url_of_dir(&env.home().join("store"))).unwrap().trusting_home(&home), home)
}

/// A request to sign `src` with the test profile into the folder `out`.
fn request(src: &Path, out: &Path) -> StartRequest {
    StartRequest {
        profile: PROFILE.parse().unwrap(),
        source: src.to_str().unwrap().to_owned(),
        destination: out.to_str().unwrap().to_owned(),
        client_token: None,
        requested_by: None,
        source_version: None,
    }
}

#[test]
fn the_library_runs_jobs_in_process() {
    // The same flow through the library: start, a worker until idle, describe.
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 14, 10);
    let out = out_dir(&env);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, home) = open_library(&env);
        let req = request(&src, &out);
        let started = jobs::start(&store, &req, signer::clock::now()).await.unwrap();
        assert!(started.created);
        let (_tx, stop) = tokio::sync::watch::channel(signer::worker::Stop::Run);
        let opts = signer::worker::WorkerOptions { until_idle: true, lease_secs: 3, ..Default::default() };
        let worker = signer::worker::Worker::new(store.clone(), home, opts, |_| {});
        let summary = worker.run(stop).await.unwrap();
        assert_eq!(summary.succeeded, 1);
        assert_eq!(summary.stopped, "idle");
        let v = jobs::describe(&store, &started.job.job_id, signer::clock::now()).await.unwrap();
        assert_eq!(v.status, JobStatus::Succeeded);
        let listed = jobs::list(&store, &ListFilter::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
    });
}

/// Three workers race over 50 jobs on S3; one is killed with SIGKILL while it holds a job
/// and a fourth starts. Every job ends Succeeded exactly once, every signed object
/// verifies, and the destination holds exactly the 50 signed objects.
#[test]
fn workers_race_on_s3_and_survive_a_sigkill() {
    const JOBS: u32 = 50;
    let Some(bucket) = s3_bucket() else { return };
    let env = Env::with_store(&format!("s3://{bucket}/state"));
    env.profile(PROFILE, &[]);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let state = Store::open(&format!("s3://{bucket}/state"))
        .unwrap()
        .trusting_home(&signer::home::Home::open(&env.home()).unwrap());
    let t0 = Instant::now();
    // 50 packages in the bucket, 50 jobs.
    let ids: Vec<String> = rt.block_on(async {
        use futures::StreamExt;
        let raw = Store::open(&format!("s3://{bucket}")).unwrap();
        futures::stream::iter(0..JOBS)
            .map(|i| {
                let (raw, state, bucket) = (raw.clone(), state.clone(), bucket.clone());
                async move {
                    let dir = tempfile::tempdir().unwrap();
                    let p = dir.path().join("p.zip");
                    package(&p, 100 + i, 300_000);
                    let key = signer::store::Key::new(&["in", &format!("{i:03}.zip")]).unwrap();
                    raw.create_bytes(&key, std::fs::read(&p).unwrap().into()).await.unwrap();
                    let req = StartRequest {
                        profile: PROFILE.parse().unwrap(),
                        source: format!("s3://{bucket}/in/{i:03}.zip"),
                        destination: format!("s3://{bucket}/out/"),
                        client_token: None,
                        requested_by: None,
                        source_version: None,
                    };
                    jobs::start(&state, &req, signer::clock::now()).await.unwrap().job.job_id.to_string()
                }
            })
            .buffer_unordered(8)
            .collect()
            .await
    });
    eprintln!("S3 race: {JOBS} jobs submitted in {:?}", t0.elapsed());

    let spawn = |n: usize| -> (Child, std::sync::mpsc::Receiver<String>) {
        let mut child = env
            .cmd()
            .args(["-v", "worker", "--until-idle", "--lease", "3", "--concurrency", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("worker {n}: {line}");
                let _ = tx.send(line);
            }
        });
        (child, rx)
    };
    // The victim starts alone, so the others (faster than it once warm) cannot drain the
    // queue before it claims a third job; they start, and race, once it is killed.
    let (mut victim, victim_log) = spawn(0);
    // Kill the victim right after it claims a job, once it has finished a couple.
    let mut ended = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        let line = victim_log.recv_timeout(Duration::from_secs(60)).expect("the victim worker went quiet");
        let job = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        if line.contains("claimed attempt") && ended >= 2 {
            break job;
        } else if line.starts_with("job ") && !line.contains("claimed attempt") {
            ended += 1;
        }
        assert!(Instant::now() < deadline, "the victim never got going");
    };
    victim.kill().unwrap(); // SIGKILL, right after the claim: the job is in flight
    victim.wait().unwrap();
    eprintln!("S3 race: killed worker 0 holding job {held} after {:?}", t0.elapsed());
    let mut others = vec![spawn(1), spawn(2), spawn(3)];
    for (child, _) in &mut others {
        assert!(wait_child(child, Duration::from_secs(100)).success());
    }
    eprintln!("S3 race: all workers done after {:?}", t0.elapsed());

    rt.block_on(async {
        let listed = jobs::list(&state, &ListFilter::default()).await.unwrap();
        assert_eq!(listed.len(), JOBS as usize);
        for j in &listed {
            assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
        }
        // Exactly one end per job.
        let events = jobs::events(&state, jobs::EventLog::Events, &ListFilter::default()).await.unwrap();
        let ended: BTreeSet<String> = events.iter().map(|e| e.job_id.to_string()).collect();
        assert_eq!(events.len(), JOBS as usize);
        assert_eq!(ended, ids.iter().cloned().collect());
        assert!(jobs::events(&state, jobs::EventLog::DeadLetter, &ListFilter::default()).await.unwrap().is_empty());
        // The job the victim held was taken over after its lease.
        let v = jobs::describe(&state, &held.parse().unwrap(), signer::clock::now()).await.unwrap();
        assert!(v.attempts >= 2, "job {held} held by the killed worker: {v:?}");
        // The destination: exactly the 50 signed objects, no temporaries.
        let raw = Store::open(&format!("s3://{bucket}")).unwrap();
        let out: BTreeSet<String> = raw
            .list_keys(&signer::store::Key::new(&["out"]).unwrap())
            .await
            .unwrap()
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        let want: BTreeSet<String> = ids.iter().map(|id| format!("out/{id}.zip")).collect();
        assert_eq!(out, want);
        assert!(jobs::queued(&state).await.unwrap().is_empty());
    });
    // Every signed object verifies (a few at a time).
    for chunk in ids.chunks(10) {
        let runs: Vec<_> = chunk
            .iter()
            .map(|id| {
                env.cmd()
                    .args(["--output", "json", "verify", &format!("s3://{bucket}/out/{id}.zip")])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (id, child) in chunk.iter().zip(runs) {
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{id}: {}", String::from_utf8_lossy(&o.stdout));
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["packages"][0]["signature"]["job_id"], id.as_str());
        }
    }
    eprintln!("S3 race: checked in {:?}", t0.elapsed());
}

/// In a versioned bucket the worker reads the version that was submitted: a write to the
/// key after `start` does not concern the job (on the file store, which has no versions,
/// the same write fails the job: `a_source_changed_after_submission_fails_the_job_and_writes_nothing`).
#[test]
fn a_versioned_source_is_signed_at_its_pinned_version() {
    let Some(bucket) = s3_bucket() else { return };
    s3_enable_versioning(&bucket);
    let env = Env::with_store(&format!("s3://{bucket}/state"));
    env.profile(PROFILE, &[]);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let raw = Store::open(&format!("s3://{bucket}")).unwrap();
    let key = object_store::path::Path::from("in/fn.zip");
    let put = |seed: u32| {
        let p = env.path(&format!("v{seed}.zip"));
        package(&p, seed, 200_000);
        let bytes = std::fs::read(&p).unwrap();
        rt.block_on(object_store::ObjectStoreExt::put(raw.inner().as_ref(), &key, bytes.clone().into())).unwrap();
        bytes
    };
    let first = put(31);
    let (source, dest) = (format!("s3://{bucket}/in/fn.zip"), format!("s3://{bucket}/out/"));
    let started =
        env.json(["sign-job", "start", "--profile", PROFILE, "--source", &source, "--destination", &dest]).expect(0);
    let id = started.json()["job_id"].as_str().unwrap().to_owned();
    let second = put(32);
    assert_ne!(first, second);
    let r = worker_until_idle(&env);
    assert!(!r.stderr.contains("clock is"), "the server's clock is this machine's: {}", r.stderr);

    let v = describe(&env, &id);
    assert_eq!(v["status"], "Succeeded", "{v}");
    let signed =
        rt.block_on(raw.get_bytes(&signer::store::Key::new(&["out", &format!("{id}.zip")]).unwrap())).unwrap().unwrap();
    // The signed package is the first version, byte for byte, up to its comment length.
    let kept = first.len() - 2;
    assert_eq!(&signed[..kept], &first[..kept], "signed another version than the one submitted");

    // The pinned version deleted for good: the job fails and says so; nothing is written.
    put(33);
    let started =
        env.json(["sign-job", "start", "--profile", PROFILE, "--source", &source, "--destination", &dest]).expect(0);
    let gone = started.json()["job_id"].as_str().unwrap().to_owned();
    let pinned = describe(&env, &gone)["source_pin"]["version"].as_str().unwrap().to_owned();
    s3_delete_version(&bucket, "in/fn.zip", &pinned);
    worker_until_idle(&env);
    let v = describe(&env, &gone);
    assert_eq!(v["status"], "Failed", "{v}");
    assert!(v["status_reason"].as_str().unwrap().contains("no longer exists"), "{v}");
    let out = rt.block_on(raw.exists(&signer::store::Key::new(&["out", &format!("{gone}.zip")]).unwrap())).unwrap();
    assert!(!out, "a job whose source is gone wrote a signed object");
}

#[test]
fn an_object_published_by_a_dead_attempt_is_adopted_never_replaced() {
    use sha2::Digest as _;
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 15, 1000);
    let out = out_dir(&env);
    let id = start_id(&env, &src, &out);
    let published = out.join(format!("{id}.zip"));
    // Attempt 1 was claimed by a worker that published the signed object and died before
    // recording it; its lease has long lapsed.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, home) = open_library(&env);
        let job_id: signer::model::JobId = id.parse().unwrap();
        let now = signer::clock::now();
        let claim = jobs::Claim {
            attempt: 1,
            worker: "ghost".into(),
            host: "gone".into(),
            pid: 1,
            claimed_at: now.plus_secs(-60),
            lease_secs: 3,
        };
        store.create_json(&keys::job_claim(&job_id, 1).unwrap(), &claim).await.unwrap();
        let ident = signer::profiles::signing_identity(&store, &home, &PROFILE.parse().unwrap()).await.unwrap();
        let params = signer::sign::SignParams {
            chain: ident.version.chain_der().unwrap(),
            key: ident.key,
            version: ident.version.version.clone(),
            job_id: Some(job_id),
            signed_at: now.plus_secs(-50),
            expires_at: now.plus_secs(86_400),
            stamper: None,
        };
        let mut input = std::fs::File::open(&src).unwrap();
        let output = std::fs::File::create(&published).unwrap();
        signer::sign::sign_package(&mut input, output, &params, &signer::zipcheck::ZipLimits::default(), &mut |_| {})
            .unwrap();
    });
    let before = std::fs::read(&published).unwrap();
    worker_until_idle(&env);
    let v = describe(&env, &id);
    assert_eq!(v["status"], "Succeeded", "{v}");
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["failed_attempts"], 1, "the lapsed lease counts as a failed attempt");
    assert_eq!(std::fs::read(&published).unwrap(), before, "the published object was not replaced");
    assert_eq!(v["sha256"], hex::encode(sha2::Sha256::digest(&before)));
    assert_eq!(files_in(&out), vec![format!("{id}.zip")]);

    // An object this job did not sign, at its destination: the job fails, the object stays.
    let id = start_id(&env, &src, &out);
    let foreign = out.join(format!("{id}.zip"));
    std::fs::write(&foreign, b"someone else's bytes").unwrap();
    worker_until_idle(&env);
    let v = describe(&env, &id);
    assert_eq!(v["status"], "Failed");
    assert!(v["status_reason"].as_str().unwrap().contains("did not sign"), "{v}");
    assert_eq!(std::fs::read(&foreign).unwrap(), b"someone else's bytes");
}

#[test]
fn sigterm_stops_a_worker_cleanly() {
    use std::io::Read;
    let env = setup();
    let mut child = env
        .cmd()
        .args(["--output", "json", "worker", "--lease", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let workers = env.home().join("store/workers");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !workers.is_dir() || files_in(&workers).is_empty() {
        assert!(Instant::now() < deadline, "the worker never announced itself");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = wait_child(&mut child, Duration::from_secs(20));
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(status.success(), "{stdout}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["stopped"], "signal");
    assert!(files_in(&workers).is_empty(), "a stopped worker retires its presence record");
}

#[test]
fn stopping_now_releases_the_jobs_in_flight_to_other_workers() {
    let env = setup();
    let src = env.path("big.zip");
    package(&src, 16, 40_000_000);
    let out = out_dir(&env);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, home) = open_library(&env);
        let req = request(&src, &out);
        let id = jobs::start(&store, &req, signer::clock::now()).await.unwrap().job.job_id;
        // Ask the worker to stop now as soon as it has claimed the job (as a second Ctrl-C does).
        let (tx, stop) = tokio::sync::watch::channel(signer::worker::Stop::Run);
        let opts = signer::worker::WorkerOptions { lease_secs: 30, ..Default::default() };
        let worker = signer::worker::Worker::new(store.clone(), home.clone(), opts, move |r| {
            if let signer::worker::Report::Claimed { .. } = r {
                let _ = tx.send(signer::worker::Stop::Now);
            }
        });
        let summary = worker.run(stop).await.unwrap();
        assert_eq!((summary.released, summary.succeeded, summary.stopped), (1, 0, "signal"), "{summary:?}");
        let v = jobs::describe(&store, &id, signer::clock::now()).await.unwrap();
        assert_eq!(v.status, JobStatus::InProgress);
        assert!(v.status_reason.as_deref().unwrap().contains("released"), "{v:?}");
        assert_eq!(v.failed_attempts, 0, "a release is not a failure");
        assert!(files_in(&out).is_empty(), "nothing published, no staging object left");
        // Another worker takes it at once (no lease to wait for).
        let (_tx, stop) = tokio::sync::watch::channel(signer::worker::Stop::Run);
        let opts = signer::worker::WorkerOptions { until_idle: true, ..Default::default() };
        let summary = signer::worker::Worker::new(store.clone(), home, opts, |_| {}).run(stop).await.unwrap();
        assert_eq!(summary.succeeded, 1);
        let v = jobs::describe(&store, &id, signer::clock::now()).await.unwrap();
        assert_eq!((v.status, v.attempts), (JobStatus::Succeeded, 2));
    });
}

/// A time-stamping authority that does not answer is a transient failure: the job is
/// retried with backoff, then fails with a reason that names the TSA (issue 13).
#[test]
fn a_tsa_that_does_not_answer_is_retried_then_fails_naming_it() {
    let env = setup();
    let tsa = crate::timestamp::Tsa::start();
    let (url, root) = (tsa.url(), env.path("tsa-root.pem"));
    std::fs::copy(tsa.root_pem(), &root).unwrap();
    drop(tsa);
    env.run(["tsa", "set", &url, "--root", root.to_str().unwrap()]).expect(0);
    let src = env.path("fn.zip");
    package(&src, 9, 10);
    let out = env.path("out");
    std::fs::create_dir(&out).unwrap();
    let id = start(&env, &src, &out, &[])["job_id"].as_str().unwrap().to_owned();
    let summary = run_fast_worker(&env, |_| {});
    assert_eq!((summary.succeeded, summary.retried), (0, 2), "{summary:?}");
    let v = describe(&env, &id);
    assert_eq!(v["status"], "Failed", "{v}");
    assert_eq!(v["attempts"], 3);
    assert!(v["status_reason"].as_str().unwrap().contains(&url), "{v}");
    assert!(files_in(&out).is_empty());
}

/// Issue 16, point 10: an ended job whose settling keeps failing (its destination folder
/// is a file, so its staging objects cannot be looked for) is said once per worker and
/// retried with backoff, not logged on every poll; `sign-job purge` takes it off the queue.
#[test]
fn an_ended_job_that_cannot_be_settled_is_said_once_and_can_be_purged() {
    let env = setup();
    let src = env.path("fn.zip");
    package(&src, 19, 10);
    let out = env.path("out");
    std::fs::create_dir(&out).unwrap();
    let id = start(&env, &src, &out, &[])["job_id"].as_str().unwrap().to_owned();
    std::fs::remove_dir(&out).unwrap();
    std::fs::write(&out, b"a file where a folder should be").unwrap();
    let troubles = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, home) = open_library(&env);
        let (tx, stop) = tokio::sync::watch::channel(signer::worker::Stop::Run);
        // A worker that keeps running: 3 s of wall time are a minute on its clock, some
        // fifty polls of the queue.
        let opts = signer::worker::WorkerOptions { lease_secs: 3, ..Default::default() };
        let clock = std::sync::Arc::new(signer::clock::ScaledClock::new(20));
        let seen = std::sync::Arc::clone(&troubles);
        let worker = signer::worker::Worker::with_clock(store, home, opts, clock, move |r| {
            if let signer::worker::Report::Trouble { message } = r {
                seen.lock().unwrap().push(message);
            }
        });
        let running = tokio::spawn(async move { worker.run(stop).await.unwrap() });
        tokio::time::sleep(Duration::from_secs(3)).await;
        tx.send(signer::worker::Stop::Drain).unwrap();
        running.await.unwrap();
    });
    assert_eq!(describe(&env, &id)["status"], "Failed");
    let troubles = troubles.lock().unwrap();
    let settle: Vec<&String> = troubles.iter().filter(|m| m.contains("could not settle")).collect();
    assert_eq!(settle.len(), 1, "said once, not on every poll: {troubles:#?}");
    assert!(settle[0].contains(&format!("sign-job purge {id}")), "{}", settle[0]);

    let queue = env.home().join("store/queue/jobs");
    let queued = || std::fs::read_dir(&queue).map(|d| d.count()).unwrap_or(0);
    assert_eq!(queued(), 1, "still queued before the purge");
    // `status` names it, with the command that clears it.
    let status = env.json(["status"]).expect(0).json();
    assert_eq!(status["queue"]["ended_unsettled"], serde_json::json!([id]), "{status}");
    assert_eq!(status["failed_job_count"], 1, "{status}");
    let text = env.run(["status"]).expect(0).stdout;
    assert!(text.contains(&format!("signer sign-job purge {id}")), "{text}");
    let r = env.json(["sign-job", "purge", &id]).expect(0);
    assert_eq!(r.json()["status"], "Failed");
    assert_eq!(queued(), 0, "off the queue");
    assert_eq!(env.json(["status"]).expect(0).json()["queue"]["ended_unsettled"], serde_json::json!([]));
    env.run(["sign-job", "purge", &id]).expect(0);
    // A job that has not ended is not purged; an unknown one is not found.
    std::fs::remove_file(&out).unwrap();
    std::fs::create_dir(&out).unwrap();
    let waiting = start(&env, &src, &out, &[])["job_id"].as_str().unwrap().to_owned();
    let r = env.run(["sign-job", "purge", &waiting]).expect(5);
    assert!(r.stderr.contains("Submitted"), "{}", r.stderr);
    assert_eq!(env.json(["status"]).expect(0).json()["queue"]["submitted"], 1);
    env.run(["sign-job", "purge", "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d"]).expect(4);
}

/// Issue 16, point 10: `signer status` reads and never writes. It reports a worker's
/// clock against the store's (here a worker 300 s ahead), keeps a long-silent worker's
/// record that a worker would remove, and on a missing store says so (exit 4) without
/// creating one.
#[test]
fn status_reads_only_and_compares_worker_clocks() {
    let env = Env::new();
    let r = env.run(["status"]).expect(4);
    assert!(r.stderr.contains("signer init"), "{}", r.stderr);
    assert!(!env.home().join("store").exists(), "nothing created");

    let env = setup();
    let workers = env.home().join("store/workers");
    std::fs::create_dir_all(&workers).unwrap();
    let now = signer::clock::now().unix();
    let rfc3339 = |t: i64| Timestamp::from_unix(t).to_string();
    let presence = |id: &str, seen: i64| {
        serde_json::json!({"worker": id, "host": "build-7", "pid": 42, "started_at": rfc3339(seen - 60),
            "seen_at": rfc3339(seen), "lease_secs": 30})
    };
    std::fs::write(workers.join("w-ahead.json"), presence("w-ahead", now + 300).to_string()).unwrap();
    std::fs::write(workers.join("w-gone.json"), presence("w-gone", now - 86_400).to_string()).unwrap();
    let before = snapshot_tree(&env.home().join("store"));
    let s = env.json(["status"]).expect(0).json();
    assert_eq!(snapshot_tree(&env.home().join("store")), before, "status wrote to the store");
    assert_eq!(s["profiles"][0]["name"], PROFILE, "{s}");
    assert_eq!(s["profiles"][0]["version_count"], 1, "{s}");
    assert_eq!(s["root_ca"]["fingerprint"].as_str().unwrap().len(), 64, "{s}");
    let ws = s["workers"].as_array().unwrap();
    let ahead = ws.iter().find(|w| w["worker"] == "w-ahead").unwrap();
    assert_eq!(ahead["live"], true, "{s}");
    let offset = ahead["clock_offset_secs"].as_i64().unwrap();
    assert!((295..=305).contains(&offset), "{s}");
    let gone = ws.iter().find(|w| w["worker"] == "w-gone").unwrap();
    assert_eq!(gone["live"], false, "{s}");
    let text = env.run(["status"]).expect(0).stdout;
    assert!(text.contains("w-ahead on build-7 (pid 42): live") && text.contains("s ahead of the store's"), "{text}");
}
