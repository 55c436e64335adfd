//! The classify response of the HTTP contract (DESIGN.md) and its assembly from a validated
//! ticket and the model's predictions. Shared by the server and `triage classify` so both
//! answer in exactly the same shape. No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Classifier, Predictions};
use crate::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
}

/// A phrase of the ticket that pushed a head's prediction, with its signed weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub text: String,
    pub weight: f32,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Explanation {
    pub summary: String,
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    pub rules: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifyResponse {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub priority: Option<serde_json::Value>,
    pub sla: Option<serde_json::Value>,
    pub queue: Option<String>,
    pub predictions: Predictions,
    pub explanation: Explanation,
    pub needs_review: bool,
    pub model: ModelRef,
    pub policy: Option<serde_json::Value>,
}

fn summary(predictions: &Predictions) -> String {
    predictions
        .iter()
        .map(|(head, p)| {
            let abstained = if p.abstained { ", abstained" } else { "" };
            format!("model {head} {} ({:.2}{abstained})", p.label, p.score)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The response for one ticket. `decision_id` is supplied by the caller so that this stays
/// deterministic.
pub fn assemble(decision_id: String, ticket: &Ticket, predictions: Predictions, model: &Classifier) -> ClassifyResponse {
    let needs_review = predictions.values().any(|p| p.abstained);
    ClassifyResponse {
        decision_id,
        ticket_id: ticket.id.clone(),
        priority: None,
        sla: None,
        queue: None,
        explanation: Explanation { summary: summary(&predictions), ..Explanation::default() },
        predictions,
        needs_review,
        model: ModelRef { name: model.name().to_string(), version: model.version().to_string() },
        policy: None,
    }
}
