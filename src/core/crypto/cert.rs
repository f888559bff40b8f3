//! Certificates: the store's root CA and the code-signing certificates it issues to
//! profile versions (SPEC §2), and the facts read back from any certificate.
//!
//! Certificates are built with rcgen; rcgen signs through `RcgenSigner`, an adapter over
//! this module's [`SigningKey`], so the CA key never leaves [`SecretKey`] (or, later, a
//! KMS) and rcgen never sees PKCS#8.

use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::CertificateDer;

use super::keys::spki_parts;
use super::{CryptoError, MAX_CERT_BYTES, SecretKey, SigningKey};
use crate::model::{Platform, Timestamp, VersionRef};

/// The common name of the root CA `signer init` creates.
pub const ROOT_CA_COMMON_NAME: &str = "signer root CA";

/// The organisation of every certificate signer issues.
pub const ORGANIZATION: &str = "signer";

/// The organisational unit of code-signing certificates.
pub const SIGNING_PROFILE_UNIT: &str = "signing profile";

/// The root CA's platform: ECDSA P-384.
pub const ROOT_CA_PLATFORM: Platform = Platform::EcdsaP384Sha384;

/// The root CA issues code-signing certificates directly: no intermediate CA may sit
/// below it (basicConstraints pathLenConstraint 0).
const ROOT_CA_PATH_LEN: u8 = 0;

/// The root CA is valid from an hour before its creation (clock skew between machines)…
const ROOT_CA_BACKDATE_SECS: i64 = 3_600;

/// …for 30 years of 365.25 days.
const ROOT_CA_VALIDITY_SECS: i64 = 10_957 * 86_400 + 43_200;

/// Serial numbers are 16 random bytes, positive (RFC 5280 §4.1.2.2: at most 20 octets).
const SERIAL_BYTES: usize = 16;

/// Facts about a certificate, read with x509-parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's first common name, when it has one that is a string.
    pub subject_cn: Option<String>,
    /// The subject public key as a DER SubjectPublicKeyInfo, exactly as in the certificate.
    pub spki_der: Vec<u8>,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Whether basicConstraints says cA = true.
    pub is_ca: bool,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256_fingerprint: String,
}

/// Creates the store's root CA (SPEC §2): a fresh ECDSA P-384 key and a self-signed
/// certificate, CN "signer root CA", O "signer", basicConstraints CA:true with
/// pathLenConstraint 0, keyUsage keyCertSign + cRLSign, valid from an hour before `now`
/// for 30 years, with a random serial number. Returns the certificate DER and the key.
pub fn create_root_ca(now: Timestamp) -> Result<(Vec<u8>, SecretKey), CryptoError> {
    let key = SecretKey::generate(ROOT_CA_PLATFORM)?;
    let cert = root_ca_certificate(&key, now)?;
    Ok((cert, key))
}

/// The root CA certificate of [`create_root_ca`] for a key held anywhere (a file, a
/// token, KMS), which must be ECDSA P-384; the key signs it through [`SigningKey`].
pub fn root_ca_certificate(key: &(impl SigningKey + ?Sized), now: Timestamp) -> Result<Vec<u8>, CryptoError> {
    if key.platform() != ROOT_CA_PLATFORM {
        return Err(CryptoError::key(format!("the root CA's key is {ROOT_CA_PLATFORM}, not {}", key.platform())));
    }
    let mut params = rcgen::CertificateParams::default();
    params.not_before = now.plus_secs(-ROOT_CA_BACKDATE_SECS).to_offset();
    params.not_after = now.plus_secs(ROOT_CA_VALIDITY_SECS).to_offset();
    params.serial_number = Some(random_serial()?);
    params.distinguished_name =
        name(&[(rcgen::DnType::OrganizationName, ORGANIZATION), (rcgen::DnType::CommonName, ROOT_CA_COMMON_NAME)]);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(ROOT_CA_PATH_LEN));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let signer = RcgenSigner::new(key)?;
    let cert = params.self_signed(&signer).map_err(|e| rcgen_error("could not create the root CA certificate", &e))?;
    Ok(cert.der().to_vec())
}

