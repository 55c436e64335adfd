//! triage-training: fits the triage text model on labeled ticket history and writes a model
//! bundle, or scores an existing bundle on labeled data. A library, so its pieces can be tested
//! and reused as the server crate's are; the `triage-train` binary only parses flags into
//! `cli` and runs the command.
//!
//! # Layout
//! - `cli`: the flags of `triage-train train` and `eval`, and the two commands
//! - `data`: polars loading, column mapping, skipped-row report
//! - `embeddings`: the rows' sentence embeddings for heads that read them, with a cache
//! - `train`: the one orchestration: tokenizer, features, each head's fit, memory,
//!   calibration; `linear_fit` fits the logistic-regression heads, `ensemble` the AdamW
//!   network members for the heads left out of `--linear-heads`
//! - `calibrate`: temperature and threshold fitting (pure)
//! - `metrics`: accuracy, F1, confusion, ECE (ndarray, pure)
//! - `eval`: metrics of a classifier on examples, and the printed report
//! - `bundle_writer`, `card`: the bundle directory and its model card
//! - `linear_head`, `one_vs_rest`: the logistic-regression heads (pure numeric)
//! - `minimise`: the L-BFGS they are solved with (pure numeric)
//! - `recall`: from what similarity a head recalls a remembered ticket's label
//! - `sparse_sgd`: the embedding table's optimiser (the `--linear-heads none` path)
//! - `corrections`: reviewers' corrections joined with the labeled history
//! - `faithfulness`, `report`: the evidence deletion test and the `eval --report` page
//! - `severity_probe`, `whitening`: what the bundle's encoder carries besides its weights
//!   (pure numeric)

pub mod bundle_writer;
pub mod calibrate;
pub mod card;
pub mod corrections;
pub mod data;
pub mod embeddings;
pub mod ensemble;
pub mod eval;
pub mod faithfulness;
pub mod linear_fit;
pub mod linear_head;
pub mod metrics;
pub mod minimise;
pub mod one_vs_rest;
pub mod recall;
pub mod report;
pub mod severity_probe;
pub mod sparse_sgd;
pub mod train;
pub mod whitening;

pub mod cli;
