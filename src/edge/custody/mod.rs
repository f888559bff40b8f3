//! Where private keys live: a PKCS#8 file in the home (the default), a PKCS#11 token, or
//! AWS KMS. Everything that signs — `sign`, workers, `layer publish --sign`, the root CA,
//! administrators sealing trust records — gets its key from [`open`] as a
//! [`SigningKey`], so nothing above this module knows which backend holds it.
//!
//! A key in a token or in KMS is generated there ([`generate`]) and never leaves it: the
//! home keeps only a [`KeyRef`] (`keys/…/<name>.ref.json`, no secret in it), and a profile
//! version's record in the store carries the same reference, so a worker fleet that can
//! reach the token or the KMS key needs nothing copied. Whatever the reference says, the
//! key reached must hold the public key of the certificate it signs for (checked by the
//! callers with `key_matches_cert`), and every signature a token or KMS returns is
//! verified against that public key before it is used ([`Verified`]): a store writer who
//! points a reference at another key, a token that answers garbage, and a KMS emulator
//! that hashes a digest twice all end in an error, never in a signature that does not
//! verify.
//!
//! ```text
//! --key-store file                          a PKCS#8 file in the home (default)
//! --key-store 'pkcs11:token=signer'         a new key pair in that token (RFC 7512 URI)
//! --key-store aws-kms                       a new KMS key (SIGN_VERIFY) per key
//! ```
//!
//! PKCS#11 reads the module from `SIGNER_PKCS11_MODULE` and the user PIN from the file
//! named by `SIGNER_PKCS11_PIN_FILE` (owner-only) or from `SIGNER_PKCS11_PIN`; never from
//! the command line or the URI. The command line reads those variables and hands them to
//! [`configure_pkcs11`] once. AWS KMS uses the usual AWS chain (environment, profile
//! files, SSO, web identity, container and instance roles) and `AWS_ENDPOINT_URL_KMS` or
//! `AWS_ENDPOINT_URL` when set.

mod kms;
mod pkcs11;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SecretKey, SigningKey};
use crate::home::{Home, HomeError, KeyId};
use crate::model::Platform;

pub use pkcs11::{Pkcs11Settings, Pkcs11Uri, configure as configure_pkcs11};

/// A key that signs, shared by whoever needs it (a worker's jobs, say).
pub type Key = Arc<dyn SigningKey>;

/// The environment variable naming the PKCS#11 module (a shared library).
pub const PKCS11_MODULE_ENV: &str = "SIGNER_PKCS11_MODULE";
/// The environment variable naming a file that holds the token's user PIN.
pub const PKCS11_PIN_FILE_ENV: &str = "SIGNER_PKCS11_PIN_FILE";
/// The environment variable holding the token's user PIN (the file is preferred).
pub const PKCS11_PIN_ENV: &str = "SIGNER_PKCS11_PIN";

/// Where a new key is generated (`--key-store`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeyStore {
    /// A PKCS#8 file in the home.
    #[default]
    File,
    /// A key pair generated in a PKCS#11 token.
    Pkcs11(Pkcs11Uri),
    /// A KMS key (SIGN_VERIFY) generated in AWS KMS.
    AwsKms,
}

impl FromStr for KeyStore {
    type Err = CustodyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" => Ok(Self::File),
            "aws-kms" => Ok(Self::AwsKms),
            _ if s.starts_with("pkcs11:") => Ok(Self::Pkcs11(s.parse()?)),
            _ => Err(CustodyError::BadKeyStore {
                given: s.chars().take(80).collect(),
                reason: "use file, aws-kms, or a PKCS#11 URI such as pkcs11:token=LABEL".into(),
            }),
        }
    }
}

impl fmt::Display for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => f.write_str("file"),
            Self::Pkcs11(uri) => write!(f, "{uri}"),
            Self::AwsKms => f.write_str("aws-kms"),
        }
    }
}

impl KeyStore {
    /// Refuses a platform this backend cannot generate keys for, before anything is
    /// created (`profile create` checks it first).
    pub fn check_platform(&self, platform: Platform) -> Result<(), CustodyError> {
        match (self, platform) {
            (Self::AwsKms, Platform::Ed25519) => Err(kms_ed25519()),
            _ => Ok(()),
        }
    }
}

/// KMS and Ed25519: refused (signer's KMS backend is ECDSA).
fn kms_ed25519() -> CustodyError {
    CustodyError::Unsupported {
        backend: "aws-kms",
        platform: Platform::Ed25519,
        hint: "signer's KMS backend signs with ECDSA P-256 or P-384 keys; choose --platform ECDSA-P384-SHA384, or \
               keep Ed25519 keys in a file or a PKCS#11 token",
    }
}

