//! SQL over the decisions table: commit a group of records, read one decision with its
//! feedback, list a filtered page newest first, prune by age. Functions over a borrowed
//! connection so the writer thread and `SqliteStore` share them; no locks, threads or clock
//! reads here.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};

use super::super::records::{
    corrupt, format_time, parse_time, DecisionFilter, DecisionMeta, DecisionPage, DecisionRecord, DecisionSummary,
    QueuedDecision, Retention, StoredDecision,
};
use super::super::StoreError;
use super::feedback;

/// The columns `meta_from_row` reads, in its order.
const META_COLUMNS: &str = "d.decision_id, d.ticket_id, d.decided_at, d.priority, d.queue, d.needs_review, \
     d.model_name, d.model_version, d.policy_version";
const META_WIDTH: usize = 9;

/// Commits `records` in one transaction: all of them or none. IMMEDIATE takes the write lock at
/// the start, where the busy timeout applies, instead of failing on a lock upgrade midway.
pub(super) fn insert<'a>(
    connection: &mut Connection,
    records: impl IntoIterator<Item = &'a DecisionRecord>,
) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = transaction.prepare_cached(
            "INSERT INTO decisions (decision_id, ticket_id, decided_at, priority, queue, needs_review, \
             model_name, model_version, policy_version, request, response) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for record in records {
            let meta = &record.meta;
            statement.execute(params![
                meta.decision_id,
                meta.ticket_id,
                format_time(&meta.decided_at),
                meta.priority,
                meta.queue,
                meta.needs_review,
                meta.model_name,
                meta.model_version,
                meta.policy_version,
                record.request,
                record.response,
            ])?;
        }
    }
    transaction.commit()?;
    Ok(())
}

fn meta_from_row(row: &Row) -> Result<DecisionMeta, StoreError> {
    let decision_id: String = row.get(0)?;
    let decided_at: String = row.get(2)?;
    let decided_at = parse_time(&decided_at).map_err(|e| corrupt(&decision_id, "decided_at", e))?;
    Ok(DecisionMeta {
        ticket_id: row.get(1)?,
        decided_at,
        priority: row.get(3)?,
        queue: row.get(4)?,
        needs_review: row.get(5)?,
        model_name: row.get(6)?,
        model_version: row.get(7)?,
        policy_version: row.get(8)?,
        decision_id,
    })
}

pub(super) fn get(connection: &Connection, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!("SELECT {META_COLUMNS}, d.request, d.response FROM decisions d WHERE d.decision_id = ?1"))?;
    let mut rows = statement.query([decision_id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let meta = meta_from_row(row)?;
    let json = |index: usize, column: &'static str| -> Result<serde_json::Value, StoreError> {
        let text: String = row.get(index)?;
        serde_json::from_str(&text).map_err(|e| corrupt(decision_id, column, e))
    };
    let request = json(META_WIDTH, "request")?;
    let response = json(META_WIDTH + 1, "response")?;
    let feedback = feedback::versions(connection, decision_id)?;
    let events = super::events::read(connection, decision_id)?;
    Ok(Some(StoredDecision { meta, request, response, feedback, events }))
}

/// Whether a decision has feedback, for the reviewer-queue filter.
const HAS_FEEDBACK: &str = "EXISTS (SELECT 1 FROM feedback x WHERE x.decision_id = d.decision_id)";