/// Issues the code-signing certificate of one profile version: subject
/// CN = `NAME/VERSION` (a UTF8String), O = "signer", OU = "signing profile"; the public
/// half of `subject_key`; extendedKeyUsage codeSigning only; keyUsage digitalSignature;
/// basicConstraints CA:false; subject and authority key identifiers; a random serial;
/// signed by `ca_key`, which must match `ca_cert_der`, a CA certificate.
///
/// The result is checked before it is returned: its issuer name is byte for byte the
/// CA's subject and it validates under the CA at `not_before`.
pub fn issue_code_signing_cert(
    ca_cert_der: &[u8],
    ca_key: &(impl SigningKey + ?Sized),
    subject_key: &(impl SigningKey + ?Sized),
    version: &VersionRef,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<Vec<u8>, CryptoError> {
    if not_after <= not_before {
        return Err(CryptoError::cert(format!("the validity period is empty: {not_before} is not before {not_after}")));
    }
    let ca = cert_info(ca_cert_der)?;
    if !ca.is_ca {
        return Err(CryptoError::cert("the issuing certificate is not a CA (basicConstraints cA is not true)"));
    }
    key_matches_cert(ca_key, ca_cert_der)?;
    check_names_rcgen_can_copy(ca_cert_der)?;

    let mut params = rcgen::CertificateParams::default();
    params.not_before = not_before.to_offset();
    params.not_after = not_after.to_offset();
    params.serial_number = Some(random_serial()?);
    let cn = version.to_string();
    params.distinguished_name = name(&[
        (rcgen::DnType::OrganizationName, ORGANIZATION),
        (rcgen::DnType::OrganizationalUnitName, SIGNING_PROFILE_UNIT),
        (rcgen::DnType::CommonName, &cn),
    ]);
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
    params.use_authority_key_identifier_extension = true;

    let subject = RcgenPublicKey::from_spki(&subject_key.public_key_spki_der())?;
    let issuer = rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(ca_cert_der), RcgenSigner::new(ca_key)?)
        .map_err(|e| rcgen_error("could not read the CA certificate", &e))?;
    let cert = params
        .signed_by(&subject, &issuer)
        .map_err(|e| rcgen_error("could not issue the code-signing certificate", &e))?;
    let der = cert.der().to_vec();

    check_issued_by(&der, ca_cert_der, not_before)?;
    Ok(der)
}

/// Reads the facts of a DER certificate. Refused: anything over [`MAX_CERT_BYTES`],
/// anything that is not one X.509 certificate, and bytes after it.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, CryptoError> {
    let cert = parse(der)?;
    let subject_cn = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned);
    let validity = cert.validity();
    Ok(CertInfo {
        subject_cn,
        spki_der: cert.public_key().raw.to_vec(),
        not_before: Timestamp::from_unix(validity.not_before.timestamp()),
        not_after: Timestamp::from_unix(validity.not_after.timestamp()),
        is_ca: cert.is_ca(),
        sha256_fingerprint: hex::encode(ring::digest::digest(&ring::digest::SHA256, der)),
    })
}

/// Checks that `key` is the private half of the certificate's public key
/// ([`CryptoError::KeyCertMismatch`] when not), as rustls' `InconsistentKeys` does.
pub fn key_matches_cert(key: &(impl SigningKey + ?Sized), cert_der: &[u8]) -> Result<(), CryptoError> {
    let info = cert_info(cert_der)?;
    if info.spki_der == key.public_key_spki_der() { Ok(()) } else { Err(CryptoError::KeyCertMismatch) }
}

/// Parses one certificate with nothing after it.
pub(crate) fn parse(der: &[u8]) -> Result<x509_parser::certificate::X509Certificate<'_>, CryptoError> {
    if der.len() > MAX_CERT_BYTES {
        return Err(CryptoError::cert(format!("{} bytes, more than the {MAX_CERT_BYTES} allowed", der.len())));
    }
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CryptoError::cert(format!("not a DER X.509 certificate ({e})")))?;
    if !rest.is_empty() {
        return Err(CryptoError::cert(format!("{} trailing bytes after the certificate", rest.len())));
    }
    Ok(cert)
}

/// rcgen copies the CA's subject into the leaf's issuer by re-encoding it, and panics on
/// an empty RDN; refuse that shape before rcgen sees it. (Any other difference in the
/// re-encoding is caught by [`check_issued_by`].)
fn check_names_rcgen_can_copy(ca_cert_der: &[u8]) -> Result<(), CryptoError> {
    let ca = parse(ca_cert_der)?;
    if ca.subject().iter().any(|rdn| rdn.iter().next().is_none()) {
        return Err(CryptoError::cert("the CA's subject name has an empty RDN; signer cannot issue under it"));
    }
    Ok(())
}

