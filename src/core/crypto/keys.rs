//! Key pairs and signatures.
//!
//! Signatures are fixed-size raw bytes: ECDSA `r || s` (each scalar big-endian, padded to
//! the curve's order length) and the 64 Ed25519 bytes. ECDSA signatures are malleable —
//! `(r, n - s)` verifies whenever `(r, s)` does — so [`SecretKey::sign`] always emits the
//! low-S form (`s <= n/2`) and [`verify_signature`] refuses the other one: every message
//! has exactly one accepted signature per nonce, as Bitcoin's BIP 62 and libsecp256k1 do.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as ring_sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use super::{CryptoError, SigningKey};
use crate::model::Platform;

/// The order `n` of the P-256 group (SEC 2 v2, §2.4.2), big-endian.
const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, //
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// The order `n` of the P-384 group (SEC 2 v2, §2.5.1), big-endian.
const P384_ORDER: [u8; 48] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, //
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF, //
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73,
];

/// The longest curve order handled (P-384), sizing the scratch buffers.
const MAX_ORDER_LEN: usize = 48;

/// Length of an Ed25519 signature (RFC 8032 §5.1.6).
const ED25519_SIG_LEN: usize = 64;

/// DER SubjectPublicKeyInfo up to the key bits, for an uncompressed P-256 point
/// (RFC 5480 §2: id-ecPublicKey with namedCurve secp256r1; BIT STRING of 66 bytes).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, //
    0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// DER SubjectPublicKeyInfo up to the key bits, for an uncompressed P-384 point
/// (RFC 5480 §2: id-ecPublicKey with namedCurve secp384r1; BIT STRING of 98 bytes).
const P384_SPKI_PREFIX: [u8; 23] = [
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x05, 0x2B, //
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
];

/// DER SubjectPublicKeyInfo up to the key bits, for Ed25519 (RFC 8410 §4: id-Ed25519, no
/// parameters; BIT STRING of 33 bytes).
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00];

/// PKCS#8 v1 of an Ed25519 key up to its 32-byte seed (RFC 8410 §7):
/// `SEQUENCE { INTEGER 0, SEQUENCE { id-Ed25519 }, OCTET STRING { OCTET STRING seed } }`.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// An Ed25519 private key: 32 random bytes (RFC 8032 §5.1.5).
const ED25519_SEED_LEN: usize = 32;

/// The public key lengths: uncompressed points (`04 || X || Y`) and Ed25519's 32 bytes.
const P256_POINT_LEN: usize = 65;
const P384_POINT_LEN: usize = 97;
const ED25519_PUBLIC_LEN: usize = 32;

/// What ring's `KeyRejected` says when a PKCS#8 key is of another algorithm.
const RING_WRONG_ALGORITHM: &str = "WrongAlgorithm";

/// What ring's `KeyRejected` says when the DER does not parse.
const RING_INVALID_ENCODING: &str = "InvalidEncoding";

/// The message for a key of an algorithm signer does not sign with.
const ONLY_SUPPORTED_KEYS: &str = "signer uses only PKCS#8 ECDSA P-256/P-384 or Ed25519 keys; generate one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384` (or `-algorithm ed25519`)";

