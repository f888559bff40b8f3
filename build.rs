//! Records the commit and the date of the build for `signer --version`: `git` and
//! `date` when they are there, `unknown` when not (a source archive without `.git`).

use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let commit = output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let date = output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SIGNER_COMMIT={commit}");
    println!("cargo:rustc-env=SIGNER_BUILD_DATE={date}");
    // Built again when the checked-out commit changes, not on every edit.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
