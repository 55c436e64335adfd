//! Fitting a head's calibration on held-out logits: the softmax temperature that minimises
//! negative log-likelihood, then the score cut-offs that hold a target accuracy on the
//! tickets at or above them; and the agreement curve of a head's recalls (how often a recall
//! at a given similarity was right). Pure functions; the trainer supplies the held-out rows.

use triage::model::calibration::{calibrated_probabilities, HeadCalibration};
use triage::model::nearest_ticket::Agreement;

/// Accuracy the `medium` band (and with it, not abstaining) must hold on held-out data.
pub const REVIEW_ACCURACY: f32 = 0.6;
/// The fewest held-out rows a cut-off may rest on, so one lucky ticket cannot set it.
const MIN_SUPPORT: usize = 10;

fn mean_nll(logits: &[Vec<f32>], truth: &[usize], temperature: f32) -> f64 {
    let total: f64 =
        logits.iter().zip(truth).map(|(l, &t)| -f64::from(calibrated_probabilities(l, temperature)[t].max(1e-12)).ln()).sum();
    total / logits.len().max(1) as f64
}

/// Temperature minimising NLL on a log-spaced grid from 0.05 to 20 (a grid, not gradient
/// descent: one parameter, and the grid cannot diverge).
pub fn fit_temperature(logits: &[Vec<f32>], truth: &[usize]) -> f32 {
    const STEPS: usize = 240;
    let (low, high) = (0.05f32.ln(), 20f32.ln());
    (0..=STEPS)
        .map(|i| (low + (high - low) * i as f32 / STEPS as f32).exp())
        .map(|t| (t, mean_nll(logits, truth, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1.0, |(t, _)| t)
}

/// The lowest score such that the rows scoring at least that much are right at least
/// `target` of the time; 1.0 (nothing qualifies) when no such cut rests on enough rows.
pub fn cut_for_accuracy(scored: &[(f32, bool)], target: f32) -> f32 {
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut correct = 0usize;
    let mut cut = 1.0;
    for (kept, &(score, right)) in sorted.iter().enumerate() {
        correct += usize::from(right);
        let kept = kept + 1;
        if kept >= MIN_SUPPORT.min(sorted.len()) && correct as f32 >= target * kept as f32 {
            cut = score;
        }
    }
    cut
}

/// Coverage and accuracy of the rows scoring at or above `cut`.
pub fn coverage_at(scored: &[(f32, bool)], cut: f32) -> (f64, f64) {
    let kept: Vec<bool> = scored.iter().filter(|(s, _)| *s >= cut).map(|(_, r)| *r).collect();
    let coverage = kept.len() as f64 / scored.len().max(1) as f64;
    let accuracy = kept.iter().filter(|r| **r).count() as f64 / kept.len().max(1) as f64;
    (coverage, accuracy)
}

/// Calibrated top score and correctness of each row.
pub fn scored_rows(logits: &[Vec<f32>], truth: &[usize], temperature: f32) -> Vec<(f32, bool)> {
    logits
        .iter()
        .zip(truth)
        .map(|(l, &t)| {
            let p = calibrated_probabilities(l, temperature);
            let best = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
            (p[best], best == t)
        })
        .collect()
}

/// `(medium_from, high_from)`. Abstain and `medium` start at the lowest score whose tickets
/// and all above it hold `REVIEW_ACCURACY` (what could be decided without a person); `high`
/// at the cut that holds the target, but never below the target itself: a calibrated score
/// is the chance this one ticket is right, so a head whose every ticket clears the cumulative
/// cut (an easy head) must not call a 0.4 score "high".
pub fn band_cuts(scored: &[(f32, bool)], target_accuracy: f32) -> (f32, f32) {
    let medium_from = cut_for_accuracy(scored, REVIEW_ACCURACY.min(target_accuracy));
    let high_from = cut_for_accuracy(scored, target_accuracy).max(target_accuracy).max(medium_from);
    (medium_from, high_from)
}

/// The logistic curve in the similarity that best predicts whether a held-out recall was
/// right (`recalls`: similarity, right), by Newton's method on the log-likelihood with
/// Platt's smoothed targets, so a handful of recalls that were all right gives a high
/// probability, not a certainty.
pub fn fit_agreement(recalls: &[(f32, bool)]) -> Agreement {
    let right = recalls.iter().filter(|(_, r)| *r).count() as f64;
    let wrong = recalls.len() as f64 - right;
    let (if_right, if_wrong) = ((right + 1.0) / (right + 2.0), 1.0 / (wrong + 2.0));
    let (mut slope, mut intercept) = (0.0f64, ((right + 1.0) / (wrong + 1.0)).ln());
    // A little ridge on the slope keeps the step defined when every recall has one similarity.
    const RIDGE: f64 = 1e-3;
    for _ in 0..50 {
        let (mut g_slope, mut g_intercept) = (RIDGE * slope, 0.0);
        let (mut h_ss, mut h_si, mut h_ii) = (RIDGE, 0.0, 0.0);
        for &(similarity, was_right) in recalls {
            let s = f64::from(similarity);
            let p = 1.0 / (1.0 + (-(slope * s + intercept)).exp());
            let error = p - if was_right { if_right } else { if_wrong };
            let weight = (p * (1.0 - p)).max(1e-12);
            g_slope += error * s;
            g_intercept += error;
            h_ss += weight * s * s;
            h_si += weight * s;
            h_ii += weight;
        }
        let determinant = h_ss * h_ii - h_si * h_si;
        if determinant.abs() < 1e-18 {
            break;
        }
        let step_slope = (h_ii * g_slope - h_si * g_intercept) / determinant;
        let step_intercept = (h_ss * g_intercept - h_si * g_slope) / determinant;
        slope -= step_slope;
        intercept -= step_intercept;
        if step_slope.abs().max(step_intercept.abs()) < 1e-9 {
            break;
        }
    }
    Agreement { slope: slope as f32, intercept: intercept as f32 }
}

pub fn fit_head_calibration(logits: &[Vec<f32>], truth: &[usize], target_accuracy: f32) -> HeadCalibration {
    let temperature = fit_temperature(logits, truth);
    let scored = scored_rows(logits, truth, temperature);
    let (medium_from, high_from) = band_cuts(&scored, target_accuracy);
    HeadCalibration { temperature, high_from, medium_from, abstain_below: medium_from, target_accuracy }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_follows_how_often_recalls_were_right_at_each_similarity() {
        // Recalls at 0.5 right 1 time in 2, at 0.9 right 9 times in 10.
        let mut recalls = vec![(0.5, true), (0.5, false)];
        recalls.extend(std::iter::repeat_n((0.5, true), 9).chain(std::iter::repeat_n((0.5, false), 9)));
        recalls.extend(std::iter::repeat_n((0.9, true), 18).chain(std::iter::repeat_n((0.9, false), 2)));
        let agreement = fit_agreement(&recalls);
        assert!((agreement.at(0.5) - 0.5).abs() < 0.06, "{agreement:?} at 0.5: {}", agreement.at(0.5));
        assert!((agreement.at(0.9) - 0.9).abs() < 0.06, "{agreement:?} at 0.9: {}", agreement.at(0.9));

        let all_right = fit_agreement(&[(0.6, true), (0.6, true), (0.6, true)]);
        assert!(all_right.at(0.6) > 0.7 && all_right.at(0.6) < 0.85, "smoothed, not certain: {}", all_right.at(0.6));
    }

    #[test]
    fn overconfident_logits_get_a_temperature_above_one() {
        // Always +4 for class 0 but right only 60% of the time: softmax says 0.98, truth 0.6.
        let logits: Vec<Vec<f32>> = (0..100).map(|_| vec![4.0, 0.0]).collect();
        let truth: Vec<usize> = (0..100).map(|i| usize::from(i % 5 >= 3)).collect();
        let t = fit_temperature(&logits, &truth);
        let p = calibrated_probabilities(&logits[0], t)[0];
        assert!(t > 1.0);
        assert!((p - 0.6).abs() < 0.02, "calibrated {p}");
    }

    #[test]
    fn cut_holds_the_target_on_rows_above_it() {
        // Scores 1.00, 0.99, ... : the top 20 are right, the rest alternate.
        let scored: Vec<(f32, bool)> = (0..60).map(|i| (1.0 - i as f32 / 100.0, i < 20 || i % 2 == 0)).collect();
        let cut = cut_for_accuracy(&scored, 0.9);
        let (coverage, accuracy) = coverage_at(&scored, cut);
        assert!(accuracy >= 0.9);
        assert!(coverage > 20.0 / 60.0);
        assert!(cut_for_accuracy(&scored, 1.01) >= 1.0);
    }

    #[test]
    fn an_easy_head_still_needs_a_high_score_for_the_high_band() {
        // Right 90% of the time at every score from 0.34 up: the cumulative cut alone would
        // call every ticket "high".
        let scored: Vec<(f32, bool)> = (0..100).map(|i| (0.34 + i as f32 * 0.006, i % 10 != 0)).collect();
        assert!(cut_for_accuracy(&scored, 0.8) < 0.35);
        let (medium_from, high_from) = band_cuts(&scored, 0.8);
        assert!((medium_from - 0.34).abs() < 0.01 && (high_from - 0.8).abs() < 1e-6, "{medium_from} {high_from}");
    }
}
