//! `signer deploy check`: the deploy-time hook (SPEC §5).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use super::csc::Loaded;
use super::revocations::TrustArgs;
use signer::clock;
use signer::deploy::{self, Sizes, field_path, layer_path};
use signer::error::exit;
use signer::judge;
use signer::judge::Grounds;
use signer::layers;
use signer::location::Location;
use signer::model::{LayerVersionRef, Timestamp};
use signer::policy::Trust;
use signer::store::Store;
use signer::verdict::{Decision, PackageVerdict, Role, Verdict};
use signer::verify::{Integrity, WholeHash};
use signer::zipcheck::{self, InspectError, Rule, ZipLimits};

#[derive(Debug, Subcommand)]
pub(super) enum DeployCmd {
    /// Judge a function deployment before it is deployed: the function package and every
    /// layer under the code-signing config, and Lambda's limits.
    ///
    /// The input is one JSON object (at most 1 MiB):
    ///   {"function":"hello","code":"PATH|URL","layers":["NAME:N",…],"memory_mb":1024,
    ///    "ephemeral_storage_mb":512,"timeout_s":30,"code_signing_config":"csc-…"}
    ///
    /// layers, memory_mb (default 128), ephemeral_storage_mb (512), timeout_s (3) and
    /// code_signing_config may be left out; without a config any publisher of this store
    /// is accepted and expiry and revocation deny.
    ///
    /// Checks: integrity and authenticity always deny; mismatch (unsigned or not an
    /// allowed publisher), expiry and revocation deny under `enforce` and warn under
    /// `warn`; at most 5 layers, no deleted layer version, function + layers at most
    /// 262144000 bytes unzipped, memory 128–10240 MB, ephemeral storage 512–10240 MB,
    /// timeout 1–900 s always deny.
    ///
    /// Exit 0 allow, 1 deny, 3 malformed input (the message names the JSON path of the
    /// bad field) or a hostile unsigned zip, 4 an unknown layer, config or code file.
    ///
    /// Examples:
    ///   signer deploy check deployment.json
    ///   signer --output json deploy check - < deployment.json
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The deployment JSON file, or - to read it from stdin. A relative `code` path in it
    /// is taken from the file's folder (from the current folder when read from stdin).
    input: String,
    /// Judge as of this RFC 3339 time instead of now (audits, tests).
    #[arg(long, value_name = "TIME")]
    at: Option<Timestamp>,
    /// Take the code-signing config from this JSON file (what `signer --output json csc
    /// show ID` prints) instead of the deployment's code_signing_config.
    #[arg(long, value_name = "FILE")]
    csc_file: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

pub(super) async fn run(ctx: &Ctx, cmd: DeployCmd) -> anyhow::Result<u8> {
    let DeployCmd::Check(args) = cmd;
    let bytes = super::paths::read_input(Path::new(&args.input), deploy::MAX_INPUT_BYTES, "deployment file")?;
    let d = deploy::parse(&bytes).map_err(signer::Error::from)?;
    let at = args.at.unwrap_or_else(clock::now);
    let (store, standing) = args.trust.open(ctx).await?;

    // A relative path is the deployment file's neighbour, wherever the hook runs from.
    let code = Location::parse(&super::paths::beside(&args.input, &d.code))
        .map_err(|e| signer::Error::from(deploy::InputError { path: field_path("code"), problem: e.to_string() }))?;
    code_exists(&code).await?;
    if let (Some(id), Some(file)) = (&d.code_signing_config, &args.csc_file) {
        return Err(signer::Error::BothGiven {
            what: format!("the deployment names code_signing_config {id} and --csc-file {} was given", file.display()),
        }
        .into());
    }
    let config = Loaded::load(&store, d.code_signing_config.as_ref(), args.csc_file.as_deref()).await.with_context(
        || match &d.code_signing_config {
            Some(_) => format!("at {}", field_path("code_signing_config")),
            None => "--csc-file".to_owned(),
        },
    )?;
    config.check_snapshot(&standing.snapshot)?;

    let mut packages =
        vec![Package { role: Role::Function, path: field_path("code"), name: d.code.clone(), loc: code }];
    let mut deleted: Vec<LayerVersionRef> = Vec::new();
    for (i, l) in d.layers.iter().enumerate() {
        let r = layers::resolve(&store, l).await.with_context(|| format!("at {} ({l})", layer_path(i)))?;
        // A tombstone a store writer removed is still in the snapshot.
        if r.deleted || standing.snapshot.deleted_layers.contains(l) {
            deleted.push(l.clone());
        }
        packages.push(Package { role: Role::Layer, path: layer_path(i), name: l.to_string(), loc: r.location });
    }
    ctx.out.debug(format!("judging {} package(s) of {} at {at}", packages.len(), d.function));

    let trust = config.trust();
    let judged = futures::future::try_join_all(
        packages.iter().map(|p| judge_package(&store, p, ctx.out.verdict_hash(), &trust, &standing.grounds, at)),
    )
    .await?;
    let sizes = Sizes {
        function: judged.first().and_then(|p| p.unzipped_size),
        layers: judged.iter().skip(1).map(|p| (p.name.clone(), p.unzipped_size)).collect(),
    };
    let limits = deploy::limit_findings(&d, &sizes, &deleted);
    let verdict = Verdict::new(config.policy(), judged, limits);
    ctx.out.emit(&verdict, verdict.to_text())?;
    Ok(match verdict.decision {
        Decision::Allow => exit::OK,
        Decision::Deny => exit::DENIED,
    })
}

/// A missing function package is "not found" (exit 4), named by its JSON path.
async fn code_exists(code: &Location) -> anyhow::Result<()> {
    match code.size().await {
        Ok(_) => Ok(()),
        Err(signer::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(signer::Error::NoFile {
                path: format!("{code} (at {})", field_path("code")),
                what: "function package",
                fix: "check the deployment's code field",
            }
            .into())
        }
        Err(e @ signer::Error::Store(signer::store::StoreError::NotFound { .. })) => {
            Err(anyhow::Error::from(e).context(format!("the function package at {}", field_path("code"))))
        }
        Err(e) => Err(e.into()),
    }
}

/// One package of the deployment.
struct Package {
    role: Role,
    /// Its JSON path, for error messages.
    path: String,
    /// The name in the verdict: the code's path or URL, or `NAME:N`.
    name: String,
    loc: Location,
}

/// Reads and judges one package. The unzipped size of a signed package comes from its
/// verified statement; an unsigned one has no statement, so its bytes are measured with
/// the strict zip gate (bounded at the limit).
async fn judge_package(
    store: &Store,
    p: &Package,
    whole: WholeHash,
    trust: &Trust<'_>,
    grounds: &Grounds,
    at: Timestamp,
) -> anyhow::Result<PackageVerdict> {
    let read = judge::read(&p.loc, whole, |_| {}).await.with_context(|| format!("at {} ({})", p.path, p.name))?;
    let unsigned = matches!(read.integrity, Integrity::Unsigned);
    let mut verdict = judge::judge(store, &read, p.role, p.name.clone(), trust, grounds, at).await?;
    if unsigned {
        verdict.unzipped_size = Some(measure(p).await?);
    }
    Ok(verdict)
}

async fn measure(p: &Package) -> anyhow::Result<u64> {
    let mut input = p.loc.open().await?;
    let inspected = tokio::task::spawn_blocking(move || zipcheck::inspect(&mut input, &ZipLimits::default()))
        .await
        .map_err(|e| signer::Error::Internal(format!("the zip check failed: {e}")))?;
    match inspected {
        Ok((_, i)) => Ok(i.unzipped_size),
        Err(InspectError::Zip(z)) => {
            // Over the limit: its size (as declared, or inflated up to the stop) still goes
            // into the total, which fails with Lambda's message.
            if let Rule::UnzippedTooLarge { actual } = z.rule() {
                return Ok(*actual);
            }
            Err(anyhow::Error::from(signer::Error::Zip(z))
                .context(format!("at {} ({}): the unsigned package is refused by the zip check", p.path, p.name)))
        }
        Err(InspectError::Io(e)) => Err(signer::Error::io(format!("reading {}", p.loc), e).into()),
    }
}
