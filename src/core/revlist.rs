//! Signed revocation lists: the store's revocations in one file, for deploy hooks that
//! must judge revocation without reading the store's `revocations/` (issue 5).
//!
//! `signer revocations export -o FILE` writes the list signed by the store's root CA key
//! (from the home where `signer init` ran), with its issue time; `verify` and
//! `deploy check` take it with `--revocations FILE` and refuse one that this store's root
//! CA did not sign, that was altered, or that is older than `--max-age`.
//!
//! # Format (version 1)
//!
//! A JSON object, [`FORMAT`] in its `format` field:
//!
//! ```text
//! {"format":"signer-revocation-list-v1",
//!  "platform":"ECDSA-P384-SHA384",                 the root CA key's platform
//!  "root_ca_sha256":"<hex SHA-256 of the root CA certificate, DER>",
//!  "payload":"<base64 of the payload bytes>",
//!  "signature":"<base64 of the raw signature over exactly those bytes>"}
//! ```
//!
//! The payload is a JSON object, `{"format", "platform", "root_ca_sha256", "issued_at",
//! "profile_versions":[{"version":"NAME/VERSION","effective_time":T}…],
//! "jobs":[{"job_id":UUID,"reason":TEXT}…], "canceled_profiles":[{"profile":NAME,"canceled_at":T}…]}`
//! (the last may be absent: lists written before it was added), with times in RFC 3339 UTC. The signature is
//! the root key's raw signature (ECDSA `r || s`, low S; or Ed25519) over the payload bytes
//! as stored, never a re-encoding. The outer `format`, `platform` and `root_ca_sha256` only
//! steer verification and must equal the signed copies inside the payload; unknown fields
//! are refused at both levels. A verifier checks, in order: size (at most
//! [`MAX_LIST_BYTES`]), the envelope, that it names the expected root, the signature with
//! that root's public key, the payload, and the issue time (not in the future beyond
//! [`CLOCK_SKEW_SECS`], not older than the maximum age).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::crypto;
#[cfg(test)]
use crate::crypto::SecretKey;
use crate::error::Error;
use crate::model::{JobId, Platform, ProfileName, Timestamp, VersionRef};
use crate::policy::{CLOCK_SKEW_SECS, Revocations};

/// The format tag, outside and inside the signed payload.
pub const FORMAT: &str = "signer-revocation-list-v1";
/// The largest list file read, in bytes.
pub const MAX_LIST_BYTES: usize = 16 << 20;

/// The file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    platform: Platform,
    root_ca_sha256: String,
    payload: String,
    signature: String,
}

/// What the root CA signs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    format: String,
    platform: Platform,
    root_ca_sha256: String,
    issued_at: Timestamp,
    profile_versions: Vec<VersionEntry>,
    jobs: Vec<JobEntry>,
    #[serde(default)]
    canceled_profiles: Vec<CanceledEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CanceledEntry {
    profile: ProfileName,
    canceled_at: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionEntry {
    version: VersionRef,
    effective_time: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobEntry {
    job_id: JobId,
    reason: String,
}

/// A verified revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// When it was exported.
    pub issued_at: Timestamp,
    /// The root CA it was signed by (hex SHA-256 of the certificate).
    pub root_ca_sha256: String,
    /// What it revokes.
    pub revocations: Revocations,
}

/// How old a revocation list may be (`--max-age`): a whole number and a unit, `s`, `m`,
/// `h` or `d` (`90s`, `30m`, `12h`, `7d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge(i64);

impl MaxAge {
    /// The longest accepted: ten years.
    const MAX_SECS: i64 = 3650 * 86_400;

    /// In seconds.
    pub fn secs(self) -> i64 {
        self.0
    }

    /// From seconds.
    pub fn from_secs(secs: i64) -> Self {
        Self(secs.clamp(0, Self::MAX_SECS))
    }
}

impl std::str::FromStr for MaxAge {
    type Err = crate::model::NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs = crate::model::parse_secs(s, "maximum age")?;
        let secs =
            i64::try_from(secs).ok().filter(|&x| x <= Self::MAX_SECS).ok_or_else(|| crate::model::NameError {
                kind: "maximum age",
                value: s.chars().take(40).collect(),
                rule: "at most 3650 days",
            })?;
        Ok(Self(secs))
    }
}

