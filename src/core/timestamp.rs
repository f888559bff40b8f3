//! RFC 3161 timestamps (issue 13): what a signer asks a time-stamping authority (TSA) for,
//! and the check of the token it answers, against the TSA root the store trusts.
//!
//! A token vouches that a given signature existed at the token's time: its message imprint
//! is the SHA-256 of the signature's bytes, and the TSA signed it. A token is accepted
//! only when, all of them:
//!
//! 1. it is a CMS SignedData (RFC 5652) whose content is a TSTInfo (RFC 3161 §2.4.2);
//! 2. the TSTInfo's message imprint is SHA-256 of exactly this signature;
//! 3. it has one signer, whose certificate is in the token, and whose signed attributes
//!    say content type TSTInfo and carry the digest of the TSTInfo as encoded;
//! 4. the signature over those attributes verifies with that certificate's key
//!    (ECDSA P-256/P-384, RSA PKCS#1 v1.5 of 2048 bits or more);
//! 5. that certificate chains (rustls-webpki, through the token's other certificates) to
//!    the TSA root given, at the token's time, with extendedKeyUsage timeStamping.
//!
//! ASN.1 is parsed with RustCrypto's `der`, `cms` and `x509-tsp`; signatures and paths
//! are checked with ring and webpki, never by hand.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Decode, Encode};
use ring::digest;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::model::Timestamp;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const ID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const ID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// The largest token accepted, in bytes (a token with a TSA chain is a few KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a valid token establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The TSA's time, whole seconds (RFC 3161 genTime).
    pub time: Timestamp,
    /// The token's serial number, lowercase hex.
    pub serial: String,
    /// The TSA certificate's subject common name, if it has one.
    pub tsa: Option<String>,
}

/// Why a timestamp request or token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not DER of the expected structure.
    #[error("the timestamp is not a well-formed RFC 3161 token: {0}")]
    Malformed(String),
    /// The TSA refused the request.
    #[error("the time-stamping authority refused the request (status {0})")]
    Refused(String),
    /// The token vouches for other bytes.
    #[error("the timestamp is for another signature (its message imprint differs): it was copied from elsewhere")]
    OtherSignature,
    /// The answer is not to our request.
    #[error("the time-stamping authority's answer does not carry the request's nonce")]
    Nonce,
    /// The TSA's signature does not verify.
    #[error("the timestamp's signature does not verify: {0}")]
    Signature(String),
    /// The TSA certificate does not lead to the trusted TSA root.
    #[error("the timestamp's authority is not trusted: {0}")]
    Untrusted(String),
    /// The TSA could not be reached or did not answer.
    #[error("the time-stamping authority at {url} did not answer: {why}; check it is up (signing jobs retry)")]
    Unavailable {
        /// Its URL.
        url: String,
        /// What happened.
        why: String,
    },
}

/// Obtains the checked timestamp token (DER) of the bytes a signature is exported as
/// (`signature.der`: DER for ECDSA, the raw 64 bytes for Ed25519). The edge implements
/// it over HTTP; signing stays pure.
pub trait Stamper: Send + Sync {
    /// The token for `signed`; empty when the signature may go without one (a profile
    /// that signs without the TSA when it does not answer).
    fn stamp(&self, signed: &[u8]) -> Result<Vec<u8>, TimestampError>;
}

fn malformed(what: &str) -> impl Fn(der::Error) -> TimestampError + '_ {
    move |e| TimestampError::Malformed(format!("{what}: {e}"))
}

/// The DER TimeStampReq for `signature`: SHA-256 imprint of its bytes, the `nonce`, and
/// the TSA's certificate requested (so the token carries it).
pub fn request(signature: &[u8], nonce: &[u8; 8]) -> Result<Vec<u8>, TimestampError> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint(signature)?,
        req_policy: None,
        nonce: Some(nonce_int(nonce)?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(malformed("encoding the request"))
}

fn imprint(signature: &[u8]) -> Result<MessageImprint, TimestampError> {
    Ok(MessageImprint {
        hash_algorithm: x509_cert::spki::AlgorithmIdentifier { oid: ID_SHA256, parameters: None },
        hashed_message: OctetString::new(digest::digest(&digest::SHA256, signature).as_ref())
            .map_err(malformed("the imprint"))?,
    })
}

