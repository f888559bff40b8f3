//! The root CA, signing profiles, their versions and revocations, as records in the store
//! with private keys in the home (SPEC §2). Every write that must not race is a
//! create-if-absent; nothing here updates an object in place.

use serde::{Deserialize, Serialize};

use crate::crypto::{self, SecretKey};
use crate::custody::{self, Key, KeyRef, KeyStore, NewKey};
use crate::error::Error;
use crate::home::{Home, KeyId};
use crate::model::{JobId, Platform, ProfileName, ProfileStatus, Timestamp, Validity, VersionId, VersionRef};
use crate::policy::Revocations;
use crate::store::{Store, StoreError, keys};
use crate::trust::{Pin, Root};
use crate::verify::TrustedVersion;

/// What can go wrong with the root CA, signing profiles, their versions and revocations.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The root CA's key is not in this home.
    #[error("the root CA's private key is not in the home {}; {what} where `signer init` ran", home.display())]
    NoRootCaKey {
        /// The home.
        home: std::path::PathBuf,
        /// What needs the key ("create profile versions", …).
        what: &'static str,
    },
    /// The name is taken (now or once: canceled names are never reused).
    #[error(
        "a signing profile named {name} already exists or existed (canceled names are never reused); choose another name"
    )]
    NameTaken {
        /// The name.
        name: ProfileName,
    },
    /// A certificate chain with no certificate.
    #[error("the certificate chain is empty")]
    EmptyChain,
    /// A chain that does not end at a CA.
    #[error("the last certificate of --cert-chain must be the root CA that verifiers will trust")]
    ChainWithoutRoot,
    /// Rotating a profile that brought its own chain.
    #[error("{name} brings its own certificate chain; create a new profile with --cert-chain and --key for a new key")]
    OwnChain {
        /// The profile.
        name: ProfileName,
    },
    /// No such profile.
    #[error("no signing profile named {name}; see `signer profile list`")]
    NotFound {
        /// The name.
        name: ProfileName,
    },
    /// The profile is canceled.
    #[error("signing profile {name} is canceled; it signs nothing new (create another profile)")]
    Canceled {
        /// The profile.
        name: ProfileName,
    },
    /// The profile's current version is revoked.
    #[error(
        "the current version of signing profile {name} is revoked; run `signer profile rotate {name}` for a new version"
    )]
    CurrentVersionRevoked {
        /// The profile.
        name: ProfileName,
    },
    /// A profile with no version.
    #[error("signing profile {name} has no version")]
    NoVersion {
        /// The profile.
        name: ProfileName,
    },
    /// A version the profile names is not in the store.
    #[error("profile version {version} is missing from the store")]
    VersionMissing {
        /// The version.
        version: VersionRef,
    },
    /// No such version (asked for by name).
    #[error("no profile version {version}; see `signer profile show {}`", version.profile)]
    NoSuchVersion {
        /// The version.
        version: VersionRef,
    },
    /// A version's private key is not in this home.
    #[error(
        "the private key of {version} is not in the home {}; copy it there or point SIGNER_HOME at a home that has it",
        home.display()
    )]
    NoVersionKey {
        /// The version.
        version: VersionRef,
        /// The home.
        home: std::path::PathBuf,
    },
    /// A profile definition file (`profile create --from`) that does not parse.
    #[error("the profile definition {file} is not valid: {reason}; see profiles/README.md for its fields")]
    BadDefinition {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// `profile create --from FILE` with no name, on the command line or in the file.
    #[error("no profile name: give NAME, or a \"name\" in the definition {file}")]
    NoName {
        /// The definition file.
        file: String,
    },
    /// A revocation without an effective time.
    #[error(
        "give --effective-time (signatures timestamped at or after it fail), or --reason {KEY_COMPROMISE} to revoke from the certificate's start"
    )]
    NoEffectiveTime,
    /// A revocation effective in the future.
    #[error("the effective time {effective} is in the future; it must be now or earlier")]
    FutureRevocation {
        /// The time asked for.
        effective: Timestamp,
    },
    /// A revocation that would move the effective time later.
    #[error("{version} is already revoked effective {current}; the effective time may move earlier, never later")]
    RevocationLater {
        /// The version.
        version: VersionRef,
        /// Its current effective time.
        current: Timestamp,
    },
    /// A job's signature revoked twice.
    #[error("the signature of job {job} is already revoked")]
    JobAlreadyRevoked {
        /// The job.
        job: JobId,
    },
}

