//! Evaluating a classifier on labeled examples: per-head metrics, a coverage / accuracy
//! sweep over score thresholds, and the plain-text report `triage-train eval` prints.
//! Reads no files; the caller loads the data and the bundle.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use triage::model::{Classifier, ModelError};

use crate::calibrate::coverage_at;
use crate::data::Example;
use crate::metrics::{head_metrics, HeadMetrics};

/// Thresholds the sweep reports coverage and accuracy at.
const SWEEP_CUTS: [f32; 9] = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    pub threshold: f32,
    pub coverage: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub heads: BTreeMap<String, HeadMetrics>,
    pub sweeps: BTreeMap<String, Vec<SweepPoint>>,
    /// Rows whose label the model does not know, per head (counted, not scored).
    pub unknown_labels: BTreeMap<String, usize>,
}

pub fn evaluate(classifier: &Classifier, examples: &[Example]) -> Result<EvalReport, ModelError> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let predictions = classifier.predict(&texts)?;
    let mut report =
        EvalReport { heads: BTreeMap::new(), sweeps: BTreeMap::new(), unknown_labels: BTreeMap::new() };
    for spec in &classifier.manifest().heads {
        let index = |label: &str| spec.labels.iter().position(|l| l == label);
        let mut truth = Vec::new();
        let mut predicted = Vec::new();
        let mut confidence = Vec::new();
        for (example, prediction) in examples.iter().zip(&predictions) {
            let Some(label) = example.labels.get(&spec.name) else { continue };
            let (Some(t), Some(head)) = (index(label), prediction.get(&spec.name)) else {
                *report.unknown_labels.entry(spec.name.clone()).or_default() += 1;
                continue;
            };
            truth.push(t);
            predicted.push(index(&head.label).unwrap_or(0));
            confidence.push(head.score);
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
        report.heads.insert(spec.name.clone(), head_metrics(&spec.labels, &truth, &predicted, &confidence));
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
                let _ = writeln!(out, "    >= {:.2}: coverage {:5.1}%, accuracy {:.3}", p.threshold, p.coverage * 100.0, p.accuracy);
            }
        }
    }
    for (head, n) in &report.unknown_labels {
        let _ = writeln!(out, "note: {n} rows had a {head} label this model does not know; not scored");
    }
    out
}
