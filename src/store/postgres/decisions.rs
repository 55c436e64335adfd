//! SQL over the decisions table in PostgreSQL: commit a group of records, read decisions whole
//! (feedback and events fetched for all of them at once), list a filtered page newest first,
//! the decisions in a queue, and retention. Functions over a borrowed client so the writer task
//! and `PostgresStore` share them; no pool, tasks or clock reads here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Row};

use super::super::records::{DecisionFilter, DecisionMeta, DecisionPage, DecisionRecord, DecisionSummary, QueuedDecision};
use super::super::{Retention, StoreError, StoredDecision};
use super::{column, events, feedback};
use crate::events::TicketEvent;

/// The columns `meta` reads.
const META_COLUMNS: &str = "d.decision_id, d.ticket_id, d.decided_at, d.priority, d.queue, d.needs_review, \
     d.model_name, d.model_version, d.policy_version";

/// The records' columns, one array each, for one `INSERT ... SELECT FROM UNNEST`.
#[derive(Default)]
struct Columns<'a> {
    decision_ids: Vec<&'a str>,
    ticket_ids: Vec<Option<&'a str>>,
    decided_at: Vec<DateTime<Utc>>,
    priorities: Vec<&'a str>,
    queues: Vec<&'a str>,
    needs_review: Vec<bool>,
    model_names: Vec<&'a str>,
    model_versions: Vec<&'a str>,
    policy_versions: Vec<&'a str>,
    requests: Vec<&'a str>,
    responses: Vec<&'a str>,
}

/// Commits `records` in one transaction and one statement: all of them or none.
pub(super) async fn insert<'a>(client: &mut Client, records: impl Iterator<Item = &'a DecisionRecord>) -> Result<(), StoreError> {
    let mut c = Columns::default();
    for record in records {
        let meta = &record.meta;
        c.decision_ids.push(&meta.decision_id);
        c.ticket_ids.push(meta.ticket_id.as_deref());
        c.decided_at.push(meta.decided_at);
        c.priorities.push(&meta.priority);
        c.queues.push(&meta.queue);
        c.needs_review.push(meta.needs_review);
        c.model_names.push(&meta.model_name);
        c.model_versions.push(&meta.model_version);
        c.policy_versions.push(&meta.policy_version);
        c.requests.push(&record.request);
        c.responses.push(&record.response);
    }
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "INSERT INTO decisions (decision_id, ticket_id, decided_at, priority, queue, needs_review, \
             model_name, model_version, policy_version, request, response) \
             SELECT id, ticket, at, priority, queue, review, model, model_version, policy_version, request::json, response::json \
             FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::bool[], \
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) \
             AS u(id, ticket, at, priority, queue, review, model, model_version, policy_version, request, response)",
            &[
                &c.decision_ids,
                &c.ticket_ids,
                &c.decided_at,
                &c.priorities,
                &c.queues,
                &c.needs_review,
                &c.model_names,
                &c.model_versions,
                &c.policy_versions,
                &c.requests,
                &c.responses,
            ],
        )
        .await?;
    transaction.commit().await?;
    Ok(())
}

fn meta(row: &Row) -> Result<DecisionMeta, StoreError> {
    Ok(DecisionMeta {
        decision_id: column(row, "decision_id")?,
        ticket_id: column(row, "ticket_id")?,
        decided_at: column(row, "decided_at")?,
        priority: column(row, "priority")?,
        queue: column(row, "queue")?,
        needs_review: column(row, "needs_review")?,
        model_name: column(row, "model_name")?,
        model_version: column(row, "model_version")?,
        policy_version: column(row, "policy_version")?,
    })
}

/// The decisions selected by `condition` (over `d`, with `params`), whole, in the order given.
async fn whole(
    client: &impl GenericClient,
    condition: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<StoredDecision>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {META_COLUMNS}, d.request, d.response FROM decisions d WHERE {condition} \
                 ORDER BY d.decided_at, d.decision_id"
            ),
            params,
        )
        .await?;
    let ids: Vec<String> = rows.iter().map(|row| column(row, "decision_id")).collect::<Result<_, _>>()?;
    let mut feedback = feedback::of(client, &ids).await?;
    let mut events = events::of(client, &ids).await?;
    rows.iter()
        .map(|row| {
            let meta = meta(row)?;
            Ok(StoredDecision {
                request: column(row, "request")?,
                response: column(row, "response")?,
                feedback: feedback.remove(&meta.decision_id).unwrap_or_default(),
                events: events.remove(&meta.decision_id).unwrap_or_default(),
                meta,
            })
        })
        .collect()
}

pub(super) async fn get(client: &Client, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
    Ok(whole(client, "d.decision_id = $1", &[&decision_id]).await?.pop())
}

