//! The decision log's data types: what callers hand in (`DecisionRecord`, `FeedbackInput`,
//! `DecisionFilter`) and what reads hand back (`StoredDecision`, `DecisionPage`, `Feedback`,
//! `Correction`), with the validation and merge rules that belong to the data itself. Plain
//! serde types so the server can return them as JSON; no SQL and no HTTP types here.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::classify::ClassifyResponse;
use crate::events::{check_next, Commitment, EventKind, TicketEvent};

/// Rows per page when a filter names no limit.
pub const DEFAULT_PAGE: usize = 50;
/// Most rows one page may hold, so one request cannot read the whole log into memory.
pub const MAX_PAGE: usize = 500;
/// Longest reviewer name or corrected label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// Longest reviewer note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// Times are stored as RFC 3339 UTC text with exactly six fractional digits, so every stored
/// time has the same width and text order is time order (`ORDER BY` and keyset paging rely
/// on it).
pub(super) fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc))
}

/// The columns extracted from a decision: what the review API filters and sorts on.
/// `needs_review` is the policy's flag as it was answered to the helpdesk; whether a reviewer
/// has since looked at it is told apart (`DecisionSummary::reviewed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionMeta {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub decided_at: DateTime<Utc>,
    /// The final priority level, e.g. `P1`.
    pub priority: String,
    pub queue: String,
    pub needs_review: bool,
    pub model_name: String,
    pub model_version: String,
    pub policy_version: String,
}

/// One decision ready to be logged: the columns are taken from the response itself, so they
/// cannot disagree with the stored JSON.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub(super) meta: DecisionMeta,
    pub(super) request: String,
    pub(super) response: String,
}

impl DecisionRecord {
    /// `request` is what the helpdesk sent (a `TicketRequest`, a validated `Ticket` or the raw
    /// JSON); `decided_at` is kept to the microsecond, the precision the log stores.
    pub fn new(request: &impl Serialize, response: &ClassifyResponse, decided_at: DateTime<Utc>) -> Result<Self, StoreError> {
        Ok(Self {
            meta: DecisionMeta {
                decision_id: response.decision_id.clone(),
                ticket_id: response.ticket_id.clone(),
                decided_at: decided_at.trunc_subsecs(6),
                priority: response.priority.level.clone(),
                queue: response.queue.clone(),
                needs_review: response.needs_review,
                model_name: response.model.name.clone(),
                model_version: response.model.version.clone(),
                policy_version: response.policy.version.clone(),
            },
            request: serde_json::to_string(request).map_err(StoreError::Encode)?,
            response: serde_json::to_string(response).map_err(StoreError::Encode)?,
        })
    }

    pub fn meta(&self) -> &DecisionMeta {
        &self.meta
    }
}

/// A reviewer's correction of one decision. Blank values count as absent, so a form may send
/// every field. `priority` is a level name (`P2`); every other key names one of the model's
/// heads and carries its corrected label (`"category": "billing"`), so a head a helpdesk adds
/// to its model (say `product`) is corrected like the built-in ones. Which heads and labels
/// exist is the served model's to say (the server checks); this layer keeps whatever it is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeedbackInput {
    pub reviewer: String,
    pub note: Option<String>,
    pub priority: Option<String>,
    /// Corrected labels by head name, written beside the fields above. `null` counts as absent.
    #[serde(flatten)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub labels: BTreeMap<String, String>,
}

/// Read key by key (not through serde's `flatten`, which buffers the object and loses the
/// key), so a label that is not text is reported under its head's name.
impl<'de> Deserialize<'de> for FeedbackInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = FeedbackInput;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object with reviewer, note, priority and corrected labels by head")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FeedbackInput, A::Error> {
                let mut input = FeedbackInput::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Option<String> = map.next_value()?;
                    match key.as_str() {
                        "reviewer" => input.reviewer = value.unwrap_or_default(),
                        "note" => input.note = value,
                        "priority" => input.priority = value,
                        _ => {
                            if let Some(label) = value {
                                input.labels.insert(key, label);
                            }
                        }
                    }
                }
                Ok(input)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid { field: field.to_string(), message: message.into() }
}

