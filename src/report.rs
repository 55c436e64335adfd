//! Reports over the decision log for a support lead: volume by day, priority, category, queue,
//! plan and language; SLA met per priority and plan with business-hour medians and 90th
//! percentiles; satisfaction by category and priority; how often people agreed with each
//! head's label and the priority; the tickets escalated after the fact; review and abstention
//! rates; how often each policy rule fired (rules that never fired are named); and drift: each
//! head's label distribution, confidence and abstention against the period before. Every
//! figure is a table that prints as markdown and exports as CSV.
//!
//! Pure: decisions in (`store::ReportedPeriod`, the lean facts of each), tables out. The SLA state comes from `events::sla_state` on the
//! calendar the caller looks up; `now` is a parameter.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::events::{self, EventKind, TargetState};
use crate::policy::Policy;
use crate::sla::Calendar;
use crate::store::{ReportedDecision, ReportedPeriod};

/// An RFC 3339 instant, or a date (`YYYY-MM-DD`) meaning its midnight UTC: how a report's
/// period is written on the command line and in the reports API.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is neither RFC 3339 nor YYYY-MM-DD"))?;
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Why a period cannot be read: `field` is `since` or `until`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PeriodError {
    pub field: &'static str,
    pub message: String,
}

/// Days a report covers unless told otherwise.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;

/// The period a report covers: `[since, until)`, by default the `DEFAULT_PERIOD_DAYS` before
/// `now`.
pub fn period(
    since: Option<&str>,
    until: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), PeriodError> {
    let refuse = |field: &'static str| move |message: String| PeriodError { field, message };
    let until = until.map(parse_instant).transpose().map_err(refuse("until"))?.unwrap_or(now);
    let since = since
        .map(parse_instant)
        .transpose()
        .map_err(refuse("since"))?
        .unwrap_or(until - chrono::TimeDelta::days(DEFAULT_PERIOD_DAYS));
    if since >= until {
        return Err(refuse("since")("must be before until".to_string()));
    }
    Ok((since, until))
}

/// One table of the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Table {
    /// File-name-safe id, e.g. `sla_by_priority`.
    pub name: &'static str,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(name: &'static str, title: &str, columns: &[&str]) -> Self {
        Self { name, title: title.to_string(), columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("### {}\n\n| {} |\n|{}\n", self.title, self.columns.join(" | "), "---|".repeat(self.columns.len()));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        if self.rows.is_empty() {
            out.push_str(&format!("| (none){} |\n", " |".repeat(self.columns.len().saturating_sub(1))));
        }
        out
    }

    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.columns)?;
        for row in &self.rows {
            writer.write_record(row)?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// One decision of the report with its SLA state.
struct Row<'d> {
    decision: &'d ReportedDecision,
    sla: Option<events::SlaState>,
}

impl Row<'_> {
    fn plan(&self) -> &str {
        self.decision.plan.as_deref().unwrap_or(NOT_GIVEN)
    }

    fn language(&self) -> &str {
        self.decision.language.as_deref().unwrap_or(NOT_GIVEN)
    }

    fn category(&self) -> &str {
        self.decision.head("category").and_then(|head| head.label.as_deref()).unwrap_or(NOT_GIVEN)
    }

    fn priority(&self) -> &str {
        &self.decision.priority
    }
}

/// What a table shows for a value the request or response did not have.
const NOT_GIVEN: &str = "(not given)";

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// The `quantile` of `seconds` in hours; reorders `seconds` (a selection, not a whole sort).
fn hours(seconds: &mut [i64], quantile: f64) -> String {
    if seconds.is_empty() {
        return "-".to_string();
    }
    // The nearest-rank quantile: a value that occurred, never an interpolation between two.
    let rank = ((quantile * seconds.len() as f64).ceil() as usize).clamp(1, seconds.len());
    let (_, value, _) = seconds.select_nth_unstable(rank - 1);
    format!("{:.2}", *value as f64 / 3600.0)
}

/// Tickets per key; as a table largest first (then by key).
struct Volume<K>(BTreeMap<K, usize>);

impl<K> Default for Volume<K> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: Ord + std::fmt::Display> Volume<K> {
    fn add(&mut self, key: K) {
        *self.0.entry(key).or_default() += 1;
    }

