//! The decision log in PostgreSQL: the store several servers share. Async calls over
//! `tokio-postgres` through a `deadpool` pool; the same records, rules and migrations as the
//! SQLite engine (`store::records`, `store::migrations`), in PostgreSQL's dialect.
//!
//! # Durability and outages
//! A write returns once PostgreSQL has committed it (its own `synchronous_commit` decides how
//! durable that is). When the database cannot be reached, calls fail with
//! `StoreError::Unavailable` within a few seconds (connect, pool-wait and commit timeouts) and
//! nothing is written; the pool opens fresh connections by itself once the database is back,
//! so no server restart is needed. A commit cut off by an outage may have landed even though
//! the caller was told it failed; the reverse never happens.
//!
//! # Concurrency
//! Feedback and events lock their decision's row (`FOR NO KEY UPDATE`) while they read the
//! versions or events before them, so two reviewers saving at once get versions n and n + 1,
//! whichever servers they used. Retention claims its run in `maintenance` (see `Retention`).
//! Migrations run under an advisory lock, so servers starting together migrate once.
//!
//! # Layout
//! - `schema`: the shared migrations and the version table
//! - `decisions`, `feedback`, `events`: the SQL for each table
//! - `reported`: what reports read of a period, from `decision_facts`
//! - `writer`: `PostgresWriter`, the group-commit writer task
//! - `registry`: the model and policy stores' registries and version files

mod decisions;
mod events;
mod feedback;
mod registry;
mod reported;
mod schema;
mod writer;

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::FromSql;
use tokio_postgres::{NoTls, Row};

use super::records::corrupt;
use super::{
    Added, Correction, DecisionFilter, DecisionPage, DecisionRecord, Feedback, FeedbackInput, QueuedDecision, ReportedPeriod,
    Retention, StoreError, StoredDecision,
};
pub use writer::PostgresWriter;

/// Connections per server. Two servers take 16 of PostgreSQL's default 100.
const POOL_SIZE: usize = 8;
/// How long connecting, waiting for a pooled connection or committing may take before the
/// call fails as unavailable: long enough for a busy database, short enough that a helpdesk's
/// request gets its 503 instead of hanging.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);

/// SQLSTATE classes that say the database is out of reach rather than the statement wrong:
/// connection exception, insufficient resources, operator intervention (shutdown, restart).
const UNAVAILABLE_CLASSES: [&str; 3] = ["08", "53", "57"];

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        match error.code() {
            Some(code) if !UNAVAILABLE_CLASSES.iter().any(|class| code.code().starts_with(class)) => Self::Postgres(error),
            _ => Self::Unavailable(error.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => error.into(),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// Column `name` of `row`, or `Corrupt` naming the decision and column when it cannot be read
/// as `T`.
pub(super) fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &'static str) -> Result<T, StoreError> {
    row.try_get(name).map_err(|e| corrupt_in(row, name, e))
}

/// A JSON column read into `T`.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(row: &Row, name: &'static str) -> Result<T, StoreError> {
    let value: serde_json::Value = column(row, name)?;
    serde_json::from_value(value).map_err(|e| corrupt_in(row, name, e))
}

/// `records::corrupt` for a value of `row`, naming the row's decision when it has one.
pub(super) fn corrupt_in(row: &Row, name: &'static str, error: impl ToString) -> StoreError {
    corrupt(&row.try_get::<_, String>("decision_id").unwrap_or_default(), name, error)
}

/// The decision log in one PostgreSQL database. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).finish()
    }
}

impl PostgresStore {
    /// Connects to `url` and brings its schema up to date. Fails as `Unavailable` when the
    /// database cannot be reached, `Open` when the URL is not one.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = super::Location::Postgres(url.to_string()).to_string();
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Open { log: shown.clone(), message: format!("not a PostgreSQL URL: {e}") })?;
        config.connect_timeout(TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("triage");
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .recycle_timeout(Some(TIMEOUT))
            .build()
            .map_err(|e| StoreError::Open { log: shown.clone(), message: e.to_string() })?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client, &shown).await?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    pub async fn record(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        decisions::insert(&mut client, records.iter()).await
    }

    pub async fn get(&self, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        decisions::get(&**self.client().await?, decision_id).await
    }

    pub async fn list(&self, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
        decisions::list(&**self.client().await?, filter).await
    }

    pub async fn add_feedback(&self, decision_id: &str, input: FeedbackInput) -> Result<Feedback, StoreError> {
        let mut client = self.client().await?;
        feedback::add(&mut client, decision_id, input, Utc::now()).await
    }

    pub async fn add_event(&self, decision_id: &str, event: crate::events::TicketEvent) -> Result<Added, StoreError> {
        let mut client = self.client().await?;
        events::add(&mut client, decision_id, event, Utc::now()).await
    }

    pub async fn between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<StoredDecision>, StoreError> {
        decisions::between(&**self.client().await?, since, until).await
    }

    pub async fn reported(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<ReportedPeriod, StoreError> {
        reported::period(&**self.client().await?, since, until).await
    }

    pub async fn in_queue(&self, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
        decisions::in_queue(&**self.client().await?, queue).await
    }

    pub async fn corrections(&self) -> Result<Vec<Correction>, StoreError> {
        feedback::corrections(&**self.client().await?).await
    }

    pub async fn prune(&self, retention: &Retention) -> Result<Option<usize>, StoreError> {
        let mut client = self.client().await?;
        decisions::prune(&mut client, retention).await
    }
}
