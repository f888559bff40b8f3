//! Trust snapshots in the store (see [`crate::snapshot`]): published after every
//! revocation, cancellation, config change and layer deletion; read by verifiers, who
//! refuse a rolled-back or frozen store.

use std::path::Path;

use crate::error::Error;
use crate::home;
use crate::model::Timestamp;
use crate::profiles;
use crate::revlist::MaxAge;
use crate::snapshot::{Found, Snapshot};
use crate::store::{CREATE_NEXT_ATTEMPTS, Store, StoreError, keys};
use crate::trust::{AdminRevocation, TrustError, Untrusted};

/// The store's newest snapshot, `None` if it has none.
pub async fn newest(store: &Store) -> Result<Option<Snapshot>, Error> {
    let prefix = keys::snapshots()?;
    let Some(&n) = store.list_numbered(&prefix).await?.last() else {
        return Ok(None);
    };
    numbered(store, n).await.map(Some)
}

/// The highest snapshot number in the store, and the newest snapshot that a revoked
/// administrator did not seal: what the next one builds on (a revoked key's snapshots may
/// have dropped anything), numbered after all of them.
async fn newest_trusted(store: &Store) -> Result<(u64, Option<Snapshot>), Error> {
    let numbers = store.list_numbered(&keys::snapshots()?).await?;
    let last = numbers.last().copied().unwrap_or(0);
    for n in numbers.into_iter().rev() {
        match numbered(store, n).await {
            Err(Error::Store(StoreError::Trust(TrustError::Untrusted {
                why: Untrusted::RevokedAdmin { .. }, ..
            }))) => {}
            other => return other.map(|s| (last, Some(s))),
        }
    }
    Ok((last, None))
}

async fn numbered(store: &Store, n: u64) -> Result<Snapshot, Error> {
    let prefix = keys::snapshots()?;
    let snap: Option<Snapshot> = store.get_record(&keys::numbered(&prefix, n)?).await?;
    match snap {
        Some(s) if s.number == n => Ok(s),
        Some(s) => Err(TrustError::Stale {
            why: format!("snapshot {n} says it is number {}; restore the store's snapshots/", s.number),
        }
        .into()),
        None => Err(StoreError::Conflict {
            key: prefix.to_string(),
            reason: format!("snapshot {n} vanished while it was read; run the command again"),
        }
        .into()),
    }
}

/// Publishes the next snapshot: the newest one plus every revocation, cancellation, config
/// revision and layer deletion in the store now. Concurrent publishers each get their own
/// number, and each snapshot holds all that the one before it held. Needs the root key.
pub async fn publish(store: &Store, now: Timestamp) -> Result<Snapshot, Error> {
    let prefix = keys::snapshots()?;
    for attempt in 0..CREATE_NEXT_ATTEMPTS {
        let (last, prev) = newest_trusted(store).await?;
        let mut next = Snapshot::next(prev.as_ref(), found(store).await?, now);
        next.number = last.saturating_add(1);
        match store.create_record(&keys::numbered(&prefix, next.number)?, &next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::AlreadyExists { .. }) => tokio::time::sleep(crate::store::backoff(attempt)).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict {
        key: prefix.to_string(),
        reason: format!(
            "gave up publishing a trust snapshot after {CREATE_NEXT_ATTEMPTS} attempts; run the command again"
        ),
    }
    .into())
}

/// What the store holds now that a snapshot keeps.
async fn found(store: &Store) -> Result<Found, Error> {
    let mut out = Found { revocations: profiles::revocations(store).await?, ..Found::default() };
    for key in store.list_keys(&keys::cscs()?).await? {
        if let Some((id, n)) = keys::parse_csc_revision(&key) {
            let head = out.csc_heads.entry(id).or_insert(n);
            *head = (*head).max(n);
        }
    }
    out.deleted_layers =
        store.list_keys(&keys::layers()?).await?.iter().filter_map(keys::parse_layer_tombstone).collect();
    for key in store.list_keys(&keys::admins()?).await? {
        if let Some(name) = keys::parse_admin_revocation(&key)
            && let Some(r) = store.get_record::<AdminRevocation>(&key).await?
        {
            out.revoked_admins.insert(name, r.revoked_at);
        }
    }
    Ok(out)
}

/// The newest snapshot as a verifier takes it: refused when lower than the one the home at
/// `home_dir` saw last, or older than `max_age` on the clock `now`; then remembered.
pub async fn current(store: &Store, home_dir: &Path, now: Timestamp, max_age: MaxAge) -> Result<Snapshot, Error> {
    let root = store.trusted_root().await?.fingerprint().to_owned();
    let seen = home::seen_snapshot(home_dir, &root)?;
    let Some(snap) = newest(store).await? else {
        return Err(TrustError::Stale {
            why: match seen {
                Some(n) => format!("the store has no trust snapshot, but this verifier has seen number {n}: they were deleted (a rollback); restore the store's snapshots/"),
                None => "the store has no trust snapshot (it was made before snapshots existed): run `signer trust refresh` where the root key is".to_owned(),
            },
        }
        .into());
    };
    snap.check(seen, now, max_age)?;
    home::remember_snapshot(home_dir, &root, snap.number)?;
    store.forbid_admins(snap.revoked_admins.keys().cloned());
    Ok(snap)
}
