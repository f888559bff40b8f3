//! Cross-checks of `signer::crypto` against the `openssl` command line: what signer
//! writes, openssl verifies and reads; what openssl generates, signer reads (SPEC §4:
//! `signature export` files are verified with `openssl dgst -verify` and `openssl verify`).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use signer::crypto::{
    SecretKey, cert_info, create_root_ca, issue_code_signing_cert, parse_pem_certs, signature_to_der, to_pem,
    validate_chain, verify_signature,
};
use signer::model::{Platform, VersionRef};

/// Runs `openssl ARGS` in `dir`; an error means openssl could not be started (installed?).
fn run(dir: &Path, args: &[impl AsRef<OsStr>]) -> std::io::Result<Output> {
    Command::new("openssl").args(args).current_dir(dir).output()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "openssl failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The openssl command that verifies `sig.der` over `msg` with `pub.pem`.
fn verify_args(platform: Platform, msg: &str) -> Vec<&str> {
    match platform {
        Platform::EcdsaP256Sha256 => vec!["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", msg],
        Platform::EcdsaP384Sha384 => vec!["dgst", "-sha384", "-verify", "pub.pem", "-signature", "sig.der", msg],
        Platform::Ed25519 => {
            vec!["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", msg, "-sigfile", "sig.der"]
        }
    }
}

#[test]
fn openssl_verifies_our_signatures_and_certificates_on_every_platform() {
    let now = signer::clock::now();
    let (root, root_key) = create_root_ca(now).unwrap();
    let version: VersionRef = "Openssl_check/AbCdEf1234".parse().unwrap();
    for platform in Platform::ALL {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path();
        let key = SecretKey::generate(platform).unwrap();
        let leaf = issue_code_signing_cert(&root, &root_key, &key, &version, now, now.plus_secs(86_400)).unwrap();
        validate_chain(&leaf, &[], &root, now.plus_secs(1)).unwrap();

        let msg = b"payload bytes, exactly as signed\n";
        let sig = key.sign(msg).unwrap();
        verify_signature(platform, &key.public_key_spki_der(), msg, &sig).unwrap();
        std::fs::write(d.join("msg"), msg).unwrap();
        std::fs::write(d.join("tampered"), b"payload bytes, exactly as signed!").unwrap();
        std::fs::write(d.join("sig.der"), signature_to_der(platform, &sig).unwrap()).unwrap();
        std::fs::write(d.join("pub.pem"), to_pem("PUBLIC KEY", &key.public_key_spki_der())).unwrap();
        std::fs::write(d.join("certificate.pem"), to_pem("CERTIFICATE", &leaf)).unwrap();
        std::fs::write(d.join("chain.pem"), to_pem("CERTIFICATE", &root)).unwrap();

        // The signature: good message verifies, tampered one does not.
        let args = verify_args(platform, "msg");
        let out = ok(&run(d, &args).unwrap());
        assert!(out.contains("Verified OK") || out.contains("Signature Verified Successfully"), "{platform}: {out}");
        let args = verify_args(platform, "tampered");
        let out = run(d, &args).unwrap();
        assert!(!out.status.success(), "{platform}: openssl accepted a tampered message");

        // The certificate: chains to the root, is for code signing, carries the key.
        let out = ok(&run(d, &["verify", "-CAfile", "chain.pem", "-purpose", "any", "certificate.pem"]).unwrap());
        assert!(out.contains("certificate.pem: OK"), "{platform}: {out}");
        let out = ok(&run(d, &["x509", "-in", "certificate.pem", "-noout", "-ext", "extendedKeyUsage"]).unwrap());
        assert!(out.contains("Code Signing"), "{platform}: {out}");
        assert!(!out.contains("TLS Web"), "{platform}: {out}");
        let out =
            ok(&run(d, &["x509", "-in", "certificate.pem", "-noout", "-subject", "-nameopt", "RFC2253"]).unwrap());
        assert!(out.contains("CN=Openssl_check/AbCdEf1234,OU=signing profile,O=signer"), "{platform}: {out}");
        let out = ok(&run(d, &["x509", "-in", "certificate.pem", "-noout", "-pubkey"]).unwrap());
        assert_eq!(out, to_pem("PUBLIC KEY", &key.public_key_spki_der()), "{platform}");
        let out = ok(&run(d, &["x509", "-in", "certificate.pem", "-noout", "-fingerprint", "-sha256"]).unwrap());
        let fp = out.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase();
        assert_eq!(fp, cert_info(&leaf).unwrap().sha256_fingerprint);

        // Another root with the same names does not vouch for this certificate.
        let (other_root, _) = create_root_ca(now).unwrap();
        std::fs::write(d.join("other.pem"), to_pem("CERTIFICATE", &other_root)).unwrap();
        let out = run(d, &["verify", "-CAfile", "other.pem", "-purpose", "any", "certificate.pem"]).unwrap();
        assert!(!out.status.success(), "{platform}: openssl accepted a chain to another root");

        // Our PKCS#8 PEM is a key openssl reads, and it is the certificate's key.
        std::fs::write(d.join("key.pem"), key.to_pkcs8_pem().as_bytes()).unwrap();
        ok(&run(d, &["pkey", "-in", "key.pem", "-noout"]).unwrap());
        let out = ok(&run(d, &["pkey", "-in", "key.pem", "-pubout"]).unwrap());
        assert_eq!(out, to_pem("PUBLIC KEY", &key.public_key_spki_der()), "{platform}");
    }
}

#[test]
fn openssl_reads_the_root_ca_as_the_spec_describes() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let (root, _) = create_root_ca(signer::clock::now()).unwrap();
    std::fs::write(d.join("root.pem"), to_pem("CERTIFICATE", &root)).unwrap();
    let text = ok(&run(d, &["x509", "-in", "root.pem", "-noout", "-text"]).unwrap());
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("ecdsa-with-SHA384"), "{text}");
    assert!(text.contains("NIST CURVE: P-384"), "{text}");
    let out = ok(&run(d, &["x509", "-in", "root.pem", "-noout", "-subject", "-nameopt", "RFC2253"]).unwrap());
    assert!(out.contains("CN=signer root CA,O=signer"), "{out}");
    // openssl's own PEM of the certificate is what we parse, and what we write.
    let pem = ok(&run(d, &["x509", "-in", "root.pem"]).unwrap());
    assert_eq!(parse_pem_certs(&pem).unwrap(), vec![root.clone()]);
    assert_eq!(pem, to_pem("CERTIFICATE", &root));
}

