//! The object-key layout, in one place.
//!
//! Every key signer writes is built here from fixed segments and validated names, so the
//! layout of a store can be read off this file:
//!
//! ```text
//! ca/root.json                                  the root CA's public part
//! profiles/<NAME>/profile.json                  a signing profile
//! profiles/<NAME>/versions/<VERSION>.json       one profile version (public key, certificate)
//! profiles/<NAME>/order/<N>.json                the versions in creation order (last = current)
//! profiles/<NAME>/canceled.json                 present once the profile is canceled
//! profiles/<NAME>/head.json                     the profile's standing in one record (rewritten)
//! revocations/profiles/<NAME>/<VERSION>/<N>.json revocation records of one profile version
//! revocations/jobs/<JOB>.json                   a signing job's revocation
//! cscs/<ID>/revisions/<N>.json                  a code-signing config's revisions (last wins)
//! layers/<NAME>/versions/<N>.json               a layer version's record (never deleted)
//! layers/<NAME>/deleted/<N>.json                a deleted layer version's tombstone
//! snapshots/<N>.json                            trust snapshots (what was revoked, canceled, deleted)
//! admins/<NAME>.json, admins/<NAME>.revoked.json the administrators the root appointed, revoked
//! config/tsa/<N>.json                           the time-stamping authority (URL, root), last wins
//! blobs/sha256/<HEX>.zip                        a layer's zip, by content
//! jobs/<ID>/…, queue/jobs/…, tokens/jobs/…      signing jobs (see the jobs section below)
//! events/jobs/…, dead-letter/jobs/…, workers/…  job ends, failed jobs, running workers
//! ```
//!
//! Numbered objects (see [`super::Store::create_next`]) live under a prefix key as
//! `<prefix>/<n, 20 digits>.json`.

use crate::model::{AdminName, CscId, JobId, ProfileName, Timestamp, VersionId};

use super::{Key, StoreError};

/// `ca/root.json`: the store's root certificate authority (public part only).
pub fn root_ca() -> Result<Key, StoreError> {
    Key::new(&["ca", "root.json"])
}

/// `profiles/<NAME>/profile.json`: a signing profile.
pub fn profile(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "profile.json"])
}

/// `profiles/<NAME>/versions/<VERSION>.json`: one version of a signing profile.
pub fn profile_version(name: &ProfileName, version: &VersionId) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "versions", &json_name(version.as_str())])
}

/// `profiles/<NAME>/versions`: the prefix under which a profile's versions are listed.
pub fn profile_versions(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "versions"])
}

/// `profiles/<NAME>/order`: numbered objects naming the profile's versions in creation
/// order; the highest is the current version.
pub fn profile_order(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "order"])
}

/// `profiles/<NAME>/permissions`: numbered records, each the whole list of the profile's
/// permission statements at one revision (the highest is in force).
pub fn profile_permissions(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "permissions"])
}

/// `profiles/<NAME>/canceled.json`: created (exclusively) when the profile is canceled.
pub fn profile_canceled(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "canceled.json"])
}

/// `profiles/<NAME>/head.json`: the profile's standing in one record, rewritten by every
/// command that changes it (what a submission reads).
pub fn profile_head(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "head.json"])
}

/// `revocations/profiles/<NAME>/<VERSION>`: the prefix of one profile version's revocation
/// records (numbered objects, so an effective time can be moved earlier by appending).
pub fn profile_revocations(name: &ProfileName, version: &VersionId) -> Result<Key, StoreError> {
    Key::new(&["revocations", "profiles", name.as_str(), version.as_str()])
}

/// `revocations/jobs/<JOB>.json`: a signing job's revocation (created once, irreversible).
pub fn job_revocation(job: &JobId) -> Result<Key, StoreError> {
    Key::new(&["revocations", "jobs", &json_name(job.as_str())])
}

/// `revocations`: the prefix holding every revocation record (for `revocations export`).
pub fn revocations() -> Result<Key, StoreError> {
    Key::new(&["revocations"])
}

/// `cscs`: the prefix under which code-signing configs are listed.
pub fn cscs() -> Result<Key, StoreError> {
    Key::new(&["cscs"])
}

/// `profiles`: the prefix under which profiles are listed.
pub fn profiles() -> Result<Key, StoreError> {
    Key::new(&["profiles"])
}

