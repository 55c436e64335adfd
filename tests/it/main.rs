//! The one integration-test crate (each test binary links candle, so there is only one).
//! Tests run against the committed default model: the real one, not a mock.

mod bundle;
mod check_policy_cli;
mod classify_cli;
mod common;
mod encoder_reference;
mod pg;
mod priorities;
mod process;
mod replay;
mod reports;
mod review_api;
mod review_page;
mod server;
mod server_ops;
mod shared_log;
mod ticket_events;
