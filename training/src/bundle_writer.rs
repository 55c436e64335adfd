//! Writing a trained model as a bundle directory: weights, tokenizer, calibration, metrics,
//! model card, then the sealed manifest, all in a scratch directory renamed into place so a
//! reader never sees half a bundle. An existing bundle is never overwritten.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};
use serde_json::json;
use triage::model::bundle::{
    sha256_hex, DataSource, EncoderSpec, Manifest, ModelKind, CALIBRATION, ENCODER, FORMAT_VERSION, METRICS, MODEL_CARD,
    TOKENIZER, WEIGHTS,
};
use triage::model::classifier::{IDF, MEMORY_IDS, MEMORY_LABELS, MEMORY_OFFSETS, MEMORY_WEIGHTS};
use triage::model::sparse_linear::{bias_name, coefficients_name};
use triage::model::whitening::{self, Whitening};
use triage::model::ModelError;

use crate::card::model_card;
use crate::data::Dataset;
use crate::eval::EvalReport;
use crate::train::{TrainConfig, Trained};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} already exists; a bundle is immutable, so train into a new directory")]
    Exists(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the trained model has no weights named {0}")]
    Missing(String),
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// Everything the bundle records about the run besides the trained model itself.
pub struct RunRecord<'a> {
    pub name: &'a str,
    pub config: &'a TrainConfig,
    pub dataset: &'a Dataset,
    pub corrections_used: usize,
    /// Lines about the data (source, license) for the model card.
    pub data_notes: &'a [String],
    pub report: &'a EvalReport,
    pub evaluated_on: &'a [PathBuf],
    /// Whether the evaluated rows are held out (`--eval`), not the validation rows that the
    /// shipped fits and the memory learned from as well.
    pub held_out: bool,
    pub command: &'a str,
    pub created_at: String,
    /// The sentence encoder to carry, already cut to the pieces this data needs.
    pub encoder: Option<&'a BundledEncoder>,
}

/// A sentence encoder image for the bundle and what the manifest says of it.
pub struct BundledEncoder {
    pub image: Vec<u8>,
    pub spec: EncoderSpec,
    /// For repeat-issue grouping; `spec.whitening` says what it was fitted on.
    pub whitening: Option<Whitening>,
}

fn write_json(dir: &Path, file: &str, value: &impl serde::Serialize) -> Result<(), WriteError> {
    let path = dir.join(file);
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| WriteError::Io { path: path.display().to_string(), message: e.to_string() })?;
    std::fs::write(&path, text).map_err(io_error(&path))
}

fn metrics_summary(report: &EvalReport, evaluated_on: &[PathBuf]) -> serde_json::Value {
    let heads: BTreeMap<&String, serde_json::Value> = report
        .heads
        .iter()
        .map(|(head, m)| {
            (
                head,
                json!({"examples": m.examples, "accuracy": m.accuracy, "macro_f1": m.macro_f1,
                          "expected_calibration_error": m.expected_calibration_error}),
            )
        })
        .collect();
    json!({"evaluated_on": evaluated_on.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(), "heads": heads})
}

