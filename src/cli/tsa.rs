//! `signer tsa set|show`: the store's time-stamping authority.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use signer::clock;
use signer::crypto;
use signer::error::exit;
use signer::tsa::{self, TsaConfig};

#[derive(Debug, Subcommand)]
pub(super) enum TsaCmd {
    /// Use this RFC 3161 time-stamping authority: from now on every signature (`sign`,
    /// signing jobs, `layer publish --sign`) carries its timestamp, and verifiers take the
    /// signing time from it. A signature without a valid timestamp is "untimestamped": its
    /// signing time is only its signer's claim, so once its version is revoked or its
    /// profile canceled it is denied, whatever time it claims. Needs the root key or an
    /// administrator's; the record is sealed like every trust record.
    ///
    /// Example: signer tsa set http://tsa.example.internal/ --root tsa-root.pem
    Set {
        /// The TSA's URL (http or https).
        url: url::Url,
        /// The TSA's root CA certificate (PEM; - for stdin): its tokens must chain to it.
        #[arg(long, value_name = "FILE")]
        root: PathBuf,
    },
    /// Print the store's TSA: its URL and root.
    Show,
}

pub(super) async fn run(ctx: &Ctx, cmd: TsaCmd) -> anyhow::Result<u8> {
    match cmd {
        TsaCmd::Set { url, root } => {
            let pem = super::revocations::read_pem(&root, "TSA root certificate")?;
            let certs = crypto::parse_pem_certs(&pem).map_err(signer::Error::from)?;
            let der = certs.into_iter().next().context("the TSA root file holds no certificate")?;
            let config = tsa::set(&ctx.store()?, &url, &der, clock::now()).await?;
            emit(ctx, &config, "signatures are timestamped by")
        }
        TsaCmd::Show => match tsa::current(&ctx.read_store()?).await? {
            Some(config) => emit(ctx, &config, "time-stamping authority:"),
            None => {
                let doc = serde_json::json!({"url": null, "root": null, "set_at": null});
                ctx.out.emit(&doc, "no time-stamping authority: signatures are untimestamped")?;
                Ok(exit::OK)
            }
        },
    }
}

fn emit(ctx: &Ctx, config: &TsaConfig, what: &str) -> anyhow::Result<u8> {
    let root = config.root_der()?;
    let info = crypto::cert_info(&root)?;
    let doc = serde_json::json!({
        "url": config.url,
        "root": {"fingerprint": info.sha256_fingerprint, "subject": info.subject_cn},
        "set_at": config.set_at,
    });
    let text = format!(
        "{what} {} (root {}, sha256 {}), set {}",
        config.url,
        info.subject_cn.as_deref().unwrap_or("-"),
        info.sha256_fingerprint,
        config.set_at
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}
