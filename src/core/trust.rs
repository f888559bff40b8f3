//! Trust that does not rest on the store (issue 12): the pinned root, and trust records
//! sealed by it.
//!
//! A verifier holds its own copy of the root CA certificate — the *pin*, recorded in the
//! home by `signer init` or given with `--trust-root FILE|sha256:HEX`. Every record that
//! carries a trust decision (profiles and their versions, the version order, cancellations,
//! revocations, code-signing config revisions, layer records) is *sealed*: wrapped in an
//! envelope signed by that root's key (or by an administrator's key the root appointed,
//! see [`AdminRecord`]), bound to the object key it is stored under. A
//! reader opens the envelope with the pinned root and nothing else, so a store writer
//! without the root key can delete records or put back old ones, but cannot make one
//! that is trusted, move one to another key, or swap the root.
//!
//! # Envelope (version 1)
//!
//! ```text
//! {"format":"signer-record-v1",
//!  "key":"profiles/App/versions/AbCdE12345.json",   the object key it was sealed for
//!  "record":{…},                                    the record, exactly as signed
//!  "signed_by":"sha256:<hex SHA-256 of the root CA certificate, DER>" or "admin:<NAME>",
//!  "signature":"<base64 of the raw signature>"}
//! ```
//!
//! The signature is the sealing key's raw signature (ECDSA P-384 `r || s`, low S) over
//! `signer-record-v1\n<key>\n<record>`, where `<record>` is the record's JSON text as it
//! stands in the file (kept byte for byte, never re-encoded). Unknown fields are refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use std::sync::Arc;

#[cfg(test)]
use crate::crypto::SecretKey;
use crate::crypto::{self, CertInfo, CryptoError, SigningKey};
use crate::model::{AdminName, Timestamp};

/// The envelope's format tag.
pub const FORMAT: &str = "signer-record-v1";

/// The store's root CA record (`ca/root.json`): the public part only. Verifiers never
/// take it on the store's word: it must be the pinned root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootCa {
    /// PEM certificate.
    pub certificate_pem: String,
    /// SHA-256 fingerprint of the DER certificate, lowercase hex.
    pub fingerprint: String,
    /// Creation time.
    pub created_at: Timestamp,
}

impl RootCa {
    /// The DER certificate.
    pub fn der(&self) -> Result<Vec<u8>, TrustError> {
        let certs = crypto::parse_pem_certs(&self.certificate_pem)?;
        certs.into_iter().next().ok_or(TrustError::NoCertificate { what: "the store's root CA record" })
    }
}

/// What a verifier pins: the root certificate itself, or its SHA-256 fingerprint (then the
/// store's root record supplies the certificate, and must match it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The root CA certificate, DER.
    Certificate(Vec<u8>),
    /// The SHA-256 of the root CA certificate's DER, 64 lowercase hex digits.
    Sha256(String),
}

impl Pin {
    /// `sha256:HEX` (64 hex digits, any case), or `None` when `arg` is not of that form
    /// (then it names a PEM file).
    pub fn parse_fingerprint(arg: &str) -> Option<Result<Self, TrustError>> {
        let hex = arg.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Err(TrustError::BadPin {
                why: format!("{:?} is not sha256: followed by 64 hex digits", arg.chars().take(80).collect::<String>()),
            }));
        }
        Some(Ok(Self::Sha256(hex.to_ascii_lowercase())))
    }

    /// The first certificate of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, TrustError> {
        let certs = crypto::parse_pem_certs(pem)?;
        let der = certs.into_iter().next().ok_or(TrustError::NoCertificate { what: "the trust root" })?;
        Ok(Self::Certificate(der))
    }

    /// The pinned fingerprint.
    pub fn fingerprint(&self) -> Result<String, TrustError> {
        Ok(match self {
            Self::Certificate(der) => crypto::cert_info(der)?.sha256_fingerprint,
            Self::Sha256(hex) => hex.clone(),
        })
    }
}

/// The root a verifier trusts: the pin, matched against the store's root.
#[derive(Debug, Clone)]
pub struct Root {
    der: Vec<u8>,
    info: CertInfo,
}

