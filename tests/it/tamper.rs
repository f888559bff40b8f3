//! Every single-byte change, every truncation, and every prefix or suffix of a small
//! signed package fails verification; a certificate from another CA with the same profile
//! name and version fails authenticity (issue #2, issue #6 property).

use std::io::Cursor;

use proptest::prelude::*;
use signer::crypto::{self, SecretKey};
use signer::model::{Platform, Timestamp, VersionRef};
use signer::sign::{SignParams, sign_package};
use signer::verify::{self, Integrity, TrustedVersion};
use signer::zipcheck::ZipLimits;

use crate::util::fixture;

struct Signed {
    bytes: Vec<u8>,
    trusted: TrustedVersion,
}

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

fn sign_with(root: &(Vec<u8>, SecretKey), version: &VersionRef, platform: Platform, src: &[u8]) -> Signed {
    let key = SecretKey::generate(platform).unwrap();
    let cert = crypto::issue_code_signing_cert(
        &root.0,
        &root.1,
        &key,
        version,
        now().plus_secs(-60),
        now().plus_secs(86_400 * 365),
    )
    .unwrap();
    let params = SignParams {
        key: std::sync::Arc::new(key),
        chain: vec![cert.clone(), root.0.clone()],
        version: version.clone(),
        job_id: None,
        signed_at: now(),
        expires_at: now().plus_secs(86_400 * 30),
        stamper: None,
    };
    let mut out = Vec::new();
    sign_package(&mut Cursor::new(src), &mut out, &params, &ZipLimits::default(), &mut |_| {}).unwrap();
    Signed {
        bytes: out,
        trusted: TrustedVersion { version: version.clone(), certificate: cert, anchor: root.0.clone(), tsa_root: None },
    }
}

/// Whether `bytes` pass integrity and authenticity against `trusted`.
fn accepted(bytes: &[u8], trusted: &TrustedVersion) -> bool {
    // Not a zip any more (the end record cut off): refused before any hashing.
    let Ok(read) = verify::read_package(&mut Cursor::new(bytes), verify::WholeHash::Skip, &mut |_| {}) else {
        return false;
    };
    match &read.integrity {
        Integrity::Intact(block) => verify::authenticate(block, Some(trusted)).is_ok(),
        _ => false,
    }
}

fn version() -> VersionRef {
    "Tamper/AbCdEf1234".parse().unwrap()
}

#[test]
fn every_byte_flip_truncation_and_extension_fails() {
    let root = crypto::create_root_ca(now()).unwrap();
    let src = std::fs::read(fixture("packages/hello-function.zip")).unwrap();
    for platform in Platform::ALL {
        let s = sign_with(&root, &version(), platform, &src);
        assert!(accepted(&s.bytes, &s.trusted), "{platform}: the untouched package must pass");
        for i in 0..s.bytes.len() {
            let mut m = s.bytes.clone();
            m[i] ^= 0x01;
            assert!(
                !accepted(&m, &s.trusted),
                "{platform}: flipping bit 0 of byte {i} of {} was accepted",
                s.bytes.len()
            );
            m[i] ^= 0x81;
            assert!(!accepted(&m, &s.trusted), "{platform}: flipping bit 7 of byte {i} was accepted");
        }
        for cut in 1..s.bytes.len() {
            assert!(!accepted(&s.bytes[..cut], &s.trusted), "{platform}: truncation to {cut} accepted");
        }
        for extra in [&b"x"[..], b"\n", b"PK\x05\x06", &[0u8; 22]] {
            assert!(
                !accepted(&[s.bytes.as_slice(), extra].concat(), &s.trusted),
                "{platform}: appended {extra:?} accepted"
            );
            assert!(
                !accepted(&[extra, s.bytes.as_slice()].concat(), &s.trusted),
                "{platform}: prepended {extra:?} accepted"
            );
        }
    }
}

#[test]
fn a_certificate_from_another_ca_with_the_same_names_fails_authenticity() {
    let src = std::fs::read(fixture("packages/hello-function.zip")).unwrap();
    let store_root = crypto::create_root_ca(now()).unwrap();
    let genuine = sign_with(&store_root, &version(), Platform::EcdsaP384Sha384, &src);
    let rogue_root = crypto::create_root_ca(now()).unwrap();
    let forged = sign_with(&rogue_root, &version(), Platform::EcdsaP384Sha384, &src);
    // Integrity holds for the forgery: its own signature is good…
    let read = verify::read_package(&mut Cursor::new(&forged.bytes), verify::WholeHash::Skip, &mut |_| {}).unwrap();
    let Integrity::Intact(block) = &read.integrity else { panic!("forgery should be intact") };
    // …but it does not chain to the store's root.
    let failure = verify::authenticate(block, Some(&genuine.trusted)).unwrap_err();
    assert_eq!(failure.id(), "untrusted-chain");
    let err = failure.to_string();
    assert!(err.contains("trusted root"), "{err}");
    // Nor does a certificate from the store's own root that the store did not record.
    let other = sign_with(&store_root, &version(), Platform::EcdsaP384Sha384, &src);
    let read = verify::read_package(&mut Cursor::new(&other.bytes), verify::WholeHash::Skip, &mut |_| {}).unwrap();
    let Integrity::Intact(block) = &read.integrity else { panic!() };
    let failure = verify::authenticate(block, Some(&genuine.trusted)).unwrap_err();
    assert_eq!(failure.id(), "certificate-not-recorded");
    let err = failure.to_string();
    assert!(err.contains("not the one this store recorded"), "{err}");
}

fn small_zip(entries: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, deflate) in entries {
        let method = if *deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random small zips: signing succeeds, and every single-byte change and every
    /// truncation of the signed package fails verification.
    #[test]
    fn random_packages_reject_every_mutation(
        entries in prop::collection::vec(("[a-z]{1,8}(/[a-z]{1,8})?", prop::collection::vec(any::<u8>(), 0..200), any::<bool>()), 1..4),
        xor in 1u8..=255,
    ) {
        // Names the gate accepts: no repeats, and no file that is also a folder of another
        // entry (`b` and `b/x`: the file-used-as-directory rule).
        let (mut files, mut dirs) = (std::collections::HashSet::new(), std::collections::HashSet::new());
        let entries: Vec<_> = entries
            .into_iter()
            .filter(|(n, _, _)| {
                let name = n.to_lowercase();
                let dir = name.split_once('/').map(|(d, _)| d.to_owned());
                if files.contains(&name) || dirs.contains(&name) || dir.as_ref().is_some_and(|d| files.contains(d)) {
                    return false;
                }
                dirs.extend(dir);
                files.insert(name)
            })
            .collect();
        let src = small_zip(&entries);
        let root = crypto::create_root_ca(now()).unwrap();
        let s = sign_with(&root, &version(), Platform::Ed25519, &src);
        prop_assert!(accepted(&s.bytes, &s.trusted));
        for i in 0..s.bytes.len() {
            let mut m = s.bytes.clone();
            m[i] ^= xor;
            prop_assert!(!accepted(&m, &s.trusted), "byte {} ^ {:#x} accepted", i, xor);
        }
        for cut in 0..s.bytes.len() {
            prop_assert!(!accepted(&s.bytes[..cut], &s.trusted));
        }
    }
}
