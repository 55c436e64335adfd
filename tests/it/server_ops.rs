//! The server's operational side: API keys and roles, Prometheus metrics, the OpenAPI
//! document, hot reload under load, a policy promoted and rolled back under load through the
//! real binary, and a graceful stop on SIGTERM (through the real binary).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use triage::server::auth::{hash_key, Auth};
use triage::server::state::Sources;
use triage::server::{app, AppState, ServerConfig};

use crate::common::{app_state, app_state_from, bundle_copy, copy_default_bundle, default_policy_path};
use crate::process::{answer, keep_classifying, triage_cli, ServerProcess};

async fn send(state: &AppState, method: &str, uri: &str, key: Option<&str>, body: &str) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response =
        app(state.clone()).oneshot(request.body(Body::from(body.to_string())).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn keyed_state() -> AppState {
    let keys = format!(
        "[[key]]\nname = \"desk\"\nsha256 = \"{}\"\nroles = [\"classify\"]\n\n[[key]]\nname = \"ops\"\nsha256 = \"{}\"\nroles = [\"admin\"]\n",
        hash_key("desk-key"),
        hash_key("ops-key")
    );
    app_state(ServerConfig::default(), Auth::from_toml(&keys, "keys.toml").expect("keys"))
}

const TICKET: &str = r#"{"subject": "Site down", "body": "checkout fails for all users"}"#;

#[tokio::test]
async fn routes_need_a_key_with_the_right_role() {
    let state = keyed_state();
    let (status, body) = send(&state, "POST", "/v1/classify", None, TICKET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(json_of(&body)["error"]["code"], "unauthorized");
    let (status, _) = send(&state, "POST", "/v1/classify", Some("guessed"), TICKET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(&state, "POST", "/v1/classify", Some("desk-key"), TICKET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(&state, "POST", "/v1/classify/batch", Some("ops-key"), r#"{"tickets": []}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(json_of(&body)["error"]["code"], "forbidden");
    let (status, body) = send(&state, "POST", "/admin/reload", Some("desk-key"), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The helpdesk's classify key reports events; the work order is for reviewers' keys.
    let event = r#"{"event_id": "e", "at": "2026-11-23T10:00:00Z", "kind": "solved"}"#;
    let (status, body) = send(&state, "POST", "/v1/decisions/nope/events", Some("desk-key"), event).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "past the role check: {body}");
    let (status, _) = send(&state, "POST", "/v1/decisions/nope/events", Some("ops-key"), event).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&state, "GET", "/v1/queues/billing/next", Some("desk-key"), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for open in ["/healthz", "/readyz", "/metrics", "/docs"] {
        let (status, _) = send(&state, "GET", open, None, "").await;
        assert_eq!(status, StatusCode::OK, "{open} is open to probes and scrapers");
    }
}

#[tokio::test]
async fn an_unauthorized_answer_names_the_scheme() {
    let request = Request::builder().method("POST").uri("/v1/classify").body(Body::from(TICKET)).expect("request");
    let response = app(keyed_state()).oneshot(request).await.expect("response");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn metrics_count_requests_predictions_and_batches() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    for _ in 0..2 {
        let (status, _) = send(&state, "POST", "/v1/classify", None, TICKET).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = send(&state, "POST", "/v1/classify", None, "{bad").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, text) = send(&state, "GET", "/metrics", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let line_value = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
    };
    assert_eq!(line_value(r#"triage_http_requests_total{route="/v1/classify",status="200"}"#), 2.0);
    assert_eq!(line_value(r#"triage_http_requests_total{route="/v1/classify",status="400"}"#), 1.0);
    assert_eq!(line_value(r#"triage_http_request_duration_seconds_count{route="/v1/classify",status="200"}"#), 2.0);
    let predicted: f64 = text
        .lines()
        .filter(|line| line.starts_with(r#"triage_predictions_total{head="urgency""#))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(predicted, 2.0, "{text}");
    assert_eq!(line_value("triage_model_batch_size_count"), 2.0);
    assert!(text.contains("triage_priorities_total{level=\"P"), "{text}");
    assert!(text.contains("triage_model_queue_depth 0"), "{text}");
}

#[tokio::test]
async fn docs_describe_every_route_and_its_types() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let (status, body) = send(&state, "GET", "/docs", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let spec = json_of(&body);
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{spec}");
    for path in
        ["/v1/classify", "/v1/classify/batch", "/readyz", "/healthz", "/metrics", "/docs", "/review", "/reports", "/admin/reload"]
    {
        assert!(spec["paths"][path].is_object(), "{path} missing");
    }
    for path in [
        "/v1/decisions",
        "/v1/decisions/{id}",
        "/v1/decisions/{id}/feedback",
        "/v1/decisions/{id}/events",
        "/v1/labels",
        "/v1/queues/{queue}",
        "/v1/queues/{queue}/next",
        "/v1/reports",
    ] {
        let operation = spec["paths"][path].as_object().and_then(|ops| ops.values().next()).expect(path);
        for status in ["401", "403"] {
            assert!(operation["responses"][status].is_object(), "{path} documents no {status}");
        }
    }
    let field = &spec["components"]["schemas"]["FieldValue"];
    assert!(field["oneOf"].as_array().is_some_and(|kinds| kinds.len() == 3), "fields hold a string, number or boolean: {field}");
    for schema in ["TicketRequest", "ClassifyResponse", "HeadPrediction", "Recalled", "Evidence", "ErrorEnvelope"] {
        assert!(spec["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
    assert_eq!(spec["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

/// A policy file and bundle copy that a test may edit, served from their own paths.
fn editable_sources() -> (tempfile::TempDir, tempfile::TempDir, Sources) {
    let bundle = bundle_copy();
    let policy_dir = tempfile::tempdir().expect("tempdir");
    let policy_path = policy_dir.path().join("policy.toml");
    std::fs::copy(default_policy_path(), &policy_path).expect("copy policy");
    let sources = Sources { model_dir: bundle.path().to_path_buf(), policy_path };
    (bundle, policy_dir, sources)
}

/// `clients` tasks that each classify 40 tickets one after another, their answers in order.
fn classify_load(state: &AppState, clients: usize) -> Vec<tokio::task::JoinHandle<Vec<(StatusCode, String)>>> {
    (0..clients)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..40 {
                    answers.push(send(&state, "POST", "/v1/classify", None, TICKET).await);
                }
                answers
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_under_load_fails_no_request() {
    let (_bundle, _policy_dir, sources) = editable_sources();
    let policy_path = sources.policy_path.clone();
    let state = app_state_from(sources, ServerConfig::default(), Auth::Disabled);
    let first_version = state.served.snapshot().policy.version().to_string();
    let load = classify_load(&state, 8);
    let mut reloaded_versions = Vec::new();
    for round in 0..3 {
        let mut policy = std::fs::read_to_string(&policy_path).expect("policy");
        policy.push_str(&format!("\n# edit {round}\n"));
        std::fs::write(&policy_path, policy).expect("write policy");
        let (status, body) = send(&state, "POST", "/admin/reload", None, "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        reloaded_versions.push(json_of(&body)["current"]["policy"]["version"].as_str().expect("version").to_string());
    }
    let mut seen_versions = std::collections::BTreeSet::new();
    for task in load {
        for (status, body) in task.await.expect("load task") {
            assert_eq!(status, StatusCode::OK, "a request failed during reload: {body}");
            seen_versions.insert(json_of(&body)["policy"]["version"].as_str().expect("version").to_string());
        }
    }
    let known: std::collections::BTreeSet<String> =
        std::iter::once(first_version).chain(reloaded_versions.iter().cloned()).collect();
    assert_eq!(known.len(), 4, "each edit is a new version");
    assert!(seen_versions.is_subset(&known), "responses name only served versions: {seen_versions:?}");
    let (_, ready) = send(&state, "GET", "/readyz", None, "").await;
    assert_eq!(json_of(&ready)["policy"]["version"], reloaded_versions[2].as_str());
}

#[tokio::test]
async fn a_bad_reload_keeps_the_old_pair_serving() {
    let (bundle, _policy_dir, sources) = editable_sources();
    let policy_path = sources.policy_path.clone();
    let state = app_state_from(sources, ServerConfig::default(), Auth::Disabled);
    let (_, before) = send(&state, "GET", "/readyz", None, "").await;
    std::fs::write(&policy_path, "[levels\nbroken").expect("break policy");
    let (status, body) = send(&state, "POST", "/admin/reload", None, "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(json_of(&body)["error"]["code"], "reload_failed");
    assert!(json_of(&body)["error"]["message"].as_str().is_some_and(|m| m.contains("policy.toml")), "{body}");
    std::fs::copy(default_policy_path(), &policy_path).expect("restore policy");
    std::fs::write(bundle.path().join("calibration.json"), "{}").expect("tamper bundle");
    let (status, body) = send(&state, "POST", "/admin/reload", None, "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(json_of(&body)["error"]["message"].as_str().is_some_and(|m| m.contains("calibration.json")), "{body}");
    let (_, after) = send(&state, "GET", "/readyz", None, "").await;
    assert_eq!(before, after);
    let (status, _) = send(&state, "POST", "/v1/classify", None, TICKET).await;
    assert_eq!(status, StatusCode::OK);
    let (_, metrics) = send(&state, "GET", "/metrics", None, "").await;
    assert!(metrics.contains("triage_reloads_total{outcome=\"failed\"} 2"), "{metrics}");
}

#[test]
fn sighup_reloads_the_policy() {
    let (_bundle, policy_dir, sources) = editable_sources();
    let db = policy_dir.path().join("decisions.db");
    let server = ServerProcess::start_with_policy(&db, &sources.policy_path, &[]);
    let version = |server: &ServerProcess| server.get("/readyz").1["policy"]["version"].as_str().expect("version").to_string();
    let before = version(&server);
    let mut policy = std::fs::read_to_string(&sources.policy_path).expect("policy");
    policy.push_str("\n# edited before SIGHUP\n");
    std::fs::write(&sources.policy_path, policy).expect("write policy");
    server.signal("-HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while version(&server) == before {
        assert!(std::time::Instant::now() < deadline, "the policy was not reloaded after SIGHUP");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, _) = answer(server.post("/v1/classify", TICKET));
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_model_queue_answers_429_at_once() {
    let state = app_state(ServerConfig { queue: 1, ..ServerConfig::default() }, Auth::Disabled);
    let tickets: Vec<Value> =
        (0..64).map(|i| json!({"body": format!("ticket {i}: the export keeps failing again. ").repeat(100)})).collect();
    let body = json!({ "tickets": tickets }).to_string();
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let (state, body) = (state.clone(), body.clone());
            tokio::spawn(async move {
                let request =
                    Request::builder().method("POST").uri("/v1/classify/batch").body(Body::from(body)).expect("request");
                let response = app(state).oneshot(request).await.expect("response");
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_string());
                let status = response.status();
                let bytes = response.into_body().collect().await.expect("body").to_bytes();
                (status, retry_after, String::from_utf8_lossy(&bytes).into_owned())
            })
        })
        .collect();
    let mut busy = 0;
    for request in requests {
        let (status, retry_after, body) = request.await.expect("task");
        match status {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => {
                busy += 1;
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert_eq!(json_of(&body)["error"]["code"], "busy");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(busy > 0, "eight large batches against a queue of one: some must be refused");
}

#[test]
fn sigterm_during_a_request_still_answers_it() {
    let db = tempfile::tempdir().expect("tempdir");
    let mut server = ServerProcess::start(&db.path().join("decisions.db"), &["--max-body-bytes", "50000000"]);
    // A batch big enough to still be running when the signal lands.
    let tickets: Vec<Value> = (0..256)
        .map(|i| json!({"id": format!("S-{i}"), "body": format!("ticket {i}: the export keeps failing. ").repeat(400)}))
        .collect();
    let stream = server.post("/v1/classify/batch", &json!({ "tickets": tickets }).to_string());
    std::thread::sleep(std::time::Duration::from_millis(100));
    server.signal("-TERM");
    let (status, body) = answer(stream);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().expect("results").len(), 256);
    assert_eq!(server.child.wait().expect("server exits").code(), Some(0));
    let rest = server.rest_of_log();
    let shutting = rest.find("shutting down").expect("the signal was logged");
    let answered = rest.find("/v1/classify/batch").expect("the request was logged");
    assert!(shutting < answered, "the request was still running when SIGTERM came:\n{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_and_rollback_in_a_model_store_switch_the_served_version_under_load() {
    use triage::registry;
    // A store of two bundles: the default, and a copy whose manifest names another version.
    let store = tempfile::tempdir().expect("store");
    let copy = |name: &str| {
        let to = store.path().join(name);
        std::fs::create_dir(&to).expect("bundle dir");
        copy_default_bundle(&to);
        to
    };
    copy("first");
    let second = copy("second");
    let manifest_path = second.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("json");
    manifest["version"] = json!("second-version");
    std::fs::write(&manifest_path, manifest.to_string()).expect("manifest written");
    let mut history = registry::Registry::default();
    history.promote("first", false, "test", Value::Null, chrono::Utc::now());
    registry::write(store.path(), &history).expect("registry");

    let sources = Sources { model_dir: store.path().to_path_buf(), policy_path: default_policy_path() };
    let state = app_state_from(sources, ServerConfig::default(), Auth::Disabled);
    let first_version = state.served.snapshot().classifier.version().to_string();
    assert_ne!(first_version, "second-version");
    let load = classify_load(&state, 4);
    let served_version = |body: &str| json_of(body)["current"]["model"]["version"].as_str().expect("version").to_string();
    history.promote("second", false, "test", Value::Null, chrono::Utc::now());
    registry::write(store.path(), &history).expect("promoted");
    let (status, body) = send(&state, "POST", "/admin/reload", None, "").await;
    assert_eq!((status, served_version(&body).as_str()), (StatusCode::OK, "second-version"), "{body}");
    assert_eq!(history.rollback("test", chrono::Utc::now()).as_deref(), Some("first"));
    registry::write(store.path(), &history).expect("rolled back");
    let (status, body) = send(&state, "POST", "/admin/reload", None, "").await;
    assert_eq!((status, served_version(&body)), (StatusCode::OK, first_version.clone()), "{body}");

    let mut seen = std::collections::BTreeSet::new();
    for task in load {
        for (status, body) in task.await.expect("load task") {
            assert_eq!(status, StatusCode::OK, "a request failed during promotion or rollback: {body}");
            seen.insert(json_of(&body)["model"]["version"].as_str().expect("version").to_string());
        }
    }
    assert!(seen.is_subset(&[first_version.clone(), "second-version".to_string()].into()), "{seen:?}");
    let (_, body) = send(&state, "POST", "/v1/classify", None, TICKET).await;
    assert_eq!(json_of(&body)["model"]["version"], first_version.as_str(), "served after the rollback");
}

/// `triage policy ARGS` with the real binary; panics with its output when it fails.
fn policy_command(args: &[&std::ffi::OsStr]) {
    let (ok, out) = triage_cli(&[&["policy".as_ref()], args].concat());
    assert!(ok, "{out}");
}

#[test]
fn a_policy_promoted_and_rolled_back_under_load_switches_versions_without_a_failed_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("policies");
    let second = work.path().join("second.toml");
    let text = std::fs::read_to_string(default_policy_path()).expect("policy");
    std::fs::write(&second, format!("{text}\n# the second version\n")).expect("write");
    let promote = |policy: &std::path::Path| {
        policy_command(&["promote".as_ref(), "--store".as_ref(), store.as_os_str(), "--policy".as_ref(), policy.as_os_str()])
    };
    promote(&default_policy_path());
    let server = ServerProcess::start_serving(
        work.path().join("decisions.db"),
        crate::common::default_model_dir().as_os_str(),
        store.as_os_str(),
        &[],
        &[],
    );
    let reload = || assert_eq!(answer(server.post("/admin/reload", "")).0, 200);
    let (stop, acked) = (AtomicBool::new(false), AtomicUsize::new(0));
    let wait_for = |count: usize| {
        while acked.load(Ordering::Relaxed) < count {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    let answers = std::thread::scope(|scope| {
        let client = scope.spawn(|| keep_classifying(&server, "P", &stop, &acked));
        wait_for(20);
        promote(&second);
        reload();
        wait_for(acked.load(Ordering::Relaxed) + 20);
        policy_command(&["rollback".as_ref(), "--store".as_ref(), store.as_os_str()]);
        reload();
        wait_for(acked.load(Ordering::Relaxed) + 20);
        stop.store(true, Ordering::Relaxed);
        client.join().expect("client")
    });
    assert!(answers.iter().all(|(status, _)| *status == 200), "no failed request");
    let mut phases: Vec<String> =
        answers.iter().map(|(_, body)| body["policy"]["version"].as_str().unwrap().to_string()).collect();
    phases.dedup();
    let first = triage::policy_file::load(&default_policy_path()).expect("policy").version().to_string();
    let promoted = triage::policy_file::load(&second).expect("policy").version().to_string();
    assert_eq!(phases, [first.clone(), promoted, first], "the first version, the promoted one, then the first again");
}
