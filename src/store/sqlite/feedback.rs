//! SQL over the feedback table: append a version, read a decision's versions, and merge them
//! into training corrections. Versions are only ever inserted, never updated, so every past
//! correction stays on record. No locks, threads or clock reads here (`now` is a parameter).

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::{params, Connection, Row, TransactionBehavior};

use super::super::records::{add_correction, corrupt, format_time, parse_time, Correction, Feedback, FeedbackInput};
use super::super::StoreError;

/// The columns `from_row` reads, in its order.
pub(super) const COLUMNS: &str = "f.version, f.created_at, f.reviewer, f.note, f.priority, f.labels";
const WIDTH: usize = 6;

/// The feedback whose columns (`COLUMNS`) start at `start`.
pub(super) fn from_row(row: &Row, start: usize, decision_id: &str) -> Result<Feedback, StoreError> {
    let created_at: String = row.get(start + 1)?;
    let labels: String = row.get(start + 5)?;
    Ok(Feedback {
        version: row.get(start)?,
        created_at: parse_time(&created_at).map_err(|e| corrupt(decision_id, "created_at", e))?,
        fields: FeedbackInput {
            reviewer: row.get(start + 2)?,
            note: row.get(start + 3)?,
            priority: row.get(start + 4)?,
            labels: serde_json::from_str(&labels).map_err(|e| corrupt(decision_id, "labels", e))?,
        },
    })
}

/// Stores `input` as the decision's next version (one past the highest so far).
pub(super) fn add(
    connection: &mut Connection,
    decision_id: &str,
    input: FeedbackInput,
    now: DateTime<Utc>,
) -> Result<Feedback, StoreError> {
    let fields = input.validated()?;
    let created_at = now.trunc_subsecs(6);
    // IMMEDIATE: the write lock is held from the version read to the insert, so two reviewers
    // posting at once get versions n and n + 1; the primary key backs this up.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: bool =
        transaction
            .query_row("SELECT EXISTS (SELECT 1 FROM decisions WHERE decision_id = ?1)", [decision_id], |row| row.get(0))?;
    if !exists {
        return Err(StoreError::NotFound(decision_id.to_string()));
    }
    let version: u32 = transaction.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM feedback WHERE decision_id = ?1",
        [decision_id],
        |row| row.get(0),
    )?;
    transaction.execute(
        "INSERT INTO feedback (decision_id, version, created_at, reviewer, note, priority, labels) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            decision_id,
            version,
            format_time(&created_at),
            fields.reviewer,
            fields.note,
            fields.priority,
            serde_json::to_string(&fields.labels).map_err(StoreError::Encode)?,
        ],
    )?;
    transaction.commit()?;
    Ok(Feedback { version, created_at, fields })
}

/// Every feedback version of one decision, oldest first.
pub(super) fn versions(connection: &Connection, decision_id: &str) -> Result<Vec<Feedback>, StoreError> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {COLUMNS} FROM feedback f WHERE f.decision_id = ?1 ORDER BY f.version"))?;
    let mut rows = statement.query([decision_id])?;
    let mut versions = Vec::new();
    while let Some(row) = rows.next()? {
        versions.push(from_row(row, 0, decision_id)?);
    }
    Ok(versions)
}

