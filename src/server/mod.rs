//! The HTTP server: `app(state)` builds the axum router (tested with `oneshot`), `run` serves
//! it on a listener until a shutdown future resolves. Handlers live in submodules; errors are
//! mapped to HTTP in `error` and nowhere else.

pub mod classify;
pub mod error;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tokio::net::TcpListener;

use crate::model::worker::ModelWorker;
use crate::model::Classifier;
use crate::policy::Policy;

/// Server settings, built once from the command line.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most tickets in one `/v1/classify/batch` request.
    pub max_batch: usize,
    /// Largest request body in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Requests that may wait for the model before new ones get 429.
    pub queue: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { max_batch: 256, max_body_bytes: 2 * 1024 * 1024, queue: 1024 }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub classifier: Arc<Classifier>,
    pub policy: Arc<Policy>,
    pub worker: ModelWorker,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    /// Starts the model worker for `classifier`.
    pub fn new(classifier: Classifier, policy: Policy, config: ServerConfig) -> Self {
        let worker = ModelWorker::spawn(config.queue, config.max_batch);
        Self { classifier: Arc::new(classifier), policy: Arc::new(policy), worker, config: Arc::new(config) }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready means a verified model and a validated policy are loaded; names both versions.
async fn readyz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ready",
        "model": {"name": state.classifier.name(), "version": state.classifier.version()},
        "policy": {"version": state.policy.version()},
    }))
}

pub fn app(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/classify", post(classify::classify))
        .route("/v1/classify/batch", post(classify::classify_batch))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(body_limit))
        // Every response carries `x-request-id`: the caller's own, or a fresh UUID.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn run(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
