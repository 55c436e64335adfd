//! Fixtures for the store's tests: a log in a temporary directory and decisions built through
//! `DecisionRecord::new`, the constructor the server uses. Test-only; no assertions here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::records::parse_time;
use super::sqlite::SqliteStore;
use super::DecisionRecord;
use crate::classify::{ClassifyResponse, Explanation, ModelRef, PolicyRef};
use crate::policy::{PriorityRef, SlaDue, TraceStep};

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    parse_time(text).expect("test times are RFC 3339")
}

/// A log at `<dir>/decisions.db`; keep the directory alive as long as the store.
pub(crate) fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("decisions.db")).expect("open a fresh log");
    (dir, store)
}

/// A decision for ticket `T-<id>` with the given outcome.
pub(crate) fn record(id: &str, decided_at: &str, priority: &str, queue: &str, needs_review: bool) -> DecisionRecord {
    let decided_at = at(decided_at);
    let request = json!({
        "id": format!("T-{id}"),
        "subject": format!("Checkout down {id}"),
        "body": "Every payment fails since 9:00",
        "language": "en",
        "customer": {"id": "c-42", "plan": "enterprise", "vip": true},
    });
    let response = ClassifyResponse {
        decision_id: id.into(),
        ticket_id: Some(format!("T-{id}")),
        priority: PriorityRef { level: priority.into(), name: format!("level {priority}") },
        sla: SlaDue {
            policy: "enterprise".into(),
            calendar: "eu-business".into(),
            started_at: decided_at,
            first_response_due: None,
            next_response_due: None,
            resolution_due: None,
        },
        queue: queue.into(),
        tags: vec![],
        predictions: BTreeMap::new(),
        explanation: Explanation {
            summary: format!("{priority}: test decision"),
            evidence: BTreeMap::new(),
            rules: vec![TraceStep {
                rule: "vip-raise".into(),
                matched: "customer.vip = true".into(),
                effect: Some("P2 -> P1".into()),
                hit: true,
            }],
        },
        needs_review,
        model: ModelRef { name: "default".into(), version: "m-1".into() },
        policy: PolicyRef { version: "p-1".into() },
        cluster: None,
    };
    DecisionRecord::new(&request, &response, decided_at).expect("test decisions encode")
}
