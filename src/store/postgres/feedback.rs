//! SQL over the feedback table in PostgreSQL: append a version under the decision's row lock,
//! read the versions of many decisions at once, and merge them into training corrections
//! (`records::add_correction`). Versions are only ever inserted, never updated. No pool or
//! clock reads here (`now` is a parameter).

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tokio_postgres::{Client, GenericClient, Row};

use super::super::records::{add_correction, Correction, Feedback, FeedbackInput};
use super::super::StoreError;
use super::{column, corrupt_in, json_column};

/// The columns `from_row` reads, by name; the corrected priority is renamed so it cannot be
/// mistaken for the decision's own.
pub(super) const COLUMNS: &str = "f.version, f.created_at, f.reviewer, f.note, f.priority AS corrected_priority, f.labels";

pub(super) fn from_row(row: &Row) -> Result<Feedback, StoreError> {
    let version: i32 = column(row, "version")?;
    Ok(Feedback {
        version: u32::try_from(version).map_err(|e| corrupt_in(row, "version", e))?,
        created_at: column(row, "created_at")?,
        fields: FeedbackInput {
            reviewer: column(row, "reviewer")?,
            note: column(row, "note")?,
            priority: column(row, "corrected_priority")?,
            labels: json_column(row, "labels")?,
        },
    })
}

/// Stores `input` as the decision's next version (one past the highest so far).
pub(super) async fn add(
    client: &mut Client,
    decision_id: &str,
    input: FeedbackInput,
    now: DateTime<Utc>,
) -> Result<Feedback, StoreError> {
    let fields = input.validated()?;
    let created_at = now.trunc_subsecs(6);
    let labels = serde_json::to_string(&fields.labels).map_err(StoreError::Encode)?;
    let transaction = client.transaction().await?;
    // The decision's row lock is held from the version read to the insert, so two reviewers
    // posting at once (through any servers) get versions n and n + 1.
    let locked =
        transaction.query_opt("SELECT 1 FROM decisions WHERE decision_id = $1 FOR NO KEY UPDATE", &[&decision_id]).await?;
    if locked.is_none() {
        return Err(StoreError::NotFound(decision_id.to_string()));
    }
    let version: i32 = transaction
        .query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM feedback WHERE decision_id = $1", &[&decision_id])
        .await?
        .get(0);
    transaction
        .execute(
            "INSERT INTO feedback (decision_id, version, created_at, reviewer, note, priority, labels) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::json)",
            &[&decision_id, &version, &created_at, &fields.reviewer, &fields.note, &fields.priority, &labels],
        )
        .await?;
    transaction.commit().await?;
    let version = u32::try_from(version).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(Feedback { version, created_at, fields })
}

/// Every feedback version of the decisions `ids`, by decision, oldest first.
pub(super) async fn of(client: &impl GenericClient, ids: &[String]) -> Result<HashMap<String, Vec<Feedback>>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT f.decision_id, {COLUMNS} FROM feedback f WHERE f.decision_id = ANY($1) ORDER BY f.decision_id, f.version"
            ),
            &[&ids],
        )
        .await?;
    let mut versions: HashMap<String, Vec<Feedback>> = HashMap::new();
    for row in &rows {
        versions.entry(column(row, "decision_id")?).or_default().push(from_row(row)?);
    }
    Ok(versions)
}

/// One correction per decision with feedback, oldest decision first, each merging its versions
/// in order.
pub(super) async fn corrections(client: &Client) -> Result<Vec<Correction>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS}, d.decision_id, d.ticket_id, d.request FROM feedback f \
                 JOIN decisions d ON d.decision_id = f.decision_id \
                 ORDER BY d.decided_at, d.decision_id, f.version"
            ),
            &[],
        )
        .await?;
    let mut corrections = Vec::new();
    for row in &rows {
        let ticket = || Ok((column(row, "ticket_id")?, json_column(row, "request")?));
        add_correction(&mut corrections, column(row, "decision_id")?, from_row(row)?, ticket)?;
    }
    Ok(corrections)
}