/// The self-check after issuing: the leaf names the CA exactly and validates under it.
fn check_issued_by(leaf_der: &[u8], ca_cert_der: &[u8], at: Timestamp) -> Result<(), CryptoError> {
    let leaf = parse(leaf_der)?;
    let ca = parse(ca_cert_der)?;
    if leaf.issuer().as_raw() != ca.subject().as_raw() {
        return Err(CryptoError::cert(
            "the CA's subject name cannot be reproduced exactly (multi-valued or repeated attributes); signer cannot issue under this CA",
        ));
    }
    super::chain::validate_path(leaf_der, &[], ca_cert_der, at)
        .map_err(|e| CryptoError::cert(format!("the issued certificate does not validate under its CA ({e})")))
}

/// A distinguished name, most significant attribute first (X.500 order: O, OU, CN), so
/// `openssl x509 -subject -nameopt RFC2253` prints `CN=…,OU=…,O=signer`.
pub(super) fn name(entries: &[(rcgen::DnType, &str)]) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    for (ty, value) in entries {
        // `&str` becomes a UTF8String: profile names may hold `_`, which PrintableString
        // cannot.
        dn.push(ty.clone(), rcgen::DnValue::Utf8String((*value).to_owned()));
    }
    dn
}

pub(super) fn random_serial() -> Result<rcgen::SerialNumber, CryptoError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CryptoError::Rng)?;
    if let Some(first) = bytes.first_mut() {
        // Positive and without a leading zero octet, so the DER INTEGER is 16 bytes.
        *first = (*first & 0x7F) | 0x40;
    }
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

fn rcgen_error(doing: &str, e: &rcgen::Error) -> CryptoError {
    CryptoError::cert(format!("{doing}: {e}"))
}

fn rcgen_algorithm(platform: Platform) -> &'static rcgen::SignatureAlgorithm {
    match platform {
        Platform::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        Platform::EcdsaP384Sha384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        Platform::Ed25519 => &rcgen::PKCS_ED25519,
    }
}

/// A public key as rcgen wants it: the algorithm and the key bits.
pub(super) struct RcgenPublicKey {
    alg: &'static rcgen::SignatureAlgorithm,
    bits: Vec<u8>,
}

impl RcgenPublicKey {
    pub(super) fn from_spki(spki_der: &[u8]) -> Result<Self, CryptoError> {
        let (platform, bits) = spki_parts(spki_der)?;
        Ok(Self { alg: rcgen_algorithm(platform), bits: bits.to_vec() })
    }
}

impl rcgen::PublicKeyData for RcgenPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

/// A [`SigningKey`] as rcgen's signing key. X.509 carries ECDSA signatures in their DER
/// form, so raw `r || s` is converted; Ed25519 signatures are used as they are.
pub(super) struct RcgenSigner<'a, K: ?Sized> {
    key: &'a K,
    public: RcgenPublicKey,
}

impl<'a, K: SigningKey + ?Sized> RcgenSigner<'a, K> {
    pub(super) fn new(key: &'a K) -> Result<Self, CryptoError> {
        let public = RcgenPublicKey::from_spki(&key.public_key_spki_der())?;
        Ok(Self { key, public })
    }
}

impl<K: SigningKey + ?Sized> rcgen::PublicKeyData for RcgenSigner<'_, K> {
    fn der_bytes(&self) -> &[u8] {
        &self.public.bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.public.alg
    }
}

