//! The errors `signer serve` answers, in the shapes of the botocore models: the error
//! type in `x-amzn-ErrorType` and the body (`{"message", "code"}` for Signer, `{"Type",
//! "Message"}` for Lambda), with the status the model gives it. Library errors map by
//! their exit code, the one map there is (`error::exit`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, exit};
use crate::sigv4::SigV4Error;

/// Which API a request belongs to: it decides the credential scope's service and the
/// names of the error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// AWS Signer (`signer`, 2017-08-25).
    Signer,
    /// AWS Lambda's layers and code-signing configs (`lambda`, 2015-03-31).
    Lambda,
}

impl Api {
    /// The API a path belongs to: Lambda's paths start with their API version's date.
    pub fn of_path(path: &str) -> Self {
        const LAMBDA: [&str; 3] = ["/2018-10-31/", "/2020-04-22/", "/2017-03-31/"];
        if LAMBDA.iter().any(|p| path.starts_with(p)) { Self::Lambda } else { Self::Signer }
    }

    /// The service a request's credential scope must name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Self::Signer => "signer",
            Self::Lambda => "lambda",
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    api: Api,
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An answer with this status and error type.
    pub fn new(api: Api, status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { api, status, code, message: message.into() }
    }

    /// A request that breaks the model: 400 `ValidationException` (Lambda:
    /// `InvalidParameterValueException`).
    pub fn invalid(api: Api, message: impl Into<String>) -> Self {
        let code = match api {
            Api::Signer => "ValidationException",
            Api::Lambda => "InvalidParameterValueException",
        };
        Self::new(api, StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 `AccessDeniedException`.
    pub fn denied(api: Api, message: impl Into<String>) -> Self {
        Self::new(api, StatusCode::FORBIDDEN, "AccessDeniedException", message)
    }

    /// 404 for a resource that does not exist.
    pub fn not_found(api: Api, message: impl Into<String>) -> Self {
        Self::new(api, StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    /// A request refused before it was authenticated.
    pub fn unauthenticated(api: Api, e: &SigV4Error) -> Self {
        let status = match e {
            SigV4Error::Incomplete(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        Self::new(api, status, e.code(), e.to_string())
    }

    /// A library error, by its exit code.
    pub fn from_error(api: Api, e: &Error) -> Self {
        if let Error::Permission(crate::permissions::PermissionError::TooMany { .. }) = e {
            return Self::new(api, StatusCode::PAYMENT_REQUIRED, "ServiceLimitExceededException", e.to_string());
        }
        let message = e.to_string();
        match (e.exit_code(), api) {
            (exit::USAGE | exit::INVALID, _) => Self::invalid(api, message),
            (exit::NOT_FOUND, _) => Self::not_found(api, message),
            (exit::CONFLICT, Api::Signer) => Self::new(api, StatusCode::CONFLICT, "ConflictException", message),
            (exit::CONFLICT, Api::Lambda) => Self::new(api, StatusCode::CONFLICT, "ResourceConflictException", message),
            (_, Api::Signer) => {
                Self::new(api, StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceErrorException", message)
            }
            (_, Api::Lambda) => Self::new(api, StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", message),
        }
    }

    /// The error type.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.api {
            Api::Signer => serde_json::json!({ "message": self.message, "code": self.code }),
            Api::Lambda => {
                let kind = if self.status.is_server_error() { "Service" } else { "User" };
                serde_json::json!({ "Type": kind, "Message": self.message, "message": self.message })
            }
        };
        let mut response = (self.status, super::json_body(&body)).into_response();
        response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
    }
}