impl Root {
    /// The root that `pin` and the store's root certificate (`store_root`, DER) agree on;
    /// [`TrustError::RootMismatch`] if they differ.
    pub fn resolve(pin: &Pin, store_root: &[u8]) -> Result<Self, TrustError> {
        let info = crypto::cert_info(store_root)?;
        let pinned = pin.fingerprint()?;
        if info.sha256_fingerprint != pinned {
            return Err(TrustError::RootMismatch { store_root: info.sha256_fingerprint, pinned });
        }
        Ok(Self { der: store_root.to_vec(), info })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the certificate, lowercase hex.
    pub fn fingerprint(&self) -> &str {
        &self.info.sha256_fingerprint
    }

    /// What the certificate says (subject, validity).
    pub fn info(&self) -> &CertInfo {
        &self.info
    }

    fn signed_by(&self) -> String {
        format!("sha256:{}", self.info.sha256_fingerprint)
    }
}

/// What is wrong with the trust root or with a trust record. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// No root is pinned where one is needed.
    #[error(
        "no trusted root is pinned in the home {home}: run `signer init` there (it pins the store's root CA), or \
         pass --trust-root FILE|sha256:HEX (or SIGNER_TRUST_ROOT) with the root you trust (see `signer trust show` \
         where the store was created)"
    )]
    NoPin {
        /// The home, for people.
        home: String,
    },
    /// The store has no root CA.
    #[error("the store {store} has no root CA: it was never initialised; run `signer init` (or check --store)")]
    NoStoreRoot {
        /// The store's URL.
        store: String,
    },
    /// `--trust-root` is malformed.
    #[error("invalid trust root: {why}; give a PEM file of the root CA certificate or sha256:<64 hex digits>")]
    BadPin {
        /// What is wrong.
        why: String,
    },
    /// A PEM text held no certificate.
    #[error("{what} holds no certificate")]
    NoCertificate {
        /// Which text.
        what: &'static str,
    },
    /// The store's root is not the pinned one.
    #[error(
        "trust root: the store's root CA is sha256 {}…, but the pinned root is sha256 {}…; the store's ca/root.json \
         was replaced or this is another store: nothing in it is trusted (compare with `signer trust show` where the \
         store was created)",
        store_root.get(..16).unwrap_or(store_root),
        pinned.get(..16).unwrap_or(pinned)
    )]
    RootMismatch {
        /// The store's root's fingerprint.
        store_root: String,
        /// The pinned fingerprint.
        pinned: String,
    },
    /// A record that carries trust failed its seal.
    #[error("the trust record {key} is not trusted: {why}")]
    Untrusted {
        /// The object key.
        key: String,
        /// Why.
        why: Untrusted,
    },
    /// Trust data that is older than allowed, or older than what was seen before.
    #[error("stale trust data: {why}")]
    Stale {
        /// What is stale and what to do.
        why: String,
    },
    /// A trust bundle that cannot be read.
    #[error("invalid trust bundle: {why}")]
    BadBundle {
        /// What is wrong and what to do.
        why: String,
    },
    /// The root key is needed to seal a record and is not in the home.
    #[error(
        "trust records are sealed with the root CA's key or an administrator's, and the home {home} has neither; run \
         this where `signer init` created the store, or in a home with an administrator key (`signer admin`)"
    )]
    NoRootKey {
        /// The home, for people.
        home: String,
    },
    /// More than one administrator key in a home: which seals is not guessed.
    #[error("the home {home} holds several administrator keys ({names}); keep one per home")]
    SeveralAdminKeys {
        /// The home.
        home: String,
        /// Their names.
        names: String,
    },
    /// A certificate or signature could not be handled.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Why a trust record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// A plain record, with no seal.
    #[error(
        "it is not sealed by the root CA (a store writer's record, or one written before records were sealed: run \
         `signer init` where the root key is to seal those)"
    )]
    Unsealed,
    /// Sealed for another key.
    #[error("it was sealed for {sealed_for}, not for where it is (copied from elsewhere in the store)")]
    Misplaced {
        /// The key it was sealed for.
        sealed_for: String,
    },
    /// Sealed by another root, or by a key that may not seal it.
    #[error("it is sealed by {by}, not by the pinned root or an administrator it appointed")]
    Foreign {
        /// Who it names.
        by: String,
    },
    /// Sealed by an administrator the root never appointed.
    #[error("it names administrator {name}, whom the pinned root never appointed")]
    UnknownAdmin {
        /// The name.
        name: AdminName,
    },
    /// Sealed by an administrator whose key was revoked.
    #[error("it is sealed by administrator {name}, whose key was revoked: nothing they sealed is trusted")]
    RevokedAdmin {
        /// The name.
        name: AdminName,
    },
    /// The signature does not match.
    #[error("its seal does not match its content (altered after it was sealed)")]
    Forged,
    /// Not an envelope, or its record is not what the key holds.
    #[error("{0}")]
    Malformed(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    format: String,
    key: String,
    #[serde(borrow)]
    record: &'a RawValue,
    signed_by: String,
    signature: String,
}

