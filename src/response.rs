//! The classify response of the HTTP contract (DESIGN.md) and its assembly from a validated
//! ticket, the model's predictions and the policy's decision. Shared by the server and
//! `triage classify` so both answer in exactly the same shape. No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Classifier, Predictions};
use crate::policy::{decide, Decision, Policy, PriorityRef, SlaDue, TraceStep};
use crate::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRef {
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub summary: String,
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    /// Every step the policy considered, in order; `hit` tells which ones matched.
    pub rules: Vec<TraceStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifyResponse {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub priority: PriorityRef,
    pub sla: SlaDue,
    pub queue: String,
    pub tags: Vec<String>,
    pub predictions: Predictions,
    pub explanation: Explanation,
    pub needs_review: bool,
    pub model: ModelRef,
    pub policy: PolicyRef,
}

/// What one classification used: the model and policy versions and the time it ran at.
pub struct DecisionContext<'a> {
    pub model: &'a Classifier,
    pub policy: &'a Policy,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The response for one ticket. `decision_id` and `now` come from the caller so that this
/// stays deterministic.
pub fn assemble(decision_id: String, ticket: &Ticket, predictions: Predictions, context: &DecisionContext) -> ClassifyResponse {
    let Decision { priority, sla, queue, tags, needs_review, trace, summary } =
        decide(ticket, &predictions, context.policy, context.now);
    ClassifyResponse {
        decision_id,
        ticket_id: ticket.id.clone(),
        priority,
        sla,
        queue,
        tags,
        predictions,
        explanation: Explanation { summary, evidence: BTreeMap::new(), rules: trace },
        needs_review,
        model: ModelRef { name: context.model.name().to_string(), version: context.model.version().to_string() },
        policy: PolicyRef { version: context.policy.version().to_string() },
    }
}
