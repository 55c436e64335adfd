//! The classify response of the HTTP contract (DESIGN.md) and its assembly from a validated
//! ticket, the model's predictions and evidence, and the policy's decision. Shared by the server and
//! `triage classify` so both answer in exactly the same shape. No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::explain::Evidence;
use crate::model::{Analysis, Classifier, HeadPrediction, Predictions};
use crate::policy::{decide, Decision, Policy, PriorityRef, SlaDue, TraceStep};
use crate::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PolicyRef {
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub summary: String,
    /// Per head, the phrases that pushed it towards its label (strongest first).
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    /// Every step the policy considered, in order; `hit` tells which ones matched.
    pub rules: Vec<TraceStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClassifyResponse {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub priority: PriorityRef,
    pub sla: SlaDue,
    pub queue: String,
    pub tags: Vec<String>,
    /// Per head (as the bundle's manifest names them): label, calibrated score, band, abstention.
    #[schema(value_type = HashMap<String, HeadPrediction>)]
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
pub fn assemble(decision_id: String, ticket: &Ticket, analysis: Analysis, context: &DecisionContext) -> ClassifyResponse {
    let Analysis { predictions, mut evidence } = analysis;
    let Decision { priority, evidence: policy_evidence, sla, queue, tags, needs_review, trace, summary } =
        decide(ticket, &predictions, context.policy, context.now);
    evidence.extend(policy_evidence);
    ClassifyResponse {
        decision_id,
        ticket_id: ticket.id.clone(),
        priority,
        sla,
        queue,
        tags,
        predictions,
        explanation: Explanation { summary, evidence, rules: trace },
        needs_review,
        model: ModelRef { name: context.model.name().to_string(), version: context.model.version().to_string() },
        policy: PolicyRef { version: context.policy.version().to_string() },
    }
}