/// The trimmed value, `None` when blank, or an error naming `field` when it is too long.
fn present(field: &str, value: Option<String>, max_chars: usize) -> Result<Option<String>, StoreError> {
    let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    match value {
        Some(v) if v.chars().count() > max_chars => Err(invalid(field, format!("longer than {max_chars} characters"))),
        other => Ok(other),
    }
}

impl FeedbackInput {
    /// The trimmed input, or an error naming the first field that is wrong: a reviewer is
    /// required, and feedback must say something (a note or at least one correction).
    pub(super) fn validated(self) -> Result<Self, StoreError> {
        let reviewer =
            present("reviewer", Some(self.reviewer), MAX_LABEL_CHARS)?.ok_or_else(|| invalid("reviewer", "must not be empty"))?;
        let mut labels = BTreeMap::new();
        for (head, label) in self.labels {
            if head.chars().count() > MAX_LABEL_CHARS {
                return Err(invalid("labels", format!("a head name is longer than {MAX_LABEL_CHARS} characters")));
            }
            if let Some(label) = present(&head, Some(label), MAX_LABEL_CHARS)? {
                labels.insert(head, label);
            }
        }
        let input = Self {
            reviewer,
            note: present("note", self.note, MAX_NOTE_CHARS)?,
            priority: present("priority", self.priority, MAX_LABEL_CHARS)?,
            labels,
        };
        if input.note.is_none() && input.priority.is_none() && input.labels.is_empty() {
            return Err(invalid("note", "give a note, a priority or a corrected label"));
        }
        Ok(input)
    }

    /// `self`, written after `earlier`: what `self` leaves out keeps the earlier value, so a
    /// reviewer can fix one label without repeating the others.
    pub fn over(self, earlier: Self) -> Self {
        let mut labels = earlier.labels;
        labels.extend(self.labels);
        Self { reviewer: self.reviewer, note: self.note.or(earlier.note), priority: self.priority.or(earlier.priority), labels }
    }
}

/// One stored feedback version. Versions count from 1 per decision and are never overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Feedback {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub fields: FeedbackInput,
}

/// A decision as logged, with every feedback version (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredDecision {
    #[serde(flatten)]
    pub meta: DecisionMeta,
    /// The request as the helpdesk sent it.
    pub request: serde_json::Value,
    /// The full classify response: predictions, evidence, rule trace, final decision.
    pub response: serde_json::Value,
    pub feedback: Vec<Feedback>,
    /// What happened to the ticket since, as the helpdesk reported it, in order.
    pub events: Vec<crate::events::TicketEvent>,
}

/// A name that a million report rows repeat (a level, queue, plan, label, rule), held once.
pub type Name = Arc<str>;

/// One head's outcome on a decision, as reports read it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadOutcome {
    pub head: Name,
    pub label: Option<Name>,
    pub score: Option<f64>,
    pub abstained: bool,
}

/// What a report reads of one decision: the facts copied from its request and response when
/// it was logged (the `decision_facts` table), its feedback versions and its events. A few
/// hundred bytes where the whole decision is several kilobytes, so a report over a million
/// decisions never parses a response; the names many decisions share are held once (`Names`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedDecision {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub decided_at: DateTime<Utc>,
    pub priority: Name,
    pub queue: Name,
    pub needs_review: bool,
    pub policy_version: Name,
    /// The SLA plan the ticket was held to (the response's `sla.policy`); `None` without an SLA.
    pub plan: Option<Name>,
    /// The business calendar's name and the commitment, when the response had an SLA.
    pub sla: Option<(Name, Commitment)>,
    pub language: Option<Name>,
    /// The subject as sent, cut at 200 characters.
    pub subject: Option<String>,
    /// The repeat-issue cluster the ticket joined (`cluster.id` of the response).
    pub cluster_id: Option<String>,
    /// Each head's outcome, by head name.
    pub heads: Vec<HeadOutcome>,
    /// The rules of the trace that fired, in trace order.
    pub rules_fired: Vec<Name>,
    pub feedback: Vec<Feedback>,
    pub events: Vec<TicketEvent>,
}

