//! Shared fixtures: the committed default model, loaded once.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use triage::model::Classifier;

pub fn default_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default")
}

pub fn default_classifier() -> Arc<Classifier> {
    static CLASSIFIER: OnceLock<Arc<Classifier>> = OnceLock::new();
    Arc::clone(CLASSIFIER.get_or_init(|| Arc::new(Classifier::load(&default_model_dir()).expect("default model loads"))))
}

pub fn default_policy() -> triage::policy::Policy {
    triage::policy_file::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/policy.toml")).expect("default policy")
}

/// A copy of the default bundle in a temporary directory, to corrupt.
pub fn bundle_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(default_model_dir()).expect("model dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}
