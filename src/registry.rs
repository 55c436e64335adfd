//! Stores of immutable versions, for models and policies alike: a directory of versions (model
//! bundles as subdirectories, policies as files) and `registry.json` naming the active one
//! with the history of every promotion and rollback (when, by whom, forced or not, with which
//! measures). `--model` and `--policy` may name a store instead of a bundle or a file: the
//! server then serves the active version, and a reload after a promotion or a rollback
//! switches to the new one.
//!
//! A store is a directory, or a `postgres://` URL naming the database servers share: there the
//! registry of each kind (`Kind`) and every version's files live in tables
//! (`store::postgres::registry`), and a server resolves the active version by writing its
//! files once into a local cache directory (versions never change, so a cached one is reused).
//!
//! The registry's rules (`promote`, `rollback`) are pure; reading and writing the registry
//! (atomic: a new file renamed over the old, or one transaction) and copying versions are the
//! only I/O here.

use std::future::Future;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::postgres::PostgresStore;
use crate::store::StoreError;

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

/// What `path` stands for: the store's active version when `path` is a store (a directory
/// with a registry, or a database URL), else `path`.
pub fn resolve(path: &Path, kind: Kind) -> Result<PathBuf, RegistryError> {
    match Store::at(path, kind) {
        Store::Dir(dir) if !is_store(&dir) => Ok(dir),
        store => store.active_path(),
    }
}

/// What a store holds; in a shared database it names the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Model,
    Policy,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Policy => "policy",
        }
    }
}

/// A store of model bundles or policies: a directory, or the tables of a shared database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Dir(PathBuf),
    Database { url: String, kind: Kind },
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::Database { url, kind } => {
                write!(f, "the {} store in {}", kind.name(), crate::store::Location::Postgres(url.clone()))
            }
        }
    }
}

/// Runs `work` on the database at `url`, from blocking code: on a thread of its own with its
/// own runtime, so it works whether or not the caller is inside one.
fn on_database<T: Send, F: Future<Output = Result<T, StoreError>>>(
    url: &str,
    work: impl FnOnce(PostgresStore) -> F + Send,
) -> Result<T, RegistryError> {
    let failed = |message: String| RegistryError { path: crate::store::Location::Postgres(url.to_string()).to_string(), message };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async { work(PostgresStore::open(url).await?).await }).map_err(std::io::Error::other)
            })
            .join()
    })
    .map_err(|_| failed("the registry thread panicked".into()))?
    .map_err(|e| failed(e.to_string()))
}

/// A version's files as stored in a database: a directory's regular files by name (bundles
/// are flat), or a single file under the empty path.
fn version_files(source: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    if !source.is_dir() {
        return Ok(vec![(String::new(), std::fs::read(source)?)]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push((entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path())?));
        }
    }
    Ok(files)
}

/// Copies a version (a bundle directory or a policy file) to `to`, through a partial copy
/// renamed into place, so a reader never sees half a version.
fn copy_version(from: &Path, to: &Path) -> std::io::Result<()> {
    let partial = to.with_extension(format!("partial-{}", std::process::id()));
    if from.is_dir() {
        std::fs::create_dir_all(&partial)?;
        for (name, content) in version_files(from)? {
            std::fs::write(partial.join(name), content)?;
        }
    } else {
        std::fs::copy(from, &partial)?;
    }
    std::fs::rename(&partial, to)
}

