//! SQL over the events table in PostgreSQL: append what happened to a ticket, checked against
//! its events before it (`records::next_event`) under the decision's row lock, and read the
//! events of many decisions at once. Rows are only ever inserted.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tokio_postgres::{Client, GenericClient};

use super::super::records::{corrupt, event_kind_name, next_event, parse_time, Added};
use super::super::StoreError;
use super::{column, json_column};
use crate::events::TicketEvent;

/// Appends `event` to the decision's events, unless it breaks their rules.
pub(super) async fn add(
    client: &mut Client,
    decision_id: &str,
    event: TicketEvent,
    now: DateTime<Utc>,
) -> Result<Added, StoreError> {
    let body = serde_json::to_string(&event).map_err(StoreError::Encode)?;
    let transaction = client.transaction().await?;
    // The row lock makes the history read and the insert see the same events, whichever
    // server records the next one.
    let started = transaction
        .query_opt(
            "SELECT response->'sla'->>'started_at' AS started_at FROM decisions WHERE decision_id = $1 FOR NO KEY UPDATE",
            &[&decision_id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(decision_id.to_string()))?;
    let started: Option<String> = column(&started, "started_at")?;
    let started = parse_time(&started.ok_or_else(|| corrupt(decision_id, "response", "no sla.started_at"))?)
        .map_err(|e| corrupt(decision_id, "response", e))?;
    let history = of(&transaction, &[decision_id.to_string()]).await?.remove(decision_id).unwrap_or_default();
    if let Some(replayed) = next_event(&history, started, &event)? {
        return Ok(replayed);
    }
    let seq =
        i32::try_from(history.len() + 1).map_err(|e| StoreError::Invalid { field: "event_id".into(), message: e.to_string() })?;
    transaction
        .execute(
            "INSERT INTO events (decision_id, seq, event_id, kind, at, recorded_at, event) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::json)",
            &[&decision_id, &seq, &event.event_id, &event_kind_name(&event.kind), &event.at, &now.trunc_subsecs(6), &body],
        )
        .await?;
    transaction.commit().await?;
    Ok(Added::Created(event))
}

/// The events of the decisions `ids`, by decision, in the order they were recorded.
pub(super) async fn of(client: &impl GenericClient, ids: &[String]) -> Result<HashMap<String, Vec<TicketEvent>>, StoreError> {
    let rows = client
        .query("SELECT decision_id, event FROM events WHERE decision_id = ANY($1) ORDER BY decision_id, seq", &[&ids])
        .await?;
    let mut events: HashMap<String, Vec<TicketEvent>> = HashMap::new();
    for row in &rows {
        events.entry(column(row, "decision_id")?).or_default().push(json_column(row, "event")?);
    }
    Ok(events)
}
