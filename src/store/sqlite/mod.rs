//! The decision log in one SQLite file: the embedded default, for one server (or several
//! processes on one machine). Blocking calls over `rusqlite`; the async facade in `store` runs
//! them on the blocking pool, and the writer has its own thread.
//!
//! # Durability
//! The log runs in WAL mode with `synchronous=NORMAL`: once a write call returns, the
//! transaction is in the WAL and survives the process being killed (SIGKILL, OOM, panic). Power
//! loss or an OS crash may lose the last commits before a checkpoint; the file stays
//! consistent. The schema version is kept in `PRAGMA user_version`; a log written by a newer
//! build is refused rather than misread.
//!
//! # Concurrency
//! Decisions are written through `SqliteWriter` (one writer thread, group commit, answers
//! after commit), everything else through `SqliteStore` (one connection behind a mutex). Both
//! may be open on the same file at once, in one process or several; SQLite's lock and the busy
//! timeout order their writes.
//!
//! # Layout
//! - `schema`: connection settings and running the shared migrations
//! - `decisions`, `feedback`, `events`: the SQL for each table
//! - `reported`: what reports read of a period, from `decision_facts`
//! - `writer`: `SqliteWriter`, the group-commit writer thread

mod decisions;
mod events;
mod feedback;
mod reported;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{
    Added, Correction, DecisionFilter, DecisionPage, DecisionRecord, Feedback, FeedbackInput, QueuedDecision, ReportedPeriod,
    Retention, StoreError, StoredDecision,
};
pub use writer::SqliteWriter;

/// Reads, feedback and retention over one connection. Cloning shares the connection; each call
/// blocks on disk.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    /// The file, for the writer that opens its own connection to it.
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the log at `path`, creating it (and its directory) on first use and applying any
    /// migrations it lacks.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let connection = schema::open(path.as_ref())?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)), path: path.as_ref().to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A panic while the lock was held cannot leave the connection half-way: an open
    /// transaction rolls back when dropped. So a poisoned lock is still safe to use.
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn record(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        decisions::insert(&mut self.connection(), records)
    }

    pub fn get(&self, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        decisions::get(&self.connection(), decision_id)
    }

    pub fn list(&self, filter: &DecisionFilter) -> Result<DecisionPage, StoreError> {
        decisions::list(&self.connection(), filter)
    }

    pub fn add_feedback(&self, decision_id: &str, input: FeedbackInput) -> Result<Feedback, StoreError> {
        feedback::add(&mut self.connection(), decision_id, input, Utc::now())
    }

    pub fn add_event(&self, decision_id: &str, event: crate::events::TicketEvent) -> Result<Added, StoreError> {
        events::add(&mut self.connection(), decision_id, event, Utc::now())
    }

    pub fn between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<StoredDecision>, StoreError> {
        decisions::between(&self.connection(), &since, &until)
    }

    pub fn reported(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<ReportedPeriod, StoreError> {
        reported::period(self.path(), &since, &until)
    }

    pub fn in_queue(&self, queue: &str) -> Result<Vec<QueuedDecision>, StoreError> {
        decisions::in_queue(&self.connection(), queue)
    }

    pub fn corrections(&self) -> Result<Vec<Correction>, StoreError> {
        feedback::corrections(&self.connection())
    }

    pub fn prune(&self, retention: &Retention) -> Result<Option<usize>, StoreError> {
        decisions::prune(&mut self.connection(), retention)
    }
}
