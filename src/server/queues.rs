//! The agents' work order (role `review`): a queue's open tickets, most urgent level first,
//! then the earliest SLA due time, then first come, first served; tickets waiting on the
//! customer or solved are left out. Reassigned tickets are in the queue they were moved to;
//! a priority a person changed counts over the decided one. The state of each ticket comes
//! from its events (`crate::events`), computed at each request, never stored.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorEnvelope};
use super::AppState;
use crate::events::{self, Commitment, QueueEntry};
use crate::policy::SlaDue;

/// Most entries one list answers.
const MAX_LIST: usize = 500;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueQuery {
    /// Entries to return, 1 to 500 (default 50).
    limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkList {
    pub queue: String,
    /// Open tickets in work order.
    pub items: Vec<QueueEntry>,
}

/// The queue's open tickets in work order.
async fn work_order(state: &AppState, queue: String) -> Result<Vec<QueueEntry>, ApiError> {
    let found = state.decisions.store.in_queue(&queue).await?;
    let served = state.served.snapshot();
    let levels = served.policy.levels();
    let now = chrono::Utc::now();
    let mut entries = Vec::new();
    for decision in found {
        let Ok(sla) = serde_json::from_value::<SlaDue>(decision.sla) else { continue };
        let commitment = Commitment {
            started_at: sla.started_at,
            first_response_due: sla.first_response_due,
            resolution_due: sla.resolution_due,
        };
        let meta = &decision.meta;
        let ticket = match served.policy.calendar(&sla.calendar) {
            Some(calendar) => events::sla_state(&decision.events, commitment, &meta.queue, &meta.priority, calendar, now),
            // A calendar the policy no longer has (renamed in a reload): the ticket's SLA cannot
            // be read, so it cannot be ordered; it stays visible in the review list.
            None => {
                tracing::warn!(decision = %meta.decision_id, calendar = %sla.calendar, "left out of the work order: unknown calendar");
                continue;
            }
        };
        if !events::workable(&ticket) {
            continue;
        }
        let rank = levels.iter().position(|l| l.level == ticket.priority).unwrap_or(levels.len());
        entries.push(QueueEntry {
            decision_id: meta.decision_id.clone(),
            ticket_id: meta.ticket_id.clone(),
            subject: decision.subject,
            due: events::next_due(&ticket),
            priority: ticket.priority,
            decided_at: meta.decided_at,
            rank,
        });
    }
    events::sort_for_work(&mut entries);
    Ok(entries)
}

#[utoipa::path(get, path = "/v1/queues/{queue}", tag = "review", security(("api_key" = [])),
    params(("queue" = String, Path, description = "A queue name, as decisions and reassignments name it"), QueueQuery),
    responses(
        (status = 200, description = "The queue's open tickets in work order", body = WorkList),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 422, description = "limit out of range", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    Path(queue): Path<String>,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<WorkList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Invalid { field: "query".into(), message: e.body_text() })?;
    let limit = query.limit.unwrap_or(crate::store::DEFAULT_PAGE);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::Invalid { field: "limit".into(), message: format!("must be between 1 and {MAX_LIST}") });
    }
    let mut items = work_order(&state, queue.clone()).await?;
    items.truncate(limit);
    Ok(Json(WorkList { queue, items }))
}

#[utoipa::path(get, path = "/v1/queues/{queue}/next", tag = "review", security(("api_key" = [])),
    params(("queue" = String, Path, description = "A queue name")),
    responses(
        (status = 200, description = "The ticket to work on next", body = QueueEntry),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 404, description = "No open ticket in the queue", body = ErrorEnvelope)))]
pub async fn next(State(state): State<AppState>, Path(queue): Path<String>) -> Result<Json<QueueEntry>, ApiError> {
    work_order(&state, queue.clone())
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no open ticket in queue {queue}")))
}
