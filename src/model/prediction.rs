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
}

/// Predictions keyed by head name (`urgency`, `sentiment`, `category`, or whatever heads the
/// bundle's manifest declares).
pub type Predictions = BTreeMap<String, HeadPrediction>;
