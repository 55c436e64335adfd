//! What reports read of a period in PostgreSQL, from the `decision_facts` table (filled by
//! triggers on every logged decision and event, see migration 6) with the period's feedback;
//! no decision's request or response is read. No aggregation here: the figures are
//! `crate::report`'s.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Row};

use super::super::records::{one_per_policy_version, traced_rules, FactRow, Feedback, Names, ReportedDecision, ReportedPeriod};
use super::super::StoreError;
use super::{column, feedback};

/// The decisions of `[since, until)` as reports read them, oldest first.
pub(super) async fn period(
    client: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<ReportedPeriod, StoreError> {
    let rows = client
        .query(
            "SELECT decision_id, ticket_id, decided_at, priority, queue, needs_review, policy_version, plan, calendar, \
             started_at, first_response_due, resolution_due, language, subject, cluster_id, \
             heads::text AS heads, rules_fired::text AS rules_fired, events::text AS events \
             FROM decision_facts WHERE decided_at >= $1 AND decided_at < $2 ORDER BY decided_at, decision_id",
            &[&since, &until],
        )
        .await?;
    let mut feedback = feedback_of(client, since, until).await?;
    let mut decisions = Vec::with_capacity(rows.len());
    let mut names = Names::default();
    for row in &rows {
        let mut decision = from_row(row, &mut names)?;
        decision.feedback = feedback.remove(&decision.decision_id).unwrap_or_default();
        decisions.push(decision);
    }
    let mut rules_traced = BTreeSet::new();
    for decision_id in one_per_policy_version(&decisions) {
        let row = client
            .query_one(
                "SELECT decision_id, COALESCE(response->'explanation'->'rules', '[]'::json)::text AS rules \
                 FROM decisions WHERE decision_id = $1",
                &[&decision_id],
            )
            .await?;
        rules_traced.extend(traced_rules(decision_id, &column::<String>(&row, "rules")?)?);
    }
    Ok(ReportedPeriod { decisions, rules_traced })
}

/// Every feedback version of the decisions of `[since, until)`, by decision, oldest first: a
/// join on the period, not a list of a million ids.
async fn feedback_of(
    client: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Feedback>>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT f.decision_id, {columns} FROM feedback f JOIN decision_facts x ON x.decision_id = f.decision_id \
                 WHERE x.decided_at >= $1 AND x.decided_at < $2 ORDER BY f.decision_id, f.version",
                columns = feedback::COLUMNS
            ),
            &[&since, &until],
        )
        .await?;
    let mut versions: HashMap<String, Vec<Feedback>> = HashMap::new();
    for row in &rows {
        versions.entry(column(row, "decision_id")?).or_default().push(feedback::from_row(row)?);
    }
    Ok(versions)
}

fn from_row(row: &Row, names: &mut Names) -> Result<ReportedDecision, StoreError> {
    let text = |name: &'static str| column::<Option<&str>>(row, name);
    let json = |name: &'static str| column::<&str>(row, name);
    let fact = FactRow {
        decision_id: column(row, "decision_id")?,
        ticket_id: column(row, "ticket_id")?,
        decided_at: column(row, "decided_at")?,
        priority: text("priority")?,
        queue: text("queue")?,
        needs_review: column(row, "needs_review")?,
        policy_version: text("policy_version")?,
        plan: text("plan")?,
        calendar: text("calendar")?,
        started_at: column(row, "started_at")?,
        first_response_due: column(row, "first_response_due")?,
        resolution_due: column(row, "resolution_due")?,
        language: text("language")?,
        subject: column(row, "subject")?,
        cluster_id: column(row, "cluster_id")?,
        heads: json("heads")?,
        rules_fired: json("rules_fired")?,
        events: json("events")?,
    };
    fact.read(names)
}
