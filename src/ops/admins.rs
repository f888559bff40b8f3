//! Administrators (issue 12, point 2): keys the root appoints to seal trust records in its
//! place, so that the root key can stay offline after `signer init`.
//!
//! An administrator is `admins/<NAME>.json`, sealed by the root: their name and public key
//! (ECDSA P-384). A home holding their private key (`keys/admins/<NAME>.pk8`, and no root
//! key) seals every trust record it writes with it: layer publishes and deletions, code-
//! signing configs, revocations, cancellations, own-chain profiles, snapshots. What needs
//! the root itself stays the root's: issuing profile versions' certificates, appointing and
//! revoking administrators, and the migration. Revoking an administrator
//! (`admins/<NAME>.revoked.json`, root-sealed, carried by every later snapshot) makes
//! everything they sealed untrusted: a leaked administrator key is not believed again,
//! even for what it sealed before, since its holder could have backdated it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::crypto;
use crate::custody::{self, KeyStore};
use crate::error::Error;
use crate::home::{Home, KeyId};
use crate::model::{AdminName, Timestamp};
use crate::snapshots;
use crate::store::{Store, StoreError, keys};
use crate::trust::{AdminRecord, AdminRevocation, TrustError};

/// What can go wrong with administrators.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The name is taken (revoked names are never reused).
    #[error("an administrator named {name} exists or existed; choose another name")]
    Exists {
        /// The name.
        name: AdminName,
    },
    /// No such administrator.
    #[error("no administrator named {name}; see `signer admin list`")]
    NotFound {
        /// The name.
        name: AdminName,
    },
    /// Revoked twice.
    #[error("administrator {name} is already revoked")]
    AlreadyRevoked {
        /// The name.
        name: AdminName,
    },
    /// Appointing or revoking needs the root key itself.
    #[error("only the root appoints and revokes administrators: run this where `signer init` created the store")]
    NeedsRoot,
}

/// An administrator, as `admin list` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Admin {
    /// Name.
    pub name: AdminName,
    /// SHA-256 of their public key (DER), hex.
    pub public_key_sha256: String,
    /// When appointed.
    pub created_at: Timestamp,
    /// When revoked.
    pub revoked_at: Option<Timestamp>,
}

/// Generates an administrator key in `key_store` (a file `keys/admins/<NAME>.pk8` in
/// `home`, or a token or KMS key with its reference there; never overwritten); returns
/// its public key (PEM) for the root to appoint.
pub fn keygen(home: &Home, name: &AdminName, key_store: &KeyStore) -> Result<String, Error> {
    let key = custody::generate(key_store, crypto::ROOT_CA_PLATFORM, &format!("signer administrator {name}"))?;
    custody::keep(home, &KeyId::Admin(name.clone()), &key)?;
    Ok(crypto::to_pem("PUBLIC KEY", &key.key().public_key_spki_der()))
}

/// Appoints `name` with the public key `spki` (DER, ECDSA P-384). Needs the root key.
pub async fn appoint(store: &Store, name: &AdminName, spki: &[u8], now: Timestamp) -> Result<Admin, Error> {
    ensure_root(store).await?;
    let platform = crypto::spki_platform(spki)?;
    if platform != crypto::ROOT_CA_PLATFORM {
        return Err(crypto::CryptoError::key(format!(
            "an administrator's key is {}, not {platform}",
            crypto::ROOT_CA_PLATFORM
        ))
        .into());
    }
    let record = AdminRecord { name: name.clone(), public_key: B64.encode(spki), created_at: now };
    if store.exists(&keys::admin_revocation(name)?).await? {
        return Err(AdminError::Exists { name: name.clone() }.into());
    }
    match store.create_record(&keys::admin(name)?, &record).await {
        Ok(()) => Ok(summary(&record, None)),
        Err(StoreError::AlreadyExists { .. }) => Err(AdminError::Exists { name: name.clone() }.into()),
        Err(e) => Err(e.into()),
    }
}

/// Revokes `name`: nothing they sealed is trusted any more. Needs the root key.
pub async fn revoke(store: &Store, name: &AdminName, reason: &str, now: Timestamp) -> Result<Admin, Error> {
    crate::jobs::REVOCATION_REASON.check(reason)?;
    ensure_root(store).await?;
    let record = root_record(store, name).await?;
    let revocation = AdminRevocation { revoked_at: now, reason: reason.to_owned() };
    match store.create_record(&keys::admin_revocation(name)?, &revocation).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists { .. }) => return Err(AdminError::AlreadyRevoked { name: name.clone() }.into()),
        Err(e) => return Err(e.into()),
    }
    snapshots::publish(store, now).await?;
    Ok(summary(&record, Some(now)))
}

/// Every administrator ever appointed, by name.
pub async fn list(store: &Store) -> Result<Vec<Admin>, Error> {
    let mut out = Vec::new();
    for key in store.list_keys(&keys::admins()?).await? {
        let Some(name) = keys::parse_admin(&key) else {
            continue;
        };
        let record = root_record(store, &name).await?;
        let revoked = store.get_record::<AdminRevocation>(&keys::admin_revocation(&name)?).await?;
        out.push(summary(&record, revoked.map(|r| r.revoked_at)));
    }
    Ok(out)
}

async fn root_record(store: &Store, name: &AdminName) -> Result<AdminRecord, Error> {
    store.get_record(&keys::admin(name)?).await?.ok_or_else(|| AdminError::NotFound { name: name.clone() }.into())
}

async fn ensure_root(store: &Store) -> Result<(), Error> {
    match store.sealer().await {
        Ok(s) if s.is_root() => Ok(()),
        Ok(_) | Err(StoreError::Trust(TrustError::NoRootKey { .. })) => Err(AdminError::NeedsRoot.into()),
        Err(e) => Err(e.into()),
    }
}

fn summary(record: &AdminRecord, revoked_at: Option<Timestamp>) -> Admin {
    let spki = B64.decode(record.public_key.as_bytes()).unwrap_or_default();
    Admin {
        name: record.name.clone(),
        public_key_sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, &spki)),
        created_at: record.created_at,
        revoked_at,
    }
}
