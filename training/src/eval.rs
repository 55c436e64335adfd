//! Evaluating a classifier on labeled examples: per-head metrics, a coverage / accuracy
//! sweep over score thresholds, reliability bins, the bundle's abstain operating point,
//! per-language metrics, and the plain-text report `triage-train eval` prints.
//! Reads no files; the caller loads the data and the bundle (`report` draws the HTML page).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use triage::model::{Classifier, ModelError};

use crate::calibrate::coverage_at;
use crate::data::Example;
use crate::metrics::{group_metrics, head_metrics, reliability_bins, GroupMetrics, HeadMetrics, ReliabilityBin};

/// Thresholds the sweep reports coverage and accuracy at.
const SWEEP_CUTS: [f32; 9] = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
/// The finer coverage / accuracy curve is taken every `1 / CURVE_STEPS` of score.
const CURVE_STEPS: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    pub threshold: f32,
    pub coverage: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub heads: BTreeMap<String, HeadMetrics>,
    pub sweeps: BTreeMap<String, Vec<SweepPoint>>,
    /// Rows whose label the model does not know, per head (counted, not scored).
    pub unknown_labels: BTreeMap<String, usize>,
    /// The same sweep at every `1 / CURVE_STEPS` of score, for plotting; cuts that keep no
    /// row are left out.
    pub curves: BTreeMap<String, Vec<SweepPoint>>,
    /// Coverage and accuracy of the rows the bundle's calibration did not abstain on.
    pub abstention: BTreeMap<String, Abstention>,
    /// Reliability-diagram bins of the top score, per head.
    pub reliability: BTreeMap<String, Vec<ReliabilityBin>>,
    /// Accuracy and macro-F1 per language, per head (empty without a language column).
    pub languages: BTreeMap<String, BTreeMap<String, GroupMetrics>>,
    /// Every scored row, per head: kept out of the JSON metrics (it grows with the data) and
    /// written on request for error analysis and paired comparisons.
    #[serde(skip)]
    pub rows: BTreeMap<String, Vec<RowPrediction>>,
}

/// One scored row of one head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowPrediction {
    pub id: String,
    pub truth: String,
    pub predicted: String,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Abstention {
    /// Share of scored rows the head gave a label for (did not abstain on).
    pub coverage: f64,
    /// Accuracy on those rows.
    pub accuracy: f64,
}

/// Coverage and accuracy of the rows not abstained on; `rows` is (abstained, correct).
pub fn abstention(rows: &[(bool, bool)]) -> Abstention {
    let kept: Vec<bool> = rows.iter().filter(|(abstained, _)| !abstained).map(|&(_, right)| right).collect();
    Abstention {
        coverage: kept.len() as f64 / rows.len().max(1) as f64,
        accuracy: kept.iter().filter(|r| **r).count() as f64 / kept.len().max(1) as f64,
    }
}

/// Coverage / accuracy at each cut in `cuts`, leaving out cuts that keep no row.
pub fn sweep(scored: &[(f32, bool)], cuts: impl IntoIterator<Item = f32>) -> Vec<SweepPoint> {
    cuts.into_iter()
        .filter(|&cut| scored.iter().any(|(s, _)| *s >= cut))
        .map(|threshold| {
            let (coverage, accuracy) = coverage_at(scored, threshold);
            SweepPoint { threshold, coverage, accuracy }
        })
        .collect()
}

pub fn evaluate(classifier: &Classifier, examples: &[Example]) -> Result<EvalReport, ModelError> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let predictions = classifier.predict(&texts)?;
    let mut report = EvalReport::default();
    for spec in &classifier.manifest().heads {
        let index = |label: &str| spec.labels.iter().position(|l| l == label);
        let mut truth = Vec::new();
        let mut predicted = Vec::new();
        let mut confidence = Vec::new();
        let mut abstained = Vec::new();
        let mut languages = Vec::new();
        let mut rows = Vec::new();
        for (example, prediction) in examples.iter().zip(&predictions) {
            let Some(label) = example.labels.get(&spec.name) else { continue };
            let (Some(t), Some(head)) = (index(label), prediction.get(&spec.name)) else {
                *report.unknown_labels.entry(spec.name.clone()).or_default() += 1;
                continue;
            };
            truth.push(t);
            predicted.push(index(&head.label).unwrap_or(0));
            confidence.push(head.score);
            abstained.push(head.abstained);
            languages.push(example.language.as_deref());
            rows.push(RowPrediction {
                id: example.id.clone(),
                truth: label.clone(),
                predicted: head.label.clone(),
                score: head.score,
            });
        }
        if truth.is_empty() {
            continue;
        }
        let scored: Vec<(f32, bool)> =
            confidence.iter().zip(truth.iter().zip(&predicted)).map(|(&c, (t, p))| (c, t == p)).collect();
        let sweep = SWEEP_CUTS
            .iter()
            .map(|&threshold| {
                let (coverage, accuracy) = coverage_at(&scored, threshold);
                SweepPoint { threshold, coverage, accuracy }
            })
            .collect();
        report.sweeps.insert(spec.name.clone(), sweep);
        let curve = self::sweep(&scored, (0..=CURVE_STEPS).map(|i| i as f32 / CURVE_STEPS as f32));
        report.curves.insert(spec.name.clone(), curve);
        let flags: Vec<(bool, bool)> = abstained.iter().zip(&scored).map(|(&a, &(_, right))| (a, right)).collect();
        report.abstention.insert(spec.name.clone(), abstention(&flags));
        let correct: Vec<bool> = scored.iter().map(|&(_, right)| right).collect();
        report.reliability.insert(spec.name.clone(), reliability_bins(&confidence, &correct));
        let by_language = group_metrics(&spec.labels, &truth, &predicted, &languages);
        if !by_language.is_empty() {
            report.languages.insert(spec.name.clone(), by_language);
        }
        report.heads.insert(spec.name.clone(), head_metrics(&spec.labels, &truth, &predicted, &confidence));
        report.rows.insert(spec.name.clone(), rows);
    }
    Ok(report)
}

