//! Access keys for `signer serve` (issue 17, point 3): an id and a secret that clients
//! sign requests with (AWS Signature Version 4), kept in the server's home only — never in
//! the store, never in a log. The secret is shown once, when the key is created.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::home::{Home, HomeError};
use crate::model::{AccessKeyName, Timestamp};

/// An access key as the home keeps it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    name: AccessKeyName,
    access_key_id: String,
    secret_access_key: String,
    access: Access,
    created_at: Timestamp,
}

/// What requests signed with a key may do on `signer serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Describe, list and get; never change anything.
    ReadOnly,
    /// Read, and start signing jobs with the profiles whose permissions name the key
    /// (`signer profile permission add`), revoke their signatures.
    Sign,
    /// Everything: create and change profiles, layers and code-signing configs, and grant
    /// the profile permissions.
    Admin,
}

impl Access {
    /// The name records and output use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::Sign => "sign",
            Self::Admin => "admin",
        }
    }
}

/// An access key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKey {
    /// Its name.
    pub name: AccessKeyName,
    /// The id clients send (`AWS_ACCESS_KEY_ID`): `SGNR` and 16 letters and digits.
    pub access_key_id: String,
    /// What it may do.
    pub access: Access,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A new access key and its secret, which nothing shows again.
pub struct Created {
    /// The key.
    pub key: AccessKey,
    /// The secret (`AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Zeroizing<String>,
}

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters of `alphabet` (its length a power of two), from the system's CSPRNG.
fn random_text(alphabet: &[u8], len: usize) -> Result<String, Error> {
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Internal("the system's random generator failed".into()))?;
    let mask = alphabet.len() - 1;
    Ok(bytes.iter().filter_map(|b| alphabet.get(usize::from(*b) & mask)).map(|c| char::from(*c)).collect())
}

/// Creates an access key named `name` (a name in use is [`HomeError::AlreadyExists`]).
pub fn create(home: &Home, name: &AccessKeyName, access: Access, now: Timestamp) -> Result<Created, Error> {
    let record = Record {
        name: name.clone(),
        access_key_id: format!("SGNR{}", random_text(ID_ALPHABET, 16)?),
        secret_access_key: random_text(SECRET_ALPHABET, 40)?,
        access,
        created_at: now,
    };
    let json = Zeroizing::new(serde_json::to_string(&record).map_err(|e| Error::Internal(e.to_string()))?);
    home.write_access_key(name, &json)?;
    Ok(Created { key: summary(&record), secret_access_key: Zeroizing::new(record.secret_access_key.clone()) })
}

fn summary(r: &Record) -> AccessKey {
    AccessKey {
        name: r.name.clone(),
        access_key_id: r.access_key_id.clone(),
        access: r.access,
        created_at: r.created_at,
    }
}

fn records(home: &Home) -> Result<Vec<Record>, Error> {
    home.access_keys()?
        .into_iter()
        .map(|(_, path, bytes)| {
            serde_json::from_slice::<Record>(&bytes)
                .map_err(|_| Error::from(HomeError::NotAKeyFile { path, what: "not an access key record" }))
        })
        .collect()
}

/// Every access key, by name, without secrets.
pub fn list(home: &Home) -> Result<Vec<AccessKey>, Error> {
    Ok(records(home)?.iter().map(summary).collect())
}

/// Deletes an access key: requests signed with it are refused from then on. `false` if
/// there was none.
pub fn delete(home: &Home, name: &AccessKeyName) -> Result<bool, Error> {
    Ok(home.delete_access_key(name)?)
}

/// The home's access keys as `signer serve` looks them up: read once, and again only when
/// the home's key folder changed (a key created or deleted), so a request costs one
/// `stat` instead of reading every key file, and a deleted key is refused at once.
pub struct Keyring {
    home: Home,
    cached: std::sync::Mutex<Cached>,
}

/// How recent a change of the key folder makes the keyring read it at every lookup.
const RECENT_SECS: i64 = 2;

#[derive(Default)]
struct Cached {
    changed_at: Option<std::time::SystemTime>,
    loaded: bool,
    by_id: std::collections::HashMap<String, Record>,
}

impl Keyring {
    /// A keyring over `home`'s access keys (read at the first lookup).
    pub fn new(home: Home) -> Self {
        Self { home, cached: std::sync::Mutex::new(Cached::default()) }
    }

    /// The key with `access_key_id` and its secret, for verifying a request.
    pub fn find(&self, access_key_id: &str) -> Result<Option<(AccessKey, Zeroizing<String>)>, Error> {
        let mut cached = self.cached.lock().map_err(|_| Error::Internal("the access-key cache is poisoned".into()))?;
        let changed_at = self.home.access_keys_changed_at();
        // A folder changed in the last seconds may change again within the same tick of
        // the file system's clock, which the time would not show: read it again.
        let recent = changed_at.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).is_none_or(|t| {
            i64::try_from(t.as_secs()).map_or(true, |secs| crate::clock::now().unix() - secs < RECENT_SECS)
        });
        if !cached.loaded || cached.changed_at != changed_at || recent {
            let by_id = records(&self.home)?.into_iter().map(|r| (r.access_key_id.clone(), r)).collect();
            *cached = Cached { changed_at, loaded: true, by_id };
        }
        Ok(cached.by_id.get(access_key_id).map(|r| (summary(r), Zeroizing::new(r.secret_access_key.clone()))))
    }
}