impl ReportedDecision {
    /// The outcome of the head named `head`, when the model had it.
    pub fn head(&self, head: &str) -> Option<&HeadOutcome> {
        self.heads.iter().find(|outcome| &*outcome.head == head)
    }
}

/// The decisions of a period as reports read them, oldest first, and the name of every rule
/// the traces of the period's policy versions list (fired or not), so a report can name the
/// rules that never fired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportedPeriod {
    pub decisions: Vec<ReportedDecision>,
    pub rules_traced: BTreeSet<String>,
}

/// The names read so far, each held once however many rows repeat it.
#[derive(Default)]
pub(super) struct Names(HashSet<Name>);

impl Names {
    pub(super) fn get(&mut self, text: &str) -> Name {
        if let Some(name) = self.0.get(text) {
            return Arc::clone(name);
        }
        let name: Name = Arc::from(text);
        self.0.insert(Arc::clone(&name));
        name
    }
}

/// One `decision_facts` row as either engine reads it (names and JSON still as text, times
/// already parsed), turned into a `ReportedDecision` by `read`: one home for what the columns
/// mean, whichever dialect stored them.
pub(super) struct FactRow<'a> {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub decided_at: DateTime<Utc>,
    pub priority: Option<&'a str>,
    pub queue: Option<&'a str>,
    pub needs_review: bool,
    pub policy_version: Option<&'a str>,
    pub plan: Option<&'a str>,
    pub calendar: Option<&'a str>,
    pub started_at: Option<DateTime<Utc>>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub language: Option<&'a str>,
    pub subject: Option<String>,
    pub cluster_id: Option<String>,
    pub heads: &'a str,
    pub rules_fired: &'a str,
    pub events: &'a str,
}

impl FactRow<'_> {
    /// The decision the row describes, its repeated names taken from `names`; feedback is the
    /// caller's to attach.
    pub(super) fn read(self, names: &mut Names) -> Result<ReportedDecision, StoreError> {
        #[derive(Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            head: Cow<'a, str>,
            #[serde(borrow)]
            label: Option<Cow<'a, str>>,
            score: Option<f64>,
            abstained: bool,
        }
        let id = &self.decision_id;
        let (Some(priority), Some(queue), Some(policy_version)) = (self.priority, self.queue, self.policy_version) else {
            return Err(corrupt(id, "facts", "no priority, queue or policy version"));
        };
        let heads: Vec<Head> = serde_json::from_str(self.heads).map_err(|e| corrupt(id, "heads", e))?;
        let rules: Vec<Cow<str>> = serde_json::from_str(self.rules_fired).map_err(|e| corrupt(id, "rules_fired", e))?;
        let events = serde_json::from_str(self.events).map_err(|e| corrupt(id, "events", e))?;
        let sla = match (self.calendar, self.started_at) {
            (Some(calendar), Some(started_at)) => Some((
                names.get(calendar),
                Commitment { started_at, first_response_due: self.first_response_due, resolution_due: self.resolution_due },
            )),
            _ => None,
        };
        Ok(ReportedDecision {
            priority: names.get(priority),
            queue: names.get(queue),
            policy_version: names.get(policy_version),
            plan: self.plan.map(|plan| names.get(plan)),
            language: self.language.map(|language| names.get(language)),
            heads: heads
                .into_iter()
                .map(|h| HeadOutcome {
                    head: names.get(&h.head),
                    label: h.label.map(|label| names.get(&label)),
                    score: h.score,
                    abstained: h.abstained,
                })
                .collect(),
            rules_fired: rules.iter().map(|rule| names.get(rule)).collect(),
            sla,
            events,
            feedback: Vec::new(),
            ticket_id: self.ticket_id,
            decided_at: self.decided_at,
            needs_review: self.needs_review,
            subject: self.subject,
            cluster_id: self.cluster_id,
            decision_id: self.decision_id,
        })
    }
}

