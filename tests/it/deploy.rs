//! Code-signing configs, `verify --csc`, the deploy hook and signed revocation lists,
//! through the real binary (issue 5). Every JSON verdict printed here is validated against
//! `schema/verdict.schema.json`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use signer::home::{Home, KeyId};
use signer::model::{JobId, Timestamp};
use signer::sign::{SignParams, sign_package};
use signer::store::Store;
use signer::zipcheck::ZipLimits;

use crate::util::{Env, Run, fixture, make_zip};

// ---------------------------------------------------------------------------------------
// Helpers

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/verdict.schema.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::draft202012::new(&doc).unwrap()
    })
}

/// The verdict on stdout, after checking it against the schema.
fn verdict(r: &Run) -> Value {
    let v = r.json();
    let errors: Vec<String> = schema().iter_errors(&v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "verdict does not match schema/verdict.schema.json: {errors:#?}\n{v:#}");
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn store_of(env: &Env) -> Store {
    Store::open(&format!("file://{}", env.home().join("store").display()))
        .unwrap()
        .trusting_home(&Home::open(&env.home()).unwrap())
}

/// `csc create` with these publishers and policy; returns the id.
fn csc(env: &Env, publishers: &[String], policy: &str) -> String {
    let mut args = vec!["csc".to_owned(), "create".into(), "--policy".into(), policy.into()];
    for p in publishers {
        args.push("--allowed-publisher".into());
        args.push(p.clone());
    }
    env.json(&args).expect(0).json()["id"].as_str().unwrap().to_owned()
}

/// (status, action) of a package's checks, by name.
fn check<'a>(v: &'a Value, package: usize, name: &str) -> (&'a str, &'a str) {
    let c = v["packages"][package]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {v:#}"));
    (c["status"].as_str().unwrap(), c["action"].as_str().unwrap())
}

/// The names of the failed checks of a package.
fn failed(v: &Value, package: usize) -> Vec<String> {
    v["packages"][package]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

fn limit<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["limits"].as_array().unwrap().iter().find(|l| l["check"] == name).unwrap_or_else(|| panic!("no {name} in {v:#}"))
}

/// Signs `src` into `out` through the library with the profile's current key, at
/// `signed_at`, as signing job `job` if given.
fn sign_as(env: &Env, profile: &str, src: &Path, out: &Path, signed_at: Timestamp, job: Option<JobId>) {
    let store = store_of(env);
    let home = Home::open(&env.home()).unwrap();
    let id = rt().block_on(signer::profiles::signing_identity(&store, &home, &profile.parse().unwrap())).unwrap();
    let params = SignParams {
        chain: id.version.chain_der().unwrap(),
        key: id.key,
        version: id.version.version.clone(),
        job_id: job,
        signed_at,
        expires_at: signed_at.plus_secs(id.validity.secs()),
        stamper: None,
    };
    let mut input = std::fs::File::open(src).unwrap();
    let output = std::fs::File::create(out).unwrap();
    sign_package(&mut input, output, &params, &ZipLimits::default(), &mut |_| {}).unwrap();
}

fn write_json(env: &Env, name: &str, doc: &Value) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, doc.to_string()).unwrap();
    p
}

/// `deploy check` of `doc` (as a file), in JSON mode.
fn deploy(env: &Env, doc: &Value, extra: &[&str]) -> Run {
    let p = write_json(env, "deployment.json", doc);
    let mut args = vec!["deploy", "check", s(&p)];
    args.extend_from_slice(extra);
    env.json(args)
}

/// `profile create NAME` in an env whose CA exists; returns `NAME/VERSION`.
fn publisher(env: &Env, name: &str) -> String {
    format!("{name}/{}", env.profile(name, &[]))
}

// ---------------------------------------------------------------------------------------
// Code-signing configs

