//! Classification metrics over one head's held-out predictions (ndarray): confusion matrix,
//! accuracy, per-class precision / recall / F1, macro-F1 and expected calibration error.
//! Pure arithmetic; printing and files are the caller's business.

use ndarray::{Array1, Array2, Axis};
use serde::Serialize;

/// Equal-width confidence bins for the expected calibration error.
pub const CALIBRATION_BINS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadMetrics {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub expected_calibration_error: f64,
    pub classes: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`, rows and columns in label order.
    pub confusion: Vec<Vec<usize>>,
    pub labels: Vec<String>,
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

pub fn confusion_matrix(truth: &[usize], predicted: &[usize], classes: usize) -> Array2<usize> {
    let mut matrix = Array2::zeros((classes, classes));
    for (&t, &p) in truth.iter().zip(predicted) {
        matrix[[t, p]] += 1;
    }
    matrix
}

/// Expected calibration error: the support-weighted gap between confidence and accuracy
/// over `CALIBRATION_BINS` equal-width bins of the top score.
pub fn expected_calibration_error(confidence: &[f32], correct: &[bool]) -> f64 {
    let n = confidence.len();
    if n == 0 {
        return 0.0;
    }
    let mut count = Array1::<f64>::zeros(CALIBRATION_BINS);
    let mut confidence_sum = Array1::<f64>::zeros(CALIBRATION_BINS);
    let mut correct_sum = Array1::<f64>::zeros(CALIBRATION_BINS);
    for (&c, &ok) in confidence.iter().zip(correct) {
        let bin = ((c as f64 * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        count[bin] += 1.0;
        confidence_sum[bin] += c as f64;
        correct_sum[bin] += if ok { 1.0 } else { 0.0 };
    }
    (0..CALIBRATION_BINS)
        .filter(|&b| count[b] > 0.0)
        .map(|b| (correct_sum[b] - confidence_sum[b]).abs() / n as f64)
        .sum()
}

/// All metrics of one head. `confidence` is the calibrated score of the predicted label.
pub fn head_metrics(labels: &[String], truth: &[usize], predicted: &[usize], confidence: &[f32]) -> HeadMetrics {
    let classes = labels.len();
    let matrix = confusion_matrix(truth, predicted, classes);
    let predicted_totals = matrix.sum_axis(Axis(0));
    let true_totals = matrix.sum_axis(Axis(1));
    let class_metrics: Vec<ClassMetrics> = (0..classes)
        .map(|c| {
            let hits = matrix[[c, c]] as f64;
            let precision = ratio(hits, predicted_totals[c] as f64);
            let recall = ratio(hits, true_totals[c] as f64);
            ClassMetrics {
                label: labels[c].clone(),
                precision,
                recall,
                f1: ratio(2.0 * precision * recall, precision + recall),
                support: true_totals[c],
            }
        })
        .collect();
    let present: Vec<&ClassMetrics> = class_metrics.iter().filter(|c| c.support > 0).collect();
    let correct: Vec<bool> = truth.iter().zip(predicted).map(|(t, p)| t == p).collect();
    HeadMetrics {
        examples: truth.len(),
        accuracy: ratio(matrix.diag().sum() as f64, truth.len() as f64),
        macro_f1: ratio(present.iter().map(|c| c.f1).sum(), present.len() as f64),
        expected_calibration_error: expected_calibration_error(confidence, &correct),
        classes: class_metrics,
        confusion: matrix.outer_iter().map(|row| row.to_vec()).collect(),
        labels: labels.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Worked by hand: truth a a a b b c, predicted a a b b c c.
    /// a: P 2/2 R 2/3 F1 0.8; b: P 1/2 R 1/2 F1 0.5; c: P 1/2 R 1/1 F1 2/3.
    #[test]
    fn matches_hand_computed_values() {
        let m = head_metrics(&labels(&["a", "b", "c"]), &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], &[0.9; 6]);
        assert_eq!(m.confusion, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.classes[0].precision - 1.0).abs() < 1e-12);
        assert!((m.classes[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.classes[0].f1 - 0.8).abs() < 1e-12);
        assert!((m.classes[1].f1 - 0.5).abs() < 1e-12);
        assert!((m.classes[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.classes[2].support, 1);
        // All six predictions at 0.9 confidence, 4 correct: |4/6 - 0.9| = 0.2333...
        assert!((m.expected_calibration_error - (0.9 - 4.0 / 6.0)).abs() < 1e-6);
    }

    /// Two bins: {0.95, 0.95} both right (gap 0.05) and {0.55, 0.55} one right (gap 0.05):
    /// ECE = 2/4 * 0.05 + 2/4 * 0.05 = 0.05.
    #[test]
    fn ece_weights_bins_by_support() {
        let ece = expected_calibration_error(&[0.95, 0.95, 0.55, 0.55], &[true, true, true, false]);
        assert!((ece - 0.05).abs() < 1e-6);
    }

    #[test]
    fn class_absent_from_truth_does_not_count_in_macro_f1() {
        let m = head_metrics(&labels(&["a", "b", "c"]), &[0, 1], &[0, 1], &[1.0, 1.0]);
        assert!((m.macro_f1 - 1.0).abs() < 1e-12);
    }
}