/// An administrator the root appointed (`admins/<NAME>.json`, sealed by the root itself):
/// their key seals trust records as the root's does, so the root key can stay offline.
/// Revoking them (`admins/<NAME>.revoked.json`, also root-sealed, and in every later
/// snapshot) makes every record they sealed untrusted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminRecord {
    /// Their name.
    pub name: AdminName,
    /// Their public key: base64 of the DER SubjectPublicKeyInfo (ECDSA P-384).
    pub public_key: String,
    /// When the root appointed them.
    pub created_at: Timestamp,
}

/// An administrator's revocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminRevocation {
    /// When.
    pub revoked_at: Timestamp,
    /// Why.
    pub reason: String,
}

/// Who an envelope says sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// A root (the pinned one, if the fingerprint is its).
    Root,
    /// An administrator.
    Admin(AdminName),
}

/// A key that opens seals: the pinned root's, or an appointed administrator's.
#[derive(Debug, Clone)]
pub struct Opener {
    signed_by: String,
    spki: Vec<u8>,
}

impl Opener {
    /// The pinned root's.
    pub fn root(root: &Root) -> Self {
        Self { signed_by: root.signed_by(), spki: root.info.spki_der.clone() }
    }

    /// An administrator's, from their record (which the caller opened with the root).
    pub fn admin(record: &AdminRecord) -> Result<Self, TrustError> {
        let spki = B64.decode(record.public_key.as_bytes()).map_err(|_| TrustError::Untrusted {
            key: format!("admins/{}.json", record.name),
            why: Untrusted::Malformed("its public_key is not base64".into()),
        })?;
        Ok(Self { signed_by: admin_tag(&record.name), spki })
    }
}

/// A key that seals: the root's, or an administrator's.
pub struct Sealer {
    signed_by: String,
    key: Arc<dyn SigningKey>,
}

impl Sealer {
    /// The root's key, which must be `root`'s.
    pub fn root(root: &Root, key: Arc<dyn SigningKey>) -> Result<Self, TrustError> {
        crypto::key_matches_cert(&*key, root.der())?;
        Ok(Self { signed_by: root.signed_by(), key })
    }

    /// An administrator's key (ECDSA P-384).
    pub fn admin(name: &AdminName, key: Arc<dyn SigningKey>) -> Result<Self, TrustError> {
        if key.platform() != crypto::ROOT_CA_PLATFORM {
            return Err(CryptoError::key(format!("an administrator's key is {}", crypto::ROOT_CA_PLATFORM)).into());
        }
        Ok(Self { signed_by: admin_tag(name), key })
    }

    /// Whether this is the root's key.
    pub fn is_root(&self) -> bool {
        self.signed_by.starts_with("sha256:")
    }
}

fn admin_tag(name: &AdminName) -> String {
    format!("admin:{name}")
}

/// The bytes a sealing key signs for the record text `record` stored at `key`.
fn message(key: &str, record: &str) -> Vec<u8> {
    [FORMAT.as_bytes(), b"\n", key.as_bytes(), b"\n", record.as_bytes()].concat()
}

/// Seals `record` for `key`; returns the envelope's bytes.
pub fn seal<T: Serialize>(key: &str, record: &T, sealer: &Sealer) -> Result<Vec<u8>, TrustError> {
    let malformed = |e: serde_json::Error| TrustError::Untrusted {
        key: key.to_owned(),
        why: Untrusted::Malformed(format!("cannot encode it: {e}")),
    };
    let raw = serde_json::to_string(record).and_then(RawValue::from_string).map_err(malformed)?;
    let signature = sealer.key.sign(&message(key, raw.get()))?;
    let envelope = Envelope {
        format: FORMAT.to_owned(),
        key: key.to_owned(),
        record: &raw,
        signed_by: sealer.signed_by.clone(),
        signature: B64.encode(signature),
    };
    let mut out = serde_json::to_vec_pretty(&envelope).map_err(malformed)?;
    out.push(b'\n');
    Ok(out)
}