// Jobs (`jobs/<ID>/…`, client tokens) and layers (`layers/<NAME>/versions/<N>.json`, …)
// are added here by the modules that own them.

/// `<prefix>/<n zero-padded to 20 digits>.json`: a numbered object (see
/// [`super::Store::create_next`]); 20 digits hold every `u64`, so names sort as numbers.
pub fn numbered(prefix: &Key, n: u64) -> Result<Key, StoreError> {
    prefix.child(&format!("{n:020}.json"))
}

/// The number of a numbered object's last segment, if it is one (`00000000000000000042.json`).
pub fn parse_numbered(segment: &str) -> Option<u64> {
    let digits = segment.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The profile a `profiles/<NAME>/profile.json` key names (`None` for any other key).
pub fn parse_profile(key: &Key) -> Option<ProfileName> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["profiles", name, "profile.json"] => name.parse().ok(),
        _ => None,
    }
}

/// The profile a `profiles/<NAME>/canceled.json` key says is canceled (`None` for any
/// other key).
pub fn parse_profile_canceled(key: &Key) -> Option<ProfileName> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["profiles", name, "canceled.json"] => name.parse().ok(),
        _ => None,
    }
}

/// `admins`: the administrators the root appointed, and their revocations.
pub fn admins() -> Result<Key, StoreError> {
    Key::new(&["admins"])
}

/// `admins/<NAME>.json`: an administrator the root appointed (sealed by the root).
pub fn admin(name: &AdminName) -> Result<Key, StoreError> {
    Key::new(&["admins", &json_name(name.as_str())])
}

/// `admins/<NAME>.revoked.json`: an administrator's revocation (sealed by the root).
pub fn admin_revocation(name: &AdminName) -> Result<Key, StoreError> {
    Key::new(&["admins", &format!("{name}.revoked.json")])
}

/// The administrator an `admins/<NAME>.json` key appoints.
pub fn parse_admin(key: &Key) -> Option<AdminName> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["admins", file] if !file.ends_with(".revoked.json") => file.strip_suffix(".json")?.parse().ok(),
        _ => None,
    }
}

/// The administrator an `admins/<NAME>.revoked.json` key revokes.
pub fn parse_admin_revocation(key: &Key) -> Option<AdminName> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["admins", file] => file.strip_suffix(".revoked.json")?.parse().ok(),
        _ => None,
    }
}

/// `config/tsa`: the store's time-stamping authority, numbered revisions (last wins).
pub fn tsa_configs() -> Result<Key, StoreError> {
    Key::new(&["config", "tsa"])
}

/// `config`: the store's sealed settings.
pub fn config() -> Result<Key, StoreError> {
    Key::new(&["config"])
}

/// `snapshots`: the numbered trust snapshots (see `crate::snapshot`).
pub fn snapshots() -> Result<Key, StoreError> {
    Key::new(&["snapshots"])
}

/// The config and revision number of a `cscs/<ID>/revisions/<N>.json` key.
pub fn parse_csc_revision(key: &Key) -> Option<(CscId, u64)> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["cscs", id, "revisions", n] => Some((id.parse().ok()?, parse_numbered(n)?)),
        _ => None,
    }
}

/// The layer version a `layers/<NAME>/deleted/<N>.json` tombstone key marks deleted.
pub fn parse_layer_tombstone(key: &Key) -> Option<crate::model::LayerVersionRef> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["layers", name, "deleted", n] => {
            Some(crate::model::LayerVersionRef { name: name.parse().ok()?, version: parse_numbered(n)? })
        }
        _ => None,
    }
}

/// The config a `cscs/<ID>/…` key belongs to (`None` for any other key).
pub fn parse_csc(key: &Key) -> Option<crate::model::CscId> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["cscs", id, ..] => id.parse().ok(),
        _ => None,
    }
}

/// What a key under `revocations/` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationKey {
    /// `revocations/profiles/<NAME>/<VERSION>/<N>.json`: a profile version's.
    Version,
    /// `revocations/jobs/<JOB>.json`: a job's signature's.
    Job,
}

/// Which revocation a key under `revocations/` is (`None` for a key of another shape).
pub fn parse_revocation(key: &Key) -> Option<RevocationKey> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["revocations", "profiles", _, _, n] if parse_numbered(n).is_some() => Some(RevocationKey::Version),
        ["revocations", "jobs", job] if parse_job_json(job).is_some() => Some(RevocationKey::Job),
        _ => None,
    }
}

