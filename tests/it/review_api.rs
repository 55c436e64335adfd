//! The review API over the decision log: every classify decision is logged and can be listed,
//! read and corrected (versioned); and nothing acknowledged is lost when the server is killed.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{json, Value};
use triage::server::auth::Auth;
use triage::server::{AppState, ServerConfig};
use triage::store::sqlite::SqliteStore;

use crate::common::app_state;
use crate::process::{answer, ServerProcess};

async fn call(state: &AppState, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
    let (status, value) = crate::common::call(state, method, uri, body).await;
    (status, if value.is_string() { Value::Null } else { value })
}

async fn classify(state: &AppState, ticket: Value) -> Value {
    let (status, body) = call(state, "POST", "/v1/classify", ticket).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn decisions_are_logged_listed_read_and_corrected_in_versions() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let first = classify(&state, json!({"id": "R-1", "subject": "Invoice", "body": "please send the invoice again"})).await;
    let second = classify(&state, json!({"id": "R-2", "subject": "Outage", "body": "site down for all users"})).await;

    let (status, page) = call(&state, "GET", "/v1/decisions?limit=10", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<&str> =
        page["items"].as_array().expect("items").iter().map(|i| i["decision_id"].as_str().expect("id")).collect();
    assert_eq!(ids, [second["decision_id"].as_str().expect("id"), first["decision_id"].as_str().expect("id")], "newest first");
    assert_eq!(page["items"][0]["subject"], "Outage");
    assert_eq!(page["items"][0]["priority"], second["priority"]["level"]);

    let (_, one_page) = call(&state, "GET", "/v1/decisions?limit=1", Value::Null).await;
    let cursor = one_page["next"].as_str().expect("a next cursor");
    let (_, rest) = call(&state, "GET", &format!("/v1/decisions?limit=1&before={cursor}"), Value::Null).await;
    assert_eq!(rest["items"][0]["decision_id"], first["decision_id"]);
    assert!(rest["next"].is_null());

    let id = first["decision_id"].as_str().expect("id");
    let (status, stored) = call(&state, "GET", &format!("/v1/decisions/{id}"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["request"]["body"], "please send the invoice again");
    assert_eq!(stored["response"], first, "the logged response is the one answered");

    let (_, labels) = call(&state, "GET", "/v1/labels", Value::Null).await;
    let category = labels["heads"]["category"][0].as_str().expect("a category label");
    let level = labels["priorities"][0]["level"].as_str().expect("a level");
    let correction = json!({"reviewer": "ana", "category": category, "priority": level, "note": "billing, not tech"});
    let (status, v1) = call(&state, "POST", &format!("/v1/decisions/{id}/feedback"), correction).await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(v1["version"], 1);
    let (_, v2) = call(&state, "POST", &format!("/v1/decisions/{id}/feedback"), json!({"reviewer": "bo", "note": "agree"})).await;
    assert_eq!(v2["version"], 2);
    let (_, stored) = call(&state, "GET", &format!("/v1/decisions/{id}"), Value::Null).await;
    let versions = stored["feedback"].as_array().expect("feedback");
    assert_eq!(versions.len(), 2, "nothing overwritten");
    assert_eq!(versions[0]["category"], category);
    assert_eq!(versions[1]["reviewer"], "bo");
}

#[tokio::test]
async fn bad_review_requests_name_the_field() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let decision = classify(&state, json!({"body": "where is my refund"})).await;
    let feedback = format!("/v1/decisions/{}/feedback", decision["decision_id"].as_str().expect("id"));
    let cases = [
        (json!({"note": "no name"}), "reviewer"),
        (json!({"reviewer": "ana", "category": "no-such-queue"}), "category"),
        (json!({"reviewer": "ana", "categroy": "billing"}), "categroy"),
        (json!({"reviewer": "ana", "urgency": 3}), "urgency"),
        (json!({"reviewer": "ana", "priority": "P9"}), "priority"),
        (json!({"reviewer": "ana"}), "note"),
    ];
    for (body, field) in cases {
        let (status, answer) = call(&state, "POST", &feedback, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = call(&state, "POST", "/v1/decisions/nope/feedback", json!({"reviewer": "a", "note": "b"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["error"]["code"], "not_found");
    let (status, _) = call(&state, "GET", "/v1/decisions/nope", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for query in ["limit=0", "limit=many", "since=yesterday", "before=garbage", "needs_review=maybe"] {
        let (status, answer) = call(&state, "GET", &format!("/v1/decisions?{query}"), Value::Null).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {answer}");
        assert!(answer["error"]["field"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn the_review_queue_holds_flagged_decisions_until_reviewed() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let mut flagged = None;
    for body in ["hmm", "not sure what happened", "question about something", "hello there"] {
        let decision = classify(&state, json!({ "body": body })).await;
        if decision["needs_review"] == true {
            flagged = Some(decision);
        }
    }
    let flagged = flagged.expect("the default policy flags a vague ticket for review");
    let id = flagged["decision_id"].as_str().expect("id");
    let queue_ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().expect("items").iter().map(|i| i["decision_id"].as_str().expect("id").to_string()).collect()
    };
    let (_, queue) = call(&state, "GET", "/v1/decisions?needs_review=true", Value::Null).await;
    assert!(queue_ids(&queue).contains(&id.to_string()));
    assert!(queue["items"].as_array().expect("items").iter().all(|i| i["needs_review"] == true && i["reviewed"] == false));
    let (status, _) =
        call(&state, "POST", &format!("/v1/decisions/{id}/feedback"), json!({"reviewer": "ana", "note": "fine as is"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, queue) = call(&state, "GET", "/v1/decisions?needs_review=true", Value::Null).await;
    assert!(!queue_ids(&queue).contains(&id.to_string()), "a reviewed decision leaves the queue");
}

#[test]
fn sigkill_right_after_answers_loses_no_acknowledged_decision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("decisions.db");
    let server = ServerProcess::start(&db, &[]);
    let streams: Vec<_> = (0..48)
        .map(|i| {
            server.post("/v1/classify", &json!({"id": format!("K-{i}"), "body": format!("order {i} never arrived")}).to_string())
        })
        .collect();
    let mut acknowledged = Vec::new();
    for stream in streams {
        let (status, body) = answer(stream);
        if status == 200 {
            acknowledged.push(body["decision_id"].as_str().expect("decision_id").to_string());
        }
    }
    server.signal("-KILL");
    drop(server);
    assert!(acknowledged.len() >= 40, "most of the burst was answered: {}", acknowledged.len());
    let store = SqliteStore::open(&db).expect("the log reopens after SIGKILL");
    for id in &acknowledged {
        assert!(store.get(id).expect("readable").is_some(), "acknowledged decision {id} was lost");
    }
}
