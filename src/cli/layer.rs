//! `signer layer …`: publish, list, show, download and delete layer versions.

use std::sync::Mutex;

use anyhow::Context as _;
use clap::Subcommand;
use indicatif::ProgressBar;
use serde_json::{Value, json};

use super::Ctx;
use super::paths::{Input, Output};
use signer::clock;
use signer::error::exit;
use signer::layers::{self, Architecture, Deleted, LayerVersion, PublishParams, Runtime, Step};
use signer::model::{LayerName, LayerVersionRef, ProfileName};
use signer::profiles;

/// Layer versions: immutable, numbered from 1, never renumbered.
#[derive(Debug, Subcommand)]
pub(super) enum LayerCmd {
    /// Publish a zip as the next version of a layer.
    ///
    /// The zip passes the strict zip checks and Lambda's limit of 262,144,000 unzipped
    /// bytes, counted on what its entries really inflate to. Identical content is stored
    /// once. Prints the new version, NAME:N.
    ///
    /// Example: signer layer publish deps deps.zip --compatible-runtime python3.12 --sign MyApp
    Publish(PublishArgs),
    /// The latest version of every layer.
    ///
    /// Example: signer layer list --compatible-runtime python3.12
    List {
        /// Only layers with a version for this runtime; shows the latest such version.
        #[arg(long, value_name = "RUNTIME")]
        compatible_runtime: Option<Runtime>,
    },
    /// Every version of one layer, oldest first (deleted versions are not listed).
    ///
    /// Example: signer layer versions deps
    Versions {
        /// The layer.
        #[arg(add = super::complete::layer_names())]
        name: LayerName,
    },
    /// Everything a layer version records.
    ///
    /// Example: signer layer show deps:3
    Show {
        /// NAME:N.
        #[arg(add = super::complete::layer_versions())]
        layer: LayerVersionRef,
    },
    /// Download a layer version's zip, byte for byte as published.
    ///
    /// Example: signer layer get deps:3 -o deps-3.zip
    Get {
        /// NAME:N.
        #[arg(add = super::complete::layer_versions())]
        layer: LayerVersionRef,
        /// Where to write the zip: a path, an object URL, or - for stdout; it appears only
        /// once complete and checked against the recorded SHA-256.
        #[arg(short, long = "output-file", visible_alias = "out", value_name = "FILE")]
        o: String,
    },
    /// Delete a layer version: it is no longer listed and cannot be added to new
    /// deployments. Its number is never reused. Deleting twice is not an error.
    ///
    /// Example: signer layer delete deps:2
    Delete {
        /// NAME:N.
        #[arg(add = super::complete::layer_versions())]
        layer: LayerVersionRef,
    },
}

#[derive(Debug, clap::Args)]
pub(super) struct PublishArgs {
    /// The layer: 1 to 140 characters of A-Z, a-z, 0-9, _ and -.
    #[arg(add = super::complete::layer_names())]
    name: LayerName,
    /// The zip: a path, an object URL (s3://bucket/key, file:///abs/path), or - for stdin.
    zip: String,
    /// What the version holds (at most 256 characters).
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// A runtime the layer works with, such as python3.12 (repeat for more; at most 15).
    #[arg(long, value_name = "RUNTIME")]
    compatible_runtime: Vec<Runtime>,
    /// An instruction set the layer is built for (repeat for both).
    #[arg(long, value_name = "ARCH", value_parser = super::one_of::<Architecture>(Architecture::ALL.map(Architecture::as_str)))]
    compatible_architecture: Vec<Architecture>,
    /// Its licence: an SPDX identifier, a URL or a short text (at most 512 characters).
    #[arg(long, value_name = "LICENSE")]
    license_info: Option<String>,
    /// Sign the zip with this profile's current version first: the stored zip is then the
    /// signed package, and the version records who signed it.
    #[arg(long, value_name = "PROFILE")]
    #[arg(add = super::complete::profiles())]
    sign: Option<ProfileName>,
}

pub(super) async fn run(ctx: &Ctx, cmd: LayerCmd) -> anyhow::Result<u8> {
    match cmd {
        LayerCmd::Publish(args) => publish(ctx, args).await,
        LayerCmd::List { compatible_runtime } => list(ctx, compatible_runtime).await,
        LayerCmd::Versions { name } => versions(ctx, name).await,
        LayerCmd::Show { layer } => show(ctx, layer).await,
        LayerCmd::Get { layer, o } => get(ctx, layer, o).await,
        LayerCmd::Delete { layer } => delete(ctx, layer).await,
    }
}

