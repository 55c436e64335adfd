//! API keys and roles. Callers send `Authorization: Bearer <key>`; the server keeps only the
//! sha256 of each key (from a TOML keys file), so a leaked keys file grants nothing. Each key
//! holds roles (`classify`, `review`, `admin`); a route names the one role it needs. This
//! module decides allow / deny and never builds HTTP responses (`error` does).
//!
//! Keys file:
//! ```toml
//! [[key]]
//! name = "helpdesk-prod"            # shown in logs, never the key itself
//! sha256 = "<64 hex digits>"        # `triage hash-key` prints it
//! roles = ["classify"]
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Classify,
    Review,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Classify => "classify",
            Role::Review => "review",
            Role::Admin => "admin",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    key: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
    roles: Vec<Role>,
}

/// A known caller.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub name: String,
    roles: Vec<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("keys file {path}: {message}")]
    File { path: String, message: String },
    #[error("no API key; send `Authorization: Bearer <key>`")]
    Missing,
    #[error("unknown API key")]
    Unknown,
    #[error("key `{key}` lacks the `{role}` role")]
    Forbidden { key: String, role: &'static str },
}

/// Who may call what.
#[derive(Debug)]
pub enum Auth {
    /// Every caller may do everything: only for a first local try, on a loopback address.
    Disabled,
    /// Keys by the hex sha256 of the key.
    Keys(HashMap<String, ApiKey>),
}

/// The hex sha256 a keys file stores for `key`.
pub fn hash_key(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

impl Auth {
    /// Parses a keys file's text; `path` names it in errors, which carry the line.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, AuthError> {
        let file_error = |message: String| AuthError::File { path: path.to_string(), message };
        let file: KeyFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1);
            file_error(match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_string(),
            })
        })?;
        let mut keys = HashMap::new();
        for entry in file.key {
            let digest = entry.sha256.trim().to_ascii_lowercase();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(file_error(format!("key `{}`: sha256 must be 64 hex digits", entry.name)));
            }
            if entry.roles.is_empty() {
                return Err(file_error(format!("key `{}` has no roles", entry.name)));
            }
            let name = entry.name.clone();
            if keys.insert(digest, ApiKey { name: entry.name, roles: entry.roles }).is_some() {
                return Err(file_error(format!("key `{name}` repeats another key's sha256")));
            }
        }
        if keys.is_empty() {
            return Err(file_error("no [[key]] entries: nobody could call the server".into()));
        }
        Ok(Auth::Keys(keys))
    }

    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| AuthError::File { path: shown.clone(), message: e.to_string() })?;
        Self::from_toml(&text, &shown)
    }

    /// The caller behind an `Authorization` header value, if it may act as `role`.
    /// `None` when auth is disabled.
    pub fn authorize(&self, authorization: Option<&str>, role: Role) -> Result<Option<&ApiKey>, AuthError> {
        let Auth::Keys(keys) = self else { return Ok(None) };
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let key = keys.get(&hash_key(token)).ok_or(AuthError::Unknown)?;
        if key.roles.contains(&role) {
            Ok(Some(key))
        } else {
            Err(AuthError::Forbidden { key: key.name.clone(), role: role.as_str() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Auth {
        let text = format!(
            "[[key]]\nname = \"desk\"\nsha256 = \"{}\"\nroles = [\"classify\"]\n\n[[key]]\nname = \"lead\"\nsha256 = \"{}\"\nroles = [\"review\", \"admin\"]\n",
            hash_key("desk-secret"),
            hash_key("lead-secret").to_uppercase()
        );
        Auth::from_toml(&text, "keys.toml").expect("valid keys file")
    }

    #[test]
    fn a_key_acts_only_in_its_roles() {
        let auth = keys();
        let desk = auth.authorize(Some("Bearer desk-secret"), Role::Classify).expect("allowed");
        assert_eq!(desk.map(|k| k.name.as_str()), Some("desk"));
        assert!(matches!(auth.authorize(Some("Bearer desk-secret"), Role::Admin), Err(AuthError::Forbidden { .. })));
        assert!(auth.authorize(Some("Bearer lead-secret"), Role::Admin).is_ok());
    }

    #[test]
    fn missing_malformed_and_unknown_keys_are_refused() {
        let auth = keys();
        assert!(matches!(auth.authorize(None, Role::Classify), Err(AuthError::Missing)));
        assert!(matches!(auth.authorize(Some("desk-secret"), Role::Classify), Err(AuthError::Missing)));
        assert!(matches!(auth.authorize(Some("Bearer "), Role::Classify), Err(AuthError::Missing)));
        assert!(matches!(auth.authorize(Some("Bearer guess"), Role::Classify), Err(AuthError::Unknown)));
    }

    #[test]
    fn disabled_auth_lets_everyone_in() {
        assert!(matches!(Auth::Disabled.authorize(None, Role::Admin), Ok(None)));
    }

    #[test]
    fn keys_file_errors_name_the_line_or_the_key() {
        let typo = "[[key]]\nname = \"desk\"\nsha265 = \"00\"\nroles = [\"classify\"]\n";
        let message = Auth::from_toml(typo, "keys.toml").expect_err("unknown field").to_string();
        assert!(message.contains("keys.toml") && message.contains("line 3"), "{message}");
        let short = "[[key]]\nname = \"desk\"\nsha256 = \"abc\"\nroles = [\"classify\"]\n";
        let message = Auth::from_toml(short, "keys.toml").expect_err("short digest").to_string();
        assert!(message.contains("desk") && message.contains("64 hex"), "{message}");
        let role = "[[key]]\nname = \"desk\"\nsha256 = \"abc\"\nroles = [\"root\"]\n";
        assert!(Auth::from_toml(role, "keys.toml").is_err());
        assert!(Auth::from_toml("", "keys.toml").expect_err("empty").to_string().contains("no [[key]]"));
    }
}