/// The first decision of each policy version among `decisions`: one trace per version names
/// all of that version's rules, fired or not.
pub(super) fn one_per_policy_version(decisions: &[ReportedDecision]) -> Vec<&str> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for decision in decisions {
        first.entry(&decision.policy_version).or_insert(&decision.decision_id);
    }
    first.into_values().collect()
}

/// The rule names of one logged trace (the response's `explanation.rules`, as JSON).
pub(super) fn traced_rules(decision_id: &str, rules: &str) -> Result<Vec<String>, StoreError> {
    #[derive(Deserialize)]
    struct Step {
        rule: String,
    }
    let steps: Vec<Step> = serde_json::from_str(rules).map_err(|e| corrupt(decision_id, "response", e))?;
    Ok(steps.into_iter().map(|step| step.rule).collect())
}

/// A decision whose ticket is now in a given queue (after any reassignment), with what an
/// agent's work order needs.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedDecision {
    pub meta: DecisionMeta,
    pub subject: Option<String>,
    /// The response's `sla` object, as decided.
    pub sla: serde_json::Value,
    pub events: Vec<crate::events::TicketEvent>,
}

/// A row of the reviewer queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionSummary {
    #[serde(flatten)]
    pub meta: DecisionMeta,
    /// The ticket's subject as sent, for the queue view.
    pub subject: Option<String>,
    /// True once any feedback was given.
    pub reviewed: bool,
    pub latest_feedback: Option<Feedback>,
}

/// Where a page of the newest-first listing ends: the last row's time and id. The id breaks
/// ties, so rows decided in the same microsecond are neither skipped nor repeated. Travels as
/// the text `<decided_at>_<decision_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Cursor {
    pub decided_at: DateTime<Utc>,
    pub decision_id: String,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", format_time(&self.decided_at), self.decision_id)
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        let bad = || invalid("before", "not a cursor returned by a previous page");
        let (time, decision_id) = text.split_once('_').ok_or_else(bad)?;
        let decided_at = parse_time(time).map_err(|_| bad())?;
        Ok(Self { decided_at, decision_id: decision_id.to_string() })
    }
}

impl From<Cursor> for String {
    fn from(cursor: Cursor) -> Self {
        cursor.to_string()
    }
}

impl TryFrom<String> for Cursor {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        text.parse()
    }
}

/// Which decisions to list, newest first. `needs_review: Some(true)` is the reviewer queue:
/// flagged by the policy AND no feedback yet; `Some(false)` is everything else. `since` is
/// inclusive; `before` is the `next` cursor of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DecisionFilter {
    pub needs_review: Option<bool>,
    /// Final priority level, e.g. `P1`.
    pub priority: Option<String>,
    pub queue: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Rows per page, 1 to 500.
    pub limit: usize,
    #[param(value_type = Option<String>)]
    pub before: Option<Cursor>,
}

impl Default for DecisionFilter {
    fn default() -> Self {
        Self { needs_review: None, priority: None, queue: None, since: None, limit: DEFAULT_PAGE, before: None }
    }
}

/// One page of the listing; `next` is present when older rows remain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionPage {
    pub items: Vec<DecisionSummary>,
    #[schema(value_type = Option<String>)]
    pub next: Option<Cursor>,
}

/// A reviewed decision as a training row: the ticket's text from the stored request and the
/// feedback versions merged (latest over earlier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Correction {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub language: Option<String>,
    /// The latest feedback version merged in, and when it was written.
    pub version: u32,
    pub reviewed_at: DateTime<Utc>,
    #[serde(flatten)]
    pub feedback: FeedbackInput,
}

