//! `signer verify` and `signer signature show|export`

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use super::paths::Input;
use signer::clock;
use signer::crypto;
use signer::error::exit;
use signer::format::Block;
use signer::judge;
use signer::model::{Platform, Timestamp};
use signer::verdict::{Decision, Role, Verdict};
use signer::verify::Integrity;

#[derive(Debug, clap::Args)]
pub(super) struct VerifyArgs {
    /// The signed package: a path, an object URL, or - for stdin.
    package: String,
    /// Judge as of this RFC 3339 time instead of now (audits, tests).
    #[arg(long, value_name = "TIME")]
    at: Option<Timestamp>,
    #[command(flatten)]
    csc: super::csc::CscArgs,
    #[command(flatten)]
    trust: super::revocations::TrustArgs,
}

pub(super) async fn run(ctx: &Ctx, args: VerifyArgs) -> anyhow::Result<u8> {
    let (store, standing) = args.trust.open(ctx).await?;
    let input = Input::parse(&args.package, "package")?;
    let loc = &input.location;
    let at = args.at.unwrap_or_else(clock::now);
    // Trust, revocations and the config first: a stale store, a bad list or an unknown
    // config fails before any package byte is read.
    let config = super::csc::Loaded::load(&store, args.csc.csc.as_ref(), args.csc.csc_file.as_deref()).await?;
    config.check_snapshot(&standing.snapshot)?;
    let bar = ctx.out.progress(loc.size().await?, "verifying");
    let b = bar.clone();
    let read = judge::read(loc, ctx.out.verdict_hash(), move |n| b.set_position(n)).await;
    bar.finish_and_clear();
    let read = read?;
    let pkg =
        judge::judge(&store, &read, Role::Function, input.name.clone(), &config.trust(), &standing.grounds, at).await?;
    let verdict = Verdict::new(config.policy(), vec![pkg], vec![]);
    ctx.out.emit(&verdict, verdict.to_text())?;
    Ok(match verdict.decision {
        Decision::Allow => exit::OK,
        Decision::Deny => exit::DENIED,
    })
}

#[derive(Debug, Subcommand)]
pub(super) enum SignatureCmd {
    /// Print the signed statement of a package (profile, version, job, times, digest,
    /// certificates) and whether its bytes are intact.
    ///
    /// Example: signer signature show function.signed.zip
    Show {
        /// The signed package: a path, an object URL, or - for stdin.
        package: String,
    },
    /// Write the signature's pieces for independent checks with openssl:
    /// payload.bin (the exact bytes signed), signature.der, certificate.pem, chain.pem,
    /// statement.json. SECURITY.md shows the openssl commands.
    ///
    /// Example: signer signature export function.signed.zip --dir sig/
    Export {
        /// The signed package: a path, an object URL, or - for stdin.
        package: String,
        /// Folder to write into (created if missing).
        #[arg(long)]
        dir: PathBuf,
    },
}

pub(super) async fn signature(ctx: &Ctx, cmd: SignatureCmd) -> anyhow::Result<u8> {
    let (package, dir) = match cmd {
        SignatureCmd::Show { package } => (package, None),
        SignatureCmd::Export { package, dir } => (package, Some(dir)),
    };
    let input = Input::parse(&package, "package")?;
    let read = judge::read(&input.location, signer::verify::WholeHash::Skip, |_| {}).await?;
    let (block, integrity) = match &read.integrity {
        Integrity::Unsigned => {
            return Err(signer::Error::Unsigned { package: input.name }.into());
        }
        Integrity::Broken { block: None, reason } => {
            return Err(signer::Error::BrokenBlock { package: input.name, reason: reason.to_string() }.into());
        }
        Integrity::Broken { block: Some(b), reason } => (b.as_ref(), format!("fail: {reason}")),
        Integrity::Intact(b) => (&**b, "pass".to_owned()),
    };
    match dir {
        None => show(ctx, block, &integrity),
        Some(dir) => export(ctx, block, &dir),
    }?;
    Ok(exit::OK)
}

