//! Classification metrics over one head's held-out predictions (ndarray): confusion matrix,
//! accuracy, per-class precision / recall / F1, macro-F1, expected calibration error, the
//! reliability-diagram bins behind it, and accuracy / macro-F1 per group of rows (language).
//! Pure arithmetic; printing and files are the caller's business.

use std::collections::BTreeMap;

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

/// One equal-width bin of a reliability diagram: the rows whose top score falls in
/// `[lower, upper)` (the last bin includes 1.0), their mean score and how often they were right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean top score of the bin's rows (0 when the bin is empty).
    pub mean_confidence: f64,
    /// Share of the bin's rows predicted right (0 when the bin is empty).
    pub accuracy: f64,
}

/// Accuracy and macro-F1 over one group of rows (one language, say).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMetrics {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

fn calibration_bin(confidence: f32) -> usize {
    ((confidence as f64 * CALIBRATION_BINS as f64).max(0.0) as usize).min(CALIBRATION_BINS - 1)
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
        let bin = calibration_bin(c);
        count[bin] += 1.0;
        confidence_sum[bin] += c as f64;
        correct_sum[bin] += if ok { 1.0 } else { 0.0 };
    }
    (0..CALIBRATION_BINS).filter(|&b| count[b] > 0.0).map(|b| (correct_sum[b] - confidence_sum[b]).abs() / n as f64).sum()
}

/// The `CALIBRATION_BINS` equal-width bins the expected calibration error is computed over,
/// empty ones included, in ascending order of confidence.
pub fn reliability_bins(confidence: &[f32], correct: &[bool]) -> Vec<ReliabilityBin> {
    let mut count = [0usize; CALIBRATION_BINS];
    let mut confidence_sum = [0f64; CALIBRATION_BINS];
    let mut correct_sum = [0f64; CALIBRATION_BINS];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let bin = calibration_bin(c);
        count[bin] += 1;
        confidence_sum[bin] += c as f64;
        correct_sum[bin] += if ok { 1.0 } else { 0.0 };
    }
    (0..CALIBRATION_BINS)
        .map(|b| ReliabilityBin {
            lower: b as f64 / CALIBRATION_BINS as f64,
            upper: (b + 1) as f64 / CALIBRATION_BINS as f64,
            count: count[b],
            mean_confidence: ratio(confidence_sum[b], count[b] as f64),
            accuracy: ratio(correct_sum[b], count[b] as f64),
        })
        .collect()
}

/// Accuracy and macro-F1 per group (`groups[i]` is row i's group, e.g. its language), keyed
/// by group name; rows without a group are left out. Macro-F1 averages over the classes that
/// occur in the group's truth, as `head_metrics` does.
pub fn group_metrics(
    labels: &[String],
    truth: &[usize],
    predicted: &[usize],
    groups: &[Option<&str>],
) -> BTreeMap<String, GroupMetrics> {
    let mut rows: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for ((&t, &p), group) in truth.iter().zip(predicted).zip(groups) {
        if let Some(group) = group {
            let entry = rows.entry(group).or_default();
            entry.0.push(t);
            entry.1.push(p);
        }
    }
    rows.into_iter()
        .map(|(group, (t, p))| {
            let m = head_metrics(labels, &t, &p, &vec![0.0; t.len()]);
            (group.to_string(), GroupMetrics { examples: m.examples, accuracy: m.accuracy, macro_f1: m.macro_f1 })
        })
        .collect()
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

    /// Bins of width 0.1: 0.05 (wrong) and 0.15, 0.12 (both right) land in bins 0 and 1;
    /// 1.0 lands in the last bin; 0.72, 0.78, 0.75 (right, wrong, right) in bin 7.
    #[test]
    fn reliability_bins_match_hand_computed_values() {
        let bins = reliability_bins(&[0.05, 0.15, 0.12, 1.0, 0.72, 0.78, 0.75], &[false, true, true, true, true, false, true]);
        assert_eq!(bins.len(), CALIBRATION_BINS);
        assert_eq!(bins.iter().map(|b| b.count).collect::<Vec<_>>(), vec![1, 2, 0, 0, 0, 0, 0, 3, 0, 1]);
        assert!((bins[0].mean_confidence - 0.05).abs() < 1e-6 && bins[0].accuracy == 0.0);
        assert!((bins[1].mean_confidence - 0.135).abs() < 1e-6 && bins[1].accuracy == 1.0);
        assert!((bins[7].mean_confidence - 0.75).abs() < 1e-6);
        assert!((bins[7].accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((bins[9].mean_confidence - 1.0).abs() < 1e-12 && bins[9].accuracy == 1.0);
        assert!((bins[7].lower - 0.7).abs() < 1e-12 && (bins[7].upper - 0.8).abs() < 1e-12);
        assert_eq!((bins[2].mean_confidence, bins[2].accuracy), (0.0, 0.0));
        // ECE is the support-weighted gap of these same bins.
        let correct = [false, true, true, true, true, false, true];
        let ece: f64 = bins.iter().map(|b| b.count as f64 / 7.0 * (b.accuracy - b.mean_confidence).abs()).sum();
        let direct = expected_calibration_error(&[0.05, 0.15, 0.12, 1.0, 0.72, 0.78, 0.75], &correct);
        assert!((ece - direct).abs() < 1e-9);
    }

    /// en: truth a a b, predicted a b b -> accuracy 2/3; a: P 1 R 1/2 F1 2/3, b: P 1/2 R 1
    /// F1 2/3 -> macro 2/3. de: truth b b, predicted b a -> accuracy 1/2; only b occurs in
    /// the truth: P 1 R 1/2 F1 2/3 -> macro 2/3. The row without a language is left out.
    #[test]
    fn group_metrics_split_by_language() {
        let groups = [Some("en"), Some("en"), Some("en"), Some("de"), Some("de"), None];
        let by = group_metrics(&labels(&["a", "b"]), &[0, 0, 1, 1, 1, 0], &[0, 1, 1, 1, 0, 0], &groups);
        assert_eq!(by.keys().collect::<Vec<_>>(), vec!["de", "en"]);
        assert_eq!(by["en"].examples, 3);
        assert!((by["en"].accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((by["en"].macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(by["de"].examples, 2);
        assert!((by["de"].accuracy - 0.5).abs() < 1e-12);
        assert!((by["de"].macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!(group_metrics(&labels(&["a"]), &[0], &[0], &[None]).is_empty());
    }

    #[test]
    fn class_absent_from_truth_does_not_count_in_macro_f1() {
        let m = head_metrics(&labels(&["a", "b", "c"]), &[0, 1], &[0, 1], &[1.0, 1.0]);
        assert!((m.macro_f1 - 1.0).abs() < 1e-12);
    }
}
