//! Keys in AWS KMS, through the AWS SDK for Rust.
//!
//! A key is a new KMS key per profile version (`KeySpec` ECC_NIST_P256 or ECC_NIST_P384,
//! `KeyUsage` SIGN_VERIFY): KMS generates it and never exports it. Its public key comes
//! from `GetPublicKey`; `Sign` takes the message itself when it fits KMS's 4,096 bytes
//! (`MessageType` RAW), or its digest (DIGEST) when it is longer. The DER signature KMS
//! returns becomes the block's fixed-size `r || s` (low S) in [`crypto::signature_from_der`].
//!
//! The SDK is asynchronous and [`SigningKey::sign`] is not (signing runs on blocking
//! threads and inside rcgen), so every KMS call runs on one small runtime of its own and
//! the caller waits for its answer: no caller's runtime is ever blocked on itself.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata as _;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};

use super::CustodyError;
use crate::crypto::{self, CryptoError, SigningKey};
use crate::edge::aws;
use crate::model::Platform;

/// The longest message KMS signs as it is (`MessageType` RAW).
const MAX_RAW_MESSAGE: usize = 4_096;

/// The backend's name in messages.
const BACKEND: &str = "AWS KMS";

/// A KMS key, with the client of its region.
pub struct KmsKey {
    client: Client,
    key_id: String,
    platform: Platform,
    spki: Vec<u8>,
}

/// Creates a KMS key for `platform` (ECDSA only) described as `label`; returns it and
/// its ARN.
pub fn generate(platform: Platform, label: &str) -> Result<(Box<dyn SigningKey>, String), CustodyError> {
    let spec = match platform {
        Platform::EcdsaP256Sha256 => KeySpec::EccNistP256,
        Platform::EcdsaP384Sha384 => KeySpec::EccNistP384,
        Platform::Ed25519 => return Err(super::kms_ed25519()),
    };
    let client = client(None)?;
    let description = label.to_owned();
    let created = run({
        let client = client.clone();
        async move {
            client.create_key().key_spec(spec).key_usage(KeyUsageType::SignVerify).description(description).send().await
        }
    })?
    .map_err(|e| classify(e, "CreateKey", "(new key)"))?;
    let arn = created
        .key_metadata()
        .and_then(|m| m.arn())
        .ok_or_else(|| backend("create a key", "CreateKey answered without the key's ARN".into()))?
        .to_owned();
    let key = with_public_key(client, arn.clone())?;
    if key.platform != platform {
        return Err(CryptoError::PlatformMismatch { expected: platform, found: key.platform.as_str() }.into());
    }
    Ok((Box::new(key), arn))
}

/// Opens the KMS key `key_id` (an ARN: its region picks the endpoint's region).
pub fn open(key_id: &str) -> Result<Box<dyn SigningKey>, CustodyError> {
    Ok(Box::new(with_public_key(client(arn_region(key_id))?, key_id.to_owned())?))
}

fn with_public_key(client: Client, key_id: String) -> Result<KmsKey, CustodyError> {
    let answer = run({
        let client = client.clone();
        let key_id = key_id.clone();
        async move { client.get_public_key().key_id(key_id).send().await }
    })?
    .map_err(|e| classify(e, "GetPublicKey", &key_id))?;
    let spki = answer
        .public_key()
        .ok_or_else(|| backend("read the public key", "GetPublicKey answered without a key".into()))?
        .as_ref()
        .to_vec();
    let platform = crypto::spki_platform(&spki)?;
    if platform == Platform::Ed25519 {
        return Err(super::kms_ed25519());
    }
    Ok(KmsKey { client, key_id, platform, spki })
}

impl SigningKey for KmsKey {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let algorithm = match self.platform {
            Platform::EcdsaP256Sha256 => SigningAlgorithmSpec::EcdsaSha256,
            _ => SigningAlgorithmSpec::EcdsaSha384,
        };
        let (kind, message) = match crypto::ecdsa_digest(self.platform, msg) {
            Some(digest) if msg.len() > MAX_RAW_MESSAGE => (MessageType::Digest, digest),
            _ => (MessageType::Raw, msg.to_vec()),
        };
        let request = self
            .client
            .sign()
            .key_id(self.key_id.clone())
            .signing_algorithm(algorithm)
            .message_type(kind)
            .message(Blob::new(message));
        let answer = run(async move { request.send().await })
            .and_then(|r| r.map_err(|e| classify(e, "Sign", &self.key_id)))
            .map_err(CustodyError::into_crypto)?;
        let der = answer.signature().ok_or_else(|| CryptoError::KeyUnavailable {
            reason: "AWS KMS answered Sign without a signature".into(),
        })?;
        crypto::signature_from_der(self.platform, der.as_ref())
    }
}

/// The region of a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
fn arn_region(key_id: &str) -> Option<String> {
    let mut parts = key_id.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("kms"), Some(region)) if !region.is_empty() => Some(region.to_owned()),
        _ => None,
    }
}

/// A client for `region` (or the configured one), from the usual AWS chain, made once.
fn client(region: Option<String>) -> Result<Client, CustodyError> {
    static CLIENTS: OnceLock<Mutex<HashMap<Option<String>, Client>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&region) {
        return Ok(c.clone());
    }
    let wanted = region.clone();
    let client = run(async move { Client::new(&aws::load(wanted).await) })?;
    clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(region, client.clone());
    Ok(client)
}

/// Runs `fut` on the AWS runtime and waits for it (see [`aws::run`]).
fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T, CustodyError> {
    aws::run(fut).map_err(|why| backend("answer", why))
}

fn backend(action: &'static str, reason: String) -> CustodyError {
    CustodyError::Backend { backend: BACKEND, action, reason }
}

/// An SDK error as what the user must do: access denied, no such key, a key that cannot
/// sign now, or KMS unreachable.
fn classify<E>(
    e: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
    action: &'static str,
    key: &str,
) -> CustodyError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let message = e
        .message()
        .map_or_else(|| status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}")), str::to_owned);
    let key = key.to_owned();
    match (e.code(), status) {
        (
            Some(
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "ExpiredTokenException",
            ),
            _,
        )
        // An answer KMS's protocol does not parse, with 403: denied by whatever stands in front.
        | (None, Some(403)) => CustodyError::KmsDenied { action, key, message },
        (Some("NotFoundException"), _) => CustodyError::KmsNotFound { key, message },
        (Some("DisabledException" | "KMSInvalidStateException" | "KeyUnavailableException"), _) => {
            CustodyError::KmsKeyState { key, message }
        }
        (code, _) => backend(
            match action {
                "Sign" => "sign",
                "GetPublicKey" => "read the public key",
                _ => "create a key",
            },
            match (code, status) {
                (Some(code), _) => format!("{code}: {message}"),
                (None, Some(status)) => format!("HTTP {status}, an answer that is not KMS's"),
                // No answer: the cause chain says why (connection refused, timeout, no credentials).
                (None, None) => aws_sdk_kms::error::DisplayErrorContext(&e).to_string(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(arn_region("arn:aws:kms:eu-west-1:123456789012:key/k").as_deref(), Some("eu-west-1"));
        assert_eq!(arn_region("arn:aws-cn:kms:cn-north-1:1:key/k").as_deref(), Some("cn-north-1"));
        assert_eq!(arn_region("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
        assert_eq!(arn_region("arn:aws:s3:::bucket"), None);
    }
}