fn nonce_int(nonce: &[u8; 8]) -> Result<Int, TimestampError> {
    // A positive INTEGER in its one DER form: no leading zero bytes, but one zero byte
    // where the top bit would make it negative.
    let first = nonce.iter().position(|&b| b != 0).unwrap_or(nonce.len() - 1);
    let digits = nonce.get(first..).unwrap_or_default();
    let mut bytes = Vec::with_capacity(9);
    if digits.first().is_some_and(|&b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(digits);
    Int::new(&bytes).map_err(malformed("the nonce"))
}

/// The token (DER) in a TSA's TimeStampResp, if it granted the request whose nonce was
/// `nonce` and the token vouches for `signature` under `tsa_root` (DER).
pub fn token_from_response(
    response: &[u8],
    signature: &[u8],
    nonce: &[u8; 8],
    tsa_root: &[u8],
) -> Result<(Vec<u8>, Stamp), TimestampError> {
    let resp = TimeStampResp::from_der(response).map_err(malformed("the response"))?;
    let status = resp.status.status;
    if !matches!(status, cmpv2::status::PkiStatus::Accepted | cmpv2::status::PkiStatus::GrantedWithMods) {
        return Err(TimestampError::Refused(format!("{status:?}")));
    }
    let token = resp.time_stamp_token.ok_or_else(|| TimestampError::Malformed("no token in the response".into()))?;
    let der = token.to_der().map_err(malformed("the token"))?;
    let (stamp, info) = check(&der, signature, tsa_root)?;
    if info.nonce != Some(nonce_int(nonce)?) {
        return Err(TimestampError::Nonce);
    }
    Ok((der, stamp))
}

/// What a token says — its time, serial and TSA — read WITHOUT checking it, for people
/// (`signature show`); [`verify`] is the check.
pub fn describe(token: &[u8]) -> Result<Stamp, TimestampError> {
    let (sd, tst, _) = parse(token)?;
    let tsa = sd.certificates.as_ref().and_then(|set| {
        set.0.iter().find_map(|c| match c {
            CertificateChoices::Certificate(c) => crate::crypto::cert_info(&c.to_der().ok()?).ok()?.subject_cn,
            CertificateChoices::Other(_) => None,
        })
    });
    Ok(Stamp { time: gen_time(&tst)?, serial: hex::encode(tst.serial_number.as_bytes()), tsa })
}

/// A token as a TimeStampResp granting it, the form `openssl ts -verify -in` reads.
pub fn as_response(token: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let resp = TimeStampResp {
        status: cmpv2::status::PkiStatusInfo {
            status: cmpv2::status::PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(ContentInfo::from_der(token).map_err(malformed("the token"))?),
    };
    resp.to_der().map_err(malformed("the response"))
}

fn gen_time(tst: &TstInfo) -> Result<Timestamp, TimestampError> {
    Ok(Timestamp::from_unix(
        i64::try_from(tst.gen_time.to_unix_duration().as_secs())
            .map_err(|_| TimestampError::Malformed("its time is out of range".into()))?,
    ))
}

/// The SignedData, its TSTInfo and the TSTInfo's DER.
fn parse(token: &[u8]) -> Result<(SignedData, TstInfo, Vec<u8>), TimestampError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TimestampError::Malformed(format!("{} bytes, over the {MAX_TOKEN_BYTES}-byte limit", token.len())));
    }
    let info = ContentInfo::from_der(token).map_err(malformed("the token"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(TimestampError::Malformed("the token is not CMS SignedData".into()));
    }
    let sd: SignedData = info.content.decode_as().map_err(malformed("the SignedData"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed("the token's content is not a TSTInfo".into()));
    }
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("the token has no TSTInfo".into()))?;
    let tst_der = OctetString::from_der(&content.to_der().map_err(malformed("the TSTInfo"))?)
        .map_err(malformed("the TSTInfo"))?
        .as_bytes()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(malformed("the TSTInfo"))?;
    Ok((sd, tst, tst_der))
}

