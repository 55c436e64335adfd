//! The review API (role `review`): list logged decisions, read one whole, add a versioned
//! correction, and the label sets a correction may use. SQLite calls run on the blocking pool;
//! the decision log's own layer validates and stores, this one only maps to HTTP.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

use super::error::{ApiError, ErrorEnvelope};
use super::AppState;
use crate::events::{self, Commitment, SlaState};
use crate::store::{DecisionFilter, DecisionPage, Feedback, FeedbackInput, StoredDecision};

#[utoipa::path(get, path = "/v1/decisions", tag = "review", security(("api_key" = [])),
    params(DecisionFilter),
    responses(
        (status = 200, description = "Newest first; `next` pages on with `before=`", body = DecisionPage),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 422, description = "A query parameter is invalid; `field` names it", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    filter: Result<Query<DecisionFilter>, QueryRejection>,
) -> Result<Json<DecisionPage>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::Invalid { field: "query".into(), message: e.body_text() })?;
    Ok(Json(state.decisions.store.list(&filter).await?))
}

#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "review", security(("api_key" = [])),
    params(("id" = String, Path, description = "The decision_id of a classify response")),
    responses(
        (status = 200, description = "The request, the full response, every feedback version, the ticket's events and the SLA state they imply", body = DecisionView),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 404, description = "No such decision", body = ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<DecisionView>, ApiError> {
    let stored = state.decisions.store.get(&id).await?.ok_or_else(|| ApiError::NotFound(format!("no decision {id}")))?;
    let sla_state = sla_state(&state, &stored, chrono::Utc::now());
    Ok(Json(DecisionView { stored, sla_state }))
}

/// A logged decision as the review API shows it: what is stored, and the SLA state now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    #[serde(flatten)]
    stored: StoredDecision,
    /// Status, queue, priority, the SLA targets met, breached or running, from the ticket's
    /// events; absent when the decision's SLA calendar is no longer in the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    sla_state: Option<SlaState>,
}

/// The SLA state of `stored` at `now`, on the served policy's calendar of the same name.
fn sla_state(state: &AppState, stored: &StoredDecision, now: chrono::DateTime<chrono::Utc>) -> Option<SlaState> {
    let sla: crate::policy::SlaDue = serde_json::from_value(stored.response.get("sla")?.clone()).ok()?;
    let served = state.served.snapshot();
    let calendar = served.policy.calendar(&sla.calendar)?;
    let commitment =
        Commitment { started_at: sla.started_at, first_response_due: sla.first_response_due, resolution_due: sla.resolution_due };
    let meta = &stored.meta;
    Some(events::sla_state(&stored.events, commitment, &meta.queue, &meta.priority, calendar, now))
}

#[utoipa::path(post, path = "/v1/decisions/{id}/feedback", tag = "review", security(("api_key" = [])),
    params(("id" = String, Path, description = "The decision_id of a classify response")),
    request_body = FeedbackInput,
    responses(
        (status = 201, description = "Stored as a new version; earlier versions are kept", body = Feedback),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 404, description = "No such decision", body = ErrorEnvelope),
        (status = 422, description = "Missing reviewer, nothing to record, or a label the model or policy does not know", body = ErrorEnvelope)))]
pub async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Feedback>), ApiError> {
    let input: FeedbackInput = crate::classify::parse_request(&super::classify::body_bytes(body)?)?;
    check_labels(&state, &input)?;
    let stored = state.decisions.store.add_feedback(&id, input).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// A correction may only name labels the served model knows and levels the policy defines,
/// or retraining on it would fail later, far from the reviewer who made the typo.
fn check_labels(state: &AppState, input: &FeedbackInput) -> Result<(), ApiError> {
    let served = state.served.snapshot();
    let labels = labels_of(&served);
    for (head, value) in &input.labels {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let Some(known) = labels.heads.get(head) else {
            return Err(ApiError::Invalid {
                field: head.clone(),
                message: format!("`{head}` is not a head of the model; its heads: {}", labels.head_order.join(", ")),
            });
        };
        if !known.iter().any(|label| label == value) {
            return Err(ApiError::Invalid {
                field: head.clone(),
                message: format!("`{value}` is not a {head} label of the model; one of: {}", known.join(", ")),
            });
        }
    }
    if let Some(level) = input.priority.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        if !labels.priorities.iter().any(|p| p.level == level) {
            let known: Vec<&str> = labels.priorities.iter().map(|p| p.level.as_str()).collect();
            return Err(ApiError::Invalid {
                field: "priority".into(),
                message: format!("`{level}` is not a priority level of the policy; one of: {}", known.join(", ")),
            });
        }
    }
    Ok(())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Labels {
    /// Each head's labels, in the order the model lists them.
    heads: BTreeMap<String, Vec<String>>,
    /// The model's heads in its order: the order a correction form lists them in.
    head_order: Vec<String>,
    /// The policy's levels, most urgent first.
    priorities: Vec<crate::policy::PriorityRef>,
}

fn labels_of(served: &super::state::Loaded) -> Labels {
    let heads = &served.classifier.manifest().heads;
    Labels {
        heads: heads.iter().map(|h| (h.name.clone(), h.labels.clone())).collect(),
        head_order: heads.iter().map(|h| h.name.clone()).collect(),
        priorities: served
            .policy
            .levels()
            .iter()
            .map(|l| crate::policy::PriorityRef { level: l.level.clone(), name: l.name.clone() })
            .collect(),
    }
}

#[utoipa::path(get, path = "/v1/labels", tag = "review", security(("api_key" = [])),
    responses((status = 200, description = "What a correction may say: the model's labels and the policy's levels", body = Labels),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope)))]
pub async fn labels(State(state): State<AppState>) -> Json<Labels> {
    Json(labels_of(&state.served.snapshot()))
}
