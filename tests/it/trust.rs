//! The store writer as attacker (issue 12): someone who can add, change, copy or delete
//! any object of the store — every job submitter and layer publisher can — but holds
//! neither the root key nor the victim's home. Each attack must end in a deny or a clear
//! untrusted-record error, never an allow, and the legitimate package must keep verifying
//! once the attack is undone (or, for additions, alongside it). The same attacks run on
//! the file store and on S3 (moto, when scripts/test.sh started it).

use std::path::{Path, PathBuf};

use object_store::ObjectStoreExt as _;
use serde_json::Value;
use signer::store::{Key, Store};

use crate::util::{Env, Run, fixture, s3_bucket};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Raw access to a store, as its writer has: no pin, no seal, exact bytes.
struct Writer {
    rt: tokio::runtime::Runtime,
    store: Store,
}

impl Writer {
    fn new(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Self { rt, store: Store::open(url).unwrap() }
    }

    fn key(k: &str) -> Key {
        Key::new(&k.split('/').collect::<Vec<_>>()).unwrap()
    }

    fn get(&self, k: &str) -> Vec<u8> {
        self.rt.block_on(self.store.get_bytes(&Self::key(k))).unwrap().unwrap_or_else(|| panic!("no {k}")).to_vec()
    }

    fn put(&self, k: &str, bytes: &[u8]) {
        let path = Self::key(k).path();
        self.rt.block_on(self.store.inner().put(&path, bytes.to_vec().into())).unwrap();
    }

    fn delete(&self, k: &str) {
        self.rt.block_on(self.store.delete(&Self::key(k))).unwrap();
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self.rt.block_on(self.store.list_keys(&Self::key(prefix))).unwrap();
        listed.iter().map(|k| k.to_string()).collect()
    }
}

/// The record inside a sealed envelope, as a plain record (what an older signer wrote, or
/// a store writer writes).
fn unsealed(envelope: &[u8]) -> Vec<u8> {
    let v: Value = serde_json::from_slice(envelope).unwrap();
    assert_eq!(v["format"], "signer-record-v1", "not sealed: {v}");
    serde_json::to_vec_pretty(&v["record"]).unwrap()
}

fn store_url(env: &Env) -> String {
    env.store.clone().unwrap_or_else(|| format!("file://{}", env.home().join("store").display()))
}

/// The authenticity check's reason in a JSON verdict.
fn authenticity(run: &Run) -> String {
    let v = run.json();
    assert_eq!(v["packages"][0]["checks"][1]["check"], "authenticity", "{v}");
    v["packages"][0]["checks"][1]["reason"].as_str().unwrap().to_owned()
}

fn error_message(run: &Run) -> String {
    run.json()["error"]["message"].as_str().unwrap_or_else(|| panic!("no error: {}", run.stdout)).to_owned()
}

/// A victim store with profile App, a CSC allowing its version, a signed package; and an
/// attacker with a store of their own (profile App too) and a package signed there.
struct Scene {
    victim: Env,
    attacker: Env,
    writer: Writer,
    version: String,
    rogue: String,
    csc: String,
    good: PathBuf,
    evil: PathBuf,
}

fn scene(victim: Env) -> Scene {
    let version = victim.profile("App", &[]);
    let good = victim.sign("App", &fixture("packages/hello-function.zip"), "good.zip");
    let allowed = format!("App/{version}");
    let c = victim.json(["csc", "create", "--allowed-publisher", &allowed]).expect(0).json();
    let csc = c["id"].as_str().unwrap().to_owned();
    let attacker = Env::new();
    let rogue = attacker.profile("App", &[]);
    let evil = attacker.sign("App", &fixture("packages/hello-function.zip"), "evil.zip");
    let writer = Writer::new(&store_url(&victim));
    victim.run(["verify", s(&good), "--csc", &csc]).expect(0);
    Scene { victim, attacker, writer, version, rogue, csc, good, evil }
}