    fn table(self, name: &'static str, title: &str, total: usize) -> Table {
        let mut counted: Vec<(K, usize)> = self.0.into_iter().collect();
        counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut table = Table::new(name, title, &["value", "tickets", "share"]);
        table.rows = counted.into_iter().map(|(value, n)| vec![value.to_string(), n.to_string(), percent(n, total)]).collect();
        table
    }
}

/// Met and missed targets: a stopped clock within its target is met; a stopped clock past it,
/// or a running one already past its due time, is missed; a running one in time is not counted.
#[derive(Default)]
struct SlaTally {
    tickets: usize,
    first_met: usize,
    first_decided: usize,
    resolution_met: usize,
    resolution_decided: usize,
    first_seconds: Vec<i64>,
    resolution_seconds: Vec<i64>,
}

impl SlaTally {
    fn add(&mut self, state: &events::SlaState) {
        self.tickets += 1;
        let count = |target: &Option<TargetState>, met: &mut usize, decided: &mut usize, seconds: &mut Vec<i64>| {
            let Some(target) = target else { return };
            match target.met {
                Some(true) => *met += 1,
                Some(false) => {}
                None if target.breached => {}
                None => return,
            }
            *decided += 1;
            if target.stopped_at.is_some() {
                seconds.push(target.used_seconds);
            }
        };
        count(&state.first_response, &mut self.first_met, &mut self.first_decided, &mut self.first_seconds);
        count(&state.resolution, &mut self.resolution_met, &mut self.resolution_decided, &mut self.resolution_seconds);
    }

    fn row(mut self, key: String) -> Vec<String> {
        vec![
            key,
            self.tickets.to_string(),
            percent(self.first_met, self.first_decided),
            hours(&mut self.first_seconds, 0.5),
            hours(&mut self.first_seconds, 0.9),
            percent(self.resolution_met, self.resolution_decided),
            hours(&mut self.resolution_seconds, 0.5),
            hours(&mut self.resolution_seconds, 0.9),
        ]
    }
}

const SLA_COLUMNS: [&str; 8] = [
    "value",
    "tickets",
    "first response met",
    "first response median h",
    "first response p90 h",
    "resolution met",
    "resolution median h",
    "resolution p90 h",
];

/// SLA tallies per key.
#[derive(Default)]
struct SlaByKey<'r>(BTreeMap<&'r str, SlaTally>);

impl<'r> SlaByKey<'r> {
    fn add(&mut self, key: &'r str, state: &events::SlaState) {
        self.0.entry(key).or_default().add(state);
    }

    fn table(self, name: &'static str, title: &str) -> Table {
        let mut table = Table::new(name, title, &SLA_COLUMNS);
        table.rows = self.0.into_iter().map(|(key, tally)| tally.row(key.to_string())).collect();
        table
    }
}

/// Satisfaction scores per key.
#[derive(Default)]
struct CsatByKey<'r>(BTreeMap<&'r str, Vec<u8>>);

impl<'r> CsatByKey<'r> {
    fn add(&mut self, key: &'r str, score: u8) {
        self.0.entry(key).or_default().push(score);
    }

    fn table(self, name: &'static str, title: &str) -> Table {
        let mut table = Table::new(name, title, &["value", "scores", "mean (1-5)"]);
        table.rows = self
            .0
            .into_iter()
            .map(|(key, s)| {
                let mean = s.iter().map(|&v| f64::from(v)).sum::<f64>() / s.len() as f64;
                vec![key.to_string(), s.len().to_string(), format!("{mean:.2}")]
            })
            .collect();
        table
    }
}

