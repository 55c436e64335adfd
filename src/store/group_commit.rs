//! What both engines' decision writers share: a caller's records travel as a `Job` on a
//! bounded channel with a one-shot reply, the writer takes the first job and everything queued
//! behind it as one group (one transaction, one commit for many requests), and answers each
//! caller once the group is committed. No SQL here; each engine commits its own way.

use tokio::sync::{mpsc, oneshot};

use super::{DecisionRecord, StoreError};

pub(super) struct Job {
    pub records: Vec<DecisionRecord>,
    pub reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Queues `records` and resolves once the writer has committed them (or failed to). A caller
/// that stops waiting does not take its records back: once queued they are committed all the
/// same.
pub(super) async fn submit(sender: &mpsc::Sender<Job>, records: Vec<DecisionRecord>) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let (reply, answer) = oneshot::channel();
    sender.send(Job { records, reply }).await.map_err(|_| StoreError::WriterStopped)?;
    answer.await.map_err(|_| StoreError::WriterStopped)?
}

/// `first` and every job already queued behind it.
pub(super) fn next_group(first: Job, receiver: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut group = vec![first];
    while let Ok(job) = receiver.try_recv() {
        group.push(job);
    }
    group
}

/// A job and the receiver of its answer, for the writers' tests.
#[cfg(test)]
pub(super) fn job(records: Vec<DecisionRecord>) -> (Job, oneshot::Receiver<Result<(), StoreError>>) {
    let (reply, answer) = oneshot::channel();
    (Job { records, reply }, answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_records::record;

    #[test]
    fn a_group_is_everything_queued_behind_the_first_job() {
        let (sender, mut receiver) = mpsc::channel(8);
        for id in ["a", "b", "c"] {
            let (job, _answer) = job(vec![record(id, "2026-11-24T09:00:00Z", "P2", "general", false)]);
            sender.try_send(job).unwrap();
        }
        let first = receiver.try_recv().unwrap();
        let group = next_group(first, &mut receiver);
        assert_eq!(group.len(), 3);
    }
}
