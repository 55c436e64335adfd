//! The events route (role `classify`, so the helpdesk's integration that classifies a ticket
//! also reports what happened to it): check a priority level against the policy, then let the
//! decision log check and store the event. A retried event answers 200 with what is stored;
//! a new one 201.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::error::{ApiError, ErrorEnvelope};
use super::AppState;
use crate::events::{EventKind, TicketEvent};
use crate::store::Added;

#[utoipa::path(post, path = "/v1/decisions/{id}/events", tag = "classify", security(("api_key" = [])),
    params(("id" = String, Path, description = "The decision_id of a classify response")),
    request_body = TicketEvent,
    responses(
        (status = 201, description = "Recorded", body = TicketEvent),
        (status = 200, description = "Recorded before with the same content (a retry); nothing changed", body = TicketEvent),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the classify role", body = ErrorEnvelope),
        (status = 404, description = "No such decision", body = ErrorEnvelope),
        (status = 409, description = "The event id was recorded with other content", body = ErrorEnvelope),
        (status = 422, description = "Out of order, after `solved`, out of place (a second first response, resuming a ticket that is not waiting), or a level the policy does not know; `field` names it", body = ErrorEnvelope)))]
pub async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<TicketEvent>), ApiError> {
    let event: TicketEvent = crate::classify::parse_request(&super::classify::body_bytes(body)?)?;
    if let EventKind::PriorityChanged { priority } = &event.kind {
        let served = state.served.snapshot();
        let levels: Vec<&str> = served.policy.levels().iter().map(|l| l.level.as_str()).collect();
        if !levels.contains(&priority.as_str()) {
            return Err(ApiError::Invalid {
                field: "priority".into(),
                message: format!("`{priority}` is not a priority level of the policy; one of: {}", levels.join(", ")),
            });
        }
    }
    match state.decisions.store.add_event(&id, event).await? {
        Added::Created(event) => Ok((StatusCode::CREATED, Json(event))),
        Added::Replayed(event) => Ok((StatusCode::OK, Json(event))),
    }
}