/// The report over `period`, with each decision's SLA state on the policy's calendar of that
/// name (a decision whose calendar the policy no longer has counts everywhere but in SLA) and
/// its levels' order.
pub fn build<'p>(period: &'p ReportedPeriod, policy: &Policy, now: DateTime<Utc>) -> Vec<Table> {
    let calendars = calendars_ahead(period, policy, now);
    let row = |decision: &'p ReportedDecision| {
        let sla = decision.sla.as_ref().and_then(|(calendar, commitment)| {
            let calendar = calendars.get(&**calendar)?;
            Some(events::sla_state(&decision.events, *commitment, &decision.queue, &decision.priority, calendar, now))
        });
        Row { decision, sla }
    };
    // Each decision's SLA clocks are read on their own: the two halves at once.
    let (earlier, later) = period.decisions.split_at(period.decisions.len() / 2);
    let rows: Vec<Row> = std::thread::scope(|scope| {
        let later = scope.spawn(|| later.iter().map(row).collect::<Vec<_>>());
        let mut rows: Vec<Row> = earlier.iter().map(row).collect();
        rows.extend(later.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        rows
    });

    // One pass over the rows for every volume, SLA and satisfaction table.
    let (mut by_day, mut by_priority, mut by_category) = (Volume::default(), Volume::default(), Volume::default());
    let (mut by_queue, mut by_plan, mut by_language) = (Volume::default(), Volume::default(), Volume::default());
    let (mut sla_by_priority, mut sla_by_plan) = (SlaByKey::default(), SlaByKey::default());
    let (mut csat_by_category, mut csat_by_priority) = (CsatByKey::default(), CsatByKey::default());
    for row in &rows {
        let (priority, category, plan) = (row.priority(), row.category(), row.plan());
        by_day.add(row.decision.decided_at.date_naive());
        by_priority.add(priority);
        by_category.add(category);
        by_queue.add(&row.decision.queue);
        by_plan.add(plan);
        by_language.add(row.language());
        let Some(state) = &row.sla else { continue };
        sla_by_priority.add(priority, state);
        sla_by_plan.add(plan, state);
        if let Some(score) = state.csat {
            csat_by_category.add(category, score);
            csat_by_priority.add(priority, score);
        }
    }
    let total = rows.len();
    let mut tables = vec![
        by_day.table("volume_by_day", "Tickets by day (UTC)", total),
        by_priority.table("volume_by_priority", "Tickets by decided priority", total),
        by_category.table("volume_by_category", "Tickets by predicted category", total),
        by_queue.table("volume_by_queue", "Tickets by decided queue", total),
        by_plan.table("volume_by_plan", "Tickets by plan", total),
        by_language.table("volume_by_language", "Tickets by language", total),
        sla_by_priority.table("sla_by_priority", "SLA by decided priority (business hours)"),
        sla_by_plan.table("sla_by_plan", "SLA by plan (business hours)"),
        csat_by_category.table("csat_by_category", "Satisfaction by predicted category"),
        csat_by_priority.table("csat_by_priority", "Satisfaction by decided priority"),
    ];
    tables.push(agreement(&rows));
    let levels: Vec<&str> = policy.levels().iter().map(|l| l.level.as_str()).collect();
    tables.push(escalations(&rows, &levels));
    tables.push(repeat_issues(&rows, &levels));
    tables.push(review(&rows));
    tables.push(rules(&rows, &period.rules_traced));
    tables
}

/// How far past `now` the calendars' open periods are worked out ahead: the due times of
/// clocks still running (further ones are found by walking the calendar).
const DUE_HORIZON_DAYS: i64 = 90;

/// The policy's calendars that the period's decisions name, each with its open periods worked
/// out from the earliest SLA start to past `now`, so a million clocks do not each walk the
/// calendar day by day.
fn calendars_ahead<'p>(period: &'p ReportedPeriod, policy: &Policy, now: DateTime<Utc>) -> BTreeMap<&'p str, Calendar> {
    let commitments = || period.decisions.iter().filter_map(|d| d.sla.as_ref());
    let Some(earliest) = commitments().map(|(_, commitment)| commitment.started_at).min() else {
        return BTreeMap::new();
    };
    let until = now.max(earliest) + chrono::TimeDelta::days(DUE_HORIZON_DAYS);
    let names: BTreeSet<&str> = commitments().map(|(name, _)| &**name).collect();
    names.into_iter().filter_map(|name| Some((name, policy.calendar(name)?.with_timeline(earliest, until)))).collect()
}

