//! triage: support-ticket prioritisation.
//!
//! # Data flow
//! A helpdesk posts a ticket (`ticket`: parsed and validated once). The text model (`model`)
//! reads subject and body through the trained tokenizer (`text`) and predicts urgency,
//! sentiment and category with calibrated scores. The policy engine (`policy`, with SLA
//! clocks from `sla`) merges those with the customer's plan, VIP flag, custom fields and
//! rules into a final priority, SLA due times, a queue and a trace. The classify use case
//! (`classify`) turns that into the response shape of the HTTP contract, for the server
//! (`server`) and the command line alike. ARCHITECTURE.md walks one ticket and one training run
//! through the modules.
//!
//! # Layout
//! - `ticket`: the request types and their validation
//! - `text`: normalisation and the tokenizer
//! - `prediction`: what the model says per head (plain data the model, the policy and the
//!   response share, so neither of the first two reaches into the other)
//! - `model`: features, the model kinds (sparse-linear heads, the sentence encoder),
//!   calibration, bundles, the nearest-ticket memory, the worker thread
//! - `explain`: evidence phrases from the sparse-linear heads' exact per-feature shares
//! - `policy`, `sla`: the pure decision engine and business-hours clocks
//! - `policy_file`: reading a policy file from disk
//! - `priority_check`: agreement, dangerous misses, over-escalation and review rate of final
//!   priorities against a labeled set (`triage check-priorities`)
//! - `registry`: stores of model bundles and policies, the active version and its history
//! - `replay`: logged tickets decided again under a candidate policy, and what would change
//! - `report`: volume, SLA, satisfaction, agreement, escalation, review and rule tables over
//!   the decision log (`triage report`)
//! - `classify`: the use case: request -> ticket -> predictions -> decision -> response
//! - `clusters`: repeat issues, tickets about the same problem grouped as they arrive
//! - `events`: what happened to a ticket after its decision, the rules events follow, and the
//!   SLA state they imply
//! - `sparse_vector`: unit sparse vectors and their dot product
//! - `store`: the decision log, reviewer feedback and ticket events (SQLite)
//! - `server`: the axum router and handlers

pub mod classify;
pub mod clusters;
pub mod events;
pub mod explain;
pub mod model;
pub mod policy;
pub mod policy_file;
pub mod prediction;
pub mod priority_check;
pub mod registry;
pub mod replay;
pub mod report;
pub mod server;
pub mod sla;
pub mod sparse_vector;
pub mod store;
pub mod text;
pub mod ticket;
