//! The policy file's TOML schema, one serde type per table. Unknown keys are errors
//! (`deny_unknown_fields` everywhere). Names and values with a syntax of their own (time zones,
//! opening hours, dates) keep their spans and are resolved and parsed in `compile`, which can
//! then report their line and column; this module makes no checks beyond the schema.

use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::Deserialize;
use toml::Spanned;

use super::duration::TargetDuration;
use super::rules::Mode;
use crate::prediction::Band;

/// A scalar compared as text (`equals = true`, `equals = 3`, `equals = "email"`).
#[derive(Debug, Clone)]
pub(super) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Bool(bool),
            Int(i64),
            Float(f64),
            Text(String),
        }
        let text = match Any::deserialize(deserializer)? {
            Any::Bool(b) => b.to_string(),
            Any::Int(i) => i.to_string(),
            Any::Float(f) => f.to_string(),
            Any::Text(s) => s,
        };
        Ok(Scalar(text))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    #[serde(default)]
    pub model_labels: BTreeMap<String, Vec<String>>,
    pub priorities: Spanned<Vec<PriorityFile>>,
    pub sla: SlaFile,
    pub matrix: MatrixFile,
    pub abstention: Spanned<AbstentionFile>,
    #[serde(default)]
    pub severity: Option<SeverityFile>,
    #[serde(default)]
    pub review: Option<Spanned<ReviewFile>>,
    #[serde(default)]
    pub rule_sets: Vec<RuleSetFile>,
    pub routing: RoutingFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PriorityFile {
    pub level: Spanned<String>,
    pub name: String,
    pub description: String,
    /// Example tickets of this level, in the languages the helpdesk serves.
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SlaFile {
    pub default_plan: Spanned<String>,
    pub calendars: BTreeMap<Spanned<String>, CalendarFile>,
    pub plans: BTreeMap<Spanned<String>, PlanFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CalendarFile {
    pub time_zone: Spanned<String>,
    #[serde(default)]
    pub always_open: bool,
    pub hours: Option<WeekFile>,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
}

pub(super) type DayHours = Option<Spanned<Vec<Spanned<String>>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WeekFile {
    pub mon: DayHours,
    pub tue: DayHours,
    pub wed: DayHours,
    pub thu: DayHours,
    pub fri: DayHours,
    pub sat: DayHours,
    pub sun: DayHours,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanFile {
    pub calendar: Spanned<String>,
    pub targets: BTreeMap<Spanned<String>, TargetsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetsFile {
    pub first_response: TargetDuration,
    pub next_response: TargetDuration,
    pub resolution: TargetDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatrixFile {
    #[serde(default = "urgency_head")]
    pub head: String,
    pub impact_field: Option<String>,
    pub default_impact: Spanned<String>,
    pub urgency: BTreeMap<String, Spanned<String>>,
    pub priority: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<String>>>,
    #[serde(default)]
    pub impact_numbers: Vec<ImpactBandFile>,
    #[serde(default)]
    pub impact_phrases: Vec<ImpactPhrasesFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImpactBandFile {
    pub up_to: Option<f64>,
    pub impact: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImpactPhrasesFile {
    pub impact: Spanned<String>,
    pub phrases: Option<Spanned<Vec<String>>>,
    pub near: Option<Spanned<Vec<Vec<String>>>>,
    pub within: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeverityFile {
    /// Level -> the matrix urgency column its guideline stands for.
    pub urgency: Spanned<BTreeMap<String, Spanned<String>>>,
    #[serde(default = "example_similarity")]
    pub example_similarity: Spanned<f32>,
    #[serde(default = "encoder_example_similarity")]
    pub encoder_example_similarity: Spanned<f32>,
    #[serde(default = "severe_by_meaning")]
    pub severe_by_meaning: Spanned<f32>,
    /// Whether neither the urgency head nor a level example alone may put a ticket the probe
    /// reads as calm at a severe level (`head_severe_needs_meaning` is its earlier name).
    #[serde(default, alias = "head_severe_needs_meaning")]
    pub severe_needs_meaning: bool,
    #[serde(default)]
    pub signals: Vec<SignalFile>,
}

fn example_similarity() -> Spanned<f32> {
    Spanned::new(0..0, 0.35)
}

fn encoder_example_similarity() -> Spanned<f32> {
    Spanned::new(0..0, 0.9)
}

fn severe_by_meaning() -> Spanned<f32> {
    Spanned::new(0..0, 0.5)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignalFile {
    pub name: Spanned<String>,
    pub reason: Option<String>,
    pub level: Spanned<String>,
    pub impact: Option<Spanned<String>>,
    #[serde(default)]
    pub lowers: bool,
    #[serde(default)]
    pub yields_to_meaning: Option<Spanned<bool>>,
    pub caps: Option<Spanned<CapsFile>>,
    pub phrases: Option<Spanned<Vec<String>>>,
    pub near: Option<Spanned<Vec<Vec<String>>>>,
    pub within: Option<usize>,
    pub unless: Option<Spanned<Vec<String>>>,
    pub needs: Option<Spanned<Vec<String>>>,
    /// Whether impact words in the ticket tell the scope of what the signal names (default
    /// true; a question has no scope).
    pub scope: Option<bool>,
    pub otherwise: Option<Spanned<OtherwiseFile>>,
}

/// The level (and the trace's reason) a signal speaks at when none of its `needs` words is in
/// the ticket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OtherwiseFile {
    pub level: Spanned<String>,
    pub reason: Option<String>,
}

/// `caps = true` (every more urgent signal) or `caps = ["outage", ...]` (only those).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum CapsFile {
    Every(bool),
    Only(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewFile {
    pub budget: f32,
    #[serde(default = "review_window")]
    pub window: usize,
}

fn review_window() -> usize {
    500
}

fn urgency_head() -> String {
    "urgency".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AbstentionFile {
    pub priority: Option<Spanned<String>>,
    pub urgency: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub needs_review: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSetFile {
    pub name: String,
    pub mode: Mode,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub name: Spanned<String>,
    pub reason: Option<String>,
    pub when: Option<Spanned<ConditionFile>>,
    pub set_priority: Option<Spanned<String>>,
    pub raise: Option<u8>,
    pub lower: Option<u8>,
    pub ceiling: Option<Spanned<String>>,
    pub floor: Option<Spanned<String>>,
    pub queue: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub review: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConditionFile {
    pub field: Option<String>,
    pub equals: Option<Scalar>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<Scalar>>,
    pub keywords: Option<Vec<String>>,
    pub regex: Option<String>,
    pub signal: Option<String>,
    pub severity_at_least: Option<Spanned<String>>,
    pub severity_from: Option<Vec<String>>,
    pub cluster_size_at_least: Option<usize>,
    pub priority_in: Option<Vec<Spanned<String>>>,
    pub prediction: Option<String>,
    pub label: Option<String>,
    pub min_score: Option<f32>,
    pub band: Option<Band>,
    pub abstained: Option<bool>,
    pub all: Option<Vec<Spanned<ConditionFile>>>,
    pub any: Option<Vec<Spanned<ConditionFile>>>,
    pub not: Option<Box<Spanned<ConditionFile>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoutingFile {
    #[serde(default = "category_head")]
    pub head: String,
    pub default_queue: String,
    #[serde(default)]
    pub routes: Vec<RouteFile>,
}

fn category_head() -> String {
    "category".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteFile {
    pub category: String,
    pub language: Option<String>,
    pub plan: Option<Spanned<String>>,
    pub queue: String,
}
