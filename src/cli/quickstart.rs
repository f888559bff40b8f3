//! `signer quickstart`: the README's first command. It runs the real `signer` binary for
//! each step, on a throwaway embedded store, and prints the command a user would type.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::{Ctx, Format};
use crate::error::exit;

const PROFILE: &str = include_str!("../../profiles/release-profile.json");
const FUNCTION_ZIP: &[u8] = include_bytes!("../../fixtures/packages/hello-function.zip");

#[derive(Debug, clap::Args)]
pub(super) struct QuickstartArgs {
    /// Folder for the throwaway home, store and packages (default: a new folder under the
    /// system's temporary directory). It is kept so you can explore it afterwards.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct ProfileDef {
    name: String,
    platform: String,
    validity: String,
}

struct Step {
    what: &'static str,
    args: Vec<String>,
    expect: u8,
}

pub(super) async fn run(ctx: &Ctx, args: QuickstartArgs) -> anyhow::Result<u8> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "signer-quickstart-{}",
            uuid::Uuid::new_v4().simple()
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let function = dir.join("hello-function.zip");
    std::fs::write(&function, FUNCTION_ZIP)
        .with_context(|| format!("writing {}", function.display()))?;
    let profile: ProfileDef =
        serde_json::from_str(PROFILE).context("profiles/release-profile.json")?;
    let signed = dir.join("hello-function.signed.zip");
    let p = |p: &Path| p.display().to_string();
    let s = |x: &str| x.to_owned();

    let steps = [
        Step {
            what: "create the store's root CA",
            args: vec![s("init")],
            expect: exit::OK,
        },
        Step {
            what: "create a signing profile from profiles/release-profile.json",
            args: vec![
                s("profile"),
                s("create"),
                profile.name.clone(),
                s("--platform"),
                profile.platform,
                s("--validity"),
                profile.validity,
            ],
            expect: exit::OK,
        },
        Step {
            what: "sign the function package",
            args: vec![
                s("sign"),
                s("--profile"),
                profile.name.clone(),
                p(&function),
                s("-o"),
                p(&signed),
            ],
            expect: exit::OK,
        },
        Step {
            what: "verify the signed package",
            args: vec![s("verify"), p(&signed)],
            expect: exit::OK,
        },
        Step {
            what: "show its signature",
            args: vec![s("signature"), s("show"), p(&signed)],
            expect: exit::OK,
        },
        Step {
            what: "the unsigned original is refused",
            args: vec![s("verify"), p(&function)],
            expect: exit::DENIED,
        },
    ];

    let exe = std::env::current_exe().context("finding the signer binary")?;
    let home = dir.join("home");
    ctx.out.log(format!(
        "quickstart in {} (a throwaway home with its embedded store)",
        dir.display()
    ));
    ctx.out.log(format!(
        "every command below runs with SIGNER_HOME={}\n",
        home.display()
    ));
    let mut done = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let shown = format!(
            "signer {}",
            step.args
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        ctx.out
            .log(format!("{}. {}\n   $ {shown}", i + 1, step.what));
        let out = Command::new(&exe)
            .args(&step.args)
            .env("SIGNER_HOME", &home)
            .env_remove("SIGNER_STORE")
            .output()
            .with_context(|| format!("running {shown}"))?;
        let code = out
            .status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(255);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if ctx.out.format() == Format::Text {
            for line in stdout.lines() {
                ctx.out.log(format!("   {line}"));
            }
        }
        ctx.out.log(format!("   → exit {code}\n"));
        if code != step.expect {
            ctx.out.log(String::from_utf8_lossy(&out.stderr));
            bail!(
                "quickstart step {} ({}) exited {code}, expected {}",
                i + 1,
                step.what,
                step.expect
            );
        }
        done.push(serde_json::json!({"step": step.what, "command": shown, "exit_code": code}));
    }
    let doc = serde_json::json!({"dir": dir.display().to_string(), "home": home.display().to_string(), "steps": done});
    ctx.out.emit(
        &doc,
        format!(
            "quickstart passed: {} steps; explore with SIGNER_HOME={}",
            done.len(),
            home.display()
        ),
    )?;
    Ok(exit::OK)
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