/// A private key: the platform, its PKCS#8 DER (zeroized on drop) and the parsed key pair.
///
/// It has no `Debug`, `Display`, `Clone` or `Serialize` on purpose: nothing can print or
/// copy it by accident. Write it out only through [`SecretKey::pkcs8_der`] or
/// [`SecretKey::to_pkcs8_pem`], to an owner-only file.
pub struct SecretKey {
    platform: Platform,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Pair,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SecretKey {
    /// A fresh key for `platform` from the system's secure random source.
    pub fn generate(platform: Platform) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let der = match platform {
            Platform::EcdsaP256Sha256 | Platform::EcdsaP384Sha384 => {
                let alg = if platform == Platform::EcdsaP256Sha256 {
                    &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|_| CryptoError::Rng)?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            // ring writes Ed25519 keys as PKCS#8 v2 (RFC 5958, public key included), which
            // OpenSSL 3.0 cannot read; the v1 form (RFC 8410 §7) is the prefix and the
            // 32-byte random seed that is the whole private key (RFC 8032 §5.1.5).
            Platform::Ed25519 => {
                let mut der = Zeroizing::new(Vec::with_capacity(ED25519_PKCS8_V1_PREFIX.len() + ED25519_SEED_LEN));
                der.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
                der.resize(ED25519_PKCS8_V1_PREFIX.len() + ED25519_SEED_LEN, 0);
                let seed = der.get_mut(ED25519_PKCS8_V1_PREFIX.len()..).ok_or(CryptoError::Rng)?;
                rng.fill(seed).map_err(|_| CryptoError::Rng)?;
                der
            }
        };
        Self::from_pkcs8_as(platform, der, &rng).map_err(|_| CryptoError::Rng)
    }

    /// Reads an unencrypted PKCS#8 private key (DER), detecting the platform from its
    /// algorithm: ECDSA P-256, ECDSA P-384 or Ed25519 (PKCS#8 v1 or v2). Anything else is
    /// refused.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        // ring checks the whole AlgorithmIdentifier (curve included) before the key, so
        // "WrongAlgorithm" from all three means a key of another type, and an error past
        // that point names the platform whose key is broken.
        let mut all_wrong_algorithm = true;
        let mut broken = None;
        for platform in Platform::ALL {
            match Self::from_pkcs8_as(platform, Zeroizing::new(der.to_vec()), &rng) {
                Ok(key) => return Ok(key),
                Err(e) => {
                    let e = e.to_string();
                    if e != RING_WRONG_ALGORITHM {
                        all_wrong_algorithm = false;
                    }
                    if e != RING_WRONG_ALGORITHM && e != RING_INVALID_ENCODING && broken.is_none() {
                        broken = Some((platform, e));
                    }
                }
            }
        }
        Err(match broken {
            Some((platform, e)) => CryptoError::key(format!(
                "the {platform} PKCS#8 key is inconsistent or of an unsupported form ({e}); export it again as unencrypted PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`"
            )),
            None if all_wrong_algorithm => CryptoError::UnsupportedAlgorithm { what: ONLY_SUPPORTED_KEYS.to_owned() },
            None => CryptoError::key(
                "not an unencrypted PKCS#8 private key (malformed DER); export it with `openssl pkcs8 -topk8 -nocrypt`",
            ),
        })
    }

    /// Reads a PEM `-----BEGIN PRIVATE KEY-----` (unencrypted PKCS#8) file. Other forms
    /// (`EC PRIVATE KEY`, `RSA PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, OpenSSH) are refused
    /// with the command that converts them.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CryptoError> {
        let der = super::pem::decode_private_key(pem)?;
        Self::from_pkcs8(&der)
    }

    /// The platform this key signs for.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The PKCS#8 DER, to write to an owner-only key file.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The PKCS#8 PEM (`PRIVATE KEY`), zeroized on drop, to write to an owner-only key file;
    /// `openssl pkey -in FILE` reads it.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(super::pem::to_pem("PRIVATE KEY", &self.pkcs8))
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        let point = match &self.pair {
            Pair::Ecdsa(p) => p.public_key().as_ref(),
            Pair::Ed25519(p) => p.public_key().as_ref(),
        };
        [spki_prefix(self.platform), point].concat()
    }

    /// Signs `msg` (hashed with the platform's digest for ECDSA; Ed25519 is pure) and
    /// returns the fixed-size raw signature: ECDSA `r || s` (64 bytes on P-256, 96 on
    /// P-384) with `s` normalised to the low half of the group order, or 64 Ed25519 bytes.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(msg).as_ref().to_vec()),
            Pair::Ecdsa(p) => {
                let sig = p.sign(&SystemRandom::new(), msg).map_err(|_| CryptoError::Rng)?;
                to_low_s(self.platform, sig.as_ref().to_vec()).map_err(|_| CryptoError::Rng)
            }
        }
    }

    fn from_pkcs8_as(
        platform: Platform,
        der: Zeroizing<Vec<u8>>,
        rng: &dyn SecureRandom,
    ) -> Result<Self, ring::error::KeyRejected> {
        let pair = match platform {
            Platform::EcdsaP256Sha256 => {
                Pair::Ecdsa(EcdsaKeyPair::from_pkcs8(&ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING, &der, rng)?)
            }
            Platform::EcdsaP384Sha384 => {
                Pair::Ecdsa(EcdsaKeyPair::from_pkcs8(&ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING, &der, rng)?)
            }
            // v1 files (OpenSSL's default) carry no public key; it is derived.
            Platform::Ed25519 => Pair::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)?),
        };
        Ok(Self { platform, pkcs8: der, pair })
    }
}

