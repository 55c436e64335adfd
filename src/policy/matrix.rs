//! The starting priority: the impact × urgency matrix fed by the model's urgency head and an
//! impact custom field, or the stated fallback when the urgency head abstains, is missing or
//! gives a label the matrix does not map. It applies no rules: they adjust this start later
//! (`decide`).

use std::collections::BTreeMap;

use super::condition::Facts;
use super::priority::Rank;

/// Impact rows × urgency columns. Every row has every column (checked by `compile`), so
/// lookups by index cannot miss.
#[derive(Debug, Clone)]
pub(super) struct Matrix {
    /// Prediction head that feeds the urgency axis.
    pub head: String,
    /// Custom field holding the impact (compared case-insensitively with row names).
    pub impact_field: Option<String>,
    pub default_impact: usize,
    /// Row names, lower-cased.
    pub impacts: Vec<String>,
    pub urgencies: Vec<String>,
    /// `cells[impact][urgency]`.
    pub cells: Vec<Vec<Rank>>,
    /// Model label -> urgency column.
    pub column_of_label: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AbstentionStart {
    Level(Rank),
    /// Use the matrix as if the model had predicted this urgency column.
    Urgency(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Abstention {
    pub start: AbstentionStart,
    pub needs_review: bool,
}

/// Where the decision starts, and the words the trace and summary use for it.
pub(super) struct Start {
    pub rank: Rank,
    pub rule: &'static str,
    pub because: String,
    pub summary: String,
    pub review_reason: Option<String>,
}

impl Matrix {
    pub fn start(&self, abstention: &Abstention, facts: &Facts) -> Start {
        let impact = self.impact(facts);
        let head = &self.head;
        let prediction = facts.predictions.get(head);
        let column = prediction.filter(|p| !p.abstained).and_then(|p| self.column_of_label.get(&p.label));
        if let (Some(p), Some(&column)) = (prediction, column) {
            return Start {
                rank: self.cells[impact.row][column],
                rule: "urgency-matrix",
                because: format!("{head} = {} ({:.2}), {}", p.label, p.score, impact.because),
                summary: format!("model {head} {} ({:.2}{}){}", p.label, p.score, p.recalled_note(), impact.summary()),
                review_reason: None,
            };
        }
        let why = match prediction {
            None => format!("no {head} prediction"),
            Some(p) if p.abstained => format!("{head} abstained (best guess {}, {:.2})", p.label, p.score),
            Some(p) => format!("{head} label {} is not mapped in [matrix.urgency]", p.label),
        };
        let (rank, because) = match abstention.start {
            AbstentionStart::Level(rank) => (rank, format!("{why}; fallback level")),
            AbstentionStart::Urgency(column) => (
                self.cells[impact.row][column],
                format!("{why}; fallback urgency {}, {}", self.urgencies[column], impact.because),
            ),
        };
        Start {
            rank,
            rule: "abstention-fallback",
            because,
            summary: format!("{why}, fallback start"),
            review_reason: abstention.needs_review.then(|| why.clone()),
        }
    }

    fn impact(&self, facts: &Facts) -> Impact<'_> {
        let default_name = &self.impacts[self.default_impact];
        let default = |because: String| Impact { row: self.default_impact, name: None, because };
        let Some(field) = &self.impact_field else {
            return default(format!("impact {default_name} (default)"));
        };
        let Some(value) = facts.ticket.fields.get(field) else {
            return default(format!("impact {default_name} (default; fields.{field} not set)"));
        };
        match self.impacts.iter().position(|row| *row == value.trim().to_lowercase()) {
            Some(row) => Impact {
                row,
                name: Some(&self.impacts[row]),
                because: format!("impact {} (fields.{field})", self.impacts[row]),
            },
            None => default(format!(
                "impact {default_name} (default; fields.{field} = {value} is not a matrix row)"
            )),
        }
    }
}

/// The matrix row for a ticket; `name` is set only when the ticket's own field chose it.
struct Impact<'m> {
    row: usize,
    name: Option<&'m str>,
    because: String,
}

impl Impact<'_> {
    fn summary(&self) -> String {
        self.name.map(|name| format!(" with impact {name}")).unwrap_or_default()
    }
}
