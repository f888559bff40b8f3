//! `signer sign`

use super::Ctx;
use super::paths::{Input, Output};
use signer::clock;
use signer::error::exit;
use signer::model::ProfileName;
use signer::profiles;
use signer::signing::sign_location;
use signer::zipcheck::ZipLimits;

#[derive(Debug, clap::Args)]
pub(super) struct SignArgs {
    /// The signing profile; its current version signs.
    #[arg(long)]
    #[arg(add = super::complete::profiles())]
    profile: ProfileName,
    /// The zip to sign: a path, an object URL (s3://bucket/key, file:///abs/path), or -
    /// for stdin.
    source: String,
    /// Where to write the signed package: a path, an object URL, or - for stdout. It
    /// appears only when signing succeeded; a failed run leaves nothing behind.
    #[arg(short, long = "output-file", visible_alias = "out", value_name = "DEST")]
    o: String,
}

pub(super) async fn run(ctx: &Ctx, args: SignArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let home = ctx.home()?;
    let input = Input::parse(&args.source, "zip to sign")?;
    let output = Output::parse(&args.o, "signed package", &ctx.out)?;
    let (src, dest) = (&input.location, &output.location);
    let params = profiles::signing_identity(&store, &home, &args.profile).await?.sign_params(None, clock::now())?;
    let with_tsa = params.stamper.is_some();
    let bar = ctx.out.progress(src.size().await?, "signing");
    let b = bar.clone();
    let signed = sign_location(src, dest, params, ZipLimits::default(), move |n| b.set_position(n)).await;
    bar.finish_and_clear();
    let signed = signed?;
    let (src, dest) = (&input.name, &output.name);
    output.finish(&ctx.out)?;
    let st = &signed.statement;
    let doc = serde_json::json!({
        "source": src,
        "destination": dest,
        "profile": st.profile,
        "profile_version": st.profile_version,
        "platform": st.platform,
        "signed_at": st.signed_at,
        "expires_at": st.expires_at,
        "size": signed.package_len,
        "entry_count": signed.inspected.entries,
        "unzipped_size": signed.inspected.unzipped_size,
        "content_digest": {"algorithm": st.content.digest_algorithm, "value": st.content.digest},
        "dropped_padding": signed.dropped_padding,
        "timestamped": signed.timestamped,
    });
    let mut text = format!(
        "signed {src} → {dest}\n  by {}/{} ({}), {} entries, {} bytes unzipped\n  valid until {}",
        st.profile,
        st.profile_version,
        st.platform,
        signed.inspected.entries,
        signed.inspected.unzipped_size,
        st.expires_at
    );
    if with_tsa && !signed.timestamped {
        text.push_str(
            "\n  WITHOUT a timestamp: the store's TSA did not answer, and this profile signs without one \
             (--sign-without-tsa); any revocation of this version will deny it",
        );
    }
    if signed.dropped_padding > 0 {
        text.push_str(&format!(
            "\n  left out the {} zero bytes of padding after the source's end record (a zip written to a pipe)",
            signed.dropped_padding
        ));
    }
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}