/// Reads the envelope `bytes` read from `key` far enough to say who sealed it (nothing
/// is trusted yet: [`open`] decides).
pub fn signed_by(key: &str, bytes: &[u8]) -> Result<SignedBy, TrustError> {
    let envelope = envelope(key, bytes)?;
    if let Some(name) = envelope.signed_by.strip_prefix("admin:") {
        let name = name.parse().map_err(|_| TrustError::Untrusted {
            key: key.to_owned(),
            why: Untrusted::Foreign { by: envelope.signed_by.chars().take(80).collect() },
        })?;
        return Ok(SignedBy::Admin(name));
    }
    Ok(SignedBy::Root)
}

fn envelope<'a>(key: &str, bytes: &'a [u8]) -> Result<Envelope<'a>, TrustError> {
    let refuse = |why| TrustError::Untrusted { key: key.to_owned(), why };
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if is_plain_record(bytes) {
            refuse(Untrusted::Unsealed)
        } else {
            refuse(Untrusted::Malformed(format!("not a sealed record ({e})")))
        }
    })?;
    if envelope.format != FORMAT {
        return Err(refuse(Untrusted::Malformed(format!(
            "unknown format {:?}; this signer reads {FORMAT}",
            envelope.format.chars().take(40).collect::<String>()
        ))));
    }
    Ok(envelope)
}

/// Opens the envelope `bytes` read from `key` with `opener`: the record, if that key
/// sealed it for exactly this object key and it is unaltered.
pub fn open<T: DeserializeOwned>(key: &str, bytes: &[u8], opener: &Opener) -> Result<T, TrustError> {
    let refuse = |why| TrustError::Untrusted { key: key.to_owned(), why };
    let envelope = envelope(key, bytes)?;
    if envelope.key != key {
        return Err(refuse(Untrusted::Misplaced { sealed_for: envelope.key.chars().take(200).collect() }));
    }
    if envelope.signed_by != opener.signed_by {
        return Err(refuse(Untrusted::Foreign { by: envelope.signed_by.chars().take(80).collect() }));
    }
    let signature = B64.decode(envelope.signature.as_bytes()).map_err(|_| refuse(Untrusted::Forged))?;
    let message = message(key, envelope.record.get());
    crypto::verify_signature(crypto::ROOT_CA_PLATFORM, &opener.spki, &message, &signature)
        .map_err(|_| refuse(Untrusted::Forged))?;
    serde_json::from_str(envelope.record.get())
        .map_err(|e| refuse(Untrusted::Malformed(format!("its sealed record is not what {key} holds ({e})"))))
}

