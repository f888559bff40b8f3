//! Certificate path validation, through rustls-webpki (never by hand).
//!
//! A signing certificate is accepted when webpki builds a path from it through the given
//! intermediates to the trust anchor, every certificate on it valid at the given time,
//! every signature made with ECDSA P-256/P-384 (SHA-256/SHA-384) or Ed25519, and the
//! leaf is an end entity whose extendedKeyUsage includes codeSigning.
//!
//! webpki applies its EKU check to every certificate on the path, issuers included, so
//! "codeSigning required" would refuse the common intermediate CAs that carry no EKU
//! extension. The requirement is therefore split: the leaf must carry an EKU extension
//! with codeSigning (checked here on the parsed leaf), and webpki enforces
//! codeSigning-if-present on the whole path, so an issuer restricted to other purposes
//! still breaks the chain.

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use webpki::{EndEntityCert, KeyUsage};

use super::cert::{cert_info, parse};
use super::{CryptoError, MAX_CERT_BYTES, MAX_CHAIN_CERTS};
use crate::model::Timestamp;

/// id-kp-codeSigning, 1.3.6.1.5.5.7.3.3 (RFC 5280 §4.2.1.12), as DER OID content bytes.
const ID_KP_CODE_SIGNING: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// id-kp-timeStamping, 1.3.6.1.5.5.7.3.8 (RFC 3161 §2.3), as DER OID content bytes.
const ID_KP_TIME_STAMPING: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// The signature algorithms a chain may use: the platforms' own, and the ECDSA curve and
/// hash pairings other CAs commonly make.
static SUPPORTED_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
];

/// A time-stamping authority's chain may also be RSA, as public TSAs' commonly are.
static TIMESTAMP_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
];

/// What a leaf certificate is validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A profile version's certificate (extendedKeyUsage codeSigning).
    CodeSigning,
    /// A time-stamping authority's (extendedKeyUsage timeStamping).
    TimeStamping,
}

impl Purpose {
    fn eku(self) -> &'static [u8] {
        match self {
            Self::CodeSigning => ID_KP_CODE_SIGNING,
            Self::TimeStamping => ID_KP_TIME_STAMPING,
        }
    }

    fn algorithms(self) -> &'static [&'static dyn SignatureVerificationAlgorithm] {
        match self {
            Self::CodeSigning => SUPPORTED_ALGORITHMS,
            Self::TimeStamping => TIMESTAMP_ALGORITHMS,
        }
    }
}

/// Validates the code-signing certificate `leaf_der` at time `at`, through
/// `intermediates` (issuers between the leaf and the anchor, in any order; empty for the
/// store's root CA, which issues directly) to the trust anchor `trust_anchor_der`.
///
/// The anchor itself must be a CA certificate valid at `at`: webpki checks the validity
/// of the leaf and intermediates only, and an expired root should not vouch for new
/// signatures either.
///
/// Fails with [`CryptoError::ChainInvalid`] and a reason: expired or not yet valid,
/// unknown issuer (another CA, or a forged certificate), missing codeSigning, a CA used
/// as the signing certificate, a bad signature, an unsupported algorithm.
pub fn validate_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    trust_anchor_der: &[u8],
    at: Timestamp,
) -> Result<(), CryptoError> {
    check_anchor(trust_anchor_der, at)?;
    validate_path(leaf_der, intermediates, trust_anchor_der, at)
}

/// Validates a time-stamping authority's certificate `leaf_der` at the token's time `at`
/// to the TSA root `trust_anchor_der`, as [`validate_chain`] does a signer's, but for
/// extendedKeyUsage timeStamping (and RSA allowed). Returns the intermediates the path
/// went through (DER), so a token can be held to carry nothing else.
pub fn validate_timestamping_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    trust_anchor_der: &[u8],
    at: Timestamp,
) -> Result<Vec<Vec<u8>>, CryptoError> {
    check_anchor(trust_anchor_der, at)?;
    validate_path_for(Purpose::TimeStamping, leaf_der, intermediates, trust_anchor_der, at)
}

