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
}

pub fn read_text(path: &Path) -> Result<String, PolicyFileError> {
    std::fs::read_to_string(path).map_err(|e| PolicyFileError::Read { path: path.display().to_string(), message: e.to_string() })
}

pub fn load(path: &Path) -> Result<Policy, PolicyFileError> {
    Policy::from_toml(&read_text(path)?).map_err(|source| PolicyFileError::Invalid { path: path.display().to_string(), source })
}
