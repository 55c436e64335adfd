//! Rule sets as the engine runs them: an ordered list of named rules, each a condition plus
//! effects, and a mode saying whether the set stops at its first match. Plain data; the
//! evaluation loop lives in `decide`.

use serde::Deserialize;

use super::condition::Condition;
use super::priority::PriorityChange;

/// Whether a rule set stops at its first matching rule or applies every match in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Mode {
    FirstMatch,
    AllMatches,
}

#[derive(Debug, Clone)]
pub(super) struct RuleSet {
    pub name: String,
    pub mode: Mode,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub name: String,
    /// Plain-language reason for the summary ("VIP customer"); the name when absent.
    pub reason: Option<String>,
    pub condition: Condition,
    pub effects: Effects,
}

impl Rule {
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Effects {
    pub priority: Option<PriorityChange>,
    pub queue: Option<String>,
    pub tags: Vec<String>,
    pub review: bool,
}