fn the_store_writer_cannot_turn_a_deny_into_an_allow(victim: Env) {
    let sc = scene(victim);
    let (v, a, w) = (&sc.victim, &sc.attacker, &sc.writer);
    let verify = |p: &Path, extra: &[&str]| {
        let mut args = vec!["verify", s(p)];
        args.extend_from_slice(extra);
        v.json(args)
    };
    let attacker_store = Writer::new(&store_url(a));
    let rogue_key = format!("profiles/App/versions/{}.json", sc.rogue);

    // 1. A rogue version of the same profile, sealed by the attacker's own root.
    w.put(&rogue_key, &attacker_store.get(&rogue_key));
    let why = authenticity(&verify(&sc.evil, &[]).expect(1));
    assert!(why.contains(&rogue_key) && why.contains("not by the pinned root"), "{why}");
    verify(&sc.good, &["--csc", &sc.csc]).expect(0);

    // 2. The same version as a plain, unsealed record.
    w.put(&rogue_key, &unsealed(&attacker_store.get(&rogue_key)));
    let why = authenticity(&verify(&sc.evil, &[]).expect(1));
    assert!(why.contains("not sealed"), "{why}");
    verify(&sc.good, &[]).expect(0);

    // 3. A legitimate sealed record copied to the rogue version's key.
    let real_key = format!("profiles/App/versions/{}.json", sc.version);
    w.put(&rogue_key, &w.get(&real_key));
    let why = authenticity(&verify(&sc.evil, &[]).expect(1));
    assert!(why.contains(&format!("sealed for {real_key}")), "{why}");
    w.delete(&rogue_key);

    // 4. The root swapped for the attacker's, with the attacker's whole profile: every
    //    package of this store is refused, the legitimate one too, with the trust-root
    //    message.
    let root = w.get("ca/root.json");
    let victims: Vec<(String, Vec<u8>)> = w.keys("profiles").into_iter().map(|k| (k.clone(), w.get(&k))).collect();
    w.put("ca/root.json", &attacker_store.get("ca/root.json"));
    for k in attacker_store.keys("profiles") {
        w.put(&k, &attacker_store.get(&k));
    }
    for p in [&sc.evil, &sc.good] {
        let e = error_message(&verify(p, &[]).expect(1));
        assert!(e.starts_with("trust root:") || e.contains("trust root: the store's root CA"), "{e}");
    }
    w.put("ca/root.json", &root);
    verify(&sc.evil, &[]).expect(1);
    for k in attacker_store.keys("profiles") {
        if k.contains(&sc.rogue) {
            w.delete(&k);
        }
    }
    // The attacker's profile.json and order entry replaced the victim's: refused by name.
    let e = error_message(&v.json(["profile", "show", "App"]).expect(3));
    assert!(e.contains("profiles/App/profile.json") && e.contains("not by the pinned root"), "{e}");
    for (k, bytes) in &victims {
        w.put(k, bytes);
    }
    v.json(["profile", "show", "App"]).expect(0);

    // 5. A CSC revision that allows the attacker's version; and the first revision
    //    replayed as a later one.
    let revisions = format!("cscs/{}/revisions", sc.csc);
    let first = w.keys(&revisions).into_iter().next().unwrap();
    let second = first.replace("00000000000000000001.json", "00000000000000000002.json");
    let mut rev: Value = serde_json::from_slice(&unsealed(&w.get(&first))).unwrap();
    rev["allowed_publishers"] = serde_json::json!([format!("App/{}", sc.rogue)]);
    w.put(&second, &serde_json::to_vec(&rev).unwrap());
    let e = error_message(&verify(&sc.evil, &["--csc", &sc.csc]).expect(3));
    assert!(e.contains(&second) && e.contains("not sealed"), "{e}");
    w.put(&second, &w.get(&first));
    let e = error_message(&verify(&sc.evil, &["--csc", &sc.csc]).expect(3));
    assert!(e.contains(&format!("sealed for {first}")), "{e}");
    w.delete(&second);

    // 6. A revocation the root did not make: refused, not believed (and never an allow).
    let forged = format!("revocations/profiles/App/{}/00000000000000000001.json", sc.version);
    w.put(
        &forged,
        serde_json::json!({"version": format!("App/{}", sc.version), "effective_time": "2020-01-01T00:00:00Z",
            "reason": "x", "revoked_at": "2020-01-01T00:00:00Z"})
        .to_string()
        .as_bytes(),
    );
    let e = error_message(&verify(&sc.good, &[]).expect(3));
    assert!(e.contains(&forged), "{e}");
    w.delete(&forged);

    // 7. A layer record pointed at another layer's bytes.
    let one = v.path("one.zip");
    let two = v.path("two.zip");
    crate::util::make_zip(&one, &[("python/one.py", b"print(1)", true)]);
    crate::util::make_zip(&two, &[("python/two.py", b"print(2)", true)]);
    let sha_one = v.json(["layer", "publish", "one", s(&one)]).expect(0).json()["sha256"].as_str().unwrap().to_owned();
    let sha_two = v.json(["layer", "publish", "two", s(&two)]).expect(0).json()["sha256"].as_str().unwrap().to_owned();
    let record = w.keys("layers/one/versions").into_iter().next().unwrap();
    let edited = String::from_utf8(w.get(&record)).unwrap().replace(&sha_one, &sha_two);
    w.put(&record, edited.as_bytes());
    let e = error_message(&v.json(["layer", "show", "one:1"]).expect(3));
    assert!(e.contains(&record) && e.contains("altered"), "{e}");

    // Undone, everything of the victim's verifies as before.
    verify(&sc.good, &["--csc", &sc.csc]).expect(0);
}