pub(super) fn list(connection: &Connection, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
    let limit = filter.checked_limit()?;
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    match filter.needs_review {
        Some(true) => conditions.push(format!("d.needs_review = 1 AND NOT {HAS_FEEDBACK}")),
        Some(false) => conditions.push(format!("(d.needs_review = 0 OR {HAS_FEEDBACK})")),
        None => {}
    }
    if let Some(priority) = &filter.priority {
        conditions.push("d.priority = ?".into());
        values.push(Value::Text(priority.clone()));
    }
    if let Some(queue) = &filter.queue {
        conditions.push("d.queue = ?".into());
        values.push(Value::Text(queue.clone()));
    }
    if let Some(since) = &filter.since {
        conditions.push("d.decided_at >= ?".into());
        values.push(Value::Text(format_time(since)));
    }
    if let Some(cursor) = &filter.before {
        conditions.push("(d.decided_at, d.decision_id) < (?, ?)".into());
        values.push(Value::Text(format_time(&cursor.decided_at)));
        values.push(Value::Text(cursor.decision_id.clone()));
    }
    let where_clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    // One row more than the page tells whether another page follows.
    values.push(Value::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT {META_COLUMNS}, json_extract(d.request, '$.subject'), {feedback_columns} FROM decisions d \
         LEFT JOIN feedback f ON f.decision_id = d.decision_id \
             AND f.version = (SELECT MAX(version) FROM feedback WHERE decision_id = d.decision_id) \
         {where_clause} ORDER BY d.decided_at DESC, d.decision_id DESC LIMIT ?",
        feedback_columns = feedback::COLUMNS,
    );
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(params_from_iter(values))?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        let meta = meta_from_row(row)?;
        let subject = row.get::<_, Option<String>>(META_WIDTH)?;
        let feedback_start = META_WIDTH + 1;
        // The outer join leaves the feedback columns NULL for a decision nobody reviewed.
        let reviewed = row.get::<_, Option<u32>>(feedback_start)?.is_some();
        let latest_feedback = if reviewed { Some(feedback::from_row(row, feedback_start, &meta.decision_id)?) } else { None };
        items.push(DecisionSummary { reviewed, latest_feedback, subject, meta });
    }
    Ok(DecisionPage::from_rows(items, limit))
}

/// Every decision decided in `[since, until)`, oldest first, whole (feedback and events too).
pub(super) fn between(
    connection: &Connection,
    since: &DateTime<Utc>,
    until: &DateTime<Utc>,
) -> Result<Vec<StoredDecision>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT decision_id FROM decisions WHERE decided_at >= ?1 AND decided_at < ?2 ORDER BY decided_at, decision_id",
    )?;
    let ids: Vec<String> =
        statement.query_map([format_time(since), format_time(until)], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut decisions = Vec::with_capacity(ids.len());
    for id in ids {
        decisions.extend(get(connection, &id)?);
    }
    Ok(decisions)
}

/// The decisions whose ticket is in `queue` now: decided there and not reassigned since, or
/// reassigned there last. Oldest first; solved or waiting ones included (the caller reads their
/// events).
pub(super) fn in_queue(connection: &Connection, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, json_extract(d.request, '$.subject'), json_extract(d.response, '$.sla') FROM decisions d \
         WHERE COALESCE((SELECT json_extract(e.event, '$.queue') FROM events e \
                         WHERE e.decision_id = d.decision_id AND e.kind = 'reassigned' ORDER BY e.seq DESC LIMIT 1), d.queue) = ?1 \
         ORDER BY d.decided_at, d.decision_id"
    ))?;
    let mut rows = statement.query([queue])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let meta = meta_from_row(row)?;
        let subject = row.get::<_, Option<String>>(META_WIDTH)?;
        let sla: String = row.get::<_, Option<String>>(META_WIDTH + 1)?.unwrap_or_else(|| "null".into());
        let sla = serde_json::from_str(&sla).map_err(|e| corrupt(&meta.decision_id, "response", e))?;
        let events = super::events::read(connection, &meta.decision_id)?;
        found.push(QueuedDecision { meta, subject, sla, events });
    }
    Ok(found)
}

