//! `signer quickstart`: the README's first command. It runs the real `signer` binary for
//! each step, on a throwaway embedded store, and prints the command a user would type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use super::{Ctx, Format};
use signer::error::exit;

const PROFILE: &str = include_str!("../../profiles/release-profile.json");
const FUNCTION_ZIP: &[u8] = include_bytes!("../../fixtures/packages/hello-function.zip");
const LAYER_ZIP: &[u8] = include_bytes!("../../fixtures/packages/greetings-layer.zip");

#[derive(Debug, clap::Args)]
pub(super) struct QuickstartArgs {
    /// Folder for the throwaway home, store and packages, kept afterwards. Default: a new
    /// private folder under the system's temporary directory, removed at the end (with
    /// the throwaway keys in it) unless --keep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the temporary folder, to explore it afterwards (the quick start says where).
    #[arg(long, conflicts_with = "dir")]
    keep: bool,
}

struct Step {
    what: &'static str,
    args: Vec<String>,
    expect: u8,
}

pub(super) async fn run(ctx: &Ctx, args: QuickstartArgs) -> anyhow::Result<u8> {
    // A folder of its own: a given one is kept, a temporary one goes when `temp` drops
    // (on failure too), unless --keep.
    let (dir, temp) = match args.dir {
        Some(d) => {
            signer::location::create_folder(&d)?;
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new().prefix("signer-quickstart-").tempdir().context("creating a folder")?;
            (t.path().to_owned(), Some(t))
        }
    };
    let dir = dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?;
    let function = dir.join("hello-function.zip");
    std::fs::write(&function, FUNCTION_ZIP).with_context(|| format!("writing {}", function.display()))?;
    let layer = dir.join("greetings-layer.zip");
    std::fs::write(&layer, LAYER_ZIP).with_context(|| format!("writing {}", layer.display()))?;
    let profile_file = dir.join("release-profile.json");
    std::fs::write(&profile_file, PROFILE).with_context(|| format!("writing {}", profile_file.display()))?;
    let profile = signer::profiles::Definition::parse(PROFILE.as_bytes(), "profiles/release-profile.json")?
        .name
        .context("profiles/release-profile.json names no profile")?
        .to_string();
    let csc_file = dir.join("csc.json");
    let signed = dir.join("hello-function.signed.zip");
    let job_output = dir.join("signed-by-jobs");
    let deployment = dir.join("deployment.json");
    let deployment_unsigned = dir.join("deployment-unsigned.json");
    let p = |p: &Path| p.display().to_string();
    let s = |x: &str| x.to_owned();

    let steps = [
        Step { what: "create the store's root CA", args: vec![s("init")], expect: exit::OK },
        Step {
            what: "create a signing profile from profiles/release-profile.json (a copy in the folder)",
            args: vec![s("profile"), s("create"), s("--from"), p(&profile_file)],
            expect: exit::OK,
        },
        Step {
            what: "sign the function package",
            args: vec![s("sign"), s("--profile"), profile.clone(), p(&function), s("-o"), p(&signed)],
            expect: exit::OK,
        },
        Step { what: "verify the signed package", args: vec![s("verify"), p(&signed)], expect: exit::OK },
        Step { what: "show its signature", args: vec![s("signature"), s("show"), p(&signed)], expect: exit::OK },
        Step { what: "the unsigned original is refused", args: vec![s("verify"), p(&function)], expect: exit::DENIED },
        Step {
            what: "submit a signing job for the package: it returns at once with the job id, the source pinned",
            args: vec![
                s("--output"),
                s("json"),
                s("sign-job"),
                s("start"),
                s("--profile"),
                profile.clone(),
                s("--source"),
                p(&function),
                s("--destination"),
                format!("{}/", p(&job_output)),
            ],
            expect: exit::OK,
        },
        Step {
            what: "run a worker until the queue is empty: it claims the job, signs it, writes <destination><job id>.zip once",
            args: vec![s("worker"), s("--until-idle")],
            expect: exit::OK,
        },
        Step {
            what: "describe the job: Succeeded, its signed object and its signature's expiry",
            args: vec![s("sign-job"), s("describe"), s("{job_id}")],
            expect: exit::OK,
        },
        Step {
            what: "verify the job's signed package",
            args: vec![s("verify"), s("{destination}{job_id}.zip")],
            expect: exit::OK,
        },
        Step {
            what: "publish a layer, signed, as version 1 of \"greetings\" (its real unzipped size is checked)",
            args: vec![
                s("layer"),
                s("publish"),
                s("greetings"),
                p(&layer),
                s("--compatible-runtime"),
                s("python3.12"),
                s("--description"),
                s("greetings for Python functions"),
                s("--sign"),
                profile.clone(),
            ],
            expect: exit::OK,
        },
        Step {
            what: "show what the layer version records",
            args: vec![s("layer"), s("show"), s("greetings:1")],
            expect: exit::OK,
        },
        Step {
            what: "look up the profile's current version (scripts read the JSON output)",
            args: vec![s("--output"), s("json"), s("profile"), s("show"), profile.clone()],
            expect: exit::OK,
        },
        Step {
            what: "create a code-signing config from a file that trusts that version (policy enforce)",
            args: vec![s("--output"), s("json"), s("csc"), s("create"), s("--from"), p(&csc_file)],
            expect: exit::OK,
        },
        Step {
            what: "the deploy hook: the signed function with the signed layer is allowed",
            args: vec![s("deploy"), s("check"), p(&deployment)],
            expect: exit::OK,
        },
        Step {
            what: "the deploy hook: the unsigned function is denied, and the verdict says why",
            args: vec![s("deploy"), s("check"), p(&deployment_unsigned)],
            expect: exit::DENIED,
        },
    ];
    // Files the deploy-check steps read, written just before the step that names them,
    // with {NAME} filled in from earlier steps (see `fill`).
    // The code paths are relative: deploy check takes them from the deployment's folder.
    let deployment_doc = |code: &str| {
        format!(
            r#"{{"function":"hello","code":"{code}","layers":["greetings:1"],"memory_mb":512,"ephemeral_storage_mb":512,"timeout_s":30,"code_signing_config":"{{id}}"}}"#
        )
    };
    let csc_doc = format!(
        r#"{{"allowed_publishers":["{profile}/{{current_version}}"],"policy":"enforce","description":"quickstart"}}"#
    );
    let files = [
        (p(&csc_file), csc_doc),
        (p(&deployment), deployment_doc("hello-function.signed.zip")),
        (p(&deployment_unsigned), deployment_doc("hello-function.zip")),
    ];
    let mut vars: BTreeMap<String, String> = BTreeMap::new();

    let exe = std::env::current_exe().context("finding the signer binary")?;
    let home = dir.join("home");
    ctx.out.log(format!("quickstart in {} (a throwaway home with its embedded store)", dir.display()));
    ctx.out.log(format!("every command below runs with SIGNER_HOME={}\n", home.display()));
    let mut done = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let args: Vec<String> = step.args.iter().map(|a| fill(a, &vars)).collect();
        let shown = format!("signer {}", args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "));
        ctx.out.log(format!("{}. {}\n   $ {shown}", i + 1, step.what));
        for (path, template) in files.iter().filter(|(path, _)| args.contains(path)) {
            let text = fill(template, &vars);
            std::fs::write(path, &text).with_context(|| format!("writing {path}"))?;
            ctx.out.log(format!("   ({path}: {text})"));
        }
        let out = Command::new(&exe)
            .args(&args)
            .env("SIGNER_HOME", &home)
            .env_remove("SIGNER_STORE")
            .output()
            .with_context(|| format!("running {shown}"))?;
        let code = out.status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(255);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if ctx.out.format() == Format::Text {
            for line in stdout.lines() {
                ctx.out.log(format!("   {line}"));
            }
        }
        ctx.out.log(format!("   → exit {code}\n"));
        if code != step.expect {
            ctx.out.log(String::from_utf8_lossy(&out.stderr));
            bail!("quickstart step {} ({}) exited {code}, expected {}", i + 1, step.what, step.expect);
        }
        capture(&args, &stdout, &mut vars);
        done.push(serde_json::json!({"step": step.what, "command": shown, "exit_code": code}));
    }
    let kept = match temp {
        Some(t) if args.keep => {
            let _ = t.keep();
            true
        }
        Some(t) => {
            t.close().with_context(|| format!("removing {}", dir.display()))?;
            false
        }
        None => true,
    };
    let doc = serde_json::json!({
        "destination": dir.display().to_string(),
        "home": home.display().to_string(),
        "kept": kept,
        "steps": done,
    });
    let text = if kept {
        format!("quickstart passed: {} steps; explore with SIGNER_HOME={}", done.len(), home.display())
    } else {
        format!(
            "quickstart passed: {} steps; removed {} and the throwaway keys in it (--keep keeps it)",
            done.len(),
            dir.display()
        )
    };
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// After a step run with `--output json`, its top-level string fields can be used by
/// later steps as `{field}` (`{current_version}` from `profile show`, `{id}` from
/// `csc create`), as a script would read them.
fn capture(args: &[String], stdout: &str, vars: &mut BTreeMap<String, String>) {
    if args.first().map(String::as_str) != Some("--output") || args.get(1).map(String::as_str) != Some("json") {
        return;
    }
    if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str(stdout) {
        for (k, v) in doc {
            if let serde_json::Value::String(v) = v {
                vars.insert(k, v);
            }
        }
    }
}

/// `template` with every `{NAME}` of `vars` replaced.
fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    vars.iter().fold(template.to_owned(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}
