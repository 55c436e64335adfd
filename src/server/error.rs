//! The HTTP error type: every failure a handler can meet, mapped once to a status code and the
//! contract's JSON body `{"error": {"code", "message", "field"}}`. Handlers return `ApiError`;
//! nothing else in the crate knows about status codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::model::worker::WorkerError;
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
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let field = match &self {
            ApiError::Invalid { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let body = ErrorEnvelope { error: ErrorBody { code, message: self.to_string(), field } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}