#[test]
fn csc_lifecycle_and_refusals() {
    let env = Env::new();
    let a = publisher(&env, "Alpha");
    let b = publisher(&env, "Beta");

    let c = env.json(["csc", "create", "--allowed-publisher", &a, "--description", "prod"]).expect(0).json();
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("csc-") && id.len() == 21 && id[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(c["policy"], "enforce", "enforce is the default");
    assert_eq!(c["allowed_publishers"], json!([a]));
    assert_eq!(c["revision"], 1);

    // Refusals: no publisher (usage), a malformed one (usage), an unknown one (not
    // found), more than 20 (invalid), a description that is too long (invalid).
    env.run(["csc", "create"]).expect(2);
    env.run(["csc", "create", "--allowed-publisher", "Alpha"]).expect(2);
    let r = env.run(["csc", "create", "--allowed-publisher", "Alpha/ZZZZZZZZZZ"]).expect(4);
    assert!(r.stderr.contains("Alpha/ZZZZZZZZZZ"), "{}", r.stderr);
    let many: Vec<String> = (0..21).map(|i| format!("P{i:02}/AbCdEf{i:04}")).collect();
    let mut args = vec!["csc", "create", "--allowed-publisher"];
    args.extend(many.iter().map(String::as_str));
    let r = env.run(&args).expect(3);
    assert!(r.stderr.contains("1 to 20"), "{}", r.stderr);
    env.run(["csc", "create", "--allowed-publisher", &a, "--description", &"x".repeat(257)]).expect(3);
    env.run(["csc", "create", "--allowed-publisher", &a, "--policy", "audit"]).expect(2);

    // Show, list, update.
    assert_eq!(env.json(["csc", "show", &id]).expect(0).json()["id"], id.as_str());
    let w = env.json(["csc", "create", "--allowed-publisher", &a, &b, "--policy", "warn"]).expect(0).json();
    assert_eq!(w["allowed_publishers"], json!([a, b]));
    let list = env.json(["csc", "list"]).expect(0).json();
    assert_eq!(list["cscs"].as_array().unwrap().len(), 2);
    let u = env
        .json(["csc", "update", &id, "--add-publisher", &b, "--remove-publisher", &a, "--policy", "warn"])
        .expect(0)
        .json();
    assert_eq!(u["allowed_publishers"], json!([b]));
    assert_eq!((u["policy"].as_str(), u["revision"].as_u64()), (Some("warn"), Some(2)));
    assert_eq!(u["description"], "prod", "unchanged parts are kept");
    env.run(["csc", "update", &id]).expect(2);
    let r = env.run(["csc", "update", &id, "--remove-publisher", &b]).expect(3);
    assert!(r.stderr.contains("csc delete"), "{}", r.stderr);
    env.run(["csc", "update", &id, "--remove-publisher", &a]).expect(3);
    env.run(["csc", "update", &id, "--add-publisher", "Beta/ZZZZZZZZZZ"]).expect(4);
    env.run(["csc", "show", "csc-00000000000000000"]).expect(4);
    env.run(["csc", "show", "csc-nothex"]).expect(2);

    // Delete: gone for show, update, verify and deploy; the id is not listed.
    assert_eq!(env.json(["csc", "delete", &id]).expect(0).json()["already_deleted"], false);
    env.run(["csc", "show", &id]).expect(4);
    // Issue 16, point 6: deleting again is not an error (as for layer versions), and says so.
    assert_eq!(env.json(["csc", "delete", &id]).expect(0).json()["already_deleted"], true);
    env.run(["csc", "delete", "csc-00000000000000000"]).expect(4);
    env.run(["csc", "update", &id, "--policy", "enforce"]).expect(4);
    let list = env.json(["csc", "list"]).expect(0).json();
    assert_eq!(list["cscs"].as_array().unwrap().len(), 1);
    let signed = env.sign("Alpha", &fixture("packages/hello-function.zip"), "s.zip");
    env.run(["verify", s(&signed), "--csc", &id]).expect(4);
    let d = json!({"function":"f","code":s(&signed),"code_signing_config":id});
    deploy(&env, &d, &[]).expect(4);
}

#[test]
fn a_config_file_works_like_the_stored_config() {
    let env = Env::new();
    let a = publisher(&env, "Alpha");
    let id = csc(&env, std::slice::from_ref(&a), "enforce");
    let shown = env.json(["csc", "show", &id]).expect(0).stdout;
    let file = env.path("csc.json");
    std::fs::write(&file, shown).unwrap();
    let signed = env.sign("Alpha", &fixture("packages/hello-function.zip"), "s.zip");
    let unsigned = fixture("packages/hello-function.zip");
    verdict(&env.json(["verify", s(&signed), "--csc-file", s(&file)]).expect(0));
    let v = verdict(&env.json(["verify", s(&unsigned), "--csc-file", s(&file)]).expect(1));
    assert_eq!(failed(&v, 0), ["mismatch"]);
    // A hand-written one with warn.
    let warn = write_json(&env, "warn.json", &json!({"allowed_publishers":[a],"policy":"warn"}));
    let v = verdict(&env.json(["verify", s(&unsigned), "--csc-file", s(&warn)]).expect(0));
    assert_eq!(v["policy"], "warn");
    // Both forms at once, a bad file, a missing one.
    env.run(["verify", s(&signed), "--csc", &id, "--csc-file", s(&file)]).expect(2);
    let bad = write_json(&env, "bad.json", &json!({"allowed_publishers":[a],"polcy":"warn"}));
    env.run(["verify", s(&signed), "--csc-file", s(&bad)]).expect(3);
    let empty = write_json(&env, "empty.json", &json!({"allowed_publishers":[]}));
    env.run(["verify", s(&signed), "--csc-file", s(&empty)]).expect(3);
    env.run(["verify", s(&signed), "--csc-file", s(&env.path("nope.json"))]).expect(4);
}

// ---------------------------------------------------------------------------------------
// The matrix: every kind of artifact under warn and enforce (SPEC §5)

#[test]
fn every_artifact_kind_under_warn_and_enforce() {
    let env = Env::new();
    let src = fixture("packages/hello-function.zip");
    let alpha = publisher(&env, "Alpha");
    let rev = publisher(&env, "Rev");
    publisher(&env, "Other");
    let warn = csc(&env, &[alpha.clone(), rev.clone()], "warn");
    let enforce = csc(&env, &[alpha.clone(), rev.clone()], "enforce");

    let allowed = env.sign("Alpha", &src, "allowed.zip");
    let other = env.sign("Other", &src, "other.zip");
    let tampered = env.path("tampered.zip");
    let mut bytes = std::fs::read(&allowed).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&tampered, bytes).unwrap();
    // Forged: a profile with the same name in another store, under another root CA.
    let rogue = Env::new();
    rogue.profile("Alpha", &[]);
    let forged = rogue.sign("Alpha", &src, "forged.zip");
    // Revoked version: Rev's version is revoked effective before it signed.
    let revoked_version = env.sign("Rev", &src, "revoked-version.zip");
    let rev_version = rev.split('/').nth(1).unwrap();
    env.run([
        "profile",
        "revoke",
        "Rev",
        "--version",
        rev_version,
        "--effective-time",
        "2020-01-01T00:00:00Z",
        "--reason",
        "key leaked",
    ])
    .expect(0);
    // Revoked job: signed by an allowed version as a signing job whose signature was
    // revoked.
    let job = JobId::random();
    let revoked_job = env.path("revoked-job.zip");
    sign_as(&env, "Alpha", &src, &revoked_job, signer::clock::now(), Some(job.clone()));
    rt().block_on(signer::profiles::revoke_job(&store_of(&env), &job, "built from a bad commit", signer::clock::now()))
        .unwrap();

    struct Case<'a> {
        what: &'a str,
        package: &'a Path,
        at: Option<&'a str>,
        /// The one check that fails, if any.
        failing: Option<&'a str>,
        /// The decision under warn (enforce denies every failure).
        warn_decision: &'a str,
    }
    let far_future = "2999-01-01T00:00:00Z";
    let case = |what, package, at, failing, warn_decision| Case { what, package, at, failing, warn_decision };
    let cases = [
        case("signed by an allowed version", &allowed, None, None, "allow"),
        case("unsigned", &src, None, Some("mismatch"), "allow"),
        case("other publisher", &other, None, Some("mismatch"), "allow"),
        case("tampered", &tampered, None, Some("integrity"), "deny"),
        case("forged under another CA", &forged, None, Some("authenticity"), "deny"),
        case("expired", &allowed, Some(far_future), Some("expiry"), "allow"),
        case("revoked version", &revoked_version, None, Some("revocation"), "allow"),
        case("revoked job", &revoked_job, None, Some("revocation"), "allow"),
    ];
    for Case { what, package: pkg, at, failing, warn_decision } in cases {
        for (policy, id) in [("warn", &warn), ("enforce", &enforce)] {
            let mut args = vec!["verify", s(pkg), "--csc", id.as_str()];
            if let Some(at) = at {
                args.extend(["--at", at]);
            }
            let decision = if failing.is_none() {
                "allow"
            } else if policy == "warn" {
                warn_decision
            } else {
                "deny"
            };
            let code = if decision == "allow" { 0 } else { 1 };
            let v = verdict(&env.json(&args).expect(code));
            let ctx = format!("{what} under {policy}: {v:#}");
            assert_eq!(v["decision"], decision, "{ctx}");
            assert_eq!(v["policy"], policy, "{ctx}");
            assert_eq!(failed(&v, 0), failing.into_iter().collect::<Vec<_>>(), "{ctx}");
            if let Some(name) = failing {
                let hard = name == "integrity" || name == "authenticity";
                let action = if hard || policy == "enforce" { "enforced" } else { "warned" };
                assert_eq!(check(&v, 0, name), ("fail", action), "{ctx}");
                let warned = action == "warned";
                assert_eq!(v["warnings"].as_array().unwrap().len(), usize::from(warned), "{ctx}");
            } else {
                assert_eq!(v["packages"][0]["signature"]["profile"], "Alpha", "{ctx}");
                assert!(v["warnings"].as_array().unwrap().is_empty(), "{ctx}");
            }
            // The text form: one line per failed check, one saying who signed (issue 16),
            // then the decision.
            let text = env.run(&args).expect(code).stdout;
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), usize::from(failing.is_some()) + 2, "{ctx}\n{text}");
            assert!(lines.last().unwrap().starts_with(decision), "{text}");
            let who = lines[lines.len() - 2];
            assert!(who.contains("signed by") || who.contains("not signed"), "{text}");
            if let Some(name) = failing {
                let tag = if decision == "allow" { "WARN" } else { "DENY" };
                assert!(lines[0].starts_with(tag) && lines[0].contains(name), "{text}");
            }
        }
    }
    // The reasons say what happened.
    let v = verdict(&env.json(["verify", s(&revoked_job), "--csc", &enforce]).expect(1));
    assert!(v["packages"][0]["checks"][4]["reason"].as_str().unwrap().contains(job.as_str()), "{v:#}");
    let v = verdict(&env.json(["verify", s(&allowed), "--csc", &enforce, "--at", far_future]).expect(1));
    assert!(v["packages"][0]["checks"][3]["reason"].as_str().unwrap().contains("expired"), "{v:#}");
    // Without a config: any publisher of the store, and the soft checks deny.
    verdict(&env.json(["verify", s(&other)]).expect(0));
    verdict(&env.json(["verify", s(&revoked_job)]).expect(1));
}

