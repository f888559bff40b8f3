//! `signer status`: a store's state in one read-only look — its root, its profiles and
//! configs, the queue, the workers and how far their clocks are from the store's.

use serde::Serialize;

use crate::error::Error;
use crate::jobs::{self, QueueDepth};
use crate::model::{Platform, ProfileName, ProfileStatus, Timestamp, VersionId};
use crate::store::{Store, keys};
use crate::{csc, layers, profiles, tsa};

/// What `signer status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The store's URL.
    pub store: String,
    /// The store's root CA, the one the pin trusts.
    pub root_ca: RootCa,
    /// The store's RFC 3161 time-stamping authority, if one is set.
    pub tsa_url: Option<String>,
    /// Every signing profile, canceled ones included.
    pub profiles: Vec<ProfileLine>,
    /// How many code-signing configs there are.
    pub csc_count: usize,
    /// How many layers have a version that is not deleted.
    pub layer_count: usize,
    /// The signing-job queue.
    pub queue: QueueDepth,
    /// Jobs that ended Failed, from the dead-letter log (`sign-job list --dead-letter`).
    pub failed_job_count: usize,
    /// Workers that said they run, and the ones gone silent whose record is still there.
    pub workers: Vec<WorkerLine>,
}

/// The root CA, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RootCa {
    /// SHA-256 of its certificate (DER), hex.
    pub fingerprint: String,
    /// Its subject's common name.
    pub subject: Option<String>,
    /// When its certificate expires.
    pub not_after: Timestamp,
}

/// One profile, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileLine {
    /// Name.
    pub name: ProfileName,
    /// Status.
    pub status: ProfileStatus,
    /// Platform.
    pub platform: Platform,
    /// The version new signatures use.
    pub current_version: Option<VersionId>,
    /// How many versions it has.
    pub version_count: usize,
}

/// One worker, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerLine {
    /// Its id.
    pub worker: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it started, by its clock.
    pub started_at: Timestamp,
    /// When it last said it runs, by its clock.
    pub seen_at: Timestamp,
    /// Whether it said so within two leases.
    pub live: bool,
    /// How far the worker's clock was ahead of the store's (negative: behind) when it
    /// last wrote its record, in seconds; `None` when the store does not tell times.
    pub clock_offset_secs: Option<i64>,
}

/// Reads the store's state at `now`; writes nothing (a silent worker's record is left
/// for the workers to clean up).
pub async fn status(store: &Store, now: Timestamp) -> Result<Status, Error> {
    let root = store.trusted_root().await?.info().clone();
    let profiles = profiles::list_profiles(store, true)
        .await?
        .into_iter()
        .map(|p| ProfileLine {
            name: p.name,
            status: p.status,
            platform: p.platform,
            current_version: p.current_version,
            version_count: p.versions.len(),
        })
        .collect();
    let mut workers = Vec::new();
    for (key, p) in jobs::worker_records(store).await? {
        let written = store.modified_at(&key).await?;
        workers.push(WorkerLine {
            live: p.is_live(now),
            clock_offset_secs: written.map(|w| p.seen_at.unix().saturating_sub(w.unix())),
            worker: p.worker,
            host: p.host,
            pid: p.pid,
            started_at: p.started_at,
            seen_at: p.seen_at,
        });
    }
    Ok(Status {
        store: store.url().to_owned(),
        root_ca: RootCa { fingerprint: root.sha256_fingerprint, subject: root.subject_cn, not_after: root.not_after },
        tsa_url: tsa::current(store).await?.map(|t| t.url),
        profiles,
        csc_count: csc::list(store).await?.len(),
        layer_count: layers::list(store, None).await?.len(),
        queue: jobs::queue_depth(store, now).await?,
        failed_job_count: store.list_keys(&keys::job_dead_letters()?).await?.len(),
        workers,
    })
}