/// The repeat-issue clusters of the period with two tickets or more, largest first: a ticket
/// that joined a cluster names it in its response (`cluster.id`, the first ticket's
/// decision), and the first ticket is its own cluster.
fn repeat_issues(rows: &[Row], levels: &[&str]) -> Table {
    let rank = |level: &str| levels.iter().position(|l| *l == level).unwrap_or(levels.len());
    let mut clusters: HashMap<&str, Vec<&Row>> = HashMap::new();
    for row in rows {
        if let Some(cluster) = &row.decision.cluster_id {
            clusters.entry(cluster).or_default().push(row);
        }
    }
    // A cluster's first ticket named none: it is the one the others named.
    for row in rows.iter().filter(|row| row.decision.cluster_id.is_none()) {
        if let Some(members) = clusters.get_mut(row.decision.decision_id.as_str()) {
            members.push(row);
        }
    }
    let mut found: Vec<(&str, Vec<&Row>)> = clusters.into_iter().filter(|(_, members)| members.len() > 1).collect();
    found.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
    let mut table = Table::new(
        "repeat_issues",
        "Repeat issues (tickets about the same problem)",
        &["cluster", "tickets", "first seen", "last seen", "first subject", "highest priority"],
    );
    for (cluster, members) in found {
        let first = members.iter().min_by_key(|r| r.decision.decided_at).copied();
        let last = members.iter().map(|r| r.decision.decided_at).max();
        let highest = members.iter().map(|r| &*r.decision.priority).min_by_key(|level| rank(level)).unwrap_or_default();
        let time = |at: Option<DateTime<Utc>>| at.map(|at| at.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
        table.rows.push(vec![
            cluster.to_string(),
            members.len().to_string(),
            time(first.map(|r| r.decision.decided_at)),
            time(last),
            first.and_then(|r| r.decision.subject.clone()).unwrap_or_default(),
            highest.to_string(),
        ]);
    }
    table
}

/// Per head (and the priority): of the reviewed decisions where a person gave that label,
/// how often it was the one decided.
fn agreement(rows: &[Row]) -> Table {
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in rows {
        let decision = row.decision;
        let Some(merged) = decision.feedback.iter().cloned().map(|f| f.fields).reduce(|earlier, later| later.over(earlier))
        else {
            continue;
        };
        for (head, label) in &merged.labels {
            let entry = tally.entry(head.clone()).or_default();
            entry.0 += 1;
            let predicted = decision.head(head).and_then(|outcome| outcome.label.as_deref());
            entry.1 += usize::from(predicted == Some(label.as_str()));
        }
        if let Some(priority) = &merged.priority {
            let entry = tally.entry("priority".into()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(**priority == *decision.priority);
        }
    }
    let mut table = Table::new("agreement", "People's corrections: agreement with the decision", &["head", "reviewed", "agreed"]);
    table.rows = tally.into_iter().map(|(head, (n, agreed))| vec![head, n.to_string(), percent(agreed, n)]).collect();
    table
}

/// Tickets a person raised above the decided level, or that were reopened: the misses that
/// matter.
fn escalations(rows: &[Row], levels: &[&str]) -> Table {
    let rank = |level: &str| levels.iter().position(|l| *l == level).unwrap_or(levels.len());
    let mut table =
        Table::new("escalated_after_the_fact", "Escalated after the fact", &["decision", "ticket", "decided", "what happened"]);
    for row in rows {
        let mut happened = Vec::new();
        let decision = row.decision;
        for event in &decision.events {
            match &event.kind {
                EventKind::PriorityChanged { priority } if rank(priority) < rank(&decision.priority) => {
                    happened.push(format!("raised to {priority}"))
                }
                EventKind::Reopened => happened.push("reopened".to_string()),
                _ => {}
            }
        }
        if !happened.is_empty() {
            table.rows.push(vec![
                decision.decision_id.clone(),
                decision.ticket_id.clone().unwrap_or_default(),
                decision.priority.to_string(),
                happened.join(", "),
            ]);
        }
    }
    table
}

/// How many decisions asked for review, and how often each head abstained.
fn review(rows: &[Row]) -> Table {
    let mut table = Table::new("review_and_abstention", "Review and abstention", &["measure", "tickets", "rate"]);
    let flagged = rows.iter().filter(|r| r.decision.needs_review).count();
    table.rows.push(vec!["flagged for review".into(), flagged.to_string(), percent(flagged, rows.len())]);
    let mut abstained: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        for outcome in &row.decision.heads {
            *abstained.entry(&*outcome.head).or_default() += usize::from(outcome.abstained);
        }
    }
    for (head, n) in abstained {
        table.rows.push(vec![format!("{head} abstained"), n.to_string(), percent(n, rows.len())]);
    }
    table
}

/// How often each rule of the traces fired; a rule the traces list (`traced`) that never did
/// is marked.
fn rules(rows: &[Row], traced: &BTreeSet<String>) -> Table {
    let mut hits: HashMap<&str, usize> = traced.iter().map(|rule| (rule.as_str(), 0)).collect();
    for row in rows {
        for rule in &row.decision.rules_fired {
            *hits.entry(rule).or_default() += 1;
        }
    }
    let hits: BTreeMap<&str, usize> = hits.into_iter().collect();
    let mut table = Table::new("rule_hits", "Policy rules: how often each fired", &["rule", "fired", "share", "note"]);
    table.rows = hits
        .into_iter()
        .map(|(rule, n)| {
            let note = if n == 0 { "never fired" } else { "" };
            vec![rule.to_string(), n.to_string(), percent(n, rows.len()), note.to_string()]
        })
        .collect();
    table
}

/// Below this many tickets in either period a head's drift is not judged.
const DRIFT_MIN_TICKETS: usize = 30;
/// Population stability index from which a shift is called large (the usual rule of thumb:
/// under 0.1 stable, 0.1 to 0.2 moderate, above 0.2 large).
const DRIFT_ALERT: f64 = 0.2;

/// Population stability index of two label count tables: the sum over labels of
/// `(p - q) * ln(p / q)`, shares smoothed so a label absent from one side stays finite.
pub fn population_stability<A, B>(now: &BTreeMap<A, usize>, before: &BTreeMap<B, usize>) -> f64
where
    A: Borrow<str> + Ord,
    B: Borrow<str> + Ord,
{
    let (n, b) = (now.values().sum::<usize>().max(1) as f64, before.values().sum::<usize>().max(1) as f64);
    let labels: BTreeSet<&str> = now.keys().map(Borrow::borrow).chain(before.keys().map(Borrow::borrow)).collect();
    labels
        .into_iter()
        .map(|label| {
            let p = (*now.get(label).unwrap_or(&0) as f64 / n).max(1e-4);
            let q = (*before.get(label).unwrap_or(&0) as f64 / b).max(1e-4);
            (p - q) * (p / q).ln()
        })
        .sum()
}

/// Per head, in one period: label counts, summed score, abstentions, tickets.
#[derive(Default)]
struct HeadPeriod<'d> {
    labels: BTreeMap<&'d str, usize>,
    score: f64,
    abstained: usize,
    tickets: usize,
}