fn check_anchor(trust_anchor_der: &[u8], at: Timestamp) -> Result<(), CryptoError> {
    let anchor = cert_info(trust_anchor_der).map_err(|e| CryptoError::chain(format!("the trusted root: {e}")))?;
    if !anchor.is_ca {
        return Err(CryptoError::chain("the trusted root is not a CA certificate"));
    }
    if at < anchor.not_before || at > anchor.not_after {
        return Err(CryptoError::chain(format!(
            "the trusted root CA is not valid at {at} (valid from {} to {})",
            anchor.not_before, anchor.not_after
        )));
    }
    Ok(())
}

/// [`validate_chain`] without the checks on the anchor's own certificate: also used to
/// check a freshly issued certificate under its (possibly intermediate) CA.
pub(crate) fn validate_path(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    trust_anchor_der: &[u8],
    at: Timestamp,
) -> Result<(), CryptoError> {
    validate_path_for(Purpose::CodeSigning, leaf_der, intermediates, trust_anchor_der, at).map(drop)
}

/// The path's intermediates (DER), once it validated.
fn validate_path_for(
    purpose: Purpose,
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    trust_anchor_der: &[u8],
    at: Timestamp,
) -> Result<Vec<Vec<u8>>, CryptoError> {
    if intermediates.len() >= MAX_CHAIN_CERTS {
        return Err(CryptoError::chain(format!(
            "{} intermediate certificates; a chain holds at most {MAX_CHAIN_CERTS} certificates",
            intermediates.len()
        )));
    }
    if let Some(big) = intermediates.iter().find(|c| c.len() > MAX_CERT_BYTES) {
        return Err(CryptoError::chain(format!(
            "an intermediate certificate is {} bytes, more than the {MAX_CERT_BYTES} allowed",
            big.len()
        )));
    }
    check_leaf_purpose(purpose, leaf_der)?;

    let leaf = CertificateDer::from(leaf_der);
    let leaf = EndEntityCert::try_from(&leaf)
        .map_err(|e| CryptoError::chain(format!("the signing certificate: {}", reason(&e))))?;
    let anchor = CertificateDer::from(trust_anchor_der);
    let anchor = webpki::anchor_from_trusted_cert(&anchor)
        .map_err(|e| CryptoError::chain(format!("the trusted root: {}", reason(&e))))?;
    let anchors = [anchor];
    let intermediates: Vec<CertificateDer<'_>> =
        intermediates.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let path = leaf
        .verify_for_usage(
            purpose.algorithms(),
            &anchors,
            &intermediates,
            at.to_pki(),
            KeyUsage::required_if_present(purpose.eku()),
            None,
            None,
        )
        .map_err(|e| match (purpose, &e) {
            (
                Purpose::TimeStamping,
                webpki::Error::RequiredEkuNotFoundContext(_) | webpki::Error::EmptyEkuExtension,
            ) => CryptoError::chain("a certificate on the chain is not for time stamping"),
            _ => CryptoError::chain(reason(&e)),
        })?;
    check_anchor_path_len(trust_anchor_der, path.intermediate_certificates().count())?;
    Ok(path.intermediate_certificates().map(|c| c.der().to_vec()).collect())
}

/// webpki takes only the anchor's name and key, not its basicConstraints; RFC 5280
/// §4.2.1.9 has the anchor's pathLenConstraint bound the intermediates below it (the
/// store's root has 0: it issues code-signing certificates directly).
fn check_anchor_path_len(trust_anchor_der: &[u8], intermediates: usize) -> Result<(), CryptoError> {
    let anchor = parse(trust_anchor_der).map_err(|e| CryptoError::chain(format!("the trusted root: {e}")))?;
    let path_len = anchor
        .basic_constraints()
        .map_err(|e| CryptoError::chain(format!("the trusted root's basicConstraints is malformed ({e})")))?
        .and_then(|bc| bc.value.path_len_constraint);
    match path_len {
        Some(max) if usize::try_from(max).is_ok_and(|max| intermediates > max) => Err(CryptoError::chain(format!(
            "the chain is longer than the trusted root CA allows (pathLenConstraint {max}, {intermediates} intermediate certificates)"
        ))),
        _ => Ok(()),
    }
}

