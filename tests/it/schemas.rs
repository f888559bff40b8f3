//! Issue 16, point 4: every command's `--output json` document has a JSON Schema under
//! `schema/`, `schema/commands.json` says which, and the real outputs match them — the
//! field names are a contract. The index is held to the commands `--help` lists, and
//! the tour below runs every command that prints JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

use crate::util::{Env, Run, fixture};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema")
}

/// The schemas' `$ref`s to each other (`defs.schema.json#/$defs/…`) are resolved from
/// the folder, never fetched.
struct SchemaDir;

impl jsonschema::Retrieve for SchemaDir {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default().to_owned();
        Ok(serde_json::from_str(&std::fs::read_to_string(schema_dir().join(name))?)?)
    }
}

fn validator(name: &str) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<Mutex<BTreeMap<String, &'static jsonschema::Validator>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache.entry(name.to_owned()).or_insert_with(|| {
        let path = schema_dir().join(format!("{name}.schema.json"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let v = jsonschema::options().with_retriever(SchemaDir).build(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        Box::leak(Box::new(v))
    })
}

fn index() -> BTreeMap<String, Option<Vec<String>>> {
    let text = std::fs::read_to_string(schema_dir().join("commands.json")).unwrap();
    let mut doc: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    doc.remove("$comment");
    doc.into_iter().map(|(k, v)| (k, serde_json::from_value(v).unwrap())).collect()
}

/// The errors of `doc` against schema `name`, as lines.
fn errors(name: &str, doc: &Value) -> Vec<String> {
    validator(name).iter_errors(doc).map(|e| format!("{name}: {e} at {}", e.instance_path())).collect()
}

/// Runs commands in JSON mode and checks each document against the schemas the index
/// gives its command (a failure against error.schema.json), remembering what ran.
struct Tour<'a> {
    env: &'a Env,
    index: BTreeMap<String, Option<Vec<String>>>,
    seen: BTreeSet<String>,
}

impl Tour<'_> {
    /// `signer --output json ARGS…`, expecting `code`; the command is the leading words
    /// of `args` that the index names.
    fn run(&mut self, args: &[&str], code: i32) -> Value {
        let r = self.env.json(args).expect(code);
        self.check(args, &r)
    }

    fn check(&mut self, args: &[&str], r: &Run) -> Value {
        let doc = r.json();
        let command = (1..=3)
            .rev()
            .filter_map(|n| args.get(..n).map(|words| words.join(" ")))
            .find(|c| self.index.contains_key(c))
            .unwrap_or_else(|| panic!("{args:?} is not in schema/commands.json"));
        let names = match (r.code, &self.index[&command]) {
            (0, Some(names)) => names.clone(),
            (1, Some(names)) if names.contains(&"verdict".to_owned()) => names.clone(),
            (_, Some(_)) => vec!["error".to_owned()],
            (_, None) => panic!("{command} prints no JSON, yet printed {doc}"),
        };
        let failures: Vec<Vec<String>> = names.iter().map(|n| errors(n, &doc)).collect();
        assert!(failures.iter().any(Vec::is_empty), "{args:?} does not match {names:?}: {failures:#?}\n{doc:#}");
        if r.code == 0 || names != ["error"] {
            self.seen.insert(command);
        }
        doc
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_index_names_every_command_and_every_schema_file_is_used() {
    let env = Env::new();
    let leaves: BTreeSet<String> =
        crate::util::commands(&env).into_iter().filter(|(_, leaf)| *leaf).map(|(path, _)| path.join(" ")).collect();
    let index = index();
    let indexed: BTreeSet<String> = index.keys().cloned().collect();
    assert_eq!(indexed, leaves, "schema/commands.json against the commands --help lists");
    let mut used: BTreeSet<String> = index.values().flatten().flatten().cloned().collect();
    used.extend(["error".to_owned(), "defs".to_owned()]);
    let files: BTreeSet<String> = std::fs::read_dir(schema_dir())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".schema.json").map(str::to_owned))
        .collect();
    assert_eq!(files, used, "every schema file is named by the index");
    for name in files.iter().filter(|n| *n != "defs") {
        validator(name);
    }
}

