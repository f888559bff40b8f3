//! Judging packages at the edge: read a package (path or object), look up what the store
//! trusts for its signer, and hand the evidence to the pure policy.

use crate::error::Error;
use crate::location::Location;
use crate::model::Timestamp;
use crate::policy::{self, Evidence, Revocations, Trust};
use crate::profiles;
use crate::store::{Store, StoreError};
use crate::trust::TrustError;
use crate::verdict::{PackageVerdict, Role, SignatureSummary};
use crate::verify::{self, Integrity, PackageRead, VerifyFailure, WholeHash};

/// Reads a package once in a blocking task (hashing it all), reporting progress.
pub async fn read(
    loc: &Location,
    whole: WholeHash,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<PackageRead, Error> {
    let mut input = loc.open().await?;
    let mut progress = progress;
    tokio::task::spawn_blocking(move || verify::read_package(&mut input, whole, &mut progress))
        .await
        .map_err(|e| Error::Internal(format!("verification task failed: {e}")))?
}

/// What every package of one verification is judged against besides its config, read
/// from the store once: the revocations, and the root of the TSA whose timestamps count.
#[derive(Debug, Clone, Default)]
pub struct Grounds {
    /// Everything revoked and canceled.
    pub revocations: Revocations,
    /// The store's TSA root (DER), if it has a TSA.
    pub tsa_root: Option<Vec<u8>>,
}

/// Judges one package already read.
pub async fn judge(
    store: &Store,
    read: &PackageRead,
    role: Role,
    name: String,
    trust: &Trust<'_>,
    grounds: &Grounds,
    at: Timestamp,
) -> Result<PackageVerdict, Error> {
    let revocations = &grounds.revocations;
    let mut claimed = None;
    let (checks, signature, unzipped_size) = match &read.integrity {
        Integrity::Unsigned => (policy::evaluate(&Evidence::Unsigned, trust, revocations, at), None, None),
        Integrity::Broken { reason, block } => {
            claimed = block.as_ref().map(|b| SignatureSummary::from(&b.statement));
            (policy::evaluate(&Evidence::Broken(reason), trust, revocations, at), None, None)
        }
        Integrity::Intact(block) => {
            let version = block.statement.version_ref();
            let trusted = match profiles::trusted_version(store, &version, grounds.tsa_root.as_deref()).await {
                Ok(trusted) => Ok(trusted),
                // A version record the pinned root did not seal: the verdict names it.
                Err(Error::Store(StoreError::Trust(e @ TrustError::Untrusted { .. }))) => {
                    Err(VerifyFailure::UntrustedRecord(e.to_string()))
                }
                Err(e) => return Err(e),
            };
            match trusted.and_then(|t| verify::authenticate(block, t.as_ref())) {
                Ok(v) => {
                    let summary = SignatureSummary::from(v.statement());
                    let unzipped = v.statement().content.unzipped_size;
                    (policy::evaluate(&Evidence::Verified(v), trust, revocations, at), Some(summary), Some(unzipped))
                }
                Err(why) => {
                    claimed = Some(SignatureSummary::from(&block.statement));
                    (policy::evaluate(&Evidence::Unauthentic(&why), trust, revocations, at), None, None)
                }
            }
        }
    };
    Ok(PackageVerdict {
        role,
        name,
        sha256: read.sha256.clone(),
        size: read.size,
        unzipped_size,
        signature,
        claimed,
        checks,
    })
}
