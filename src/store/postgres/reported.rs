//! What reports read of a period in PostgreSQL, from the `decision_facts` table (filled by
//! triggers on every logged decision and event, see migration 6) with the period's feedback;
//! no decision's request or response is read. No aggregation here: the figures are
//! `crate::report`'s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Row};

use super::super::records::{traced_rules, FactLists, Feedback, Name, Names, ReportedDecision, ReportedPeriod};
use super::super::StoreError;
use super::{column, corrupt_in, feedback};
use crate::events::Commitment;

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
    // One decision per policy version, whose trace names that version's rules.
    let mut traced_by_version: BTreeMap<Name, String> = BTreeMap::new();
    let mut names = Names::default();
    for row in &rows {
        let mut decision = from_row(row, &mut names)?;
        decision.feedback = feedback.remove(&decision.decision_id).unwrap_or_default();
        traced_by_version.entry(decision.policy_version.clone()).or_insert_with(|| decision.decision_id.clone());
        decisions.push(decision);
    }
    let mut rules_traced = BTreeSet::new();
    for decision_id in traced_by_version.values() {
        let row = client
            .query_one(
                "SELECT decision_id, COALESCE(response->'explanation'->'rules', '[]'::json)::text AS rules \
                 FROM decisions WHERE decision_id = $1",
                &[decision_id],
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
    let decision_id: String = column(row, "decision_id")?;
    let mut name = |column_name: &'static str| -> Result<Option<Name>, StoreError> {
        Ok(column::<Option<&str>>(row, column_name)?.map(|text| names.get(text)))
    };
    let (priority, queue, policy_version) = (name("priority")?, name("queue")?, name("policy_version")?);
    let (plan, calendar, language) = (name("plan")?, name("calendar")?, name("language")?);
    let (Some(priority), Some(queue), Some(policy_version)) = (priority, queue, policy_version) else {
        return Err(corrupt_in(row, "facts", "no priority, queue or policy version"));
    };
    let started_at: Option<DateTime<Utc>> = column(row, "started_at")?;
    let sla = match (calendar, started_at) {
        (Some(calendar), Some(started_at)) => Some((
            calendar,
            Commitment {
                started_at,
                first_response_due: column(row, "first_response_due")?,
                resolution_due: column(row, "resolution_due")?,
            },
        )),
        _ => None,
    };
    let text = |name: &'static str| column::<String>(row, name);
    let lists = FactLists::read(names, &decision_id, &text("heads")?, &text("rules_fired")?, &text("events")?)?;
    Ok(ReportedDecision {
        ticket_id: column(row, "ticket_id")?,
        decided_at: column(row, "decided_at")?,
        priority,
        queue,
        needs_review: column(row, "needs_review")?,
        policy_version,
        plan,
        sla,
        language,
        subject: column(row, "subject")?,
        cluster_id: column(row, "cluster_id")?,
        heads: lists.heads,
        rules_fired: lists.rules_fired,
        events: lists.events,
        feedback: Vec::new(),
        decision_id,
    })
}
