//! Trust snapshots (issue 12, point 3): no rollback, no freeze.
//!
//! Sealed records stop a store writer from forging trust, not from *deleting* it: a
//! revocation, a cancellation, a code-signing config's newest revision or a layer's
//! deletion could simply be removed. So every command that records one of those also
//! publishes a numbered snapshot, `snapshots/<N>.json` (sealed like every trust record),
//! holding everything revoked, canceled and deleted so far and each config's newest
//! revision number. Each snapshot contains the previous one, so the newest says it all.
//!
//! A verifier reads the newest snapshot and refuses, as stale:
//!
//! - a snapshot numbered lower than one its home has seen (snapshots were deleted or an
//!   old one put back: the number is sealed with the key it is stored under);
//! - a snapshot issued longer ago than `--max-age` ([`DEFAULT_MAX_AGE_SECS`], 7 days, by
//!   default): a frozen store, kept from showing new revocations, goes stale within a
//!   week (`signer trust refresh` re-issues the snapshot where the root key is);
//! - a code-signing config whose newest revision in the store is older than the snapshot's.
//!
//! Revocations found in the store but not yet in a snapshot still count: revocations only
//! ever add up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{AdminName, CscId, LayerVersionRef, Timestamp};
use crate::policy::{CLOCK_SKEW_SECS, Revocations};
use crate::revlist::{self, MaxAge};
use crate::trust::TrustError;

/// How old the newest snapshot may be when no `--max-age` is given: 7 days.
pub const DEFAULT_MAX_AGE_SECS: i64 = 7 * 86_400;

/// One trust snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Its number, from 1 (also the number in its key, which the seal binds).
    pub number: u64,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// Everything revoked and canceled.
    pub revocations: Revocations,
    /// Each code-signing config's newest revision number (a delete is a revision).
    pub csc_heads: BTreeMap<CscId, u64>,
    /// Every deleted layer version.
    pub deleted_layers: Vec<LayerVersionRef>,
    /// Every revoked administrator, and when: nothing they sealed is trusted.
    #[serde(default)]
    pub revoked_admins: BTreeMap<AdminName, Timestamp>,
}

/// What the store holds now, to be added to the previous snapshot.
#[derive(Debug, Default)]
pub struct Found {
    /// The revocation records and cancellations.
    pub revocations: Revocations,
    /// The newest revision number of each config.
    pub csc_heads: BTreeMap<CscId, u64>,
    /// The layer versions with a tombstone.
    pub deleted_layers: Vec<LayerVersionRef>,
    /// The administrators the root revoked.
    pub revoked_admins: BTreeMap<AdminName, Timestamp>,
}

impl Snapshot {
    /// The snapshot after `prev` (or the first): `prev`'s content plus what was found,
    /// issued at `issued_at`. Nothing is ever dropped.
    pub fn next(prev: Option<&Self>, found: Found, issued_at: Timestamp) -> Self {
        let mut out = prev.cloned().unwrap_or_else(|| Self {
            number: 0,
            issued_at,
            revocations: Revocations::default(),
            csc_heads: BTreeMap::new(),
            deleted_layers: Vec::new(),
            revoked_admins: BTreeMap::new(),
        });
        out.number = out.number.saturating_add(1);
        out.issued_at = issued_at;
        revlist::merge(&mut out.revocations, found.revocations);
        for (id, n) in found.csc_heads {
            let head = out.csc_heads.entry(id).or_insert(n);
            *head = (*head).max(n);
        }
        for l in found.deleted_layers {
            if !out.deleted_layers.contains(&l) {
                out.deleted_layers.push(l);
            }
        }
        out.deleted_layers.sort_by_key(|l| (l.name.to_string(), l.version));
        for (name, at) in found.revoked_admins {
            out.revoked_admins.entry(name).or_insert(at);
        }
        out
    }

