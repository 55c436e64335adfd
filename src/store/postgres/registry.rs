//! The model and policy stores in a shared database: each kind's registry (active version and
//! history, `crate::registry::Registry`) as one JSON row, and every version's files. What a
//! registry means (promotion, rollback, which version serves) is `crate::registry`'s; this is
//! only its SQL. A version's files are written once, in one transaction, and never changed.

use super::super::StoreError;
use super::{column, json_column, PostgresStore};
use crate::registry::Registry;

fn encode(registry: &Registry) -> Result<String, StoreError> {
    serde_json::to_string(registry).map_err(StoreError::Encode)
}

impl PostgresStore {
    /// The registry of `kind`; an empty one before anything was promoted.
    pub async fn registry(&self, kind: &str) -> Result<Registry, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT registry FROM registries WHERE kind = $1", &[&kind]).await?;
        row.map_or_else(|| Ok(Registry::default()), |row| json_column(&row, "registry"))
    }

    /// Applies `change` to the registry of `kind` under its row lock (two promotions at once
    /// from two machines apply one after the other) and stores the result.
    pub async fn update_registry<T>(&self, kind: &str, change: impl FnOnce(&mut Registry) -> T) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let empty = encode(&Registry::default())?;
        transaction
            .execute(
                "INSERT INTO registries (kind, registry) VALUES ($1, $2::text::json) ON CONFLICT (kind) DO NOTHING",
                &[&kind, &empty],
            )
            .await?;
        let row = transaction.query_one("SELECT registry FROM registries WHERE kind = $1 FOR UPDATE", &[&kind]).await?;
        let mut registry: Registry = json_column(&row, "registry")?;
        let answer = change(&mut registry);
        transaction
            .execute("UPDATE registries SET registry = $2::text::json WHERE kind = $1", &[&kind, &encode(&registry)?])
            .await?;
        transaction.commit().await?;
        Ok(answer)
    }

    /// Stores a version's files (relative path and content; one file with an empty path for a
    /// version that is a single file). `false`, changing nothing, when the version is stored.
    pub async fn add_version(&self, kind: &str, name: &str, files: &[(String, Vec<u8>)]) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let stored =
            transaction.query_opt("SELECT 1 FROM registry_files WHERE kind = $1 AND name = $2 LIMIT 1", &[&kind, &name]).await?;
        if stored.is_some() {
            return Ok(false);
        }
        for (path, content) in files {
            transaction
                .execute(
                    "INSERT INTO registry_files (kind, name, path, content) VALUES ($1, $2, $3, $4)",
                    &[&kind, &name, path, content],
                )
                .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    /// The names of the stored versions of `kind`, sorted.
    pub async fn versions(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT DISTINCT name FROM registry_files WHERE kind = $1 ORDER BY name", &[&kind]).await?;
        rows.iter().map(|row| column(row, "name")).collect()
    }

    /// The files of one version (only the one at `only`, when given).
    pub async fn version_files(&self, kind: &str, name: &str, only: Option<&str>) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT path, content FROM registry_files WHERE kind = $1 AND name = $2 AND ($3::text IS NULL OR path = $3) ORDER BY path",
                &[&kind, &name, &only],
            )
            .await?;
        rows.iter().map(|row| Ok((column(row, "path")?, column(row, "content")?))).collect()
    }
}
