//! The object-key layout, in one place.
//!
//! Every key signer writes is built here from fixed segments and validated names, so the
//! layout of a store can be read off this file:
//!
//! ```text
//! ca/root.json                                  the root CA's public part
//! profiles/<NAME>/profile.json                  a signing profile
//! profiles/<NAME>/versions/<VERSION>.json       one profile version (public key, certificate)
//! profiles/<NAME>/canceled.json                 present once the profile is canceled
//! revocations/profiles/<NAME>/<VERSION>/…       revocation records of one profile version
//! revocations/jobs/<JOB>.json                   a signing job's revocation
//! cscs/<ID>.json                                a code-signing config
//! ```
//!
//! Jobs (`jobs/…`) and layers (`layers/<NAME>/…`) are added here by their modules.
//! Numbered objects (see [`super::Store::create_next`]) live under a prefix key as
//! `<prefix>/<n, 20 digits>.json`.

use crate::model::{CscId, JobId, ProfileName, VersionId};

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
    Key::new(&[
        "profiles",
        name.as_str(),
        "versions",
        &json_name(version.as_str()),
    ])
}

/// `profiles/<NAME>/versions`: the prefix under which a profile's versions are listed.
pub fn profile_versions(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "versions"])
}

/// `profiles/<NAME>/canceled.json`: created (exclusively) when the profile is canceled.
pub fn profile_canceled(name: &ProfileName) -> Result<Key, StoreError> {
    Key::new(&["profiles", name.as_str(), "canceled.json"])
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

/// `cscs/<ID>.json`: a code-signing config.
pub fn csc(id: &CscId) -> Result<Key, StoreError> {
    Key::new(&["cscs", &json_name(id.as_str())])
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

fn json_name(id: &str) -> String {
    format!("{id}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout() {
        let name: ProfileName = "My_Profile".parse().unwrap();
        let version: VersionId = "AbCdEf1234".parse().unwrap();
        let job: JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let csc_id: CscId = "csc-0123456789abcdef0".parse().unwrap();
        assert_eq!(root_ca().unwrap().as_str(), "ca/root.json");
        assert_eq!(
            profile(&name).unwrap().as_str(),
            "profiles/My_Profile/profile.json"
        );
        assert_eq!(
            profile_version(&name, &version).unwrap().as_str(),
            "profiles/My_Profile/versions/AbCdEf1234.json"
        );
        assert_eq!(
            profile_canceled(&name).unwrap().as_str(),
            "profiles/My_Profile/canceled.json"
        );
        assert_eq!(
            profile_revocations(&name, &version).unwrap().as_str(),
            "revocations/profiles/My_Profile/AbCdEf1234"
        );
        assert_eq!(
            job_revocation(&job).unwrap().as_str(),
            "revocations/jobs/3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d.json"
        );
        assert_eq!(
            csc(&csc_id).unwrap().as_str(),
            "cscs/csc-0123456789abcdef0.json"
        );
    }

    #[test]
    fn numbered_names_sort_as_numbers() {
        let p = Key::new(&["layers", "deps", "versions"]).unwrap();
        assert_eq!(
            numbered(&p, 7).unwrap().as_str(),
            "layers/deps/versions/00000000000000000007.json"
        );
        assert_eq!(
            numbered(&p, u64::MAX).unwrap().last_segment(),
            "18446744073709551615.json"
        );
        for n in [1, 42, u64::MAX] {
            assert_eq!(
                parse_numbered(numbered(&p, n).unwrap().last_segment()),
                Some(n)
            );
        }
        for bad in [
            "7.json",
            "0000000000000000000x.json",
            "00000000000000000007",
            "00000000000000000007.json.tmp",
        ] {
            assert_eq!(parse_numbered(bad), None, "{bad}");
        }
    }
}
