//! Trust records in the store: read through the pinned root, written sealed by the root
//! key (the envelope is [`crate::trust`]'s).
//!
//! A store is opened plain; [`Store::trusting`] gives it the pin to read trust records with
//! and the home whose root key seals new ones. The pin is resolved against the store's
//! `ca/root.json` once per opened store, on first use.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::{Key, MAX_JSON_BYTES, Store, StoreError, keys};
use crate::custody;
use crate::home::{self, Home, KeyId};
use crate::model::AdminName;
use crate::trust::{self, AdminRecord, Opener, Pin, Root, RootCa, Sealer, SignedBy, TrustError, Untrusted};

/// Where the pinned root comes from.
#[derive(Debug, Clone)]
pub enum PinSource {
    /// Given (`--trust-root`, `SIGNER_TRUST_ROOT`).
    Given(Pin),
    /// The home at this directory (`trust/root.pem`), read when first needed, so a store
    /// opened before `signer init` pinned the root still finds it.
    Home(PathBuf),
}

impl PinSource {
    /// The pin: as given, or read from the home ([`TrustError::NoPin`] if it has none).
    pub fn pin(&self) -> Result<Pin, StoreError> {
        match self {
            Self::Given(pin) => Ok(pin.clone()),
            Self::Home(dir) => match home::read_pin(dir)? {
                Some(pem) => Ok(Pin::from_pem(&pem)?),
                None => Err(TrustError::NoPin { home: dir.display().to_string() }.into()),
            },
        }
    }
}

/// The pin and the sealing home of a [`Store`].
#[derive(Debug)]
pub(super) struct Trusting {
    pin: PinSource,
    sealer: Option<Home>,
    root: OnceCell<Root>,
    /// Administrators revoked by a snapshot this verifier read.
    revoked_admins: Mutex<BTreeSet<AdminName>>,
}

/// The key prefixes under which every object is a trust record.
fn record_prefixes() -> Result<[Key; 7], StoreError> {
    Ok([
        keys::profiles()?,
        keys::revocations()?,
        keys::cscs()?,
        keys::layers()?,
        keys::snapshots()?,
        keys::admins()?,
        keys::config()?,
    ])
}

impl Store {
    /// This store, reading trust records with the root `pin` names and sealing new ones
    /// with the root key of `sealer` (a home where `signer init` ran; `None` for readers).
    pub fn trusting(mut self, pin: PinSource, sealer: Option<Home>) -> Self {
        self.trust = Some(Arc::new(Trusting {
            pin,
            sealer,
            root: OnceCell::new(),
            revoked_admins: Mutex::new(BTreeSet::new()),
        }));
        self
    }

    /// The pin and sealing home, or [`TrustError::NoPin`] for a store opened plain.
    fn trust_state(&self) -> Result<&Trusting, TrustError> {
        self.trust.as_deref().ok_or(TrustError::NoPin { home: "(none given)".into() })
    }

    /// This store, trusting the root `home` pins and sealing with its root key: what a
    /// program running where `signer init` ran uses.
    pub fn trusting_home(self, home: &Home) -> Self {
        self.trusting(PinSource::Home(home.dir().to_owned()), Some(home.clone()))
    }

    /// The store's root CA record, or [`TrustError::NoStoreRoot`].
    pub async fn root_ca(&self) -> Result<RootCa, StoreError> {
        self.get_json::<RootCa>(&keys::root_ca()?)
            .await?
            .ok_or_else(|| TrustError::NoStoreRoot { store: self.url.clone() }.into())
    }

    /// The root this store's trust records are read with: the pin, which the store's
    /// `ca/root.json` must match ([`TrustError::RootMismatch`] otherwise).
    pub async fn trusted_root(&self) -> Result<&Root, StoreError> {
        let t = self.trust_state()?;
        t.root
            .get_or_try_init(|| async {
                let pin = t.pin.pin()?;
                let stored = self.root_ca().await?;
                Ok::<_, StoreError>(Root::resolve(&pin, &stored.der()?)?)
            })
            .await
    }

