//! The keys a worker signs with, opened once and kept for its life.
//!
//! Before claiming a job the worker asks [`KeyRing::reach`] whether it can sign for the
//! job's profile version: with a key file or reference in its home, or the PKCS#11 or
//! KMS key the version's record names. A key it does not have, or cannot reach now (a
//! locked token, a wrong PIN, KMS access denied), leaves the job queued for a worker that
//! can; the reason is kept for [`RETRY_UNREACHABLE`] so a denied worker does not ask the
//! token or KMS on every poll. Version records are immutable, so each is read once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::custody::Key;
use crate::error::Error;
use crate::home::Home;
use crate::jobs::{self, JobRecord};
use crate::model::VersionRef;
use crate::profiles::{self, ProfileError, VersionRecord};
use crate::store::{Store, StoreError};

/// How long a key that could not be reached is not tried again.
pub(super) const RETRY_UNREACHABLE: Duration = Duration::from_secs(30);

/// Whether the worker can sign for a version.
pub(super) enum Reach {
    /// It can.
    Ready(Ready),
    /// Neither its home nor the version's record says where the key is.
    NotHere(String),
    /// The key is known but cannot be used now (why, for the report).
    Unreachable(String),
}

/// What signing for a version takes, opened and parsed once.
#[derive(Clone)]
pub(super) struct Ready {
    /// The key.
    pub(super) key: Key,
    /// The version's certificate chain, DER, leaf first.
    pub(super) chain: Arc<Vec<Vec<u8>>>,
}

#[derive(Default)]
struct Entries {
    records: HashMap<VersionRef, VersionRecord>,
    keys: HashMap<VersionRef, Ready>,
    unreachable: HashMap<VersionRef, (String, Instant)>,
}

/// A worker's opened keys.
pub(super) struct KeyRing {
    home: Home,
    entries: Mutex<Entries>,
    /// It met a version it cannot sign for.
    missed: AtomicBool,
}

impl KeyRing {
    pub(super) fn new(home: Home) -> Self {
        Self { home, entries: Mutex::new(Entries::default()), missed: AtomicBool::new(false) }
    }

    /// Whether it ever met a version whose key it lacks or could not reach: then the
    /// worker reads a job before claiming it, instead of claiming first.
    pub(super) fn missed(&self) -> bool {
        self.missed.load(Ordering::Relaxed)
    }

    /// Remembers that a version could not be signed for, and says why.
    fn miss(&self, reach: Reach) -> Result<Reach, Error> {
        self.missed.store(true, Ordering::Relaxed);
        Ok(reach)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether this worker can sign for `job`'s version now. Store errors (reading the
    /// version's record) are errors; a missing or unreachable key is a [`Reach`].
    pub(super) async fn reach(&self, store: &Store, job: &JobRecord) -> Result<Reach, Error> {
        let version = job.version_ref();
        let cached = {
            let entries = self.entries();
            if let Some(ready) = entries.keys.get(&version) {
                return Ok(Reach::Ready(ready.clone()));
            }
            if let Some((why, at)) = entries.unreachable.get(&version)
                && at.elapsed() < RETRY_UNREACHABLE
            {
                return self.miss(Reach::Unreachable(why.clone()));
            }
            entries.records.get(&version).cloned()
        };
        let record = match cached {
            Some(r) => r,
            None => match jobs::version_record(store, job).await {
                Ok(r) => {
                    self.entries().records.insert(version.clone(), r.clone());
                    r
                }
                // A record this home cannot trust (no pinned root, another root) stays so:
                // the job is another worker's, not one to retry here on every poll.
                Err(e @ (Error::Trust(_) | Error::Store(StoreError::Trust(_)))) => {
                    let why = format!("its profile version's record is not trusted here: {e}");
                    self.entries().unreachable.insert(version, (why.clone(), Instant::now()));
                    return self.miss(Reach::Unreachable(why));
                }
                Err(e) => return Err(e),
            },
        };
        // Opening may ask a token or KMS: off the worker's async threads.
        let home = self.home.clone();
        let opening = record.clone();
        let opened = tokio::task::spawn_blocking(move || profiles::signing_key(&home, &opening))
            .await
            .map_err(|e| Error::Internal(format!("opening a key failed: {e}")))?;
        let mut entries = self.entries();
        match opened.and_then(|key| Ok(Ready { key, chain: Arc::new(record.chain_der()?) })) {
            Ok(ready) => {
                entries.unreachable.remove(&version);
                entries.keys.insert(version, ready.clone());
                Ok(Reach::Ready(ready))
            }
            Err(e @ Error::Profile(ProfileError::NoVersionKey { .. })) => self.miss(Reach::NotHere(e.to_string())),
            Err(e) => {
                let why = e.to_string();
                entries.unreachable.insert(version, (why.clone(), Instant::now()));
                self.miss(Reach::Unreachable(why))
            }
        }
    }
}