#[test]
fn the_store_writer_cannot_turn_a_deny_into_an_allow_on_the_file_store() {
    the_store_writer_cannot_turn_a_deny_into_an_allow(Env::new());
}

#[test]
fn the_store_writer_cannot_turn_a_deny_into_an_allow_on_s3() {
    let Some(bucket) = s3_bucket() else { return };
    the_store_writer_cannot_turn_a_deny_into_an_allow(Env::with_store(&format!("s3://{bucket}/state")));
}

/// A verifier on another machine: no home of the store's, only the root it was told.
#[test]
fn a_verifier_trusts_the_root_it_was_given_and_nothing_else() {
    let sc = scene(Env::new());
    let store = store_url(&sc.victim);
    let elsewhere = Env::with_store(&store);
    // No pin: said, not guessed; and nothing is created.
    let e = error_message(&elsewhere.json(["verify", s(&sc.good)]).expect(4));
    assert!(e.contains("no trusted root is pinned") && e.contains("--trust-root"), "{e}");

    let shown = sc.victim.json(["trust", "show"]).expect(0).json();
    let fingerprint = shown["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(shown["store_root"], "matches");
    let by_hex = format!("sha256:{fingerprint}");
    elsewhere.json(["--trust-root", &by_hex, "verify", s(&sc.good)]).expect(0);
    // The environment variable works the same.
    let run: Run =
        elsewhere.cmd().env("SIGNER_TRUST_ROOT", &by_hex).args(["verify", s(&sc.good)]).output().unwrap().into();
    run.expect(0);

    // The attacker's root, given by mistake or by a poisoned config: nothing verifies.
    let theirs = sc.attacker.json(["trust", "show"]).expect(0).json()["fingerprint"].as_str().unwrap().to_owned();
    let e =
        error_message(&elsewhere.json(["--trust-root", &format!("sha256:{theirs}"), "verify", s(&sc.good)]).expect(1));
    assert!(e.contains("trust root"), "{e}");
    elsewhere.json(["--trust-root", "sha256:1234", "verify", s(&sc.good)]).expect(2);

    // The exported certificate as the pin, and as openssl's CA for the signer's chain.
    let pem = sc.victim.path("root.pem");
    sc.victim.json(["trust", "export", "-o", s(&pem)]).expect(0);
    elsewhere.json(["--trust-root", s(&pem), "verify", s(&sc.good)]).expect(0);
    let sig = sc.victim.path("sig");
    sc.victim.run(["signature", "export", s(&sc.good), "--dir", s(&sig)]).expect(0);
    let ok = crate::util::tool(
        "openssl",
        &["verify", "-CAfile", s(&pem), "-untrusted", s(&sig.join("chain.pem")), s(&sig.join("certificate.pem"))],
    );
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);

    // `trust show` against a store whose root was swapped: exit 1 and says so.
    let w = &sc.writer;
    let attacker_root = Writer::new(&store_url(&sc.attacker)).get("ca/root.json");
    w.put("ca/root.json", &attacker_root);
    let shown = sc.victim.json(["trust", "show"]).expect(1).json();
    assert!(shown["store_root"].as_str().unwrap().starts_with("trust root:"), "{shown}");
    // And `init` refuses to re-pin: a home pins one root.
    let e = error_message(&sc.victim.json(["init"]).expect(1));
    assert!(e.contains("trust root"), "{e}");
}