/// Every decision decided in `[since, until)`, oldest first, whole.
pub(super) async fn between(
    client: &Client,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<StoredDecision>, StoreError> {
    whole(client, "d.decided_at >= $1 AND d.decided_at < $2", &[&since, &until]).await
}

/// Whether a decision has feedback, for the reviewer-queue filter.
const HAS_FEEDBACK: &str = "EXISTS (SELECT 1 FROM feedback x WHERE x.decision_id = d.decision_id)";

pub(super) async fn list(client: &Client, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
    let limit = filter.checked_limit()?;
    let mut conditions = vec!["TRUE".to_string()];
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut bind = |value: Box<dyn ToSql + Sync + Send>| {
        params.push(value);
        format!("${}", params.len())
    };
    match filter.needs_review {
        Some(true) => conditions.push(format!("d.needs_review AND NOT {HAS_FEEDBACK}")),
        Some(false) => conditions.push(format!("(NOT d.needs_review OR {HAS_FEEDBACK})")),
        None => {}
    }
    if let Some(priority) = &filter.priority {
        conditions.push(format!("d.priority = {}", bind(Box::new(priority.clone()))));
    }
    if let Some(queue) = &filter.queue {
        conditions.push(format!("d.queue = {}", bind(Box::new(queue.clone()))));
    }
    if let Some(since) = filter.since {
        conditions.push(format!("d.decided_at >= {}", bind(Box::new(since))));
    }
    if let Some(cursor) = &filter.before {
        let (at, id) = (bind(Box::new(cursor.decided_at)), bind(Box::new(cursor.decision_id.clone())));
        conditions.push(format!("(d.decided_at, d.decision_id) < ({at}, {id})"));
    }
    // One row more than the page tells whether another page follows.
    let limit_param = bind(Box::new(limit as i64 + 1));
    let sql = format!(
        "SELECT {META_COLUMNS}, d.request->>'subject' AS subject, {feedback_columns} FROM decisions d \
         LEFT JOIN LATERAL (SELECT * FROM feedback x WHERE x.decision_id = d.decision_id ORDER BY x.version DESC LIMIT 1) f \
             ON TRUE \
         WHERE {conditions} ORDER BY d.decided_at DESC, d.decision_id DESC LIMIT {limit_param}",
        feedback_columns = feedback::COLUMNS,
        conditions = conditions.join(" AND "),
    );
    let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&sql, &params).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let meta = meta(row)?;
        // The outer join leaves the feedback columns NULL for a decision nobody reviewed.
        let reviewed = column::<Option<i32>>(row, "version")?.is_some();
        let latest_feedback = if reviewed { Some(feedback::from_row(row)?) } else { None };
        items.push(DecisionSummary { reviewed, latest_feedback, subject: column(row, "subject")?, meta });
    }
    Ok(DecisionPage::from_rows(items, limit))
}

/// The decisions whose ticket is in `queue` now: decided there and not reassigned since, or
/// reassigned there last. Oldest first.
pub(super) async fn in_queue(client: &Client, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {META_COLUMNS}, d.request->>'subject' AS subject, d.response->'sla' AS sla FROM decisions d \
                 WHERE COALESCE((SELECT e.event->>'queue' FROM events e \
                                 WHERE e.decision_id = d.decision_id AND e.kind = 'reassigned' ORDER BY e.seq DESC LIMIT 1), \
                                d.queue) = $1 \
                 ORDER BY d.decided_at, d.decision_id"
            ),
            &[&queue],
        )
        .await?;
    let ids: Vec<String> = rows.iter().map(|row| column(row, "decision_id")).collect::<Result<_, _>>()?;
    let mut events: HashMap<String, Vec<TicketEvent>> = events::of(client, &ids).await?;
    rows.iter()
        .map(|row| {
            let meta = meta(row)?;
            let sla = column::<Option<serde_json::Value>>(row, "sla")?.unwrap_or(serde_json::Value::Null);
            Ok(QueuedDecision {
                subject: column(row, "subject")?,
                sla,
                events: events.remove(&meta.decision_id).unwrap_or_default(),
                meta,
            })
        })
        .collect()
}

/// Runs retention unless a server sharing this log ran it after `retention.skip_if_ran_after`:
/// the claim in `maintenance` and the delete commit together, and a second server's claim
/// waits on the first's row lock and then finds the run done. Feedback and events go with
/// their decisions (foreign key cascade). `None` when skipped.
pub(super) async fn prune(client: &mut Client, retention: &Retention) -> Result<Option<usize>, StoreError> {
    let transaction = client.transaction().await?;
    let claimed = transaction
        .query_opt(
            "INSERT INTO maintenance (task, last_run, server) VALUES ('retention', $1, $2) \
             ON CONFLICT (task) DO UPDATE SET last_run = EXCLUDED.last_run, server = EXCLUDED.server \
             WHERE maintenance.last_run <= $3 RETURNING task",
            &[&retention.now, &retention.server, &retention.skip_if_ran_after],
        )
        .await?;
    if claimed.is_none() {
        return Ok(None);
    }
    let deleted = transaction.execute("DELETE FROM decisions WHERE decided_at < $1", &[&retention.older_than]).await?;
    transaction.commit().await?;
    Ok(Some(usize::try_from(deleted).unwrap_or(usize::MAX)))
}