impl std::fmt::Display for MaxAge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            s if s % 86_400 == 0 && s > 0 => write!(f, "{}d", s / 86_400),
            s if s % 3_600 == 0 && s > 0 => write!(f, "{}h", s / 3_600),
            s if s % 60 == 0 && s > 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// Writes the signed list of `revocations`, issued at `issued_at`, signed by the root CA
/// (`root_der` and its key).
pub fn export(
    revocations: &Revocations,
    root_der: &[u8],
    root_key: &dyn crypto::SigningKey,
    issued_at: Timestamp,
) -> Result<Vec<u8>, Error> {
    crypto::key_matches_cert(root_key, root_der)?;
    let root_ca_sha256 = crypto::cert_info(root_der)?.sha256_fingerprint;
    let platform = root_key.platform();
    let payload = Payload {
        format: FORMAT.into(),
        platform,
        root_ca_sha256: root_ca_sha256.clone(),
        issued_at,
        profile_versions: revocations
            .versions
            .iter()
            .map(|(v, t)| VersionEntry { version: v.clone(), effective_time: *t })
            .collect(),
        jobs: revocations.jobs.iter().map(|(j, r)| JobEntry { job_id: j.clone(), reason: r.clone() }).collect(),
        canceled_profiles: revocations
            .canceled
            .iter()
            .map(|(p, t)| CanceledEntry { profile: p.clone(), canceled_at: *t })
            .collect(),
    };
    let payload =
        serde_json::to_vec(&payload).map_err(|e| Error::Internal(format!("cannot encode the revocation list: {e}")))?;
    let signature = root_key.sign(&payload)?;
    let envelope = Envelope {
        format: FORMAT.into(),
        platform,
        root_ca_sha256,
        payload: B64.encode(&payload),
        signature: B64.encode(signature),
    };
    let mut out = serde_json::to_vec_pretty(&envelope)
        .map_err(|e| Error::Internal(format!("cannot encode the revocation list: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// Verifies a list against the store's root CA certificate (`root_der`) as of `now` (the
/// clock, not an audit time): signed by that root, unaltered, issued no later than
/// `now` plus the clock skew and, with `max_age`, no earlier than `now - max_age`.
pub fn verify(bytes: &[u8], root_der: &[u8], now: Timestamp, max_age: Option<MaxAge>) -> Result<RevocationList, Error> {
    let refuse = |why: String| Error::RevocationList { why };
    if bytes.len() > MAX_LIST_BYTES {
        return Err(refuse(format!("it is {} bytes, over the {MAX_LIST_BYTES}-byte limit", bytes.len())));
    }
    let env: Envelope = serde_json::from_slice(bytes).map_err(|e| {
        refuse(format!("not a signer revocation list ({e}); write one with `signer revocations export -o FILE`"))
    })?;
    if env.format != FORMAT {
        return Err(refuse(format!("unknown format {:?}; this signer reads {FORMAT}", short(&env.format))));
    }
    let root = crypto::cert_info(root_der)?;
    if !env.root_ca_sha256.eq_ignore_ascii_case(&root.sha256_fingerprint) {
        return Err(refuse(format!(
            "it was signed for the root CA {}…, not this store's ({}…); export one from this store",
            short(&env.root_ca_sha256),
            root.sha256_fingerprint.get(..16).unwrap_or_default()
        )));
    }
    let not_signed = || {
        refuse(format!(
            "it is not signed by this store's root CA ({}…): it was altered after export; export a fresh one with `signer revocations export -o FILE`",
            root.sha256_fingerprint.get(..16).unwrap_or_default()
        ))
    };
    let payload = B64.decode(env.payload.as_bytes()).map_err(|_| not_signed())?;
    let signature = B64.decode(env.signature.as_bytes()).map_err(|_| not_signed())?;
    crypto::verify_signature(env.platform, &root.spki_der, &payload, &signature).map_err(|_| not_signed())?;

    // Signed by the root: from here on the content is the root's word.
    let p: Payload = serde_json::from_slice(&payload)
        .map_err(|e| refuse(format!("its signed content is not a revocation list ({e})")))?;
    if p.format != env.format || p.platform != env.platform || p.root_ca_sha256 != env.root_ca_sha256 {
        return Err(not_signed());
    }
    if p.issued_at > now.plus_secs(CLOCK_SKEW_SECS) {
        return Err(refuse(format!(
            "it was issued at {}, in the future (now is {now}); check this machine's clock",
            p.issued_at
        )));
    }
    if let Some(max) = max_age {
        let age = now.unix().saturating_sub(p.issued_at.unix());
        if age > max.secs() {
            return Err(refuse(format!(
                "it was issued at {}, {} ago, older than --max-age {max}; export a fresh one with `signer revocations export -o FILE`",
                p.issued_at,
                MaxAge::from_secs(age)
            )));
        }
    }
    let mut revocations = Revocations::default();
    for v in p.profile_versions {
        let e = revocations.versions.entry(v.version).or_insert(v.effective_time);
        *e = (*e).min(v.effective_time);
    }
    for j in p.jobs {
        revocations.jobs.entry(j.job_id).or_insert(j.reason);
    }
    for c in p.canceled_profiles {
        let e = revocations.canceled.entry(c.profile).or_insert(c.canceled_at);
        *e = (*e).min(c.canceled_at);
    }
    Ok(RevocationList { issued_at: p.issued_at, root_ca_sha256: p.root_ca_sha256, revocations })
}

fn short(s: &str) -> String {
    s.chars().take(16).collect()
}

/// Adds `more` to `into`: every job, and per profile version (and per canceled profile)
/// the earlier time.
/// Revocations only ever add up: a list can never un-revoke what the store revoked.
pub fn merge(into: &mut Revocations, more: Revocations) {
    for (v, t) in more.versions {
        let e = into.versions.entry(v).or_insert(t);
        *e = (*e).min(t);
    }
    for (j, r) in more.jobs {
        into.jobs.entry(j).or_insert(r);
    }
    for (p, t) in more.canceled {
        let e = into.canceled.entry(p).or_insert(t);
        *e = (*e).min(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sample() -> Revocations {
        let mut r = Revocations::default();
        r.versions.insert("Rel/AbCdEf1234".parse().unwrap(), t("2026-01-01T00:00:00Z"));
        r.jobs.insert("3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap(), "leaked".into());
        r.canceled.insert("Old".parse().unwrap(), t("2026-02-01T00:00:00Z"));
        r
    }

    fn root() -> (Vec<u8>, SecretKey) {
        crypto::create_root_ca(t("2026-01-01T00:00:00Z")).unwrap()
    }

    #[test]
    fn round_trip() {
        let (der, key) = root();
        let issued = t("2026-06-01T00:00:00Z");
        let bytes = export(&sample(), &der, &key, issued).unwrap();
        let list = verify(&bytes, &der, issued.plus_secs(60), None).unwrap();
        assert_eq!(list.revocations, sample());
        assert_eq!(list.issued_at, issued);
        let max = "1d".parse().ok();
        assert!(verify(&bytes, &der, issued.plus_secs(86_400), max).is_ok());
    }

    #[test]
    fn stale_future_foreign_and_altered_lists_are_refused() {
        let (der, key) = root();
        let issued = t("2026-06-01T00:00:00Z");
        let bytes = export(&sample(), &der, &key, issued).unwrap();

        let e = verify(&bytes, &der, issued.plus_secs(86_401), "1d".parse().ok()).unwrap_err();
        assert!(e.to_string().contains("older than --max-age 1d"), "{e}");
        let e = verify(&bytes, &der, issued.plus_secs(-3600), None).unwrap_err();
        assert!(e.to_string().contains("in the future"), "{e}");

        let (other, _) = root();
        let e = verify(&bytes, &other, issued, None).unwrap_err();
        assert!(e.to_string().contains("not this store's"), "{e}");

        // A list signed by another key that claims this root.
        let (_, rogue_key) = root();
        let mut env: Envelope = serde_json::from_slice(&bytes).unwrap();
        let payload = B64.decode(&env.payload).unwrap();
        env.signature = B64.encode(rogue_key.sign(&payload).unwrap());
        let e = verify(&serde_json::to_vec(&env).unwrap(), &der, issued, None).unwrap_err();
        assert!(e.to_string().contains("not signed by this store's root CA"), "{e}");

        // Any change to the payload: one job fewer, an effective time moved later.
        let mut env: Envelope = serde_json::from_slice(&bytes).unwrap();
        let text = String::from_utf8(B64.decode(&env.payload).unwrap()).unwrap();
        for altered in [text.replace("2026-01-01", "2026-02-01"), text.replace("leaked", "fine!!")] {
            assert_ne!(altered, text);
            env.payload = B64.encode(altered.as_bytes());
            let e = verify(&serde_json::to_vec(&env).unwrap(), &der, issued, None).unwrap_err();
            assert!(e.to_string().contains("altered"), "{e}");
        }

        // Every single-byte change of the file is refused (or leaves the same meaning,
        // which only whitespace can).
        for i in 0..bytes.len() {
            let mut m = bytes.clone();
            m[i] ^= 0x01;
            if let Ok(list) = verify(&m, &der, issued, None) {
                assert_eq!(list.revocations, sample(), "byte {i} changed the list's meaning");
            }
        }
        assert!(verify(b"{}", &der, issued, None).is_err());
        assert!(verify(&vec![b' '; MAX_LIST_BYTES + 1], &der, issued, None).is_err());
    }

    #[test]
    fn max_age_parses_units() {
        for (s, secs) in [("90s", 90), ("30m", 1800), ("12h", 43_200), ("7d", 604_800)] {
            let m: MaxAge = s.parse().unwrap();
            assert_eq!(m.secs(), secs);
            assert_eq!(m.to_string(), s);
        }
        // One duration syntax for every flag (issue 16): bare seconds, weeks, words, sums.
        for (s, secs) in
            [("7", 7), ("2w", 1_209_600), ("1days", 86_400), ("1h30m", 5_400), ("1.5h", 5_400), ("12 hours", 43_200)]
        {
            assert_eq!(s.parse::<MaxAge>().unwrap().secs(), secs, "{s}");
        }
        for bad in ["", "d", "-1d", "1500ms", "99999999999999d", "3651d", "7x"] {
            assert!(bad.parse::<MaxAge>().is_err(), "{bad}");
        }
    }

    #[test]
    fn merging_keeps_the_earlier_effective_time() {
        let mut a = sample();
        let mut b = Revocations::default();
        let v: VersionRef = "Rel/AbCdEf1234".parse().unwrap();
        b.versions.insert(v.clone(), t("2025-01-01T00:00:00Z"));
        merge(&mut a, b);
        assert_eq!(a.versions[&v], t("2025-01-01T00:00:00Z"));
        let mut c = Revocations::default();
        c.versions.insert(v.clone(), t("2027-01-01T00:00:00Z"));
        merge(&mut a, c);
        assert_eq!(a.versions[&v], t("2025-01-01T00:00:00Z"));
        assert_eq!(a.jobs.len(), 1);
    }
}
