//! Stores of immutable versions, for models and policies alike: a directory of versions (model
//! bundles as subdirectories, policies as files) and `registry.json` naming the active one
//! with the history of every promotion and rollback (when, by whom, forced or not, with which
//! measures). `--model` and `--policy` may name a store instead of a bundle or a file: the
//! server then serves the active version, and a reload after a promotion or a rollback
//! switches to the new one.
//!
//! The registry's rules (`promote`, `rollback`) are pure; reading and writing the file (atomic:
//! a new file renamed over the old) are the only I/O here.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A registry that cannot be read or written, or a store with nothing promoted yet.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RegistryError {
    pub path: String,
    pub message: String,
}

/// The registry's file name inside a store.
pub const REGISTRY: &str = "registry.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Passed the quality gate.
    Promote,
    /// Promoted although the gate refused it (`--force`), recorded as such.
    ForcedPromote,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryEntry {
    pub at: DateTime<Utc>,
    pub action: Action,
    /// The version (a bundle directory or a policy file in the store) that became active.
    pub bundle: String,
    /// The version that was active before, if any.
    pub previous: Option<String>,
    pub by: String,
    /// The measures the decision was taken on (per head: active and candidate).
    #[serde(default)]
    pub metrics: serde_json::Value,
}

/// One line of history: `2026-12-02T13:45:05Z Promote m2 (was m1) by ana`.
impl std::fmt::Display for RegistryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} {} (was {}) by {}",
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.action,
            self.bundle,
            self.previous.as_deref().unwrap_or("none"),
            self.by
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// The active version, a name inside the store; `None` before the first promotion.
    pub active: Option<String>,
    pub history: Vec<RegistryEntry>,
}

impl Registry {
    /// Makes `bundle` active.
    pub fn promote(&mut self, bundle: &str, forced: bool, by: &str, metrics: serde_json::Value, at: DateTime<Utc>) {
        let action = if forced { Action::ForcedPromote } else { Action::Promote };
        self.history.push(RegistryEntry {
            at,
            action,
            bundle: bundle.to_string(),
            previous: self.active.clone(),
            by: by.to_string(),
            metrics,
        });
        self.active = Some(bundle.to_string());
    }

    /// Makes the bundle that was active before the active one's promotion active again, and
    /// says which it is; `None` when the active bundle was the first.
    pub fn rollback(&mut self, by: &str, at: DateTime<Utc>) -> Option<String> {
        let active = self.active.clone()?;
        let previous = self
            .history
            .iter()
            .rev()
            .find(|entry| entry.bundle == active && entry.action != Action::Rollback)
            .and_then(|entry| entry.previous.clone())?;
        self.history.push(RegistryEntry {
            at,
            action: Action::Rollback,
            bundle: previous.clone(),
            previous: Some(active),
            by: by.to_string(),
            metrics: serde_json::Value::Null,
        });
        self.active = Some(previous.clone());
        Some(previous)
    }
}

fn store_error(store: &Path, message: impl Into<String>) -> RegistryError {
    RegistryError { path: store.join(REGISTRY).display().to_string(), message: message.into() }
}

/// Whether `dir` is a store (it holds a registry).
pub fn is_store(dir: &Path) -> bool {
    dir.join(REGISTRY).is_file()
}

/// The store's registry; an empty one where the store has none yet.
pub fn read(store: &Path) -> Result<Registry, RegistryError> {
    let path = store.join(REGISTRY);
    if !path.exists() {
        return Ok(Registry::default());
    }
    let text = std::fs::read(&path).map_err(|e| store_error(store, e.to_string()))?;
    serde_json::from_slice(&text).map_err(|e| store_error(store, format!("not a registry: {e}")))
}

/// Writes the registry: a new file renamed over the old, so a reader sees one or the other.
pub fn write(store: &Path, registry: &Registry) -> Result<(), RegistryError> {
    let text = serde_json::to_vec_pretty(registry).map_err(|e| store_error(store, e.to_string()))?;
    let partial = store.join(format!(".{REGISTRY}.partial"));
    std::fs::write(&partial, text).map_err(|e| store_error(store, e.to_string()))?;
    std::fs::rename(&partial, store.join(REGISTRY)).map_err(|e| store_error(store, e.to_string()))
}

/// What `path` stands for: the store's active version when `path` is a store, else `path`.
pub fn resolve(path: &Path) -> Result<PathBuf, RegistryError> {
    if !is_store(path) {
        return Ok(path.to_path_buf());
    }
    let active = read(path)?.active.ok_or_else(|| store_error(path, "nothing has been promoted yet"))?;
    Ok(path.join(active))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_795_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn rollback_walks_back_through_promotions() {
        let mut registry = Registry::default();
        assert_eq!(registry.rollback("ops", at(0)), None, "nothing to roll back");
        registry.promote("m1", false, "ana", serde_json::Value::Null, at(1));
        assert_eq!(registry.rollback("ops", at(2)), None, "the first bundle has no predecessor");
        registry.promote("m2", false, "ana", serde_json::Value::Null, at(3));
        registry.promote("m3", true, "bo", serde_json::Value::Null, at(4));
        assert_eq!(registry.history[2].action, Action::ForcedPromote);
        assert_eq!(registry.rollback("ops", at(5)).as_deref(), Some("m2"));
        assert_eq!(registry.rollback("ops", at(6)).as_deref(), Some("m1"));
        assert_eq!(registry.active.as_deref(), Some("m1"));
        assert_eq!(registry.history.last().map(|e| (e.action, e.previous.as_deref())), Some((Action::Rollback, Some("m2"))));
    }

    #[test]
    fn a_store_resolves_to_its_active_bundle_and_a_bundle_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve(dir.path()).unwrap(), dir.path(), "no registry: the directory is the bundle");
        let mut registry = Registry::default();
        write(dir.path(), &registry).unwrap();
        assert!(resolve(dir.path()).unwrap_err().to_string().contains("nothing has been promoted"));
        registry.promote("m1", false, "ana", serde_json::json!({"urgency": 0.5}), at(0));
        write(dir.path(), &registry).unwrap();
        assert_eq!(read(dir.path()).unwrap(), registry);
        assert_eq!(resolve(dir.path()).unwrap(), dir.path().join("m1"));
    }
}
