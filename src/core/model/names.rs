//! Names and ids with their rules (SPEC §2). Parsing is the only way to build one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A name or id that broke its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: must be {rule}")]
pub struct NameError {
    /// What was being parsed ("profile name").
    pub kind: &'static str,
    /// The rejected text (truncated when long).
    pub value: String,
    /// The rule, in words.
    pub rule: &'static str,
}

fn err(kind: &'static str, value: &str, rule: &'static str) -> NameError {
    NameError { kind, value: value.chars().take(80).collect(), rule }
}

fn all_bytes(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(ok)
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, $rule:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(String);

        impl $ty {
            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = NameError;

            fn from_str(s: &str) -> Result<Self, NameError> {
                let check: fn(&str) -> bool = $check;
                if check(s) { Ok(Self(s.to_owned())) } else { Err(err($kind, s, $rule)) }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A signing profile name: `^[A-Za-z0-9_]{2,64}$`.
    ProfileName,
    "profile name",
    "2 to 64 characters of A-Z, a-z, 0-9 and _",
    |s| (2..=64).contains(&s.len()) && all_bytes(s, |b| b.is_ascii_alphanumeric() || b == b'_')
);

name_type!(
    /// An administrator's name: `^[A-Za-z0-9_]{2,64}$`, as a profile's.
    AdminName,
    "administrator name",
    "2 to 64 characters of A-Z, a-z, 0-9 and _",
    |s| (2..=64).contains(&s.len()) && all_bytes(s, |b| b.is_ascii_alphanumeric() || b == b'_')
);

name_type!(
    /// An access key's name (`signer access-key create NAME`): `^[A-Za-z0-9_]{2,64}$`.
    AccessKeyName,
    "access key name",
    "2 to 64 characters of A-Z, a-z, 0-9 and _",
    |s| (2..=64).contains(&s.len()) && all_bytes(s, |b| b.is_ascii_alphanumeric() || b == b'_')
);

name_type!(
    /// A profile version id: 10 ASCII alphanumerics.
    VersionId,
    "profile version",
    "exactly 10 characters of A-Z, a-z and 0-9",
    |s| s.len() == 10 && all_bytes(s, |b| b.is_ascii_alphanumeric())
);

name_type!(
    /// A code-signing config id: `csc-` and 17 lowercase hex digits.
    CscId,
    "code-signing config id",
    "csc- followed by 17 hex digits (0-9, a-f)",
    |s| s.strip_prefix("csc-").is_some_and(|h| h.len() == 17 && all_bytes(h, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
);

name_type!(
    /// A layer name: `^[A-Za-z0-9_-]{1,140}$`.
    LayerName,
    "layer name",
    "1 to 140 characters of A-Z, a-z, 0-9, _ and -",
    |s| (1..=140).contains(&s.len()) && all_bytes(s, |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
);

name_type!(
    /// A signing job id: a lowercase hyphenated UUID.
    JobId,
    "job id",
    "a UUID such as 3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d",
    |s| s.len() == 36 && uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
);

impl JobId {
    /// A fresh random job id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string())
    }
}

impl VersionId {
    /// A fresh random version id from the system's secure random source.
    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let rng = ring::rand::SystemRandom::new();
        let mut out = String::with_capacity(10);
        while out.len() < 10 {
            let mut b = [0u8; 16];
            if rng.fill(&mut b).is_err() {
                continue;
            }
            // Rejection sampling keeps the alphabet uniform: 248 = 4 × 62.
            out.extend(
                b.iter()
                    .filter(|&&x| x < 248)
                    .filter_map(|&x| ALPHABET.get(usize::from(x % 62)).map(|&c| char::from(c))),
            );
            out.truncate(10);
        }
        Self(out)
    }
}

impl CscId {
    /// A fresh random config id.
    pub fn random() -> Self {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("csc-{}", &hex[..17]))
    }
}

/// `NAME/VERSION`: one version of a signing profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionRef {
    /// The profile.
    pub profile: ProfileName,
    /// The version.
    pub version: VersionId,
}

impl FromStr for VersionRef {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        let (p, v) =
            s.split_once('/').ok_or_else(|| err("profile version", s, "NAME/VERSION, e.g. MyProfile/AbCdEf1234"))?;
        Ok(Self { profile: p.parse()?, version: v.parse()? })
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.profile, self.version)
    }
}

impl Serialize for VersionRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VersionRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// `NAME:N`: one layer version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerVersionRef {
    /// The layer.
    pub name: LayerName,
    /// The version number, from 1.
    pub version: u64,
}

impl FromStr for LayerVersionRef {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        const RULE: &str = "NAME:N with N a version number from 1, e.g. deps:3";
        let (n, v) = s.rsplit_once(':').ok_or_else(|| err("layer version", s, RULE))?;
        let canonical = !v.is_empty() && !v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit());
        let version = v.parse::<u64>().ok().filter(|_| canonical).ok_or_else(|| err("layer version", s, RULE))?;
        Ok(Self { name: n.parse()?, version })
    }
}

impl fmt::Display for LayerVersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.version)
    }
}

impl Serialize for LayerVersionRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LayerVersionRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_follow_the_spec_pattern() {
        for ok in ["ab", "My_Profile_1", &"a".repeat(64)] {
            assert!(ok.parse::<ProfileName>().is_ok(), "{ok}");
        }
        for bad in ["a", "", "a-b", "a/b", "..", "a.b", "%2e%2e", &"a".repeat(65), "é1"] {
            assert!(bad.parse::<ProfileName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_that_become_keys_cannot_escape_a_prefix() {
        for bad in ["../x", "%2e%2e", "a/b", "", "/abs", "a\\b", "a b"] {
            assert!(bad.parse::<LayerName>().is_err(), "{bad}");
            assert!(bad.parse::<ProfileName>().is_err(), "{bad}");
            assert!(bad.parse::<JobId>().is_err(), "{bad}");
            assert!(bad.parse::<CscId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_ids_parse() {
        for _ in 0..100 {
            let v = VersionId::random();
            assert_eq!(v.as_str().parse::<VersionId>(), Ok(v.clone()));
            let c = CscId::random();
            assert_eq!(c.as_str().parse::<CscId>(), Ok(c.clone()));
            let j = JobId::random();
            assert_eq!(j.as_str().parse::<JobId>(), Ok(j.clone()));
        }
    }

    #[test]
    fn job_ids_are_canonical_uuids() {
        assert!("3F2B8C4E-0D1A-4C2E-9B7A-5E6F7A8B9C0D".parse::<JobId>().is_err());
        assert!("{3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d}".parse::<JobId>().is_err());
    }

    #[test]
    fn layer_version_refs() {
        let r: LayerVersionRef = "deps-1:12".parse().unwrap();
        assert_eq!((r.name.as_str(), r.version), ("deps-1", 12));
        for bad in ["deps", "deps:0", "deps:01", "deps:-1", ":1", "a/b:1", "deps:1:2"] {
            assert!(bad.parse::<LayerVersionRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn version_refs() {
        let r: VersionRef = "Prof_1/AbCdEf1234".parse().unwrap();
        assert_eq!(r.to_string(), "Prof_1/AbCdEf1234");
        assert!("Prof_1/short".parse::<VersionRef>().is_err());
        assert!("Prof_1".parse::<VersionRef>().is_err());
    }
}