/// The revocation reason that revokes a version from its certificate's start, whatever
/// effective time is given: every signature its key could have made.
pub const KEY_COMPROMISE: &str = "key-compromise";

/// How long a version's certificate is valid: the longest signature validity, plus a
/// year, so a version can sign for years and each signature still lasts its validity.
const VERSION_CERT_SECS: i64 = (135 * 30 + 365) * 86_400;

pub use crate::trust::RootCa;

fn root_key_id(ca: &RootCa) -> KeyId {
    KeyId::RootCa { fingerprint: ca.fingerprint.clone() }
}

/// A signing profile as first created. Immutable; status comes from other records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileRecord {
    /// Name.
    pub name: ProfileName,
    /// Platform.
    pub platform: Platform,
    /// Signature validity.
    pub signature_validity: Validity,
    /// Whether versions bring their own certificate chain.
    pub own_chain: bool,
    /// Whether it signs without a timestamp when the store's TSA does not answer.
    #[serde(default)]
    pub sign_without_tsa: bool,
    /// Where its versions' keys are generated (`file`, `aws-kms`, a PKCS#11 URI); absent
    /// means a file. `profile rotate` uses it unless told otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<String>,
    /// For people: what the profile signs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Creation time.
    pub created_at: Timestamp,
}

impl ProfileRecord {
    /// Where new versions' keys go.
    pub fn key_store(&self) -> Result<KeyStore, Error> {
        Ok(self.key_store.as_deref().map(str::parse).transpose()?.unwrap_or_default())
    }
}

/// The settings a new profile is created with.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// Platform (an own chain's key decides it instead).
    pub platform: Platform,
    /// Signature validity.
    pub validity: Validity,
    /// Sign without a timestamp when the store's TSA does not answer (off by default:
    /// signing fails instead, and jobs retry).
    pub sign_without_tsa: bool,
    /// Where the versions' keys are generated.
    pub key_store: KeyStore,
    /// For people (at most [`crate::model::MAX_DESCRIPTION`] characters, one line).
    pub description: String,
}

/// A profile as a file defines it (`signer profile create --from FILE`; the files in
/// `profiles/`): every field optional, flags given on the command line win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The profile's name.
    pub name: Option<ProfileName>,
    /// The platform.
    pub platform: Option<Platform>,
    /// The signature validity (`135months`, `30d`…).
    pub validity: Option<Validity>,
    /// For people.
    pub description: Option<String>,
    /// Sign without a timestamp when the TSA does not answer.
    pub sign_without_tsa: Option<bool>,
    /// Where keys are generated: `file`, `aws-kms` or a PKCS#11 URI.
    #[serde(default, deserialize_with = "key_store_name")]
    pub key_store: Option<KeyStore>,
}

fn key_store_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<KeyStore>, D::Error> {
    Option::<String>::deserialize(d)?.map(|s| s.parse().map_err(serde::de::Error::custom)).transpose()
}

/// The largest profile definition file read, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 64 << 10;

impl Definition {
    /// Parses a definition file (`file` names it in errors; unknown fields refused).
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::from(ProfileError::BadDefinition { file: file.to_owned(), reason });
        if bytes.len() > MAX_DEFINITION_BYTES {
            return Err(bad(format!("{} bytes, more than the {MAX_DEFINITION_BYTES} read", bytes.len())));
        }
        let def: Self = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if let Some(d) = &def.description {
            crate::model::DESCRIPTION.check(d).map_err(|e| bad(e.to_string()))?;
        }
        Ok(def)
    }
}

/// One profile version. Immutable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `NAME/VERSION`.
    pub version: VersionRef,
    /// The version's certificate (PEM).
    pub certificate_pem: String,
    /// Its issuers up to and including the root (PEM, in order).
    pub chain_pem: String,
    /// SHA-256 of the certificate's DER.
    pub fingerprint: String,
    /// Where the key is when a PKCS#11 token or KMS holds it (public: no secret), so a
    /// worker that can reach it needs nothing copied; absent for a key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<KeyRef>,
    /// Creation time.
    pub created_at: Timestamp,
}

impl VersionRecord {
    /// Certificate then issuers, DER.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut all = crypto::parse_pem_certs(&self.certificate_pem)?;
        all.extend(crypto::parse_pem_certs(&self.chain_pem)?);
        Ok(all)
    }
}