/// A store written before records were sealed: refused until `init --seal-existing`.
#[test]
fn a_store_from_before_sealing_is_migrated_by_init_seal_existing() {
    let sc = scene(Env::new());
    let w = &sc.writer;
    let mut plain = 0;
    for prefix in ["profiles", "cscs"] {
        for k in w.keys(prefix) {
            w.put(&k, &unsealed(&w.get(&k)));
            plain += 1;
        }
    }
    let why = authenticity(&sc.victim.json(["verify", s(&sc.good)]).expect(1));
    assert!(why.contains("not sealed"), "{why}");
    // Plain init changes nothing; the migration step seals every plain record.
    assert_eq!(sc.victim.json(["init"]).expect(0).json()["sealed_record_count"], 0);
    sc.victim.run(["verify", s(&sc.good)]).expect(1);
    let done = sc.victim.json(["init", "--seal-existing"]).expect(0).json();
    assert_eq!(done["sealed_record_count"], plain);
    sc.victim.run(["verify", s(&sc.good), "--csc", &sc.csc]).expect(0);
    // It needs the root key: a home without it cannot seal anything.
    let other = Env::with_store(&store_url(&sc.victim));
    let pem = sc.victim.path("root.pem");
    sc.victim.run(["trust", "export", "-o", s(&pem)]).expect(0);
    let e = error_message(&other.json(["--trust-root", s(&pem), "init", "--seal-existing"]).expect(4));
    assert!(e.contains("root CA's key"), "{e}");
}

/// The victim's store through the library, trusting and sealing as the victim's home.
fn library_store(env: &Env) -> Store {
    Store::open(&store_url(env)).unwrap().trusting_home(&signer::home::Home::open(&env.home()).unwrap())
}

