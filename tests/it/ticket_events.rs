//! What happened after a decision, through the HTTP API: the helpdesk posts a ticket's events,
//! a retry changes nothing, a bad event is refused with the field named and changes nothing,
//! and the decision then shows its SLA state (first response met, resolution paused while the
//! ticket waited on the customer, the queue after a reassignment).

use axum::body::Body;
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use triage::server::auth::Auth;
use triage::server::{AppState, ServerConfig};

use crate::common::app_state;

async fn call(state: &AppState, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
    crate::common::call(state, method, uri, body).await
}

/// Monday 2026-11-23 in Berlin, where the default policy's standard plan keeps office hours.
fn monday(hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 11, 23, hour, minute, 0).unwrap().with_timezone(&Utc)
}

fn event(id: &str, at: DateTime<Utc>, kind: Value) -> Value {
    let mut event = json!({"event_id": id, "at": at.to_rfc3339(), "actor": "ana"});
    event.as_object_mut().expect("object").extend(kind.as_object().expect("object").clone());
    event
}

#[tokio::test]
async fn events_give_the_decision_its_sla_state_and_bad_ones_change_nothing() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let ticket = json!({
        "id": "E-1", "subject": "Export fails", "body": "The CSV export shows an error since this morning.",
        "created_at": monday(10, 0).to_rfc3339(), "customer": {"plan": "standard"}
    });
    let (status, decision) = call(&state, "POST", "/v1/classify", ticket).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    let id = decision["decision_id"].as_str().expect("id").to_string();
    let events_uri = format!("/v1/decisions/{id}/events");

    let answered = event("e1", monday(10, 30), json!({"kind": "first_response"}));
    let (status, body) = call(&state, "POST", &events_uri, answered.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = call(&state, "POST", &events_uri, answered).await;
    assert_eq!(status, StatusCode::OK, "the same event again is a retry");
    for (id_, at, kind) in [
        ("e2", monday(11, 0), json!({"kind": "waiting_on_customer"})),
        ("e3", monday(13, 0), json!({"kind": "resumed"})),
        ("e4", monday(13, 30), json!({"kind": "reassigned", "queue": "billing"})),
    ] {
        let (status, body) = call(&state, "POST", &events_uri, event(id_, at, kind)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let refused = [
        (event("e5", monday(12, 0), json!({"kind": "solved"})), StatusCode::UNPROCESSABLE_ENTITY, Some("at")),
        (event("e5", monday(14, 0), json!({"kind": "resumed"})), StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        (
            event("e5", monday(14, 0), json!({"kind": "priority_changed", "priority": "P9"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("priority"),
        ),
        (event("e5", monday(14, 0), json!({"kind": "teleported"})), StatusCode::UNPROCESSABLE_ENTITY, None),
        (event("e1", monday(14, 0), json!({"kind": "solved"})), StatusCode::CONFLICT, None),
    ];
    for (body, expected, field) in refused {
        let (status, answer) = call(&state, "POST", &events_uri, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
    }
    let (status, _) =
        call(&state, "POST", "/v1/decisions/nope/events", event("x", monday(14, 0), json!({"kind": "solved"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, stored) = call(&state, "GET", &format!("/v1/decisions/{id}"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["events"].as_array().map(Vec::len), Some(4), "refused events left nothing: {}", stored["events"]);
    let sla = &stored["sla_state"];
    assert_eq!(sla["status"], "open", "{sla}");
    assert_eq!(sla["queue"], "billing");
    let first = &sla["first_response"];
    assert_eq!((first["used_seconds"].as_i64(), first["met"].as_bool()), (Some(1800), Some(true)), "{first}");
    let resolution = &sla["resolution"];
    assert_eq!(resolution["paused_seconds"], 2 * 3600, "waiting 11:00-13:00 did not count: {resolution}");
    assert!(resolution["met"].is_null(), "still running: {resolution}");
}

#[tokio::test]
async fn a_queue_is_worked_by_level_then_due_time_skipping_waiting_and_solved_tickets() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let decide = |id: &str, subject: &str, body: &str| json!({"id": id, "subject": subject, "body": body, "created_at": monday(10, 0).to_rfc3339(), "customer": {"plan": "standard"}});
    let mut decisions = Vec::new();
    for (id, subject, body) in [
        ("Q-1", "Question about invoices", "Where can I download last month's invoice?"),
        ("Q-2", "Export fails", "The CSV export shows an error since this morning."),
        ("Q-3", "Another question", "How do I change the invoice address?"),
        ("Q-4", "Parked", "The export fails for one report."),
    ] {
        let (status, decision) = call(&state, "POST", "/v1/classify", decide(id, subject, body)).await;
        assert_eq!(status, StatusCode::OK, "{decision}");
        decisions.push(decision);
    }
    let id = |i: usize| decisions[i]["decision_id"].as_str().expect("id").to_string();
    // Everything goes to one queue; Q-3 is raised to P1 by a person, Q-4 waits on the customer,
    // Q-1 is solved.
    for i in 0..4 {
        let moved = event("move", monday(10, 5), json!({"kind": "reassigned", "queue": "team-a"}));
        assert_eq!(call(&state, "POST", &format!("/v1/decisions/{}/events", id(i)), moved).await.0, StatusCode::CREATED);
    }
    for (i, kind) in [
        (2, json!({"kind": "priority_changed", "priority": "P1"})),
        (3, json!({"kind": "waiting_on_customer"})),
        (0, json!({"kind": "solved"})),
    ] {
        let (status, body) =
            call(&state, "POST", &format!("/v1/decisions/{}/events", id(i)), event("then", monday(10, 10), kind)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, list) = call(&state, "GET", "/v1/queues/team-a", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let order: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|i| i["decision_id"].as_str()).collect();
    assert_eq!(order, [id(2), id(1)], "the P1 first; the waiting and the solved tickets are left out: {list}");
    assert_eq!(list["items"][0]["priority"], "P1");
    let (status, next) = call(&state, "GET", "/v1/queues/team-a/next", Value::Null).await;
    assert_eq!((status, next["decision_id"].as_str()), (StatusCode::OK, Some(id(2).as_str())));
    let (status, _) = call(&state, "GET", "/v1/queues/nobody-here/next", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = call(&state, "GET", "/v1/queues/team-a?limit=0", Value::Null).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")));
    let (status, error) = call(&state, "GET", "/v1/queues/team-a?limit=many", Value::Null).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("query")), "{error}");
}

#[tokio::test]
async fn a_repeated_report_joins_the_first_ones_cluster_and_an_unrelated_ticket_does_not() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let outage = |who: &str| json!({"subject": "Checkout down", "body": format!("Since 9:00 every payment fails with error 502 on checkout. Customer {who}.")});
    let (_, first) = call(&state, "POST", "/v1/classify", outage("A")).await;
    assert!(first.get("cluster").is_none(), "the first report starts nothing visible: {first}");
    let (_, unrelated) = call(&state, "POST", "/v1/classify", json!({"body": "How do I change my invoice address?"})).await;
    assert!(unrelated.get("cluster").is_none(), "{unrelated}");
    let (_, second) = call(&state, "POST", "/v1/classify", outage("B")).await;
    let (_, third) = call(&state, "POST", "/v1/classify", outage("C")).await;
    assert_eq!(second["cluster"]["id"], first["decision_id"], "{second}");
    assert_eq!((third["cluster"]["id"].clone(), third["cluster"]["size"].as_u64()), (first["decision_id"].clone(), Some(3)));
}
