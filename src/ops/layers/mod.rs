//! Layers: immutable numbered versions in the store (SPEC §2 "layer version", §3, §7).
//!
//! A layer version `NAME:N` is one JSON record, written once with create-if-absent, and a
//! content-addressed blob holding its zip:
//!
//! ```text
//! layers/<NAME>/versions/<N, 20 digits>.json   the record (LayerVersion); never deleted
//! layers/<NAME>/deleted/<N, 20 digits>.json    a tombstone: version N is deleted
//! blobs/sha256/<hex>.zip                       the zip, named by its SHA-256
//! ```
//!
//! - **Numbers.** [`Store::create_next`] creates `max + 1` with create-if-absent and retries
//!   on losing a race, so concurrent publishes, in any number of processes on any number
//!   of machines sharing the store, get distinct consecutive numbers and none is lost.
//!   Records are never deleted (a delete is a tombstone beside them), so a number is
//!   never reused, not even after every version of a layer is deleted.
//! - **Immutability.** Records are only ever created, never overwritten, and a blob's
//!   name is the hash of its bytes; reads check both ([`Error`] on a mismatch).
//! - **Blobs.** Publishing content that is already stored uploads nothing: every version
//!   keeps its own record, the bytes are stored once. A blob is written before the record
//!   that names it, so no record points at a missing blob; a publish that fails between
//!   the two leaves an unreferenced blob, harmless and reused by the next publish of the
//!   same bytes. Blobs are never deleted (deleted versions may share them).
//! - **Limits.** The zip passes the strict gate (SPEC §6) with Lambda's unzipped limit,
//!   counted on the inflated bytes; see [`publish`].

mod publish;

pub use publish::{PublishParams, Published, Step, publish};

use std::io::{Read, Write};

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::location::Location;
use crate::model::{JobId, LayerName, LayerVersionRef, NameError, TextRule, Timestamp, VersionRef};
use crate::store::{Key, Store, StoreError, keys};

/// What can go wrong with layers and their versions.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Too many compatible runtimes.
    #[error("{count} compatible runtimes given; a layer version names at most {MAX_RUNTIMES}")]
    TooManyRuntimes {
        /// How many were given.
        count: usize,
    },
    /// Over Lambda's unzipped limit.
    #[error(
        "layer {name}: {} Remove what the layer does not need (tests, documentation, caches, debug symbols) and publish again.",
        crate::limits::unzipped_size_message(*actual)
    )]
    TooLarge {
        /// The layer.
        name: LayerName,
        /// Its unzipped size, as far as it was measured.
        actual: u64,
    },
    /// The version was deleted.
    #[error("layer version {layer} was deleted; `signer layer versions {}` lists the versions left", layer.name)]
    VersionDeleted {
        /// The version.
        layer: LayerVersionRef,
    },
    /// No such version.
    #[error("layer version {layer} not found; `signer layer versions {}` lists the versions", layer.name)]
    VersionNotFound {
        /// The version.
        layer: LayerVersionRef,
    },
    /// No such layer.
    #[error("layer {name} not found; `signer layer list` lists the layers")]
    NotFound {
        /// The layer.
        name: LayerName,
    },
}

/// Runtimes one version may name (Lambda's limit).
pub const MAX_RUNTIMES: usize = 15;
/// Longest licence text, in characters (Lambda's limit).
pub const MAX_LICENSE_INFO: usize = 512;
/// A layer version's licence: at most [`MAX_LICENSE_INFO`] characters, on one line.
pub const LICENSE_INFO: TextRule = TextRule::new("licence", MAX_LICENSE_INFO).or_empty();
/// Bytes moved per read when `layer get` copies a blob out.
const COPY_CHUNK: usize = 1 << 20;
/// Records read from the store at once when listing.
const READS_IN_FLIGHT: usize = 16;