/// Checks a token (DER) for `signature` against the TSA root `tsa_root` (DER).
pub fn verify(token: &[u8], signature: &[u8], tsa_root: &[u8]) -> Result<Stamp, TimestampError> {
    check(token, signature, tsa_root).map(|(stamp, _)| stamp)
}

fn check(token: &[u8], signature: &[u8], tsa_root: &[u8]) -> Result<(Stamp, TstInfo), TimestampError> {
    let (sd, tst, tst_der) = parse(token)?;
    if tst.message_imprint != imprint(signature)? {
        return Err(TimestampError::OtherSignature);
    }
    let signer = match sd.signer_infos.0.as_slice() {
        [one] => one,
        other => return Err(TimestampError::Malformed(format!("{} signers; a token has one", other.len()))),
    };
    // The parts no signature covers have one allowed form.
    if sd.crls.is_some() || signer.unsigned_attrs.is_some() {
        return Err(TimestampError::Malformed("it carries revocation lists or unsigned attributes".into()));
    }
    if sd.digest_algorithms.as_slice() != [signer.digest_alg.clone()] {
        return Err(TimestampError::Malformed("its digest algorithms are not exactly its signer's".into()));
    }
    let certs: Vec<&Certificate> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let leaf = signer_certificate(&certs, &signer.sid)?;
    check_signed_attributes(signer, &tst_der)?;
    check_signature(signer, leaf)?;

    let time = gen_time(&tst)?;
    let leaf_der = leaf.to_der().map_err(malformed("the TSA certificate"))?;
    let others: Vec<Vec<u8>> =
        certs.iter().filter(|c| !std::ptr::eq(**c, leaf)).filter_map(|c| c.to_der().ok()).collect();
    let path = crate::crypto::validate_timestamping_chain(&leaf_der, &others, tsa_root, time)
        .map_err(|e| TimestampError::Untrusted(e.to_string()))?;
    // Nothing in the token goes unchecked: it carries its TSA's chain and nothing else (a
    // certificate off the path would be bytes no signature covers).
    if let Some(extra) = others.iter().find(|c| c.as_slice() != tsa_root && !path.contains(c)) {
        let what = crate::crypto::cert_info(extra).ok().and_then(|i| i.subject_cn).unwrap_or_else(|| "?".into());
        return Err(TimestampError::Malformed(format!(
            "it carries a certificate ({what}) that is not on its TSA's chain"
        )));
    }
    let stamp = Stamp {
        time,
        serial: hex::encode(tst.serial_number.as_bytes()),
        tsa: crate::crypto::cert_info(&leaf_der).ok().and_then(|i| i.subject_cn),
    };
    Ok((stamp, tst))
}

fn signer_certificate<'a>(
    certs: &[&'a Certificate],
    sid: &SignerIdentifier,
) -> Result<&'a Certificate, TimestampError> {
    let found = certs.iter().copied().find(|c| match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => {
            c.tbs_certificate.issuer == is.issuer && c.tbs_certificate.serial_number == is.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .get::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, own)| own == *ski),
    });
    found.ok_or_else(|| TimestampError::Malformed("the TSA's certificate is not in the token".into()))
}

/// The signed attributes must name TSTInfo as the content type and carry its digest.
fn check_signed_attributes(signer: &SignerInfo, tst_der: &[u8]) -> Result<(), TimestampError> {
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("the signer has no signed attributes".into()))?;
    let value = |oid: ObjectIdentifier| {
        let mut matching = attrs.iter().filter(|a| a.oid == oid);
        match (matching.next(), matching.next()) {
            (Some(a), None) if a.values.len() == 1 => a.values.iter().next(),
            _ => None,
        }
    };
    let content_type = value(ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| TimestampError::Malformed("no single content-type attribute".into()))?;
    if content_type != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed("the signed content type is not TSTInfo".into()));
    }
    let claimed = value(ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| TimestampError::Malformed("no single message-digest attribute".into()))?;
    let algorithm = match signer.digest_alg.oid {
        ID_SHA256 => &digest::SHA256,
        ID_SHA384 => &digest::SHA384,
        ID_SHA512 => &digest::SHA512,
        other => return Err(TimestampError::Signature(format!("unsupported digest algorithm {other}"))),
    };
    if claimed.as_bytes() != digest::digest(algorithm, tst_der).as_ref() {
        return Err(TimestampError::Signature("the signed digest is not the TSTInfo's".into()));
    }
    Ok(())
}

