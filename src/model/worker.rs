//! The model worker: one OS thread that owns the CPU-heavy work, fed by a bounded channel so
//! the async runtime never blocks on the model. Requests that arrive together are run as
//! one batch (dynamic batching). A full queue is refused at once (`WorkerError::Busy`) rather
//! than queued, so callers can answer 429 instead of piling up latency.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{Analysis, Classifier, EmbeddingEvidence};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the model queue is full")]
    Busy,
    #[error("the model worker has stopped")]
    Stopped,
    #[error("prediction failed: {0}")]
    Failed(String),
}

struct Job {
    classifier: Arc<Classifier>,
    /// Model text and body start of each ticket.
    texts: Vec<(String, usize)>,
    reply: oneshot::Sender<Result<Vec<Analysis>, String>>,
}

#[derive(Clone)]
pub struct ModelWorker {
    sender: mpsc::Sender<Job>,
}

/// Runs `jobs` (all for the same classifier) as one batch and answers each.
fn run_batch(jobs: Vec<Job>, evidence: EmbeddingEvidence) {
    let classifier = Arc::clone(&jobs[0].classifier);
    let texts: Vec<(&str, usize)> = jobs.iter().flat_map(|j| j.texts.iter().map(|(t, b)| (t.as_str(), *b))).collect();
    match classifier.analyse_with(&texts, evidence) {
        Ok(mut predictions) => {
            for job in jobs {
                let rest = predictions.split_off(job.texts.len());
                let _ = job.reply.send(Ok(predictions));
                predictions = rest;
            }
        }
        Err(error) => {
            let message = error.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(message.clone()));
            }
        }
    }
}

impl ModelWorker {
    /// Starts the worker thread. `queue` bounds waiting requests; `max_batch` bounds the
    /// tickets run in one forward pass; `evidence` says how the evidence of heads that read
    /// the embedding is weighed; `on_batch` hears the size of each forward pass.
    pub fn spawn(queue: usize, max_batch: usize, evidence: EmbeddingEvidence, on_batch: impl Fn(usize) + Send + 'static) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Job>(queue.max(1));
        std::thread::Builder::new()
            .name("triage-model".into())
            .spawn(move || {
                while let Some(first) = receiver.blocking_recv() {
                    let mut tickets = first.texts.len();
                    let mut batch = vec![first];
                    let mut held_over = None;
                    while tickets < max_batch {
                        match receiver.try_recv() {
                            Ok(job) if Arc::ptr_eq(&job.classifier, &batch[0].classifier) => {
                                tickets += job.texts.len();
                                batch.push(job);
                            }
                            Ok(job) => {
                                held_over = Some(job);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    on_batch(tickets);
                    run_batch(batch, evidence);
                    if let Some(job) = held_over {
                        on_batch(job.texts.len());
                        run_batch(vec![job], evidence);
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the model thread: {e}"));
        Self { sender }
    }

    /// Whether the model thread is still taking jobs (it drops its end of the channel when it
    /// stops, for example after a panic).
    pub fn is_running(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Requests waiting for the model thread.
    pub fn queue_depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    /// Analyses `texts` (model text, body start) with `classifier`; the classifier travels
    /// with the job so a request finishes on the model version it started with, even across
    /// a reload.
    pub async fn analyse(&self, classifier: Arc<Classifier>, texts: Vec<(String, usize)>) -> Result<Vec<Analysis>, WorkerError> {
        let (reply, answer) = oneshot::channel();
        self.sender.try_send(Job { classifier, texts, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => WorkerError::Busy,
            mpsc::error::TrySendError::Closed(_) => WorkerError::Stopped,
        })?;
        answer.await.map_err(|_| WorkerError::Stopped)?.map_err(WorkerError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[tokio::test]
    async fn a_worker_whose_thread_died_says_so_and_refuses_jobs() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
        let classifier = Arc::new(Classifier::load(&model).expect("default model"));
        let running = ModelWorker::spawn(4, 8, EmbeddingEvidence::Shares, |_| {});
        assert!(running.is_running());
        let analysed = running.analyse(Arc::clone(&classifier), vec![("printer on fire".into(), 0)]).await;
        assert!(analysed.is_ok_and(|a| a.len() == 1));

        // A panic on the model thread (here in the batch callback) ends it.
        let dying = ModelWorker::spawn(4, 8, EmbeddingEvidence::Shares, |_| panic!("the model thread fails"));
        let first = dying.analyse(Arc::clone(&classifier), vec![("printer on fire".into(), 0)]).await;
        assert!(matches!(first, Err(WorkerError::Stopped)), "{first:?}");
        // The reply is dropped as the thread unwinds, a moment before its end of the channel.
        let stopped = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            !dying.is_running()
        });
        assert!(stopped, "/readyz reads this to stop answering ready");
        let later = dying.analyse(classifier, vec![("another".into(), 0)]).await;
        assert!(matches!(later, Err(WorkerError::Stopped)), "{later:?}");
    }
}