/// Whether `bytes` is a JSON object that is not an envelope: a record written before
/// records were sealed (or by a store writer), which `signer init` seals on migration.
pub fn is_plain_record(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes) {
        Ok(map) => map.get("format").and_then(|f| f.as_str()) != Some(FORMAT),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        name: String,
        n: u64,
    }

    fn root() -> (Root, SecretKey) {
        let (der, key) = crypto::create_root_ca(Timestamp::from_unix(1_800_000_000)).unwrap();
        let pin = Pin::Certificate(der.clone());
        (Root::resolve(&pin, &der).unwrap(), key)
    }

    fn sealer(root: &Root, key: SecretKey) -> Sealer {
        Sealer::root(root, Arc::new(key)).unwrap()
    }

    fn rec() -> Rec {
        Rec { name: "App".into(), n: 7 }
    }

    fn why(e: TrustError) -> Untrusted {
        match e {
            TrustError::Untrusted { why, .. } => why,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn a_sealed_record_opens_only_where_it_was_sealed_and_unaltered() {
        let (root, key) = root();
        let sealed = seal("profiles/App/profile.json", &rec(), &sealer(&root, key)).unwrap();
        assert!(!is_plain_record(&sealed));
        let root = Opener::root(&root);
        assert_eq!(signed_by("profiles/App/profile.json", &sealed).unwrap(), SignedBy::Root);
        assert_eq!(open::<Rec>("profiles/App/profile.json", &sealed, &root).unwrap(), rec());

        // Moved to another key.
        let e = open::<Rec>("profiles/Other/profile.json", &sealed, &root).unwrap_err();
        assert_eq!(why(e), Untrusted::Misplaced { sealed_for: "profiles/App/profile.json".into() });

        // Altered: one digit of the record, inside the signed text.
        let text = String::from_utf8(sealed.clone()).unwrap().replace("\"n\":7", "\"n\":8");
        assert_ne!(text.as_bytes(), sealed.as_slice());
        assert_eq!(
            why(open::<Rec>("profiles/App/profile.json", text.as_bytes(), &root).unwrap_err()),
            Untrusted::Forged
        );

        // A plain record, as written before sealing or by a store writer.
        let plain = serde_json::to_vec(&rec()).unwrap();
        assert!(is_plain_record(&plain));
        assert_eq!(why(open::<Rec>("profiles/App/profile.json", &plain, &root).unwrap_err()), Untrusted::Unsealed);

        // An extra field in the envelope.
        let extra = String::from_utf8(sealed).unwrap().replacen('{', "{\"admin\":true,", 1);
        assert!(matches!(
            why(open::<Rec>("profiles/App/profile.json", extra.as_bytes(), &root).unwrap_err()),
            Untrusted::Malformed(_)
        ));
    }

    #[test]
    fn a_record_sealed_by_another_root_is_foreign_even_if_it_claims_ours() {
        let (root, _) = root();
        let (other, other_key) = self::root();
        let key = "cscs/x/revisions/1.json";
        let theirs = seal(key, &rec(), &sealer(&other, other_key)).unwrap();
        let opener = Opener::root(&root);
        assert!(matches!(why(open::<Rec>(key, &theirs, &opener).unwrap_err()), Untrusted::Foreign { .. }));
        // Relabelled as ours: the signature is theirs, so it does not verify.
        let relabelled = String::from_utf8(theirs).unwrap().replace(&other.signed_by(), &root.signed_by()).into_bytes();
        assert_eq!(why(open::<Rec>(key, &relabelled, &opener).unwrap_err()), Untrusted::Forged);
        // And the root's sealer needs the root's own key.
        let (_, not_ours) = self::root();
        assert!(Sealer::root(&root, Arc::new(not_ours)).is_err());
    }

    #[test]
    fn an_administrator_s_seal_opens_only_with_their_key() {
        let name: AdminName = "ops".parse().unwrap();
        let key = SecretKey::generate(crypto::ROOT_CA_PLATFORM).unwrap();
        let record = AdminRecord {
            name: name.clone(),
            public_key: B64.encode(key.public_key_spki_der()),
            created_at: Timestamp::from_unix(1_800_000_000),
        };
        let at = "layers/x/versions/1.json";
        let sealed = seal(at, &rec(), &Sealer::admin(&name, Arc::new(key)).unwrap()).unwrap();
        assert_eq!(signed_by(at, &sealed).unwrap(), SignedBy::Admin(name.clone()));
        assert_eq!(open::<Rec>(at, &sealed, &Opener::admin(&record).unwrap()).unwrap(), rec());
        // Another key under this name does not open it; nor does the root.
        let other = SecretKey::generate(crypto::ROOT_CA_PLATFORM).unwrap();
        let impostor = AdminRecord { public_key: B64.encode(other.public_key_spki_der()), ..record };
        assert_eq!(why(open::<Rec>(at, &sealed, &Opener::admin(&impostor).unwrap()).unwrap_err()), Untrusted::Forged);
        let (root, _) = root();
        assert!(matches!(why(open::<Rec>(at, &sealed, &Opener::root(&root)).unwrap_err()), Untrusted::Foreign { .. }));
        assert!(Sealer::admin(&name, Arc::new(SecretKey::generate(crate::model::Platform::Ed25519).unwrap())).is_err());
    }

    #[test]
    fn the_pin_must_match_the_store_root() {
        let (der, _) = crypto::create_root_ca(Timestamp::from_unix(1_800_000_000)).unwrap();
        let (other, _) = crypto::create_root_ca(Timestamp::from_unix(1_800_000_000)).unwrap();
        let fp = crypto::cert_info(&der).unwrap().sha256_fingerprint;
        let by_hex = Pin::parse_fingerprint(&format!("sha256:{}", fp.to_ascii_uppercase())).unwrap().unwrap();
        assert_eq!(Root::resolve(&by_hex, &der).unwrap().fingerprint(), fp);
        assert!(matches!(Root::resolve(&by_hex, &other), Err(TrustError::RootMismatch { .. })));
        assert!(matches!(Root::resolve(&Pin::Certificate(der), &other), Err(TrustError::RootMismatch { .. })));
        assert!(Pin::parse_fingerprint("root.pem").is_none());
        assert!(matches!(Pin::parse_fingerprint("sha256:abc"), Some(Err(TrustError::BadPin { .. }))));
    }
}
