//! The model bundle on disk (`models/<name>/`): the manifest, the sha256 of every file, and
//! the checks a bundle must pass before anything is served from it. Reading and writing
//! files lives here; the scoring and the calibration maths do not.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::features::FeatureConfig;
use super::ModelError;

/// Bumped whenever the meaning of a bundle file changes; a reader refuses every other version.
pub const FORMAT_VERSION: u32 = 4;
pub const MANIFEST: &str = "manifest.json";
pub const WEIGHTS: &str = "model.safetensors";
pub const TOKENIZER: &str = "tokenizer.json";
pub const CALIBRATION: &str = "calibration.json";
pub const METRICS: &str = "metrics.json";
pub const MODEL_CARD: &str = "MODEL_CARD.md";
/// Every file a complete bundle holds besides the manifest.
pub const BUNDLE_FILES: [&str; 5] = [WEIGHTS, TOKENIZER, CALIBRATION, METRICS, MODEL_CARD];
/// The pretrained sentence encoder's image, in a bundle that carries one (`Manifest::encoder`).
pub const ENCODER: &str = "encoder.bin";

/// One classification head and its labels, in the order of the network's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSpec {
    pub name: String,
    pub labels: Vec<String>,
}

/// A file the model was trained on, with its fingerprint and how many rows it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    pub path: String,
    pub sha256: String,
    pub rows_used: usize,
}

/// What computes a bundle's predictions. Each kind names the files and tensors it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Per-head coefficient matrices and biases over the hashed text features.
    SparseLinear,
    /// A pretrained sentence encoder (`encoder.bin`) next to the sparse-linear heads: its
    /// embeddings give severity by meaning and group repeat issues.
    Encoder,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SparseLinear => "sparse-linear",
            ModelKind::Encoder => "encoder",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub kind: ModelKind,
    pub name: String,
    /// Content id: derived from the hashes of the bundle's files.
    pub version: String,
    pub created_at: String,
    pub heads: Vec<HeadSpec>,
    pub features: FeatureConfig,
    /// Training hyper-parameters as the trainer recorded them.
    pub training: serde_json::Value,
    pub data: Vec<DataSource>,
    /// sha256 over the data files' hashes, in order: one id for "what it learned from".
    pub data_fingerprint: String,
    /// Reviewer corrections that overrode history labels in this run.
    pub corrections_used: usize,
    /// Held-out metrics summary per head (full report in metrics.json).
    pub metrics: serde_json::Value,
    pub files: BTreeMap<String, String>,
    /// The labeled past tickets the model recalls; their vectors and labels are in the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySpec>,
    /// The pretrained sentence encoder the bundle carries in `encoder.bin`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderSpec>,
}

/// What the manifest says of the bundle's sentence encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderSpec {
    /// Where its weights came from (package, file and that file's sha256).
    pub source: String,
    /// Vocabulary pieces kept out of the source's.
    pub pieces: usize,
    /// Tokens read per ticket at most, `<s>` and `</s>` included.
    pub max_tokens: usize,
    /// How severe a ticket reads by meaning, over this encoder's embeddings, when the trainer
    /// was given tickets with acceptable levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<super::severity_probe::SeverityProbe>,
    /// How the heads read the embedding, when they do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads_read: Option<EmbeddingFeatures>,
    /// What the whitening for repeat-issue grouping (`model::whitening`, its tensors in the
    /// weights) was fitted on; without it, repeat issues are grouped by features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitening: Option<WhiteningSpec>,
}

/// The training tickets whose embeddings' mean and covariance the whitening came from, and
/// the share of the covariance's mean eigenvalue added to its diagonal (so directions the
/// tickets barely vary along are not blown up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiteningSpec {
    pub tickets: usize,
    pub shrink: f32,
    /// The languages whose mean embeddings' directions were taken out before the covariance was
    /// fitted (folded into the transform), so one problem told in two languages meets; empty
    /// in bundles fitted before, or on rows without a language column.
    #[serde(default)]
    pub languages_removed: Vec<String>,
}

/// Heads that read a sentence encoder's embedding see it as `dimension` more features after
/// the hashed ones (ids from the feature space's dimension on), each component times `scale`.
/// Every head's coefficient matrix has those rows; they are zero in the heads not named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingFeatures {
    pub dimension: usize,
    pub scale: f32,
    pub heads: Vec<String>,
}

/// How many features the heads read: every hashed feature of `features`, then the
/// embedding's components where the heads read one (`reads`).
pub fn head_input_dimension(features: &FeatureConfig, reads: Option<&EmbeddingFeatures>) -> usize {
    features.dimension() + reads.map_or(0, |r| r.dimension)
}

/// What the manifest says of the model's memory: each remembered ticket's id, in the order of
/// the stored vectors, and per head that recalls, from what similarity and with what agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySpec {
    pub tickets: Vec<String>,
    pub recall: BTreeMap<String, super::nearest_ticket::HeadRecall>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn bundle_error(dir: &Path, file: &str, message: impl Into<String>) -> ModelError {
    ModelError::Bundle { path: dir.join(file).display().to_string(), message: message.into() }
}

fn read(dir: &Path, file: &str) -> Result<Vec<u8>, ModelError> {
    std::fs::read(dir.join(file)).map_err(|e| bundle_error(dir, file, e.to_string()))
}

/// The file's sha256, streamed: hashing the weights must not hold a second copy of them in
/// memory (the server's resident size is a measured target).
fn file_sha256(dir: &Path, file: &str) -> Result<String, ModelError> {
    let mut hasher = Sha256::new();
    std::fs::File::open(dir.join(file))
        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
        .map_err(|e| bundle_error(dir, file, e.to_string()))?;
    Ok(hex(&hasher.finalize()))
}

