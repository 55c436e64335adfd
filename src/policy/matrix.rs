//! The starting priority: the impact × urgency matrix. Impact comes from a custom field (a row
//! name or a number in the policy's bands), else from phrases in the text, else from what a
//! severity signal implies, else the default row. Urgency comes from the model's urgency head
//! and the text's severity (`severity`): a severity more urgent than the model's raises it, a
//! lowering signal may lower it, and when the model abstains the text alone decides; with
//! neither, the stated fallback. It applies no rules: they adjust this start later (`decide`).

use std::collections::BTreeMap;

use super::condition::Facts;
use super::phrases::{Cues, TicketWords};
use super::priority::Rank;
use super::severity::{Assessment, Calm};
use crate::explain::Evidence;

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
    /// Numeric values of the impact field -> row: the first band whose bound holds (`None`:
    /// no bound).
    pub impact_numbers: Vec<(Option<f64>, usize)>,
    /// Words that state an impact, tried in file order (largest impact first).
    pub impact_phrases: Vec<(usize, Cues)>,
}

/// A model label's calibrated score from which its level counts as plausible for review.
const PLAUSIBLE_SCORE: f32 = 0.25;

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

/// The matrix row for a ticket and how it was found.
pub(super) struct Impact<'m> {
    pub row: usize,
    /// Set when the ticket's field or text chose the row, for the summary.
    pub name: Option<&'m str>,
    pub because: String,
    /// The words that stated the impact, when the text did.
    pub words: Vec<Evidence>,
}

/// Where the decision starts, and the words the trace and summary use for it.
pub(super) struct Start {
    pub rank: Rank,
    pub rule: &'static str,
    pub because: String,
    pub summary: String,
    pub review_reason: Option<String>,
    /// The levels the model's plausible labels and the text's severity would each give at
    /// this impact: how far apart a person might reasonably place the ticket.
    pub plausible: Vec<Plausible>,
}

/// A level some source would give the ticket, and how strongly (a calibrated score, 1 for a
/// severity signal, the example similarity relative to its threshold).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Plausible {
    pub rank: Rank,
    pub weight: f32,
}

/// What the text says about severity, for `Matrix::start`: the assessment (when a source
/// spoke), its level's code, and the nearest example's column and weight as a review hint.
pub(super) struct TextSeverity<'a, 's> {
    pub assessment: Option<&'a Assessment<'s>>,
    pub level: &'a str,
    pub hint: Option<(usize, f32)>,
    pub calm: Option<Calm<'s>>,
}