// ---------------------------------------------------------------------------------------
// Revocation effective time

#[test]
fn revocation_takes_effect_at_its_effective_time_not_before() {
    let env = Env::new();
    let edge = publisher(&env, "Edge");
    let version = edge.split('/').nth(1).unwrap().to_owned();
    let enforce = csc(&env, std::slice::from_ref(&edge), "enforce");
    let warn = csc(&env, std::slice::from_ref(&edge), "warn");
    // A holder of the version's key, backdating a signature to before any revocation.
    let backdated = env.path("backdated.zip");
    sign_as(
        &env,
        "Edge",
        &fixture("packages/hello-function.zip"),
        &backdated,
        signer::clock::now().plus_secs(-120),
        None,
    );
    // The publisher's own signature, timestamped by the store's TSA: its time is the TSA's.
    let tsa = crate::timestamp::Tsa::start();
    tsa.configure(&env);
    let pkg = env.sign("Edge", &fixture("packages/hello-function.zip"), "edge.zip");
    let stamped = crate::timestamp::stamp_of(&pkg, &tsa).time;
    let revoke = |t: Timestamp| {
        env.run([
            "profile",
            "revoke",
            "Edge",
            "--version",
            &version,
            "--effective-time",
            &t.to_string(),
            "--reason",
            "test",
        ])
    };
    let judge = |p: &Path, id: &str, code: i32| verdict(&env.json(["verify", s(p), "--csc", id]).expect(code));

    // Effective one second after the timestamp: made before it, so it passes; the
    // backdated one has no timestamp, so its claim counts for nothing.
    while signer::clock::now() <= stamped.plus_secs(1) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    revoke(stamped.plus_secs(1)).expect(0);
    assert_eq!(check(&judge(&pkg, &enforce, 0), 0, "revocation"), ("pass", "enforced"));
    let v = judge(&backdated, &enforce, 1);
    assert_eq!(check(&v, 0, "revocation"), ("fail", "enforced"));
    assert!(v["packages"][0]["checks"][4]["reason"].as_str().unwrap().contains("no trusted timestamp"), "{v:#}");
    // Moved earlier, to exactly the timestamp: at it fails.
    revoke(stamped).expect(0);
    let v = judge(&pkg, &enforce, 1);
    assert_eq!(check(&v, 0, "revocation"), ("fail", "enforced"));
    assert!(v["packages"][0]["checks"][4]["reason"].as_str().unwrap().contains(&stamped.to_string()), "{v:#}");
    assert_eq!(check(&judge(&pkg, &warn, 0), 0, "revocation"), ("fail", "warned"));
    // Never later again; earlier still is accepted.
    let r = revoke(stamped.plus_secs(1)).expect(5);
    assert!(r.stderr.contains("earlier, never later"), "{}", r.stderr);
    revoke(stamped.plus_secs(-60)).expect(0);
    assert_eq!(check(&judge(&pkg, &enforce, 1), 0, "revocation"), ("fail", "enforced"));
    // A future effective time is refused, and changes nothing.
    revoke(signer::clock::now().plus_secs(3_600)).expect(3);
    let shown = env.json(["profile", "show", "Edge"]).expect(0).json();
    assert_eq!(shown["versions"][0]["revoked_effective_at"], stamped.plus_secs(-60).to_string());
}