/// Deleting what was revoked, deleted or changed, or putting back an older snapshot, is
/// stale or denied, never an allow.
fn the_store_writer_cannot_roll_trust_back(victim: Env) {
    let sc = scene(victim);
    let (v, w) = (&sc.victim, &sc.writer);
    let lib = library_store(v);
    // A snapshot from two days ago, issued by the root key, then today's changes.
    let two_days_ago = signer::clock::now().plus_secs(-2 * 86_400);
    let old = w.rt.block_on(signer::snapshots::publish(&lib, two_days_ago)).unwrap();
    let old_key = format!("snapshots/{:020}.json", old.number);

    // A second publisher, revoked; a config update; a deleted layer.
    let retired = v.profile("Retired", &[]);
    let retired_pkg = v.sign("Retired", &fixture("packages/hello-function.zip"), "retired.zip");
    let retired_ref = format!("Retired/{retired}");
    v.json([
        "profile",
        "revoke",
        "Retired",
        "--version",
        &retired,
        "--effective-time",
        "2020-01-01T00:00:00Z",
        "--reason",
        "left",
    ])
    .expect(0);
    v.json(["csc", "update", &sc.csc, "--add-publisher", &retired_ref]).expect(0);
    v.json(["csc", "update", &sc.csc, "--remove-publisher", &retired_ref]).expect(0);
    let layer = v.path("l.zip");
    crate::util::make_zip(&layer, &[("python/l.py", b"print(1)", true)]);
    v.json(["layer", "publish", "lib", s(&layer), "--sign", "App"]).expect(0);
    v.json(["layer", "delete", "lib:1"]).expect(0);
    let verify = |p: &Path, extra: &[&str]| {
        let mut args = vec!["verify", s(p)];
        args.extend_from_slice(extra);
        v.json(args)
    };
    let failed_check = |run: &Run| -> String {
        let v = run.json();
        v["packages"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["check"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(failed_check(&verify(&retired_pkg, &[]).expect(1)), "revocation");
    verify(&sc.good, &["--csc", &sc.csc]).expect(0);

    // 1. The revocation records deleted: the snapshot still has them.
    for k in w.keys("revocations") {
        w.delete(&k);
    }
    assert_eq!(failed_check(&verify(&retired_pkg, &[]).expect(1)), "revocation");

    // 2. The config's newest revision deleted (it removed Retired again): stale.
    let revisions = w.keys(&format!("cscs/{}/revisions", sc.csc));
    let newest_rev = revisions.last().unwrap().clone();
    let newest_bytes = w.get(&newest_rev);
    w.delete(&newest_rev);
    let e = error_message(&verify(&retired_pkg, &["--csc", &sc.csc]).expect(3));
    assert!(e.contains("stale") && e.contains("rollback"), "{e}");
    w.put(&newest_rev, &newest_bytes);

    // 3. A layer's tombstone deleted: the deploy check still knows it is deleted.
    for k in w.keys("layers/lib/deleted") {
        w.delete(&k);
    }
    let d = v.path("d.json");
    let doc = serde_json::json!({"function": "f", "code": s(&sc.good), "layers": ["lib:1"]});
    std::fs::write(&d, doc.to_string()).unwrap();
    let run = v.json(["deploy", "check", s(&d)]).expect(1);
    assert!(run.stdout.contains("deleted"), "{}", run.stdout);

    // 4. Every snapshot after the old one deleted (and the revocations): this home saw
    //    newer ones, so it is a rollback.
    let newest: Vec<String> = w.keys("snapshots").into_iter().filter(|k| *k > old_key).collect();
    let saved: Vec<(String, Vec<u8>)> = newest.iter().map(|k| (k.clone(), w.get(k))).collect();
    for k in &newest {
        w.delete(k);
    }
    let e = error_message(&verify(&retired_pkg, &[]).expect(3));
    assert!(e.contains("rollback") && e.contains(&format!("number {}", old.number)), "{e}");
    // A verifier that never saw the newer ones gets the old snapshot, two days old:
    // refused past its --max-age.
    let fresh = Env::with_store(&store_url(v));
    let pin = format!("sha256:{}", v.json(["trust", "show"]).expect(0).json()["fingerprint"].as_str().unwrap());
    let e = error_message(&fresh.json(["--trust-root", &pin, "verify", s(&retired_pkg), "--max-age", "1d"]).expect(3));
    assert!(e.contains("older than --max-age 1d") && e.contains("trust refresh"), "{e}");

    // 5. The old snapshot put back under the newest one's number: sealed for its own key.
    let (top, _) = saved.last().unwrap();
    w.put(top, &w.get(&old_key));
    let e = error_message(&verify(&retired_pkg, &[]).expect(3));
    assert!(e.contains(&format!("sealed for {old_key}")), "{e}");

    // Restored, and refreshed: the revocation stands although its records are gone.
    for (k, bytes) in &saved {
        w.put(k, bytes);
    }
    v.json(["trust", "refresh"]).expect(0);
    assert_eq!(failed_check(&verify(&retired_pkg, &["--max-age", "1h"]).expect(1)), "revocation");
    verify(&sc.good, &["--csc", &sc.csc, "--max-age", "1h"]).expect(0);
}

#[test]
fn the_store_writer_cannot_roll_trust_back_on_the_file_store() {
    the_store_writer_cannot_roll_trust_back(Env::new());
}

#[test]
fn the_store_writer_cannot_roll_trust_back_on_s3() {
    let Some(bucket) = s3_bucket() else { return };
    the_store_writer_cannot_roll_trust_back(Env::with_store(&format!("s3://{bucket}/state")));
}

/// A deploy hook with no store at all judges from a bundle, as it would from the store;
/// a bundle that was edited, thinned, padded, stale or from another store never allows.
#[test]
fn a_trust_bundle_judges_with_no_store_and_cannot_be_edited_into_an_allow() {
    let sc = scene(Env::new());
    let v = &sc.victim;
    let retired = v.profile("Retired", &[]);
    let retired_pkg = v.sign("Retired", &fixture("packages/hello-function.zip"), "retired.zip");
    v.json([
        "profile",
        "revoke",
        "Retired",
        "--version",
        &retired,
        "--effective-time",
        "2020-01-01T00:00:00Z",
        "--reason",
        "left",
    ])
    .expect(0);
    let bundle = v.path("trust.json");
    let summary = v.json(["trust", "bundle", "-o", s(&bundle)]).expect(0).json();
    assert!(summary["summary"]["object_count"].as_u64().unwrap() > 5, "{summary}");
    let pin = format!("sha256:{}", v.json(["trust", "show"]).expect(0).json()["fingerprint"].as_str().unwrap());

    // The hook: a fresh home, no store anywhere, the root given.
    let hook = Env::new();
    let check = |b: &Path, pkg: &Path, extra: &[&str]| {
        let d = hook.path("deployment.json");
        let doc = serde_json::json!({"function": "f", "code": s(pkg), "code_signing_config": sc.csc});
        std::fs::write(&d, doc.to_string()).unwrap();
        let mut args = vec!["--trust-root", pin.as_str(), "deploy", "check", s(&d), "--trust-bundle", s(b)];
        args.extend_from_slice(extra);
        hook.json(args)
    };
    let failed = |run: &Run| -> Vec<String> {
        let v = run.json();
        let checks = v["packages"][0]["checks"].as_array().unwrap().clone();
        checks.iter().filter(|c| c["status"] == "fail").map(|c| c["check"].as_str().unwrap().to_owned()).collect()
    };
    check(&bundle, &sc.good, &[]).expect(0);
    assert_eq!(failed(&check(&bundle, &sc.evil, &[]).expect(1)), ["authenticity"]);
    // Retired is not in the config: mismatch; and its revocation came with the bundle.
    let run = hook.json(["--trust-root", &pin, "verify", s(&retired_pkg), "--trust-bundle", s(&bundle)]).expect(1);
    assert_eq!(failed(&run), ["revocation"]);
    assert!(!hook.home().join("store").exists(), "the hook made a store");
    // No pin: the bundle's own root is not taken on its word.
    let e = error_message(&hook.json(["verify", s(&sc.good), "--trust-bundle", s(&bundle)]).expect(4));
    assert!(e.contains("no trusted root is pinned"), "{e}");

    let doc: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let edit = |name: &str, f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut d = doc.clone();
        f(d["objects"].as_object_mut().unwrap());
        let p = hook.path(name);
        std::fs::write(&p, serde_json::to_vec(&d).unwrap()).unwrap();
        p
    };
    // Edited: the config now allows the attacker's version.
    let csc_key = format!("cscs/{}/revisions/00000000000000000001.json", sc.csc);
    let edited = edit("edited.json", &|o| {
        let mut rec: Value = serde_json::from_str(o[&csc_key].as_str().unwrap()).unwrap();
        rec["record"]["allowed_publishers"] = serde_json::json!([format!("App/{}", sc.rogue)]);
        o.insert(csc_key.clone(), Value::String(rec.to_string()));
    });
    let e = error_message(&check(&edited, &sc.evil, &[]).expect(3));
    assert!(e.contains(&csc_key) && e.contains("altered"), "{e}");
    // Thinned: the revocation record dropped; the snapshot still has it.
    let thinned = edit("thinned.json", &|o| o.retain(|k, _| !k.starts_with("revocations/")));
    let run = hook.json(["--trust-root", &pin, "verify", s(&retired_pkg), "--trust-bundle", s(&thinned)]).expect(1);
    assert_eq!(failed(&run), ["revocation"]);
    // Without its snapshot: stale, never judged.
    let bare = edit("bare.json", &|o| o.retain(|k, _| !k.starts_with("snapshots/")));
    let e = error_message(&check(&bare, &sc.good, &[]).expect(3));
    assert!(e.contains("no trust snapshot"), "{e}");
    // Padded with something that is not a trust record.
    let padded = edit("padded.json", &|o| {
        o.insert("jobs/x/job.json".into(), Value::String("{}".into()));
    });
    let e = error_message(&check(&padded, &sc.good, &[]).expect(3));
    assert!(e.contains("not a trust record"), "{e}");
    // Another store's bundle, under this pin.
    let theirs = sc.attacker.path("theirs.json");
    sc.attacker.json(["trust", "bundle", "-o", s(&theirs)]).expect(0);
    let e = error_message(&check(&theirs, &sc.evil, &[]).expect(1));
    assert!(e.contains("trust root"), "{e}");
    // Stale: older than the hook's --max-age.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let e = error_message(&check(&bundle, &sc.good, &["--max-age", "1s"]).expect(3));
    assert!(e.contains("older than --max-age 1s"), "{e}");
}

/// The root key can stay offline: an administrator it appointed seals in its place, and
/// nobody else can appoint one; once revoked, nothing the administrator sealed is trusted,
/// even when the revocation record is deleted.
#[test]
fn an_administrator_seals_for_the_root_until_revoked() {
    let sc = scene(Env::new());
    let (v, w) = (&sc.victim, &sc.writer);
    let pem = v.path("root.pem");
    v.run(["trust", "export", "-o", s(&pem)]).expect(0);
    // The administrator's home: the pin and their own key, no root key.
    let ci = Env::with_store(&store_url(v));
    ci.json(["--trust-root", s(&pem), "init"]).expect(0);
    let public = ci.path("ci.pub.pem");
    ci.json(["admin", "keygen", "layers_ci", "-o", s(&public)]).expect(0);
    let zip = ci.path("deps.zip");
    crate::util::make_zip(&zip, &[("python/deps.py", b"print(1)", true)]);

    // Before the root appoints them, their seals are refused by every reader.
    ci.json(["layer", "publish", "early", s(&zip)]).expect(0);
    let e = error_message(&v.json(["layer", "show", "early:1"]).expect(3));
    assert!(e.contains("never appointed"), "{e}");
    // Only the root appoints: not the administrator themselves.
    let e = error_message(&ci.json(["admin", "add", "layers_ci", "--public-key", s(&public)]).expect(4));
    assert!(e.contains("only the root"), "{e}");
    v.json(["admin", "add", "layers_ci", "--public-key", s(&public)]).expect(0);
    v.json(["layer", "show", "early:1"]).expect(0);

    // Appointed: layers, configs and snapshots they seal are trusted.
    ci.json(["layer", "publish", "deps", s(&zip)]).expect(0);
    let allowed = format!("App/{}", sc.version);
    let id =
        ci.json(["csc", "create", "--allowed-publisher", &allowed]).expect(0).json()["id"].as_str().unwrap().to_owned();
    ci.json(["trust", "refresh"]).expect(0);
    v.json(["verify", s(&sc.good), "--csc", &id]).expect(0);
    v.json(["layer", "show", "deps:1"]).expect(0);
    // Offline too: the bundle carries the administrator.
    let bundle = v.path("trust.json");
    v.json(["trust", "bundle", "-o", s(&bundle)]).expect(0);
    let hook = Env::new();
    hook.json(["--trust-root", s(&pem), "verify", s(&sc.good), "--csc", &id, "--trust-bundle", s(&bundle)]).expect(0);
    // But what needs the root stays the root's.
    let e = error_message(&ci.json(["profile", "create", "Ci"]).expect(4));
    assert!(e.contains("root CA's private key"), "{e}");

    // An administrator cannot appoint another, even by writing the record themselves.
    let key = ci.home().join("keys/admins/layers_ci.pk8");
    let forged = ci.path("forged.pub.pem");
    ci.json(["admin", "keygen", "evil", "-o", s(&forged)]).expect(0);
    std::fs::remove_file(ci.home().join("keys/admins/evil.pk8")).unwrap();
    let spki = std::fs::read_to_string(&forged).unwrap();
    let body: String = spki.lines().filter(|l| !l.starts_with("-----")).collect();
    let record = serde_json::json!({"name": "evil", "public_key": body, "created_at": "2026-01-01T00:00:00Z"});
    let envelope = sealed_by_admin(&key, "layers_ci", "admins/evil.json", &record);
    w.put("admins/evil.json", &envelope);
    let e = error_message(&v.json(["admin", "list"]).expect(3));
    assert!(e.contains("admins/evil.json") && e.contains("admin:layers_ci"), "{e}");
    w.delete("admins/evil.json");

    // Revoked: everything they sealed is untrusted, the config and the layers too.
    v.json(["admin", "revoke", "layers_ci", "--reason", "laptop lost"]).expect(0);
    let e = error_message(&v.json(["verify", s(&sc.good), "--csc", &id]).expect(3));
    assert!(e.contains("revoked"), "{e}");
    let e = error_message(&v.json(["layer", "show", "deps:1"]).expect(3));
    assert!(e.contains("layers_ci") && e.contains("revoked"), "{e}");
    // The revocation record deleted: the root's snapshot still says so to verifiers.
    w.delete("admins/layers_ci.revoked.json");
    let e = error_message(&v.json(["verify", s(&sc.good), "--csc", &id]).expect(3));
    assert!(e.contains("revoked"), "{e}");
    // The legitimate package still verifies without the revoked administrator's config.
    v.json(["verify", s(&sc.good), "--csc", &sc.csc]).expect(0);
}

/// A record sealed with an administrator's key file, as a store writer who stole it would.
fn sealed_by_admin(key_file: &Path, admin: &str, key: &str, record: &Value) -> Vec<u8> {
    use base64::Engine as _;
    let der = std::fs::read(key_file).unwrap();
    let secret = signer::crypto::SecretKey::from_pkcs8(&der).unwrap();
    let text = record.to_string();
    let message = format!("signer-record-v1\n{key}\n{text}");
    let signature = base64::engine::general_purpose::STANDARD.encode(secret.sign(message.as_bytes()).unwrap());
    format!(
        r#"{{"format":"signer-record-v1","key":"{key}","record":{text},"signed_by":"admin:{admin}","signature":"{signature}"}}"#
    )
    .into_bytes()
}

/// The profile head (`profiles/NAME/head.json`) is what `sign-job start` reads. A store
/// writer who puts back the head from before a cancellation or a revocation, or writes
/// one of their own, gets at most a job submitted, never one signed: the worker reads
/// the profile's records themselves before signing.
fn a_replayed_or_forged_profile_head_gets_no_job_signed(victim: Env) {
    let sc = scene(victim);
    let (v, w) = (&sc.victim, &sc.writer);
    let pkg = fixture("packages/hello-function.zip");
    let out = v.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let start = |profile: &str| {
        v.json(["sign-job", "start", "--profile", profile, "--source", s(&pkg), "--destination", s(&out)])
    };
    let signed_by_worker = |id: &str| {
        v.run(["worker", "--until-idle"]).expect(0);
        let d = v.json(["sign-job", "describe", id]).expect(0).json();
        (d["status"].as_str().unwrap().to_owned(), d["status_reason"].as_str().unwrap_or_default().to_owned())
    };
    let active_head = w.get("profiles/App/head.json");

    // Canceled, then the Active head put back: the start goes through, the job fails.
    v.json(["profile", "cancel", "App"]).expect(0);
    let refused = start("App");
    assert_eq!(refused.code, 5, "a canceled profile takes no jobs: {}", refused.stdout);
    w.put("profiles/App/head.json", &active_head);
    let id = start("App").expect(0).json()["job_id"].as_str().unwrap().to_owned();
    let (status, reason) = signed_by_worker(&id);
    assert_eq!(status, "Failed", "{reason}");
    assert!(reason.contains("canceled"), "{reason}");
    assert!(!out.join(format!("{id}.zip")).exists(), "nothing was signed");

    // Revoked, then the Active head put back: the same.
    let other = v.profile("Other", &[]);
    let other_head = w.get("profiles/Other/head.json");
    v.json(["profile", "revoke", "Other", "--version", &other, "--reason", "key-compromise"]).expect(0);
    assert_eq!(start("Other").code, 5, "a revoked profile takes no jobs");
    w.put("profiles/Other/head.json", &other_head);
    let id = start("Other").expect(0).json()["job_id"].as_str().unwrap().to_owned();
    let (status, reason) = signed_by_worker(&id);
    assert_eq!(status, "Failed", "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
    assert!(!out.join(format!("{id}.zip")).exists(), "nothing was signed");

    // A head the root did not seal (the Active one, unsealed) is not believed: the
    // profile's records are read instead, and they say canceled.
    w.put("profiles/App/head.json", &unsealed(&active_head));
    let r = start("App");
    assert_eq!(r.code, 5, "an unsealed head let a job in: {}", r.stdout);
    assert!(error_message(&r).contains("Canceled"), "{}", r.stdout);
    // No head at all (a store from before heads): the records, the same answer.
    w.delete("profiles/App/head.json");
    assert_eq!(start("App").code, 5);
}

#[test]
fn a_replayed_or_forged_profile_head_gets_no_job_signed_on_the_file_store() {
    a_replayed_or_forged_profile_head_gets_no_job_signed(Env::new());
}

#[test]
fn a_replayed_or_forged_profile_head_gets_no_job_signed_on_s3() {
    let Some(bucket) = s3_bucket() else { return };
    a_replayed_or_forged_profile_head_gets_no_job_signed(Env::with_store(&format!("s3://{bucket}/state")));
}
