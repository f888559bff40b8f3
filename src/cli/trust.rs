//! `signer trust show|export`: the root this home (or `--trust-root`) trusts.

use std::path::PathBuf;

use clap::Subcommand;

use super::Ctx;
use signer::crypto;
use signer::error::exit;
use signer::store::{PinSource, StoreError};
use signer::trust::{Pin, TrustError};

#[derive(Debug, Subcommand)]
pub(super) enum TrustCmd {
    /// Print the pinned root CA (its SHA-256 fingerprint, subject, validity) and whether
    /// the store's root is that one. Exit 1 when the store holds another root.
    ///
    /// Give the fingerprint to the people who set up verifiers: `--trust-root sha256:HEX`
    /// (or SIGNER_TRUST_ROOT) makes them trust this root and nothing else.
    ///
    /// Example: signer trust show
    Show,
    /// Write the pinned root CA certificate (PEM), for `--trust-root FILE` on machines
    /// that verify without this home, and for `openssl verify -CAfile`.
    ///
    /// Example: signer trust export -o root.pem
    Export {
        /// The file to write (replaced whole, never left half-written), or - for stdout.
        #[arg(short, long = "output-file", visible_alias = "out", value_name = "FILE")]
        o: PathBuf,
    },
    /// Write the store's trust records — root, profiles and versions, cancellations,
    /// revocations, code-signing configs, layer records, the newest trust snapshot — to one
    /// file, for deploy hooks that cannot reach the store: `deploy check --trust-bundle
    /// FILE` and `verify --trust-bundle FILE` judge from it alone. Every record in it is
    /// sealed by the root, so anyone who can read the store may export it; the hook's
    /// --max-age counts from the snapshot's issue time (refresh, then bundle, daily).
    ///
    /// Example: signer trust bundle -o trust.json
    Bundle {
        /// The file to write (replaced whole, never left half-written), or - for stdout.
        #[arg(short, long = "output-file", visible_alias = "out", value_name = "FILE")]
        o: PathBuf,
    },
    /// Issue a new trust snapshot, sealed by the root key: everything revoked, canceled
    /// and deleted, and each code-signing config's newest revision, as of now.
    ///
    /// Verifiers refuse a snapshot older than their --max-age (7 days by default), so that
    /// a store kept from showing new revocations goes stale. Every revocation, cancellation,
    /// config change and layer deletion issues one; run this where `signer init` ran, daily
    /// (from cron), so a store with no changes stays fresh.
    ///
    /// Example: signer trust refresh
    Refresh,
}

pub(super) async fn run(ctx: &Ctx, cmd: TrustCmd) -> anyhow::Result<u8> {
    match cmd {
        TrustCmd::Show => {
            let source = ctx.pin_source()?;
            let pin = source.pin()?;
            show(ctx, &source, &pin).await
        }
        TrustCmd::Export { o } => export(ctx, &o).await,
        TrustCmd::Refresh => refresh(ctx).await,
        TrustCmd::Bundle { o } => bundle(ctx, &o).await,
    }
}

async fn bundle(ctx: &Ctx, o: &std::path::Path) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let (bytes, summary) = signer::bundle::export(&store, signer::clock::now()).await?;
    super::paths::write_whole(o, &bytes, "trust bundle", &ctx.out).await?;
    let doc = serde_json::json!({"destination": o.display().to_string(), "store": store.url(), "summary": summary});
    let text = format!(
        "wrote {}: {} trust objects of {}, with trust snapshot {} issued {}\nuse it with: signer deploy check \
         deployment.json --trust-bundle {} --trust-root sha256:…",
        o.display(),
        summary.object_count,
        store.url(),
        summary.snapshot,
        summary.snapshot_issued_at,
        o.display()
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

async fn export(ctx: &Ctx, o: &std::path::Path) -> anyhow::Result<u8> {
    let der = match ctx.pin_source()?.pin()? {
        Pin::Certificate(der) => der,
        Pin::Sha256(_) => ctx.read_store()?.trusted_root().await?.der().to_vec(),
    };
    let fingerprint = crypto::cert_info(&der)?.sha256_fingerprint;
    super::paths::write_whole(o, crypto::to_pem("CERTIFICATE", &der).as_bytes(), "root certificate", &ctx.out).await?;
    let doc = serde_json::json!({"destination": o.display().to_string(), "fingerprint": fingerprint});
    let text = format!(
        "wrote the trusted root CA (sha256 {fingerprint}) to {}\nuse it with: signer --trust-root {} verify PACKAGE",
        o.display(),
        o.display()
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

async fn refresh(ctx: &Ctx) -> anyhow::Result<u8> {
    let snap = signer::snapshots::publish(&ctx.store()?, signer::clock::now()).await?;
    let doc = serde_json::json!({"snapshot": snap.number, "issued_at": snap.issued_at});
    let text = format!(
        "issued trust snapshot {} at {}: {} revoked version(s), {} revoked job signature(s), {} canceled profile(s), \
         {} config(s), {} deleted layer version(s)",
        snap.number,
        snap.issued_at,
        snap.revocations.versions.len(),
        snap.revocations.jobs.len(),
        snap.revocations.canceled.len(),
        snap.csc_heads.len(),
        snap.deleted_layers.len()
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

async fn show(ctx: &Ctx, source: &PinSource, pin: &Pin) -> anyhow::Result<u8> {
    let fingerprint = pin.fingerprint()?;
    let from = match source {
        PinSource::Given(_) => "--trust-root".to_owned(),
        PinSource::Home(dir) => dir.join(signer::home::PIN_FILE).display().to_string(),
    };
    let cert = match pin {
        Pin::Certificate(der) => Some(crypto::cert_info(der)?),
        Pin::Sha256(_) => None,
    };
    // The store's side: its root is the pinned one, another, or there is none to compare.
    let (store_url, store_root, code) = match ctx.read_store() {
        Err(e) => (None, format!("not compared: {e:#}"), exit::OK),
        Ok(store) => {
            let url = store.url().to_owned();
            match store.trusted_root().await {
                Ok(_) => (Some(url), "matches".to_owned(), exit::OK),
                Err(StoreError::Trust(e @ TrustError::RootMismatch { .. })) => (Some(url), e.to_string(), exit::DENIED),
                Err(e) => (Some(url), format!("not compared: {e}"), exit::OK),
            }
        }
    };
    let doc = serde_json::json!({
        "fingerprint": fingerprint,
        "pinned_by": from,
        "subject": cert.as_ref().and_then(|c| c.subject_cn.clone()),
        "not_before": cert.as_ref().map(|c| c.not_before),
        "not_after": cert.as_ref().map(|c| c.not_after),
        "store": store_url,
        "store_root": store_root,
    });
    let validity = cert
        .as_ref()
        .map(|c| {
            format!(
                "\nsubject:     {}\nvalid:       {} to {}",
                c.subject_cn.as_deref().unwrap_or("-"),
                c.not_before,
                c.not_after
            )
        })
        .unwrap_or_default();
    let text = format!(
        "trusted root: sha256:{fingerprint}\npinned by:   {from}{validity}\nstore:       {}\nstore root:  {store_root}",
        store_url.as_deref().unwrap_or("-")
    );
    ctx.out.emit(&doc, text)?;
    Ok(code)
}
