//! The decision log: every decision the service made (the request, the full classify response,
//! the model and policy versions, the time) and the reviewers' feedback on it, in SQLite. The
//! review API lists and reads it, `triage export-feedback` turns the feedback into training
//! rows, retention prunes it. This layer knows SQL and the stored shapes only: no HTTP types, no
//! model or policy logic, no async runtime beyond the writer's channel.
//!
//! # Durability
//! The log runs in WAL mode with `synchronous=NORMAL`: once a write call returns, the
//! transaction is in the WAL and survives the process being killed (SIGKILL, OOM, panic). Power
//! loss or an OS crash may lose the last commits before a checkpoint; the file stays
//! consistent. Schema versions are tracked in `PRAGMA user_version`; a log written by a newer
//! build is refused rather than misread.
//!
//! # Concurrency
//! The server writes decisions through `DecisionLog` (one writer thread, group commit, answers
//! after commit) and everything else through `DecisionStore` (one connection behind a mutex;
//! call it from `spawn_blocking`). Both may be open on the same file at once, in one process or
//! several; SQLite's lock and the busy timeout order their writes.
//!
//! # Layout
//! - `records`: the types handed in and out, feedback validation and merging, the page cursor
//! - `schema`: connection settings and the migrations
//! - `decisions`, `feedback`, `events`: the SQL for each table
//! - `writer`: `DecisionLog`, the group-commit writer thread
//! - `export`: reviewed decisions as training rows (CSV)

mod decisions;
mod events;
pub mod export;
mod feedback;
mod records;
mod schema;
#[cfg(test)]
mod test_records;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub use events::Added;
pub use records::{
    Correction, Cursor, DecisionFilter, DecisionMeta, DecisionPage, DecisionRecord, DecisionSummary, Feedback, FeedbackInput,
    QueuedDecision, StoredDecision, DEFAULT_PAGE, MAX_LABEL_CHARS, MAX_NOTE_CHARS, MAX_PAGE,
};
pub use writer::DecisionLog;

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
    #[error("{path} was written by a newer triage (schema version {found}; this build knows up to {known})")]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    #[error("cannot use {path} as a decision log: {message}")]
    Open { path: PathBuf, message: String },
    #[error("decision log schema migration {version} failed: {source}")]
    Migration { version: usize, source: rusqlite::Error },
    /// A stored value that cannot be read back (edited by hand, or a bug that wrote it).
    #[error("decision {decision_id}: stored {column} is unreadable: {message}")]
    Corrupt { decision_id: String, column: &'static str, message: String },
    #[error("cannot encode the decision as JSON: {0}")]
    Encode(serde_json::Error),
    #[error("the decision log writer has stopped")]
    WriterStopped,
    #[error("decision log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("decision log: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads, feedback and retention over one connection. Cloning shares the connection; each call
/// blocks on disk, so async callers use `spawn_blocking`.
#[derive(Debug, Clone)]
pub struct DecisionStore {
    connection: Arc<Mutex<Connection>>,
}

impl DecisionStore {
    /// Opens the log at `path`, creating it (and its directory) on first use and applying any
    /// migrations it lacks.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let connection = schema::open(path.as_ref())?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)) })
    }

    /// A panic while the lock was held cannot leave the connection half-way: an open
    /// transaction rolls back when dropped. So a poisoned lock is still safe to use.
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `records` in one transaction, on the caller's thread. For the command line and
    /// tests; the server uses `DecisionLog` so its runtime never blocks.
    pub fn record(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        decisions::insert(&mut self.connection(), records)
    }

    /// The decision with every feedback version (oldest first); `None` for an unknown id.
    pub fn get(&self, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        decisions::get(&self.connection(), decision_id)
    }

    /// One page of decisions, newest first; see `DecisionFilter` for what each filter means.
    pub fn list(&self, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
        decisions::list(&self.connection(), filter)
    }

    /// Stores `input` as the decision's next feedback version and returns it as stored.
    /// `NotFound` for an unknown decision, `Invalid` naming the field for bad input.
    pub fn add_feedback(&self, decision_id: &str, input: FeedbackInput) -> Result<Feedback, StoreError> {
        feedback::add(&mut self.connection(), decision_id, input, Utc::now())
    }

    /// Appends what happened to the decided ticket, after checking it against its earlier
    /// events; the same event sent again is answered as stored and changes nothing.
    pub fn add_event(&self, decision_id: &str, event: crate::events::TicketEvent) -> Result<Added, StoreError> {
        events::add(&mut self.connection(), decision_id, event, Utc::now())
    }

    /// Every decision decided in `[since, until)`, oldest first, with feedback and events.
    pub fn between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<StoredDecision>, StoreError> {
        decisions::between(&self.connection(), &since, &until)
    }

    /// The decisions whose ticket is in `queue` now (after any reassignment), oldest first, with
    /// their events.
    pub fn in_queue(&self, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
        decisions::in_queue(&self.connection(), queue)
    }

    /// Every reviewed decision as a training row, oldest decision first.
    pub fn corrections(&self) -> Result<Vec<Correction>, StoreError> {
        feedback::corrections(&self.connection())
    }

    /// Deletes decisions (and their feedback) decided before `older_than`; returns how many.
    pub fn prune(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        decisions::prune(&mut self.connection(), &older_than)
    }
}
