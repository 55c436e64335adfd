//! The decision log's own write rate, without the model: one real classify response (the
//! committed default model and policy on one ticket) logged again and again under fresh
//! decision ids, in groups of 1, 8, 32 and 128 records per commit (what group commit gathers
//! from concurrent requests), through `DecisionLog` on SQLite and, when TRIAGE_BENCH_PG_URL
//! names a database (`bench/shared_log.sh` starts one), on PostgreSQL. Criterion reports
//! records per second. The peer `sqlite-without-facts` is the same SQLite log with the
//! triggers that copy each decision's report facts dropped: what that copy costs a write.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use triage::classify::{classify_now, ClassifyResponse};
use triage::model::Classifier;
use triage::model::EmbeddingEvidence;
use triage::store::{DecisionLog, DecisionRecord, DecisionStore, Location};
use triage::ticket::{Ticket, TicketRequest};

fn response() -> (Ticket, ClassifyResponse) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let classifier = Classifier::load(&root.join("models/default")).expect("the committed default model loads");
    let policy = triage::policy_file::load(&root.join("config/policy.toml")).expect("the default policy loads");
    let request = TicketRequest {
        subject: Some("Checkout down".into()),
        body: Some("Since 9:00 every payment fails with error 502 for all our users.".into()),
        ..TicketRequest::default()
    };
    let ticket = request.validate().expect("a valid ticket");
    let response = classify_now(&classifier, &policy, &[&ticket], chrono::Utc::now(), EmbeddingEvidence::Shares)
        .expect("classify")
        .remove(0);
    (ticket, response)
}

fn records(ticket: &Ticket, response: &ClassifyResponse, count: usize) -> Vec<DecisionRecord> {
    (0..count)
        .map(|_| {
            let fresh = ClassifyResponse { decision_id: uuid::Uuid::new_v4().to_string(), ..response.clone() };
            DecisionRecord::new(ticket, &fresh, chrono::Utc::now()).expect("encodes")
        })
        .collect()
}

fn write_rate(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (ticket, response) = response();
    let dir = tempfile::tempdir().expect("tempdir");
    let without_facts = dir.path().join("without-facts.db");
    let mut engines = vec![
        ("sqlite", Location::Sqlite(dir.path().join("decisions.db"))),
        ("sqlite-without-facts", Location::Sqlite(without_facts.clone())),
    ];
    if let Ok(url) = std::env::var("TRIAGE_BENCH_PG_URL") {
        engines.push(("postgres", Location::Postgres(url)));
    }
    for (engine, location) in engines {
        let log = runtime.block_on(async {
            let store = DecisionStore::open(&location).await.expect("the log opens");
            if location == Location::Sqlite(without_facts.clone()) {
                rusqlite::Connection::open(&without_facts)
                    .and_then(|c| c.execute_batch("DROP TRIGGER decision_facts_on_insert; DROP TRIGGER decision_facts_on_event;"))
                    .expect("the triggers drop");
            }
            DecisionLog::start(&store, 1024).expect("the writer starts")
        });
        let mut group = c.benchmark_group(format!("decision_log_write/{engine}"));
        for size in [1, 8, 32, 128] {
            group.throughput(Throughput::Elements(size as u64));
            group.bench_function(format!("{size}_per_commit"), |b| {
                b.iter_batched(
                    || records(&ticket, &response, size),
                    |batch| runtime.block_on(log.record(batch)).expect("committed"),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = write_rate
}
criterion_main!(benches);