async fn publish(ctx: &Ctx, args: PublishArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let input = Input::parse(&args.zip, "layer zip")?;
    let zip = &input.location;
    let now = clock::now();
    let sign = match &args.sign {
        Some(profile) => {
            let home = ctx.home()?;
            Some(profiles::signing_identity(&store, &home, profile).await?.sign_params(None, now)?)
        }
        None => None,
    };
    let params = PublishParams {
        name: args.name.clone(),
        description: args.description,
        compatible_runtimes: args.compatible_runtime,
        compatible_architectures: args.compatible_architecture,
        license_info: args.license_info,
    };
    let size = zip.size().await.with_context(|| format!("reading {}", input.name))?;
    let bar = ctx.out.progress(size, "checking");
    let phase = Mutex::new(Phase::Start);
    let b = bar.clone();
    let published = layers::publish(&store, zip, params, sign, now, move |step| show_step(&b, &phase, step)).await;
    bar.finish_and_clear();
    let published =
        published.with_context(|| format!("publishing {} as a version of layer {}", input.name, args.name))?;
    let v = &published.version;
    let mut doc = view(v);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("blob_created".into(), json!(published.blob_created));
    }
    let stored = if published.blob_created {
        "stored"
    } else {
        "identical content was stored already; the new version shares it"
    };
    let text = format!(
        "published {}\n  {} entries, {} bytes unzipped, {} bytes zipped ({stored})",
        v.layer, v.entry_count, v.unzipped_size, v.zipped_size
    );
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

/// Which phase the progress bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Signing,
    Checking,
    Storing,
}

fn show_step(bar: &ProgressBar, phase: &Mutex<Phase>, step: Step) {
    let Ok(mut current) = phase.lock() else { return };
    let (next, message) = match step {
        Step::Signing(_) => (Phase::Signing, "signing"),
        Step::Checking(_) => (Phase::Checking, "checking"),
        Step::Storing(_) => (Phase::Storing, "storing"),
    };
    if *current != next {
        *current = next;
        bar.set_message(message);
        bar.set_position(0);
    }
    match step {
        Step::Signing(n) | Step::Storing(n) => bar.set_position(n),
        Step::Checking(n) => bar.inc(n),
    }
}

async fn list(ctx: &Ctx, runtime: Option<Runtime>) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let latest = layers::list(&store, runtime.as_ref()).await?;
    let doc = json!({"layers": latest.iter().map(view).collect::<Vec<_>>()});
    let text = if latest.is_empty() {
        match &runtime {
            Some(r) => format!("no layer has a version for runtime {r}"),
            None => "no layers yet; publish one with `signer layer publish NAME ZIP`".to_owned(),
        }
    } else {
        latest.iter().map(summary).collect::<Vec<_>>().join("\n")
    };
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

async fn versions(ctx: &Ctx, name: LayerName) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let all = layers::versions(&store, &name).await?;
    let doc = json!({"layer": name, "versions": all.iter().map(view).collect::<Vec<_>>()});
    let text = if all.is_empty() {
        format!("layer {name} has no versions left (every one was deleted)")
    } else {
        all.iter().map(summary).collect::<Vec<_>>().join("\n")
    };
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

async fn show(ctx: &Ctx, layer: LayerVersionRef) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let v = layers::show(&store, &layer).await?;
    ctx.out.emit(&view(&v), details(&v))?;
    Ok(exit::OK)
}

async fn get(ctx: &Ctx, layer: LayerVersionRef, o: String) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let output = Output::parse(&o, "layer zip", &ctx.out)?;
    let dest = &output.location;
    // The size is known once the record is read; a bar of unknown length until then.
    let v = layers::show(&store, &layer).await?;
    let bar = ctx.out.progress(v.zipped_size, "downloading");
    let b = bar.clone();
    let got = layers::get(&store, &layer, dest, move |n| b.set_position(n)).await;
    bar.finish_and_clear();
    let dest = &output.name;
    let v = got.with_context(|| format!("downloading layer version {layer} to {dest}"))?;
    output.finish(&ctx.out)?;
    let doc = json!({"layer": v.layer, "destination": dest, "size": v.zipped_size, "sha256": v.sha256});
    ctx.out.emit(&doc, format!("wrote {} ({} bytes, sha256 {}) to {dest}", v.layer, v.zipped_size, v.sha256))?;
    Ok(exit::OK)
}

