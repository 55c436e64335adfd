//! triage: support-ticket prioritisation.
//!
//! # Data flow
//! A helpdesk posts a ticket (`ticket`: parsed and validated once). The text model (`model`)
//! reads subject and body through the trained tokenizer (`text`) and predicts urgency,
//! sentiment and category with calibrated scores. The policy engine (`policy`, with SLA
//! clocks from `sla`) merges those with the customer's plan, VIP flag, custom fields and
//! rules into a final priority, SLA due times, a queue and a trace. The server (`server`) or
//! the `triage classify` command turns that into the response shape of the HTTP contract.
//!
//! # Layout
//! - `ticket`: the request types and their validation
//! - `text`: normalisation and the tokenizer
//! - `model`: features, the candle network, calibration, bundles, the worker thread
//! - `explain`: evidence phrases from the network's exact per-feature shares
//! - `policy`, `sla`: the pure decision engine and business-hours clocks
//! - `policy_file`: reading a policy file from disk
//! - `priority_check`: agreement, dangerous misses, over-escalation and review rate of final
//!   priorities against a labeled set (`triage check-priorities`)
//! - `response`: the classify response and how it is assembled from its parts
//! - `store`: the decision log and reviewer feedback (SQLite)
//! - `server`: the axum router and handlers

pub mod explain;
pub mod model;
pub mod policy;
pub mod policy_file;
pub mod priority_check;
pub mod response;
pub mod server;
pub mod sla;
pub mod store;
pub mod text;
pub mod ticket;
