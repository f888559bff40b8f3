//! Keys in a PKCS#11 token, through the `cryptoki` crate.
//!
//! A key pair is generated in the token (`C_GenerateKeyPair`) with the private half
//! `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`: the token never
//! gives it out. It is found again by a random 16-byte `CKA_ID`, recorded in the URI with
//! the token's label and the object's. ECDSA signs the platform's digest (`CKM_ECDSA`,
//! raw `r || s`, moved to low S here); Ed25519 signs the message (`CKM_EDDSA`, pure).
//!
//! One module per process (`SIGNER_PKCS11_MODULE`), initialised once for OS threads; each
//! open key has its own session, logged in as the user with the configured PIN.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Encode as _;
use der::asn1::ObjectIdentifier;

use super::CustodyError;
use crate::crypto::{self, CryptoError, SigningKey};
use crate::model::Platform;

/// The curves' object identifiers, as `CKA_EC_PARAMS` names them (RFC 5480, RFC 8410).
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Bytes of a new key's `CKA_ID`.
const ID_BYTES: usize = 16;

/// The longest PIN read from a file or the environment.
const MAX_PIN_BYTES: u64 = 256;

/// The path attributes signer reads from a PKCS#11 URI (RFC 7512 §2.3); others are refused
/// rather than silently ignored.
const KNOWN: [&str; 5] = ["token", "serial", "object", "id", "type"];

/// A parsed RFC 7512 PKCS#11 URI: which token (by label, and serial when given) and,
/// for an existing key, which object (by `id`, and label when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    attrs: BTreeMap<String, Vec<u8>>,
}

impl FromStr for Pkcs11Uri {
    type Err = CustodyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| CustodyError::BadKeyStore { given: s.chars().take(80).collect(), reason };
        let rest = s.strip_prefix("pkcs11:").ok_or_else(|| bad("a PKCS#11 URI starts with pkcs11:".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if let Some(q) = query.split('&').find(|q| !q.is_empty()) {
            let name = q.split_once('=').map_or(q, |(n, _)| n);
            return Err(match name {
                "pin-value" | "pin-source" | "module-path" | "module-name" => {
                    CustodyError::PinInUri { attribute: name.to_owned() }
                }
                _ => bad(format!("unknown query attribute {name:?}")),
            });
        }
        let mut attrs = BTreeMap::new();
        for part in path.split(';').filter(|p| !p.is_empty()) {
            let (name, value) =
                part.split_once('=').ok_or_else(|| bad(format!("{part:?} is not an attribute=value pair")))?;
            if !KNOWN.contains(&name) {
                return Err(bad(format!("signer reads only the attributes {} (not {name:?})", KNOWN.join(", "))));
            }
            let value = percent_decode(value).ok_or_else(|| bad(format!("{name}: bad %-escape")))?;
            if attrs.insert(name.to_owned(), value).is_some() {
                return Err(bad(format!("{name} appears twice")));
            }
        }
        if !attrs.contains_key("token") {
            return Err(bad("name the token: pkcs11:token=LABEL".into()));
        }
        if attrs.get("type").is_some_and(|t| t.as_slice() != b"private") {
            return Err(bad("a signing key is type=private".into()));
        }
        Ok(Self { attrs })
    }
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        // The RFC's order: token attributes, then object attributes.
        let order = ["token", "serial", "object", "type", "id"];
        let mut first = true;
        for name in order {
            if let Some(value) = self.attrs.get(name) {
                if !first {
                    f.write_str(";")?;
                }
                first = false;
                write!(f, "{name}={}", percent_encode(value, name == "id"))?;
            }
        }
        Ok(())
    }
}

impl Pkcs11Uri {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.attrs.get(name).map(Vec::as_slice)
    }

    fn token(&self) -> String {
        String::from_utf8_lossy(self.get("token").unwrap_or_default()).into_owned()
    }

    fn with_object(&self, id: &[u8], label: &str) -> Self {
        let mut attrs = self.attrs.clone();
        attrs.insert("id".into(), id.to_vec());
        attrs.insert("object".into(), label.as_bytes().to_vec());
        attrs.insert("type".into(), b"private".to_vec());
        Self { attrs }
    }
}

