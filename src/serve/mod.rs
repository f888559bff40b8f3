//! `signer serve`: AWS Signer's and AWS Lambda's wire APIs (layers and code-signing
//! configs) over the same store and core as the command line, so that the aws cli,
//! boto3, the AWS SDKs and Terraform drive signer (issue 17).
//!
//! The server never holds a signing key: it records jobs, and workers sign them. Every
//! request is authenticated first ([`auth`]: AWS Signature Version 4 against the home's
//! access keys) and authorised by its handler (read-only, sign and admin keys, and the
//! profiles' permissions). Requests and answers follow the botocore service models;
//! [`wire`] holds the translations.

mod auth;
mod error;
mod lambda_api;
mod signer_api;
mod tags;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub use auth::Caller;
pub use error::{Api, ApiError};

use crate::access_keys::Keyring;
use crate::custody::KeyStore;
use crate::error::Error;
use crate::home::Home;
use crate::store::Store;

/// How much a request may carry and how long it may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest body of most operations.
    pub body: usize,
    /// The largest body of PublishLayerVersion (Lambda's request limit: a 50 MiB zip in
    /// base64, 69,905,067 bytes, plus the JSON around it).
    pub layer_body: usize,
    /// How long a client may take to send its headers.
    pub header_timeout: Duration,
    /// How long a client may take to send its body.
    pub body_timeout: Duration,
    /// How many connections are served at once (more wait to be accepted).
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body: 256 << 10,
            layer_body: 69_905_067 + (64 << 10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            connections: 512,
        }
    }
}

impl Limits {
    /// The body limit of the operation at `path`.
    fn body_limit(&self, path: &str) -> usize {
        let publish = path.starts_with("/2018-10-31/layers/") && path.ends_with("/versions");
        if publish { self.layer_body } else { self.body }
    }
}

/// What every handler shares.
pub struct App {
    /// The store.
    pub store: Store,
    /// The home: the root CA's or an administrator's key that seals records, and the
    /// access keys.
    pub home: Home,
    /// The access keys, cached.
    pub keyring: Keyring,
    /// The account id and region of ARNs and credential scopes.
    pub arns: wire::Arns,
    /// Where PutSigningProfile generates the new profiles' keys.
    pub key_store: KeyStore,
    /// Body sizes and timeouts.
    pub limits: Limits,
    /// Whether clients connect over TLS (the scheme of the URLs the server hands out).
    pub https: bool,
    /// The key that signs layer download URLs, drawn at start.
    content_key: ring::hmac::Key,
}

impl App {
    /// A server's state over `store` and `home`.
    pub fn new(
        store: Store,
        home: Home,
        arns: wire::Arns,
        key_store: KeyStore,
        limits: Limits,
        https: bool,
    ) -> Result<Self, Error> {
        let content_key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
            .map_err(|_| Error::Internal("the system's random generator failed".into()))?;
        Ok(Self { keyring: Keyring::new(home.clone()), store, home, arns, key_store, limits, https, content_key })
    }
}

/// The routes, every one behind [`auth::authenticate`] but the layer downloads, whose
/// URLs carry their own signature.
pub fn router(app: Arc<App>) -> Router {
    let authenticated = signer_api::routes()
        .merge(lambda_api::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth::authenticate));
    lambda_api::download_routes().merge(authenticated).with_state(app)
}

async fn unknown_operation(uri: Uri, method: axum::http::Method) -> ApiError {
    let api = Api::of_path(uri.path());
    ApiError::new(
        api,
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("no operation answers {method} {}; see the README's list of operations", uri.path()),
    )
}

/// A JSON body with its content type.
pub(crate) fn json_body(value: &serde_json::Value) -> Response {
    let mut response = Body::from(value.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A 200 answer with `value` as its body.
pub(crate) fn ok(value: &serde_json::Value) -> Response {
    json_body(value)
}

/// A request body parsed as `T` (whose serde attributes refuse unknown fields where the
/// model has none); an empty body is `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(api: Api, bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(api, format!("the request body is not valid: {e}")))
}

/// The first value of the query parameter `name`.
pub(crate) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Drops the members whose value is null: the SDKs read an absent member as unset, and
/// some refuse a null where the model has a structure.
pub(crate) fn compact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        map.retain(|_, x| !x.is_null());
        for x in map.values_mut() {
            *x = compact(x.take());
        }
    }
    v
}

/// The query's parameters, decoded.
pub(crate) fn query(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

/// A TLS configuration from a PEM certificate chain and a PEM private key.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, Error> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |why: String| Error::Usage { why };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("the --tls-cert file is not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad("the --tls-cert file holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| bad(format!("the --tls-key file is not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| bad(format!("the TLS certificate and key do not make a server configuration: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the connections in
/// flight finish for up to `grace`. With `tls`, every connection is TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> Result<(), Error> {
    let limits = app.limits.clone();
    let service = hyper_util::service::TowerToHyperService::new(router(app));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => p.map_err(|_| Error::Internal("the connection slots closed".into()))?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, out of file
                // descriptors for a moment) ends nothing but itself.
                Err(_) => continue,
            },
        };
        let service = service.clone();
        let acceptor = acceptor.clone();
        let header_timeout = limits.header_timeout;
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, acceptor, service, header_timeout).await;
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    Ok(())
}

async fn serve_connection<S>(
    stream: tokio::net::TcpStream,
    _peer: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    service: S,
    header_timeout: Duration,
) where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
    match acceptor {
        None => {
            let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
        }
        Some(acceptor) => {
            // The handshake has the header timeout too: a client that opens a connection
            // and sends nothing holds a slot no longer than that.
            if let Ok(Ok(tls)) = tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                let _ = http.serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
            }
        }
    }
}