/// The job a `<JOB>.json` segment names.
fn parse_job_json(segment: &str) -> Option<JobId> {
    segment.strip_suffix(".json")?.parse().ok()
}

/// The job a `revocations/jobs/<JOB>.json` key revokes.
pub fn parse_job_revocation(key: &Key) -> Option<JobId> {
    match key.segments().collect::<Vec<_>>().as_slice() {
        ["revocations", "jobs", job] => parse_job_json(job),
        _ => None,
    }
}

/// `tags/<SHA-256 of the ARN>.json`: the tags `signer serve` keeps for one resource
/// (AWS's TagResource); the ARN is hashed because it holds `/` and `:`.
pub fn tags(arn: &str) -> Result<Key, StoreError> {
    let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, arn.as_bytes()));
    Key::new(&["tags", &json_name(&hash)])
}

fn json_name(id: &str) -> String {
    format!("{id}.json")
}

// --- layers ---

/// `layers`: the prefix under which every layer lives (one folder per name).
pub fn layers() -> Result<Key, StoreError> {
    Key::new(&["layers"])
}

/// `layers/<NAME>/versions`: a layer's version records, numbered objects (see
/// [`super::Store::create_next`]) that are never deleted, so a number is never reused.
pub fn layer_versions(name: &crate::model::LayerName) -> Result<Key, StoreError> {
    Key::new(&["layers", name.as_str(), "versions"])
}

/// `layers/<NAME>/versions/<N, 20 digits>.json`: one layer version's record.
pub fn layer_version(name: &crate::model::LayerName, n: u64) -> Result<Key, StoreError> {
    numbered(&layer_versions(name)?, n)
}

/// `layers/<NAME>/deleted`: the tombstones of a layer's deleted versions.
pub fn layer_tombstones(name: &crate::model::LayerName) -> Result<Key, StoreError> {
    Key::new(&["layers", name.as_str(), "deleted"])
}

/// `layers/<NAME>/deleted/<N, 20 digits>.json`: created (exclusively) when version N is
/// deleted; the version record itself stays, so its number stays burned.
pub fn layer_tombstone(name: &crate::model::LayerName, n: u64) -> Result<Key, StoreError> {
    numbered(&layer_tombstones(name)?, n)
}

/// `blobs/sha256/<64 lowercase hex>.zip`: a stored zip, named by the SHA-256 of its bytes,
/// so identical content is stored once whatever refers to it.
pub fn blob_sha256(hex: &str) -> Result<Key, StoreError> {
    let ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !ok {
        return Err(StoreError::BadKey {
            key: format!("blobs/sha256/{hex}.zip"),
            reason: "a blob is named by 64 lowercase hex digits (a SHA-256)".to_owned(),
        });
    }
    Key::new(&["blobs", "sha256", &format!("{hex}.zip")])
}

// --- jobs ---
//
// ```text
// jobs/<ID>/job.json                                   the submission (immutable)
// jobs/<ID>/attempts/<N, 20 digits>.json               attempt N's claim (create-if-absent)
// jobs/<ID>/attempts/<N, 20 digits>/renewed-<T>.json   a renewal of attempt N's lease at T
// jobs/<ID>/attempts/<N, 20 digits>/end.json           how attempt N ended, unless it finished the job
// jobs/<ID>/result.json                                the job's end: Succeeded or Failed (once)
// queue/jobs/<submitted, 20 digits>-<ID>.json          a job not settled yet (deleted once settled)
// tokens/jobs/<sha256 of the client token>.json        a client token's job
// events/jobs/<ended, YYYYMMDDTHHMMSSZ>-<ID>.json      one record per job end
// dead-letter/jobs/<ended, YYYYMMDDTHHMMSSZ>-<ID>.json one record per failed job
// workers/<WORKER>.json                                a running worker's presence
// ```

/// `jobs`: the prefix of every signing job's records.
pub fn jobs() -> Result<Key, StoreError> {
    Key::new(&["jobs"])
}

/// `jobs/<ID>`: the prefix of one job's records.
pub fn job_dir(job: &JobId) -> Result<Key, StoreError> {
    Key::new(&["jobs", job.as_str()])
}