/// The TSA's signature over the DER SET OF its signed attributes.
fn check_signature(signer: &SignerInfo, cert: &Certificate) -> Result<(), TimestampError> {
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("the signer has no signed attributes".into()))?;
    let message = attrs.to_der().map_err(malformed("the signed attributes"))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key = spki.subject_public_key.raw_bytes();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let algorithm: &dyn ring::signature::VerificationAlgorithm =
        match (spki.algorithm.oid, curve, signer.signature_algorithm.oid, signer.digest_alg.oid) {
            (ID_EC_PUBLIC_KEY, Some(ID_P256), ID_ECDSA_SHA256, _) => &ring::signature::ECDSA_P256_SHA256_ASN1,
            (ID_EC_PUBLIC_KEY, Some(ID_P256), ID_ECDSA_SHA384, _) => &ring::signature::ECDSA_P256_SHA384_ASN1,
            (ID_EC_PUBLIC_KEY, Some(ID_P384), ID_ECDSA_SHA256, _) => &ring::signature::ECDSA_P384_SHA256_ASN1,
            (ID_EC_PUBLIC_KEY, Some(ID_P384), ID_ECDSA_SHA384, _) => &ring::signature::ECDSA_P384_SHA384_ASN1,
            (ID_RSA, _, ID_RSA_SHA256, _) | (ID_RSA, _, ID_RSA, ID_SHA256) => {
                &ring::signature::RSA_PKCS1_2048_8192_SHA256
            }
            (ID_RSA, _, ID_RSA_SHA384, _) | (ID_RSA, _, ID_RSA, ID_SHA384) => {
                &ring::signature::RSA_PKCS1_2048_8192_SHA384
            }
            (ID_RSA, _, ID_RSA_SHA512, _) | (ID_RSA, _, ID_RSA, ID_SHA512) => {
                &ring::signature::RSA_PKCS1_2048_8192_SHA512
            }
            (key_alg, _, sig_alg, _) => {
                return Err(TimestampError::Signature(format!(
                    "unsupported key {key_alg} or signature algorithm {sig_alg}"
                )));
            }
        };
    ring::signature::UnparsedPublicKey::new(algorithm, key)
        .verify(&message, signer.signature.as_bytes())
        .map_err(|_| TimestampError::Signature("made by another key, or the token was altered".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_der_rfc_3161_describes() {
        let req = request(b"sig", &[0x80, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        let parsed = TimeStampReq::from_der(&req).unwrap();
        assert!(parsed.cert_req);
        assert_eq!(parsed.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert_eq!(parsed.message_imprint.hashed_message.as_bytes(), digest::digest(&digest::SHA256, b"sig").as_ref());
        // The nonce stays positive although its first byte has the top bit set, and is
        // minimal DER whatever its first bytes (openssl refuses a request otherwise).
        assert_eq!(parsed.nonce.unwrap().as_bytes(), [0, 0x80, 1, 2, 3, 4, 5, 6, 7]);
        for (nonce, der) in [([0, 0, 0x12, 0, 0, 0, 0, 1], &[0x12, 0, 0, 0, 0, 1][..]), ([0; 8], &[0][..])] {
            let parsed = TimeStampReq::from_der(&request(b"sig", &nonce).unwrap()).unwrap();
            assert_eq!(parsed.nonce.unwrap().as_bytes(), der);
        }
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        for bad in [&b""[..], b"\x30\x03\x02\x01\x01", &[0x30, 0x82, 0xff, 0xff], &[0u8; 100]] {
            assert!(matches!(verify(bad, b"sig", b"root"), Err(TimestampError::Malformed(_))), "{bad:?}");
        }
    }
}