pub fn write_bundle(out: &Path, trained: &Trained, run: &RunRecord) -> Result<Manifest, WriteError> {
    if out.exists() {
        return Err(WriteError::Exists(out.display().to_string()));
    }
    let scratch =
        out.with_file_name(format!(".{}.partial", out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(io_error(&scratch))?;
    }
    std::fs::create_dir_all(&scratch).map_err(io_error(&scratch))?;

    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for spec in &trained.heads {
        let weight = |name: String| match trained.weights.get(&name) {
            Some(tensor) => Ok((name, tensor.clone())),
            None => Err(WriteError::Missing(name)),
        };
        let (name, coefficients) = weight(coefficients_name(&spec.name))?;
        // Half precision keeps the bundle small; the scorer holds the coefficients in f16 as well.
        tensors.insert(name, coefficients.to_dtype(DType::F16).map_err(ModelError::from)?);
        let (name, bias) = weight(bias_name(&spec.name))?;
        tensors.insert(name, bias);
    }
    let idf = Tensor::from_slice(&trained.idf, trained.idf.len(), &triage::model::compute::device()).map_err(ModelError::from)?;
    tensors.insert(IDF.to_string(), idf);
    if let Some(memory) = &trained.memory {
        let arrays = &memory.arrays;
        let vector = |values: &[u32]| Tensor::from_slice(values, values.len(), &triage::model::compute::device());
        for (name, values) in [(MEMORY_OFFSETS, &arrays.offsets), (MEMORY_IDS, &arrays.ids), (MEMORY_LABELS, &arrays.labels)] {
            tensors.insert(name.to_string(), vector(values).map_err(ModelError::from)?);
        }
        let weights = Tensor::from_slice(&arrays.weights, arrays.weights.len(), &triage::model::compute::device())
            .map_err(ModelError::from)?;
        tensors.insert(MEMORY_WEIGHTS.to_string(), weights);
    }
    if let Some(whitening) = run.encoder.and_then(|e| e.whitening.as_ref()) {
        let dimension = whitening.mean().len();
        let mean = Tensor::from_slice(whitening.mean(), dimension, &triage::model::compute::device());
        let transform = Tensor::from_slice(whitening.transform(), (dimension, dimension), &triage::model::compute::device());
        tensors.insert(whitening::MEAN_TENSOR.to_string(), mean.map_err(ModelError::from)?);
        tensors.insert(whitening::TRANSFORM_TENSOR.to_string(), transform.map_err(ModelError::from)?);
    }
    let weights_path = scratch.join(WEIGHTS);
    candle_core::safetensors::save(&tensors, &weights_path).map_err(ModelError::from)?;
    trained.text.save(&scratch.join(TOKENIZER)).map_err(ModelError::from)?;
    write_json(&scratch, CALIBRATION, &trained.calibration)?;
    write_json(&scratch, METRICS, &json!({"evaluated_on": run.evaluated_on, "report": run.report}))?;
    if let Some(encoder) = run.encoder {
        let path = scratch.join(ENCODER);
        std::fs::write(&path, &encoder.image).map_err(io_error(&path))?;
    }

    let data: Vec<DataSource> = run
        .dataset
        .files
        .iter()
        .map(|f| DataSource { path: f.path.display().to_string(), sha256: f.sha256.clone(), rows_used: f.rows_used })
        .collect();
    let fingerprint = sha256_hex(data.iter().map(|d| d.sha256.as_str()).collect::<String>().as_bytes());
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: if run.encoder.is_some() { ModelKind::Encoder } else { ModelKind::SparseLinear },
        name: run.name.to_string(),
        version: String::new(),
        created_at: run.created_at.clone(),
        heads: trained.heads.clone(),
        features: trained.features,
        training: json!({
            "config": run.config.used(&trained.heads),
            "best_epoch": trained.best_epoch,
            "linear_heads": trained.linear_heads,
            "validation_macro_f1": trained.validation_macro_f1,
            "epochs": trained.epochs,
            "skipped_rows": run.dataset.skipped.counts,
            "command": run.command,
        }),
        data,
        data_fingerprint: fingerprint,
        corrections_used: run.corrections_used,
        metrics: metrics_summary(run.report, run.evaluated_on),
        files: BTreeMap::new(),
        memory: trained.memory.as_ref().map(|m| m.spec.clone()),
        encoder: run.encoder.map(|e| EncoderSpec { heads_read: trained.reads_embedding.clone(), ..e.spec.clone() }),
    };
    std::fs::write(scratch.join(MODEL_CARD), model_card(&manifest, trained, run)).map_err(io_error(&scratch))?;
    let manifest = manifest.seal(&scratch)?;
    std::fs::rename(&scratch, out).map_err(io_error(out))?;
    Ok(manifest)
}
