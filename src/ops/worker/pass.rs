//! What a worker reads once per pass over the queue (one listing, at most
//! `RELIST_AFTER_SECS` old) instead of once per job: each profile's standing and the
//! store's time-stamping authority. A profile canceled or a version revoked since
//! submission is still seen before the job is signed, at the next pass at the latest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Error;
use crate::model::ProfileName;
use crate::profiles::{self, Profile};
use crate::store::Store;
use crate::timestamp::Stamper;

/// The stamper of the store's TSA, as a profile signs with it (`None`: no TSA set).
type StamperFor = Option<Arc<dyn Stamper>>;

#[derive(Default)]
struct Entries {
    profiles: HashMap<ProfileName, Profile>,
    /// By the profile's `sign_without_tsa`.
    stampers: HashMap<bool, StamperFor>,
}

/// One pass's reads.
#[derive(Default)]
pub(super) struct PassCache {
    entries: Mutex<Entries>,
}

impl PassCache {
    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new pass: everything is read again.
    pub(super) fn clear(&self) {
        *self.entries() = Entries::default();
    }

    /// The profile's standing (status, versions, revocations), read once per pass.
    pub(super) async fn profile(&self, store: &Store, name: &ProfileName) -> Result<Profile, Error> {
        if let Some(p) = self.entries().profiles.get(name) {
            return Ok(p.clone());
        }
        let p = profiles::show_profile(store, name).await?;
        self.entries().profiles.insert(name.clone(), p.clone());
        Ok(p)
    }

    /// The store's TSA stamper for a profile that may (or may not) sign without it, made
    /// once per pass.
    pub(super) async fn stamper(&self, store: &Store, without_tsa_ok: bool) -> Result<StamperFor, Error> {
        if let Some(s) = self.entries().stampers.get(&without_tsa_ok) {
            return Ok(s.clone());
        }
        let s = crate::tsa::stamper(store, without_tsa_ok).await?;
        self.entries().stampers.insert(without_tsa_ok, s.clone());
        Ok(s)
    }
}
