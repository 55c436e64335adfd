//! triage: support-ticket prioritisation.
//!
//! # Data flow
//! A helpdesk posts a ticket (`ticket`: parsed and validated once). The text model (`model`)
//! reads subject and body through the trained tokenizer (`text`) and predicts urgency,
//! sentiment and category with calibrated scores. The server (`server`) or the `triage
//! classify` command turns that into the response shape of the HTTP contract.
//!
//! # Layout
//! - `ticket`: the request types and their validation
//! - `text`: normalisation and the tokenizer
//! - `model`: features, the candle network, calibration, bundles, the worker thread
//! - `response`: the classify response and how it is assembled from its parts
//! - `server`: the axum router and handlers

pub mod model;
pub mod response;
pub mod server;
pub mod text;
pub mod ticket;
