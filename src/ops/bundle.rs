//! Offline trust bundles (issue 12, point 5): the store's trust records in one file, for
//! deploy hooks that cannot reach the store.
//!
//! `signer trust bundle -o trust.json` copies, byte for byte, the store's root CA record
//! and every sealed trust record (profiles and versions, cancellations, revocations,
//! code-signing configs, layer records, administrators) with the newest trust snapshot.
//! Nothing in it needs a signature of its own: every record is sealed by the root (or an
//! administrator it appointed) and bound to its key, and
//! the snapshot says what was revoked, canceled and deleted, and how old it all is. So a
//! bundle can be exported by anyone who can read the store, and a verifier opens it as a
//! store in memory and judges exactly as it would against the store — with its own pin,
//! its own `--max-age` and its own memory of the highest snapshot seen. Dropping records
//! from a bundle denies (a missing version) or is stale (a config behind the snapshot).
//!
//! # Format (version 1)
//!
//! ```text
//! {"format":"signer-trust-bundle-v1", "created_at":"…", "store":"<the store's URL, for people>",
//!  "objects":{"ca/root.json":"<the object's bytes>", "profiles/App/profile.json":"<…>", …}}
//! ```
//!
//! Each object is carried as a string holding its exact bytes (UTF-8 JSON), so a tool
//! that re-formats the bundle's JSON cannot disturb a seal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::Timestamp;
use crate::snapshots;
use crate::store::{Key, Store, keys};
use crate::trust::TrustError;

/// The format tag.
pub const FORMAT: &str = "signer-trust-bundle-v1";

/// The largest bundle read, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bundle {
    format: String,
    created_at: Timestamp,
    store: String,
    objects: BTreeMap<String, String>,
}

/// The prefixes whose objects a bundle carries (and the only ones it may carry).
fn carried() -> Result<[Key; 6], Error> {
    Ok([keys::profiles()?, keys::revocations()?, keys::cscs()?, keys::layers()?, keys::admins()?, keys::config()?])
}

/// What a bundle holds, for people.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Objects carried.
    pub object_count: usize,
    /// The newest snapshot's number.
    pub snapshot: u64,
    /// When that snapshot was issued (a verifier's `--max-age` counts from it).
    pub snapshot_issued_at: Timestamp,
}

/// The bundle of `store` as of `now`, and what it holds. The store must have a trust
/// snapshot (it is what makes a bundle fresh or stale).
pub async fn export(store: &Store, now: Timestamp) -> Result<(Vec<u8>, Summary), Error> {
    let snapshot = snapshots::newest(store).await?.ok_or_else(|| TrustError::Stale {
        why: "the store has no trust snapshot to bundle: run `signer trust refresh` where the root key is".into(),
    })?;
    let mut wanted = vec![keys::root_ca()?, keys::numbered(&keys::snapshots()?, snapshot.number)?];
    for prefix in carried()? {
        wanted.extend(store.list_keys(&prefix).await?);
    }
    let mut objects = BTreeMap::new();
    for key in wanted {
        let Some(bytes) = store.get_bytes(&key).await? else {
            continue;
        };
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| not_text(&key))?;
        objects.insert(key.to_string(), text);
    }
    let summary =
        Summary { object_count: objects.len(), snapshot: snapshot.number, snapshot_issued_at: snapshot.issued_at };
    let bundle = Bundle { format: FORMAT.into(), created_at: now, store: store.url().to_owned(), objects };
    let mut out =
        serde_json::to_vec_pretty(&bundle).map_err(|e| Error::Internal(format!("cannot encode the bundle: {e}")))?;
    out.push(b'\n');
    Ok((out, summary))
}

fn not_text(key: &Key) -> Error {
    TrustError::BadBundle { why: format!("the store's object {key} is not UTF-8 text; it cannot be bundled") }.into()
}

/// A store in memory holding the bundle's objects, named `name` for people. Objects
/// outside the trust records' prefixes are refused; the records are checked (sealed, by
/// the pinned root) when read, as from any store.
pub async fn open(bytes: &[u8], name: &str) -> Result<Store, Error> {
    let bad = |why: String| Error::from(TrustError::BadBundle { why });
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(bad(format!("it is {} bytes, over the {MAX_BUNDLE_BYTES}-byte limit", bytes.len())));
    }
    let bundle: Bundle = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a signer trust bundle ({e}); write one with `signer trust bundle -o FILE`")))?;
    if bundle.format != FORMAT {
        return Err(bad(format!(
            "unknown format {:?}; this signer reads {FORMAT}",
            bundle.format.chars().take(40).collect::<String>()
        )));
    }
    let store = Store::open("memory://")?.named(name);
    let root = keys::root_ca()?;
    let snapshots = keys::snapshots()?;
    let carried = carried()?;
    for (k, text) in bundle.objects {
        let key = Key::new(&k.split('/').collect::<Vec<_>>())
            .map_err(|e| bad(format!("it names the object {k:?}, which is not a store key ({e})")))?;
        let allowed = key == root || key.is_under(&snapshots) || carried.iter().any(|prefix| key.is_under(prefix));
        if !allowed {
            return Err(bad(format!("it carries {k}, which is not a trust record")));
        }
        store.create_bytes(&key, text.into_bytes().into()).await?;
    }
    Ok(store)
}
