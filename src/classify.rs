//! The classify use case, in one place for the server, `triage classify`, `triage
//! check-priorities` and the reload trial: a request read into a validated ticket (or the
//! contract's error naming the field), the model's predictions and evidence, the policy's
//! decision, and the response of the HTTP contract (DESIGN.md) assembled from them. The server
//! runs the model on its worker thread and logs the decision; the others call `classify_now`.
//! No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use serde::de::DeserializeOwned;

use crate::clusters::ClusterRef;
use crate::explain::Evidence;
use crate::model::{Analysis, Classifier, EmbeddingEvidence, HeadPrediction, ModelError, Predictions};
use crate::policy::{decide, Decision, Policy, PriorityRef, SlaDue, TraceStep};
use crate::prediction::ModelOutput;
use crate::ticket::{Ticket, TicketError, TicketRequest};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
}

impl ModelRef {
    pub fn of(classifier: &Classifier) -> Self {
        Self { name: classifier.name().to_string(), version: classifier.version().to_string() }
    }
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
    /// The recent cluster this ticket joined (tickets about the same problem), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterRef>,
}

/// What one classification used: the model's name and version, the policy, and the time it
/// ran at.
pub struct DecisionContext<'a> {
    pub model: ModelRef,
    pub policy: &'a Policy,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The response for one ticket. `decision_id` and `now` come from the caller so that this
/// stays deterministic; `cluster` is the recent repeat-issue cluster the ticket joined, if any.
pub fn assemble(
    decision_id: String,
    ticket: &Ticket,
    analysis: Analysis,
    cluster: Option<ClusterRef>,
    context: &DecisionContext,
) -> ClassifyResponse {
    let Analysis { predictions, mut evidence, embedding, severe_by_meaning, .. } = analysis;
    let model = ModelOutput { predictions: &predictions, embedding: embedding.as_deref(), severe_by_meaning };
    let cluster_size = cluster.as_ref().map_or(1, |c| c.size);
    let Decision { priority, evidence: policy_evidence, sla, queue, tags, needs_review, trace, summary } =
        decide(ticket, model, cluster_size, context.policy, context.now);
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
        model: context.model.clone(),
        policy: PolicyRef { version: context.policy.version().to_string() },
        cluster,
    }
}

/// `policy` made ready to decide on `classifier`'s output: when the model carries a sentence
/// encoder, the level examples are embedded with it once, here, so each ticket's embedding
/// is compared with them by meaning. Every place that pairs a model with a policy calls this.
pub fn policy_for(classifier: &Classifier, mut policy: Policy) -> Result<Policy, ModelError> {
    if let Some(encoder) = classifier.encoder() {
        policy.embed_examples(|texts| encoder.embed(texts))?;
    }
    Ok(policy)
}

/// Why a request is not a ticket: not JSON at all, or a value that is wrong (named by its
/// path, e.g. `customer.vip` or `tickets[3].body`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl From<TicketError> for RequestError {
    fn from(e: TicketError) -> Self {
        RequestError::Invalid { field: e.field, message: e.message }
    }
}

/// Parses JSON, telling a syntax error from a value of the wrong type (named by its path).
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            RequestError::MalformedJson(inner.to_string())
        } else {
            RequestError::Invalid { field, message: inner.to_string() }
        }
    })
}

/// One classify request body as a validated ticket.
pub fn read_ticket(body: &[u8]) -> Result<Ticket, RequestError> {
    Ok(parse_request::<TicketRequest>(body)?.validate()?)
}

/// Tickets run through the network at once by `classify_now`: large inputs go in bounded
/// passes.
const CHUNK: usize = 256;

/// Classifies tickets on the calling thread: the model, then the policy, one response per
/// ticket in order, each with a fresh decision id.
pub fn classify_now(
    classifier: &Classifier,
    policy: &Policy,
    tickets: &[&Ticket],
    now: chrono::DateTime<chrono::Utc>,
    evidence: EmbeddingEvidence,
) -> Result<Vec<ClassifyResponse>, ModelError> {
    let context = DecisionContext { model: ModelRef::of(classifier), policy, now };
    let mut responses = Vec::with_capacity(tickets.len());
    for chunk in tickets.chunks(CHUNK) {
        let owned: Vec<(String, usize)> = chunk.iter().map(|t| t.model_input()).collect();
        let inputs: Vec<(&str, usize)> = owned.iter().map(|(text, body_start)| (text.as_str(), *body_start)).collect();
        let analyses = classifier.analyse_with(&inputs, evidence)?;
        for (ticket, analysis) in chunk.iter().zip(analyses) {
            responses.push(assemble(uuid::Uuid::new_v4().to_string(), ticket, analysis, None, &context));
        }
    }
    Ok(responses)
}