/// The leaf half of the extendedKeyUsage rule (see the module docs), and no CA as a leaf.
fn check_leaf_purpose(purpose: Purpose, leaf_der: &[u8]) -> Result<(), CryptoError> {
    let leaf = parse(leaf_der).map_err(|e| CryptoError::chain(format!("the signing certificate: {e}")))?;
    if leaf.is_ca() {
        return Err(CryptoError::chain(
            "the signing certificate is a CA certificate; code is signed with an end-entity certificate",
        ));
    }
    let eku = leaf
        .extended_key_usage()
        .map_err(|e| CryptoError::chain(format!("the signing certificate's extendedKeyUsage is malformed ({e})")))?;
    let ok = match purpose {
        Purpose::CodeSigning => eku.is_some_and(|eku| eku.value.code_signing),
        Purpose::TimeStamping => eku.is_some_and(|eku| eku.value.time_stamping),
    };
    if !ok {
        return Err(CryptoError::chain(match purpose {
            Purpose::CodeSigning => {
                "the signing certificate is not for code signing: its extendedKeyUsage lacks codeSigning (1.3.6.1.5.5.7.3.3)"
            }
            Purpose::TimeStamping => {
                "the time-stamping authority's certificate lacks extendedKeyUsage timeStamping (1.3.6.1.5.5.7.3.8)"
            }
        }));
    }
    Ok(())
}

