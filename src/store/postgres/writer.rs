//! The PostgreSQL decision writer: one task fed by a bounded channel takes whatever is queued
//! as one group, commits it in one statement and one transaction on a pooled connection, and
//! only then answers each caller (`group_commit`). A commit that takes longer than the
//! store's timeout is answered as unavailable, so classify answers 503 during an outage
//! instead of hanging. Writes only; reads go through `PostgresStore`.

use deadpool_postgres::Pool;
use tokio::sync::mpsc;

use super::super::group_commit::{next_group, submit, Job};
use super::super::{DecisionRecord, StoreError};
use super::{decisions, PostgresStore, TIMEOUT};

/// A cloneable handle to the writer task, which ends once every handle is dropped and the
/// queue is drained.
#[derive(Debug, Clone)]
pub struct PostgresWriter {
    sender: mpsc::Sender<Job>,
}

impl PostgresWriter {
    /// Starts the writer on `store`'s pool; `queue` bounds the `record` calls waiting for it.
    /// Must be called within a Tokio runtime.
    pub fn start(store: &PostgresStore, queue: usize) -> Self {
        let pool = store.pool.clone();
        let (sender, mut receiver) = mpsc::channel::<Job>(queue.max(1));
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let group = next_group(first, &mut receiver);
                commit_group(&pool, group).await;
            }
        });
        Self { sender }
    }

    /// Resolves once `records` are committed (or failed to be); see `group_commit::submit`.
    pub async fn record(&self, records: Vec<DecisionRecord>) -> Result<(), StoreError> {
        submit(&self.sender, records).await
    }
}

async fn commit<'a>(pool: &Pool, records: impl Iterator<Item = &'a DecisionRecord>) -> Result<(), StoreError> {
    let work = async {
        let mut client = pool.get().await?;
        decisions::insert(&mut client, records).await
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| StoreError::Unavailable(format!("the commit took longer than {} s", TIMEOUT.as_secs())))?
}

/// Commits the group's records together and answers every caller. Should that fail for a
/// reason other than the database being out of reach, each caller's records are retried
/// alone, so one bad record (a repeated decision id) fails only the caller that sent it.
async fn commit_group(pool: &Pool, mut group: Vec<Job>) {
    match commit(pool, group.iter().flat_map(|job| &job.records)).await {
        // A send fails only when the caller stopped waiting; its records are committed anyway.
        Ok(()) => {
            for job in group {
                let _ = job.reply.send(Ok(()));
            }
        }
        // Out of reach: retrying alone would only wait out the timeout once per caller.
        Err(StoreError::Unavailable(message)) => {
            for job in group {
                let _ = job.reply.send(Err(StoreError::Unavailable(message.clone())));
            }
        }
        Err(error) if group.len() == 1 => {
            if let Some(job) = group.pop() {
                let _ = job.reply.send(Err(error));
            }
        }
        Err(_) => {
            for job in group {
                let _ = job.reply.send(commit(pool, job.records.iter()).await);
            }
        }
    }
}