impl SigningKey for SecretKey {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn public_key_spki_der(&self) -> Vec<u8> {
        SecretKey::public_key_spki_der(self)
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        SecretKey::sign(self, msg)
    }
}

/// The length of a raw signature on `platform`: 64 (P-256), 96 (P-384) or 64 (Ed25519).
pub fn signature_len(platform: Platform) -> usize {
    match ecdsa_order(platform) {
        Some(order) => 2 * order.len(),
        None => ED25519_SIG_LEN,
    }
}

/// Verifies a raw signature (see [`SecretKey::sign`]) over `msg` with the public key
/// `spki_der`, which must be of `platform`'s type.
///
/// Refused: a signature of the wrong length, a high-S ECDSA signature (the malleable
/// twin of a valid one), and a key of another type than `platform`.
pub fn verify_signature(platform: Platform, spki_der: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let (key_platform, public) = spki_parts(spki_der)?;
    if key_platform != platform {
        return Err(CryptoError::PlatformMismatch { expected: platform, found: key_platform.as_str() });
    }
    if sig.len() != signature_len(platform) {
        return Err(CryptoError::BadSignature);
    }
    if let Some(order) = ecdsa_order(platform) {
        let (_, s) = sig.split_at(order.len());
        if is_high_s(order, s) {
            return Err(CryptoError::BadSignature);
        }
    }
    let alg: &dyn ring_sig::VerificationAlgorithm = match platform {
        Platform::EcdsaP256Sha256 => &ring_sig::ECDSA_P256_SHA256_FIXED,
        Platform::EcdsaP384Sha384 => &ring_sig::ECDSA_P384_SHA384_FIXED,
        Platform::Ed25519 => &ring_sig::ED25519,
    };
    ring_sig::UnparsedPublicKey::new(alg, public).verify(msg, sig).map_err(|_| CryptoError::BadSignature)
}

/// A raw signature in the form other tools read: for ECDSA the ASN.1 DER
/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3) that
/// `openssl dgst -verify` takes; for Ed25519 the 64 raw bytes unchanged (RFC 8032), as
/// `openssl pkeyutl -verify -rawin` takes them.
pub fn signature_to_der(platform: Platform, raw: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if raw.len() != signature_len(platform) {
        return Err(CryptoError::BadSignature);
    }
    let Some(order) = ecdsa_order(platform) else {
        return Ok(raw.to_vec());
    };
    let (r, s) = raw.split_at(order.len());
    let mut body = Vec::with_capacity(raw.len() + 6);
    der_unsigned_integer(r, &mut body)?;
    der_unsigned_integer(s, &mut body)?;
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(DER_SEQUENCE);
    out.push(der_short_len(body.len())?);
    out.extend_from_slice(&body);
    Ok(out)
}

/// The raw signature (see [`SecretKey::sign`]) of an ECDSA `Ecdsa-Sig-Value` in DER
/// (RFC 3279 §2.2.3), as a KMS returns it: `r` and `s` left-padded to the order's length,
/// `s` moved to the low half. Refused: anything but one SEQUENCE of two positive INTEGERs
/// below the group order (read with the `der` crate), and any Ed25519 platform.
pub fn signature_from_der(platform: Platform, der_sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use der::{Decode as _, Reader as _};

    let order = ecdsa_order(platform).ok_or(CryptoError::BadSignature)?;
    let mut reader = der::SliceReader::new(der_sig).map_err(|_| CryptoError::BadSignature)?;
    let (r, s) = reader
        .sequence(|seq| Ok((der::asn1::UintRef::decode(seq)?, der::asn1::UintRef::decode(seq)?)))
        .map_err(|_| CryptoError::BadSignature)?;
    reader.finish(()).map_err(|_| CryptoError::BadSignature)?;
    let mut raw = vec![0u8; 2 * order.len()];
    for (scalar, out) in [(r, 0), (s, order.len())] {
        let digits = scalar.as_bytes();
        let end = out + order.len();
        let slot = end.checked_sub(digits.len()).filter(|&start| start >= out).ok_or(CryptoError::BadSignature)?;
        raw.get_mut(slot..end).ok_or(CryptoError::BadSignature)?.copy_from_slice(digits);
        let scalar = raw.get(out..end).ok_or(CryptoError::BadSignature)?;
        if scalar.iter().all(|&b| b == 0) || scalar >= order {
            return Err(CryptoError::BadSignature);
        }
    }
    to_low_s(platform, raw)
}