/// What a layer version records (immutable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVersion {
    /// `NAME:N`.
    pub layer: LayerVersionRef,
    /// SHA-256 of the stored zip (lowercase hex); it names the blob.
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
    /// Compatible architectures (`x86_64`, `arm64`).
    pub compatible_architectures: Vec<String>,
    /// Licence.
    pub license_info: Option<String>,
    /// The signing profile version, when published with `--sign`: the stored zip is then
    /// the signed package.
    pub signed_by: Option<VersionRef>,
    /// The signing job whose signature the package carries; `None` for a synchronous
    /// signature (then [`LayerVersion::signed_at`] identifies it).
    #[serde(default)]
    pub signing_job: Option<JobId>,
    /// The signature's signing time, when signed.
    #[serde(default)]
    pub signed_at: Option<Timestamp>,
}

impl LayerVersion {
    /// The key of the blob holding the zip.
    pub fn blob_key(&self) -> Result<Key, StoreError> {
        keys::blob_sha256(&self.sha256)
    }
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

/// A compatible runtime, as Lambda names them: `python3.12`, `nodejs20.x`,
/// `provided.al2023` — 1 to 64 lowercase letters, digits and dots, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Runtime(String);

impl Runtime {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Runtime {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.');
        if !ok {
            return Err(NameError {
                kind: "runtime",
                value: s.chars().take(80).collect(),
                rule: "a Lambda runtime name such as python3.12, nodejs20.x or provided.al2023",
            });
        }
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instruction set a layer is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Architecture {
    /// 64-bit x86.
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit Arm.
    #[serde(rename = "arm64")]
    Arm64,
}

impl std::str::FromStr for Architecture {
    type Err = String;

    /// The architecture by the name Lambda uses.
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("no architecture {s:?}; x86_64 or arm64"))
    }
}

impl Architecture {
    /// Both, as Lambda lists them.
    pub const ALL: [Self; 2] = [Self::X86_64, Self::Arm64];

