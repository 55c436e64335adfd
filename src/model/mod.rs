//! The text model: feature extraction, the model kinds (`kind`: sparse-linear heads, and the
//! sentence encoder next to them), calibration, the nearest-ticket memory, the bundle on disk,
//! and `Classifier`, which ties a loaded bundle together into `text -> Predictions`.
//! The worker thread that serves it to async code lives in `worker`; the device and threads
//! it computes with are chosen in `compute`.

pub mod bundle;
pub mod calibration;
pub mod classifier;
pub mod compute;
pub mod encoder;
pub mod features;
pub mod kind;
pub mod nearest_ticket;
pub mod severity_probe;
pub mod sparse_linear;
pub mod whitening;
pub mod worker;

pub use crate::prediction::{Band, HeadPrediction, LabelScore, Predictions, Recalled};
pub use classifier::{Analysis, Classifier, EmbeddingEvidence};

/// Errors of the model layer. Bundle errors name the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model bundle {path}: {message}")]
    Bundle { path: String, message: String },
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Encoder(#[from] encoder::EncoderError),
    #[error("model store {0}")]
    Store(#[from] crate::registry::RegistryError),
}
