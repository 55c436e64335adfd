//! The HTTP server: `app(state)` builds the axum router (tested with `oneshot`), `run` serves
//! it on a listener until a shutdown future resolves. Handlers live in submodules; errors are
//! mapped to HTTP in `error` and nowhere else; who may call which route is decided in `auth`.
//!
//! # Layout
//! - `classify`: the classify routes
//! - `review`: the review API over the decision log; `review_page`: the reviewer page
//! - `admin`: reload
//! - `state`: the served model + policy pair and its atomic swap
//! - `auth`, `metrics`, `docs`: API keys and roles, Prometheus, OpenAPI

pub mod admin;
pub mod auth;
pub mod classify;
pub mod docs;
pub mod error;
pub mod events;
pub mod metrics;
pub mod queues;
pub mod reports;
pub mod review;
pub mod review_page;
pub mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

use self::auth::{Auth, Role};
use self::error::ApiError;
use self::metrics::Metrics;
use self::state::{Decisions, Loaded, Served, Sources, Versions};
use crate::clusters::{ClusterSettings, RecentTickets};
use crate::model::worker::ModelWorker;
use crate::model::EmbeddingEvidence;

/// Server settings, built once from the command line.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most tickets in one `/v1/classify/batch` request.
    pub max_batch: usize,
    /// Largest request body in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Requests that may wait for the model before new ones get 429.
    pub queue: usize,
    /// How tickets about the same problem are grouped (repeat issues).
    pub clusters: ClusterSettings,
    /// This server's name among those sharing a decision log, shown by `/readyz` so a
    /// rolling update can be watched server by server.
    pub name: String,
    /// How old the kept report of the default period (the last 30 days) may be before a
    /// request for it computes it again; `None` computes every request (see `reports`).
    pub report_reuse: Option<std::time::Duration>,
    /// How the evidence of the heads that read the sentence embedding is weighed (occlusion
    /// costs an encoder pass per phrase).
    pub embedding_evidence: EmbeddingEvidence,
}

/// The default grouping, chosen on data/clusters/tuning.jsonl (`triage check-clusters`) as
/// the lowest thresholds with full precision there: on the model's TF-IDF features only
/// near-verbatim repeats are that similar; whitened embeddings also join one problem told in
/// other words and languages (BENCHMARKS.md, Repeat issues).
/// At most 256 recent tickets are compared with each new one (about 0.3 ms under the lock).
pub const DEFAULT_CLUSTERS: ClusterSettings =
    ClusterSettings { similarity: 0.35, meaning_similarity: 0.40, window: chrono::TimeDelta::hours(2), max_recent: 256 };

/// How long the report of the default period is reused: a month of a busy helpdesk takes
/// seconds to report, so the reports page shows the one computed at most this long ago (and
/// says when); `triage serve` recomputes it in the background this often.
pub const DEFAULT_REPORT_REUSE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_body_bytes: 2 * 1024 * 1024,
            queue: 1024,
            clusters: DEFAULT_CLUSTERS,
            name: "triage".to_string(),
            report_reuse: Some(DEFAULT_REPORT_REUSE),
            embedding_evidence: EmbeddingEvidence::Shares,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub served: Arc<Served>,
    pub worker: ModelWorker,
    pub config: Arc<ServerConfig>,
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
    pub decisions: Decisions,
    /// This server's recent tickets, for repeat issues.
    pub recent: Arc<std::sync::Mutex<RecentTickets>>,
    /// The last report of the default period (see `reports::LatestReport`).
    pub latest_report: Arc<reports::LatestReport>,
}

impl AppState {
    /// Starts the model worker; `sources` is where a reload reads the model and policy again.
    pub fn new(loaded: Loaded, sources: Sources, auth: Auth, decisions: Decisions, config: ServerConfig) -> Self {
        let metrics = Arc::new(Metrics::default());
        let observer = Arc::clone(&metrics);
        let worker = ModelWorker::spawn(config.queue, config.max_batch, config.embedding_evidence, move |tickets| {
            observer.observe_batch(tickets)
        });
        Self {
            recent: Arc::new(std::sync::Mutex::new(RecentTickets::new(config.clusters))),
            latest_report: Arc::default(),
            served: Arc::new(Served::new(loaded, sources)),
            worker,
            config: Arc::new(config),
            auth: Arc::new(auth),
            metrics,
            decisions,
        }
    }
}

/// Alive: the process answers. Says nothing of the model (see `/readyz`).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "`ok` while the process is alive", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ready`: the server answers only once a verified model and policy are loaded.
    status: &'static str,
    /// This server's name (`--server-name`), to tell servers behind one load balancer apart.
    server: String,
    /// The decision log's engine: `sqlite` or `postgres`.
    decision_log: &'static str,
    #[serde(flatten)]
    versions: Versions,
}

/// Ready means a verified model and a validated policy are loaded and the model thread is
/// running to use them; names this server and both versions.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Model and policy loaded, model thread running", body = Ready),
        (status = 503, description = "The model thread has stopped", body = error::ErrorEnvelope)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    if !state.worker.is_running() {
        return Err(ApiError::Unavailable("the model thread has stopped; restart the server".to_string()));
    }
    Ok(Json(Ready {
        status: "ready",
        server: state.config.name.clone(),
        decision_log: state.decisions.store.engine_name(),
        versions: state.served.snapshot().versions(),
    }))
}

/// Prometheus / OpenMetrics text: requests, latency, predictions, priorities, rule hits,
/// review flags, batch sizes, queue depth and reloads (prefix `triage_`).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(state.worker.queue_depth());
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

/// Counts and logs every request by its route pattern (not its raw path, which would let
/// callers create unbounded label values).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let method = request.method().clone();
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or_default().to_string();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.observe_request(&route, status, elapsed);
    tracing::debug!(%method, route, status, micros = elapsed.as_micros() as u64, request_id, "request");
    response
}

/// Routes that need `role`: the caller's key is checked before the handler runs.
fn guarded(routes: Router<AppState>, state: &AppState, role: Role) -> Router<AppState> {
    let auth = Arc::clone(&state.auth);
    routes.route_layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let auth = Arc::clone(&auth);
        async move {
            let header = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok());
            match auth.authorize(header, role) {
                Ok(_) => next.run(request).await,
                Err(denied) => ApiError::from(denied).into_response(),
            }
        }
    }))
}

pub fn app(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let classify_routes = Router::new()
        .route("/v1/classify", post(classify::classify))
        .route("/v1/classify/batch", post(classify::classify_batch))
        .route("/v1/decisions/{id}/events", post(events::record));
    let review_routes = Router::new()
        .route("/v1/decisions", get(review::list))
        .route("/v1/decisions/{id}", get(review::get))
        .route("/v1/decisions/{id}/feedback", post(review::feedback))
        .route("/v1/labels", get(review::labels))
        .route("/v1/queues/{queue}", get(queues::list))
        .route("/v1/queues/{queue}/next", get(queues::next))
        .route("/v1/reports", get(reports::get));
    let admin_routes = Router::new().route("/admin/reload", post(admin::reload));
    Router::new()
        .merge(guarded(classify_routes, &state, Role::Classify))
        .merge(guarded(review_routes, &state, Role::Review))
        .merge(guarded(admin_routes, &state, Role::Admin))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/docs", get(docs::openapi))
        // The page holds no data: the API it calls checks the reviewer's key.
        .merge(review_page::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        // Every response carries `x-request-id`: the caller's own, or a fresh UUID.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