    /// The name Lambda uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

/// What [`delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The version is now deleted.
    Now,
    /// It was deleted before (deleting is idempotent).
    Already,
}

/// Looks up a layer version for a deployment. Unknown name or version → `Error::NotFound`;
/// a deleted version resolves with `deleted: true`, for the caller to refuse.
pub async fn resolve(store: &Store, layer: &LayerVersionRef) -> Result<ResolvedLayer, Error> {
    let version = record(store, layer).await?;
    let deleted = store.exists(&keys::layer_tombstone(&layer.name, layer.version)?).await?;
    let key = version.blob_key()?;
    let location = Location::Object {
        store: store.inner().clone(),
        path: key.path(),
        url: if store.url().ends_with('/') {
            format!("{}{}", store.url(), key.as_str())
        } else {
            format!("{}/{}", store.url(), key.as_str())
        },
    };
    Ok(ResolvedLayer { version, location, deleted })
}

/// A layer version that is not deleted (`layer show`). Unknown or deleted → exit 4.
pub async fn show(store: &Store, layer: &LayerVersionRef) -> Result<LayerVersion, Error> {
    let resolved = resolve(store, layer).await?;
    if resolved.deleted {
        return Err(LayerError::VersionDeleted { layer: layer.clone() }.into());
    }
    Ok(resolved.version)
}

/// The versions of one layer that are not deleted, oldest first (`layer versions`). A
/// layer that never had a version → exit 4; one whose versions are all deleted → empty.
pub async fn versions(store: &Store, name: &LayerName) -> Result<Vec<LayerVersion>, Error> {
    let live = live_numbers(store, name).await?;
    if live.is_empty() && store.list_numbered(&keys::layer_versions(name)?).await?.is_empty() {
        return Err(unknown_layer(name));
    }
    futures::stream::iter(live)
        .map(|n| async move { record(store, &LayerVersionRef { name: name.clone(), version: n }).await })
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await
}

/// The latest version of every layer that has one left (`layer list`), by name; with
/// `runtime`, the latest version that names it (as Lambda's `ListLayers` does).
pub async fn list(store: &Store, runtime: Option<&Runtime>) -> Result<Vec<LayerVersion>, Error> {
    let names = layer_names(store).await?;
    let latest: Vec<Option<LayerVersion>> = futures::stream::iter(names)
        .map(|name| latest(store, name, runtime))
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(latest.into_iter().flatten().collect())
}

/// Deletes a layer version: it is no longer listed, shown or resolvable for new
/// deployments, and its number stays burned. Idempotent. Unknown → exit 4.
pub async fn delete(store: &Store, layer: &LayerVersionRef, now: Timestamp) -> Result<Deleted, Error> {
    record(store, layer).await?;
    let tombstone = Tombstone { layer: layer.clone(), deleted_at: now };
    match store.create_record(&keys::layer_tombstone(&layer.name, layer.version)?, &tombstone).await {
        Ok(()) => {
            crate::snapshots::publish(store, now).await?;
            Ok(Deleted::Now)
        }
        Err(StoreError::AlreadyExists { .. }) => Ok(Deleted::Already),
        Err(e) => Err(e.into()),
    }
}

/// Copies a layer version's zip to `dest` (`layer get`), byte for byte, checking its
/// SHA-256 and size against the record on the way; `dest` appears only when they match.
/// `progress` gets the bytes copied so far.
pub async fn get(
    store: &Store,
    layer: &LayerVersionRef,
    dest: &Location,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<LayerVersion, Error> {
    let version = show(store, layer).await?;
    let key = version.blob_key()?;
    let mut reader = match store.reader(&key).await {
        Ok(r) => r,
        Err(StoreError::NotFound { .. }) => {
            return Err(StoreError::Corrupt {
                key: key.to_string(),
                reason: format!("layer version {layer} names this blob but it is missing; restore it from a backup"),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = dest.create().await?;
    let expected = version.clone();
    let copied = tokio::task::spawn_blocking(move || {
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut total = 0u64;
        let result = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(Error::io(format!("reading blob {key}"), e)),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            sha.update(chunk);
            if let Err(e) = out.write_all(chunk) {
                break Err(Error::io("writing the layer's zip", e));
            }
            total += n as u64;
            progress(total);
        };
        let digest = hex::encode(sha.finish());
        let result = result.and_then(|()| {
            if digest != expected.sha256 || total != expected.zipped_size {
                return Err(StoreError::Corrupt {
                    key: key.to_string(),
                    reason: format!(
                        "it holds {total} bytes with SHA-256 {digest}, but layer version {} recorded {} bytes with \
                         SHA-256 {}; restore the blob from a backup",
                        expected.layer, expected.zipped_size, expected.sha256
                    ),
                }
                .into());
            }
            Ok(())
        });
        match result {
            Ok(()) => out.finish(),
            Err(e) => {
                out.abort();
                Err(e)
            }
        }
    })
    .await;
    copied.map_err(|e| Error::Internal(format!("the copy task failed: {e}")))??;
    Ok(version)
}

/// A deleted version's marker.
#[derive(Debug, Serialize, Deserialize)]
struct Tombstone {
    layer: LayerVersionRef,
    deleted_at: Timestamp,
}

/// Reads a version's record, deleted or not; checks it is the record of that version.
async fn record(store: &Store, layer: &LayerVersionRef) -> Result<LayerVersion, Error> {
    let key = keys::layer_version(&layer.name, layer.version)?;
    let Some(version) = store.get_record::<LayerVersion>(&key).await? else {
        let known = !store.list_numbered(&keys::layer_versions(&layer.name)?).await?.is_empty();
        if !known {
            return Err(unknown_layer(&layer.name));
        }
        return Err(LayerError::VersionNotFound { layer: layer.clone() }.into());
    };
    if &version.layer != layer || keys::blob_sha256(&version.sha256).is_err() {
        return Err(StoreError::Corrupt {
            key: key.to_string(),
            reason: format!(
                "it should be the record of layer version {layer} but holds {} with SHA-256 {:?}; restore it from \
                 a backup",
                version.layer, version.sha256
            ),
        }
        .into());
    }
    Ok(version)
}

fn unknown_layer(name: &LayerName) -> Error {
    LayerError::NotFound { name: name.clone() }.into()
}

/// A layer's version numbers that have no tombstone, ascending.
async fn live_numbers(store: &Store, name: &LayerName) -> Result<Vec<u64>, Error> {
    let (versions, tombstones) = (keys::layer_versions(name)?, keys::layer_tombstones(name)?);
    let (all, deleted) = futures::try_join!(store.list_numbered(&versions), store.list_numbered(&tombstones))?;
    Ok(all.into_iter().filter(|n| deleted.binary_search(n).is_err()).collect())
}

/// The latest live version of `name`, or of those that name `runtime`.
async fn latest(store: &Store, name: LayerName, runtime: Option<&Runtime>) -> Result<Option<LayerVersion>, Error> {
    for n in live_numbers(store, &name).await?.into_iter().rev() {
        let version = record(store, &LayerVersionRef { name: name.clone(), version: n }).await?;
        if runtime.is_none_or(|r| version.compatible_runtimes.iter().any(|c| c == r.as_str())) {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

/// The names of every layer with at least one record, sorted. Folders under `layers/`
/// whose name is not a layer name (nothing signer wrote) are skipped.
async fn layer_names(store: &Store) -> Result<Vec<LayerName>, Error> {
    let prefix = keys::layers()?;
    let listed = store.inner().list_with_delimiter(Some(&prefix.path())).await.map_err(|e| StoreError::Backend {
        op: "list",
        key: prefix.to_string(),
        store: store.url().to_owned(),
        source: Box::new(e),
    })?;
    let mut names: Vec<LayerName> =
        listed.common_prefixes.iter().filter_map(|p| p.filename().and_then(|n| n.parse().ok())).collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_layout() {
        let name: LayerName = "deps".parse().unwrap();
        assert_eq!(keys::layer_version(&name, 3).unwrap().as_str(), "layers/deps/versions/00000000000000000003.json");
        assert_eq!(keys::layer_tombstone(&name, 3).unwrap().as_str(), "layers/deps/deleted/00000000000000000003.json");
        for bad in ["", "AB".repeat(32).as_str(), &"a".repeat(63), &"a".repeat(65), &format!("{}/", "a".repeat(63))] {
            assert!(keys::blob_sha256(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn runtimes_follow_lambdas_names() {
        for ok in ["python3.12", "nodejs20.x", "provided.al2023", "java21", "provided"] {
            assert_eq!(ok.parse::<Runtime>().unwrap().as_str(), ok);
        }
        for bad in ["", "Python3.12", "3python", "node js", "a/b", "x-y", &"a".repeat(65)] {
            assert!(bad.parse::<Runtime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn records_read_back_and_older_records_without_signature_fields_parse() {
        let v = LayerVersion {
            layer: "deps:3".parse().unwrap(),
            sha256: "ab".repeat(32),
            zipped_size: 10,
            unzipped_size: 20,
            entry_count: 1,
            created_at: Timestamp::from_unix(1_700_000_000),
            description: Some("d".into()),
            compatible_runtimes: vec!["python3.12".into()],
            compatible_architectures: vec!["arm64".into()],
            license_info: None,
            signed_by: None,
            signing_job: None,
            signed_at: None,
        };
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["layer"], "deps:3");
        assert_eq!(serde_json::from_value::<LayerVersion>(json.clone()).unwrap(), v);
        let mut older = json;
        older.as_object_mut().unwrap().remove("signing_job");
        older.as_object_mut().unwrap().remove("signed_at");
        assert_eq!(serde_json::from_value::<LayerVersion>(older).unwrap(), v);
        assert_eq!(v.blob_key().unwrap().as_str(), format!("blobs/sha256/{}.zip", "ab".repeat(32)));
    }
}
