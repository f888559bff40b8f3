//! Shell completions that know the store: profile names, layer names and versions,
//! code-signing config ids (clap_complete's dynamic completion).
//!
//! The shell calls `signer` itself to complete (`COMPLETE=bash signer -- …`, set up by
//! the script `signer completions SHELL` prints). The store is the one `SIGNER_STORE` and
//! `SIGNER_HOME` name, opened read-only; a store that cannot be read within a few seconds
//! completes nothing rather than hang the shell.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use super::{Ctx, Format, Out};
use signer::store::Store;

/// How long a completion waits for the store.
const STORE_WAIT: Duration = Duration::from_secs(3);

/// Answers a completion request and exits, when the shell made one; returns otherwise.
pub(super) fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(<super::Cli as clap::CommandFactory>::command).complete();
}

/// The script that sets a shell up to complete `signer` by asking it.
pub(super) fn registration(shell: &str) -> std::io::Result<Vec<u8>> {
    let shells = clap_complete::env::Shells::builtins();
    let Some(completer) = shells.completer(shell) else {
        return Err(std::io::Error::other(format!("no completion support for {shell}")));
    };
    let exe = std::env::current_exe()?;
    let mut script = Vec::new();
    completer.write_registration("COMPLETE", "signer", "signer", &exe.to_string_lossy(), &mut script)?;
    Ok(script)
}

/// Runs `read` on the store of the environment (`SIGNER_STORE`, `SIGNER_HOME`,
/// `SIGNER_TRUST_ROOT`), with a bound on the wait; nothing on any failure.
fn from_store<F, Fut>(read: F) -> Vec<CompletionCandidate>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<CompletionCandidate>>>,
{
    #[allow(clippy::disallowed_methods)] // the CLI edge is where the environment is read
    let ctx = Ctx {
        home_dir: std::env::var_os("SIGNER_HOME").map_or_else(super::default_home, PathBuf::from),
        store_url: std::env::var("SIGNER_STORE").ok(),
        trust_root: std::env::var("SIGNER_TRUST_ROOT").ok(),
        out: Out::new(Format::Text, true, 0),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return Vec::new();
    };
    runtime.block_on(async {
        let Ok(store) = ctx.read_store() else {
            return Vec::new();
        };
        match tokio::time::timeout(STORE_WAIT, read(store)).await {
            Ok(Ok(found)) => found,
            _ => Vec::new(),
        }
    })
}

/// Profile names (active ones), with their platform as help.
pub(super) fn profiles() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        from_store(|store| async move {
            Ok(signer::profiles::list_profiles(&store, false)
                .await?
                .into_iter()
                .map(|p| CompletionCandidate::new(p.name.as_str()).help(Some(p.platform.as_str().into())))
                .collect())
        })
    })
}

/// Code-signing config ids, with their description as help.
pub(super) fn cscs() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        from_store(|store| async move {
            Ok(signer::csc::list(&store)
                .await?
                .into_iter()
                .map(|c| CompletionCandidate::new(c.id.as_str()).help(Some(c.description.into())))
                .collect())
        })
    })
}

/// Layer names.
pub(super) fn layer_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        from_store(|store| async move {
            Ok(signer::layers::list(&store, None)
                .await?
                .into_iter()
                .map(|v| CompletionCandidate::new(v.layer.name.as_str()))
                .collect())
        })
    })
}

/// Layer versions, `NAME:N`, every one not deleted.
pub(super) fn layer_versions() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        from_store(|store| async move {
            let mut out = Vec::new();
            for latest in signer::layers::list(&store, None).await? {
                for v in signer::layers::versions(&store, &latest.layer.name).await? {
                    out.push(CompletionCandidate::new(v.layer.to_string()).help(v.description.map(Into::into)));
                }
            }
            Ok(out)
        })
    })
}
