//! What reports read of a period, from the `decision_facts` table (filled by triggers on every
//! logged decision and event, see migration 6) with the period's feedback: range scans in the
//! table's own time order, no decision's request or response parsed, so a month of a busy
//! helpdesk reads in seconds. No aggregation here: the figures are `crate::report`'s.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};

use super::super::records::{
    corrupt, format_time, one_per_policy_version, parse_time, traced_rules, FactRow, Feedback, Names, ReportedDecision,
    ReportedPeriod,
};
use super::super::StoreError;
use super::{feedback, schema};

/// The decisions of `[since, until)` as reports read them, oldest first. Each half of the
/// period is read on a read-only connection of its own, at once, so a long report neither waits
/// for nor holds up the store's connection.
pub(super) fn period(path: &Path, since: &DateTime<Utc>, until: &DateTime<Utc>) -> Result<ReportedPeriod, StoreError> {
    let middle = *since + (*until - *since) / 2;
    let halves = std::thread::scope(|scope| {
        let later = scope.spawn(|| facts_of(&schema::open_reader(path)?, &middle, until));
        let earlier = schema::open_reader(path)
            .and_then(|connection| Ok((facts_of(&connection, since, &middle)?, feedback_of(&connection, since, until)?)));
        let later = later.join().unwrap_or_else(|_| Err(StoreError::Unavailable("a report reader failed".into())));
        (earlier, later)
    });
    let ((mut decisions, mut feedback), mut later) = (halves.0?, halves.1?);
    decisions.append(&mut later);
    for decision in &mut decisions {
        decision.feedback = feedback.remove(&decision.decision_id).unwrap_or_default();
    }
    let connection = schema::open_reader(path)?;
    let mut trace =
        connection.prepare("SELECT json_extract(response, '$.explanation.rules') FROM decisions WHERE decision_id = ?1")?;
    let mut rules_traced = BTreeSet::new();
    for decision_id in one_per_policy_version(&decisions) {
        let rules: Option<String> = trace.query_row([decision_id], |row| row.get(0))?;
        rules_traced.extend(traced_rules(decision_id, rules.as_deref().unwrap_or("[]"))?);
    }
    Ok(ReportedPeriod { decisions, rules_traced })
}

/// The facts of the decisions of `[since, until)`, in time order (the table's own order).
fn facts_of(connection: &Connection, since: &DateTime<Utc>, until: &DateTime<Utc>) -> Result<Vec<ReportedDecision>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT decision_id, ticket_id, decided_at, priority, queue, needs_review, policy_version, plan, calendar, \
         started_at, first_response_due, resolution_due, language, subject, cluster_id, heads, rules_fired, events \
         FROM decision_facts WHERE decided_at >= ?1 AND decided_at < ?2 ORDER BY decided_at, decision_id",
    )?;
    let mut rows = statement.query([format_time(since), format_time(until)])?;
    let mut decisions = Vec::new();
    let mut names = Names::default();
    while let Some(row) = rows.next()? {
        decisions.push(from_row(row, &mut names)?);
    }
    Ok(decisions)
}

fn from_row(row: &Row, names: &mut Names) -> Result<ReportedDecision, StoreError> {
    let decision_id: String = row.get(0)?;
    let time = |index: usize, column: &'static str| -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = row.get(index)?;
        text.map(|text| parse_time(&text).map_err(|e| corrupt(&decision_id, column, e))).transpose()
    };
    let text = |index: usize| row.get_ref(index)?.as_str_or_null().map_err(|e| corrupt(&decision_id, "facts", e));
    let json = |index: usize| row.get_ref(index)?.as_str().map_err(|e| corrupt(&decision_id, "facts", e));
    let fact = FactRow {
        ticket_id: row.get(1)?,
        decided_at: time(2, "decided_at")?.ok_or_else(|| corrupt(&decision_id, "decided_at", "missing"))?,
        priority: text(3)?,
        queue: text(4)?,
        needs_review: row.get(5)?,
        policy_version: text(6)?,
        plan: text(7)?,
        calendar: text(8)?,
        started_at: time(9, "started_at")?,
        first_response_due: time(10, "first_response_due")?,
        resolution_due: time(11, "resolution_due")?,
        language: text(12)?,
        subject: row.get(13)?,
        cluster_id: row.get(14)?,
        heads: json(15)?,
        rules_fired: json(16)?,
        events: json(17)?,
        decision_id: decision_id.clone(),
    };
    fact.read(names)
}

