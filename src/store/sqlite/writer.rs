//! The decision log's writer: one OS thread owning the write connection, fed by a bounded
//! channel, so the async runtime never waits on disk. Whatever is queued when the thread wakes
//! is committed in ONE transaction (group commit: one WAL append for many requests), and only
//! then is each caller answered, so a handler that awaited `record` knows its decisions are
//! durable before it answers the helpdesk. Writes only; reads go through `SqliteStore`.

use std::path::Path;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::super::group_commit::{next_group, Job};
use super::super::{DecisionRecord, StoreError};
use super::{decisions, schema};

/// A cloneable handle to the writer thread. The thread ends once every handle is dropped and
/// the queue is drained, so no accepted record is left uncommitted.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    sender: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens (creating and migrating) the log at `path` and starts its writer thread. `queue`
    /// bounds the `record` calls waiting for the writer; past it callers wait for room.
    pub fn open(path: impl AsRef<Path>, queue: usize) -> Result<Self, StoreError> {
        let mut connection = schema::open(path.as_ref())?;
        let (sender, mut receiver) = mpsc::channel::<Job>(queue.max(1));
        std::thread::Builder::new().name("triage-decision-log".into()).spawn(move || {
            while let Some(first) = receiver.blocking_recv() {
                let group = next_group(first, &mut receiver);
                commit_group(&mut connection, group);
            }
        })?;
        Ok(Self { sender })
    }

    /// Resolves once `records` are committed (or failed to be); see `group_commit::submit`.
    pub async fn record(&self, records: Vec<DecisionRecord>) -> Result<(), StoreError> {
        super::super::group_commit::submit(&self.sender, records).await
    }
}

/// Commits the group's records in one transaction and answers every caller. Should that fail,
/// each caller's records are retried alone, so one bad record (say, a repeated decision id)
/// fails only the caller that sent it, not the ones that happened to share its transaction.
fn commit_group(connection: &mut Connection, mut group: Vec<Job>) {
    match decisions::insert(connection, group.iter().flat_map(|job| &job.records)) {
        // A send fails only when the caller stopped waiting; its records are committed anyway.
        Ok(()) => {
            for job in group {
                let _ = job.reply.send(Ok(()));
            }
        }
        Err(error) if group.len() == 1 => {
            if let Some(job) = group.pop() {
                let _ = job.reply.send(Err(error));
            }
        }
        Err(_) => {
            for job in group {
                let _ = job.reply.send(decisions::insert(connection, &job.records));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_records::{record, temp_store};

    use super::super::super::group_commit::job;

    /// Frames in the WAL: each commit appends the pages it changed, so this counts commits'
    /// cost without hooks into SQLite.
    fn wal_frames(connection: &Connection) -> i64 {
        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1)).unwrap()
    }

    #[test]
    fn a_group_costs_one_commit() {
        let queued = |store_dir: &tempfile::TempDir, grouped: bool| {
            let path = store_dir.path().join("decisions.db");
            let mut connection = schema::open(&path).unwrap();
            let before = wal_frames(&connection);
            let jobs: Vec<_> =
                (0..8).map(|i| job(vec![record(&format!("d-{i}"), "2026-11-24T09:00:00Z", "P2", "general", false)])).collect();
            let (jobs, answers): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
            if grouped {
                commit_group(&mut connection, jobs);
            } else {
                for job in jobs {
                    commit_group(&mut connection, vec![job]);
                }
            }
            for mut answer in answers {
                assert!(matches!(answer.try_recv(), Ok(Ok(()))));
            }
            wal_frames(&connection) - before
        };
        let (grouped_dir, _) = temp_store();
        let (separate_dir, _) = temp_store();
        let grouped = queued(&grouped_dir, true);
        let separate = queued(&separate_dir, false);
        assert!(grouped * 3 <= separate, "one group wrote {grouped} WAL frames, eight commits {separate}");
    }

    #[test]
    fn a_bad_record_fails_only_its_own_caller() {
        let (dir, store) = temp_store();
        store.record(&[record("taken", "2026-11-24T08:00:00Z", "P2", "general", false)]).unwrap();
        let mut connection = schema::open(&dir.path().join("decisions.db")).unwrap();
        let (good, mut good_answer) = job(vec![record("fresh", "2026-11-24T09:00:00Z", "P2", "general", false)]);
        let (bad, mut bad_answer) = job(vec![record("taken", "2026-11-24T09:00:00Z", "P2", "general", false)]);
        commit_group(&mut connection, vec![good, bad]);
        assert!(matches!(good_answer.try_recv(), Ok(Ok(()))));
        assert!(matches!(bad_answer.try_recv(), Ok(Err(StoreError::Sqlite(_)))));
        assert!(store.get("fresh").unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_are_visible_to_another_connection_as_soon_as_record_returns() {
        let (dir, store) = temp_store();
        let log = SqliteWriter::open(dir.path().join("decisions.db"), 4).unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (log, store) = (log.clone(), store.clone());
                tokio::spawn(async move {
                    let ids = [format!("d-{i}-a"), format!("d-{i}-b")];
                    let records = ids.iter().map(|id| record(id, "2026-11-24T09:00:00Z", "P2", "general", false)).collect();
                    log.record(records).await.unwrap();
                    for id in &ids {
                        assert!(store.get(id).unwrap().is_some(), "{id} not visible after record returned");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let page = store.list(&crate::store::DecisionFilter { limit: 100, ..Default::default() }).unwrap();
        assert_eq!(page.items.len(), 64);
        assert_eq!(log.record(Vec::new()).await.ok(), Some(()));
    }
}