/// A fixed-size raw signature with `s` moved to the low half of the group order (ECDSA;
/// Ed25519 signatures pass unchanged), as a token's `r || s` must be before it is used.
/// Refused: a signature of the wrong length, and an `s` of zero or not below the order.
pub fn to_low_s(platform: Platform, mut raw: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    if raw.len() != signature_len(platform) {
        return Err(CryptoError::BadSignature);
    }
    if let Some(order) = ecdsa_order(platform) {
        let (_, s) = raw.split_at_mut(order.len());
        if s.iter().all(|&b| b == 0) {
            return Err(CryptoError::BadSignature);
        }
        normalize_low_s(order, s).map_err(|_| CryptoError::BadSignature)?;
    }
    Ok(raw)
}

/// The digest an ECDSA platform signs (SHA-256 or SHA-384 of `msg`); `None` for Ed25519,
/// which signs the message itself. For keys that are handed a digest (PKCS#11 `CKM_ECDSA`,
/// a KMS `DIGEST` request).
pub fn ecdsa_digest(platform: Platform, msg: &[u8]) -> Option<Vec<u8>> {
    let alg = match platform {
        Platform::EcdsaP256Sha256 => &ring::digest::SHA256,
        Platform::EcdsaP384Sha384 => &ring::digest::SHA384,
        Platform::Ed25519 => return None,
    };
    Some(ring::digest::digest(alg, msg).as_ref().to_vec())
}

/// The DER SubjectPublicKeyInfo of a public key given as its bits (an uncompressed EC
/// point `04 || X || Y`, or the 32 Ed25519 bytes), as a token stores it. Refused: bits of
/// another length or form than `platform`'s.
pub fn spki_from_public(platform: Platform, public: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let spki = [spki_prefix(platform), public].concat();
    match spki_parts(&spki)? {
        (found, _) if found == platform => Ok(spki),
        (found, _) => Err(CryptoError::PlatformMismatch { expected: platform, found: found.as_str() }),
    }
}

/// The DER SubjectPublicKeyInfo up to the key bits, per platform.
fn spki_prefix(platform: Platform) -> &'static [u8] {
    match platform {
        Platform::EcdsaP256Sha256 => &P256_SPKI_PREFIX,
        Platform::EcdsaP384Sha384 => &P384_SPKI_PREFIX,
        Platform::Ed25519 => &ED25519_SPKI_PREFIX,
    }
}

/// The platform of a DER SubjectPublicKeyInfo's key (refused if signer cannot verify with it).
pub fn spki_platform(spki_der: &[u8]) -> Result<Platform, CryptoError> {
    Ok(spki_parts(spki_der)?.0)
}

/// Splits a DER SubjectPublicKeyInfo into the platform of its key and the key bits.
///
/// Only the one DER encoding of each supported key type is accepted: named curves with
/// uncompressed points, and Ed25519 without parameters (ring verifies nothing else).
pub(crate) fn spki_parts(spki_der: &[u8]) -> Result<(Platform, &[u8]), CryptoError> {
    let forms: [(Platform, &[u8], usize); 3] = [
        (Platform::EcdsaP256Sha256, &P256_SPKI_PREFIX, P256_POINT_LEN),
        (Platform::EcdsaP384Sha384, &P384_SPKI_PREFIX, P384_POINT_LEN),
        (Platform::Ed25519, &ED25519_SPKI_PREFIX, ED25519_PUBLIC_LEN),
    ];
    for (platform, prefix, key_len) in forms {
        if let Some(key) = spki_der.strip_prefix(prefix) {
            if key.len() == key_len && (platform == Platform::Ed25519 || key.first() == Some(&0x04)) {
                return Ok((platform, key));
            }
            return Err(CryptoError::key(format!(
                "the {platform} public key is not in its DER form (uncompressed point, nothing after it)"
            )));
        }
    }
    Err(CryptoError::UnsupportedAlgorithm {
        what: format!("the public key is {}; {ONLY_SUPPORTED_KEYS}", describe_spki(spki_der)),
    })
}