/// A stored value of `column` that cannot be read back, for either engine.
pub(super) fn corrupt(decision_id: &str, column: &'static str, error: impl ToString) -> StoreError {
    StoreError::Corrupt { decision_id: decision_id.to_string(), column, message: error.to_string() }
}

/// One retention run: delete what was decided before `older_than`, unless a server sharing the
/// log ran retention after `skip_if_ran_after` (then this run is skipped). `server` names the
/// server that ran it, for whoever reads the `maintenance` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub older_than: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub skip_if_ran_after: DateTime<Utc>,
    pub server: String,
}

/// What `add_event` did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Stored now.
    Created(TicketEvent),
    /// The same event was stored before: nothing changed.
    Replayed(TicketEvent),
}

/// Whether `event` may follow the decision's `history` (its SLA clock started at `started`):
/// `None` to store it, `Some(Replayed)` when the same event is stored already (a retry), a
/// conflict when its id is stored with other content, invalid when it breaks the events' rules.
pub(super) fn next_event(
    history: &[TicketEvent],
    started: DateTime<Utc>,
    event: &TicketEvent,
) -> Result<Option<Added>, StoreError> {
    if let Some(stored) = history.iter().find(|stored| stored.event_id == event.event_id) {
        return if stored == event {
            Ok(Some(Added::Replayed(stored.clone())))
        } else {
            Err(StoreError::Conflict(format!(
                "event {} was already recorded with other content; send a new event id for a new event",
                event.event_id
            )))
        };
    }
    check_next(history, started, event).map_err(|e| invalid(e.field, e.message))?;
    Ok(None)
}

/// The name stored in an event's `kind` column (the same word the JSON uses).
pub(super) fn event_kind_name(kind: &EventKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v["kind"].as_str().map(String::from)).unwrap_or_default()
}

/// The parts of a stored request a training row needs. Both request shapes the server may log
/// (`TicketRequest`, `Ticket`) use these names; anything else in the request is ignored.
#[derive(Deserialize)]
pub(super) struct TicketText {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// Adds one feedback version to `corrections`, which are built from versions read oldest
/// decision first, each decision's versions in order: a later version's value wins, what it
/// leaves out keeps the earlier value. `ticket` (the decision's ticket id and request text) is
/// read only for a decision's first version.
pub(super) fn add_correction(
    corrections: &mut Vec<Correction>,
    decision_id: String,
    feedback: Feedback,
    ticket: impl FnOnce() -> Result<(Option<String>, TicketText), StoreError>,
) -> Result<(), StoreError> {
    match corrections.last_mut() {
        Some(current) if current.decision_id == decision_id => {
            current.feedback = feedback.fields.over(std::mem::take(&mut current.feedback));
            current.version = feedback.version;
            current.reviewed_at = feedback.created_at;
        }
        _ => {
            let (ticket_id, text) = ticket()?;
            corrections.push(Correction {
                ticket_id,
                subject: text.subject.unwrap_or_default(),
                body: text.body.unwrap_or_default(),
                language: text.language,
                version: feedback.version,
                reviewed_at: feedback.created_at,
                feedback: feedback.fields,
                decision_id,
            });
        }
    }
    Ok(())
}

impl DecisionFilter {
    /// The page size, or an error naming `limit` when it is out of range. Each engine fetches
    /// one row more than this to learn whether another page follows (`DecisionPage::from_rows`).
    pub(super) fn checked_limit(&self) -> Result<usize, StoreError> {
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(invalid("limit", format!("must be between 1 and {MAX_PAGE}")));
        }
        Ok(self.limit)
    }
}

