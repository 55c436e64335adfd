//! `POST /v1/classify` and `POST /v1/classify/batch`: parse and validate the body (errors name
//! the field), send the texts to the model worker, decide with the policy, assemble the
//! contract's response.

use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorEnvelope};
use super::AppState;
use crate::classify::{assemble, parse_request, read_ticket, ClassifyResponse, DecisionContext, ModelRef};
use crate::clusters::likeness_of;
use crate::store::DecisionRecord;
use crate::ticket::{Ticket, TicketRequest};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchRequest {
    tickets: Vec<TicketRequest>,
}

/// One response per ticket, in the order of the request.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    results: Vec<ClassifyResponse>,
}

/// The request body, or the contract's error when it could not be read (413 past the limit).
pub(super) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(rejection.body_text()),
        _ => ApiError::MalformedJson(rejection.body_text()),
    })
}

/// Runs the tickets on one snapshot of the served model and policy, so a reload in the middle
/// cannot mix versions within a request.
/// Every decision is in the decision log before it is answered, so an acknowledged decision
/// survives the process being killed right after.
async fn classify_tickets(state: &AppState, tickets: Vec<Ticket>) -> Result<Vec<ClassifyResponse>, ApiError> {
    let served = state.served.snapshot();
    let texts = tickets.iter().map(Ticket::model_input).collect();
    let analyses = state.worker.analyse(Arc::clone(&served.classifier), texts).await?;
    let now = chrono::Utc::now();
    let context = DecisionContext { model: ModelRef::of(&served.classifier), policy: &served.policy, now };
    let responses: Vec<ClassifyResponse> = tickets
        .iter()
        .zip(analyses)
        .map(|(ticket, analysis)| {
            let decision_id = uuid::Uuid::new_v4().to_string();
            let likeness = likeness_of(&analysis.features, analysis.grouping.as_deref(), served.classifier.version());
            // Held for one window scan; a panic elsewhere cannot leave the window half-changed.
            let cluster = state.recent.lock().unwrap_or_else(PoisonError::into_inner).add(
                &decision_id,
                ticket.id.as_deref(),
                now,
                likeness,
            );
            assemble(decision_id, ticket, analysis, cluster, &context)
        })
        .collect();
    let records = tickets
        .iter()
        .zip(&responses)
        .map(|(ticket, response)| DecisionRecord::new(ticket, response, now))
        .collect::<Result<Vec<_>, _>>()?;
    if let Err(refused) = state.decisions.log.record(records).await {
        let unkept: Vec<&str> = responses.iter().map(|r| r.decision_id.as_str()).collect();
        state.recent.lock().unwrap_or_else(PoisonError::into_inner).forget(&unkept);
        return Err(refused.into());
    }
    responses.iter().for_each(|response| state.metrics.observe_decision(response));
    Ok(responses)
}

#[utoipa::path(post, path = "/v1/classify", tag = "classify", security(("api_key" = [])),
    request_body = TicketRequest,
    responses(
        (status = 200, description = "Predictions, final priority, SLA, queue and explanation", body = ClassifyResponse),
        (status = 400, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the classify role", body = ErrorEnvelope),
        (status = 413, description = "The body is larger than --max-body-bytes", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, empty, too long or of the wrong type; `field` names it", body = ErrorEnvelope),
        (status = 429, description = "The model queue is full; retry after the Retry-After seconds", body = ErrorEnvelope),
        (status = 503, description = "The model or the decision log is unavailable; nothing was decided", body = ErrorEnvelope)))]
pub async fn classify(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ClassifyResponse>, ApiError> {
    let ticket = read_ticket(&body_bytes(body)?)?;
    let mut responses = classify_tickets(&state, vec![ticket]).await?;
    responses.pop().map(Json).ok_or_else(|| ApiError::Unavailable("the model returned no prediction".into()))
}

#[utoipa::path(post, path = "/v1/classify/batch", tag = "classify", security(("api_key" = [])),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per ticket, in order", body = BatchResponse),
        (status = 413, description = "More tickets than --max-batch, or a body over --max-body-bytes", body = ErrorEnvelope),
        (status = 422, description = "A ticket is invalid; `field` names it, e.g. `tickets[3].body`", body = ErrorEnvelope),
        (status = 429, description = "The model queue is full", body = ErrorEnvelope)))]
pub async fn classify_batch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchResponse>, ApiError> {
    let request: BatchRequest = parse_request(&body_bytes(body)?)?;
    if request.tickets.len() > state.config.max_batch {
        return Err(ApiError::TooLarge(format!(
            "{} tickets in one batch; the limit is {}",
            request.tickets.len(),
            state.config.max_batch
        )));
    }
    let tickets = request
        .tickets
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.validate().map_err(|e| ApiError::Invalid { field: format!("tickets[{i}].{}", e.field), message: e.message })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(BatchResponse { results: classify_tickets(&state, tickets).await? }))
}