/// Names the key type of an unsupported SubjectPublicKeyInfo, for error messages.
fn describe_spki(spki_der: &[u8]) -> String {
    use x509_parser::oid_registry as oids;
    use x509_parser::prelude::FromDer;

    let Ok((_, spki)) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der) else {
        return "not a DER SubjectPublicKeyInfo".to_owned();
    };
    let alg = &spki.algorithm.algorithm;
    if *alg == oids::OID_PKCS1_RSAENCRYPTION {
        return "RSA".to_owned();
    }
    if *alg == oids::OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) => format!("an EC key on curve {c}"),
            None => "an EC key with explicit or missing curve parameters".to_owned(),
        };
    }
    format!("of algorithm {alg}")
}

/// The group order of an ECDSA platform; `None` for Ed25519.
fn ecdsa_order(platform: Platform) -> Option<&'static [u8]> {
    match platform {
        Platform::EcdsaP256Sha256 => Some(&P256_ORDER),
        Platform::EcdsaP384Sha384 => Some(&P384_ORDER),
        Platform::Ed25519 => None,
    }
}

/// Replaces `s` by `n - s` when `s > n/2`; fails when `s >= n` (callers refuse `s = 0`).
fn normalize_low_s(order: &[u8], s: &mut [u8]) -> Result<(), CryptoError> {
    let mut flipped = [0u8; MAX_ORDER_LEN];
    let flipped = flipped.get_mut(..order.len()).ok_or(CryptoError::Rng)?;
    if !sub_be(order, s, flipped) {
        return Err(CryptoError::Rng);
    }
    // n is odd, so n - s == s never happens: exactly one of s, n - s is below n/2.
    if *flipped < *s {
        s.copy_from_slice(flipped);
    }
    Ok(())
}

/// Whether `s` is in the upper half of `[1, n)` or out of range (`s >= n`): the forms
/// [`verify_signature`] refuses.
fn is_high_s(order: &[u8], s: &[u8]) -> bool {
    let mut flipped = [0u8; MAX_ORDER_LEN];
    let Some(flipped) = flipped.get_mut(..order.len()) else {
        return true;
    };
    // s > n/2  ⇔  n - s < s (n odd); s >= n has no n - s and is refused too.
    !sub_be(order, s, flipped) || *flipped < *s
}

/// `out = a - b` on equal-length big-endian integers; false (and `out` unspecified) when
/// `b > a` or the lengths differ.
fn sub_be(a: &[u8], b: &[u8], out: &mut [u8]) -> bool {
    if a.len() != b.len() || a.len() != out.len() {
        return false;
    }
    let mut borrow = 0u8;
    for ((o, &x), &y) in out.iter_mut().rev().zip(a.iter().rev()).zip(b.iter().rev()) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *o = d2;
        borrow = u8::from(b1 || b2);
    }
    borrow == 0
}

const DER_SEQUENCE: u8 = 0x30;
const DER_INTEGER: u8 = 0x02;

/// Appends a non-negative big-endian integer as a minimal DER INTEGER.
fn der_unsigned_integer(be: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
    let first_nonzero = be.iter().position(|&b| b != 0).unwrap_or(be.len().saturating_sub(1));
    let digits = be.get(first_nonzero..).unwrap_or_default();
    let digits: &[u8] = if digits.is_empty() { &[0] } else { digits };
    let pad = digits.first().is_some_and(|&b| b & 0x80 != 0);
    out.push(DER_INTEGER);
    out.push(der_short_len(digits.len() + usize::from(pad))?);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
    Ok(())
}