/// `%XX` escapes (RFC 3986) to bytes; `None` on a broken escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Bytes to a URI value: unreserved characters as they are, the rest `%XX` (everything,
/// for an `id`, as RFC 7512's examples write it).
fn percent_encode(value: &[u8], all: bool) -> String {
    value
        .iter()
        .map(|&b| {
            if !all && (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Where the PKCS#11 module and the user PIN come from, as the command line found them
/// (`SIGNER_PKCS11_MODULE`, `SIGNER_PKCS11_PIN_FILE`, `SIGNER_PKCS11_PIN`).
#[derive(Default)]
pub struct Pkcs11Settings {
    /// The module (a shared library).
    pub module: Option<PathBuf>,
    /// A file holding the user PIN (owner-only); preferred to `pin`.
    pub pin_file: Option<PathBuf>,
    /// The user PIN itself.
    pub pin: Option<zeroize::Zeroizing<String>>,
}

static SETTINGS: OnceLock<Pkcs11Settings> = OnceLock::new();

/// Sets this process's PKCS#11 settings, once (the command line does, at start); later
/// calls change nothing.
pub fn configure(settings: Pkcs11Settings) {
    let _already_set = SETTINGS.set(settings);
}

fn settings() -> &'static Pkcs11Settings {
    static NONE: Pkcs11Settings = Pkcs11Settings { module: None, pin_file: None, pin: None };
    SETTINGS.get().unwrap_or(&NONE)
}

/// The process's PKCS#11 module: loaded and initialised once.
fn context() -> Result<(Pkcs11, String), CustodyError> {
    static MODULE: OnceLock<Mutex<Option<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let path = settings().module.clone().ok_or(CustodyError::NoModule)?;
    let mut slot = MODULE.get_or_init(|| Mutex::new(None)).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((loaded, ctx)) = slot.as_ref() {
        if *loaded == path {
            return Ok((ctx.clone(), path.display().to_string()));
        }
        return Err(CustodyError::Module {
            path,
            reason: format!("this process already uses the module {}; one module per process", loaded.display()),
        });
    }
    let failed = |e: CkError| CustodyError::Module { path: path.clone(), reason: e.to_string() };
    if !path.is_file() {
        return Err(CustodyError::Module { path, reason: "no such file".into() });
    }
    let ctx = Pkcs11::new(&path).map_err(failed)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(failed(e)),
    }
    *slot = Some((path.clone(), ctx.clone()));
    Ok((ctx, path.display().to_string()))
}

/// The user PIN, from the PIN file (owner-only) or the environment.
fn pin(token: &str) -> Result<AuthPin, CustodyError> {
    use std::io::Read as _;
    use std::os::unix::fs::MetadataExt as _;

    if let Some(path) = settings().pin_file.clone() {
        let bad = |reason: String| CustodyError::PinFile { path: path.clone(), reason };
        let meta = std::fs::metadata(&path).map_err(|e| bad(format!("cannot be read ({e})")))?;
        if !meta.is_file() {
            return Err(bad("is not a regular file".into()));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(bad(format!(
                "is readable by group or others (mode {:04o}); run: chmod 600 {}",
                meta.mode() & 0o7777,
                path.display()
            )));
        }
        let mut text = zeroize::Zeroizing::new(String::new());
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_PIN_BYTES).read_to_string(&mut text))
            .map_err(|e| bad(format!("cannot be read ({e})")))?;
        // The copy moves into the PIN, which zeroizes itself; the file's text is zeroized here.
        return Ok(AuthPin::new(text.trim_end_matches(['\n', '\r']).into()));
    }
    match &settings().pin {
        Some(pin) => Ok(AuthPin::new(pin.as_str().into())),
        None => Err(CustodyError::NoPin { token: token.to_owned() }),
    }
}