/// A profile cancelation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CancelRecord {
    /// When.
    pub canceled_at: Timestamp,
}

/// One revocation of a profile version. Several may exist; the earliest effective time
/// rules, so a later record can never move it later.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRevocation {
    /// The version.
    pub version: VersionRef,
    /// Signatures made at or after this time fail the revocation check.
    pub effective_time: Timestamp,
    /// Why.
    pub reason: String,
    /// When this record was made.
    pub revoked_at: Timestamp,
}

/// A job's revoked signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRevocation {
    /// The job.
    pub job_id: JobId,
    /// Why.
    pub reason: String,
    /// When.
    pub revoked_at: Timestamp,
}

/// A profile with its versions and derived status, as `profile show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Name.
    pub name: ProfileName,
    /// Status.
    pub status: ProfileStatus,
    /// Platform.
    pub platform: Platform,
    /// Signature validity.
    pub signature_validity: Validity,
    /// Whether it signs without a timestamp when the store's TSA does not answer.
    pub sign_without_tsa: bool,
    /// For people (empty when none was given).
    pub description: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// When canceled.
    pub canceled_at: Option<Timestamp>,
    /// The version new signatures use.
    pub current_version: Option<VersionId>,
    /// Every version, oldest first.
    pub versions: Vec<VersionSummary>,
}

/// A profile's standing in one record (`profiles/NAME/head.json`), sealed and rewritten by
/// every command that changes it: what a submission checks, in one read instead of all
/// the profile's records. It sums them up and is not the authority: a worker reads the
/// records themselves before it signs, so a stale or replayed head can let a job in, but
/// never get it signed for a canceled profile or a revoked version (SECURITY.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileHead {
    /// Status.
    pub status: ProfileStatus,
    /// Platform.
    pub platform: Platform,
    /// Signature validity.
    pub signature_validity: Validity,
    /// The version new signatures use.
    pub current_version: Option<VersionId>,
}

impl From<&Profile> for ProfileHead {
    fn from(p: &Profile) -> Self {
        Self {
            status: p.status,
            platform: p.platform,
            signature_validity: p.signature_validity,
            current_version: p.current_version.clone(),
        }
    }
}

/// A profile's standing for a submission: its head, or, when there is none (a store
/// written before heads) or the head is not trusted, what its records say.
pub async fn standing(store: &Store, name: &ProfileName) -> Result<ProfileHead, Error> {
    match store.get_record::<ProfileHead>(&keys::profile_head(name)?).await {
        Ok(Some(head)) => Ok(head),
        Ok(None) | Err(StoreError::Trust(_)) => Ok(ProfileHead::from(&show_profile(store, name).await?)),
        Err(e) => Err(e.into()),
    }
}

/// The profile as its records say now, with its head rewritten to match: what every
/// command that changes a profile ends with.
async fn show_and_head(store: &Store, name: &ProfileName) -> Result<Profile, Error> {
    let profile = show_profile(store, name).await?;
    store.put_record(&keys::profile_head(name)?, &ProfileHead::from(&profile)).await?;
    Ok(profile)
}

/// One version in [`Profile`].
#[derive(Debug, Clone, Serialize)]
pub struct VersionSummary {
    /// Id.
    pub version: VersionId,
    /// Creation time.
    pub created_at: Timestamp,
    /// Certificate fingerprint.
    pub certificate_sha256: String,
    /// Earliest revocation effective time, if revoked.
    pub revoked_effective_at: Option<Timestamp>,
}

/// What [`init`] did.
#[derive(Debug)]
pub struct Initialised {
    /// The store's root CA.
    pub ca: RootCa,
    /// Whether it was created now.
    pub created: bool,
    /// Whether the home pinned it now (it had no pin before).
    pub pinned: bool,
    /// How many plain records were sealed ([`InitOptions::seal_existing`]).
    pub sealed: usize,
}

/// How [`init`] treats an existing store.
#[derive(Debug, Default)]
pub struct InitOptions<'a> {
    /// The root the store must have (`--trust-root`), so a new home does not pin whatever
    /// the store holds.
    pub require: Option<&'a Pin>,
    /// Seal the plain trust records an older signer wrote (the migration step; needs the
    /// root key, and a store whose records are known good).
    pub seal_existing: bool,
    /// Where a new root CA's key is generated.
    pub key_store: KeyStore,
}

