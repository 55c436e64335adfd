//! Calibration: per-head temperature, confidence bands and abstain thresholds
//! (`calibration.json`), and turning a head's logits into probabilities and those into a
//! `HeadPrediction` with them.
//! Fitting these numbers is the trainer's job; this module only applies them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prediction::{Band, HeadPrediction, LabelScore};

/// How many alternatives a prediction lists in `top`.
pub const TOP_LABELS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCalibration {
    /// Logits are divided by this before the softmax (fitted on held-out data by NLL).
    pub temperature: f32,
    /// A calibrated score at or above this is band `high`.
    pub high_from: f32,
    /// At or above this (and below `high_from`) is `medium`; below is `low`.
    pub medium_from: f32,
    /// Below this the head abstains: the policy must not act on its label alone.
    pub abstain_below: f32,
    /// The accuracy the thresholds were chosen to hold on held-out data, for the record.
    pub target_accuracy: f32,
}

impl Default for HeadCalibration {
    fn default() -> Self {
        Self { temperature: 1.0, high_from: 0.8, medium_from: 0.5, abstain_below: 0.0, target_accuracy: 0.0 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub heads: BTreeMap<String, HeadCalibration>,
}

/// Softmax of `logits / temperature`, computed stably.
pub fn calibrated_probabilities(logits: &[f32], temperature: f32) -> Vec<f32> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| ((l - max) / t).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

impl HeadCalibration {
    pub fn band(&self, score: f32) -> Band {
        if score >= self.high_from {
            Band::High
        } else if score >= self.medium_from {
            Band::Medium
        } else {
            Band::Low
        }
    }

    /// The prediction of calibrated `probabilities` (parallel to `labels`): the most probable
    /// label, its band, and whether the head abstains on it.
    pub fn prediction(&self, labels: &[String], probabilities: &[f32]) -> HeadPrediction {
        let mut ranked: Vec<LabelScore> =
            labels.iter().zip(probabilities).map(|(label, &score)| LabelScore { label: label.clone(), score }).collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        ranked.truncate(TOP_LABELS);
        let best = ranked[0].clone();
        HeadPrediction {
            band: self.band(best.score),
            abstained: best.score < self.abstain_below,
            label: best.label,
            score: best.score,
            top: ranked,
            recalled: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_flattens_and_sharpens() {
        let logits = [2.0, 0.0];
        let plain = calibrated_probabilities(&logits, 1.0);
        let hot = calibrated_probabilities(&logits, 2.0);
        let cold = calibrated_probabilities(&logits, 0.5);
        assert!((plain[0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
        assert!(hot[0] < plain[0] && plain[0] < cold[0]);
    }

    #[test]
    fn prediction_bands_and_abstains_by_thresholds() {
        let labels = vec!["low".to_string(), "high".to_string(), "medium".to_string()];
        let calibration = HeadCalibration { abstain_below: 0.6, ..HeadCalibration::default() };
        let predict =
            |logits: &[f32]| calibration.prediction(&labels, &calibrated_probabilities(logits, calibration.temperature));
        let confident = predict(&[0.0, 5.0, 0.0]);
        assert_eq!(confident.label, "high");
        assert_eq!(confident.band, Band::High);
        assert!(!confident.abstained);
        let unsure = predict(&[0.1, 0.0, 0.0]);
        assert_eq!(unsure.label, "low");
        assert_eq!(unsure.band, Band::Low);
        assert!(unsure.abstained);
        assert_eq!(unsure.top.len(), 3);
    }
}