/// `jobs/<ID>/job.json`: the job as submitted (immutable).
pub fn job(job: &JobId) -> Result<Key, StoreError> {
    job_dir(job)?.child("job.json")
}

/// `jobs/<ID>/attempts`: the prefix of a job's numbered attempt claims.
pub fn job_attempts(job: &JobId) -> Result<Key, StoreError> {
    job_dir(job)?.child("attempts")
}

/// `jobs/<ID>/attempts/<N, 20 digits>.json`: attempt N's claim, created if absent; the
/// worker that creates it holds the job's lease.
pub fn job_claim(job: &JobId, attempt: u64) -> Result<Key, StoreError> {
    numbered(&job_attempts(job)?, attempt)
}

/// `jobs/<ID>/attempts/<N, 20 digits>`: the prefix of attempt N's renewals and end.
pub fn job_attempt_dir(job: &JobId, attempt: u64) -> Result<Key, StoreError> {
    job_attempts(job)?.child(&format!("{attempt:020}"))
}

/// `jobs/<ID>/attempts/<N>/renewed-<unix seconds, 20 digits>.json`: a renewal of attempt
/// N's lease; its time is in its name, so a lease is judged from a listing alone.
pub fn job_renewal(job: &JobId, attempt: u64, at: Timestamp) -> Result<Key, StoreError> {
    job_attempt_dir(job, attempt)?.child(&format!("{RENEWAL_PREFIX}{:020}.json", unix_secs(at)))
}

/// The time in the name of a renewal's last segment (`renewed-<20 digits>.json`).
pub fn parse_renewal(segment: &str) -> Option<Timestamp> {
    parse_unix_secs(segment.strip_prefix(RENEWAL_PREFIX)?.strip_suffix(".json")?)
}

/// A time written by [`unix_secs`] as 20 digits.
fn parse_unix_secs(digits: &str) -> Option<Timestamp> {
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(Timestamp::from_unix)
}

const RENEWAL_PREFIX: &str = "renewed-";

/// What one key under `jobs/<ID>/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKey {
    /// `job.json`: the submission.
    Job,
    /// `result.json`: the job's end.
    Result,
    /// `attempts/<N>.json`: attempt N's claim.
    Claim(u64),
    /// `attempts/<N>/end.json`: attempt N ended without ending the job.
    AttemptEnd(u64),
    /// `attempts/<N>/renewed-<T>.json`: attempt N's lease renewed at T.
    Renewal(u64, Timestamp),
}

/// The job and the record a key under `jobs/` is, if it is one of a job's records.
pub fn parse_job_key(key: &Key) -> Option<(JobId, JobKey)> {
    let segments: Vec<&str> = key.segments().collect();
    let (id, rest) = match segments.as_slice() {
        ["jobs", id, rest @ ..] => (id.parse::<JobId>().ok()?, rest),
        _ => return None,
    };
    let record = match rest {
        ["job.json"] => JobKey::Job,
        ["result.json"] => JobKey::Result,
        ["attempts", claim] => JobKey::Claim(parse_numbered(claim)?),
        ["attempts", dir, last] => {
            let n = parse_numbered(&format!("{dir}.json"))?;
            if *last == "end.json" { JobKey::AttemptEnd(n) } else { JobKey::Renewal(n, parse_renewal(last)?) }
        }
        _ => return None,
    };
    Some((id, record))
}

/// `jobs/<ID>/attempts/<N>/end.json`: how attempt N ended when it did not end the job
/// (a transient failure to retry, or a release).
pub fn job_attempt_end(job: &JobId, attempt: u64) -> Result<Key, StoreError> {
    job_attempt_dir(job, attempt)?.child("end.json")
}

/// `jobs/<ID>/result.json`: the job's end, Succeeded or Failed, created once.
pub fn job_result(job: &JobId) -> Result<Key, StoreError> {
    job_dir(job)?.child("result.json")
}

/// `revocations/jobs`: the prefix of the jobs' revocation records.
pub fn job_revocations() -> Result<Key, StoreError> {
    Key::new(&["revocations", "jobs"])
}

/// `queue/jobs`: the prefix of the jobs that are not settled yet.
pub fn job_queue() -> Result<Key, StoreError> {
    Key::new(&["queue", "jobs"])
}