/// Creates the store's root CA once, and pins it in the home: a home that pins another
/// root, or a store whose root is not `options.require`, is [`TrustError::RootMismatch`].
/// `store` must be [`Store::trusting`] this home (or the required pin).
pub async fn init(store: &Store, home: &Home, now: Timestamp, options: InitOptions<'_>) -> Result<Initialised, Error> {
    let (ca, created) = match store.get_json::<RootCa>(&keys::root_ca()?).await? {
        Some(ca) => (ca, false),
        None => create_root(store, home, now, &options.key_store).await?,
    };
    let der = ca.der()?;
    if let Some(pin) = options.require {
        Root::resolve(pin, &der)?;
    }
    let pinned = match home.pinned_root()? {
        Some(pem) => {
            Root::resolve(&Pin::from_pem(&pem)?, &der)?;
            false
        }
        None => {
            home.pin_root(&ca.certificate_pem)?;
            true
        }
    };
    let sealed = if options.seal_existing { store.seal_plain_records().await? } else { 0 };
    // The first trust snapshot, where the root key is to seal it (a store made before
    // snapshots gets its first one here too).
    if home.has_key(&root_key_id(&ca)) && crate::snapshots::newest(store).await?.is_none() {
        crate::snapshots::publish(store, now).await?;
    }
    Ok(Initialised { ca, created, pinned, sealed })
}