impl Matrix {
    /// The impact: the impact field, else the words of `scope` (the ticket's words less those
    /// the capping signals claimed), else what the severity signal implies, else the default.
    pub fn impact(&self, facts: &Facts, scope: &TicketWords, severity: Option<&Assessment>) -> Impact<'_> {
        let stated = |row: usize, because: String, words: Vec<Evidence>| Impact {
            row,
            name: Some(self.impacts[row].as_str()),
            because,
            words,
        };
        let field = self.impact_field.as_deref();
        let value = field.and_then(|f| facts.ticket.fields.get(f)).map(|v| v.trim().to_lowercase());
        let mut why_default = None;
        if let (Some(field), Some(value)) = (field, value) {
            if let Some(row) = self.impacts.iter().position(|row| *row == value) {
                return stated(row, format!("impact {value} (fields.{field})"), Vec::new());
            }
            let band = value
                .parse::<f64>()
                .ok()
                .and_then(|n| self.impact_numbers.iter().find(|(bound, _)| bound.is_none_or(|b| n <= b)).map(|(_, row)| *row));
            if let Some(row) = band {
                return stated(row, format!("impact {} (fields.{field} = {value})", self.impacts[row]), Vec::new());
            }
            why_default = Some(format!("fields.{field} = {value} is not a matrix row or number"));
        }
        // Words like "all our customers" tell the scope of a problem; in a question or a
        // thank-you they tell nothing, so they count only where the text shows a problem.
        let problem = severity.is_some_and(Assessment::shows_problem);
        for (row, phrases) in &self.impact_phrases {
            let words = phrases.spans(scope, 1.0);
            let Some(first) = words.first() else { continue };
            if !problem {
                why_default = Some(format!("impact words {:?} but no problem described", first.text));
                break;
            }
            let because = format!("impact {} inferred from the text: {:?}", self.impacts[*row], first.text);
            return stated(*row, because, words);
        }
        if let Some(row) = severity.and_then(Assessment::implied_impact) {
            return stated(row, format!("impact {} implied by the severity signal", self.impacts[row]), Vec::new());
        }
        let why = why_default.unwrap_or_else(|| match field {
            Some(field) => format!("fields.{field} not set, no impact words"),
            None => "no impact words".to_string(),
        });
        Impact {
            row: self.default_impact,
            name: None,
            because: format!("impact {} (default; {why})", self.impacts[self.default_impact]),
            words: Vec::new(),
        }
    }

    pub fn start(&self, abstention: &Abstention, facts: &Facts, impact: &Impact, text: &TextSeverity) -> Start {
        let (severity, severity_level) = (text.assessment, text.level);
        let head = &self.head;
        let cells = &self.cells[impact.row];
        let prediction = facts.predictions.get(head);
        let mut plausible: Vec<Plausible> = prediction
            .map(|p| {
                p.top
                    .iter()
                    .filter(|l| l.score >= PLAUSIBLE_SCORE || l.label == p.label)
                    .filter_map(|l| {
                        let column = *self.column_of_label.get(&l.label)?;
                        Some(Plausible { rank: cells[column], weight: l.score })
                    })
                    .collect()
            })
            .unwrap_or_default();
        plausible.extend(severity.map(|s| Plausible { rank: cells[s.column], weight: 1.0 }));
        plausible.extend(text.hint.map(|(column, weight)| Plausible { rank: cells[column], weight }));
        let model = prediction.filter(|p| !p.abstained).and_then(|p| Some((p, *self.column_of_label.get(&p.label)?)));
        // A head's severe column that the probe does not back is held to the calm one.
        let held = text.calm.filter(|calm| model.is_some_and(|(_, c)| cells[c] < cells[calm.column]));
        let held_words = held.map(|calm| {
            let column = &self.urgencies[calm.column];
            match calm.held_by {
                Some(cap) => format!(", held to {column} as the text says {cap} (severe {:.2})", calm.probability),
                None => format!(", held to {column} as the text reads calm by meaning (severe {:.2})", calm.probability),
            }
        });
        let model = model.map(|(p, column)| (p, held.map_or(column, |calm| calm.column)));
        let impact_words = impact.name.map(|name| format!(" with impact {name}")).unwrap_or_default();
        let model_words = model.map(|(p, _)| {
            format!("model {head} {} ({:.2}{}){}", p.label, p.score, p.recalled_note(), held_words.as_deref().unwrap_or(""))
        });
        let text_rank = severity.map(|s| cells[s.column]);
        let text_decides = match (model, severity) {
            (Some((_, column)), Some(s)) => cells[s.column] < cells[column] || (s.lowers && cells[s.column] > cells[column]),
            (None, Some(_)) => true,
            _ => false,
        };
        if let (true, Some(s), Some(rank)) = (text_decides, severity, text_rank) {
            let reason = s.reason(severity_level);
            let over = model_words.as_ref().map(|m| format!(" over {m}")).unwrap_or_default();
            let over_abstained = match prediction {
                Some(p) if model.is_none() => format!("; {head} abstained (best guess {}, {:.2})", p.label, p.score),
                _ => String::new(),
            };
            return Start {
                rank,
                rule: "severity-matrix",
                because: format!(
                    "urgency {} from the text ({reason}){over}{over_abstained}, {}",
                    self.urgencies[s.column], impact.because
                ),
                summary: format!("text severity: {reason}{impact_words}{over}"),
                review_reason: None,
                plausible,
            };
        }
        if let (Some((p, column)), Some(words)) = (model, model_words) {
            let agrees = severity.map(|s| format!("; the text agrees ({})", s.reason(severity_level))).unwrap_or_default();
            return Start {
                rank: cells[column],
                rule: "urgency-matrix",
                because: format!(
                    "{head} = {} ({:.2}){}{agrees}, {}",
                    p.label,
                    p.score,
                    held_words.as_deref().unwrap_or(""),
                    impact.because
                ),
                summary: format!("{words}{impact_words}"),
                review_reason: None,
                plausible,
            };
        }
        let why = match prediction {
            None => format!("no {head} prediction"),
            Some(p) if p.abstained => format!("{head} abstained (best guess {}, {:.2})", p.label, p.score),
            Some(p) => format!("{head} label {} is not mapped in [matrix.urgency]", p.label),
        };
        let (rank, because) = match abstention.start {
            AbstentionStart::Level(rank) => (rank, format!("{why}; no severity words; fallback level")),
            AbstentionStart::Urgency(column) => (
                cells[column],
                format!("{why}; no severity words; fallback urgency {}, {}", self.urgencies[column], impact.because),
            ),
        };
        Start {
            rank,
            rule: "abstention-fallback",
            because,
            summary: format!("{why}, fallback start{impact_words}"),
            review_reason: abstention.needs_review.then(|| why.clone()),
            plausible,
        }
    }
}