impl<K: SigningKey + ?Sized> rcgen::SigningKey for RcgenSigner<'_, K> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let raw = self.key.sign(msg).map_err(|_| rcgen::Error::RingUnspecified)?;
        super::keys::signature_to_der(self.key.platform(), &raw).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ExitCode as _;

    pub(crate) const NOW: i64 = 1_800_000_000;

    pub(crate) fn version() -> VersionRef {
        "MyProfile_1/AbCdEf1234".parse().unwrap()
    }

    /// A root CA and, per platform, a version key with its certificate valid for a day.
    pub(crate) fn root_and_leaf(platform: Platform) -> (Vec<u8>, SecretKey, SecretKey, Vec<u8>) {
        let now = Timestamp::from_unix(NOW);
        let (root, root_key) = create_root_ca(now).unwrap();
        let key = SecretKey::generate(platform).unwrap();
        let leaf = issue_code_signing_cert(&root, &root_key, &key, &version(), now, now.plus_secs(86_400)).unwrap();
        (root, root_key, key, leaf)
    }

    #[test]
    fn the_root_ca_is_what_the_spec_says() {
        let now = Timestamp::from_unix(NOW);
        let (der, key) = create_root_ca(now).unwrap();
        assert_eq!(key.platform(), Platform::EcdsaP384Sha384);
        key_matches_cert(&key, &der).unwrap();
        let info = cert_info(&der).unwrap();
        assert_eq!(info.subject_cn.as_deref(), Some("signer root CA"));
        assert!(info.is_ca);
        assert_eq!(info.not_before, now.plus_secs(-3_600));
        assert!(info.not_after.unix() - now.unix() >= 30 * 365 * 86_400);
        assert_eq!(info.sha256_fingerprint.len(), 64);
        assert!(info.sha256_fingerprint.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

        let cert = parse(&der).unwrap();
        assert_eq!(cert.subject().as_raw(), cert.issuer().as_raw());
        assert_eq!(cert.subject().iter_organization().next().unwrap().as_str().unwrap(), "signer");
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        assert_eq!(cert.raw_serial().len(), SERIAL_BYTES);
        assert_ne!(cert_info(&create_root_ca(now).unwrap().0).unwrap().sha256_fingerprint, info.sha256_fingerprint);
    }

    #[test]
    fn code_signing_certificates_for_every_platform() {
        for platform in Platform::ALL {
            let (root, _, key, leaf) = root_and_leaf(platform);
            key_matches_cert(&key, &leaf).unwrap();
            let info = cert_info(&leaf).unwrap();
            assert_eq!(info.subject_cn.as_deref(), Some("MyProfile_1/AbCdEf1234"));
            assert!(!info.is_ca);
            assert_eq!(info.not_before, Timestamp::from_unix(NOW));
            assert_eq!(info.not_after, Timestamp::from_unix(NOW + 86_400));

            let cert = parse(&leaf).unwrap();
            assert_eq!(cert.issuer().as_raw(), parse(&root).unwrap().subject().as_raw());
            assert_eq!(cert.subject().iter_organizational_unit().next().unwrap().as_str().unwrap(), "signing profile");
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.code_signing && !eku.any && !eku.server_auth && !eku.client_auth && eku.other.is_empty());
            let ku = cert.key_usage().unwrap().unwrap().value;
            assert!(ku.digital_signature() && !ku.key_cert_sign());
            let bc = cert.basic_constraints().unwrap().unwrap();
            assert!(!bc.value.ca);
            let ski = cert.iter_extensions().find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
            let aki = cert.iter_extensions().find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(k) => {
                    k.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            });
            let root_ski = parse(&root).unwrap().iter_extensions().find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
            assert!(ski.is_some());
            assert_eq!(aki, root_ski);
            assert_eq!(cert.signature_algorithm.algorithm, x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA384);
        }
    }

    #[test]
    fn issuing_refuses_a_mismatched_ca_key_a_non_ca_issuer_and_an_empty_period() {
        let now = Timestamp::from_unix(NOW);
        let (root, root_key, key, leaf) = root_and_leaf(Platform::EcdsaP256Sha256);
        let (_, other_root_key) = create_root_ca(now).unwrap();
        let later = now.plus_secs(60);
        let e = issue_code_signing_cert(&root, &other_root_key, &key, &version(), now, later).err().unwrap();
        assert!(matches!(e, CryptoError::KeyCertMismatch), "{e}");
        let e = issue_code_signing_cert(&leaf, &key, &key, &version(), now, later).err().unwrap();
        assert!(e.to_string().contains("not a CA"), "{e}");
        let e = issue_code_signing_cert(&root, &root_key, &key, &version(), now, now).err().unwrap();
        assert!(e.to_string().contains("validity period is empty"), "{e}");
    }

    #[test]
    fn key_and_certificate_must_match() {
        let (_, root_key, key, leaf) = root_and_leaf(Platform::Ed25519);
        key_matches_cert(&key, &leaf).unwrap();
        let e = key_matches_cert(&root_key, &leaf).err().unwrap();
        assert!(matches!(e, CryptoError::KeyCertMismatch));
        assert_eq!(e.exit_code(), crate::error::exit::INVALID);
        let other = SecretKey::generate(Platform::Ed25519).unwrap();
        assert!(matches!(key_matches_cert(&other, &leaf), Err(CryptoError::KeyCertMismatch)));
    }

    #[test]
    fn cert_info_refuses_trailing_bytes_garbage_and_oversize() {
        let (root, ..) = root_and_leaf(Platform::Ed25519);
        let mut trailing = root.clone();
        trailing.push(0);
        assert!(cert_info(&trailing).err().unwrap().to_string().contains("trailing"));
        assert!(cert_info(b"garbage").is_err());
        assert!(cert_info(&root[..root.len() - 1]).is_err());
        assert!(cert_info(&vec![0x30; MAX_CERT_BYTES + 1]).err().unwrap().to_string().contains("more than"));
    }
}