fn head_periods(decisions: &[ReportedDecision]) -> BTreeMap<&str, HeadPeriod<'_>> {
    let mut heads: BTreeMap<&str, HeadPeriod> = BTreeMap::new();
    for decision in decisions {
        for outcome in &decision.heads {
            let period = heads.entry(&*outcome.head).or_default();
            period.tickets += 1;
            *period.labels.entry(outcome.label.as_deref().unwrap_or_default()).or_default() += 1;
            period.score += outcome.score.unwrap_or(0.0);
            period.abstained += usize::from(outcome.abstained);
        }
    }
    heads
}

/// One head's drift between two periods.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadDrift {
    pub head: String,
    pub tickets_now: usize,
    pub tickets_before: usize,
    /// The population stability index of the predicted labels; `None` with fewer than
    /// `DRIFT_MIN_TICKETS` tickets in either period (too few to judge).
    pub psi: Option<f64>,
    pub mean_score_now: Option<f64>,
    pub mean_score_before: Option<f64>,
    pub abstained_now: usize,
    pub abstained_before: usize,
    /// The population stability index of the predicted labels now against what the model
    /// predicted on its held-out data; `None` with too few tickets now or no reference.
    pub psi_vs_held_out: Option<f64>,
    /// The model's mean score and abstention share on its held-out data, for comparison.
    pub mean_score_held_out: Option<f64>,
    pub abstained_held_out: Option<f64>,
}

impl HeadDrift {
    /// The labels shifted enough, against the period before or against the held-out data the
    /// model was measured on, that retraining on recent tickets is recommended.
    pub fn retrain_recommended(&self) -> bool {
        self.psi.into_iter().chain(self.psi_vs_held_out).any(|psi| psi >= DRIFT_ALERT)
    }
}

/// Per head, what the served model predicted on its held-out data
/// (`Classifier::held_out_predictions`).
pub type HeldOutByHead = BTreeMap<String, crate::model::bundle::HeldOut>;