/// A logged-in session on the token the URI names.
fn session(uri: &Pkcs11Uri) -> Result<(Session, String), CustodyError> {
    let (ctx, module) = context()?;
    let token = uri.token();
    let failed = |action, e: CkError| CustodyError::Backend { backend: "PKCS#11", action, reason: e.to_string() };
    let slots = ctx.get_slots_with_token().map_err(|e| failed("list the token slots", e))?;
    let slot: Option<Slot> = slots.into_iter().find(|s| {
        ctx.get_token_info(*s).is_ok_and(|info| {
            info.label().trim_end() == token
                && uri.get("serial").is_none_or(|serial| info.serial_number().trim_end().as_bytes() == serial)
        })
    });
    let slot = slot.ok_or_else(|| CustodyError::NoToken { uri: uri.to_string(), module })?;
    let session = ctx.open_rw_session(slot).map_err(|e| failed("open a session", e))?;
    match session.login(UserType::User, Some(&pin(&token)?)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok((session, token)),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => Err(CustodyError::WrongPin { token }),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(CustodyError::PinLocked { token }),
        Err(e) => Err(failed("log in", e)),
    }
}

/// A private key in a token, with its session.
pub struct TokenKey {
    platform: Platform,
    spki: Vec<u8>,
    private: ObjectHandle,
    session: Mutex<Session>,
}

/// Generates a key pair for `platform` in the URI's token; returns the key and the URI
/// of its private half.
pub fn generate(
    uri: &Pkcs11Uri,
    platform: Platform,
    label: &str,
) -> Result<(Box<dyn SigningKey>, String), CustodyError> {
    let (session, _) = session(uri)?;
    let failed = |action, e: CkError| CustodyError::Backend { backend: "PKCS#11", action, reason: e.to_string() };
    let mut id = [0u8; ID_BYTES];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).map_err(|_| CryptoError::Rng)?;
    let (mechanism, curve) = match platform {
        Platform::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, P256),
        Platform::EcdsaP384Sha384 => (Mechanism::EccKeyPairGen, P384),
        Platform::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, ED25519),
    };
    let params = curve.to_der().map_err(|e| CustodyError::Backend {
        backend: "PKCS#11",
        action: "encode the curve",
        reason: e.to_string(),
    })?;
    let common = [Attribute::Token(true), Attribute::Id(id.to_vec()), Attribute::Label(label.as_bytes().to_vec())];
    let public: Vec<Attribute> =
        common.iter().cloned().chain([Attribute::Verify(true), Attribute::EcParams(params)]).collect();
    let private: Vec<Attribute> = common
        .iter()
        .cloned()
        .chain([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ])
        .collect();
    let (public, private) =
        session.generate_key_pair(&mechanism, &public, &private).map_err(|e| failed("generate a key pair", e))?;
    let spki = public_key(&session, public, platform)?;
    let key = TokenKey { platform, spki, private, session: Mutex::new(session) };
    Ok((Box::new(key), uri.with_object(&id, label).to_string()))
}

/// Opens the private key the URI names (by `id`, and `object` label when given).
pub fn open(uri: &Pkcs11Uri) -> Result<Box<dyn SigningKey>, CustodyError> {
    let (session, token) = session(uri)?;
    let failed = |action, e: CkError| CustodyError::Backend { backend: "PKCS#11", action, reason: e.to_string() };
    let mut template = Vec::new();
    if let Some(id) = uri.get("id") {
        template.push(Attribute::Id(id.to_vec()));
    }
    if let Some(label) = uri.get("object") {
        template.push(Attribute::Label(label.to_vec()));
    }
    if template.is_empty() {
        return Err(CustodyError::BadKeyStore {
            given: uri.to_string(),
            reason: "a key's URI names it by id (and object)".into(),
        });
    }
    let find = |class| {
        let mut t = template.clone();
        t.push(Attribute::Class(class));
        session.find_objects(&t).map_err(|e| failed("find the key", e))
    };
    let missing = || CustodyError::NoTokenKey { token: token.clone(), uri: uri.to_string() };
    let (private, public) =
        match (find(ObjectClass::PRIVATE_KEY)?.as_slice(), find(ObjectClass::PUBLIC_KEY)?.as_slice()) {
            ([private], [public]) => (*private, *public),
            _ => return Err(missing()),
        };
    let platform = platform_of(&session, public)?;
    let spki = public_key(&session, public, platform)?;
    Ok(Box::new(TokenKey { platform, spki, private, session: Mutex::new(session) }))
}

