//! Opening a connection the way the decision log needs it (WAL, `synchronous=NORMAL`, a busy
//! timeout, foreign keys) and bringing the schema up to date: the shared migrations
//! (`store::migrations`) in SQLite's dialect, the version tracked in `PRAGMA user_version`. No
//! queries over decisions here.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::super::migrations::{known_version, MIGRATIONS};
use super::super::StoreError;

/// How long a connection waits for another one's write lock before failing with "busy". The
/// writer thread, feedback and pruning share the one write lock; each holds it for
/// milliseconds, so waiting this long means something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
        return Err(StoreError::Open {
            log: path.display().to_string(),
            message: format!("journal mode is {mode}, WAL is required"),
        });
    }
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut connection, path)?;
    Ok(connection)
}

/// A read-only connection to the log at `path`, which `open` has created and migrated: for
/// long reads that should neither wait for nor hold up the store's own connection.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
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
        return Err(StoreError::NewerSchema { log: path.display().to_string(), found, known });
    }
    let applied = usize::try_from(found)
        .map_err(|_| StoreError::Open { log: path.display().to_string(), message: format!("negative schema version {found}") })?;
    for (version, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction
            .execute_batch(migration.sqlite)
            .map_err(|e| StoreError::Migration { version: version + 1, message: e.to_string() })?;
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
        assert_eq!(
            tables(&first),
            ["decision_facts", "decisions", "events", "feedback", "maintenance", "registries", "registry_files"]
        );
        assert_eq!(pragma::<i64>(&first, "user_version"), known_version());
        assert_eq!(pragma::<String>(&first, "journal_mode"), "wal");
        assert_eq!(pragma::<i64>(&first, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma::<i64>(&first, "foreign_keys"), 1);
        assert!(pragma::<i64>(&first, "busy_timeout") > 0);
        drop(first);

        let again = open(&path).unwrap();
        assert_eq!(
            tables(&again),
            ["decision_facts", "decisions", "events", "feedback", "maintenance", "registries", "registry_files"]
        );
        assert_eq!(pragma::<i64>(&again, "user_version"), known_version());
    }

    #[test]
    fn labels_recorded_before_the_labels_column_move_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.db");
        {
            let first = Connection::open(&path).unwrap();
            first.execute_batch(MIGRATIONS[0].sqlite).unwrap();
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
