//! Signing between locations (paths or object URLs): the pure [`sign_package`] run on a
//! blocking thread, its output published only when it succeeded.

use crate::error::Error;
use crate::location::Location;
use crate::sign::{SignParams, Signed, sign_package};
use crate::zipcheck::ZipLimits;

/// Signs `src` to `dest` (paths or object URLs). The output is published only after the
/// whole source passed the gate and the block was re-verified; otherwise nothing appears.
pub async fn sign_location(
    src: &Location,
    dest: &Location,
    params: SignParams,
    limits: ZipLimits,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<Signed, Error> {
    let mut input = src.open().await?;
    let mut output = dest.create().await?;
    let outcome = tokio::task::spawn_blocking(move || {
        let r = sign_package(&mut input, &mut output, &params, &limits, &mut progress);
        match r {
            Ok(signed) => output.finish().map(|()| signed),
            Err(e) => {
                output.abort();
                Err(e)
            }
        }
    })
    .await;
    outcome.map_err(|e| Error::Internal(format!("signing task failed: {e}")))?
}