/// `queue/jobs/<submitted, unix seconds, 20 digits>-<ID>.json`: a job waiting to be
/// settled; names sort oldest first.
pub fn job_queue_entry(submitted_at: Timestamp, job: &JobId) -> Result<Key, StoreError> {
    job_queue()?.child(&format!("{:020}-{job}.json", unix_secs(submitted_at)))
}

/// The submission time (whole seconds) and job id in the name of a queue entry.
pub fn parse_job_queue_entry(segment: &str) -> Option<(Timestamp, JobId)> {
    let (secs, rest) = segment.strip_suffix(".json")?.split_once('-')?;
    Some((parse_unix_secs(secs)?, rest.parse().ok()?))
}

/// `tokens/jobs/<64 hex digits>.json`: the job a client token started. The token is a
/// user's string, so the key holds its SHA-256 instead.
pub fn job_token(token: &str) -> Result<Key, StoreError> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    Key::new(&["tokens", "jobs", &format!("{}.json", hex::encode(digest))])
}

/// `events/jobs`: the prefix of job end events.
pub fn job_events() -> Result<Key, StoreError> {
    Key::new(&["events", "jobs"])
}

/// `events/jobs/<ended, YYYYMMDDTHHMMSSZ>-<ID>.json`: the event of a job's end. Names sort
/// by time, so a pipeline polls with a listing that starts after the last name it saw.
pub fn job_event(ended_at: Timestamp, job: &JobId) -> Result<Key, StoreError> {
    job_events()?.child(&format!("{}-{job}.json", compact_time(ended_at)))
}

/// `dead-letter/jobs`: the prefix of failed jobs' records.
pub fn job_dead_letters() -> Result<Key, StoreError> {
    Key::new(&["dead-letter", "jobs"])
}

/// `dead-letter/jobs/<ended, YYYYMMDDTHHMMSSZ>-<ID>.json`: a failed job, with its reason.
pub fn job_dead_letter(ended_at: Timestamp, job: &JobId) -> Result<Key, StoreError> {
    job_dead_letters()?.child(&format!("{}-{job}.json", compact_time(ended_at)))
}

/// `workers`: the prefix of running workers' presence records.
pub fn workers() -> Result<Key, StoreError> {
    Key::new(&["workers"])
}

/// `workers/<WORKER>.json`: a running worker's presence, rewritten by that worker only.
pub fn worker(id: &str) -> Result<Key, StoreError> {
    Key::new(&["workers", &json_name(id)])
}

fn unix_secs(t: Timestamp) -> u64 {
    u64::try_from(t.unix()).unwrap_or(0)
}

/// `20260131T120000Z`: RFC 3339's basic form, which sorts as time and is a valid key.
fn compact_time(t: Timestamp) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset().format(&format).unwrap_or_else(|_| format!("{:020}", unix_secs(t)))
}

// --- cscs ---