// ---------------------------------------------------------------------------------------
// Signed revocation lists

#[test]
fn an_exported_revocation_list_works_without_the_stores_revocations() {
    let env = Env::new();
    let rel = publisher(&env, "Rel");
    let version = rel.split('/').nth(1).unwrap().to_owned();
    let pkg = env.sign("Rel", &fixture("packages/hello-function.zip"), "rel.zip");
    env.run([
        "profile",
        "revoke",
        "Rel",
        "--version",
        &version,
        "--effective-time",
        "2020-01-01T00:00:00Z",
        "--reason",
        "x",
    ])
    .expect(0);
    let list = env.path("revocations.json");
    let e = env.json(["revocations", "export", "-o", s(&list)]).expect(0).json();
    assert_eq!(e["revoked_version_count"], 1);

    // A copy of the store without its revocations (a read replica the hook can reach, or
    // a store whose revocation records it may not read).
    let copy = env.path("replica");
    copy_dir(&env.home().join("store"), &copy, &|p| p.file_name().unwrap() != "revocations");
    let replica = format!("file://{}", copy.display());
    let on_replica = |extra: &[&str], code: i32| {
        let mut args = vec!["--store", replica.as_str(), "verify", s(&pkg)];
        args.extend_from_slice(extra);
        env.json(args).expect(code)
    };
    // The replica still denies: the store's trust snapshot carries the revocation (a
    // revocation-free copy is how a store writer would try to un-revoke).
    let v = verdict(&on_replica(&[], 1));
    assert_eq!(failed(&v, 0), ["revocation"]);
    let v = verdict(&on_replica(&["--revocations", s(&list)], 1));
    assert_eq!(failed(&v, 0), ["revocation"]);
    verdict(&on_replica(&["--revocations", s(&list), "--max-age", "1h"], 1));
    // The deploy hook takes it too.
    let d = json!({"function":"f","code":s(&pkg)});
    let p = write_json(&env, "d.json", &d);
    env.json(["--store", &replica, "deploy", "check", s(&p)]).expect(1);
    let v = verdict(&env.json(["--store", &replica, "deploy", "check", s(&p), "--revocations", s(&list)]).expect(1));
    assert_eq!(failed(&v, 0), ["revocation"]);

    // Tampered: any change to what is signed.
    let text = std::fs::read_to_string(&list).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let payload = doc["payload"].as_str().unwrap().to_owned();
    let flipped = if payload.starts_with('e') { payload.replacen('e', "f", 1) } else { format!("e{}", &payload[1..]) };
    doc["payload"] = Value::String(flipped);
    let tampered = write_json(&env, "tampered.json", &doc);
    let r = on_replica(&["--revocations", s(&tampered)], 3);
    assert!(
        r.json()["error"]["message"].as_str().unwrap().contains("not signed by this store's root CA"),
        "{}",
        r.stdout
    );
    let dropped = write_json(&env, "dropped.json", &json!({"format":"signer-revocation-list-v1"}));
    on_replica(&["--revocations", s(&dropped)], 3);

    // Stale: issued two days ago (signed by the real root CA key), refused past --max-age.
    let old = env.path("old.json");
    let store = store_of(&env);
    let home = Home::open(&env.home()).unwrap();
    let ca = rt().block_on(store.root_ca()).unwrap();
    let key = home.read_key(&KeyId::RootCa { fingerprint: ca.fingerprint.clone() }).unwrap();
    let key = signer::crypto::SecretKey::from_pkcs8(&key).unwrap();
    let revs = rt().block_on(signer::profiles::revocations(&store)).unwrap();
    let issued = signer::clock::now().plus_secs(-2 * 86_400);
    std::fs::write(&old, signer::revlist::export(&revs, &ca.der().unwrap(), &key, issued).unwrap()).unwrap();
    let r = on_replica(&["--revocations", s(&old), "--max-age", "1d"], 3);
    assert!(r.stderr.contains("older than --max-age 1d"), "{}", r.stderr);
    verdict(&on_replica(&["--revocations", s(&old), "--max-age", "3d"], 1));
    verdict(&on_replica(&["--revocations", s(&old)], 1));

    // Another store's list is refused.
    let other = Env::new();
    other.profile("Zed", &[]);
    let foreign = other.path("foreign.json");
    other.run(["revocations", "export", "-o", s(&foreign)]).expect(0);
    let r = on_replica(&["--revocations", s(&foreign)], 3);
    assert!(r.stderr.contains("not this store's"), "{}", r.stderr);

    // A bad duration is a usage error.
    env.run(["verify", s(&pkg), "--revocations", s(&list), "--max-age", "1fortnight"]).expect(2);
    // Exporting needs the root CA's key: a home without it says so.
    let keyless = Env::with_store(&format!("file://{}", env.home().join("store").display()));
    let r = keyless.run(["revocations", "export", "-o", s(&keyless.path("r.json"))]).expect(4);
    assert!(r.stderr.contains("signer init"), "{}", r.stderr);
}

