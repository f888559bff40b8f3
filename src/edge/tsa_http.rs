//! The time-stamping authority over HTTP (RFC 3161 §3.4): POST the DER TimeStampReq as
//! `application/timestamp-query`, read the TimeStampResp. The answer is checked — granted,
//! this request's nonce, this signature's imprint, a TSA under the configured root —
//! before its token goes into a signature block.

use std::time::Duration;

use ring::rand::SecureRandom;

use crate::timestamp::{self, Stamper, TimestampError};

/// How long a TSA may take to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, in bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A TSA at a URL, trusted under a root certificate.
pub struct HttpStamper {
    url: String,
    root: Vec<u8>,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl HttpStamper {
    /// The TSA at `url` whose tokens must chain to `root` (DER). Call from within the
    /// runtime; [`Stamper::stamp`] is then called from a blocking thread (signing is).
    pub fn new(url: &str, root: Vec<u8>) -> Result<Self, TimestampError> {
        crate::store::install_crypto_provider();
        let unavailable = |why: String| TimestampError::Unavailable { url: url.to_owned(), why };
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| unavailable(e.to_string()))?;
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| unavailable(e.to_string()))?;
        Ok(Self { url: url.to_owned(), root, client, runtime })
    }

    async fn post(&self, query: Vec<u8>) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .body(query)
            .send()
            .await
            .map_err(|e| format!("{e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let body = response.bytes().await.map_err(|e| format!("{e}"))?;
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(format!("an answer of {} bytes, over {MAX_RESPONSE_BYTES}", body.len()));
        }
        Ok(body.to_vec())
    }
}

impl Stamper for HttpStamper {
    fn stamp(&self, signed: &[u8]) -> Result<Vec<u8>, TimestampError> {
        let mut nonce = [0u8; 8];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| TimestampError::Unavailable { url: self.url.clone(), why: "no random nonce".into() })?;
        let query = timestamp::request(signed, &nonce)?;
        let body = self
            .runtime
            .block_on(self.post(query))
            .map_err(|why| TimestampError::Unavailable { url: self.url.clone(), why })?;
        let (token, _) = timestamp::token_from_response(&body, signed, &nonce, &self.root)?;
        Ok(token)
    }
}
