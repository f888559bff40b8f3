//! Trust records in the store: read through the pinned root, written sealed by the root
//! key (the envelope is [`crate::trust`]'s).
//!
//! A store is opened plain; [`Store::trusting`] gives it the pin to read trust records with
//! and the home whose root key seals new ones. The pin is resolved against the store's
//! `ca/root.json` once per opened store, on first use.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::{Key, MAX_JSON_BYTES, Store, StoreError, keys};
use crate::crypto::SecretKey;
use crate::home::{self, Home, HomeError, KeyId};
use crate::trust::{self, Pin, Root, RootCa, TrustError};

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
}

/// The key prefixes under which every object is a trust record.
fn record_prefixes() -> Result<[Key; 5], StoreError> {
    Ok([keys::profiles()?, keys::revocations()?, keys::cscs()?, keys::layers()?, keys::snapshots()?])
}

impl Store {
    /// This store, reading trust records with the root `pin` names and sealing new ones
    /// with the root key of `sealer` (a home where `signer init` ran; `None` for readers).
    pub fn trusting(mut self, pin: PinSource, sealer: Option<Home>) -> Self {
        self.trust = Some(Arc::new(Trusting { pin, sealer, root: OnceCell::new() }));
        self
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
        let t = self.trust.as_ref().ok_or(TrustError::NoPin { home: "(none given)".into() })?;
        t.root
            .get_or_try_init(|| async {
                let pin = t.pin.pin()?;
                let stored = self.root_ca().await?;
                Ok::<_, StoreError>(Root::resolve(&pin, &stored.der()?)?)
            })
            .await
    }

    /// Reads a trust record: `None` if it does not exist, [`TrustError::Untrusted`] if the
    /// pinned root did not seal it for `key`.
    pub async fn get_record<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get_capped(key, MAX_JSON_BYTES).await? else {
            return Ok(None);
        };
        Ok(Some(trust::open(key.as_str(), &bytes, self.trusted_root().await?)?))
    }

    /// Creates a trust record, sealed, if `key` does not exist yet (as [`Store::create_json`]).
    pub async fn create_record<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        let (root, sealer) = self.sealer().await?;
        self.create_bytes(key, Bytes::from(trust::seal(key.as_str(), value, root, &sealer)?)).await
    }

    /// Creates the next numbered trust record under `prefix`, sealed (as [`Store::create_next`]).
    pub async fn create_next_record<T: Serialize>(
        &self,
        prefix: &Key,
        value: impl Fn(u64) -> T,
    ) -> Result<u64, StoreError> {
        let (root, sealer) = self.sealer().await?;
        self.create_next_bytes(prefix, |key, n| Ok(Bytes::from(trust::seal(key.as_str(), &value(n), root, &sealer)?)))
            .await
    }

    /// Seals every plain trust record (written before records were sealed), in place, and
    /// returns how many: the one migration step of a store made by an older signer. Run
    /// only by `signer init`, where the root key is, on a store whose records are known good.
    pub async fn seal_plain_records(&self) -> Result<usize, StoreError> {
        let (root, sealer) = self.sealer().await?;
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
                let envelope = trust::seal(key.as_str(), &value, root, &sealer)?;
                self.put_bytes(&key, Bytes::from(envelope)).await?;
                sealed += 1;
            }
        }
        Ok(sealed)
    }

    /// The trusted root and its key from the sealing home.
    async fn sealer(&self) -> Result<(&Root, SecretKey), StoreError> {
        let root = self.trusted_root().await?;
        let home = self.trust.as_ref().and_then(|t| t.sealer.as_ref());
        let no_key = |home: &str| TrustError::NoRootKey { home: home.to_owned() };
        let Some(home) = home else {
            return Err(no_key("(a read-only command)").into());
        };
        let der =
            home.read_key(&KeyId::RootCa { fingerprint: root.fingerprint().to_owned() }).map_err(|e| match e {
                HomeError::KeyNotFound { .. } => StoreError::from(no_key(&home.dir().display().to_string())),
                e => e.into(),
            })?;
        Ok((root, SecretKey::from_pkcs8(&der).map_err(TrustError::from)?))
    }
}