#[test]
fn every_commands_json_output_matches_its_schema() {
    let env = Env::new();
    let mut t = Tour { env: &env, index: index(), seen: BTreeSet::new() };
    let zip = fixture("packages/hello-function.zip");
    let layer_zip = fixture("packages/greetings-layer.zip");
    let p = |name: &str| env.path(name).to_str().unwrap().to_owned();

    t.run(&["init"], 0);
    t.run(&["status"], 0);
    let created = t.run(&["profile", "create", "App", "--description", "the app"], 0);
    let first = created["current_version"].as_str().unwrap().to_owned();
    t.run(&["profile", "rotate", "App"], 0);
    t.run(&["profile", "list"], 0);
    t.run(&["profile", "show", "App"], 0);
    let signed = t.run(&["sign", "--profile", "App", s(&zip), "-o", &p("s.zip")], 0);
    // The schemas are strict: an unknown field, or a time in another shape (checked
    // through defs.schema.json), is refused.
    let mut renamed = signed.clone();
    renamed.as_object_mut().unwrap().insert("output".into(), json!("s.zip"));
    assert!(!errors("sign", &renamed).is_empty());
    let mut local_time = signed.clone();
    local_time["signed_at"] = json!("2026-12-02 10:00:00+01:00");
    assert!(!errors("sign", &local_time).is_empty());
    t.run(&["verify", &p("s.zip")], 0);
    t.run(&["verify", s(&zip)], 1);
    t.run(&["signature", "show", &p("s.zip")], 0);
    t.run(&["signature", "export", &p("s.zip"), "--dir", &p("sig")], 0);
    t.run(&["layer", "publish", "greet", s(&layer_zip), "--sign", "App", "--description", "greetings"], 0);
    t.run(&["layer", "publish", "greet", s(&layer_zip)], 0);
    t.run(&["layer", "list"], 0);
    t.run(&["layer", "versions", "greet"], 0);
    t.run(&["layer", "show", "greet:1"], 0);
    t.run(&["layer", "get", "greet:1", "-o", &p("g.zip")], 0);
    t.run(&["layer", "delete", "greet:2"], 0);
    t.run(&["layer", "delete", "greet:2"], 0);
    let current = t.run(&["profile", "show", "App"], 0)["current_version"].as_str().unwrap().to_owned();
    let csc = t.run(&["csc", "create", "--allowed-publisher", &format!("App/{current}")], 0);
    let id = csc["id"].as_str().unwrap().to_owned();
    t.run(&["csc", "update", &id, "--policy", "warn", "--description", "prod"], 0);
    t.run(&["csc", "show", &id], 0);
    t.run(&["csc", "list"], 0);
    std::fs::write(
        env.path("dep.json"),
        json!({"function": "f", "code": "s.zip", "layers": ["greet:1"], "code_signing_config": id}).to_string(),
    )
    .unwrap();
    t.run(&["deploy", "check", &p("dep.json")], 0);
    t.run(&["trust", "show"], 0);
    t.run(&["trust", "export", "-o", &p("root.pem")], 0);
    t.run(&["trust", "refresh"], 0);
    t.run(&["trust", "bundle", "-o", &p("bundle.json")], 0);
    t.run(&["admin", "keygen", "Ops", "-o", &p("ops.pub")], 0);
    t.run(&["admin", "add", "Ops", "--public-key", &p("ops.pub")], 0);
    t.run(&["admin", "list"], 0);
    t.run(&["admin", "revoke", "Ops", "--reason", "rotated"], 0);
    t.run(&["tsa", "show"], 0);
    t.run(&["access-key", "create", "ci"], 0);
    t.run(&["access-key", "list"], 0);
    t.run(&["access-key", "delete", "ci"], 0);
    t.run(
        &[
            "profile",
            "permission",
            "add",
            "App",
            "--statement-id",
            "ci",
            "--action",
            "signer:StartSigningJob",
            "--principal",
            "ci",
        ],
        0,
    );
    t.run(&["profile", "permission", "list", "App"], 0);
    t.run(&["profile", "permission", "remove", "App", "ci"], 0);
    let ready = crate::serve::ready_line(&env, &["--with-worker"]);
    t.check(&["serve"], &crate::util::Run { code: 0, stdout: ready, stderr: String::new() });

    // Jobs: one that succeeds and one that fails, their logs, a revocation.
    std::fs::write(env.path("not.zip"), b"not a zip").unwrap();
    let job = t.run(&["sign-job", "start", "--profile", "App", "--source", s(&zip), "--destination", &p("out")], 0);
    let job = job["job_id"].as_str().unwrap().to_owned();
    t.run(&["sign-job", "start", "--profile", "App", "--source", &p("not.zip"), "--destination", &p("out")], 0);
    t.run(&["worker", "--until-idle"], 0);
    t.run(&["sign-job", "describe", &job], 0);
    t.run(&["sign-job", "wait", &job], 0);
    t.run(&["sign-job", "list"], 0);
    t.run(&["sign-job", "list", "--events"], 0);
    t.run(&["sign-job", "list", "--dead-letter"], 0);
    t.run(&["sign-job", "revoke", &job, "--reason", "bad build"], 0);
    t.run(&["sign-job", "purge", &job], 0);
    t.run(&["revocations", "export", "-o", &p("revocations.json")], 0);
    t.run(&["status"], 0);
    // Failures (the zip gate names its rule): one document, the error schema, whatever went wrong.
    t.run(&["profile", "show", "Nobody"], 4);
    t.run(&["sign", "--profile", "App", &p("not.zip"), "-o", &p("x.zip")], 3);
    t.run(&["profile", "create", "App"], 5);
    let usage = env.json(["verify", "--no-such-flag"]).expect(2);
    assert!(errors("error", &usage.json()).is_empty(), "{}", usage.stdout);
    t.run(&["profile", "revoke", "App", "--version", &first, "--reason", "key-compromise"], 0);
    t.run(&["csc", "delete", &id], 0);
    t.run(&["profile", "cancel", "App"], 0);
    t.run(&["man", "--dir", &p("man")], 0);
    t.run(&["quickstart", "--dir", &p("qs")], 0);

    // A TSA set on a store of its own (signing there would ask it for timestamps).
    let other = Env::new();
    other.run(["init"]).expect(0);
    let root = other.path("tsa-root.pem");
    std::fs::copy(env.path("root.pem"), &root).unwrap();
    let mut t2 = Tour { env: &other, index: index(), seen: BTreeSet::new() };
    t2.run(&["tsa", "set", "http://127.0.0.1:9/", "--root", s(&root)], 0);
    t2.run(&["tsa", "show"], 0);
    t.seen.extend(t2.seen);

    let want: BTreeSet<String> = t.index.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k.clone()).collect();
    let missed: Vec<&String> = want.difference(&t.seen).collect();
    assert!(missed.is_empty(), "commands the tour did not check: {missed:?}");
}