/// What the home (and a profile version's record) keeps for a key held in a token or
/// KMS: where it is, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum KeyRef {
    /// A private key object in a PKCS#11 token: `pkcs11:token=…;id=…;object=…`.
    Pkcs11 {
        /// The RFC 7512 URI of the private key.
        uri: String,
    },
    /// A KMS key.
    AwsKms {
        /// The key's ARN.
        key_id: String,
    },
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pkcs11 { uri } => f.write_str(uri),
            Self::AwsKms { key_id } => write!(f, "aws-kms:{key_id}"),
        }
    }
}

/// A key just generated, before it is kept ([`keep`]).
pub struct NewKey {
    key: Key,
    kept: Kept,
}

enum Kept {
    /// The PKCS#8 DER to write to the home.
    File(Zeroizing<Vec<u8>>),
    /// The reference to write to the home.
    Ref(KeyRef),
}

impl NewKey {
    /// A key generated in memory, to keep as a file.
    pub fn file(key: SecretKey) -> Self {
        let der = Zeroizing::new(key.pkcs8_der().to_vec());
        Self { key: Arc::new(key), kept: Kept::File(der) }
    }

    /// The key, to sign with.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Where it lives, when not in a file.
    pub fn reference(&self) -> Option<&KeyRef> {
        match &self.kept {
            Kept::File(_) => None,
            Kept::Ref(r) => Some(r),
        }
    }
}

/// Generates a key for `platform` in `store`; `label` names it there (the KMS key's
/// description, the token object's label), e.g. `signer App/AbCdE12345`.
pub fn generate(store: &KeyStore, platform: Platform, label: &str) -> Result<NewKey, CustodyError> {
    store.check_platform(platform)?;
    match store {
        KeyStore::File => Ok(NewKey::file(SecretKey::generate(platform)?)),
        KeyStore::Pkcs11(uri) => {
            let (key, uri) = pkcs11::generate(uri, platform, label)?;
            Ok(NewKey { key: verified(key), kept: Kept::Ref(KeyRef::Pkcs11 { uri }) })
        }
        KeyStore::AwsKms => {
            let (key, key_id) = kms::generate(platform, label)?;
            Ok(NewKey { key: verified(key), kept: Kept::Ref(KeyRef::AwsKms { key_id }) })
        }
    }
}

/// Keeps a new key in the home under `id`: its PKCS#8 file, or its reference. Refuses to
/// overwrite. Returns the path written.
pub fn keep(home: &Home, id: &KeyId, new: &NewKey) -> Result<PathBuf, CustodyError> {
    Ok(match &new.kept {
        Kept::File(der) => home.write_key(id, der)?,
        Kept::Ref(r) => home.write_key_ref(id, &reference_json(r)?)?,
    })
}

/// Opens `id`'s key: the home's PKCS#8 file, else the home's reference, else `recorded`
/// (the reference a profile version's record carries). [`CustodyError::NotHere`] when
/// there is none; a token or KMS that cannot be reached now is
/// [`CustodyError::is_unavailable`].
pub fn open(home: &Home, id: &KeyId, recorded: Option<&KeyRef>) -> Result<Key, CustodyError> {
    match home.read_key(id) {
        Ok(der) => return Ok(Arc::new(SecretKey::from_pkcs8(&der)?)),
        Err(HomeError::KeyNotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let reference = match home.read_key_ref(id)? {
        Some((path, text)) => parse_reference(&text).map_err(|reason| CustodyError::BadReference { path, reason })?,
        None => {
            recorded.cloned().ok_or_else(|| CustodyError::NotHere { id: id.to_string(), home: home.dir().into() })?
        }
    };
    open_reference(&reference)
}

/// [`open`], then checks the key is the one `cert_der` certifies: a reference that points
/// at another key (a store writer's, say) is [`CryptoError::KeyCertMismatch`].
pub fn open_for(home: &Home, id: &KeyId, recorded: Option<&KeyRef>, cert_der: &[u8]) -> Result<Key, CustodyError> {
    let key = open(home, id, recorded)?;
    crypto::key_matches_cert(&*key, cert_der)?;
    Ok(key)
}

/// Opens the key a reference names.
pub fn open_reference(reference: &KeyRef) -> Result<Key, CustodyError> {
    Ok(verified(match reference {
        KeyRef::Pkcs11 { uri } => pkcs11::open(&uri.parse()?)?,
        KeyRef::AwsKms { key_id } => kms::open(key_id)?,
    }))
}

fn reference_json(r: &KeyRef) -> Result<String, CustodyError> {
    serde_json::to_string_pretty(r)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| CustodyError::Backend {
            backend: "file",
            action: "write the key reference",
            reason: e.to_string(),
        })
}

fn parse_reference(text: &str) -> Result<KeyRef, String> {
    let r: KeyRef = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let KeyRef::Pkcs11 { uri } = &r {
        uri.parse::<Pkcs11Uri>().map_err(|e| e.to_string())?;
    }
    Ok(r)
}

/// A key outside this process, whose every signature is checked against its public key
/// before it is returned.
struct Verified {
    inner: Box<dyn SigningKey>,
    spki: Vec<u8>,
}

fn verified(inner: Box<dyn SigningKey>) -> Key {
    let spki = inner.public_key_spki_der();
    Arc::new(Verified { inner, spki })
}

impl SigningKey for Verified {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }

    fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = self.inner.sign(msg)?;
        crypto::verify_signature(self.platform(), &self.spki, msg, &sig).map_err(|_| CryptoError::KeyUnavailable {
            reason: "the key store returned a signature that does not verify with the key's public key; it was not \
                     used (check the token or KMS, and that the reference names the right key)"
                .into(),
        })?;
        Ok(sig)
    }
}

