//! The reports API (role `review`): `triage report`'s tables for a period as JSON, or one
//! table as CSV, for the `/reports` page and for anyone's spreadsheet. The log is read on the
//! blocking pool; the tables come from `crate::report` with the served policy. The drift
//! gauges of `/metrics` are refreshed from the same tables (`refresh_drift_gauges`).
//!
//! The default period (the 30 days before now), which the reports page opens on, is kept once
//! computed (`LatestReport`) and answered again while younger than `ServerConfig::report_reuse`:
//! a month of a busy helpdesk takes seconds to report, the page should not. `triage serve`
//! recomputes it in the background that often (`refresh_latest_report`); `fresh=true`
//! recomputes it on request. A named period is always computed when asked.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorEnvelope};
use super::AppState;
use crate::report::{self, Table};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// First day or instant included (RFC 3339 or YYYY-MM-DD, UTC); default 30 days before `until`.
    since: Option<String>,
    /// First day or instant excluded; default now.
    until: Option<String>,
    /// One table's name: answer it alone as CSV.
    csv: Option<String>,
    /// Compute the default period now instead of answering the one kept from `computed_at`.
    fresh: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Report {
    pub since: chrono::DateTime<chrono::Utc>,
    pub until: chrono::DateTime<chrono::Utc>,
    pub decisions: usize,
    /// When these figures were computed: for the default period, possibly a few minutes ago.
    pub computed_at: chrono::DateTime<chrono::Utc>,
    pub tables: Vec<Table>,
}

/// The last report of the default period, with when it was computed, and the gate that lets
/// one report be computed at a time: each holds its period's decisions in memory (about 1.8 GB
/// for a million), so requests arriving together wait for each other instead of multiplying
/// that.
#[derive(Default)]
pub struct LatestReport {
    kept: arc_swap::ArcSwapOption<Report>,
    computing: tokio::sync::Mutex<()>,
}

impl LatestReport {
    /// The kept report, if computed at most `reuse` before `now`.
    fn within(&self, reuse: std::time::Duration, now: chrono::DateTime<chrono::Utc>) -> Option<Arc<Report>> {
        let kept = self.kept.load_full()?;
        let age = (now - kept.computed_at).to_std().unwrap_or_default();
        (age <= reuse).then_some(kept)
    }
}

/// The report of `[since, until)` computed now, after any other being computed; drift
/// compares with the period of the same length just before.
async fn compute(
    state: &AppState,
    since: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, crate::store::StoreError> {
    let _one_at_a_time = state.latest_report.computing.lock().await;
    compute_holding_the_gate(state, since, until, now).await
}

async fn compute_holding_the_gate(
    state: &AppState,
    since: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, crate::store::StoreError> {
    let before = since - (until - since);
    let store = &state.decisions.store;
    let (period, previous) = tokio::try_join!(store.reported(since, until), store.reported(before, since))?;
    let served = state.served.snapshot();
    // Seconds of work on a large log: off the async workers, like the reads.
    tokio::task::spawn_blocking(move || {
        let mut tables = report::build(&period, &served.policy, now);
        tables.push(report::drift(&period.decisions, &previous.decisions, served.classifier.held_out_predictions()));
        Report { since, until, decisions: period.decisions.len(), computed_at: now, tables }
    })
    .await
    .map_err(|e| crate::store::StoreError::Unavailable(format!("the report task failed: {e}")))
}

/// Computes the default period's report at `now` and keeps it; one computed at `now` or later
/// while this call waited for the gate is answered instead.
pub async fn refresh_latest_report(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Arc<Report>, crate::store::StoreError> {
    let _one_at_a_time = state.latest_report.computing.lock().await;
    if let Some(kept) = state.latest_report.kept.load_full().filter(|kept| kept.computed_at >= now) {
        return Ok(kept);
    }
    let since = now - chrono::TimeDelta::days(report::DEFAULT_PERIOD_DAYS);
    let report = Arc::new(compute_holding_the_gate(state, since, now, now).await?);
    state.latest_report.kept.store(Some(Arc::clone(&report)));
    Ok(report)
}

#[utoipa::path(get, path = "/v1/reports", tag = "review", security(("api_key" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "Every table for the period (JSON), or with `csv=NAME` that table as text/csv", body = Report),
        (status = 401, description = "No or unknown API key", body = ErrorEnvelope),
        (status = 403, description = "The key lacks the review role", body = ErrorEnvelope),
        (status = 404, description = "`csv` names no table", body = ErrorEnvelope),
        (status = 422, description = "`since` or `until` unreadable, or `since` not before `until`", body = ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, query: Result<Query<ReportQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Invalid { field: "query".into(), message: e.body_text() })?;
    let now = chrono::Utc::now();
    let report = if query.since.is_none() && query.until.is_none() {
        let kept = state.config.report_reuse.filter(|_| query.fresh != Some(true));
        match kept.and_then(|reuse| state.latest_report.within(reuse, now)) {
            Some(kept) => kept,
            None => refresh_latest_report(&state, now).await?,
        }
    } else {
        let (since, until) = report::period(query.since.as_deref(), query.until.as_deref(), now)
            .map_err(|e| ApiError::Invalid { field: e.field.into(), message: e.message })?;
        Arc::new(compute(&state, since, until, now).await?)
    };
    let Some(name) = query.csv else {
        return Ok(Json(&*report).into_response());
    };
    let table =
        report.tables.iter().find(|t| t.name == name).ok_or_else(|| ApiError::NotFound(format!("no report table {name}")))?;
    let csv = table.to_csv().map_err(|e| ApiError::Unavailable(format!("cannot write the table as CSV: {e}")))?;
    let disposition = format!("attachment; filename=\"{}.csv\"", table.name);
    Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (CONTENT_DISPOSITION, disposition)], csv).into_response())
}

/// Sets the drift gauges from the log: each head's predicted labels over the last `days`
/// against the `days` before `now`. Returns what it measured.
pub async fn refresh_drift_gauges(
    state: &AppState,
    days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<report::HeadDrift>, crate::store::StoreError> {
    let period = chrono::TimeDelta::days(i64::from(days));
    let store = &state.decisions.store;
    let (current, previous) =
        tokio::try_join!(store.reported(now - period, now), store.reported(now - period - period, now - period))?;
    let drift =
        report::drift_by_head(&current.decisions, &previous.decisions, state.served.snapshot().classifier.held_out_predictions());
    state.metrics.observe_drift(&drift);
    Ok(drift)
}