/// The human-readable report: summary, per-class table, confusion matrix and sweep per head.
pub fn render(report: &EvalReport) -> String {
    let mut out = String::new();
    for (head, m) in &report.heads {
        let _ = writeln!(
            out,
            "== {head}: {} examples, accuracy {:.3}, macro-F1 {:.3}, ECE {:.3}",
            m.examples, m.accuracy, m.macro_f1, m.expected_calibration_error
        );
        let width = m.labels.iter().map(|l| l.len()).max().unwrap_or(5).max(5);
        let _ = writeln!(out, "  {:width$}  precision  recall     f1  support", "class");
        for c in &m.classes {
            let _ = writeln!(out, "  {:width$}  {:9.3}  {:6.3}  {:5.3}  {:7}", c.label, c.precision, c.recall, c.f1, c.support);
        }
        let _ = writeln!(out, "  confusion (rows = true, columns = predicted, in the order above):");
        for (label, row) in m.labels.iter().zip(&m.confusion) {
            let cells: Vec<String> = row.iter().map(|n| format!("{n:5}")).collect();
            let _ = writeln!(out, "  {label:width$} {}", cells.join(""));
        }
        if let Some(sweep) = report.sweeps.get(head) {
            let _ = writeln!(out, "  coverage / accuracy by score threshold:");
            for p in sweep {
                let _ =
                    writeln!(out, "    >= {:.2}: coverage {:5.1}%, accuracy {:.3}", p.threshold, p.coverage * 100.0, p.accuracy);
            }
        }
        if let Some(a) = report.abstention.get(head) {
            let _ = writeln!(
                out,
                "  with the bundle's abstain threshold: coverage {:5.1}%, accuracy {:.3}",
                a.coverage * 100.0,
                a.accuracy
            );
        }
        if let Some(languages) = report.languages.get(head) {
            let _ = writeln!(out, "  by language:");
            for (language, g) in languages {
                let _ = writeln!(
                    out,
                    "    {language:8} {:6} examples, accuracy {:.3}, macro-F1 {:.3}",
                    g.examples, g.accuracy, g.macro_f1
                );
            }
        }
    }
    for (head, n) in &report.unknown_labels {
        let _ = writeln!(out, "note: {n} rows had a {head} label this model does not know; not scored");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five rows, two abstained on: coverage 3/5; of the three kept, two right: accuracy 2/3.
    #[test]
    fn abstention_counts_the_rows_kept() {
        let a = abstention(&[(false, true), (true, true), (false, false), (true, false), (false, true)]);
        assert!((a.coverage - 0.6).abs() < 1e-12);
        assert!((a.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(abstention(&[]), Abstention { coverage: 0.0, accuracy: 0.0 });
    }

    /// Scores 0.9 (right), 0.6 (wrong), 0.4 (right): >= 0.5 keeps 2/3 at accuracy 1/2,
    /// >= 0.0 keeps all at 2/3; a cut above every score keeps nothing and is left out.
    #[test]
    fn sweep_leaves_out_empty_cuts() {
        let points = sweep(&[(0.9, true), (0.6, false), (0.4, true)], [0.0, 0.5, 0.95]);
        assert_eq!(points.len(), 2);
        assert!((points[0].coverage - 1.0).abs() < 1e-12 && (points[0].accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((points[1].coverage - 2.0 / 3.0).abs() < 1e-12 && (points[1].accuracy - 0.5).abs() < 1e-12);
    }

    /// The committed model on the project's sample tickets: the per-row predictions are the
    /// rows the metrics were computed from.
    #[test]
    fn the_rows_add_up_to_the_head_metrics() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let classifier = Classifier::load(&root.join("models/default")).expect("default model");
        let labels = ["urgency", "category"].iter().map(|h| (h.to_string(), h.to_string())).collect();
        let map =
            crate::data::ColumnMap { id: Some("id".into()), text: vec!["subject".into(), "body".into()], language: None, labels };
        let examples = crate::data::load(&[root.join("data/sample/tickets.csv")], &map).expect("sample").examples;
        let report = evaluate(&classifier, &examples).expect("evaluates");
        for (head, metrics) in &report.heads {
            let rows = &report.rows[head];
            assert_eq!(rows.len(), metrics.examples, "{head}");
            let right = rows.iter().filter(|r| r.truth == r.predicted).count();
            assert!((right as f64 / rows.len() as f64 - metrics.accuracy).abs() < 1e-9, "{head}");
            assert!(rows.iter().all(|r| examples.iter().any(|e| e.id == r.id && e.labels[head] == r.truth)), "{head}");
        }
        assert_eq!(report.rows.len(), 2, "only the heads the data labels");
    }
}
