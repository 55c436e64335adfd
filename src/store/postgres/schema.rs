//! Bringing a PostgreSQL log's schema up to date: the shared migrations
//! (`store::migrations`) in PostgreSQL's dialect, the version kept in `triage_schema`. The
//! whole run holds a transaction-scoped advisory lock, so servers starting together run each
//! migration once and none reads a half-migrated schema. No queries over decisions here.

use tokio_postgres::Client;

use super::super::migrations::{known_version, MIGRATIONS};
use super::super::StoreError;

/// The advisory lock key migrations hold (an arbitrary constant: "triage" in ASCII).
const MIGRATION_LOCK: i64 = 0x7472_6961_6765;

/// Applies the migrations the log has not run yet, all in one transaction. `shown` names the
/// log in errors (its URL without password).
pub(super) async fn migrate(client: &mut Client, shown: &str) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    // Every open finds the version table there already: not worth a notice in the log.
    transaction.batch_execute("SET LOCAL client_min_messages = warning").await?;
    transaction.batch_execute("CREATE TABLE IF NOT EXISTS triage_schema (version BIGINT NOT NULL)").await?;
    let found: Option<i64> = transaction.query_opt("SELECT version FROM triage_schema", &[]).await?.map(|row| row.get(0));
    let known = known_version();
    let applied = found.unwrap_or(0);
    if applied > known {
        return Err(StoreError::NewerSchema { log: shown.to_string(), found: applied, known });
    }
    let applied = usize::try_from(applied)
        .map_err(|_| StoreError::Open { log: shown.to_string(), message: format!("negative schema version {applied}") })?;
    for (version, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction
            .batch_execute(migration.postgres)
            .await
            .map_err(|e| StoreError::Migration { version: version + 1, message: e.to_string() })?;
    }
    if found.is_none() {
        transaction.execute("INSERT INTO triage_schema (version) VALUES ($1)", &[&known]).await?;
    } else {
        transaction.execute("UPDATE triage_schema SET version = $1", &[&known]).await?;
    }
    transaction.commit().await?;
    Ok(())
}
