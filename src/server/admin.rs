//! Operator routes: `POST /admin/reload` (role `admin`), and the same reload for SIGHUP. A
//! reload validates the new model and policy completely before swapping them in; when they
//! fail, the old pair keeps serving and the caller (or the log) gets the reason.

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::state::Reloaded;
use super::AppState;

/// Reloads model and policy from their paths, counting and logging the outcome.
pub async fn reload_served(state: &AppState) -> Result<Reloaded, ApiError> {
    let outcome = state.served.reload().await;
    state.metrics.observe_reload(outcome.is_ok());
    match &outcome {
        Ok(reloaded) => tracing::info!(
            model_version = reloaded.current.model.version,
            policy_version = reloaded.current.policy.version,
            previous_model_version = reloaded.previous.model.version,
            previous_policy_version = reloaded.previous.policy.version,
            "reloaded model and policy"
        ),
        Err(error) => tracing::error!("reload refused, still serving the previous model and policy: {error}"),
    }
    Ok(outcome?)
}

#[utoipa::path(post, path = "/admin/reload", tag = "operations", security(("api_key" = [])),
    responses(
        (status = 200, description = "Swapped in the new model and policy", body = Reloaded),
        (status = 409, description = "The new model or policy is invalid; the previous pair keeps serving", body = super::error::ErrorEnvelope),
        (status = 401, description = "No or unknown API key", body = super::error::ErrorEnvelope),
        (status = 403, description = "The key lacks the admin role", body = super::error::ErrorEnvelope)))]
pub async fn reload(State(state): State<AppState>) -> Result<Json<Reloaded>, ApiError> {
    reload_served(&state).await.map(Json)
}
