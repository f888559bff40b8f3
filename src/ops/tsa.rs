//! The store's time-stamping authority (issue 13): `signer tsa set URL --root FILE`
//! records it, sealed (`config/tsa/<N>.json`, the highest number wins); signing asks it
//! for a timestamp of every signature, and verifiers check tokens against its root.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::error::Error;
use crate::model::Timestamp;
use crate::store::{Store, keys};
use crate::timestamp::{Stamper, TimestampError};
use crate::tsa_http::HttpStamper;

/// A TSA: where to ask, and the root its tokens must chain to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// Its URL (http or https).
    pub url: String,
    /// Its root CA certificate (PEM).
    pub root_certificate_pem: String,
    /// When it was set.
    pub set_at: Timestamp,
}

impl TsaConfig {
    /// The root CA certificate, DER.
    pub fn root_der(&self) -> Result<Vec<u8>, Error> {
        let certs = crypto::parse_pem_certs(&self.root_certificate_pem)?;
        certs.into_iter().next().ok_or_else(|| Error::Internal("a TSA record without its root".into()))
    }
}

/// Records the store's TSA (needs the root key or an administrator's).
pub async fn set(store: &Store, url: &url::Url, root_der: &[u8], now: Timestamp) -> Result<TsaConfig, Error> {
    let info = crypto::cert_info(root_der)?;
    if !info.is_ca {
        return Err(crypto::CryptoError::cert("the TSA root is not a CA certificate (basicConstraints cA)").into());
    }
    let config =
        TsaConfig { url: url.to_string(), root_certificate_pem: crypto::to_pem("CERTIFICATE", root_der), set_at: now };
    store.create_next_record(&keys::tsa_configs()?, |_| config.clone()).await?;
    Ok(config)
}

/// The store's TSA, if one was set.
pub async fn current(store: &Store) -> Result<Option<TsaConfig>, Error> {
    let prefix = keys::tsa_configs()?;
    let Some(&n) = store.list_numbered(&prefix).await?.last() else {
        return Ok(None);
    };
    Ok(store.get_record(&keys::numbered(&prefix, n)?).await?)
}

/// What signing with this store stamps with: its TSA, or none. With `without_tsa_ok`
/// (the profile's setting), a TSA that does not answer leaves the signature untimestamped
/// instead of failing it; any other failure (a refusal, a bad token) still fails it.
pub async fn stamper(store: &Store, without_tsa_ok: bool) -> Result<Option<Arc<dyn Stamper>>, Error> {
    let Some(config) = current(store).await? else {
        return Ok(None);
    };
    let http = HttpStamper::new(&config.url, config.root_der()?)?;
    let stamper: Arc<dyn Stamper> = if without_tsa_ok { Arc::new(Optional(http)) } else { Arc::new(http) };
    Ok(Some(stamper))
}

/// A stamper whose TSA may fail to answer: then the signature goes untimestamped.
struct Optional(HttpStamper);

impl Stamper for Optional {
    fn stamp(&self, signed: &[u8]) -> Result<Vec<u8>, TimestampError> {
        match self.0.stamp(signed) {
            Err(TimestampError::Unavailable { .. }) => Ok(Vec::new()),
            other => other,
        }
    }
}