impl Manifest {
    /// Reads the manifest and checks the format version and the hash of every bundle file.
    pub fn load_verified(dir: &Path) -> Result<Self, ModelError> {
        let text = read(dir, MANIFEST)?;
        let version: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| bundle_error(dir, MANIFEST, format!("not valid JSON: {e}")))?;
        match version["format_version"].as_u64() {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) if v < u64::from(FORMAT_VERSION) => {
                return Err(bundle_error(
                    dir,
                    MANIFEST,
                    format!(
                        "format version {v} is older than this build reads (version {FORMAT_VERSION}); \
                         retrain the model with `triage-train train` to write a bundle this build serves"
                    ),
                ))
            }
            other => {
                return Err(bundle_error(
                    dir,
                    MANIFEST,
                    format!(
                        "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                        other.map_or("missing".to_string(), |v| v.to_string())
                    ),
                ))
            }
        }
        let manifest: Manifest =
            serde_json::from_value(version).map_err(|e| bundle_error(dir, MANIFEST, format!("not a valid manifest: {e}")))?;
        if (manifest.kind == ModelKind::Encoder) != manifest.encoder.is_some() {
            return Err(bundle_error(
                dir,
                MANIFEST,
                format!(
                    "a model of kind `{}` {} an `encoder` entry",
                    manifest.kind.name(),
                    if manifest.encoder.is_some() { "must not have" } else { "needs" }
                ),
            ));
        }
        for file in manifest.file_names() {
            let expected =
                manifest.files.get(file).ok_or_else(|| bundle_error(dir, MANIFEST, format!("lists no sha256 for {file}")))?;
            let actual = file_sha256(dir, file)?;
            if &actual != expected {
                return Err(bundle_error(
                    dir,
                    file,
                    format!("sha256 mismatch: manifest says {expected}, file has {actual}; the bundle was modified or corrupted"),
                ));
            }
        }
        if manifest.heads.is_empty() || manifest.heads.iter().any(|h| h.labels.len() < 2) {
            return Err(bundle_error(dir, MANIFEST, "every head needs at least two labels"));
        }
        Ok(manifest)
    }

    /// Hashes the files already written to `dir`, sets `files` and `version`, and writes the
    /// manifest last so that a half-written bundle never verifies.
    pub fn seal(mut self, dir: &Path) -> Result<Self, ModelError> {
        self.files.clear();
        for file in self.file_names() {
            self.files.insert(file.to_string(), file_sha256(dir, file)?);
        }
        let joined: String = self.files.values().cloned().collect();
        self.version = sha256_hex(joined.as_bytes())[..12].to_string();
        let text = serde_json::to_vec_pretty(&self).map_err(|e| bundle_error(dir, MANIFEST, e.to_string()))?;
        std::fs::write(dir.join(MANIFEST), text).map_err(|e| bundle_error(dir, MANIFEST, e.to_string()))?;
        Ok(self)
    }

    /// The files this bundle holds besides the manifest.
    pub fn file_names(&self) -> Vec<&'static str> {
        let mut files = BUNDLE_FILES.to_vec();
        if self.kind == ModelKind::Encoder {
            files.push(ENCODER);
        }
        files
    }

    pub fn head(&self, name: &str) -> Option<&HeadSpec> {
        self.heads.iter().find(|h| h.name == name)
    }
}

/// What one head predicted on the model's held-out data: the reference live predictions drift
/// from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldOut {
    /// How often each label was predicted (the columns of the head's confusion matrix).
    pub labels: BTreeMap<String, usize>,
    /// The mean confidence of its predictions (from the reliability bins).
    pub mean_score: Option<f64>,
    /// The share of predictions it abstained on.
    pub abstained: Option<f64>,
}

/// Each head's `HeldOut` from the bundle's metrics.json; empty for a report without them.
pub fn held_out_predictions(dir: &Path) -> Result<BTreeMap<String, HeldOut>, ModelError> {
    let metrics: serde_json::Value = read_json(dir, METRICS)?;
    let report = &metrics["report"];
    let mut heads = BTreeMap::new();
    for (head, measures) in report["heads"].as_object().into_iter().flatten() {
        let (Some(labels), Some(rows)) = (measures["labels"].as_array(), measures["confusion"].as_array()) else { continue };
        let mut reference = HeldOut::default();
        for row in rows.iter().filter_map(|row| row.as_array()) {
            for (label, count) in labels.iter().zip(row) {
                *reference.labels.entry(label.as_str().unwrap_or_default().to_string()).or_default() +=
                    count.as_u64().unwrap_or(0) as usize;
            }
        }
        let bins = report["reliability"][head].as_array();
        let (weighted, count) = bins.into_iter().flatten().fold((0.0, 0.0), |(sum, n), bin| {
            let count = bin["count"].as_f64().unwrap_or(0.0);
            (sum + count * bin["mean_confidence"].as_f64().unwrap_or(0.0), n + count)
        });
        reference.mean_score = (count > 0.0).then(|| weighted / count);
        reference.abstained = report["abstention"][head]["coverage"].as_f64().map(|answered| 1.0 - answered);
        heads.insert(head.clone(), reference);
    }
    Ok(heads)
}

/// Reads and parses a JSON file of a bundle, naming the file in any error.
pub fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<T, ModelError> {
    serde_json::from_slice(&read(dir, file)?).map_err(|e| bundle_error(dir, file, e.to_string()))
}
