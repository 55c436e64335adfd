//! SQL over the events table: append what happened to a ticket after it was checked against
//! the events before it (`records::next_event`), and read a ticket's events in order. Rows are
//! only ever inserted.

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::super::records::{corrupt, event_kind_name, format_time, next_event, parse_time, Added};
use super::super::StoreError;
use crate::events::TicketEvent;

/// Appends `event` to the decision's events, unless it breaks their rules.
pub(super) fn add(
    connection: &mut Connection,
    decision_id: &str,
    event: TicketEvent,
    now: DateTime<Utc>,
) -> Result<Added, StoreError> {
    // IMMEDIATE: the history read and the insert see the same events, whatever else writes.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let started: Option<Option<String>> = transaction
        .query_row(
            "SELECT json_extract(response, '$.sla.started_at') FROM decisions WHERE decision_id = ?1",
            [decision_id],
            |row| row.get(0),
        )
        .optional()?;
    let started = started.ok_or_else(|| StoreError::NotFound(decision_id.to_string()))?;
    let started = started
        .as_deref()
        .map(parse_time)
        .ok_or_else(|| corrupt(decision_id, "response", "no sla.started_at"))?
        .map_err(|e| corrupt(decision_id, "response", e))?;
    let history = read(&transaction, decision_id)?;
    if let Some(replayed) = next_event(&history, started, &event)? {
        return Ok(replayed);
    }
    let body = serde_json::to_string(&event).map_err(StoreError::Encode)?;
    transaction.execute(
        "INSERT INTO events (decision_id, seq, event_id, kind, at, recorded_at, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            decision_id,
            history.len() as i64 + 1,
            event.event_id,
            event_kind_name(&event.kind),
            format_time(&event.at),
            format_time(&now.trunc_subsecs(6)),
            body
        ],
    )?;
    transaction.commit()?;
    Ok(Added::Created(event))
}

/// The decision's events in the order they were recorded (which is time order).
pub(super) fn read(connection: &Connection, decision_id: &str) -> Result<Vec<TicketEvent>, StoreError> {
    let mut statement = connection.prepare_cached("SELECT event FROM events WHERE decision_id = ?1 ORDER BY seq")?;
    let mut rows = statement.query([decision_id])?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        let body: String = row.get(0)?;
        events.push(serde_json::from_str(&body).map_err(|e| corrupt(decision_id, "event", e))?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use crate::store::test_records::{record, temp_store};

    fn event(id: &str, at: &str, kind: EventKind) -> TicketEvent {
        TicketEvent { event_id: id.into(), at: at.parse().unwrap(), kind, actor: Some("ana".into()) }
    }

    #[test]
    fn events_are_kept_in_order_and_a_retry_changes_nothing() {
        let (_dir, store) = temp_store();
        store.record(&[record("d-1", "2026-11-24T09:30:00Z", "P1", "payments", true)]).unwrap();
        let first = event("e1", "2026-11-24T09:40:00Z", EventKind::FirstResponse);
        let moved = event("e2", "2026-11-24T09:50:00Z", EventKind::Reassigned { queue: "billing".into() });
        assert_eq!(store.add_event("d-1", first.clone()).unwrap(), Added::Created(first.clone()));
        assert_eq!(store.add_event("d-1", moved.clone()).unwrap(), Added::Created(moved.clone()));
        assert_eq!(store.add_event("d-1", first.clone()).unwrap(), Added::Replayed(first.clone()));
        assert_eq!(store.get("d-1").unwrap().unwrap().events, [first, moved]);
    }

    #[test]
    fn bad_events_change_nothing() {
        let (_dir, store) = temp_store();
        store.record(&[record("d-1", "2026-11-24T09:30:00Z", "P1", "payments", true)]).unwrap();
        store.add_event("d-1", event("e1", "2026-11-24T10:00:00Z", EventKind::Solved)).unwrap();
        let after_solved = store.add_event("d-1", event("e2", "2026-11-24T10:05:00Z", EventKind::WaitingOnCustomer));
        assert!(matches!(after_solved, Err(StoreError::Invalid { ref field, .. }) if field == "kind"), "{after_solved:?}");
        let earlier = store.add_event("d-1", event("e3", "2026-11-24T09:55:00Z", EventKind::Reopened));
        assert!(matches!(earlier, Err(StoreError::Invalid { ref field, .. }) if field == "at"), "{earlier:?}");
        let same_id = store.add_event("d-1", event("e1", "2026-11-24T10:10:00Z", EventKind::Reopened));
        assert!(matches!(same_id, Err(StoreError::Conflict(_))), "{same_id:?}");
        let unknown = store.add_event("nope", event("e9", "2026-11-24T10:10:00Z", EventKind::Solved));
        assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
        assert_eq!(store.get("d-1").unwrap().unwrap().events.len(), 1, "only the first event was stored");
    }
}