/// `cscs/<ID>/revisions`: the numbered revisions of one code-signing config
/// (`cscs/<ID>/revisions/<N>.json`). The highest number is the config's current state; a
/// delete is a tombstone revision. Updates create revision N+1 with create-if-absent, so
/// concurrent writers never lose a change (see `crate::csc`).
pub fn csc_revisions(id: &CscId) -> Result<Key, StoreError> {
    Key::new(&["cscs", id.as_str(), "revisions"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_to_what_built_them() {
        let name: ProfileName = "My_Profile".parse().unwrap();
        let version: VersionId = "AbCdEf1234".parse().unwrap();
        let job: JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let csc: CscId = "csc-0123456789abcdef0".parse().unwrap();
        let t = Timestamp::from_unix(1_800_000_000);

        assert_eq!(parse_profile(&profile(&name).unwrap()), Some(name.clone()));
        assert_eq!(parse_profile(&profile_canceled(&name).unwrap()), None);
        assert_eq!(parse_profile_canceled(&profile_canceled(&name).unwrap()), Some(name.clone()));
        assert_eq!(parse_profile_canceled(&profile(&name).unwrap()), None);
        assert_eq!(parse_csc(&numbered(&csc_revisions(&csc).unwrap(), 3).unwrap()), Some(csc.clone()));
        assert_eq!(parse_csc_revision(&numbered(&csc_revisions(&csc).unwrap(), 3).unwrap()), Some((csc, 3)));
        let layer: crate::model::LayerVersionRef = "deps:7".parse().unwrap();
        assert_eq!(parse_layer_tombstone(&layer_tombstone(&layer.name, 7).unwrap()), Some(layer.clone()));
        assert_eq!(parse_layer_tombstone(&layer_version(&layer.name, 7).unwrap()), None);
        let ops: AdminName = "ops".parse().unwrap();
        assert_eq!(parse_admin(&admin(&ops).unwrap()), Some(ops.clone()));
        assert_eq!(parse_admin(&admin_revocation(&ops).unwrap()), None);
        assert_eq!(parse_admin_revocation(&admin_revocation(&ops).unwrap()), Some(ops.clone()));
        assert_eq!(parse_admin_revocation(&admin(&ops).unwrap()), None);

        let version_rev = numbered(&profile_revocations(&name, &version).unwrap(), 1).unwrap();
        assert_eq!(parse_revocation(&version_rev), Some(RevocationKey::Version));
        assert_eq!(parse_revocation(&job_revocation(&job).unwrap()), Some(RevocationKey::Job));
        assert_eq!(parse_job_revocation(&job_revocation(&job).unwrap()), Some(job.clone()));
        // A profile named `jobs` is still a profile version's revocation, not a job's.
        let jobs_named: ProfileName = "jobs".parse().unwrap();
        let tricky = numbered(&profile_revocations(&jobs_named, &version).unwrap(), 1).unwrap();
        assert_eq!(parse_revocation(&tricky), Some(RevocationKey::Version));

        for (key, want) in [
            (self::job(&job).unwrap(), JobKey::Job),
            (job_result(&job).unwrap(), JobKey::Result),
            (job_claim(&job, 2).unwrap(), JobKey::Claim(2)),
            (job_attempt_end(&job, 2).unwrap(), JobKey::AttemptEnd(2)),
            (job_renewal(&job, 2, t).unwrap(), JobKey::Renewal(2, t)),
        ] {
            assert_eq!(parse_job_key(&key), Some((job.clone(), want)), "{key}");
        }
        // Not a job record: other prefixes, an attempt folder that is no number.
        assert_eq!(parse_job_key(&job_revocation(&job).unwrap()), None);
        let odd = job_attempts(&job).unwrap().child("2").unwrap().child("end.json").unwrap();
        assert_eq!(parse_job_key(&odd), None);
    }

    #[test]
    fn the_layout() {
        let name: ProfileName = "My_Profile".parse().unwrap();
        let version: VersionId = "AbCdEf1234".parse().unwrap();
        let job: JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let csc_id: CscId = "csc-0123456789abcdef0".parse().unwrap();
        assert_eq!(root_ca().unwrap().as_str(), "ca/root.json");
        assert_eq!(profile(&name).unwrap().as_str(), "profiles/My_Profile/profile.json");
        assert_eq!(profile_version(&name, &version).unwrap().as_str(), "profiles/My_Profile/versions/AbCdEf1234.json");
        assert_eq!(profile_canceled(&name).unwrap().as_str(), "profiles/My_Profile/canceled.json");
        assert_eq!(
            profile_revocations(&name, &version).unwrap().as_str(),
            "revocations/profiles/My_Profile/AbCdEf1234"
        );
        assert_eq!(
            job_revocation(&job).unwrap().as_str(),
            "revocations/jobs/3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d.json"
        );
        assert_eq!(csc_revisions(&csc_id).unwrap().as_str(), "cscs/csc-0123456789abcdef0/revisions");
    }

    #[test]
    fn numbered_names_sort_as_numbers() {
        let p = Key::new(&["layers", "deps", "versions"]).unwrap();
        assert_eq!(numbered(&p, 7).unwrap().as_str(), "layers/deps/versions/00000000000000000007.json");
        assert_eq!(numbered(&p, u64::MAX).unwrap().last_segment(), "18446744073709551615.json");
        for n in [1, 42, u64::MAX] {
            assert_eq!(parse_numbered(numbered(&p, n).unwrap().last_segment()), Some(n));
        }
        for bad in ["7.json", "0000000000000000000x.json", "00000000000000000007", "00000000000000000007.json.tmp"] {
            assert_eq!(parse_numbered(bad), None, "{bad}");
        }
    }
}