    /// Refuses this snapshot, the newest of the store, when it is lower than `seen` (the
    /// highest this verifier saw before) or older than `max_age` on the clock `now`.
    pub fn check(&self, seen: Option<u64>, now: Timestamp, max_age: MaxAge) -> Result<(), TrustError> {
        let stale = |why: String| TrustError::Stale { why };
        if let Some(seen) = seen
            && self.number < seen
        {
            return Err(stale(format!(
                "the store's newest trust snapshot is number {}, but this verifier has seen number {seen}: snapshots \
                 were deleted or an older one put back (a rollback); restore the store's snapshots/",
                self.number
            )));
        }
        if self.issued_at > now.plus_secs(CLOCK_SKEW_SECS) {
            return Err(stale(format!(
                "the trust snapshot {} was issued at {}, in the future (now is {now}); check this machine's clock",
                self.number, self.issued_at
            )));
        }
        let age = now.unix().saturating_sub(self.issued_at.unix());
        if age > max_age.secs() {
            return Err(stale(format!(
                "the trust snapshot {} was issued at {}, {} ago, older than --max-age {max_age}: run `signer trust \
                 refresh` where the root key is (daily, from cron), or pass a longer --max-age",
                self.number,
                self.issued_at,
                MaxAge::from_secs(age)
            )));
        }
        Ok(())
    }

    /// Refuses a config whose newest revision in the store (`found`) is older than this
    /// snapshot's: its newer revisions were deleted.
    pub fn check_csc(&self, id: &CscId, found: u64) -> Result<(), TrustError> {
        match self.csc_heads.get(id) {
            Some(&head) if found < head => Err(TrustError::Stale {
                why: format!(
                    "code-signing config {id} is at revision {found} in the store, but trust snapshot {} records \
                     revision {head}: newer revisions were deleted (a rollback)",
                    self.number
                ),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + s)
    }

    #[test]
    fn each_snapshot_keeps_everything_before_it() {
        let mut found = Found::default();
        found.revocations.versions.insert("App/AbCdE12345".parse().unwrap(), t(10));
        found.csc_heads.insert("csc-0123456789abcdef0".parse().unwrap(), 3);
        found.deleted_layers.push("deps:2".parse().unwrap());
        let first = Snapshot::next(None, found, t(100));
        assert_eq!(first.number, 1);

        // The store lost the revocation and two revisions; a second job was revoked.
        let mut found = Found::default();
        found.revocations.versions.insert("App/AbCdE12345".parse().unwrap(), t(5));
        found.revocations.jobs.insert("3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap(), "x".into());
        found.csc_heads.insert("csc-0123456789abcdef0".parse().unwrap(), 1);
        let second = Snapshot::next(Some(&first), found, t(200));
        assert_eq!((second.number, second.issued_at), (2, t(200)));
        assert_eq!(second.revocations.versions.values().copied().collect::<Vec<_>>(), [t(5)], "the earlier time");
        assert_eq!(second.revocations.jobs.len(), 1);
        assert_eq!(second.csc_heads.values().copied().collect::<Vec<_>>(), [3], "never lower");
        assert_eq!(second.deleted_layers, first.deleted_layers);
    }

    #[test]
    fn rollback_freeze_and_deleted_revisions_are_stale() {
        let mut fourth = Snapshot::next(None, Found::default(), t(-1));
        fourth.number = 4;
        let snap = Snapshot::next(Some(&fourth), Found::default(), t(0));
        let week = MaxAge::from_secs(DEFAULT_MAX_AGE_SECS);
        snap.check(Some(5), t(60), week).unwrap();
        snap.check(None, t(60), week).unwrap();
        assert!(matches!(snap.check(Some(6), t(60), week), Err(TrustError::Stale { .. })));
        assert!(snap.check(Some(5), t(DEFAULT_MAX_AGE_SECS), week).is_ok());
        let e = snap.check(Some(5), t(DEFAULT_MAX_AGE_SECS + 1), week).unwrap_err();
        assert!(e.to_string().contains("trust refresh"), "{e}");
        assert!(snap.check(None, t(-CLOCK_SKEW_SECS - 1), week).is_err(), "issued in the future");

        let id: CscId = "csc-0123456789abcdef0".parse().unwrap();
        let mut snap = snap;
        snap.csc_heads.insert(id.clone(), 3);
        snap.check_csc(&id, 3).unwrap();
        snap.check_csc(&id, 4).unwrap();
        assert!(snap.check_csc(&id, 2).is_err());
        snap.check_csc(&"csc-00000000000000001".parse().unwrap(), 1).unwrap();
    }
}
