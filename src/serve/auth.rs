//! Every request's first step: read its body (bounded, within a time limit), verify its
//! AWS Signature Version 4 against the home's access keys, and hand the handlers the
//! caller. Nothing is read from the store before that.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::{Api, ApiError};
use crate::access_keys::{Access, AccessKey};
use crate::sigv4::{self, SigV4Error};

/// Who signed the request.
#[derive(Debug, Clone)]
pub struct Caller(pub AccessKey);

impl Caller {
    /// Refuses read-only keys: for any change.
    pub fn may_write(&self, api: Api, what: &str) -> Result<(), ApiError> {
        match self.0.access {
            Access::ReadOnly => {
                Err(ApiError::denied(api, format!("access key {} is read-only; it may not {what}", self.0.name)))
            }
            Access::Sign | Access::Admin => Ok(()),
        }
    }

    /// Refuses all but admin keys: for creating and changing profiles, layers, configs
    /// and permissions.
    pub fn must_be_admin(&self, api: Api, what: &str) -> Result<(), ApiError> {
        match self.0.access {
            Access::Admin => Ok(()),
            Access::ReadOnly | Access::Sign => Err(ApiError::denied(
                api,
                format!(
                    "access key {} ({}) may not {what}; only an admin key may (signer access-key create NAME --admin)",
                    self.0.name,
                    self.0.access.as_str()
                ),
            )),
        }
    }

    /// Whether this is an admin key.
    pub fn is_admin(&self) -> bool {
        self.0.access == Access::Admin
    }
}

/// The middleware: authenticates, then runs the handler with the body read and the
/// [`Caller`] in the request's extensions.
pub async fn authenticate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match verify(&app, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn verify(app: &App, req: Request) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();
    let api = Api::of_path(parts.uri.path());
    let limit = app.limits.body_limit(parts.uri.path());
    let read = tokio::time::timeout(app.limits.body_timeout, axum::body::to_bytes(body, limit)).await;
    let bytes: Bytes = match read {
        Err(_) => {
            return Err(ApiError::new(
                api,
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                format!("the request body did not arrive within {} s", app.limits.body_timeout.as_secs()),
            ));
        }
        Ok(Err(_)) => {
            return Err(ApiError::new(
                api,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                format!("the request body is over the {limit} bytes this operation takes, or was cut short"),
            ));
        }
        Ok(Ok(b)) => b,
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
    let request = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body_sha256: &body_sha256,
    };
    let expect = sigv4::Expect {
        service: api.signing_name(),
        region: &app.arns.region,
        now: crate::clock::now(),
        normalize: true,
    };
    let mut found: Option<AccessKey> = None;
    let mut keyring_error: Option<crate::Error> = None;
    let verified = sigv4::verify(&request, expect, |id| match app.keyring.find(id) {
        Ok(Some((key, secret))) => {
            found = Some(key);
            Some(secret)
        }
        Ok(None) => None,
        Err(e) => {
            keyring_error = Some(e);
            None
        }
    });
    if let Some(e) = keyring_error {
        return Err(ApiError::from_error(api, &e));
    }
    verified.map_err(|e| ApiError::unauthenticated(api, &e))?;
    let key = found.ok_or_else(|| ApiError::unauthenticated(api, &SigV4Error::Missing))?;
    parts.extensions.insert(Caller(key));
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
