//! The decision log: every decision the service made (the request, the full classify response,
//! the model and policy versions, the time), the reviewers' feedback on it and what happened to
//! the ticket since. The review API lists and reads it, `triage export-feedback` turns the
//! feedback into training rows, reports read it by period, retention prunes it. This layer
//! knows SQL and the stored shapes only: no HTTP types, no model or policy logic.
//!
//! Two engines keep it: SQLite (`sqlite`, one file, the embedded default) and PostgreSQL
//! (`postgres`, shared by several servers). `Location` says which from `--db`; `DecisionLog`
//! (decisions, written in groups and answered after commit) and `DecisionStore` (everything
//! else) are the same async API over either, so nothing above this layer knows which runs.
//!
//! # Layout
//! - `records`: the types handed in and out, and the rules that belong to the data (feedback
//!   validation and merging, event order, paging)
//! - `migrations`: the schema history, both dialects side by side
//! - `group_commit`: what both engines' decision writers share
//! - `sqlite`, `postgres`: each engine's connections, schema runner and SQL
//! - `export`: reviewed decisions as training rows (CSV)

pub mod export;
mod group_commit;
mod migrations;
pub mod postgres;
mod records;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod test_records;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use postgres::{PostgresStore, PostgresWriter};
pub use records::{
    Added, Correction, Cursor, DecisionFilter, DecisionMeta, DecisionPage, DecisionRecord, DecisionSummary, Feedback,
    FeedbackInput, HeadOutcome, QueuedDecision, ReportedDecision, ReportedPeriod, Retention, StoredDecision, DEFAULT_PAGE,
    MAX_LABEL_CHARS, MAX_NOTE_CHARS, MAX_PAGE,
};
use sqlite::{SqliteStore, SqliteWriter};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("decision {0} not found")]
    NotFound(String),
    /// A write that contradicts what is stored (an event id reused for another event).
    #[error("{0}")]
    Conflict(String),
    /// Bad input from the caller; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{log} was written by a newer triage (schema version {found}; this build knows up to {known})")]
    NewerSchema { log: String, found: i64, known: i64 },
    #[error("cannot use {log} as a decision log: {message}")]
    Open { log: String, message: String },
    #[error("decision log schema migration {version} failed: {message}")]
    Migration { version: usize, message: String },
    /// A stored value that cannot be read back (edited by hand, or a bug that wrote it).
    #[error("decision {decision_id}: stored {column} is unreadable: {message}")]
    Corrupt { decision_id: String, column: &'static str, message: String },
    #[error("cannot encode the decision as JSON: {0}")]
    Encode(serde_json::Error),
    #[error("the decision log writer has stopped")]
    WriterStopped,
    /// The database cannot be reached now (down, restarting, too slow); nothing was written,
    /// and a later call may succeed without anything being reopened.
    #[error("the decision log's database is unavailable: {0}")]
    Unavailable(String),
    #[error("decision log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("decision log: {0}")]
    Postgres(tokio_postgres::Error),
    #[error("decision log: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the decision log lives, from `--db`: a `postgres://` or `postgresql://` URL names a
/// PostgreSQL database, anything else a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let is_url = ["postgres://", "postgresql://"].iter().any(|scheme| text.starts_with(scheme));
        Ok(if is_url { Self::Postgres(text.to_string()) } else { Self::Sqlite(PathBuf::from(text)) })
    }
}

/// The location for logs and messages: a URL's password is left out.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@').and_then(|(credentials, host)| Some((credentials.split_once(':')?.0, host))) {
        Some((user, host)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_string(),
    }
}

impl Location {
    /// Fails when a SQLite log is expected to exist already (for commands that only read it).
    pub fn existing(&self) -> Result<&Self, StoreError> {
        match self {
            Self::Sqlite(path) if !path.is_file() => {
                Err(StoreError::Open { log: path.display().to_string(), message: "no decision log there".into() })
            }
            _ => Ok(self),
        }
    }
}

/// Reads, feedback, events and retention, over either engine. Cloning shares the connection
/// (SQLite) or the pool (PostgreSQL).
#[derive(Debug, Clone)]
pub struct DecisionStore {
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Runs a blocking SQLite call on the blocking pool, so the async runtime never waits on disk.
async fn blocking<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| StoreError::Unavailable(format!("the decision log task failed: {e}")))?
}

