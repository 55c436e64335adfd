//! How severe a ticket reads by meaning: a logistic probe over the encoder's sentence
//! embedding giving the probability that the ticket belongs at one of the most urgent levels.
//! The trainer fits it on tickets whose acceptable priority levels a person wrote down
//! (`triage-train train --severity-examples`), not on the history's machine-generated urgency
//! labels, so it knows "Datenbank ausgefallen" and "nobody can ring anything up" as severe
//! without a phrase list naming them.
//!
//! Pure: weights in, probability out. Fitting is the trainer's; what the probability does to a
//! priority is the policy's (`policy::severity`).

use serde::{Deserialize, Serialize};

/// The fitted probe, as the manifest stores it (inside the encoder's entry: it reads that
/// encoder's embeddings and no other).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityProbe {
    /// One weight per embedding dimension.
    pub weights: Vec<f32>,
    pub bias: f32,
    /// The levels a ticket counted as severe for (`["P1", "P2"]`).
    pub severe_levels: Vec<String>,
    /// What it was fitted on: files, tickets used and skipped, and its cross-validated
    /// misses and false alarms at probability 0.5.
    pub fitted_on: String,
}

impl SeverityProbe {
    /// The probability that the ticket with this unit-length `embedding` is severe; `None`
    /// when the embedding is not the probe's size (another encoder's).
    pub fn probability(&self, embedding: &[f32]) -> Option<f32> {
        (embedding.len() == self.weights.len()).then(|| {
            let logit: f32 = self.bias + self.weights.iter().zip(embedding).map(|(w, x)| w * x).sum::<f32>();
            1.0 / (1.0 + (-logit).exp())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probability_follows_the_weights_and_refuses_another_size() {
        let probe =
            SeverityProbe { weights: vec![4.0, -4.0], bias: 0.0, severe_levels: vec!["P1".into()], fitted_on: String::new() };
        assert!(probe.probability(&[1.0, 0.0]).unwrap() > 0.95);
        assert!(probe.probability(&[0.0, 1.0]).unwrap() < 0.05);
        assert_eq!(probe.probability(&[0.5, 0.5]), Some(0.5));
        assert_eq!(probe.probability(&[1.0]), None);
    }
}
