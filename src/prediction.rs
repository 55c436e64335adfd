//! What the model says about one ticket, per head: the calibrated label distribution reduced to
//! a label, a score, a confidence band and an abstain flag. Plain data shared by the policy
//! engine, explanations and the HTTP layer; no tensors here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Confidence band of a calibrated score, from the thresholds in `calibration.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Low,
    Medium,
    High,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Low => "low",
            Band::Medium => "medium",
            Band::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// One head's verdict. `score` is the calibrated probability of `label`; `top` lists the most
/// likely labels, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeadPrediction {
    pub label: String,
    pub score: f32,
    pub band: Band,
    pub abstained: bool,
    pub top: Vec<LabelScore>,
    /// The remembered past ticket this head took its label from, when one was similar enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled: Option<Recalled>,
}

impl HeadPrediction {
    /// `, like past ticket ID` when the label was recalled; empty otherwise.
    pub fn recalled_note(&self) -> String {
        self.recalled.as_ref().map(|r| format!(", like past ticket {}", r.ticket)).unwrap_or_default()
    }
}

/// A past ticket recalled for a head: its id (as the training data named it) and its cosine
/// similarity to this ticket's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recalled {
    pub ticket: String,
    pub similarity: f32,
}

/// Predictions keyed by head name (`urgency`, `sentiment`, `category`, or whatever heads the
/// bundle's manifest declares).
pub type Predictions = BTreeMap<String, HeadPrediction>;

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(recalled: Option<Recalled>) -> HeadPrediction {
        HeadPrediction { label: "high".into(), score: 0.6, band: Band::Medium, abstained: false, top: Vec::new(), recalled }
    }

    #[test]
    fn a_recalled_label_names_its_ticket_and_an_unrecalled_one_says_nothing() {
        let recalled = prediction(Some(Recalled { ticket: "T-9".into(), similarity: 0.8 }));
        assert_eq!(recalled.recalled_note(), ", like past ticket T-9");
        let json = serde_json::to_value(&recalled).expect("serialises");
        assert_eq!(json["recalled"]["ticket"], "T-9");
        let plain = prediction(None);
        assert_eq!(plain.recalled_note(), "");
        assert!(serde_json::to_value(&plain).expect("serialises").get("recalled").is_none(), "no `recalled` key without recall");
    }
}

/// What the model says of one ticket, as the policy reads it: the heads' predictions and,
/// when the model carries a sentence encoder, the text's unit-length embedding.
#[derive(Debug, Clone, Copy)]
pub struct ModelOutput<'a> {
    pub predictions: &'a Predictions,
    pub embedding: Option<&'a [f32]>,
    /// The probability that the ticket is severe by meaning (`model::severity_probe`).
    pub severe_by_meaning: Option<f32>,
}

impl<'a> ModelOutput<'a> {
    /// Predictions alone (a model without an encoder).
    pub fn of(predictions: &'a Predictions) -> Self {
        Self { predictions, embedding: None, severe_by_meaning: None }
    }
}