/// The platform of a public key object, from its curve.
fn platform_of(session: &Session, public: ObjectHandle) -> Result<Platform, CustodyError> {
    let attrs = session.get_attributes(public, &[AttributeType::EcParams]).map_err(|e| CustodyError::Backend {
        backend: "PKCS#11",
        action: "read the key's curve",
        reason: e.to_string(),
    })?;
    let params = attrs.into_iter().find_map(|a| match a {
        Attribute::EcParams(p) => Some(p),
        _ => None,
    });
    let oid = params.and_then(|p| <ObjectIdentifier as der::Decode>::from_der(&p).ok());
    match oid {
        Some(o) if o == P256 => Ok(Platform::EcdsaP256Sha256),
        Some(o) if o == P384 => Ok(Platform::EcdsaP384Sha384),
        Some(o) if o == ED25519 => Ok(Platform::Ed25519),
        _ => Err(CryptoError::UnsupportedAlgorithm {
            what: "the token's key is not on P-256, P-384 or Ed25519 (by CKA_EC_PARAMS OID)".into(),
        }
        .into()),
    }
}

/// The public key's SubjectPublicKeyInfo, from its `CKA_EC_POINT` (a DER OCTET STRING
/// holding the point, as PKCS#11 says; a bare point is accepted too).
fn public_key(session: &Session, public: ObjectHandle, platform: Platform) -> Result<Vec<u8>, CustodyError> {
    let attrs = session.get_attributes(public, &[AttributeType::EcPoint]).map_err(|e| CustodyError::Backend {
        backend: "PKCS#11",
        action: "read the public key",
        reason: e.to_string(),
    })?;
    let point = attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .ok_or_else(|| CryptoError::key("the token's public key has no CKA_EC_POINT"))?;
    let bits = match <der::asn1::OctetString as der::Decode>::from_der(&point) {
        Ok(inner) => inner.into_bytes(),
        Err(_) => point,
    };
    Ok(crypto::spki_from_public(platform, &bits)?)
}

impl SigningKey for TokenKey {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let unavailable =
            |e: CkError| CryptoError::KeyUnavailable { reason: format!("the PKCS#11 token could not sign ({e})") };
        let raw = match crypto::ecdsa_digest(self.platform, msg) {
            Some(digest) => session.sign(&Mechanism::Ecdsa, self.private, &digest).map_err(unavailable)?,
            None => session
                .sign(&Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)), self.private, msg)
                .map_err(unavailable)?,
        };
        crypto::to_low_s(self.platform, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_as_rfc_7512_writes_them() {
        let u: Pkcs11Uri = "pkcs11:token=My%20token;serial=1234;object=signer%20App%2FV;id=%01%ab".parse().unwrap();
        assert_eq!(u.token(), "My token");
        assert_eq!(u.get("id").unwrap(), &[0x01, 0xab]);
        assert_eq!(u.get("object").unwrap(), b"signer App/V");
        assert_eq!(u.to_string(), "pkcs11:token=My%20token;serial=1234;object=signer%20App%2FV;id=%01%AB");
        assert_eq!(u.to_string().parse::<Pkcs11Uri>().unwrap(), u);
        let generated = u.with_object(&[0xff, 0x00], "signer root");
        assert_eq!(generated.to_string().parse::<Pkcs11Uri>().unwrap(), generated);
    }

    #[test]
    fn pins_and_modules_never_come_from_the_uri() {
        for attr in ["pin-value=1234", "pin-source=file:/tmp/pin", "module-path=/tmp/evil.so"] {
            let e = format!("pkcs11:token=t?{attr}").parse::<Pkcs11Uri>().unwrap_err();
            assert!(matches!(e, CustodyError::PinInUri { .. }), "{attr}: {e}");
            assert!(!e.to_string().contains("1234"), "{e}");
        }
    }

    #[test]
    fn strange_uris_are_refused_with_the_reason() {
        for (bad, why) in [
            ("pkcs11:", "name the token"),
            ("pkcs11:object=x", "name the token"),
            ("pkcs11:token=t;slot-id=1", "reads only"),
            ("pkcs11:token=t;token=u", "twice"),
            ("pkcs11:token=t;id=%zz", "%-escape"),
            ("pkcs11:token=t;id=%0", "%-escape"),
            ("pkcs11:token=t;type=public", "private"),
            ("pkcs11:token", "attribute=value"),
            ("pkcs11:token=t?x=1", "unknown query"),
        ] {
            let e = bad.parse::<Pkcs11Uri>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