/// What went wrong with a key store. No message holds a PIN or key material.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// `--key-store` is not one signer knows.
    #[error("bad --key-store {given:?}: {reason}")]
    BadKeyStore {
        /// What was given (cut short).
        given: String,
        /// What is accepted.
        reason: String,
    },
    /// A PIN in a PKCS#11 URI, where it would end up in shell history and the store.
    #[error(
        "the PKCS#11 URI carries {attribute}; a PIN never goes on the command line: put it in a file named by \
         {PKCS11_PIN_FILE_ENV} (mode 0600) or in {PKCS11_PIN_ENV}, and the module in {PKCS11_MODULE_ENV}"
    )]
    PinInUri {
        /// The attribute (`pin-value`, `pin-source`, `module-path`…).
        attribute: String,
    },
    /// A backend that cannot hold a key of this platform.
    #[error("{backend} cannot hold {platform} keys: {hint}")]
    Unsupported {
        /// The backend.
        backend: &'static str,
        /// The platform asked for.
        platform: Platform,
        /// What to do instead.
        hint: &'static str,
    },
    /// Neither a key file nor a reference for this key, here or in the store.
    #[error(
        "the private key of {id} is not in the home {} (no key file, no key reference); copy it there, or point \
         SIGNER_HOME at a home that has it",
        home.display()
    )]
    NotHere {
        /// Which key.
        id: String,
        /// The home.
        home: PathBuf,
    },
    /// A key reference file that does not parse.
    #[error("the key reference {} is not one signer wrote ({reason}); restore it from a backup", path.display())]
    BadReference {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No PKCS#11 module configured.
    #[error("no PKCS#11 module: set {PKCS11_MODULE_ENV} to the token's module (e.g. /usr/lib/softhsm/libsofthsm2.so)")]
    NoModule,
    /// The module could not be loaded or initialised.
    #[error("the PKCS#11 module {} could not be loaded ({reason}); check {PKCS11_MODULE_ENV}", path.display())]
    Module {
        /// The module.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No PIN configured.
    #[error(
        "no PIN for token {token}: set {PKCS11_PIN_FILE_ENV} to a file (mode 0600) holding it, or {PKCS11_PIN_ENV}"
    )]
    NoPin {
        /// The token's label.
        token: String,
    },
    /// The PIN file could not be used.
    #[error("the PIN file {} {reason}", path.display())]
    PinFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and the fix.
        reason: String,
    },
    /// The token refused the PIN.
    #[error("token {token} refused the PIN (wrong PIN); check {PKCS11_PIN_FILE_ENV} or {PKCS11_PIN_ENV}")]
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's PIN is locked.
    #[error("the PIN of token {token} is locked (too many wrong PINs); its security officer must unlock it")]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// No token matches the URI.
    #[error("no PKCS#11 token matches {uri} in the module {module} (is it inserted, and is its label right?)")]
    NoToken {
        /// The URI.
        uri: String,
        /// The module.
        module: String,
    },
    /// The token has no key the URI names.
    #[error("token {token} holds no private key matching {uri}; was it deleted, or is this another token?")]
    NoTokenKey {
        /// The token's label.
        token: String,
        /// The URI.
        uri: String,
    },
    /// KMS refused access to the key.
    #[error(
        "AWS KMS denied {action} on {key}: {message}; grant this identity kms:{action} (and kms:GetPublicKey) on the key"
    )]
    KmsDenied {
        /// The KMS action.
        action: &'static str,
        /// The key.
        key: String,
        /// What KMS said.
        message: String,
    },
    /// No such KMS key.
    #[error("AWS KMS has no key {key} (in this account and region): {message}")]
    KmsNotFound {
        /// The key.
        key: String,
        /// What KMS said.
        message: String,
    },
    /// A KMS key that cannot sign now (disabled, pending deletion).
    #[error("AWS KMS key {key} cannot sign now: {message}; enable it (aws kms enable-key) or use another version")]
    KmsKeyState {
        /// The key.
        key: String,
        /// What KMS said.
        message: String,
    },
    /// Another failure of a backend (a KMS that does not answer, a token error).
    #[error("{backend} could not {action}: {reason}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// What it was doing.
        action: &'static str,
        /// Why.
        reason: String,
    },
    /// The home failed.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// A key or signature problem.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl CustodyError {
    /// Whether the key exists but cannot be used now: a job with it is retried, and a
    /// command exits 6.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::NoModule
            | Self::Module { .. }
            | Self::NoPin { .. }
            | Self::PinFile { .. }
            | Self::WrongPin { .. }
            | Self::PinLocked { .. }
            | Self::NoToken { .. }
            | Self::NoTokenKey { .. }
            | Self::KmsDenied { .. }
            | Self::KmsNotFound { .. }
            | Self::KmsKeyState { .. }
            | Self::Backend { .. } => true,
            Self::Crypto(e) => matches!(e, CryptoError::KeyUnavailable { .. }),
            Self::BadKeyStore { .. }
            | Self::PinInUri { .. }
            | Self::Unsupported { .. }
            | Self::NotHere { .. }
            | Self::BadReference { .. }
            | Self::Home(_) => false,
        }
    }

    /// As a signing error (the [`SigningKey`] interface), keeping the message.
    fn into_crypto(self) -> CryptoError {
        match self {
            Self::Crypto(e) => e,
            e => CryptoError::KeyUnavailable { reason: e.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitCode as _, exit};

    #[test]
    fn key_stores_parse_and_print() {
        assert_eq!("file".parse::<KeyStore>().unwrap(), KeyStore::File);
        assert_eq!("aws-kms".parse::<KeyStore>().unwrap(), KeyStore::AwsKms);
        let p: KeyStore = "pkcs11:token=signer%20test".parse().unwrap();
        assert_eq!(p.to_string(), "pkcs11:token=signer%20test");
        for bad in ["", "kms", "pkcs11", "File"] {
            let e = bad.parse::<KeyStore>().unwrap_err();
            assert!(matches!(e, CustodyError::BadKeyStore { .. }), "{bad}: {e}");
            assert_eq!(e.exit_code(), exit::USAGE);
        }
    }

    #[test]
    fn kms_refuses_ed25519_before_anything_is_made() {
        let e = KeyStore::AwsKms.check_platform(Platform::Ed25519).unwrap_err();
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.to_string().contains("ECDSA-P384-SHA384"), "{e}");
        KeyStore::AwsKms.check_platform(Platform::EcdsaP256Sha256).unwrap();
        KeyStore::File.check_platform(Platform::Ed25519).unwrap();
    }

    #[test]
    fn references_round_trip_and_strangers_are_refused() {
        let r = KeyRef::AwsKms { key_id: "arn:aws:kms:eu-west-1:1:key/k".into() };
        assert_eq!(parse_reference(&reference_json(&r).unwrap()).unwrap(), r);
        let p = KeyRef::Pkcs11 { uri: "pkcs11:token=t;id=%01".into() };
        assert_eq!(parse_reference(&reference_json(&p).unwrap()).unwrap(), p);
        for bad in [
            r#"{"backend":"aws-kms"}"#,
            r#"{"backend":"aws-kms","key_id":"k","extra":1}"#,
            r#"{"backend":"pkcs11","uri":"pkcs11:token=t?pin-value=1234"}"#,
            r#"{"backend":"gcp-kms","key_id":"k"}"#,
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_store_that_answers_garbage_is_caught() {
        struct Liar(SecretKey);
        impl SigningKey for Liar {
            fn platform(&self) -> Platform {
                self.0.platform()
            }
            fn public_key_spki_der(&self) -> Vec<u8> {
                self.0.public_key_spki_der()
            }
            fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
                // As an emulator that hashes a digest again: a valid signature of other bytes.
                self.0.sign(&[msg, b"!"].concat())
            }
        }
        let key = verified(Box::new(Liar(SecretKey::generate(Platform::EcdsaP256Sha256).unwrap())));
        let e = key.sign(b"payload").unwrap_err();
        assert!(matches!(e, CryptoError::KeyUnavailable { .. }), "{e}");
        assert_eq!(CustodyError::Crypto(e).exit_code(), exit::IO);
    }

    #[test]
    fn a_missing_key_is_not_found_and_unreachable_ones_are_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let id = KeyId::Version("Prof_1/AbCdEf1234".parse().unwrap());
        let e = open(&home, &id, None).err().unwrap();
        assert!(matches!(e, CustodyError::NotHere { .. }), "{e}");
        assert_eq!(e.exit_code(), exit::NOT_FOUND);
        assert!(!e.is_unavailable());
        for e in [CustodyError::NoModule, CustodyError::WrongPin { token: "t".into() }] {
            assert!(e.is_unavailable());
            assert_eq!(e.exit_code(), exit::IO);
        }
    }
}
