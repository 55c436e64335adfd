//! Single-ticket prediction latency of the committed default model (or TRIAGE_BENCH_MODEL), next to its parts
//! (tokenize + featurize alone), prediction with evidence (`analyse`, what the server runs)
//! and a batch of 32 per ticket; and the policy's decision for one ticket (severity, impact,
//! matrix, rules, review, SLA) under the default policy and under the policy before severity
//! signals (`bench/baseline-policy.toml`), all in one criterion run; and, given an encoder
//! bundle, prediction with the sentence encoder.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use triage::model::{Classifier, EmbeddingEvidence};
use triage::prediction::ModelOutput;
use triage::ticket::TicketRequest;

const TICKET: &str = "Checkout down\nSince 9:00 every payment fails with error 502 for all our users. \
We lose orders every minute, please escalate. Order 48213, account ops@example.com.";

/// Threads as `triage serve` runs them unless told otherwise: candle reads its setting once,
/// before the first model loads, so every group calls this first.
fn as_served() {
    triage::model::compute::set_model_threads(triage::model::compute::DEFAULT_MODEL_THREADS);
}

/// The bundle measured: TRIAGE_BENCH_MODEL, else the committed default.
fn bench_model() -> PathBuf {
    std::env::var_os("TRIAGE_BENCH_MODEL")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default"), PathBuf::from)
}

fn prediction(c: &mut Criterion) {
    as_served();
    let classifier = Classifier::load(&bench_model()).expect("the model loads");
    c.bench_function("featurize_only", |b| b.iter(|| classifier.features(TICKET).expect("features")));
    c.bench_function("predict_single_ticket", |b| b.iter(|| classifier.predict(&[TICKET]).expect("predict")));
    let body_start = TICKET.find('\n').map_or(0, |i| TICKET[..i].chars().count() + 1);
    c.bench_function("analyse_single_ticket", |b| b.iter(|| classifier.analyse(&[(TICKET, body_start)]).expect("analyse")));
    let batch = vec![TICKET; 32];
    c.bench_function("predict_batch_32", |b| b.iter(|| classifier.predict(&batch).expect("predict")));
}

fn decision(c: &mut Criterion) {
    as_served();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let classifier = Classifier::load(&bench_model()).expect("the model loads");
    let (subject, body) = TICKET.split_once('\n').expect("subject and body");
    let request = TicketRequest { subject: Some(subject.into()), body: Some(body.into()), ..TicketRequest::default() };
    let ticket = request.validate().expect("a valid ticket");
    let (text, body_start) = ticket.model_input();
    let predictions = classifier.analyse(&[(text.as_str(), body_start)]).expect("analyse").remove(0).predictions;
    let now = chrono::Utc::now();
    for (name, path) in [("default_policy", "config/policy.toml"), ("baseline_policy", "bench/baseline-policy.toml")] {
        let policy = triage::policy_file::load(&root.join(path)).expect("the policy loads");
        c.bench_function(&format!("decide_single_ticket/{name}"), |b| {
            b.iter(|| triage::policy::decide(&ticket, ModelOutput::of(&predictions), 1, &policy, now))
        });
    }
}

/// The same ticket through a bundle that carries the sentence encoder (`bench/encoder.sh`
/// builds one and passes it as TRIAGE_ENCODER_MODEL; without it these are not run).
fn encoder(c: &mut Criterion) {
    as_served();
    let Some(model) = std::env::var_os("TRIAGE_ENCODER_MODEL") else { return };
    let classifier = Classifier::load(Path::new(&model)).expect("the encoder bundle loads");
    let body_start = TICKET.find('\n').map_or(0, |i| TICKET[..i].chars().count() + 1);
    c.bench_function("analyse_single_ticket_with_encoder", |b| {
        b.iter(|| classifier.analyse(&[(TICKET, body_start)]).expect("analyse"))
    });
    let batch = vec![(TICKET, body_start); 16];
    c.bench_function("analyse_batch_16_with_encoder", |b| b.iter(|| classifier.analyse(&batch).expect("analyse")));
    // What `--occlusion-evidence` adds: an encoder pass per phrase of the heads that read it.
    c.bench_function("analyse_single_ticket_with_encoder_and_occlusion", |b| {
        b.iter(|| classifier.analyse_with(&[(TICKET, body_start)], EmbeddingEvidence::Occlusion).expect("analyse"))
    });
}

criterion_group!(benches, prediction, decision, encoder);
criterion_main!(benches);