/// webpki's error in words, with what it means for a signed package.
fn reason(e: &webpki::Error) -> String {
    use webpki::Error as E;

    let time = |t: rustls_pki_types::UnixTime| Timestamp::from_unix(i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
    match e {
        E::CertExpired { time: at, not_after } => {
            format!("a certificate on the chain expired at {}, before {}", time(*not_after), time(*at))
        }
        E::CertNotValidYet { time: at, not_before } => {
            format!("a certificate on the chain is not valid until {}, after {}", time(*not_before), time(*at))
        }
        E::UnknownIssuer => "the chain does not lead to the trusted root CA (unknown issuer): the certificate was issued by another CA, or an intermediate is missing".to_owned(),
        E::InvalidSignatureForPublicKey => {
            "a certificate's signature does not verify with its issuer's key: it was issued by another CA with the same name, or altered".to_owned()
        }
        E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            "a certificate on the chain is not for code signing: its extendedKeyUsage lacks codeSigning".to_owned()
        }
        E::CaUsedAsEndEntity => "the signing certificate is a CA certificate; code is signed with an end-entity certificate".to_owned(),
        E::EndEntityUsedAsCa => "a certificate on the chain that issues another is not a CA (basicConstraints cA is not true)".to_owned(),
        E::PathLenConstraintViolated => "the chain is longer than a CA allows (pathLenConstraint)".to_owned(),
        E::UnsupportedSignatureAlgorithmContext(_) | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::SignatureAlgorithmMismatch => {
            "a certificate on the chain uses an unsupported signature algorithm (supported: ECDSA P-256/P-384 with SHA-256/SHA-384, Ed25519)".to_owned()
        }
        E::MaximumSignatureChecksExceeded | E::MaximumPathBuildCallsExceeded | E::MaximumPathDepthExceeded => {
            "the chain is too long or too branched to validate".to_owned()
        }
        E::BadDer | E::BadDerTime | E::TrailingData(_) | E::MalformedExtensions | E::ExtensionValueInvalid | E::InvalidCertValidity => {
            format!("a certificate on the chain is malformed ({e:?})")
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::cert::tests::{NOW, root_and_leaf, version};
    use crate::crypto::cert::{RcgenPublicKey, RcgenSigner, name, random_serial};
    use crate::crypto::{SecretKey, SigningKey, create_root_ca, issue_code_signing_cert};
    use crate::error::ExitCode as _;
    use crate::model::Platform;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix(NOW + secs)
    }

    fn chain_err(r: Result<(), CryptoError>) -> String {
        match r {
            Err(e @ CryptoError::ChainInvalid { .. }) => {
                // Invalid input where it is an error; a package's chain is judged by its
                // verdict instead (issue 16: not the code of a denial).
                assert_eq!(e.exit_code(), crate::error::exit::INVALID);
                e.to_string()
            }
            other => panic!("expected ChainInvalid, got {other:?}"),
        }
    }

    /// A certificate for `subject` signed under `issuer_der` / `issuer_key`, shaped by `f`.
    fn issue_with(
        issuer_der: &[u8],
        issuer_key: &SecretKey,
        subject: &SecretKey,
        f: impl FnOnce(&mut rcgen::CertificateParams),
    ) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.not_before = at(-60).to_offset();
        params.not_after = at(86_400).to_offset();
        params.serial_number = Some(random_serial().unwrap());
        params.distinguished_name = name(&[(rcgen::DnType::CommonName, "test")]);
        params.use_authority_key_identifier_extension = true;
        f(&mut params);
        let issuer =
            rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(issuer_der), RcgenSigner::new(issuer_key).unwrap())
                .unwrap();
        let public = RcgenPublicKey::from_spki(&subject.public_key_spki_der()).unwrap();
        params.signed_by(&public, &issuer).unwrap().der().to_vec()
    }

    #[test]
    fn a_fresh_leaf_validates_for_every_platform_within_its_validity() {
        for platform in Platform::ALL {
            let (root, _, _, leaf) = root_and_leaf(platform);
            for t in [0, 1, 3_600, 86_400] {
                validate_chain(&leaf, &[], &root, at(t)).unwrap();
            }
            assert!(chain_err(validate_chain(&leaf, &[], &root, at(-1))).contains("not valid until"));
            assert!(chain_err(validate_chain(&leaf, &[], &root, at(86_401))).contains("expired"));
        }
    }

    #[test]
    fn a_leaf_forged_under_another_root_with_the_same_names_fails() {
        for platform in Platform::ALL {
            let (root, _, _, _) = root_and_leaf(platform);
            let (_, _, _, forged) = root_and_leaf(platform);
            let e = chain_err(validate_chain(&forged, &[], &root, at(10)));
            assert!(e.contains("another CA"), "{e}");
        }
    }

    #[test]
    fn a_leaf_without_code_signing_fails() {
        let (root, root_key, key, _) = root_and_leaf(Platform::EcdsaP384Sha384);
        let server = issue_with(&root, &root_key, &key, |p| {
            p.is_ca = rcgen::IsCa::ExplicitNoCa;
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        });
        assert!(chain_err(validate_chain(&server, &[], &root, at(10))).contains("lacks codeSigning"));
        let no_eku = issue_with(&root, &root_key, &key, |p| p.is_ca = rcgen::IsCa::ExplicitNoCa);
        assert!(chain_err(validate_chain(&no_eku, &[], &root, at(10))).contains("lacks codeSigning"));
        // The same shape with codeSigning passes: the failures are the EKU's.
        let ok = issue_with(&root, &root_key, &key, |p| {
            p.is_ca = rcgen::IsCa::ExplicitNoCa;
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
        });
        validate_chain(&ok, &[], &root, at(10)).unwrap();
    }

    #[test]
    fn a_ca_certificate_cannot_be_the_leaf() {
        let (root, root_key, key, _) = root_and_leaf(Platform::EcdsaP256Sha256);
        assert!(chain_err(validate_chain(&root, &[], &root, at(10))).contains("is a CA certificate"));
        let ca_with_eku = issue_with(&root, &root_key, &key, |p| {
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
        });
        assert!(chain_err(validate_chain(&ca_with_eku, &[], &root, at(10))).contains("is a CA certificate"));
    }

    #[test]
    fn intermediates_are_followed_but_not_under_the_store_root() {
        // A root that allows one intermediate (as a brought-in chain might).
        let root_key = SecretKey::generate(Platform::EcdsaP384Sha384).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.not_before = at(-60).to_offset();
        params.not_after = at(10 * 86_400).to_offset();
        params.distinguished_name = name(&[(rcgen::DnType::CommonName, "other root")]);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
        let root = params.self_signed(&RcgenSigner::new(&root_key).unwrap()).unwrap().der().to_vec();

        let inter_key = SecretKey::generate(Platform::EcdsaP256Sha256).unwrap();
        let inter = issue_with(&root, &root_key, &inter_key, |p| {
            p.distinguished_name = name(&[(rcgen::DnType::CommonName, "intermediate")]);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        });
        let key = SecretKey::generate(Platform::Ed25519).unwrap();
        let leaf = issue_code_signing_cert(&inter, &inter_key, &key, &version(), at(0), at(86_400)).unwrap();
        validate_chain(&leaf, std::slice::from_ref(&inter), &root, at(10)).unwrap();
        assert!(chain_err(validate_chain(&leaf, &[], &root, at(10))).contains("unknown issuer"));

        // An intermediate restricted to other purposes breaks the chain.
        let server_inter = issue_with(&root, &root_key, &inter_key, |p| {
            p.distinguished_name = name(&[(rcgen::DnType::CommonName, "intermediate")]);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        });
        assert!(chain_err(validate_chain(&leaf, &[server_inter], &root, at(10))).contains("codeSigning"));

        // The store's root (pathLenConstraint 0) issues leaves only.
        let (store_root, store_key) = create_root_ca(at(0)).unwrap();
        let store_inter = issue_with(&store_root, &store_key, &inter_key, |p| {
            p.distinguished_name = name(&[(rcgen::DnType::CommonName, "intermediate")]);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        });
        let e = chain_err(validate_chain(&leaf, &[store_inter], &store_root, at(10)));
        assert!(e.contains("pathLenConstraint 0, 1 intermediate"), "{e}");
    }

    #[test]
    fn the_anchor_must_be_a_ca_valid_at_the_time() {
        let (root, root_key, key, leaf) = root_and_leaf(Platform::EcdsaP384Sha384);
        assert!(chain_err(validate_chain(&leaf, &[], &leaf, at(10))).contains("not a CA"));
        let forty_years = 40 * 366 * 86_400;
        let long = issue_code_signing_cert(&root, &root_key, &key, &version(), at(0), at(forty_years)).unwrap();
        validate_chain(&long, &[], &root, at(10)).unwrap();
        assert!(chain_err(validate_chain(&long, &[], &root, at(35 * 366 * 86_400))).contains("root CA is not valid"));
        assert!(chain_err(validate_chain(&long, &[], &root, at(-7_200))).contains("root CA is not valid"));
        assert!(chain_err(validate_chain(&leaf, &[], b"garbage", at(10))).contains("trusted root"));
    }

    #[test]
    fn chains_are_capped_and_malformed_input_is_refused() {
        let (root, _, _, leaf) = root_and_leaf(Platform::EcdsaP256Sha256);
        let many = vec![root.clone(); MAX_CHAIN_CERTS];
        assert!(chain_err(validate_chain(&leaf, &many, &root, at(10))).contains("at most"));
        let big = vec![vec![0u8; MAX_CERT_BYTES + 1]];
        assert!(chain_err(validate_chain(&leaf, &big, &root, at(10))).contains("more than"));
        let mut trailing = leaf.clone();
        trailing.push(0);
        assert!(chain_err(validate_chain(&trailing, &[], &root, at(10))).contains("trailing"));
        let mut altered = leaf.clone();
        let i = altered.len() - 80; // inside the TBS or signature: either way it must fail
        altered[i] ^= 0x01;
        assert!(validate_chain(&altered, &[], &root, at(10)).is_err());
    }

    #[test]
    fn a_kms_shaped_key_can_issue() {
        struct Remote(SecretKey);
        impl SigningKey for Remote {
            fn platform(&self) -> Platform {
                self.0.platform()
            }
            fn public_key_spki_der(&self) -> Vec<u8> {
                self.0.public_key_spki_der()
            }
            fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
                self.0.sign(msg)
            }
        }
        let (root, root_key) = create_root_ca(at(0)).unwrap();
        let remote: Box<dyn SigningKey> = Box::new(Remote(root_key));
        let key = SecretKey::generate(Platform::EcdsaP256Sha256).unwrap();
        let leaf = issue_code_signing_cert(&root, remote.as_ref(), &key, &version(), at(0), at(60)).unwrap();
        validate_chain(&leaf, &[], &root, at(1)).unwrap();
    }
}