#[test]
fn we_read_keys_openssl_generates_and_refuse_the_ones_we_should() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let cases: [(&[&str], Platform); 3] = [
        (
            &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "k.pem"],
            Platform::EcdsaP384Sha384,
        ),
        (
            &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "k.pem"],
            Platform::EcdsaP256Sha256,
        ),
        (&["genpkey", "-algorithm", "ed25519", "-out", "k.pem"], Platform::Ed25519),
    ];
    for (args, platform) in cases {
        ok(&run(d, args).unwrap());
        let key = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("k.pem")).unwrap()).unwrap();
        assert_eq!(key.platform(), platform);
        // Our public key is openssl's, and openssl verifies what we sign with its key.
        let out = ok(&run(d, &["pkey", "-in", "k.pem", "-pubout"]).unwrap());
        assert_eq!(out, to_pem("PUBLIC KEY", &key.public_key_spki_der()), "{platform}");
        std::fs::write(d.join("pub.pem"), out).unwrap();
        std::fs::write(d.join("msg"), b"m").unwrap();
        std::fs::write(d.join("sig.der"), signature_to_der(platform, &key.sign(b"m").unwrap()).unwrap()).unwrap();
        let args = verify_args(platform, "msg");
        ok(&run(d, &args).unwrap());
        // The DER form of the same key loads too.
        ok(&run(d, &["pkcs8", "-topk8", "-nocrypt", "-in", "k.pem", "-outform", "DER", "-out", "k.der"]).unwrap());
        let again = SecretKey::from_pkcs8(&std::fs::read(d.join("k.der")).unwrap()).unwrap();
        assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
    }

    // SEC1 "EC PRIVATE KEY" is refused with the conversion command, and that command's
    // output then loads.
    ok(&run(d, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.pem"]).unwrap());
    let sec1 = std::fs::read_to_string(d.join("sec1.pem")).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let e = SecretKey::from_pkcs8_pem(&sec1).err().unwrap().to_string();
    assert!(e.contains("EC PRIVATE KEY") && e.contains("openssl pkcs8 -topk8 -nocrypt"), "{e}");
    ok(&run(d, &["pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "converted.pem"]).unwrap());
    let key = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("converted.pem")).unwrap()).unwrap();
    assert_eq!(key.platform(), Platform::EcdsaP256Sha256);

    // An RSA key and a P-521 key are of unsupported algorithms; an encrypted key is refused.
    ok(&run(d, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem"]).unwrap());
    let e = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("rsa.pem")).unwrap()).err().unwrap().to_string();
    assert!(e.contains("only PKCS#8 ECDSA P-256/P-384 or Ed25519 keys"), "{e}");
    ok(&run(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", "-out", "p521.pem"]).unwrap());
    let e = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("p521.pem")).unwrap()).err().unwrap().to_string();
    assert!(e.contains("only PKCS#8 ECDSA P-256/P-384 or Ed25519 keys"), "{e}");
    ok(&run(d, &["pkcs8", "-topk8", "-in", "converted.pem", "-passout", "pass:secret", "-out", "enc.pem"]).unwrap());
    let e = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("enc.pem")).unwrap()).err().unwrap().to_string();
    assert!(e.contains("ENCRYPTED PRIVATE KEY") && e.contains("openssl pkcs8 -topk8 -nocrypt"), "{e}");
}
