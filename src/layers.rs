//! Layers: immutable numbered versions in the store (SPEC §2, §3). STUB: interface only;
//! the implementation lands with the layers work (issue #4).

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::location::Location;
use crate::model::{LayerVersionRef, Timestamp, VersionRef};
use crate::store::Store;

/// What a layer version records (immutable).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerVersion {
    /// `NAME:N`.
    pub layer: LayerVersionRef,
    /// SHA-256 of the stored zip.
    pub sha256: String,
    /// Bytes of the stored zip.
    pub zipped_size: u64,
    /// Bytes the entries really inflate to.
    pub unzipped_size: u64,
    /// Entries.
    pub entry_count: u64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Description.
    pub description: Option<String>,
    /// Compatible runtimes.
    pub compatible_runtimes: Vec<String>,
    /// Compatible architectures.
    pub compatible_architectures: Vec<String>,
    /// Licence.
    pub license_info: Option<String>,
    /// The signing profile version, when published with `--sign`.
    pub signed_by: Option<VersionRef>,
}

/// A layer version as a deployment sees it.
#[derive(Debug, Clone)]
pub struct ResolvedLayer {
    /// The record.
    pub version: LayerVersion,
    /// Where its zip can be read.
    pub location: Location,
    /// Deleted versions cannot be added to new deployments.
    pub deleted: bool,
}

/// Looks up a layer version for a deployment. Unknown name or version → `Error::NotFound`.
pub async fn resolve(_store: &Store, _layer: &LayerVersionRef) -> Result<ResolvedLayer, Error> {
    Err(Error::NotFound("layers are not implemented yet".into()))
}
