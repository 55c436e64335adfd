//! The HTTP error type: every failure a handler can meet, mapped once to a status code and the
//! contract's JSON body `{"error": {"code", "message", "field"}}`. Handlers return `ApiError`;
//! nothing else in the crate knows about status codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::auth::AuthError;
use super::state::LoadError;
use crate::classify::RequestError;
use crate::model::worker::WorkerError;
use crate::store::StoreError;
use crate::ticket::TicketError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("the model queue is full; retry shortly")]
    Busy,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A reload was refused; the previous model and policy keep serving.
    #[error("reload refused, still serving the previous model and policy: {0}")]
    ReloadFailed(String),
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is stored (an event id reused for another event).
    #[error("{0}")]
    Conflict(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable machine-readable code, e.g. `invalid_field`, `busy`, `unauthorized`.
    code: &'a str,
    message: String,
    /// The JSON path of the offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// Every error response: `{"error": {"code", "message", "field"}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

/// Seconds a client should wait after a 429.
const RETRY_AFTER_SECONDS: &str = "1";

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Busy => (StatusCode::TOO_MANY_REQUESTS, "busy"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::ReloadFailed(_) => (StatusCode::CONFLICT, "reload_failed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::MalformedJson(message) => ApiError::MalformedJson(message),
            RequestError::Invalid { field, message } => ApiError::Invalid { field, message },
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        ApiError::Invalid { field: e.field, message: e.message }
    }
}

impl From<WorkerError> for ApiError {
    fn from(e: WorkerError) -> Self {
        match e {
            WorkerError::Busy => ApiError::Busy,
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Forbidden { .. } => ApiError::Forbidden(e.to_string()),
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(e: LoadError) -> Self {
        ApiError::ReloadFailed(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::NotFound(format!("no decision {id}")),
            StoreError::Invalid { field, message } => ApiError::Invalid { field, message },
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

impl ApiError {
    /// The contract's error body: what an HTTP answer carries, and what `triage classify`
    /// writes in place of a line it cannot read.
    pub fn envelope(&self) -> ErrorEnvelope<'_> {
        let field = match self {
            ApiError::Invalid { field, .. } => Some(field.as_str()),
            _ => None,
        };
        ErrorEnvelope { error: ErrorBody { code: self.status_and_code().1, message: self.to_string(), field } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_and_code().0;
        let mut response = (status, Json(self.envelope())).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
