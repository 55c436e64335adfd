//! The common-sense check of final priorities: for tickets whose acceptable levels a person
//! wrote down, how often triage agrees, how often a ticket that belongs high lands low (a
//! dangerous miss) or one that belongs low lands high (over-escalation), how many tickets it
//! asks a person to review, and how many of the dangerous misses are at least in that review
//! queue. Overall, per language and with / without customer context.
//!
//! Pure tallies over (case, outcome) pairs and the parsing of a labeled set's text; reading
//! files and classifying are the caller's.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::classify::ClassifyResponse;
use crate::ticket::{Ticket, TicketRequest};

/// One ticket of a labeled set: what a person accepts for it.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub language: String,
    /// Acceptable priority levels, e.g. `["P1", "P2"]`.
    pub acceptable: Vec<String>,
    /// Whether the request carried customer or custom-field context.
    #[serde(default)]
    pub context: bool,
}

/// What triage decided for a case.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub level: String,
    pub needs_review: bool,
}

/// Counts for one slice of the set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub tickets: usize,
    pub agreed: usize,
    /// Tickets every acceptable level of which is a high one.
    pub belong_high: usize,
    pub dangerous_misses: usize,
    pub dangerous_misses_reviewed: usize,
    /// Tickets none of whose acceptable levels is a high one.
    pub belong_low: usize,
    pub over_escalations: usize,
    pub reviewed: usize,
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Tally {
    fn add(&mut self, case: &Case, outcome: &Outcome, high: &[String]) {
        let is_high = |level: &String| high.contains(level);
        self.tickets += 1;
        self.agreed += usize::from(case.acceptable.contains(&outcome.level));
        self.reviewed += usize::from(outcome.needs_review);
        if case.acceptable.iter().all(is_high) {
            self.belong_high += 1;
            if !is_high(&outcome.level) {
                self.dangerous_misses += 1;
                self.dangerous_misses_reviewed += usize::from(outcome.needs_review);
            }
        } else if !case.acceptable.iter().any(is_high) {
            self.belong_low += 1;
            self.over_escalations += usize::from(is_high(&outcome.level));
        }
    }

    pub fn agreement(&self) -> f64 {
        share(self.agreed, self.tickets)
    }

    /// Dangerous misses among the tickets that belong high.
    pub fn dangerous_miss_rate(&self) -> f64 {
        share(self.dangerous_misses, self.belong_high)
    }

    /// Over-escalations among the tickets that belong low.
    pub fn over_escalation_rate(&self) -> f64 {
        share(self.over_escalations, self.belong_low)
    }

    pub fn review_rate(&self) -> f64 {
        share(self.reviewed, self.tickets)
    }

    /// Of the dangerous misses, the share a reviewer will see; 1 when there are none.
    pub fn misses_in_review(&self) -> f64 {
        if self.dangerous_misses == 0 {
            1.0
        } else {
            share(self.dangerous_misses_reviewed, self.dangerous_misses)
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub overall: Tally,
    pub by_language: BTreeMap<String, Tally>,
    pub by_context: BTreeMap<String, Tally>,
}

impl Report {
    /// `high` names the levels that count as high (the policy's top two).
    pub fn new<'a>(results: impl IntoIterator<Item = (&'a Case, &'a Outcome)>, high: &[String]) -> Self {
        let mut report = Report::default();
        for (case, outcome) in results {
            report.overall.add(case, outcome, high);
            report.by_language.entry(case.language.clone()).or_default().add(case, outcome, high);
            let context = if case.context { "with context" } else { "without context" };
            report.by_context.entry(context.to_string()).or_default().add(case, outcome, high);
        }
        report
    }

    /// The report of `responses` to the set's tickets (in the set's order), with the policy's
    /// `levels` in order (the top two count as high).
    pub fn of_responses(cases: &[Case], responses: &[ClassifyResponse], levels: &[String]) -> Self {
        let outcomes: Vec<Outcome> =
            responses.iter().map(|r| Outcome { level: r.priority.level.clone(), needs_review: r.needs_review }).collect();
        let high: Vec<String> = levels.iter().take(2).cloned().collect();
        Self::new(cases.iter().zip(&outcomes), &high)
    }
}

/// A labeled set in JSON lines (`data/commonsense/`): each line a case (`id`, `language`,
/// `acceptable`) with its classify `request`. Errors name the line.
pub fn parse_jsonl(text: &str) -> Result<Vec<(Case, Ticket)>, String> {
    #[derive(Deserialize)]
    struct Line {
        #[serde(flatten)]
        case: Case,
        request: TicketRequest,
    }
    let mut set = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Line { mut case, request } = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", index + 1))?;
        case.context = request.customer.is_some() || !request.fields.is_empty();
        let ticket = request.validate().map_err(|e| format!("line {}: {e}", index + 1))?;
        set.push((case, ticket));
    }
    Ok(set)
}

