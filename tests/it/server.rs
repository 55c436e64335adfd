//! The router, driven with `tower::ServiceExt::oneshot`: the contract's shapes and every
//! error path of the classify routes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;
use triage::model::EmbeddingEvidence;
use triage::server::auth::Auth;
use triage::server::{app, AppState, ServerConfig};

use crate::common::{app_state, call};

fn state_with(config: ServerConfig) -> AppState {
    app_state(config, Auth::Disabled)
}

fn state() -> AppState {
    state_with(ServerConfig { max_batch: 4, max_body_bytes: 64 * 1024, ..ServerConfig::default() })
}

fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn classify_answers_in_the_contract_shape() {
    let state = state();
    let ticket = json!({"id": "T-1", "subject": "Site down", "body": "checkout fails for all users"});
    let (status, body) = call(&state, "POST", "/v1/classify", ticket.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ticket_id"], "T-1");
    assert!(body["decision_id"].as_str().is_some_and(|id| id.len() >= 32));
    assert_eq!(body["model"]["name"], "default");
    for head in ["urgency", "sentiment", "category"] {
        let prediction = &body["predictions"][head];
        let served = state.served.snapshot();
        let labels = &served.classifier.manifest().head(head).expect("head").labels;
        assert!(labels.contains(&prediction["label"].as_str().expect("label").to_string()), "{prediction}");
        let top = prediction["top"].as_array().expect("top");
        assert_eq!(top[0]["label"], prediction["label"]);
        let scores: Vec<f64> = top.iter().map(|t| t["score"].as_f64().expect("score")).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.iter().sum::<f64>() <= 1.0 + 1e-6);
        assert!(["high", "medium", "low"].contains(&prediction["band"].as_str().expect("band")));
        assert!(prediction["abstained"].is_boolean());
    }
}