/// Runs retention unless a server sharing this log ran it after `retention.skip_if_ran_after`:
/// claims the run in `maintenance` and deletes the decisions decided before
/// `retention.older_than` in the same transaction, so two servers never both run it. Feedback
/// and events go with their decisions (foreign key cascade). Returns how many decisions were
/// deleted, or `None` when the run was skipped.
pub(super) fn prune(connection: &mut Connection, retention: &Retention) -> Result<Option<usize>, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let claimed = transaction
        .query_row(
            "INSERT INTO maintenance (task, last_run, server) VALUES ('retention', ?1, ?2) \
             ON CONFLICT (task) DO UPDATE SET last_run = excluded.last_run, server = excluded.server \
             WHERE maintenance.last_run <= ?3 RETURNING task",
            params![format_time(&retention.now), retention.server, format_time(&retention.skip_if_ran_after)],
            |_| Ok(()),
        )
        .optional()?;
    if claimed.is_none() {
        return Ok(None);
    }
    let deleted = transaction.execute("DELETE FROM decisions WHERE decided_at < ?1", [format_time(&retention.older_than)])?;
    transaction.commit()?;
    Ok(Some(deleted))
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use super::*;
    use crate::store::test_records::{at, record, temp_store};
    use crate::store::{FeedbackInput, MAX_PAGE};

    fn ids(page: &DecisionPage) -> Vec<&str> {
        page.items.iter().map(|item| item.meta.decision_id.as_str()).collect()
    }

    fn list_ids(store: &SqliteStore, filter: DecisionFilter) -> Vec<String> {
        ids(&store.list(&filter).unwrap()).into_iter().map(String::from).collect()
    }

    fn note(reviewer: &str) -> FeedbackInput {
        FeedbackInput { reviewer: reviewer.into(), note: Some("checked".into()), ..FeedbackInput::default() }
    }

    #[test]
    fn a_recorded_decision_reads_back_whole() {
        let (_dir, store) = temp_store();
        let logged = record("d-1", "2026-11-24T09:30:00.123456Z", "P1", "payments", true);
        store.record(std::slice::from_ref(&logged)).unwrap();

        let stored = store.get("d-1").unwrap().expect("recorded");
        assert_eq!(&stored.meta, logged.meta());
        assert_eq!(stored.meta.ticket_id.as_deref(), Some("T-d-1"));
        assert_eq!(stored.meta.model_version, "m-1");
        assert_eq!(stored.request["subject"], "Checkout down d-1");
        assert_eq!(stored.response["decision_id"], "d-1");
        assert_eq!(stored.response["priority"]["level"], "P1");
        assert_eq!(stored.response["explanation"]["rules"][0]["rule"], "vip-raise");
        assert!(stored.feedback.is_empty());
        assert_eq!(store.get("missing").unwrap(), None);
    }

    #[test]
    fn a_corrupt_json_column_is_an_error_not_a_panic() {
        let (dir, store) = temp_store();
        store.record(&[record("d-1", "2026-11-24T09:30:00Z", "P1", "payments", false)]).unwrap();
        let raw = Connection::open(dir.path().join("decisions.db")).unwrap();
        raw.execute("UPDATE decisions SET response = '{not json' WHERE decision_id = 'd-1'", []).unwrap();
        assert!(matches!(store.get("d-1"), Err(StoreError::Corrupt { column: "response", .. })));
        raw.execute("UPDATE decisions SET decided_at = 'noon' WHERE decision_id = 'd-1'", []).unwrap();
        assert!(matches!(store.list(&DecisionFilter::default()), Err(StoreError::Corrupt { column: "decided_at", .. })));
    }

    #[test]
    fn list_filters_each_column() {
        let (_dir, store) = temp_store();
        store
            .record(&[
                record("a", "2026-11-24T08:00:00Z", "P1", "payments", true),
                record("b", "2026-11-24T09:00:00Z", "P3", "general", false),
                record("c", "2026-11-24T10:00:00Z", "P1", "general", true),
                record("d", "2026-11-24T11:00:00Z", "P2", "payments", true),
            ])
            .unwrap();
        store.add_feedback("d", note("ana")).unwrap();

        assert_eq!(list_ids(&store, DecisionFilter::default()), ["d", "c", "b", "a"]);
        let filter = |f: DecisionFilter| list_ids(&store, f);
        assert_eq!(filter(DecisionFilter { priority: Some("P1".into()), ..Default::default() }), ["c", "a"]);
        assert_eq!(filter(DecisionFilter { queue: Some("payments".into()), ..Default::default() }), ["d", "a"]);
        assert_eq!(filter(DecisionFilter { since: Some(at("2026-11-24T09:00:00Z")), ..Default::default() }), ["d", "c", "b"]);
        // `d` is flagged but reviewed: it leaves the queue and counts as not needing review.
        assert_eq!(filter(DecisionFilter { needs_review: Some(true), ..Default::default() }), ["c", "a"]);
        assert_eq!(filter(DecisionFilter { needs_review: Some(false), ..Default::default() }), ["d", "b"]);
        let combined = DecisionFilter {
            needs_review: Some(true),
            queue: Some("general".into()),
            priority: Some("P1".into()),
            ..Default::default()
        };
        assert_eq!(filter(combined), ["c"]);

        let page = store.list(&DecisionFilter::default()).unwrap();
        let reviewed: Vec<_> = page.items.iter().map(|item| (item.reviewed, item.latest_feedback.is_some())).collect();
        assert_eq!(reviewed, [(true, true), (false, false), (false, false), (false, false)]);
        assert_eq!(page.items[0].latest_feedback.as_ref().unwrap().fields.reviewer, "ana");
    }

    #[test]
    fn list_reports_the_latest_feedback_version() {
        let (_dir, store) = temp_store();
        store.record(&[record("a", "2026-11-24T08:00:00Z", "P1", "payments", true)]).unwrap();
        store.add_feedback("a", note("ana")).unwrap();
        store.add_feedback("a", note("bo")).unwrap();
        let page = store.list(&DecisionFilter::default()).unwrap();
        assert_eq!(page.items.len(), 1);
        let latest = page.items[0].latest_feedback.as_ref().unwrap();
        assert_eq!((latest.version, latest.fields.reviewer.as_str()), (2, "bo"));
    }

    #[test]
    fn keyset_paging_walks_equal_timestamps_without_gaps_or_repeats() {
        let (_dir, store) = temp_store();
        let same = "2026-11-24T09:00:00Z";
        store
            .record(&[
                record("e", "2026-11-24T10:00:00Z", "P2", "general", false),
                record("a", same, "P2", "general", false),
                record("c", same, "P2", "general", false),
                record("b", same, "P2", "general", false),
                record("d", same, "P2", "general", false),
                record("z", "2026-11-24T08:00:00Z", "P2", "general", false),
            ])
            .unwrap();
        let mut filter = DecisionFilter { limit: 2, ..Default::default() };
        let mut pages = Vec::new();
        loop {
            let page = store.list(&filter).unwrap();
            pages.push(ids(&page).join(""));
            match page.next {
                Some(next) => filter.before = Some(next.to_string().parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, ["ed", "cb", "az"]);
    }

    #[test]
    fn list_rejects_a_page_size_out_of_range() {
        let (_dir, store) = temp_store();
        for limit in [0, MAX_PAGE + 1] {
            let result = store.list(&DecisionFilter { limit, ..Default::default() });
            assert!(matches!(result, Err(StoreError::Invalid { field, .. }) if field == "limit"), "{limit}");
        }
    }

    #[test]
    fn prune_deletes_old_decisions_and_their_feedback() {
        let (dir, store) = temp_store();
        store
            .record(&[
                record("old", "2026-01-01T00:00:00Z", "P3", "general", true),
                record("edge", "2026-02-01T00:00:00Z", "P3", "general", true),
                record("new", "2026-03-01T00:00:00Z", "P3", "general", true),
            ])
            .unwrap();
        store.add_feedback("old", note("ana")).unwrap();
        store.add_feedback("new", note("ana")).unwrap();

        let retention = |now: &str, server: &str| Retention {
            older_than: at("2026-02-01T00:00:00Z"),
            now: at(now),
            skip_if_ran_after: at(now) - chrono::Duration::hours(12),
            server: server.into(),
        };
        assert_eq!(store.prune(&retention("2026-03-02T00:00:00Z", "a")).unwrap(), Some(1));
        assert_eq!(store.get("old").unwrap(), None);
        assert!(store.get("edge").unwrap().is_some());
        assert_eq!(store.get("new").unwrap().unwrap().feedback.len(), 1);
        let raw = Connection::open(dir.path().join("decisions.db")).unwrap();
        let orphans: i64 = raw.query_row("SELECT COUNT(*) FROM feedback WHERE decision_id = 'old'", [], |r| r.get(0)).unwrap();
        assert_eq!(orphans, 0);
        let other_server = SqliteStore::open(dir.path().join("decisions.db")).unwrap();
        assert_eq!(other_server.prune(&retention("2026-03-02T01:00:00Z", "b")).unwrap(), None, "ran an hour ago");
        assert_eq!(other_server.prune(&retention("2026-03-03T00:00:00Z", "b")).unwrap(), Some(0), "a day later");
    }

    #[test]
    fn a_failed_group_leaves_nothing_behind() {
        let (_dir, store) = temp_store();
        store.record(&[record("a", "2026-11-24T08:00:00Z", "P1", "payments", true)]).unwrap();
        let group = [
            record("b", "2026-11-24T09:00:00Z", "P1", "payments", true),
            record("a", "2026-11-24T10:00:00Z", "P1", "payments", true),
        ];
        assert!(matches!(store.record(&group), Err(StoreError::Sqlite(_))));
        assert_eq!(store.get("b").unwrap(), None);
    }
}