impl fmt::Display for Report {
    /// A Markdown table, one row per slice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| slice | tickets | agreement | dangerous misses | over-escalation | review rate | misses in review |")?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|")?;
        let rows = std::iter::once(("all", &self.overall))
            .chain(self.by_language.iter().map(|(k, v)| (k.as_str(), v)))
            .chain(self.by_context.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, t) in rows {
            let in_review = match t.dangerous_misses {
                0 => "no misses".to_string(),
                misses => format!("{:.0}% ({}/{misses})", 100.0 * t.misses_in_review(), t.dangerous_misses_reviewed),
            };
            writeln!(
                f,
                "| {name} | {} | {:.1}% | {:.1}% ({}/{}) | {:.1}% ({}/{}) | {:.1}% | {in_review} |",
                t.tickets,
                100.0 * t.agreement(),
                100.0 * t.dangerous_miss_rate(),
                t.dangerous_misses,
                t.belong_high,
                100.0 * t.over_escalation_rate(),
                t.over_escalations,
                t.belong_low,
                100.0 * t.review_rate(),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(language: &str, acceptable: &[&str], context: bool) -> Case {
        Case {
            id: "x".into(),
            language: language.into(),
            acceptable: acceptable.iter().map(|s| s.to_string()).collect(),
            context,
        }
    }

    fn outcome(level: &str, needs_review: bool) -> Outcome {
        Outcome { level: level.into(), needs_review }
    }

    #[test]
    fn tallies_count_misses_escalations_and_review_by_slice() {
        let high = vec!["P1".to_string(), "P2".to_string()];
        let results = [
            (case("en", &["P1", "P2"], true), outcome("P1", false)),
            (case("en", &["P1", "P2"], false), outcome("P3", true)),
            (case("de", &["P1", "P2"], false), outcome("P4", false)),
            (case("de", &["P3", "P4"], true), outcome("P2", false)),
            (case("de", &["P2", "P3"], false), outcome("P3", false)),
            (case("de", &["P4"], false), outcome("P4", true)),
        ];
        let report = Report::new(results.iter().map(|(c, o)| (c, o)), &high);
        let all = &report.overall;
        assert_eq!((all.tickets, all.agreed, all.belong_high, all.belong_low), (6, 3, 3, 2));
        assert_eq!((all.dangerous_misses, all.dangerous_misses_reviewed, all.over_escalations), (2, 1, 1));
        assert!((all.review_rate() - 2.0 / 6.0).abs() < 1e-9);
        assert!((all.misses_in_review() - 0.5).abs() < 1e-9);
        assert_eq!(report.by_language["de"].dangerous_misses, 1);
        assert_eq!(report.by_context["with context"].over_escalations, 1);
        let table = report.to_string();
        assert!(table.contains("| all | 6 | 50.0% | 66.7% (2/3) | 50.0% (1/2) | 33.3% | 50% (1/2) |"), "{table}");
    }
}
