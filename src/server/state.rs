//! What the server serves: the model and policy pair (`Loaded`), read from disk and validated
//! together, and swapped atomically on reload. A request takes one snapshot of the pair and
//! keeps it to the end, so it finishes on the versions it started with even across a reload.
//! No HTTP types here: handlers map `LoadError` to responses in `error`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::classify::{classify_now, ModelRef, PolicyRef};
use crate::model::EmbeddingEvidence;
use crate::model::{Classifier, ModelError};
use crate::policy::Policy;
use crate::policy_file::PolicyFileError;
use crate::store::{DecisionLog, DecisionStore, Location, StoreError};
use crate::ticket::TicketRequest;

/// Where the served model and policy come from; a reload reads them again from here.
#[derive(Debug, Clone)]
pub struct Sources {
    pub model_dir: PathBuf,
    pub policy_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Policy(#[from] PolicyFileError),
    #[error("the model and policy loaded but failed a trial classification: {0}")]
    Trial(String),
}

/// A model and the policy that decides on its predictions, served together.
pub struct Loaded {
    pub classifier: Arc<Classifier>,
    pub policy: Arc<Policy>,
}

/// The versions of a served pair, as `/readyz` and `/admin/reload` report them: the same
/// `model` / `policy` objects every classify response carries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Versions {
    pub model: ModelRef,
    pub policy: PolicyRef,
}

impl Loaded {
    pub fn new(classifier: Arc<Classifier>, policy: Arc<Policy>) -> Self {
        Self { classifier, policy }
    }

    /// Reads and verifies both files, then runs one trial ticket through the pair: a bundle
    /// that verifies but cannot predict, or a policy that fails on the model's labels, is
    /// refused here rather than on the first real ticket.
    pub fn read(sources: &Sources) -> Result<Self, LoadError> {
        let classifier = Classifier::load(&sources.model_dir)?;
        let policy = crate::classify::policy_for(&classifier, crate::policy_file::load(&sources.policy_path)?)
            .map_err(|e| LoadError::Trial(e.to_string()))?;
        let loaded = Self::new(Arc::new(classifier), Arc::new(policy));
        loaded.trial()?;
        Ok(loaded)
    }

    /// One ticket through the new pair, as a request would go: the model answers for every
    /// head and the policy decides.
    fn trial(&self) -> Result<(), LoadError> {
        let request = TicketRequest {
            subject: Some("Reload check".into()),
            body: Some("The checkout page fails with an error for every customer.".into()),
            ..TicketRequest::default()
        };
        let ticket = request.validate().map_err(|e| LoadError::Trial(e.message))?;
        let responses = classify_now(&self.classifier, &self.policy, &[&ticket], chrono::Utc::now(), EmbeddingEvidence::Shares)
            .map_err(|e| LoadError::Trial(e.to_string()))?;
        let response = responses.first().ok_or_else(|| LoadError::Trial("the model returned no prediction".into()))?;
        let heads = &self.classifier.manifest().heads;
        if response.predictions.len() != heads.len() {
            return Err(LoadError::Trial(format!("{} predictions for {} heads", response.predictions.len(), heads.len())));
        }
        Ok(())
    }

    pub fn versions(&self) -> Versions {
        Versions { model: ModelRef::of(&self.classifier), policy: PolicyRef { version: self.policy.version().to_string() } }
    }
}

/// The pair being served, swappable while requests read it.
pub struct Served {
    current: ArcSwap<Loaded>,
    sources: Sources,
    /// One reload at a time, so two reloads cannot interleave their swaps.
    reload_gate: tokio::sync::Mutex<()>,
}

/// The outcome of a successful reload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    pub previous: Versions,
    pub current: Versions,
}

impl Served {
    pub fn new(loaded: Loaded, sources: Sources) -> Self {
        Self { current: ArcSwap::from_pointee(loaded), sources, reload_gate: tokio::sync::Mutex::new(()) }
    }

    /// The pair to use for one whole request.
    pub fn snapshot(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Reads the sources again off the async runtime; swaps only when the new pair is valid,
    /// otherwise the old pair keeps serving and the reason is returned.
    pub async fn reload(&self) -> Result<Reloaded, LoadError> {
        let _one_at_a_time = self.reload_gate.lock().await;
        let sources = self.sources.clone();
        let loaded = tokio::task::spawn_blocking(move || Loaded::read(&sources))
            .await
            .map_err(|e| LoadError::Trial(format!("the reload task failed: {e}")))??;
        let current = loaded.versions();
        let previous = self.current.swap(Arc::new(loaded)).versions();
        Ok(Reloaded { previous, current })
    }
}

/// The decision log as the server uses it: classify writes through `log` (group commit,
/// durable before the answer), the review routes read and add feedback through `store`.
#[derive(Clone)]
pub struct Decisions {
    pub log: DecisionLog,
    pub store: DecisionStore,
}

impl Decisions {
    /// Opens (creating on first use) the log at `location`; `queue` bounds decisions waiting
    /// for the writer.
    pub async fn open(location: &Location, queue: usize) -> Result<Self, StoreError> {
        let store = DecisionStore::open(location).await?;
        Ok(Self { log: DecisionLog::start(&store, queue)?, store })
    }

    /// `open` for a SQLite file, without a runtime (tests and tools).
    pub fn open_file(path: &Path, queue: usize) -> Result<Self, StoreError> {
        let store = DecisionStore::open_file(path)?;
        Ok(Self { log: DecisionLog::start(&store, queue)?, store })
    }
}