async fn delete(ctx: &Ctx, layer: LayerVersionRef) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let outcome = layers::delete(&store, &layer, clock::now()).await?;
    let already = outcome == Deleted::Already;
    let doc = json!({"layer": layer, "deleted": true, "already_deleted": already});
    let text = if already {
        format!("layer version {layer} was already deleted; nothing to do")
    } else {
        format!("deleted layer version {layer}; its number {} will not be reused", layer.version)
    };
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

/// A version as JSON: the record, with its name and number as fields of their own.
/// A layer version in the JSON vocabulary (README, "JSON output"): `publisher` is the
/// `NAME/VERSION` that signed it, `job_id` the signing job, `description` "" for none.
fn view(v: &LayerVersion) -> Value {
    let mut doc = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("signed_by");
        obj.remove("signing_job");
        obj.insert("name".into(), json!(v.layer.name));
        obj.insert("version".into(), json!(v.layer.version));
        obj.insert("publisher".into(), json!(v.signed_by));
        obj.insert("job_id".into(), json!(v.signing_job));
        obj.insert("description".into(), json!(v.description.as_deref().unwrap_or_default()));
    }
    doc
}

/// One line per version, for lists.
fn summary(v: &LayerVersion) -> String {
    let runtimes = if v.compatible_runtimes.is_empty() { "-".to_owned() } else { v.compatible_runtimes.join(",") };
    format!(
        "{:<30} {:>12} bytes unzipped  {}  {runtimes}{}",
        v.layer.to_string(),
        v.unzipped_size,
        v.created_at,
        v.description.as_deref().map(|d| format!("  {d}")).unwrap_or_default()
    )
}

/// Every field, one per line.
fn details(v: &LayerVersion) -> String {
    let or_dash = |o: Option<&str>| o.unwrap_or("-").to_owned();
    let list = |l: &[String]| if l.is_empty() { "-".to_owned() } else { l.join(", ") };
    let signed = match (&v.signed_by, v.signed_at) {
        (Some(by), at) => {
            let at = at.map(|t| format!(" at {t}")).unwrap_or_default();
            let job =
                v.signing_job.as_ref().map_or_else(|| " (synchronous, no job)".to_owned(), |j| format!(" (job {j})"));
            format!("{by}{at}{job}")
        }
        (None, _) => "not signed".to_owned(),
    };
    let rows = [
        ("name", v.layer.name.to_string()),
        ("version", v.layer.version.to_string()),
        ("sha256", v.sha256.clone()),
        ("zipped size", format!("{} bytes", v.zipped_size)),
        ("unzipped size", format!("{} bytes", v.unzipped_size)),
        ("entries", v.entry_count.to_string()),
        ("created", v.created_at.to_string()),
        ("description", or_dash(v.description.as_deref())),
        ("runtimes", list(&v.compatible_runtimes)),
        ("architectures", list(&v.compatible_architectures)),
        ("licence", or_dash(v.license_info.as_deref())),
        ("signed by", signed),
    ];
    let mut out = format!("layer version {}", v.layer);
    for (label, value) in rows {
        out.push_str(&format!("\n  {label:<14} {value}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        cmd: LayerCmd,
    }

    #[test]
    fn flags_are_checked_before_any_io() {
        let ok = T::try_parse_from([
            "t",
            "publish",
            "deps",
            "deps.zip",
            "--compatible-runtime",
            "python3.12",
            "--compatible-runtime",
            "nodejs20.x",
            "--compatible-architecture",
            "arm64",
            "--compatible-architecture",
            "x86_64",
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        for bad in [
            vec!["t", "publish", "bad name", "x.zip"],
            vec!["t", "publish", "deps", "x.zip", "--compatible-architecture", "mips"],
            vec!["t", "publish", "deps", "x.zip", "--compatible-runtime", "Python 3"],
            vec!["t", "show", "deps"],
            vec!["t", "show", "deps:0"],
            vec!["t", "get", "deps:1"],
            vec!["t", "delete", "deps:01"],
        ] {
            assert!(T::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }
}