/// Every feedback version of the decisions of `[since, until)`, by decision, oldest first. The
/// feedback table (a reviewed share of the log) is the outer loop (`CROSS JOIN` keeps SQLite
/// from turning it around into one lookup per decision).
fn feedback_of(
    connection: &Connection,
    since: &DateTime<Utc>,
    until: &DateTime<Utc>,
) -> Result<HashMap<String, Vec<Feedback>>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT f.decision_id, {columns} FROM feedback f CROSS JOIN decision_facts x ON x.decision_id = f.decision_id \
         WHERE x.decided_at >= ?1 AND x.decided_at < ?2 ORDER BY f.decision_id, f.version",
        columns = feedback::COLUMNS
    ))?;
    let mut rows = statement.query([format_time(since), format_time(until)])?;
    let mut versions: HashMap<String, Vec<Feedback>> = HashMap::new();
    while let Some(row) = rows.next()? {
        let decision_id: String = row.get(0)?;
        let version = feedback::from_row(row, 1, &decision_id)?;
        versions.entry(decision_id).or_default().push(version);
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::super::super::migrations::MIGRATIONS;
    use super::super::super::records::Name;
    use super::super::SqliteStore;
    use super::*;
    use crate::events::{EventKind, TicketEvent};
    use crate::store::test_records::{at, record};
    use crate::store::FeedbackInput;

    fn event(id: &str, when: &str, kind: EventKind) -> TicketEvent {
        TicketEvent { event_id: id.into(), at: at(when), kind, actor: None }
    }

    #[test]
    fn decisions_logged_before_the_facts_and_after_are_read_with_their_events_and_feedback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.db");
        {
            // A log from before migration 6, with a decision and an event in it.
            let mut old = Connection::open(&path).unwrap();
            MIGRATIONS[..5].iter().for_each(|migration| old.execute_batch(migration.sqlite).unwrap());
            old.pragma_update(None, "user_version", 5).unwrap();
            super::super::decisions::insert(&mut old, [&record("old", "2026-11-24T09:30:00Z", "P1", "payments", true)]).unwrap();
            let answered = event("e1", "2026-11-24T09:45:00Z", EventKind::FirstResponse);
            old.execute(
                "INSERT INTO events (decision_id, seq, event_id, kind, at, recorded_at, event) \
                 VALUES ('old', 1, 'e1', 'first_response', ?1, ?1, ?2)",
                [format_time(&answered.at), serde_json::to_string(&answered).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        store.record(&[record("noon", "2026-11-24T11:00:00Z", "P3", "general", false)]).unwrap();
        store.record(&[record("evening", "2026-11-24T18:00:00Z", "P2", "general", false)]).unwrap();
        let solved = event("s1", "2026-11-24T19:00:00Z", EventKind::Solved);
        store.add_event("evening", solved.clone()).unwrap();
        store
            .add_feedback(
                "noon",
                FeedbackInput { reviewer: "ana".into(), priority: Some("P2".into()), ..FeedbackInput::default() },
            )
            .unwrap();

        let period = store.reported(at("2026-11-24T00:00:00Z"), at("2026-11-25T00:00:00Z")).unwrap();
        let ids: Vec<&str> = period.decisions.iter().map(|d| d.decision_id.as_str()).collect();
        assert_eq!(ids, ["old", "noon", "evening"], "both halves of the day, in time order");
        let [old, noon, evening] = &period.decisions[..] else { unreachable!() };
        assert_eq!(old.events.len(), 1, "the back-fill copied the event logged before the facts");
        assert_eq!(old.events[0].kind, EventKind::FirstResponse);
        assert_eq!(evening.events, [solved], "an event added later reaches the facts");
        assert_eq!((noon.feedback.len(), old.feedback.len()), (1, 0));
        assert_eq!(old.rules_fired, [Name::from("vip-raise")]);
        assert_eq!((old.plan.as_deref(), old.language.as_deref()), (Some("enterprise"), Some("en")));
        assert_eq!(old.subject.as_deref(), Some("Checkout down old"));
        let (calendar, commitment) = old.sla.as_ref().expect("an SLA");
        assert_eq!((&**calendar, commitment.started_at), ("eu-business", at("2026-11-24T09:30:00Z")));
        assert_eq!(old.ticket_id.as_deref(), Some("T-old"));
        assert!(old.needs_review && !noon.needs_review);
        assert!(period.rules_traced.contains("vip-raise"));
        let outside = store.reported(at("2026-11-25T00:00:00Z"), at("2026-11-26T00:00:00Z")).unwrap();
        assert!(outside.decisions.is_empty() && outside.rules_traced.is_empty());
    }
}