fn copy_dir(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if !keep(&path) {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&path, &dest, keep);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The deploy hook: function only

#[test]
fn deploy_check_of_a_function_allows_denies_and_reports_every_limit() {
    let env = Env::new();
    let a = publisher(&env, "Alpha");
    let enforce = csc(&env, std::slice::from_ref(&a), "enforce");
    let warn = csc(&env, std::slice::from_ref(&a), "warn");
    let signed = env.sign("Alpha", &fixture("packages/hello-function.zip"), "s.zip");
    let unsigned = fixture("packages/hello-function.zip");
    let base = json!({"function":"hello","code":s(&signed),"layers":[],"memory_mb":1024,
        "ephemeral_storage_mb":512,"timeout_s":30,"code_signing_config":enforce});

    let v = verdict(&deploy(&env, &base, &[]).expect(0));
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["packages"][0]["role"], "function");
    let names: Vec<&str> = v["limits"].as_array().unwrap().iter().map(|l| l["check"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["layers", "deleted_layers", "total_unzipped_size", "memory_mb", "ephemeral_storage_mb", "timeout_s"]
    );
    assert!(v["limits"].as_array().unwrap().iter().all(|l| l["status"] == "pass"), "{v:#}");
    let unzipped = v["packages"][0]["unzipped_size"].as_u64().unwrap();
    assert!(unzipped > 0);
    assert_eq!(limit(&v, "total_unzipped_size")["value"], unzipped);

    // The same from stdin.
    let mut child = env
        .cmd()
        .args(["--output", "json", "deploy", "check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(base.to_string().as_bytes()).unwrap();
    }
    let r: Run = child.wait_with_output().unwrap().into();
    verdict(&r.expect(0));

    // Out-of-range settings deny, whatever the policy, naming the limit.
    for (field, value, lambda) in [
        ("memory_mb", 10_241, "memorySize"),
        ("ephemeral_storage_mb", 511, "ephemeralStorage.size"),
        ("timeout_s", 901, "timeout"),
    ] {
        for id in [&enforce, &warn] {
            let mut d = base.clone();
            d[field] = json!(value);
            d["code_signing_config"] = json!(id);
            let v = verdict(&deploy(&env, &d, &[]).expect(1));
            let l = limit(&v, field);
            assert_eq!((l["status"].as_str(), l["value"].as_u64()), (Some("fail"), Some(value)), "{v:#}");
            assert!(l["reason"].as_str().unwrap().contains(lambda), "{v:#}");
            let text = env.run(["deploy", "check", s(&env.path("deployment.json"))]).expect(1).stdout;
            assert!(text.contains(&format!("DENY limit {field}")), "{text}");
            assert!(text.trim_end().ends_with(&format!("deny (policy {})", v["policy"].as_str().unwrap())), "{text}");
        }
    }

    // An unsigned function: denied under enforce, allowed with a warning under warn, its
    // unzipped size measured on the bytes.
    let mut d = base.clone();
    d["code"] = json!(s(&unsigned));
    let v = verdict(&deploy(&env, &d, &[]).expect(1));
    assert_eq!(failed(&v, 0), ["mismatch"]);
    d["code_signing_config"] = json!(warn);
    let v = verdict(&deploy(&env, &d, &[]).expect(0));
    assert_eq!(v["packages"][0]["unzipped_size"].as_u64(), Some(unzipped));
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    let text = env.run(["deploy", "check", s(&env.path("deployment.json"))]).expect(0).stdout;
    assert!(text.starts_with("WARN ") && text.contains("mismatch"), "{text}");

    // No config: any publisher of the store; defaults for the settings.
    let v = verdict(&deploy(&env, &json!({"function":"hello","code":s(&signed)}), &[]).expect(0));
    assert_eq!(v["policy"], "enforce");
    assert_eq!(limit(&v, "memory_mb")["value"], 128);

    // --at: expired under enforce.
    let v = verdict(&deploy(&env, &base, &["--at", "2999-01-01T00:00:00Z"]).expect(1));
    assert_eq!(failed(&v, 0), ["expiry"]);
}

#[test]
fn deploy_check_refuses_malformed_input_with_the_json_path_and_unknown_things_with_4() {
    let env = Env::new();
    env.profile("Alpha", &[]);
    let signed = env.sign("Alpha", &fixture("packages/hello-function.zip"), "s.zip");
    let code = s(&signed);
    let cases = [
        (json!({"function":"f","code":code,"memory_mb":"1024"}), "$.memory_mb"),
        (json!({"function":"f","code":code,"memory_mb":1024.5}), "$.memory_mb"),
        (json!({"function":"f","code":code,"ephemeral_storage_mb":-512}), "$.ephemeral_storage_mb"),
        (json!({"function":"f","code":code,"layers":["deps:1","deps:2","deps:x"]}), "$.layers[2]"),
        (json!({"function":"f","code":code,"layers":{"a":1}}), "$.layers"),
        (json!({"function":"f","code":code,"timeout":30}), "$.timeout"),
        (json!({"function":"f"}), "$.code"),
        (json!({"function":"f","code":code,"code_signing_config":"csc-1"}), "$.code_signing_config"),
        (json!(["not", "an", "object"]), "$"),
    ];
    for (doc, path) in cases {
        let r = deploy(&env, &doc, &[]).expect(3);
        let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(&format!("at {path}:")), "{doc}: {msg}");
        assert!(r.stderr.contains(path), "{}", r.stderr);
    }
    let p = env.path("deployment.json");
    std::fs::write(&p, "{\"function\":\"f\",").unwrap();
    env.run(["deploy", "check", s(&p)]).expect(3);
    std::fs::write(&p, format!("{{\"function\":\"f\",\"code\":\"{code}\",\"function\":\"g\"}}")).unwrap();
    let r = env.run(["deploy", "check", s(&p)]).expect(3);
    assert!(r.stderr.contains("$.function") && r.stderr.contains("twice"), "{}", r.stderr);
    std::fs::write(&p, vec![b' '; (1 << 20) + 1]).unwrap();
    let r = env.run(["deploy", "check", s(&p)]).expect(3);
    assert!(r.stderr.contains("limit"), "{}", r.stderr);

    // Not found: the deployment file, the code, the config, a layer.
    env.run(["deploy", "check", s(&env.path("none.json"))]).expect(4);
    let r = deploy(&env, &json!({"function":"f","code":s(&env.path("missing.zip"))}), &[]).expect(4);
    assert!(r.stderr.contains("$.code"), "{}", r.stderr);
    deploy(&env, &json!({"function":"f","code":code,"code_signing_config":"csc-00000000000000000"}), &[]).expect(4);
    let r = deploy(&env, &json!({"function":"f","code":code,"layers":["nosuch:1"]}), &[]).expect(4);
    assert!(r.stderr.contains("$.layers[0]"), "{}", r.stderr);

    // A hostile unsigned function package is refused as invalid input, naming the rule.
    let evil = env.path("evil.zip");
    make_zip(&evil, &[("../evil.sh", b"#!/bin/sh\n", false)]);
    let r = deploy(&env, &json!({"function":"f","code":s(&evil)}), &[]).expect(3);
    assert!(r.stderr.contains("$.code"), "{}", r.stderr);
    // Something that is not a zip at all is refused from its last bytes, before hashing.
    let junk = env.path("junk.zip");
    std::fs::write(&junk, b"not a zip at all").unwrap();
    let r = deploy(&env, &json!({"function":"f","code":s(&junk)}), &[]).expect(3);
    assert_eq!(r.json()["error"]["rule"], "not-a-zip");
    // A zip whose end record is broken is a package that fails integrity.
    let broken = env.path("broken.zip");
    let mut bytes = std::fs::read(fixture("packages/hello-function.zip")).unwrap();
    bytes.pop();
    std::fs::write(&broken, bytes).unwrap();
    let v = verdict(&deploy(&env, &json!({"function":"f","code":s(&broken)}), &[]).expect(1));
    assert_eq!(failed(&v, 0), ["integrity"]);
    assert_eq!(v["packages"][0]["unzipped_size"], Value::Null);
}

// ---------------------------------------------------------------------------------------
// The deploy hook with layers

#[test]
fn deploy_check_judges_every_layer_like_the_function() {
    let env = Env::new();
    let a = publisher(&env, "Alpha");
    publisher(&env, "Other");
    let enforce = csc(&env, std::slice::from_ref(&a), "enforce");
    let warn = csc(&env, std::slice::from_ref(&a), "warn");
    let function = env.sign("Alpha", &fixture("packages/hello-function.zip"), "f.zip");
    let layer_zip = fixture("packages/greetings-layer.zip");
    let publish = |name: &str, sign: Option<&str>| {
        let mut args = vec!["layer", "publish", name, s(&layer_zip)];
        if let Some(p) = sign {
            args.extend(["--sign", p]);
        }
        env.json(args).expect(0);
    };
    publish("one", Some("Alpha"));
    publish("two", Some("Alpha"));
    publish("plain", None);
    publish("foreign", Some("Other"));
    let doc = |layers: &[&str], id: &str| json!({"function":"hello","code":s(&function),"layers":layers,"code_signing_config":id});

    // Two signed layers: allowed; every package judged, in order.
    let v = verdict(&deploy(&env, &doc(&["one:1", "two:1"], &enforce), &[]).expect(0));
    let packages = v["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 3);
    assert_eq!((packages[1]["role"].as_str(), packages[1]["name"].as_str()), (Some("layer"), Some("one:1")));
    assert_eq!(packages[2]["name"], "two:1");
    assert_eq!(packages[2]["signature"]["profile"], "Alpha");
    let total: u64 = packages.iter().map(|p| p["unzipped_size"].as_u64().unwrap()).sum();
    assert_eq!(limit(&v, "total_unzipped_size")["value"], total);
    assert_eq!(limit(&v, "layers")["value"], 2);

    // An unsigned layer: denied under enforce, a warning under warn.
    let v = verdict(&deploy(&env, &doc(&["one:1", "plain:1"], &enforce), &[]).expect(1));
    assert_eq!(failed(&v, 1), Vec::<String>::new());
    assert_eq!(failed(&v, 2), ["mismatch"]);
    assert_eq!(check(&v, 2, "mismatch"), ("fail", "enforced"));
    let v = verdict(&deploy(&env, &doc(&["one:1", "plain:1"], &warn), &[]).expect(0));
    assert!(v["warnings"][0].as_str().unwrap().starts_with("plain:1"), "{v:#}");
    // A layer from another publisher.
    let v = verdict(&deploy(&env, &doc(&["foreign:1"], &enforce), &[]).expect(1));
    assert_eq!(failed(&v, 1), ["mismatch"]);

    // Six layers: denied on the count, even though each one is fine.
    let six = ["one:1", "two:1", "one:1", "two:1", "one:1", "two:1"];
    let v = verdict(&deploy(&env, &doc(&six, &enforce), &[]).expect(1));
    let l = limit(&v, "layers");
    assert_eq!((l["status"].as_str(), l["value"].as_u64(), l["limit"].as_u64()), (Some("fail"), Some(6), Some(5)));
    assert!((0..7).all(|i| failed(&v, i).is_empty()), "{v:#}");
    verdict(&deploy(&env, &doc(&six[..5], &enforce), &[]).expect(0));

    // A deleted layer version is refused for a new deployment.
    env.run(["layer", "delete", "two:1"]).expect(0);
    let v = verdict(&deploy(&env, &doc(&["one:1", "two:1"], &enforce), &[]).expect(1));
    let l = limit(&v, "deleted_layers");
    assert_eq!(l["status"], "fail");
    assert!(l["reason"].as_str().unwrap().contains("two:1"), "{v:#}");
    let text = env.run(["deploy", "check", s(&env.path("deployment.json"))]).expect(1).stdout;
    assert!(text.contains("DENY limit deleted_layers: two:1"), "{text}");

    // Unknown: a version or a name that does not exist.
    deploy(&env, &doc(&["one:1", "one:2"], &enforce), &[]).expect(4);
    deploy(&env, &doc(&["three:1"], &enforce), &[]).expect(4);
}

#[test]
fn deploy_check_denies_function_and_layers_over_the_total_with_lambdas_message() {
    let env = Env::new();
    let a = publisher(&env, "Alpha");
    let enforce = csc(&env, std::slice::from_ref(&a), "enforce");
    // Zeros deflate to almost nothing: small zips, real unzipped bytes.
    let zeros = vec![0u8; 88_000_000];
    let layer_zip = env.path("zeros-layer.zip");
    make_zip(&layer_zip, &[("python/zeros.bin", &zeros, true)]);
    for name in ["z1", "z2", "z3"] {
        env.json(["layer", "publish", name, s(&layer_zip), "--sign", "Alpha"]).expect(0);
    }
    let function_zip = env.path("zeros-function.zip");
    make_zip(&function_zip, &[("zeros.bin", &zeros[..10_000_000], true), ("more.bin", &zeros, true)]);
    let function = env.sign("Alpha", &function_zip, "zeros-function.signed.zip");
    drop(zeros);

    // Function 98,000,000 + two layers of 88,000,000 = 274,000,000.
    let d = json!({"function":"big","code":s(&function),"layers":["z1:1","z2:1"],"code_signing_config":enforce});
    let v = verdict(&deploy(&env, &d, &[]).expect(1));
    let t = limit(&v, "total_unzipped_size");
    assert_eq!(
        (t["status"].as_str(), t["value"].as_u64(), t["limit"].as_u64()),
        (Some("fail"), Some(274_000_000), Some(262_144_000))
    );
    assert_eq!(
        t["reason"],
        "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is 274000000 bytes."
    );
    assert!(failed(&v, 0).is_empty() && failed(&v, 1).is_empty() && failed(&v, 2).is_empty(), "{v:#}");
    let text = env.run(["deploy", "check", s(&env.path("deployment.json"))]).expect(1).stdout;
    assert!(text.contains("262144000") && text.contains("274000000"), "{text}");

    // One layer fewer fits.
    let d = json!({"function":"big","code":s(&function),"layers":["z1:1"],"code_signing_config":enforce});
    verdict(&deploy(&env, &d, &[]).expect(0));

    // Layers alone over the limit: said as Lambda says it.
    let small = env.sign("Alpha", &fixture("packages/hello-function.zip"), "small.zip");
    let d = json!({"function":"big","code":s(&small),"layers":["z1:1","z2:1","z3:1"],"code_signing_config":enforce});
    let v = verdict(&deploy(&env, &d, &[]).expect(1));
    let reason = limit(&v, "total_unzipped_size")["reason"].as_str().unwrap().to_owned();
    assert!(reason.starts_with("Layers consume more than the available size of 262144000 bytes."), "{reason}");
    assert!(reason.contains("264000000"), "{reason}");
}

/// The `rule` of a package's failed check, by check name (`None`: the check did not fail).
fn rule<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    let c = v["packages"][0]["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap();
    assert_eq!(c["status"] == "fail", c.get("rule").is_some(), "a rule exactly on failures: {c}");
    c["rule"].as_str()
}

#[test]
fn every_failed_check_names_its_rule_in_the_verdict() {
    let env = Env::new();
    let alpha = publisher(&env, "Alpha");
    let beta = publisher(&env, "Beta");
    let only_alpha = csc(&env, std::slice::from_ref(&alpha), "enforce");
    let src = fixture("packages/hello-function.zip");
    let verify = |pkg: &Path, extra: &[&str]| {
        let mut args = vec!["verify", s(pkg)];
        args.extend_from_slice(extra);
        verdict(&env.json(args))
    };

    let signed = env.sign("Alpha", &src, "alpha.zip");
    let v = verify(&signed, &["--csc", &only_alpha]);
    assert!(["integrity", "authenticity", "mismatch", "expiry", "revocation"].iter().all(|c| rule(&v, c).is_none()));

    // Integrity: one byte of the content changed.
    let mut bytes = std::fs::read(&signed).unwrap();
    bytes[40] ^= 1;
    let tampered = env.path("tampered.zip");
    std::fs::write(&tampered, bytes).unwrap();
    assert_eq!(rule(&verify(&tampered, &[]), "integrity"), Some("digest-mismatch"));

    // Mismatch: unsigned, and another publisher.
    assert_eq!(rule(&verify(&src, &["--csc", &only_alpha]), "mismatch"), Some("unsigned"));
    let by_beta = env.sign("Beta", &src, "beta.zip");
    assert_eq!(rule(&verify(&by_beta, &["--csc", &only_alpha]), "mismatch"), Some("not-allowed-publisher"));

    // Expiry: judged past the longest validity a profile gives.
    let later = (signer::clock::now().plus_secs(signer::model::Validity::MAX.secs() + 86_400)).to_string();
    assert_eq!(rule(&verify(&signed, &["--at", &later]), "expiry"), Some("expired"));

    // Revocation: Beta's version revoked; Alpha canceled.
    let beta_version = beta.split('/').nth(1).unwrap();
    env.json(["profile", "revoke", "Beta", "--version", beta_version, "--reason", "key-compromise"]).expect(0);
    assert_eq!(rule(&verify(&by_beta, &[]), "revocation"), Some("version-revoked"));
    env.json(["profile", "cancel", "Alpha"]).expect(0);
    assert_eq!(rule(&verify(&signed, &[]), "revocation"), Some("profile-canceled"));

    // Authenticity: a package signed in another store, with a profile of the same name.
    let other = Env::new();
    other.profile("Alpha", &[]);
    let foreign = other.sign("Alpha", &src, "foreign.zip");
    assert_eq!(rule(&verify(&foreign, &[]), "authenticity"), Some("unknown-version"));
}

/// Issue 16, point 2: `verify` and `deploy check` say who signed, in text and JSON, for
/// allow and deny alike; a signature that did not verify is shown as claimed, never as
/// the signer.
#[test]
fn verify_and_deploy_check_name_the_signer() {
    let env = Env::new();
    let src = fixture("packages/hello-function.zip");
    let mut signed = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        let version = env.profile(name, &[]);
        signed.push((name, version, env.sign(name, &src, &format!("{name}.zip"))));
    }
    let only_alpha = csc(&env, &[format!("Alpha/{}", signed[0].1)], "enforce");
    for (i, (name, version, pkg)) in signed.iter().enumerate() {
        let expected = if i == 0 { 0 } else { 1 };
        let v = verdict(&env.json(["verify", s(pkg), "--csc", &only_alpha]).expect(expected));
        let sig = &v["packages"][0]["signature"];
        assert_eq!((sig["profile"].as_str(), sig["profile_version"].as_str()), (Some(*name), Some(version.as_str())));
        assert_eq!(sig["certificate_subject"], format!("{name}/{version}"), "{v}");
        assert_eq!(sig["certificate_sha256"].as_str().map(str::len), Some(64), "{v}");
        assert!(v["packages"][0]["claimed"].is_null());
        let text = env.run(["verify", s(pkg), "--csc", &only_alpha]).expect(expected).stdout;
        assert!(text.contains(&format!("signed by {name}/{version} (CN={name}/{version}, sha256:")), "{text}");
    }
    // Tampered: what it claims, marked as not verified, and no `signature`.
    let mut bytes = std::fs::read(&signed[1].2).unwrap();
    bytes[40] ^= 1;
    let tampered = env.path("tampered.zip");
    std::fs::write(&tampered, bytes).unwrap();
    let v = verdict(&env.json(["verify", s(&tampered)]).expect(1));
    assert!(v["packages"][0]["signature"].is_null(), "{v}");
    assert_eq!(v["packages"][0]["claimed"]["profile"], "Beta", "{v}");
    let text = env.run(["verify", s(&tampered)]).expect(1).stdout;
    assert!(text.contains("claims to be signed by Beta/") && text.contains("(not verified)"), "{text}");
    assert!(!text.contains(": signed by"), "{text}");
    // Unsigned, and deploy check's text for a function and its packages.
    let text = env.run(["verify", s(&src)]).expect(1).stdout;
    assert!(text.contains(": not signed"), "{text}");
    let doc = json!({"function": "f", "code": s(&signed[0].2)});
    let p = write_json(&env, "d.json", &doc);
    let text = env.run(["deploy", "check", s(&p)]).expect(0).stdout;
    assert!(text.contains(&format!("signed by Alpha/{}", signed[0].1)), "{text}");
    // The size headroom, as the JSON has it (issue 16, point 10).
    let v = verdict(&deploy(&env, &doc, &[]).expect(0));
    let size = limit(&v, "total_unzipped_size");
    let spare = size["limit"].as_u64().unwrap() - size["value"].as_u64().unwrap();
    assert!(text.contains(&format!("{spare} to spare")), "{text}");
}
