//! Opening a connection the way the decision log needs it (WAL, `synchronous=NORMAL`, a busy
//! timeout, foreign keys) and bringing the schema up to date: numbered migrations tracked in
//! `PRAGMA user_version`. No queries over decisions here.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// How long a connection waits for another one's write lock before failing with "busy". The
/// writer thread, feedback and pruning share the one write lock; each holds it for
/// milliseconds, so waiting this long means something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only: a released
/// migration is never edited, because logs in the field have already run it.
///
/// `decided_at` / `created_at` are RFC 3339 UTC text of fixed width (see
/// `records::format_time`), so text order is time order. Feedback rows are keyed by
/// (decision, version): a new version is a new row, never an update.
///
/// Migration 2 moves corrected labels from one column per built-in head into one JSON object
/// keyed by head name (`labels`), so a model with other heads needs no schema change; the
/// labels already recorded move with it. Migration 3 adds what happened to each ticket after
/// its decision (`events`, see `crate::events`), in the order it was recorded.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE decisions (
        decision_id    TEXT PRIMARY KEY NOT NULL,
        ticket_id      TEXT,
        decided_at     TEXT NOT NULL,
        priority       TEXT NOT NULL,
        queue          TEXT NOT NULL,
        needs_review   INTEGER NOT NULL CHECK (needs_review IN (0, 1)),
        model_name     TEXT NOT NULL,
        model_version  TEXT NOT NULL,
        policy_version TEXT NOT NULL,
        request        TEXT NOT NULL,
        response       TEXT NOT NULL
    );
    CREATE INDEX decisions_by_time ON decisions (decided_at, decision_id);
    CREATE TABLE feedback (
        decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
        version     INTEGER NOT NULL CHECK (version >= 1),
        created_at  TEXT NOT NULL,
        reviewer    TEXT NOT NULL,
        note        TEXT,
        priority    TEXT,
        urgency     TEXT,
        sentiment   TEXT,
        category    TEXT,
        PRIMARY KEY (decision_id, version)
    ) WITHOUT ROWID;
",
    "
    ALTER TABLE feedback ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
    UPDATE feedback SET labels = (
        SELECT json_group_object(key, value)
        FROM json_each(json_object('urgency', urgency, 'sentiment', sentiment, 'category', category))
        WHERE value IS NOT NULL
    );
    ALTER TABLE feedback DROP COLUMN urgency;
    ALTER TABLE feedback DROP COLUMN sentiment;
    ALTER TABLE feedback DROP COLUMN category;
",
    "
    CREATE TABLE events (
        decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        event_id    TEXT NOT NULL,
        kind        TEXT NOT NULL,
        at          TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        event       TEXT NOT NULL,
        PRIMARY KEY (decision_id, seq),
        UNIQUE (decision_id, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_time ON events (at);
",
];

/// The schema version this build writes: the number of migrations (a handful, so the cast is
/// exact; SQLite keeps `user_version` as a signed integer).
fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating it and its directory on first use) and migrates the log at `path`.
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets the review API read while the writer commits. With synchronous=NORMAL a commit
    // is in the WAL (the OS's cache) before it returns, so it survives the process being
    // killed; only power loss or an OS crash can lose the last commits before a checkpoint.
    let mode: String = connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open { path: path.into(), message: format!("journal mode is {mode}, WAL is required") });
    }
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut connection, path)?;
    Ok(connection)
}

/// Applies the migrations the log has not run yet, all in one transaction. IMMEDIATE takes the
/// write lock before `user_version` is read, so two processes opening a new log at once run
/// each migration once.
fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = known_version();
    if found > known {
        return Err(StoreError::NewerSchema { path: path.into(), found, known });
    }
    let applied = usize::try_from(found)
        .map_err(|_| StoreError::Open { path: path.into(), message: format!("negative schema version {found}") })?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction.execute_batch(sql).map_err(|source| StoreError::Migration { version: version + 1, source })?;
    }
    transaction.pragma_update(None, "user_version", known)?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma<T: rusqlite::types::FromSql>(connection: &Connection, name: &str) -> T {
        connection.pragma_query_value(None, name, |row| row.get(0)).unwrap()
    }

    fn tables(connection: &Connection) -> Vec<String> {
        let mut statement = connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn first_open_creates_the_schema_and_reopening_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/decisions.db");
        let first = open(&path).unwrap();
        assert_eq!(tables(&first), ["decisions", "events", "feedback"]);
        assert_eq!(pragma::<i64>(&first, "user_version"), known_version());
        assert_eq!(pragma::<String>(&first, "journal_mode"), "wal");
        assert_eq!(pragma::<i64>(&first, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma::<i64>(&first, "foreign_keys"), 1);
        assert!(pragma::<i64>(&first, "busy_timeout") > 0);
        drop(first);

        let again = open(&path).unwrap();
        assert_eq!(tables(&again), ["decisions", "events", "feedback"]);
        assert_eq!(pragma::<i64>(&again, "user_version"), known_version());
    }

    #[test]
    fn labels_recorded_before_the_labels_column_move_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.db");
        {
            let first = Connection::open(&path).unwrap();
            first.execute_batch(MIGRATIONS[0]).unwrap();
            first.pragma_update(None, "user_version", 1).unwrap();
            first
                .execute_batch(
                    "INSERT INTO decisions VALUES ('d-1', NULL, '2026-11-24T09:30:00.000000Z', 'P1', 'incidents', 1, \
                         'default', '1', 'p1', '{}', '{}');
                     INSERT INTO feedback VALUES ('d-1', 1, '2026-11-24T10:00:00.000000Z', 'ana', NULL, 'P2', NULL, NULL, 'billing');
                     INSERT INTO feedback VALUES ('d-1', 2, '2026-11-24T11:00:00.000000Z', 'bo', 'fine', NULL, NULL, NULL, NULL);",
                )
                .unwrap();
        }
        let migrated = open(&path).unwrap();
        assert_eq!(pragma::<i64>(&migrated, "user_version"), known_version());
        let mut statement = migrated.prepare("SELECT labels FROM feedback ORDER BY version").unwrap();
        let labels: Vec<String> = statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(labels, [r#"{"category":"billing"}"#, "{}"]);
    }

    #[test]
    fn a_log_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.db");
        open(&path).unwrap().pragma_update(None, "user_version", known_version() + 1).unwrap();
        match open(&path) {
            Err(StoreError::NewerSchema { found, known, .. }) => {
                assert_eq!((found, known), (known_version() + 1, known_version()))
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
    }
}