    /// Reads a trust record: `None` if it does not exist, [`TrustError::Untrusted`] if
    /// neither the pinned root nor an administrator it appointed sealed it for `key`.
    pub async fn get_record<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get_capped(key, MAX_JSON_BYTES).await? else {
            return Ok(None);
        };
        let opener = match trust::signed_by(key.as_str(), &bytes)? {
            SignedBy::Root => Opener::root(self.trusted_root().await?),
            // Administrators are the root's to appoint and revoke, never their own.
            SignedBy::Admin(name) if key.is_under(&keys::admins()?) => {
                return Err(TrustError::Untrusted {
                    key: key.to_string(),
                    why: Untrusted::Foreign { by: format!("admin:{name}") },
                }
                .into());
            }
            SignedBy::Admin(name) => self.admin_opener(&name).await?,
        };
        Ok(Some(trust::open(key.as_str(), &bytes, &opener)?))
    }

    /// Counts these administrators as revoked from now on, whatever the store still
    /// holds (a verifier's snapshot lists them).
    pub fn forbid_admins(&self, names: impl IntoIterator<Item = AdminName>) {
        if let Some(t) = &self.trust
            && let Ok(mut revoked) = t.revoked_admins.lock()
        {
            revoked.extend(names);
        }
    }

    /// The key that opens `name`'s seals: their root-sealed record, unless revoked.
    async fn admin_opener(&self, name: &AdminName) -> Result<Opener, StoreError> {
        let refuse = |why| TrustError::Untrusted { key: format!("admins/{name}.json"), why };
        let t = self.trust_state()?;
        let revoked = t.revoked_admins.lock().map(|r| r.contains(name)).unwrap_or(true);
        if revoked || self.exists(&keys::admin_revocation(name)?).await? {
            return Err(refuse(Untrusted::RevokedAdmin { name: name.clone() }).into());
        }
        // Sealed by the root itself: an administrator cannot appoint another.
        let key = keys::admin(name)?;
        let Some(bytes) = self.get_capped(&key, MAX_JSON_BYTES).await? else {
            return Err(refuse(Untrusted::UnknownAdmin { name: name.clone() }).into());
        };
        let record: AdminRecord = trust::open(key.as_str(), &bytes, &Opener::root(self.trusted_root().await?))?;
        if &record.name != name {
            return Err(refuse(Untrusted::Misplaced { sealed_for: format!("admins/{}.json", record.name) }).into());
        }
        Ok(Opener::admin(&record)?)
    }

    /// Creates a trust record, sealed, if `key` does not exist yet (as [`Store::create_json`]).
    pub async fn create_record<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        let sealer = self.sealer().await?;
        self.create_bytes(key, Bytes::from(trust::seal(key.as_str(), value, &sealer)?)).await
    }

    /// Writes a trust record, sealed, replacing any previous one: only for a record that
    /// sums up others, which stay the authority (a profile's head).
    pub async fn put_record<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        let sealer = self.sealer().await?;
        self.put_bytes(key, Bytes::from(trust::seal(key.as_str(), value, &sealer)?)).await
    }

    /// Creates the next numbered trust record under `prefix`, sealed (as [`Store::create_next`]).
    pub async fn create_next_record<T: Serialize>(
        &self,
        prefix: &Key,
        value: impl Fn(u64) -> T,
    ) -> Result<u64, StoreError> {
        let sealer = self.sealer().await?;
        self.create_next_bytes(prefix, |key, n| Ok(Bytes::from(trust::seal(key.as_str(), &value(n), &sealer)?))).await
    }

    /// Seals every plain trust record (written before records were sealed), in place, and
    /// returns how many: the one migration step of a store made by an older signer. Run
    /// only by `signer init`, where the root key is, on a store whose records are known good.
    pub async fn seal_plain_records(&self) -> Result<usize, StoreError> {
        let sealer = self.sealer().await?;
        if !sealer.is_root() {
            return Err(self.no_root_key().into());
        }
        let mut sealed = 0;
        for prefix in record_prefixes()? {
            for key in self.list_keys(&prefix).await? {
                let Some(bytes) = self.get_capped(&key, MAX_JSON_BYTES).await? else {
                    continue;
                };
                if !trust::is_plain_record(&bytes) {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() })?;
                let envelope = trust::seal(key.as_str(), &value, &sealer)?;
                self.put_bytes(&key, Bytes::from(envelope)).await?;
                sealed += 1;
            }
        }
        Ok(sealed)
    }

    /// The sealing key of this store's home: the root's if it is there, else the one
    /// administrator key the home holds.
    pub async fn sealer(&self) -> Result<Sealer, StoreError> {
        let root = self.trusted_root().await?;
        let Some(home) = self.trust.as_ref().and_then(|t| t.sealer.as_ref()) else {
            return Err(self.no_root_key().into());
        };
        let root_id = KeyId::RootCa { fingerprint: root.fingerprint().to_owned() };
        if home.has_key(&root_id) {
            // Sealer::root checks the key against the root's certificate.
            return Ok(Sealer::root(root, custody::open(home, &root_id, None)?)?);
        }
        match home.admin_keys()?.as_slice() {
            [name] => Ok(Sealer::admin(name, custody::open(home, &KeyId::Admin(name.clone()), None)?)?),
            [] => Err(self.no_root_key().into()),
            several => Err(TrustError::SeveralAdminKeys {
                home: home.dir().display().to_string(),
                names: several.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            }
            .into()),
        }
    }

    fn no_root_key(&self) -> TrustError {
        let home = self.trust.as_ref().and_then(|t| t.sealer.as_ref());
        TrustError::NoRootKey {
            home: home.map_or_else(|| "(a read-only command)".to_owned(), |h| h.dir().display().to_string()),
        }
    }
}
