//! Shared fixtures: the committed default model, loaded once.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use triage::model::Classifier;
use triage::server::auth::Auth;
use triage::server::state::{Decisions, Loaded, Sources};
use triage::server::{AppState, ServerConfig};

pub fn default_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default")
}

pub fn default_classifier() -> Arc<Classifier> {
    static CLASSIFIER: OnceLock<Arc<Classifier>> = OnceLock::new();
    Arc::clone(CLASSIFIER.get_or_init(|| Arc::new(Classifier::load(&default_model_dir()).expect("default model loads"))))
}

pub fn default_policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/policy.toml")
}

pub fn default_policy() -> triage::policy::Policy {
    triage::policy_file::load(&default_policy_path()).expect("default policy")
}

/// A decision log in a fresh temporary directory that outlives the test's state.
pub fn temp_decisions() -> (PathBuf, Decisions) {
    let path = tempfile::tempdir().expect("tempdir").keep().join("decisions.db");
    let decisions = Decisions::open_file(&path, 256).expect("decision log opens");
    (path, decisions)
}

/// A server state on the default model and policy, with its own decision log; a reload
/// reads `sources`.
pub fn app_state_from(sources: Sources, config: ServerConfig, auth: Auth) -> AppState {
    let (_, decisions) = temp_decisions();
    app_state_on(decisions, sources, config, auth)
}

/// A server state on the default model and policy, logging to `decisions`.
pub fn app_state_on(decisions: Decisions, sources: Sources, config: ServerConfig, auth: Auth) -> AppState {
    AppState::new(Loaded::new(default_classifier(), Arc::new(default_policy())), sources, auth, decisions, config)
}

pub fn default_sources() -> Sources {
    Sources { model_dir: default_model_dir(), policy_path: default_policy_path() }
}

pub fn app_state(config: ServerConfig, auth: Auth) -> AppState {
    app_state_from(default_sources(), config, auth)
}

/// A copy of the default bundle in a temporary directory, to corrupt.
pub fn bundle_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_default_bundle(dir.path());
    dir
}

/// The default bundle's files copied into the existing directory `to`.
pub fn copy_default_bundle(to: &std::path::Path) {
    for entry in std::fs::read_dir(default_model_dir()).expect("model dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// One request through the router; the body parsed as JSON (or kept as a JSON string when it
/// is not JSON).
pub async fn call(
    state: &triage::server::AppState,
    method: &str,
    uri: &str,
    body: impl Into<axum::body::Body>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request");
    let response = triage::server::app(state.clone()).oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}
