//! `signer revocations export`, and the `--revocations FILE [--max-age D]` flags that
//! `verify` and `deploy check` share.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use super::paths::{read_input, write_whole};
use signer::bundle;
use signer::clock;
use signer::error::exit;
use signer::judge::Grounds;
use signer::profiles;
use signer::revlist::{self, MaxAge};
use signer::snapshot::Snapshot;
use signer::snapshots;
use signer::store::Store;

#[derive(Debug, Subcommand)]
pub(super) enum RevocationsCmd {
    /// Write the store's revocations (profile versions and job signatures) to a file
    /// signed by the store's root CA, with its issue time, for deploy hooks that judge
    /// revocation without the store: `verify` and `deploy check` take it with
    /// `--revocations FILE` and refuse it when it is altered, from another store, or older
    /// than `--max-age`. Run it where `signer init` ran (it needs the root CA's key).
    ///
    /// Example: signer revocations export -o revocations.json
    Export {
        /// The file to write (replaced whole, never left half-written), or - for stdout.
        #[arg(short, long = "output-file", visible_alias = "out", value_name = "FILE")]
        o: PathBuf,
    },
}

pub(super) async fn run(ctx: &Ctx, cmd: RevocationsCmd) -> anyhow::Result<u8> {
    let RevocationsCmd::Export { o } = cmd;
    let store = ctx.read_store()?;
    let home = ctx.home()?;
    let ca = store.root_ca().await?;
    let key = profiles::root_ca_key(&home, &ca, "export revocation lists")?;
    let revocations = profiles::revocations(&store).await?;
    let now = clock::now();
    let bytes = revlist::export(&revocations, &ca.der()?, &*key, now)?;
    write_whole(&o, &bytes, "revocation list", &ctx.out).await?;
    let doc = serde_json::json!({
        "destination": o.display().to_string(),
        "issued_at": now,
        "root_ca": {"fingerprint": ca.fingerprint},
        "revoked_version_count": revocations.versions.len(),
        "revoked_job_count": revocations.jobs.len(),
    });
    let text = format!(
        "wrote {}: {} revoked profile version(s) and {} revoked job signature(s), issued {now}, signed by the root CA {}\nuse it with: signer verify PACKAGE --revocations {} --max-age 1d",
        o.display(),
        revocations.versions.len(),
        revocations.jobs.len(),
        ca.fingerprint.get(..16).unwrap_or_default(),
        o.display()
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

/// Where a judgement's trust comes from beyond the pin: the store (or a trust bundle), a
/// signed revocation list, and how old their data may be.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct TrustArgs {
    /// Judge with the trust records of this bundle (`signer trust bundle`) instead of the
    /// store's: for hooks that cannot reach the store. Its records are checked against
    /// the pinned root (--trust-root) and its snapshot against --max-age, as the store's.
    #[arg(long, value_name = "FILE")]
    trust_bundle: Option<PathBuf>,
    /// A revocation list from `signer revocations export`, for hooks that cannot read the
    /// store's revocations. Its revocations are added to any the store holds; it is
    /// refused (exit 3) if this store's root CA did not sign it or it was altered.
    #[arg(long, value_name = "FILE")]
    revocations: Option<PathBuf>,
    /// Refuse the store's trust snapshot, and a --revocations list, issued longer ago
    /// than this (measured on the clock, not --at): 90s, 30m, 12h, 7d. A store kept from
    /// showing new revocations goes stale this way; `signer trust refresh` re-issues the
    /// snapshot where the root key is.
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    max_age: MaxAge,
}

/// What judging trusts beyond the package: the revocations and the TSA root, and the
/// snapshot the revocations were checked against.
pub(super) struct Standing {
    /// Everything revoked (the snapshot's, the store's records, the list's) and the
    /// store's TSA root.
    pub(super) grounds: Grounds,
    /// The store's newest trust snapshot, fresh and not rolled back.
    pub(super) snapshot: Snapshot,
}

impl TrustArgs {
    /// The store to judge with — the bundle's, in memory, or the configured store (never
    /// created) — and what it stands for: its root checked against the pin before anything
    /// else is read, then its newest snapshot (which also says which administrators are
    /// revoked before any record they sealed is read) and the revocations.
    pub(super) async fn open(&self, ctx: &Ctx) -> anyhow::Result<(Store, Standing)> {
        let store = self.store(ctx).await?;
        let standing = self.load(ctx, &store).await?;
        Ok((store, standing))
    }

    async fn store(&self, ctx: &Ctx) -> anyhow::Result<Store> {
        let store = match &self.trust_bundle {
            None => ctx.read_store()?,
            Some(path) => {
                let bytes = read_input(path, bundle::MAX_BUNDLE_BYTES, "trust bundle")?;
                let store = bundle::open(&bytes, &format!("trust bundle {}", path.display()))
                    .await
                    .with_context(|| format!("reading {}", path.display()))?;
                store.trusting(ctx.pin_source()?, None)
            }
        };
        store.trusted_root().await?;
        Ok(store)
    }

    /// The revocations to judge with: the newest trust snapshot's (refused when stale or
    /// rolled back), the store's records, and the list's when one is given.
    async fn load(&self, ctx: &Ctx, store: &Store) -> anyhow::Result<Standing> {
        let now = clock::now();
        let snapshot = snapshots::current(store, &ctx.home_dir, now, self.max_age).await?;
        let mut all = snapshot.revocations.clone();
        revlist::merge(&mut all, profiles::revocations(store).await?);
        if let Some(path) = &self.revocations {
            let bytes = read_input(path, revlist::MAX_LIST_BYTES, "revocation list")?;
            // Signed by the pinned root, whatever the store says its root is.
            let root = store.trusted_root().await?.der();
            let list = revlist::verify(&bytes, root, now, Some(self.max_age))
                .with_context(|| format!("reading {}", path.display()))?;
            ctx.out.debug(format!(
                "revocation list {} issued {}: {} version(s), {} job(s)",
                path.display(),
                list.issued_at,
                list.revocations.versions.len(),
                list.revocations.jobs.len()
            ));
            revlist::merge(&mut all, list.revocations);
        }
        let tsa_root = match signer::tsa::current(store).await? {
            Some(tsa) => Some(tsa.root_der()?),
            None => None,
        };
        Ok(Standing { grounds: Grounds { revocations: all, tsa_root }, snapshot })
    }
}

/// The largest PEM file read (a certificate or a public key): 64 KiB.
pub(super) const MAX_PEM_FILE: usize = 64 * 1024;

/// Reads a local PEM file (at most [`MAX_PEM_FILE`]) as text; bytes that are not UTF-8
/// are left for the PEM parser to refuse.
pub(super) fn read_pem(path: &std::path::Path, what: &'static str) -> anyhow::Result<String> {
    Ok(String::from_utf8_lossy(&read_input(path, MAX_PEM_FILE, what)?).into_owned())
}