#[tokio::test]
async fn the_policy_decides_priority_sla_and_queue_and_names_its_version() {
    let state = state();
    let text = "Checkout down: since 9:00 every payment fails for all our customers";
    let vip = json!({"subject": "Outage", "body": text, "created_at": "2026-11-24T09:30:00Z",
                     "customer": {"plan": "enterprise", "vip": true}, "fields": {"affected_users": "many"}});
    let free = json!({"subject": "Outage", "body": text, "created_at": "2026-11-24T09:30:00Z",
                      "customer": {"plan": "free"}, "fields": {"affected_users": "many"}});
    let (status, vip) = call(&state, "POST", "/v1/classify", vip.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{vip}");
    let (_, free) = call(&state, "POST", "/v1/classify", free.to_string()).await;
    let level = |v: &Value| v["priority"]["level"].as_str().expect("level").to_string();
    assert!(level(&vip) <= level(&free), "VIP enterprise {} vs free {}", level(&vip), level(&free));
    assert_eq!(vip["sla"]["policy"], "enterprise");
    assert_eq!(free["sla"]["policy"], "free");
    assert!(vip["sla"]["first_response_due"].as_str().is_some_and(|d| d > "2026-11-24T09:30:00Z"), "{vip}");
    assert!(vip["queue"].as_str().is_some_and(|q| !q.is_empty()));
    assert_eq!(vip["policy"]["version"], state.served.snapshot().policy.version());
    assert!(vip["explanation"]["summary"].as_str().is_some_and(|s| s.starts_with(&level(&vip))), "{vip}");
    let rules = vip["explanation"]["rules"].as_array().expect("rules");
    assert!(rules.iter().all(|r| r["rule"].is_string() && r["matched"].is_string()));
}

#[tokio::test]
async fn evidence_points_at_the_words_of_the_ticket() {
    let state = state();
    let subject = "Checkout down";
    let body = "Since this morning every payment fails for all users. Terrible, we are losing money!";
    let (status, answer) = call(&state, "POST", "/v1/classify", json!({"subject": subject, "body": body}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for head in ["urgency", "sentiment", "category"] {
        let evidence = answer["explanation"]["evidence"][head].as_array().expect("evidence per head");
        assert!(!evidence.is_empty(), "{head}: no evidence");
        let weights: Vec<f64> = evidence.iter().map(|e| e["weight"].as_f64().expect("weight").abs()).collect();
        assert!(weights.windows(2).all(|w| w[0] >= w[1]), "{head}: not strongest first");
        for phrase in evidence {
            let source = if phrase["field"] == "subject" { subject } else { body };
            let (start, end) = (phrase["start"].as_u64().expect("start") as usize, phrase["end"].as_u64().expect("end") as usize);
            let quoted: String = source.chars().skip(start).take(end - start).collect();
            assert_eq!(phrase["text"].as_str(), Some(quoted.as_str()), "{head}: offsets do not match the text");
        }
    }
}

#[tokio::test]
async fn the_model_reads_the_text() {
    let state = state();
    let happy = json!({"body": "Thank you so much, the team was wonderful and fixed it fast. Great service!"});
    let angry = json!({"body": "This is the worst service ever. Furious. Three days and still nobody answers, terrible."});
    let (_, happy) = call(&state, "POST", "/v1/classify", happy.to_string()).await;
    let (_, angry) = call(&state, "POST", "/v1/classify", angry.to_string()).await;
    assert_eq!(happy["predictions"]["sentiment"]["label"], "positive", "{happy}");
    assert_eq!(angry["predictions"]["sentiment"]["label"], "negative", "{angry}");
}

#[tokio::test]
async fn batch_answers_in_order_and_respects_its_limit() {
    let state = state();
    let tickets: Vec<Value> = (0..3).map(|i| json!({"id": format!("B-{i}"), "body": format!("printer {i} broken")})).collect();
    let (status, body) = call(&state, "POST", "/v1/classify/batch", json!({"tickets": tickets}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> =
        body["results"].as_array().expect("results").iter().map(|r| r["ticket_id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["B-0", "B-1", "B-2"]);
    let too_many: Vec<Value> = (0..5).map(|_| json!({"body": "x"})).collect();
    let (status, body) = call(&state, "POST", "/v1/classify/batch", json!({"tickets": too_many}).to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&body, "too_large", None);
    let (status, body) =
        call(&state, "POST", "/v1/classify/batch", json!({"tickets": [{"body": "ok"}, {"subject": " "}]}).to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_field", Some("tickets[1].body"));
}

#[tokio::test]
async fn bad_requests_get_json_errors_naming_the_field() {
    let state = state();
    let cases: Vec<(String, StatusCode, &str, Option<&str>)> = vec![
        ("{not json".into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        (json!({"subject": "", "body": "  "}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("body")),
        (json!({"body": 42}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("body")),
        (
            json!({"body": "x", "customer": {"vip": "yes"}}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            Some("customer.vip"),
        ),
        (
            json!({"body": "x", "created_at": "yesterday"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            Some("created_at"),
        ),
        (
            json!({"body": "x", "fields": {"tags": [1]}}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            Some("fields.tags"),
        ),
        (json!({"body": "x".repeat(100_001)}).to_string(), StatusCode::PAYLOAD_TOO_LARGE, "too_large", None),
    ];
    for (body, status, code, field) in cases {
        let (got, answer) = call(&state, "POST", "/v1/classify", body.clone()).await;
        assert_eq!(got, status, "{}: {answer}", &body[..body.len().min(60)]);
        assert_error(&answer, code, field);
    }
}

#[tokio::test]
async fn text_length_is_limited_by_characters_not_only_by_body_size() {
    let state = state_with(ServerConfig::default());
    let allowed = json!({"body": "the export keeps failing ".repeat(2_000)}).to_string();
    let (status, answer) = call(&state, "POST", "/v1/classify", allowed).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let too_long = json!({"body": "é".repeat(triage::ticket::MAX_TEXT_CHARS + 1)}).to_string();
    let (status, answer) = call(&state, "POST", "/v1/classify", too_long).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_error(&answer, "invalid_field", Some("body"));
}

#[tokio::test]
async fn readyz_names_the_loaded_versions() {
    let state = state();
    let (status, body) = call(&state, "GET", "/readyz", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["model"]["version"], state.served.snapshot().classifier.version());
    assert_eq!(body["policy"]["version"], state.served.snapshot().policy.version());
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let state = state();
    let echoed = Request::builder().uri("/healthz").header("x-request-id", "abc-123").body(Body::empty()).expect("request");
    let response = app(state.clone()).oneshot(echoed).await.expect("response");
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let fresh = Request::builder().method("POST").uri("/v1/classify").body(Body::from("{bad")).expect("request");
    let response = app(state).oneshot(fresh).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let id = response.headers()["x-request-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn healthz_answers() {
    let (status, body) = call(&state(), "GET", "/healthz", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::String("ok".into()));
}

#[tokio::test]
async fn occlusion_reweighs_only_the_evidence_of_the_head_that_reads_the_embedding() {
    let ticket = json!({"subject": "Terrible service",
                        "body": "Your app lost my booking again and nobody answers the phone. I am so angry."})
    .to_string();
    let (_, by_shares) = call(&state(), "POST", "/v1/classify", ticket.clone()).await;
    let occluding = state_with(ServerConfig { embedding_evidence: EmbeddingEvidence::Occlusion, ..ServerConfig::default() });
    let (status, by_occlusion) = call(&occluding, "POST", "/v1/classify", ticket).await;
    assert_eq!(status, StatusCode::OK, "{by_occlusion}");
    let evidence = |body: &Value, head: &str| body["explanation"]["evidence"][head].as_array().cloned().unwrap_or_default();
    let texts = |phrases: &[Value]| {
        let mut texts: Vec<String> = phrases.iter().map(|p| p["text"].as_str().unwrap().to_string()).collect();
        texts.sort();
        texts
    };
    let (shared, occluded) = (evidence(&by_shares, "sentiment"), evidence(&by_occlusion, "sentiment"));
    assert!(!occluded.is_empty(), "{by_occlusion:#}");
    assert_eq!(texts(&shared), texts(&occluded), "occlusion weighs the same phrases again");
    assert_ne!(shared, occluded, "their weights are now the measured drops");
    let weights: Vec<f64> = occluded.iter().map(|p| p["weight"].as_f64().unwrap().abs()).collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "strongest first: {weights:?}");
    for head in ["urgency", "category"] {
        assert_eq!(evidence(&by_shares, head), evidence(&by_occlusion, head), "{head} does not read the embedding");
    }
}
