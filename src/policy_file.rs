//! Reading a policy file from disk: the one place the policy layer meets the file system
//! (`policy/` itself is pure). Errors carry the path and, from the parser, line and column.

use std::path::Path;

use crate::policy::{Policy, PolicyError};

#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("policy {path}: {message}")]
    Read { path: String, message: String },
    #[error("policy {path}:{source}")]
    Invalid { path: String, source: PolicyError },
    #[error("policy store {0}")]
    Store(#[from] crate::registry::RegistryError),
}

pub fn read_text(path: &Path) -> Result<String, PolicyFileError> {
    std::fs::read_to_string(path).map_err(|e| PolicyFileError::Read { path: path.display().to_string(), message: e.to_string() })
}

/// The policy in the file `path`, or the active policy of the store `path`.
pub fn load(path: &Path) -> Result<Policy, PolicyFileError> {
    let file = crate::registry::resolve(path, crate::registry::Kind::Policy)?;
    Policy::from_toml(&read_text(&file)?).map_err(|source| PolicyFileError::Invalid { path: file.display().to_string(), source })
}