impl DecisionPage {
    /// The page from up to `limit + 1` rows, newest first: the extra row only says that more
    /// follow, and `next` points after the last row kept.
    pub(super) fn from_rows(mut items: Vec<DecisionSummary>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| Cursor { decided_at: last.meta.decided_at, decision_id: last.meta.decision_id.clone() })
        } else {
            None
        };
        Self { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(reviewer: &str, note: Option<&str>, priority: Option<&str>) -> FeedbackInput {
        FeedbackInput {
            reviewer: reviewer.into(),
            note: note.map(Into::into),
            priority: priority.map(Into::into),
            ..FeedbackInput::default()
        }
    }

    fn label(head: &str, value: &str) -> BTreeMap<String, String> {
        [(head.to_string(), value.to_string())].into()
    }

    fn invalid_field(result: Result<FeedbackInput, StoreError>) -> String {
        match result {
            Err(StoreError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn feedback_needs_a_reviewer_and_something_to_say() {
        assert_eq!(invalid_field(input("  ", Some("wrong queue"), None).validated()), "reviewer");
        assert_eq!(invalid_field(input("ana", Some("  "), Some("")).validated()), "note");
        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        assert_eq!(invalid_field(input("ana", None, Some(&long)).validated()), "priority");
        let ok = input(" ana ", None, Some(" P2 ")).validated().unwrap();
        assert_eq!((ok.reviewer.as_str(), ok.priority.as_deref(), ok.note), ("ana", Some("P2"), None));
        let blank_label = FeedbackInput { labels: label("category", "  "), ..input("ana", None, None) };
        assert_eq!(invalid_field(blank_label.validated()), "note", "a blank label says nothing");
        let long_label = FeedbackInput { labels: label("product", &long), ..input("ana", None, None) };
        assert_eq!(invalid_field(long_label.validated()), "product", "the head names the field");
        let any_head = FeedbackInput { labels: label("product", " app "), ..input("ana", None, None) }.validated().unwrap();
        assert_eq!(any_head.labels, label("product", "app"));
    }

    #[test]
    fn labels_are_the_keys_beside_the_fixed_fields_and_null_is_absent() {
        let parsed: FeedbackInput =
            serde_json::from_value(serde_json::json!({"reviewer": "ana", "category": "billing", "urgency": null})).unwrap();
        assert_eq!(parsed.labels, label("category", "billing"));
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::json!({"reviewer": "ana", "note": null, "priority": null, "category": "billing"})
        );
    }

    #[test]
    fn later_feedback_keeps_what_it_leaves_out() {
        let first = FeedbackInput { labels: label("urgency", "high"), ..input("ana", Some("first"), Some("P2")) };
        let merged = FeedbackInput { labels: label("product", "app"), ..input("bo", None, Some("P1")) }.over(first);
        assert_eq!(merged.reviewer, "bo");
        assert_eq!(merged.priority.as_deref(), Some("P1"));
        assert_eq!(merged.labels, [("product".into(), "app".into()), ("urgency".into(), "high".into())].into());
        assert_eq!(merged.note.as_deref(), Some("first"));
    }

    #[test]
    fn cursor_round_trips_as_text_and_rejects_garbage() {
        let cursor = Cursor { decided_at: parse_time("2026-11-24T09:30:00Z").unwrap(), decision_id: "a_b".into() };
        let text = cursor.to_string();
        assert_eq!(text, "2026-11-24T09:30:00.000000Z_a_b");
        assert_eq!(text.parse::<Cursor>().unwrap(), cursor);
        assert_eq!(serde_json::to_value(&cursor).unwrap(), serde_json::json!(text));
        assert!(matches!("yesterday_x".parse::<Cursor>(), Err(StoreError::Invalid { field, .. }) if field == "before"));
        assert!("no-separator".parse::<Cursor>().is_err());
    }

    #[test]
    fn stored_times_sort_as_text() {
        let early = parse_time("2026-01-01T00:00:00.5Z").unwrap();
        let late = parse_time("2026-01-01T00:00:01Z").unwrap();
        assert!(format_time(&early) < format_time(&late));
        assert_eq!(format_time(&early).len(), format_time(&late).len());
    }
}