/// Creates the root CA and its key; returns the store's root (ours, or that of a
/// concurrent `init` that won) and whether ours is it.
async fn create_root(
    store: &Store,
    home: &Home,
    now: Timestamp,
    key_store: &KeyStore,
) -> Result<(RootCa, bool), Error> {
    let key = custody::generate(key_store, crypto::ROOT_CA_PLATFORM, "signer root CA")?;
    let der = crypto::root_ca_certificate(&**key.key(), now)?;
    let info = crypto::cert_info(&der)?;
    let ca = RootCa {
        certificate_pem: crypto::to_pem("CERTIFICATE", &der),
        fingerprint: info.sha256_fingerprint,
        created_at: now,
    };
    let key_path = custody::keep(home, &root_key_id(&ca), &key)?;
    match store.create_json(&keys::root_ca()?, &ca).await {
        Ok(()) => Ok((ca, true)),
        Err(StoreError::AlreadyExists { .. }) => {
            // Another `init` won the race: use its CA; ours was never published.
            std::fs::remove_file(&key_path).map_err(|e| Error::io(format!("removing {}", key_path.display()), e))?;
            Ok((store.root_ca().await?, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// How a new profile gets its first version's certificate.
pub enum NewVersion {
    /// A key generated here and a certificate from the store's root CA.
    Issued,
    /// A chain and key the user brings (leaf first, up to its root).
    OwnChain {
        /// Certificates, DER, leaf first.
        chain: Vec<Vec<u8>>,
        /// The leaf's key.
        key: Box<SecretKey>,
    },
}

/// Creates a profile and its first version.
pub async fn create_profile(
    store: &Store,
    home: &Home,
    name: &ProfileName,
    options: ProfileOptions,
    first: NewVersion,
    now: Timestamp,
) -> Result<Profile, Error> {
    let own_chain = matches!(first, NewVersion::OwnChain { .. });
    let platform = match &first {
        NewVersion::OwnChain { key, .. } => key.platform(),
        NewVersion::Issued => options.platform,
    };
    // Check what can fail before the name is taken: the CA key, and the new version's key
    // (a token or KMS may refuse it).
    options.key_store.check_platform(platform)?;
    crate::model::DESCRIPTION.check(&options.description)?;
    let ca = match first {
        NewVersion::Issued => {
            let (ca, ca_key) = ca_with_key(store, home).await?;
            let version = VersionRef { profile: name.clone(), version: VersionId::random() };
            let key = custody::generate(&options.key_store, platform, &key_label(&version))?;
            Some((ca, ca_key, version, key))
        }
        NewVersion::OwnChain { .. } => None,
    };
    let record = ProfileRecord {
        name: name.clone(),
        platform,
        signature_validity: options.validity,
        own_chain,
        sign_without_tsa: options.sign_without_tsa,
        key_store: (options.key_store != KeyStore::File).then(|| options.key_store.to_string()),
        description: options.description,
        created_at: now,
    };
    store.create_record(&keys::profile(name)?, &record).await.map_err(|e| match e {
        StoreError::AlreadyExists { .. } => Error::from(ProfileError::NameTaken { name: name.clone() }),
        e => e.into(),
    })?;
    match (first, ca) {
        (NewVersion::Issued, Some((ca, ca_key, version, key))) => {
            add_issued_version(store, home, version, &key, &ca, &ca_key, now).await?
        }
        (NewVersion::OwnChain { chain, key }, _) => add_own_version(store, home, name, chain, *key, now).await?,
        (NewVersion::Issued, None) => {
            return Err(Error::Internal("a new profile version was issued without a CA".into()));
        }
    };
    show_and_head(store, name).await
}

/// Checks a chain and key brought by the user: they match, the leaf is for code signing
/// and the chain is valid now to its own root (the last certificate).
pub fn check_own_chain(chain: &[Vec<u8>], key: &SecretKey, now: Timestamp) -> Result<(), Error> {
    let (leaf, rest) = chain.split_first().ok_or(ProfileError::EmptyChain)?;
    crypto::key_matches_cert(key, leaf)?;
    let anchor = chain.last().ok_or(ProfileError::EmptyChain)?;
    if !crypto::cert_info(anchor)?.is_ca {
        return Err(ProfileError::ChainWithoutRoot.into());
    }
    let intermediates = rest.get(..rest.len().saturating_sub(1)).unwrap_or_default();
    crypto::validate_chain(leaf, intermediates, anchor, now)?;
    Ok(())
}

/// The root CA's key (a file, a token or KMS, as the home says), checked against the CA's
/// certificate; `what` says what needs it, for the message when the home has no key.
pub fn root_ca_key(home: &Home, ca: &RootCa, what: &'static str) -> Result<Key, Error> {
    custody::open_for(home, &root_key_id(ca), None, &ca.der()?).map_err(|e| match e {
        custody::CustodyError::NotHere { .. } => ProfileError::NoRootCaKey { home: home.dir().to_owned(), what }.into(),
        e => e.into(),
    })
}

async fn ca_with_key(store: &Store, home: &Home) -> Result<(RootCa, Key), Error> {
    let ca = store.root_ca().await?;
    let key = root_ca_key(home, &ca, "create profile versions")?;
    Ok((ca, key))
}

/// The label of a version's key in its token or KMS.
fn key_label(version: &VersionRef) -> String {
    format!("signer {version}")
}

async fn add_issued_version(
    store: &Store,
    home: &Home,
    version: VersionRef,
    key: &NewKey,
    ca: &RootCa,
    ca_key: &Key,
    now: Timestamp,
) -> Result<VersionRecord, Error> {
    let ca_der = ca.der()?;
    let cert = crypto::issue_code_signing_cert(
        &ca_der,
        &**ca_key,
        &**key.key(),
        &version,
        now.plus_secs(-300),
        now.plus_secs(VERSION_CERT_SECS),
    )?;
    publish_version(store, home, version, &cert, &[ca_der], key, now).await
}

async fn add_own_version(
    store: &Store,
    home: &Home,
    name: &ProfileName,
    chain: Vec<Vec<u8>>,
    key: SecretKey,
    now: Timestamp,
) -> Result<VersionRecord, Error> {
    check_own_chain(&chain, &key, now)?;
    let (leaf, issuers) = chain.split_first().ok_or(ProfileError::EmptyChain)?;
    let version = VersionRef { profile: name.clone(), version: VersionId::random() };
    publish_version(store, home, version, leaf, issuers, &NewKey::file(key), now).await
}

async fn publish_version(
    store: &Store,
    home: &Home,
    version: VersionRef,
    cert: &[u8],
    issuers: &[Vec<u8>],
    key: &NewKey,
    now: Timestamp,
) -> Result<VersionRecord, Error> {
    let record = VersionRecord {
        certificate_pem: crypto::to_pem("CERTIFICATE", cert),
        chain_pem: issuers.iter().map(|c| crypto::to_pem("CERTIFICATE", c)).collect(),
        fingerprint: crypto::cert_info(cert)?.sha256_fingerprint,
        key_store: key.reference().cloned(),
        created_at: now,
        version,
    };
    // Key first: a version is only published once a worker here can sign with it.
    custody::keep(home, &KeyId::Version(record.version.clone()), key)?;
    store.create_record(&keys::profile_version(&record.version.profile, &record.version.version)?, &record).await?;
    // Then its place in the profile's order: the highest number is the current version.
    let entry = OrderEntry { version: record.version.version.clone() };
    store.create_next_record(&keys::profile_order(&record.version.profile)?, |_| entry.clone()).await?;
    Ok(record)
}

/// One entry of a profile's version order (`profiles/NAME/order/N.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderEntry {
    version: VersionId,
}

/// Adds a new version to a profile; it becomes the current one. Its key goes to
/// `key_store`, or where the profile's keys go.
pub async fn rotate(
    store: &Store,
    home: &Home,
    name: &ProfileName,
    key_store: Option<&KeyStore>,
    now: Timestamp,
) -> Result<Profile, Error> {
    let profile = profile_record(store, name).await?;
    ensure_active(store, name).await?;
    if profile.own_chain {
        return Err(ProfileError::OwnChain { name: name.clone() }.into());
    }
    let key_store = match key_store {
        Some(k) => k.clone(),
        None => profile.key_store()?,
    };
    let (ca, ca_key) = ca_with_key(store, home).await?;
    let version = VersionRef { profile: name.clone(), version: VersionId::random() };
    let key = custody::generate(&key_store, profile.platform, &key_label(&version))?;
    add_issued_version(store, home, version, &key, &ca, &ca_key, now).await?;
    show_and_head(store, name).await
}

async fn profile_record(store: &Store, name: &ProfileName) -> Result<ProfileRecord, Error> {
    store.get_record(&keys::profile(name)?).await?.ok_or_else(|| ProfileError::NotFound { name: name.clone() }.into())
}

async fn ensure_active(store: &Store, name: &ProfileName) -> Result<(), Error> {
    if store.exists(&keys::profile_canceled(name)?).await? {
        return Err(ProfileError::Canceled { name: name.clone() }.into());
    }
    Ok(())
}

/// Every version of a profile, oldest first.
pub async fn versions(store: &Store, name: &ProfileName) -> Result<Vec<VersionRecord>, Error> {
    let order = keys::profile_order(name)?;
    let mut out = Vec::new();
    for n in store.list_numbered(&order).await? {
        let Some(entry) = store.get_record::<OrderEntry>(&keys::numbered(&order, n)?).await? else {
            continue;
        };
        if let Some(v) = store.get_record::<VersionRecord>(&keys::profile_version(name, &entry.version)?).await? {
            out.push(v);
        }
    }
    Ok(out)
}

/// A profile with status and versions.
pub async fn show_profile(store: &Store, name: &ProfileName) -> Result<Profile, Error> {
    let record = profile_record(store, name).await?;
    let canceled = store.get_record::<CancelRecord>(&keys::profile_canceled(name)?).await?;
    let revocations = revocation_records(store).await?;
    let versions: Vec<VersionSummary> = versions(store, name)
        .await?
        .into_iter()
        .map(|v| VersionSummary {
            revoked_effective_at: revocations.versions.get(&v.version).copied(),
            version: v.version.version,
            created_at: v.created_at,
            certificate_sha256: v.fingerprint,
        })
        .collect();
    let current = versions.last();
    let status = match (&canceled, current) {
        (Some(_), _) => ProfileStatus::Canceled,
        (None, Some(v)) if v.revoked_effective_at.is_some() => ProfileStatus::Revoked,
        _ => ProfileStatus::Active,
    };
    Ok(Profile {
        name: record.name,
        status,
        platform: record.platform,
        signature_validity: record.signature_validity,
        sign_without_tsa: record.sign_without_tsa,
        description: record.description,
        created_at: record.created_at,
        canceled_at: canceled.map(|c| c.canceled_at),
        current_version: current.map(|v| v.version.clone()),
        versions,
    })
}

/// Every profile, by name.
pub async fn list_profiles(store: &Store, include_canceled: bool) -> Result<Vec<Profile>, Error> {
    let mut names: Vec<ProfileName> =
        store.list_keys(&keys::profiles()?).await?.iter().filter_map(keys::parse_profile).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let p = show_profile(store, &name).await?;
        if include_canceled || p.status != ProfileStatus::Canceled {
            out.push(p);
        }
    }
    Ok(out)
}

/// Cancels a profile: no new signatures; old ones stay valid; the name stays taken.
/// Canceling a canceled profile succeeds and says so (`Cancellation::already`), as
/// deleting a deleted config or layer version does.
pub async fn cancel(store: &Store, name: &ProfileName, now: Timestamp) -> Result<Cancellation, Error> {
    profile_record(store, name).await?;
    match store.create_record(&keys::profile_canceled(name)?, &CancelRecord { canceled_at: now }).await {
        Ok(()) => {
            crate::snapshots::publish(store, now).await?;
            Ok(Cancellation { profile: show_and_head(store, name).await?, already: false })
        }
        Err(StoreError::AlreadyExists { .. }) => {
            Ok(Cancellation { profile: show_profile(store, name).await?, already: true })
        }
        Err(e) => Err(e.into()),
    }
}

/// What [`cancel`] did.
#[derive(Debug, Clone)]
pub struct Cancellation {
    /// The profile, canceled.
    pub profile: Profile,
    /// Whether it was canceled already, before this call.
    pub already: bool,
}

/// What signing with a profile needs: its current version's record and key.
pub struct SigningIdentity {
    /// The version.
    pub version: VersionRecord,
    /// Its private key (in a file, a token or KMS).
    pub key: Key,
    /// Signature validity.
    pub validity: Validity,
    /// The store's time-stamping authority, if it has one.
    pub stamper: Option<std::sync::Arc<dyn crate::timestamp::Stamper>>,
}

impl SigningIdentity {
    /// The parameters of one signature made at `now`, by a job or not.
    pub fn sign_params(self, job_id: Option<JobId>, now: Timestamp) -> Result<crate::sign::SignParams, Error> {
        Ok(crate::sign::SignParams {
            chain: self.version.chain_der()?,
            version: self.version.version.clone(),
            key: self.key,
            job_id,
            signed_at: now,
            expires_at: now.plus_secs(self.validity.secs()),
            stamper: self.stamper,
        })
    }
}

/// The identity a new signature of `name` uses. Refuses canceled profiles (exit 5),
/// revoked current versions (exit 5) and unknown profiles (exit 4).
pub async fn signing_identity(store: &Store, home: &Home, name: &ProfileName) -> Result<SigningIdentity, Error> {
    let profile = show_profile(store, name).await?;
    match profile.status {
        ProfileStatus::Active => {}
        ProfileStatus::Canceled => {
            return Err(ProfileError::Canceled { name: name.clone() }.into());
        }
        ProfileStatus::Revoked => {
            return Err(ProfileError::CurrentVersionRevoked { name: name.clone() }.into());
        }
    }
    let current = profile.current_version.ok_or_else(|| ProfileError::NoVersion { name: name.clone() })?;
    let version =
        store.get_record::<VersionRecord>(&keys::profile_version(name, &current)?).await?.ok_or_else(|| {
            ProfileError::VersionMissing { version: VersionRef { profile: name.clone(), version: current } }
        })?;
    let key = signing_key(home, &version)?;
    let stamper = crate::tsa::stamper(store, profile.sign_without_tsa).await?;
    Ok(SigningIdentity { version, key, validity: profile.signature_validity, stamper })
}

/// The key of a profile version: the home's key file or reference, else the token or KMS
/// key its record names; always the key its certificate certifies.
pub fn signing_key(home: &Home, version: &VersionRecord) -> Result<Key, Error> {
    let chain = version.chain_der()?;
    let leaf = chain.first().ok_or(ProfileError::EmptyChain)?;
    let id = KeyId::Version(version.version.clone());
    custody::open_for(home, &id, version.key_store.as_ref(), leaf).map_err(|e| match e {
        custody::CustodyError::NotHere { .. } => {
            ProfileError::NoVersionKey { version: version.version.clone(), home: home.dir().to_owned() }.into()
        }
        e => e.into(),
    })
}

/// What the store trusts for a profile version, for authenticity checks; `tsa_root` is
/// the root of the TSA whose timestamps count (see [`crate::tsa::current`]).
pub async fn trusted_version(
    store: &Store,
    version: &VersionRef,
    tsa_root: Option<&[u8]>,
) -> Result<Option<TrustedVersion>, Error> {
    let Some(record) =
        store.get_record::<VersionRecord>(&keys::profile_version(&version.profile, &version.version)?).await?
    else {
        return Ok(None);
    };
    let chain = record.chain_der()?;
    let (certificate, anchor) = match (chain.first(), chain.last()) {
        (Some(c), Some(a)) => (c.clone(), a.clone()),
        _ => return Ok(None),
    };
    Ok(Some(TrustedVersion { version: record.version, certificate, anchor, tsa_root: tsa_root.map(<[u8]>::to_vec) }))
}

/// Revokes a profile version from `effective` (which must not be in the future and may
/// only move an earlier revocation earlier).
pub async fn revoke_version(
    store: &Store,
    version: &VersionRef,
    effective: Option<Timestamp>,
    reason: &str,
    now: Timestamp,
) -> Result<VersionRevocation, Error> {
    crate::jobs::REVOCATION_REASON.check(reason)?;
    let Some(record) =
        store.get_record::<VersionRecord>(&keys::profile_version(&version.profile, &version.version)?).await?
    else {
        return Err(ProfileError::NoSuchVersion { version: version.clone() }.into());
    };
    // A leaked key may have signed anything since its certificate began: revoke it all.
    let effective = match (reason == KEY_COMPROMISE, effective) {
        (true, given) => {
            let chain = record.chain_der()?;
            let start = crypto::cert_info(chain.first().ok_or(ProfileError::EmptyChain)?)?.not_before;
            given.map_or(start, |t| t.min(start))
        }
        (false, Some(t)) => t,
        (false, None) => return Err(ProfileError::NoEffectiveTime.into()),
    };
    if effective > now {
        return Err(ProfileError::FutureRevocation { effective }.into());
    }
    let current = revocation_records(store).await?.versions.get(version).copied();
    if let Some(current) = current
        && effective > current
    {
        return Err(ProfileError::RevocationLater { version: version.clone(), current }.into());
    }
    let record = VersionRevocation {
        version: version.clone(),
        effective_time: effective,
        reason: reason.to_owned(),
        revoked_at: now,
    };
    let prefix = keys::profile_revocations(&version.profile, &version.version)?;
    store.create_next_record(&prefix, |_| record.clone()).await?;
    crate::snapshots::publish(store, now).await?;
    show_and_head(store, &version.profile).await?;
    Ok(record)
}

/// Revokes one job's signature. Irreversible; a second revocation is a conflict.
pub async fn revoke_job(store: &Store, job: &JobId, reason: &str, now: Timestamp) -> Result<JobRevocation, Error> {
    let record = JobRevocation { job_id: job.clone(), reason: reason.to_owned(), revoked_at: now };
    match store.create_record(&keys::job_revocation(job)?, &record).await {
        Ok(()) => {
            crate::snapshots::publish(store, now).await?;
            Ok(record)
        }
        Err(StoreError::AlreadyExists { .. }) => Err(ProfileError::JobAlreadyRevoked { job: job.clone() }.into()),
        Err(e) => Err(e.into()),
    }
}

/// Everything a verifier counts as revoked: the revocation records, and the profiles'
/// cancellations (a signature dated after its profile's cancellation fails the revocation
/// check like one made after a version's revocation).
pub async fn revocations(store: &Store) -> Result<Revocations, Error> {
    let mut out = revocation_records(store).await?;
    for key in store.list_keys(&keys::profiles()?).await? {
        if let Some(name) = keys::parse_profile_canceled(&key)
            && let Some(c) = store.get_record::<CancelRecord>(&key).await?
        {
            out.canceled.insert(name, c.canceled_at);
        }
    }
    Ok(out)
}

/// The revocation records alone: per version the earliest effective time, and the
/// revoked job signatures. What a profile's own status needs (its cancellation is its
/// own record), without listing every profile.
async fn revocation_records(store: &Store) -> Result<Revocations, Error> {
    let mut out = Revocations::default();
    for key in store.list_keys(&keys::revocations()?).await? {
        match keys::parse_revocation(&key) {
            Some(keys::RevocationKey::Version) => {
                if let Some(r) = store.get_record::<VersionRevocation>(&key).await? {
                    let e = out.versions.entry(r.version).or_insert(r.effective_time);
                    *e = (*e).min(r.effective_time);
                }
            }
            Some(keys::RevocationKey::Job) => {
                if let Some(r) = store.get_record::<JobRevocation>(&key).await? {
                    out.jobs.insert(r.job_id, r.reason);
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// A memory store with its root CA, trusting it, and the home that pins it and holds its
/// key (keep the folder alive as long as the store).
#[cfg(test)]
pub(crate) async fn test_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::open(dir.path()).unwrap();
    let store = Store::open("memory://")
        .unwrap()
        .trusting(crate::store::PinSource::Home(dir.path().to_owned()), Some(home.clone()));
    init(&store, &home, Timestamp::from_unix(1_700_000_000), InitOptions::default()).await.unwrap();
    (store, dir)
}
