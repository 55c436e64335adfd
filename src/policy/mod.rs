//! The policy engine: a TOML policy file (`config/policy.toml`) compiled into a typed `Policy`,
//! and `decide`, which turns one ticket plus the model's predictions into a final priority,
//! SLA due times, a queue, tags, a review flag and a readable trace. `check` validates a
//! policy file for `triage check-policy`.
//!
//! # Layout
//! - `schema`: the TOML schema (serde); `duration`: SLA target lengths; `compile`: file ->
//!   `Policy`, collecting located problems
//! - `priority`, `plans`, `matrix`, `rules`, `condition`, `routing`: the typed policy
//! - `phrases`: phrase lists (keywords, severity signals, impact words) and where they occur
//! - `severity`, `examples`: what the ticket's words say about severity, from signals and
//!   the level guidelines' example tickets
//! - `review`: the review budget over recent decisions
//! - `decide`: the decision and its trace; `summary`: the one-line explanation
//! - `check`: errors and warnings for a policy file
//!
//! Everything here is pure: no I/O and no clock reads (`now` is a parameter). Reading the
//! file from disk is the caller's job.

mod check;
mod compile;
mod condition;
mod decide;
mod duration;
mod examples;
mod matrix;
mod phrases;
mod plans;
mod priority;
mod review;
mod routing;
mod rules;
mod schema;
mod severity;
mod summary;
#[cfg(test)]
mod test_policy;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use check::{check, check_with_labels, label_conflicts, CheckReport};
pub use decide::{decide, Decision, PriorityRef, SlaDue, TraceStep};
pub use priority::PriorityLevel;

/// Label lists per prediction head, as a model manifest declares them.
pub type LabelSets = BTreeMap<String, Vec<String>>;

/// A validated policy, ready for `decide`.
#[derive(Debug, Clone)]
pub struct Policy {
    version: String,
    levels: Vec<PriorityLevel>,
    plans: plans::Plans,
    matrix: matrix::Matrix,
    abstention: matrix::Abstention,
    severity: severity::Severity,
    review: review::ReviewBudget,
    rule_sets: Vec<rules::RuleSet>,
    routing: routing::Routing,
    model_labels: LabelSets,
}

impl Policy {
    /// Parses and validates a policy file's text.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        compile::compile(text)
    }

    /// Short content hash of the file the policy was compiled from, reported with every
    /// decision so a decision can be traced to the exact policy text.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Priority levels, most urgent first.
    /// Embeds the level examples with `embed` (the served model's encoder), so tickets that
    /// come with an embedding are compared with them by meaning. The policy stays pure: the
    /// encoder is the caller's.
    pub fn embed_examples<E>(&mut self, embed: impl FnOnce(&[&str]) -> Result<Vec<Vec<f32>>, E>) -> Result<(), E> {
        let embeddings = embed(&self.severity.examples.texts())?;
        self.severity.examples.set_embeddings(embeddings);
        Ok(())
    }

    /// The business calendar called `name` (as a decision's `sla.calendar` names it).
    pub fn calendar(&self, name: &str) -> Option<&crate::sla::Calendar> {
        self.plans
            .by_name
            .values()
            .chain([&self.plans.default])
            .find(|plan| plan.calendar_name == name)
            .map(|plan| &plan.calendar)
    }

    pub fn levels(&self) -> &[PriorityLevel] {
        &self.levels
    }
}

/// First 12 hex digits of the SHA-256 of the policy text.
fn content_version(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Something wrong in a policy file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Problem {
    fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self { line, column, message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML, an unknown key, a missing key or a malformed value.
    #[error("{0}")]
    Syntax(Problem),
    /// Well-formed, but inconsistent: unknown names, bad regexes, impossible settings.
    #[error("{}", .0.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl PolicyError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            PolicyError::Syntax(problem) => std::slice::from_ref(problem),
            PolicyError::Invalid(problems) => problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_locate_offsets_as_line_and_column() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!((Problem::at(text, 0, "").line, Problem::at(text, 0, "").column), (1, 1));
        let third_char_of_second_line = text.rfind(" =").unwrap_or(0) + 1;
        let problem = Problem::at(text, third_char_of_second_line, "x");
        assert_eq!((problem.line, problem.column), (2, 4));
    }

    #[test]
    fn version_is_a_short_content_hash() {
        let a = content_version("x = 1");
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, content_version("x = 2"));
    }
}