/// Drift of each head between `previous` (the period before) and `current`: the population
/// stability index of the predicted labels, mean score and abstentions then and now; and of
/// the labels now against the model's predictions on its `held_out` data.
pub fn drift_by_head(current: &[ReportedDecision], previous: &[ReportedDecision], held_out: &HeldOutByHead) -> Vec<HeadDrift> {
    let (now, before) = (head_periods(current), head_periods(previous));
    let empty = HeadPeriod::default();
    let heads: BTreeSet<&str> = now.keys().chain(before.keys()).copied().collect();
    heads
        .into_iter()
        .map(|head| {
            let (n, b) = (now.get(head).unwrap_or(&empty), before.get(head).unwrap_or(&empty));
            let mean = |p: &HeadPeriod| (p.tickets > 0).then(|| p.score / p.tickets as f64);
            let judged = n.tickets >= DRIFT_MIN_TICKETS && b.tickets >= DRIFT_MIN_TICKETS;
            HeadDrift {
                head: head.to_string(),
                tickets_now: n.tickets,
                tickets_before: b.tickets,
                psi: judged.then(|| population_stability(&n.labels, &b.labels)),
                mean_score_now: mean(n),
                mean_score_before: mean(b),
                abstained_now: n.abstained,
                abstained_before: b.abstained,
                psi_vs_held_out: held_out
                    .get(head)
                    .filter(|reference| n.tickets >= DRIFT_MIN_TICKETS && !reference.labels.is_empty())
                    .map(|reference| population_stability(&n.labels, &reference.labels)),
                mean_score_held_out: held_out.get(head).and_then(|reference| reference.mean_score),
                abstained_held_out: held_out.get(head).and_then(|reference| reference.abstained),
            }
        })
        .collect()
}

/// `drift_by_head` as a report table, with "retrain recommended" when the labels shifted a lot.
pub fn drift(current: &[ReportedDecision], previous: &[ReportedDecision], held_out: &HeldOutByHead) -> Table {
    let mut table = Table::new(
        "drift",
        "Drift against the period before and the model's held-out data",
        &[
            "head",
            "tickets now / before",
            "label PSI",
            "mean score now / before / held-out",
            "abstained now / before / held-out",
            "verdict",
            "label PSI vs held-out",
        ],
    );
    for d in drift_by_head(current, previous, held_out) {
        let mean = |m: Option<f64>| m.map_or("-".to_string(), |m| format!("{m:.3}"));
        let verdict = match (d.psi, d.psi_vs_held_out) {
            _ if d.retrain_recommended() => "retrain recommended".to_string(),
            (None, None) => format!("too few tickets (under {DRIFT_MIN_TICKETS} in a period)"),
            _ => "stable".to_string(),
        };
        table.rows.push(vec![
            d.head.clone(),
            format!("{} / {}", d.tickets_now, d.tickets_before),
            d.psi.map_or("-".to_string(), |psi| format!("{psi:.3}")),
            format!("{} / {} / {}", mean(d.mean_score_now), mean(d.mean_score_before), mean(d.mean_score_held_out)),
            format!(
                "{} / {} / {}",
                percent(d.abstained_now, d.tickets_now),
                percent(d.abstained_before, d.tickets_before),
                d.abstained_held_out.map_or("-".to_string(), |share| format!("{:.1}%", share * 100.0))
            ),
            verdict,
            d.psi_vs_held_out.map_or("-".to_string(), |psi| format!("{psi:.3}")),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_stability_is_zero_for_the_same_shares_and_grows_with_the_shift() {
        let counts = |pairs: &[(&str, usize)]| pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect::<BTreeMap<_, _>>();
        let same = population_stability(&counts(&[("a", 10), ("b", 30)]), &counts(&[("a", 20), ("b", 60)]));
        assert!(same.abs() < 1e-12, "{same}");
        // 50/50 against 20/80: (0.5-0.2) ln(2.5) + (0.5-0.8) ln(0.625) = 0.4158
        let shifted = population_stability(&counts(&[("a", 50), ("b", 50)]), &counts(&[("a", 20), ("b", 80)]));
        assert!((shifted - 0.4158).abs() < 1e-3, "{shifted}");
        let new_label = population_stability(&counts(&[("a", 50), ("c", 50)]), &counts(&[("a", 100)]));
        assert!(new_label > 1.0 && new_label.is_finite(), "{new_label}");
    }
}