fn show(ctx: &Ctx, block: &Block, integrity: &str) -> anyhow::Result<()> {
    let st = &block.statement;
    let subjects: Vec<String> = st
        .chain_der()?
        .iter()
        .map(|c| crypto::cert_info(c).map(|i| i.subject_cn.unwrap_or_default()).unwrap_or_else(|e| format!("<{e}>")))
        .collect();
    // What the timestamp says, unchecked here (`verify` checks it against the store's TSA).
    // (An empty token: the line was reserved and the TSA did not answer.)
    let stamp = block.timestamp.as_deref().filter(|t| !t.is_empty()).map(signer::timestamp::describe);
    let timestamp = match &stamp {
        None => serde_json::Value::Null,
        Some(Ok(s)) => serde_json::json!({"stamped_at": s.time, "serial": s.serial, "tsa": s.tsa}),
        Some(Err(e)) => serde_json::json!({"error": e.to_string()}),
    };
    let timestamp_line = match &stamp {
        None => "none (the signing time is the signer's claim)".to_owned(),
        Some(Ok(s)) => {
            format!("{} by {} (serial {}), not checked here", s.time, s.tsa.as_deref().unwrap_or("?"), s.serial)
        }
        Some(Err(e)) => format!("unreadable: {e}"),
    };
    let doc = serde_json::json!({"integrity": integrity, "statement": st, "certificate_subjects": subjects, "timestamp": timestamp});
    let text = format!(
        "integrity:       {integrity}\nprofile version: {}/{}\nplatform:        {}\njob:             {}\nsigned at:       {}\nexpires at:      {}\ncontent:         {} bytes, {} {}\nzip:             {} entries, {} bytes unzipped\ncertificates:    {}\ntimestamp:       {timestamp_line}",
        st.profile,
        st.profile_version,
        st.platform,
        st.job_id.as_ref().map(|j| j.to_string()).unwrap_or_else(|| "-".into()),
        st.signed_at,
        st.expires_at,
        st.content.length,
        st.content.digest_algorithm.as_str(),
        st.content.digest,
        st.content.entries,
        st.content.unzipped_size,
        subjects.join(" ← "),
    );
    ctx.out.emit(&doc, text)
}

fn export(ctx: &Ctx, block: &Block, dir: &Path) -> anyhow::Result<()> {
    let st = &block.statement;
    let chain = st.chain_der()?;
    let (leaf, issuers) = chain.split_first().context("the statement carries no certificate")?;
    signer::location::create_folder(dir)?;
    let dgst = st.content.digest_algorithm.openssl_name();
    // ECDSA signatures as DER (what openssl dgst -verify reads); Ed25519's are 64 raw
    // bytes, which openssl pkeyutl reads as they are.
    let (signature_file, verify_command) = match st.platform {
        Platform::Ed25519 => (
            "signature.bin",
            "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in payload.bin -sigfile signature.bin".to_owned(),
        ),
        ecdsa => {
            let hash = if ecdsa == Platform::EcdsaP256Sha256 { "sha256" } else { "sha384" };
            ("signature.der", format!("openssl dgst -{hash} -verify pub.pem -signature signature.der payload.bin"))
        }
    };
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("payload.bin", block.payload.clone()),
        (signature_file, crypto::signature_to_der(st.platform, &block.signature)?),
        ("certificate.pem", crypto::to_pem("CERTIFICATE", leaf).into_bytes()),
        ("chain.pem", issuers.iter().map(|c| crypto::to_pem("CERTIFICATE", c)).collect::<String>().into_bytes()),
        ("statement.json", serde_json::to_vec_pretty(st)?),
    ];
    // The timestamp as a TimeStampResp: `openssl ts -verify -data signature.der -in
    // timestamp.tsr -CAfile <TSA root>` checks it.
    let token = block.timestamp.as_deref().filter(|t| !t.is_empty());
    if let Some(token) = token {
        files.push(("timestamp.tsr", signer::timestamp::as_response(token).map_err(signer::Error::from)?));
    }
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    // The commands that check the pieces, run in the folder (the chain needs the root the
    // verifier trusts, the content digest the package itself).
    let mut commands = vec![
        "openssl x509 -in certificate.pem -pubkey -noout > pub.pem".to_owned(),
        verify_command,
        "openssl verify -CAfile ROOT.pem -untrusted chain.pem certificate.pem".to_owned(),
        format!(
            "head -c {} PACKAGE | split -b 1M --filter='openssl dgst -{dgst} -binary' | openssl dgst -{dgst}",
            st.content.length
        ),
    ];
    if token.is_some() {
        commands.push(format!("openssl ts -verify -data {signature_file} -in timestamp.tsr -CAfile TSA-ROOT.pem"));
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let doc = serde_json::json!({
        "destination": dir.display().to_string(),
        "files": names,
        "signature_file": signature_file,
        "check_commands": commands,
        "hash": dgst,
        "content_length": st.content.length,
        "content_digest": {"algorithm": st.content.digest_algorithm, "value": st.content.digest},
    });
    let text = format!(
        "wrote {} to {}\ncheck with (in that folder; ROOT.pem is the root you trust, PACKAGE the signed zip):\n  {}\n(the content digest must come out as {})",
        names.join(", "),
        dir.display(),
        commands.join("\n  "),
        st.content.digest
    );
    ctx.out.emit(&doc, text)
}
