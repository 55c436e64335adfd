//! Single-ticket prediction latency of the committed default model, next to its parts
//! (tokenize + featurize alone), prediction with evidence (`analyse`, what the server runs)
//! and a batch of 32 per ticket, all in one criterion run.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use triage::model::Classifier;

const TICKET: &str = "Checkout down\nSince 9:00 every payment fails with error 502 for all our users. \
We lose orders every minute, please escalate. Order 48213, account ops@example.com.";

fn prediction(c: &mut Criterion) {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let classifier = Classifier::load(&model).expect("the committed default model loads");
    c.bench_function("featurize_only", |b| b.iter(|| classifier.features(TICKET).expect("features")));
    c.bench_function("predict_single_ticket", |b| b.iter(|| classifier.predict(&[TICKET]).expect("predict")));
    let body_start = TICKET.find('\n').map_or(0, |i| TICKET[..i].chars().count() + 1);
    c.bench_function("analyse_single_ticket", |b| b.iter(|| classifier.analyse(&[(TICKET, body_start)]).expect("analyse")));
    let batch = vec![TICKET; 32];
    c.bench_function("predict_batch_32", |b| b.iter(|| classifier.predict(&batch).expect("predict")));
}

criterion_group!(benches, prediction);
criterion_main!(benches);
