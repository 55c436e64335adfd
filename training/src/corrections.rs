//! Reviewers' corrections joined with the labeled history: a correction overrides the labels
//! it names on the history row of the same ticket id (other labels stay), and a corrected
//! ticket the history lacks joins as a new row. Reads the file `triage export-feedback`
//! writes (fixed columns, see `triage::store::export`); no training logic here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::data::{self, ColumnMap, DataError, Dataset, Example};

/// What the corrections changed, for the log and the manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrectionReport {
    pub overridden: usize,
    pub added: usize,
    /// One line per changed label, e.g. `T-7 category: billing -> technical`.
    pub changes: Vec<String>,
}

impl CorrectionReport {
    /// Corrections that reached the training data.
    pub fn used(&self) -> usize {
        self.overridden + self.added
    }
}

/// Reads corrections files for the given heads; a head no reviewer corrected has no column.
pub fn load(paths: &[PathBuf], heads: &[String]) -> Result<Dataset, DataError> {
    let map = ColumnMap {
        id: Some("id".into()),
        text: vec!["subject".into(), "body".into()],
        language: Some("language".into()),
        labels: heads.iter().map(|head| (head.clone(), head.clone())).collect(),
    };
    data::load_some_labels(paths, &map)
}

/// Applies `corrections` to `history` in place; a later correction of the same ticket wins.
pub fn apply(history: &mut Dataset, corrections: Dataset) -> CorrectionReport {
    let mut report = CorrectionReport::default();
    let mut rows_by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (row, example) in history.examples.iter().enumerate() {
        rows_by_id.entry(example.id.clone()).or_default().push(row);
    }
    for correction in corrections.examples {
        match rows_by_id.get(&correction.id) {
            Some(rows) => {
                for &row in rows {
                    override_labels(&mut history.examples[row], &correction, &mut report.changes);
                }
                report.overridden += 1;
            }
            None => {
                rows_by_id.entry(correction.id.clone()).or_default().push(history.examples.len());
                report.changes.push(format!("{} added ({})", correction.id, describe(&correction.labels)));
                history.examples.push(correction);
                report.added += 1;
            }
        }
    }
    history.files.extend(corrections.files);
    report
}

fn override_labels(row: &mut Example, correction: &Example, changes: &mut Vec<String>) {
    for (head, label) in &correction.labels {
        let before = row.labels.insert(head.clone(), label.clone());
        if before.as_deref() != Some(label.as_str()) {
            let before = before.unwrap_or_else(|| "(none)".into());
            changes.push(format!("{} {head}: {before} -> {label}", row.id));
        }
    }
}

fn describe(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(head, label)| format!("{head} {label}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(id: &str, labels: &[(&str, &str)]) -> Example {
        Example {
            id: id.into(),
            text: format!("text of {id}"),
            language: None,
            labels: labels.iter().map(|(h, l)| (h.to_string(), l.to_string())).collect(),
        }
    }

    fn dataset(examples: Vec<Example>) -> Dataset {
        Dataset { examples, ..Dataset::default() }
    }

    #[test]
    fn a_correction_overrides_only_the_labels_it_names() {
        let mut history = dataset(vec![
            example("T-1", &[("category", "billing"), ("urgency", "low")]),
            example("T-2", &[("category", "technical")]),
        ]);
        let report = apply(&mut history, dataset(vec![example("T-1", &[("category", "technical")])]));
        assert_eq!(report.overridden, 1);
        assert_eq!(report.added, 0);
        assert_eq!(history.examples[0].labels["category"], "technical");
        assert_eq!(history.examples[0].labels["urgency"], "low");
        assert_eq!(history.examples[1].labels["category"], "technical");
        assert_eq!(report.changes, ["T-1 category: billing -> technical"]);
    }

    #[test]
    fn a_head_nobody_corrected_needs_no_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("corrections.csv");
        let csv = "id,subject,body,language,category,final_priority,reviewer,reviewed_at,decision_id\n\
                   T-1,Invoice,send it again,en,billing,P3,ana,2026-11-24T10:00:00Z,d-1\n";
        std::fs::write(&path, csv).expect("written");
        let loaded = load(&[path], &["urgency".into(), "category".into()]).expect("urgency has no column and that is fine");
        assert_eq!(loaded.examples.len(), 1);
        assert_eq!(loaded.examples[0].labels, [("category".to_string(), "billing".to_string())].into());
    }

    #[test]
    fn an_unknown_ticket_joins_and_the_last_correction_wins() {
        let mut history = dataset(vec![example("T-1", &[("category", "billing")])]);
        let corrections = dataset(vec![
            example("decision:d-9", &[("sentiment", "negative")]),
            example("decision:d-9", &[("sentiment", "neutral")]),
        ]);
        let report = apply(&mut history, corrections);
        assert_eq!((report.overridden, report.added, report.used()), (1, 1, 2));
        assert_eq!(history.examples.len(), 2);
        assert_eq!(history.examples[1].labels["sentiment"], "neutral");
    }
}
