//! `triage-train`: fits the triage text model on labeled ticket history and writes a model
//! bundle (`train`), or scores an existing bundle on labeled data (`eval`). Parses the flags
//! and hands them to the library (`triage_training::cli`), where everything else lives.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    triage_training::cli::run(triage_training::cli::Cli::parse())
}