/// One correction per decision with feedback, oldest decision first, each merging its versions
/// in order (a later version's value wins; what it leaves out keeps the earlier value).
pub(super) fn corrections(connection: &Connection) -> Result<Vec<Correction>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS}, d.decision_id, d.ticket_id, d.request FROM feedback f \
         JOIN decisions d ON d.decision_id = f.decision_id \
         ORDER BY d.decided_at, d.decision_id, f.version"
    ))?;
    let mut rows = statement.query([])?;
    let mut corrections: Vec<Correction> = Vec::new();
    while let Some(row) = rows.next()? {
        let decision_id: String = row.get(WIDTH)?;
        let feedback = from_row(row, 0, &decision_id)?;
        let ticket = || {
            let request: String = row.get(WIDTH + 2)?;
            let text = serde_json::from_str(&request).map_err(|e| corrupt(&decision_id, "request", e))?;
            Ok((row.get(WIDTH + 1)?, text))
        };
        add_correction(&mut corrections, decision_id.clone(), feedback, ticket)?;
    }
    Ok(corrections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_records::{record, temp_store};

    fn correction(reviewer: &str, priority: Option<&str>, category: Option<&str>) -> FeedbackInput {
        FeedbackInput {
            reviewer: reviewer.into(),
            priority: priority.map(Into::into),
            labels: category.map(|c| ("category".to_string(), c.to_string())).into_iter().collect(),
            ..FeedbackInput::default()
        }
    }

    fn label<'a>(feedback: &'a FeedbackInput, head: &str) -> Option<&'a str> {
        feedback.labels.get(head).map(String::as_str)
    }

    #[test]
    fn each_post_is_a_new_version_and_nothing_is_overwritten() {
        let (_dir, store) = temp_store();
        store.record(&[record("d-1", "2026-11-24T09:30:00Z", "P1", "payments", true)]).unwrap();

        let first = store.add_feedback("d-1", correction("ana", Some("P2"), None)).unwrap();
        let second = store.add_feedback("d-1", correction("bo", None, Some("billing"))).unwrap();
        assert_eq!((first.version, second.version), (1, 2));
        assert_eq!(first.fields.priority.as_deref(), Some("P2"));
        assert!(second.created_at >= first.created_at);

        let stored = store.get("d-1").unwrap().unwrap();
        assert_eq!(stored.feedback, [first, second]);
    }

    #[test]
    fn feedback_on_an_unknown_decision_is_not_found() {
        let (_dir, store) = temp_store();
        assert!(matches!(
            store.add_feedback("nope", correction("ana", Some("P2"), None)),
            Err(StoreError::NotFound(id)) if id == "nope"
        ));
    }

    #[test]
    fn invalid_feedback_is_refused_before_anything_is_stored() {
        let (_dir, store) = temp_store();
        store.record(&[record("d-1", "2026-11-24T09:30:00Z", "P1", "payments", true)]).unwrap();
        assert!(matches!(
            store.add_feedback("d-1", correction("", Some("P2"), None)),
            Err(StoreError::Invalid { field, .. }) if field == "reviewer"
        ));
        assert!(matches!(
            store.add_feedback("d-1", correction("ana", None, None)),
            Err(StoreError::Invalid { field, .. }) if field == "note"
        ));
        assert!(store.get("d-1").unwrap().unwrap().feedback.is_empty());
    }

    #[test]
    fn corrections_merge_the_latest_version_over_earlier_ones() {
        let (_dir, store) = temp_store();
        store
            .record(&[
                record("late", "2026-11-24T10:00:00Z", "P1", "payments", true),
                record("early", "2026-11-24T09:00:00Z", "P3", "general", true),
                record("unreviewed", "2026-11-24T11:00:00Z", "P2", "general", true),
            ])
            .unwrap();
        store.add_feedback("late", correction("ana", Some("P2"), Some("billing"))).unwrap();
        store
            .add_feedback(
                "late",
                FeedbackInput { labels: [("urgency".into(), "low".into())].into(), ..correction("bo", Some("P3"), None) },
            )
            .unwrap();
        store.add_feedback("early", correction("cy", None, Some("outage"))).unwrap();

        let corrections = store.corrections().unwrap();
        let ids: Vec<_> = corrections.iter().map(|c| c.decision_id.as_str()).collect();
        assert_eq!(ids, ["early", "late"]);

        let late = &corrections[1];
        assert_eq!(late.version, 2);
        assert_eq!(late.feedback.reviewer, "bo");
        assert_eq!(late.feedback.priority.as_deref(), Some("P3"));
        assert_eq!(label(&late.feedback, "category"), Some("billing"), "kept from version 1");
        assert_eq!(label(&late.feedback, "urgency"), Some("low"));
        assert_eq!(label(&late.feedback, "sentiment"), None);
        assert_eq!(late.ticket_id.as_deref(), Some("T-late"));
        assert_eq!(late.subject, "Checkout down late");
        assert_eq!(late.body, "Every payment fails since 9:00");
        assert_eq!(late.language.as_deref(), Some("en"));
        assert_eq!(label(&corrections[0].feedback, "category"), Some("outage"));
    }
}