/// A DER short-form length (< 128), which every P-256/P-384 signature fits.
fn der_short_len(len: usize) -> Result<u8, CryptoError> {
    u8::try_from(len).ok().filter(|&l| l < 0x80).ok_or(CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode as _;

    fn high_s_twin(platform: Platform, sig: &[u8]) -> Vec<u8> {
        let order = ecdsa_order(platform).unwrap();
        let (r, s) = sig.split_at(order.len());
        let mut twin_s = vec![0u8; order.len()];
        assert!(sub_be(order, s, &mut twin_s));
        [r, &twin_s].concat()
    }

    #[test]
    fn sign_and_verify_round_trip_on_every_platform() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            assert_eq!(key.platform(), platform);
            let spki = key.public_key_spki_der();
            let sig = key.sign(b"the payload").unwrap();
            assert_eq!(sig.len(), signature_len(platform), "{platform}");
            verify_signature(platform, &spki, b"the payload", &sig).unwrap();
        }
        assert_eq!(signature_len(Platform::EcdsaP256Sha256), 64);
        assert_eq!(signature_len(Platform::EcdsaP384Sha384), 96);
        assert_eq!(signature_len(Platform::Ed25519), 64);
    }

    #[test]
    fn a_flipped_byte_in_message_or_signature_fails() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let msg = b"the payload".to_vec();
            let sig = key.sign(&msg).unwrap();
            for i in 0..msg.len() {
                let mut m = msg.clone();
                m[i] ^= 0x01;
                assert!(matches!(verify_signature(platform, &spki, &m, &sig), Err(CryptoError::BadSignature)));
            }
            for i in 0..sig.len() {
                let mut s = sig.clone();
                s[i] ^= 0x01;
                assert!(
                    matches!(verify_signature(platform, &spki, &msg, &s), Err(CryptoError::BadSignature)),
                    "{platform} byte {i}"
                );
            }
        }
    }

    #[test]
    fn ecdsa_signatures_are_low_s_and_the_high_s_twin_is_refused() {
        for platform in [Platform::EcdsaP256Sha256, Platform::EcdsaP384Sha384] {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let order = ecdsa_order(platform).unwrap();
            for _ in 0..32 {
                let sig = key.sign(b"msg").unwrap();
                let (_, s) = sig.split_at(order.len());
                assert!(!is_high_s(order, s));
                let twin = high_s_twin(platform, &sig);
                // The twin is a valid ECDSA signature that ring itself accepts…
                ring_sig::UnparsedPublicKey::new(
                    if platform == Platform::EcdsaP256Sha256 {
                        &ring_sig::ECDSA_P256_SHA256_FIXED
                    } else {
                        &ring_sig::ECDSA_P384_SHA384_FIXED
                    },
                    spki_parts(&spki).unwrap().1,
                )
                .verify(b"msg", &twin)
                .unwrap();
                // …and signer refuses it.
                assert!(matches!(verify_signature(platform, &spki, b"msg", &twin), Err(CryptoError::BadSignature)));
            }
        }
    }

    #[test]
    fn low_s_normalisation_flips_exactly_the_upper_half() {
        let order = &P256_ORDER;
        // s = n - 1 is high; it becomes 1.
        let mut s = P256_ORDER;
        s[31] -= 1;
        assert!(is_high_s(order, &s));
        normalize_low_s(order, &mut s).unwrap();
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(s, one);
        assert!(!is_high_s(order, &s));
        // (n - 1) / 2 is low, (n + 1) / 2 is high.
        let mut half = [0u8; 32];
        let mut carry = 0u8;
        for (h, &n) in half.iter_mut().zip(P256_ORDER.iter()) {
            *h = (carry << 7) | (n >> 1);
            carry = n & 1;
        }
        assert!(!is_high_s(order, &half));
        half[31] += 1;
        assert!(is_high_s(order, &half));
        // s = n and s > n are out of range.
        assert!(is_high_s(order, &P256_ORDER));
        assert!(is_high_s(order, &[0xFF; 32]));
        assert!(is_high_s(&P384_ORDER, &[0xFF; 48]));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let sig = key.sign(b"m").unwrap();
            for bad in [&sig[..sig.len() - 1], &[sig.as_slice(), &[0]].concat(), &[][..]] {
                assert!(matches!(verify_signature(platform, &spki, b"m", bad), Err(CryptoError::BadSignature)));
                assert!(signature_to_der(platform, bad).is_err());
            }
        }
    }

    #[test]
    fn a_key_of_another_platform_is_refused() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let sig = key.sign(b"m").unwrap();
            for other in Platform::ALL.into_iter().filter(|&p| p != platform) {
                let e = verify_signature(other, &key.public_key_spki_der(), b"m", &sig).err().unwrap();
                assert!(matches!(e, CryptoError::PlatformMismatch { .. }), "{e}");
                assert_eq!(e.exit_code(), crate::error::exit::INVALID);
            }
        }
        assert!(matches!(
            verify_signature(Platform::Ed25519, b"\x30\x03\x02\x01\x00", b"m", &[0; 64]),
            Err(CryptoError::UnsupportedAlgorithm { .. })
        ));
    }

    #[test]
    fn spki_encoding_is_what_x509_parser_reads() {
        use x509_parser::prelude::FromDer;
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let (rest, parsed) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&spki).unwrap();
            assert!(rest.is_empty());
            let (p, bits) = spki_parts(&spki).unwrap();
            assert_eq!(p, platform);
            assert_eq!(&*parsed.subject_public_key.data, bits);
            // A trailing byte, or a compressed point, is not the DER form.
            assert!(spki_parts(&[spki.as_slice(), &[0]].concat()).is_err());
        }
    }

    #[test]
    fn pkcs8_round_trips() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let again = SecretKey::from_pkcs8(key.pkcs8_der()).unwrap();
            assert_eq!(again.platform(), platform);
            assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let from_pem = SecretKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(from_pem.public_key_spki_der(), key.public_key_spki_der());
            // Signatures of the reloaded key verify under the original public key.
            let sig = again.sign(b"x").unwrap();
            verify_signature(platform, &key.public_key_spki_der(), b"x", &sig).unwrap();
        }
    }

    #[test]
    fn ed25519_keys_are_written_as_pkcs8_v1_and_v2_files_load() {
        let key = SecretKey::generate(Platform::Ed25519).unwrap();
        assert_eq!(key.pkcs8_der().len(), 48);
        assert!(key.pkcs8_der().starts_with(&ED25519_PKCS8_V1_PREFIX));
        let v2 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let loaded = SecretKey::from_pkcs8(v2.as_ref()).unwrap();
        assert_eq!(loaded.platform(), Platform::Ed25519);
        let pair = Ed25519KeyPair::from_pkcs8(v2.as_ref()).unwrap();
        assert_eq!(spki_parts(&loaded.public_key_spki_der()).unwrap().1, pair.public_key().as_ref());
    }

    #[test]
    fn garbage_and_truncated_keys_are_refused() {
        let key = SecretKey::generate(Platform::EcdsaP384Sha384).unwrap();
        let der = key.pkcs8_der();
        for bad in [&b""[..], b"garbage", &der[..der.len() - 1], &der[1..]] {
            let e = SecretKey::from_pkcs8(bad).err().unwrap();
            assert_eq!(e.exit_code(), crate::error::exit::INVALID, "{e}");
        }
        let mut flipped = der.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01; // the public key no longer matches the private scalar
        assert!(SecretKey::from_pkcs8(&flipped).is_err());
    }

    #[test]
    fn an_rsa_pkcs8_key_is_an_unsupported_algorithm() {
        // The PKCS#8 header of an RSA key (rsaEncryption), with a dummy body: ring reads
        // the algorithm before the key.
        let rsa = [
            0x30, 0x14, 0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
            0x05, 0x00, 0x04, 0x00,
        ];
        let e = SecretKey::from_pkcs8(&rsa).err().unwrap();
        assert!(matches!(e, CryptoError::UnsupportedAlgorithm { .. }), "{e}");
        assert!(e.to_string().contains("only PKCS#8 ECDSA P-256/P-384 or Ed25519 keys"), "{e}");
    }

    #[test]
    fn errors_never_contain_key_material() {
        let key = SecretKey::generate(Platform::Ed25519).unwrap();
        let der = key.pkcs8_der();
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(der)
        };
        let mut broken = der.to_vec();
        broken.truncate(der.len() - 3);
        let e = SecretKey::from_pkcs8(&broken).err().unwrap().to_string();
        assert!(!e.contains(&hex::encode(&der[16..])) && !e.contains(&b64[20..]), "{e}");
    }

    #[test]
    fn der_signatures_from_a_kms_come_back_raw_and_low_s() {
        for platform in [Platform::EcdsaP256Sha256, Platform::EcdsaP384Sha384] {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let sig = key.sign(b"m").unwrap();
            // The low-S form round-trips; its high-S twin (as a KMS may return) comes back low.
            assert_eq!(signature_from_der(platform, &signature_to_der(platform, &sig).unwrap()).unwrap(), sig);
            let twin = signature_to_der(platform, &high_s_twin(platform, &sig)).unwrap();
            assert_eq!(signature_from_der(platform, &twin).unwrap(), sig, "{platform}");
            // A short r (a zero first byte and no sign padding: 1 in 512 signatures) is
            // padded back to full width.
            let short = (0..20_000)
                .map(|_| key.sign(b"m").unwrap())
                .find(|s| s[0] == 0 && s[1] < 0x80)
                .expect("a signature with a short r within 20,000");
            let der = signature_to_der(platform, &short).unwrap();
            assert!(usize::from(der[3]) < signature_len(platform) / 2, "r is encoded short");
            let raw = signature_from_der(platform, &der).unwrap();
            assert_eq!(raw, short);
            verify_signature(platform, &spki, b"m", &raw).unwrap();
        }
        let p = Platform::EcdsaP256Sha256;
        let order = ecdsa_order(p).unwrap();
        let int = |v: &[u8]| [&[0x02, u8::try_from(v.len()).unwrap()][..], v].concat();
        let seq = |body: Vec<u8>| [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat();
        let good = seq([int(&[1]), int(&[1])].concat());
        assert_eq!(signature_from_der(p, &good).unwrap().len(), 64);
        let mut n = vec![0];
        n.extend_from_slice(order);
        for bad in [
            vec![],
            [good.clone(), vec![0]].concat(),                // trailing byte
            seq([int(&[0]), int(&[1])].concat()),            // r = 0
            seq([int(&[1]), int(&[0])].concat()),            // s = 0
            seq([int(&[0xFF]), int(&[1])].concat()),         // negative r
            seq([int(&n), int(&[1])].concat()),              // r = n
            seq([int(&[1; 33]), int(&[1])].concat()),        // r wider than the order
            seq([int(&[1])].concat()),                       // one integer
            seq([int(&[1]), int(&[1]), int(&[1])].concat()), // three
        ] {
            assert!(matches!(signature_from_der(p, &bad), Err(CryptoError::BadSignature)), "{bad:02x?}");
        }
        assert!(signature_from_der(Platform::Ed25519, &good).is_err());
    }

    #[test]
    fn token_public_keys_become_the_spki_signer_writes() {
        for platform in Platform::ALL {
            let key = SecretKey::generate(platform).unwrap();
            let spki = key.public_key_spki_der();
            let (_, bits) = spki_parts(&spki).unwrap();
            assert_eq!(spki_from_public(platform, bits).unwrap(), spki);
            assert!(spki_from_public(platform, &bits[1..]).is_err());
        }
        let p256 = SecretKey::generate(Platform::EcdsaP256Sha256).unwrap().public_key_spki_der();
        let bits = spki_parts(&p256).unwrap().1;
        assert!(spki_from_public(Platform::EcdsaP384Sha384, bits).is_err());
        assert_eq!(ecdsa_digest(Platform::EcdsaP384Sha384, b"x").unwrap().len(), 48);
        assert!(ecdsa_digest(Platform::Ed25519, b"x").is_none());
    }

    #[test]
    fn der_signatures_have_minimal_integers() {
        let mut raw = vec![0u8; 64];
        raw[31] = 0x01; // r = 1
        raw[32] = 0x80; // s has its top bit set: needs a 0x00 pad
        let der = signature_to_der(Platform::EcdsaP256Sha256, &raw).unwrap();
        let mut expected = vec![0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00];
        expected.extend_from_slice(&raw[32..]);
        assert_eq!(der, expected);
        // A real signature's DER form verifies with ring's ASN.1 verifier.
        for (platform, alg) in [
            (Platform::EcdsaP256Sha256, &ring_sig::ECDSA_P256_SHA256_ASN1),
            (Platform::EcdsaP384Sha384, &ring_sig::ECDSA_P384_SHA384_ASN1),
        ] {
            let key = SecretKey::generate(platform).unwrap();
            let sig = key.sign(b"m").unwrap();
            let der = signature_to_der(platform, &sig).unwrap();
            let spki = key.public_key_spki_der();
            ring_sig::UnparsedPublicKey::new(alg, spki_parts(&spki).unwrap().1).verify(b"m", &der).unwrap();
        }
        let ed = SecretKey::generate(Platform::Ed25519).unwrap().sign(b"m").unwrap();
        assert_eq!(signature_to_der(Platform::Ed25519, &ed).unwrap(), ed);
    }
}