/// Where a database store's versions are written for loading: `TRIAGE_REGISTRY_CACHE`, else
/// the system's temporary directory; one subdirectory per database and kind.
fn cache_dir(url: &str, kind: Kind) -> PathBuf {
    use sha2::Digest;
    let root =
        std::env::var_os("TRIAGE_REGISTRY_CACHE").map_or_else(|| std::env::temp_dir().join("triage-registry"), PathBuf::from);
    let database: String = sha2::Sha256::digest(url.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
    root.join(database).join(kind.name())
}

impl Store {
    /// The store at `path`: a database when it is a `postgres://` URL, else a directory.
    pub fn at(path: &Path, kind: Kind) -> Self {
        match path.to_string_lossy().parse::<crate::store::Location>() {
            Ok(crate::store::Location::Postgres(url)) => Self::Database { url, kind },
            _ => Self::Dir(path.to_path_buf()),
        }
    }

    fn error(&self, message: impl Into<String>) -> RegistryError {
        match self {
            Self::Dir(dir) => store_error(dir, message),
            Self::Database { .. } => RegistryError { path: self.to_string(), message: message.into() },
        }
    }

    /// The registry; an empty one where nothing was promoted yet.
    pub fn read(&self) -> Result<Registry, RegistryError> {
        match self {
            Self::Dir(dir) => read(dir),
            Self::Database { url, kind } => on_database(url, |store| async move { store.registry(kind.name()).await }),
        }
    }

    /// Applies `change` to the registry and stores it (in a database, under its lock).
    pub fn update<T: Send>(&self, change: impl FnOnce(&mut Registry) -> T + Send) -> Result<T, RegistryError> {
        match self {
            Self::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| self.error(e.to_string()))?;
                let mut registry = read(dir)?;
                let answer = change(&mut registry);
                write(dir, &registry)?;
                Ok(answer)
            }
            Self::Database { url, kind } => {
                on_database(url, |store| async move { store.update_registry(kind.name(), change).await })
            }
        }
    }

    /// Adds the version at `source` (a bundle directory or a policy file) as `name`, unless a
    /// version of that name is stored already (versions are immutable: same name, same content).
    pub fn add_version(&self, name: &str, source: &Path) -> Result<(), RegistryError> {
        let unreadable = |e: std::io::Error| self.error(format!("{}: {e}", source.display()));
        match self {
            Self::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| self.error(e.to_string()))?;
                let destination = dir.join(name);
                if !destination.exists() {
                    copy_version(source, &destination).map_err(unreadable)?;
                }
                Ok(())
            }
            Self::Database { url, kind } => {
                let files = version_files(source).map_err(unreadable)?;
                on_database(url, |store| async move { store.add_version(kind.name(), name, &files).await }).map(|_| ())
            }
        }
    }

    /// The names of the stored versions, sorted.
    pub fn versions(&self) -> Result<Vec<String>, RegistryError> {
        match self {
            Self::Dir(dir) => {
                let entries = std::fs::read_dir(dir).map_err(|e| self.error(e.to_string()))?;
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name != REGISTRY && !name.starts_with('.') && !name.contains(".partial"))
                    .collect();
                names.sort();
                Ok(names)
            }
            Self::Database { url, kind } => on_database(url, |store| async move { store.versions(kind.name()).await }),
        }
    }

    /// One file of a version (`file` inside a bundle), `None` where it has none.
    pub fn version_file(&self, name: &str, file: &str) -> Result<Option<Vec<u8>>, RegistryError> {
        match self {
            Self::Dir(dir) => Ok(std::fs::read(dir.join(name).join(file)).ok()),
            Self::Database { url, kind } => {
                let found = on_database(url, |store| async move { store.version_files(kind.name(), name, Some(file)).await })?;
                Ok(found.into_iter().next().map(|(_, content)| content))
            }
        }
    }

    /// The active version's path on this machine: inside the store directory, or written once
    /// into the local cache from the database.
    pub fn active_path(&self) -> Result<PathBuf, RegistryError> {
        let unpromoted = || self.error("nothing has been promoted yet");
        match self {
            Self::Dir(dir) => Ok(dir.join(read(dir)?.active.ok_or_else(unpromoted)?)),
            Self::Database { url, kind } => {
                let cache = cache_dir(url, *kind);
                // One connection: the registry names the active version, and its files are
                // fetched only when this machine has not cached them yet.
                let (active, files) = on_database(url, |store| async move {
                    let Some(active) = store.registry(kind.name()).await?.active else { return Ok((None, None)) };
                    if cache.join(&active).exists() {
                        return Ok((Some(active), None));
                    }
                    let files = store.version_files(kind.name(), &active, None).await?;
                    Ok((Some(active), Some(files)))
                })?;
                let cached = cache_dir(url, *kind).join(active.ok_or_else(unpromoted)?);
                if let Some(files) = files {
                    self.materialise(&cached, files)?;
                }
                Ok(cached)
            }
        }
    }

    /// Writes a version's files at `to` (a file for a single-file version, else a directory).
    fn materialise(&self, to: &Path, files: Vec<(String, Vec<u8>)>) -> Result<(), RegistryError> {
        let failed = |e: std::io::Error| self.error(format!("writing {}: {e}", to.display()));
        let parent = to.parent().ok_or_else(|| self.error("no cache directory"))?;
        std::fs::create_dir_all(parent).map_err(failed)?;
        let partial = to.with_extension(format!("partial-{}", std::process::id()));
        match files.as_slice() {
            [] => return Err(self.error("the active version has no files")),
            [(path, content)] if path.is_empty() => std::fs::write(&partial, content).map_err(failed)?,
            _ => {
                std::fs::create_dir_all(&partial).map_err(failed)?;
                for (path, content) in &files {
                    let name = Path::new(path).file_name().ok_or_else(|| self.error(format!("bad file name {path:?}")))?;
                    std::fs::write(partial.join(name), content).map_err(failed)?;
                }
            }
        }
        // Another process may have written the same immutable version meanwhile: either copy
        // is the version.
        match std::fs::rename(&partial, to) {
            Ok(()) => Ok(()),
            Err(_) if to.exists() => {
                let _ = std::fs::remove_dir_all(&partial).or_else(|_| std::fs::remove_file(&partial));
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
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
        assert_eq!(resolve(dir.path(), Kind::Model).unwrap(), dir.path(), "no registry: the directory is the bundle");
        let mut registry = Registry::default();
        write(dir.path(), &registry).unwrap();
        assert!(resolve(dir.path(), Kind::Model).unwrap_err().to_string().contains("nothing has been promoted"));
        registry.promote("m1", false, "ana", serde_json::json!({"urgency": 0.5}), at(0));
        write(dir.path(), &registry).unwrap();
        assert_eq!(read(dir.path()).unwrap(), registry);
        assert_eq!(resolve(dir.path(), Kind::Model).unwrap(), dir.path().join("m1"));
    }
}