impl DecisionStore {
    /// Opens the log at `location`, creating it on first use and applying any migrations it
    /// lacks.
    pub async fn open(location: &Location) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_file(path),
            Location::Postgres(url) => Ok(Self { engine: Engine::Postgres(PostgresStore::open(url).await?) }),
        }
    }

    /// Opens the SQLite log at `path` (creating and migrating it), without a runtime: opening
    /// a file takes milliseconds.
    pub fn open_file(path: &std::path::Path) -> Result<Self, StoreError> {
        Ok(Self { engine: Engine::Sqlite(SqliteStore::open(path)?) })
    }

    /// `sqlite` or `postgres`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite(_) => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Commits `records` in one transaction, on the caller's task. For the command line and
    /// tests; the server writes through `DecisionLog`.
    pub async fn record(&self, records: Vec<DecisionRecord>) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => blocking(store, move |store| store.record(&records)).await,
            Engine::Postgres(store) => store.record(&records).await,
        }
    }

    /// The decision with every feedback version (oldest first) and its events; `None` for an
    /// unknown id.
    pub async fn get(&self, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => {
                let decision_id = decision_id.to_string();
                blocking(store, move |store| store.get(&decision_id)).await
            }
            Engine::Postgres(store) => store.get(decision_id).await,
        }
    }

    /// One page of decisions, newest first; see `DecisionFilter` for what each filter means.
    pub async fn list(&self, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => {
                let filter = filter.clone();
                blocking(store, move |store| store.list(&filter)).await
            }
            Engine::Postgres(store) => store.list(filter).await,
        }
    }

    /// Stores `input` as the decision's next feedback version and returns it as stored: two
    /// reviewers saving at once get two versions. `NotFound` for an unknown decision,
    /// `Invalid` naming the field for bad input.
    pub async fn add_feedback(&self, decision_id: &str, input: FeedbackInput) -> Result<Feedback, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => {
                let decision_id = decision_id.to_string();
                blocking(store, move |store| store.add_feedback(&decision_id, input)).await
            }
            Engine::Postgres(store) => store.add_feedback(decision_id, input).await,
        }
    }

    /// Appends what happened to the decided ticket, after checking it against its earlier
    /// events; the same event sent again is answered as stored and changes nothing.
    pub async fn add_event(&self, decision_id: &str, event: crate::events::TicketEvent) -> Result<Added, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => {
                let decision_id = decision_id.to_string();
                blocking(store, move |store| store.add_event(&decision_id, event)).await
            }
            Engine::Postgres(store) => store.add_event(decision_id, event).await,
        }
    }

    /// Every decision decided in `[since, until)`, oldest first, with feedback and events.
    pub async fn between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<StoredDecision>, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => blocking(store, move |store| store.between(since, until)).await,
            Engine::Postgres(store) => store.between(since, until).await,
        }
    }

    /// What reports read of every decision decided in `[since, until)`, oldest first (see
    /// `ReportedPeriod`).
    pub async fn reported(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<ReportedPeriod, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => blocking(store, move |store| store.reported(since, until)).await,
            Engine::Postgres(store) => store.reported(since, until).await,
        }
    }

    /// The decisions whose ticket is in `queue` now (after any reassignment), oldest first, with
    /// their events.
    pub async fn in_queue(&self, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => {
                let queue = queue.to_string();
                blocking(store, move |store| store.in_queue(&queue)).await
            }
            Engine::Postgres(store) => store.in_queue(queue).await,
        }
    }

    /// Every reviewed decision as a training row, oldest decision first.
    pub async fn corrections(&self) -> Result<Vec<Correction>, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => blocking(store, SqliteStore::corrections).await,
            Engine::Postgres(store) => store.corrections().await,
        }
    }

    /// Runs `retention` unless a server sharing this log ran it recently (see `Retention`);
    /// returns how many decisions were deleted, `None` when skipped.
    pub async fn prune(&self, retention: Retention) -> Result<Option<usize>, StoreError> {
        match &self.engine {
            Engine::Sqlite(store) => blocking(store, move |store| store.prune(&retention)).await,
            Engine::Postgres(store) => store.prune(&retention).await,
        }
    }
}

/// The classify path's writer, over either engine: `record` resolves once the decisions are
/// committed, so a handler that awaited it knows they are durable before it answers.
#[derive(Debug, Clone)]
pub enum DecisionLog {
    Sqlite(SqliteWriter),
    Postgres(PostgresWriter),
}

impl DecisionLog {
    /// Starts the writer for `store`'s log; `queue` bounds the `record` calls waiting for it.
    /// SQLite gets its own connection to the file on a thread; PostgreSQL shares the store's
    /// pool.
    pub fn start(store: &DecisionStore, queue: usize) -> Result<Self, StoreError> {
        match &store.engine {
            Engine::Postgres(store) => Ok(Self::Postgres(PostgresWriter::start(store, queue))),
            Engine::Sqlite(store) => Ok(Self::Sqlite(SqliteWriter::open(store.path(), queue)?)),
        }
    }

    pub async fn record(&self, records: Vec<DecisionRecord>) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(writer) => writer.record(records).await,
            Self::Postgres(writer) => writer.record(records).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_names_postgres_and_anything_else_a_file() {
        let url = "postgres://triage:secret@db.internal:5432/triage";
        assert_eq!(url.parse::<Location>().unwrap(), Location::Postgres(url.into()));
        let short = "postgresql:///triage?host=/run/postgresql";
        assert_eq!(short.parse::<Location>().unwrap(), Location::Postgres(short.into()));
        assert_eq!("decisions.db".parse::<Location>().unwrap(), Location::Sqlite("decisions.db".into()));
        assert_eq!(
            "/var/lib/triage/postgres.db".parse::<Location>().unwrap(),
            Location::Sqlite("/var/lib/triage/postgres.db".into())
        );
        assert_eq!(url.parse::<Location>().unwrap().to_string(), "postgres://triage:***@db.internal:5432/triage");
        assert_eq!(short.parse::<Location>().unwrap().to_string(), short);
        assert_eq!(without_password("postgres://triage@db/triage"), "postgres://triage@db/triage");
    }
}
