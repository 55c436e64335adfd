//! `Classifier`: a verified bundle loaded into memory, answering `text -> Predictions`
//! (and, with `analyse`, the evidence behind them).
//! It owns the tokenizer, the idf table, the model of the bundle's kind (`kind::TextModel`),
//! the calibration and the nearest-ticket memory; it does no I/O after `load` and knows
//! nothing about policies or HTTP.

use std::collections::BTreeMap;
use std::path::Path;

use super::bundle::{self, HeadSpec, Manifest, MemorySpec, ModelKind};
use super::calibration::{calibrated_probabilities, Calibration, HeadCalibration};
use super::encoder::SentenceEncoder;
use super::features::{weigh_traced, TicketFeatures};
use super::kind::TextModel;
use super::nearest_ticket::{take_recalled, Memory, MemoryArrays};
use super::severity_probe::SeverityProbe;
use super::sparse_linear::SparseLinear;
use super::whitening::{self, Whitening};
use super::{ModelError, Predictions, Recalled};
use crate::explain::{phrases, text_without, Evidence, OccurrenceMap};
use crate::text::TextPipeline;

/// Name of the non-trainable idf vector inside `model.safetensors`.
pub const IDF: &str = "idf";
/// Names of the memory's arrays inside `model.safetensors` (see `MemoryArrays`).
pub const MEMORY_OFFSETS: &str = "memory.offsets";
pub const MEMORY_IDS: &str = "memory.ids";
pub const MEMORY_WEIGHTS: &str = "memory.weights";
pub const MEMORY_LABELS: &str = "memory.labels";

/// The memory of `arrays` as the manifest describes it: how each head it names (each a head
/// of the bundle) recalls, one id per remembered ticket.
pub fn recalling_memory(heads: &[HeadSpec], spec: &MemorySpec, arrays: &MemoryArrays) -> Result<Memory, String> {
    if arrays.tickets() != spec.tickets.len() {
        return Err(format!("memory holds {} tickets but the manifest names {}", arrays.tickets(), spec.tickets.len()));
    }
    if let Some(unknown) = spec.recall.keys().find(|name| !heads.iter().any(|h| &h.name == *name)) {
        return Err(format!("memory says how `{unknown}` recalls, which is no head"));
    }
    let recalling = heads.iter().map(|h| spec.recall.get(&h.name).copied()).collect();
    let classes: Vec<usize> = heads.iter().map(|h| h.labels.len()).collect();
    Memory::new(arrays, recalling, &classes)
}

/// The values of the tensor `name` in `tensors`, flattened, taking it out.
fn take_values<T: candle_core::WithDType>(
    tensors: &mut std::collections::HashMap<String, candle_core::Tensor>,
    name: &str,
) -> Result<Vec<T>, String> {
    let tensor = tensors.remove(name).ok_or_else(|| format!("has no `{name}` tensor"))?;
    tensor.flatten_all().and_then(|t| t.to_vec1::<T>()).map_err(|e| format!("{name}: {e}"))
}

pub struct Classifier {
    manifest: Manifest,
    text: TextPipeline,
    idf: Vec<f32>,
    model: TextModel,
    calibration: Calibration,
    memory: Option<Memory>,
    /// How the encoder's embeddings are made comparable for repeat-issue grouping, when the
    /// bundle carries it.
    grouping: Option<Whitening>,
    /// What the model predicted on its held-out data, per head and label (drift's reference).
    held_out: BTreeMap<String, bundle::HeldOut>,
}

impl Classifier {
    /// Loads and verifies the bundle in `dir` (or, when `dir` is a model store, its active
    /// bundle); any missing, tampered or inconsistent file is an error naming that file.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let bundle = crate::registry::resolve(dir, crate::registry::Kind::Model)?;
        let dir = bundle.as_path();
        let manifest = Manifest::load_verified(dir)?;
        let device = crate::model::compute::device();
        let weights_path = dir.join(bundle::WEIGHTS);
        let wrong_weights = |message: String| ModelError::Bundle { path: weights_path.display().to_string(), message };
        let mut tensors = candle_core::safetensors::load(&weights_path, &device).map_err(|e| wrong_weights(e.to_string()))?;
        let idf = tensors
            .remove(IDF)
            .ok_or_else(|| wrong_weights(format!("has no `{IDF}` tensor")))?
            .to_vec1::<f32>()
            .map_err(|e| wrong_weights(e.to_string()))?;
        if idf.len() != manifest.features.dimension() {
            return Err(wrong_weights(format!(
                "idf has {} entries but the manifest's feature space has {}",
                idf.len(),
                manifest.features.dimension()
            )));
        }
        let memory = match &manifest.memory {
            Some(spec) => {
                let arrays = MemoryArrays {
                    heads: manifest.heads.len(),
                    offsets: take_values(&mut tensors, MEMORY_OFFSETS).map_err(wrong_weights)?,
                    ids: take_values(&mut tensors, MEMORY_IDS).map_err(wrong_weights)?,
                    labels: take_values(&mut tensors, MEMORY_LABELS).map_err(wrong_weights)?,
                    weights: take_values(&mut tensors, MEMORY_WEIGHTS).map_err(wrong_weights)?,
                };
                Some(recalling_memory(&manifest.heads, spec, &arrays).map_err(wrong_weights)?)
            }
            None => None,
        };
        let grouping = match manifest.encoder.as_ref().and_then(|spec| spec.whitening.as_ref()) {
            Some(_) => {
                let mean = take_values(&mut tensors, whitening::MEAN_TENSOR).map_err(wrong_weights)?;
                let transform = take_values(&mut tensors, whitening::TRANSFORM_TENSOR).map_err(wrong_weights)?;
                Some(Whitening::new(mean, transform).map_err(wrong_weights)?)
            }
            None => None,
        };
        let reads = manifest.encoder.as_ref().and_then(|spec| spec.heads_read.as_ref());
        let heads =
            SparseLinear::from_tensors(&tensors, bundle::head_input_dimension(&manifest.features, reads), &manifest.heads)
                .map_err(|e| wrong_weights(format!("does not match the manifest: {e}")))?;
        let text = TextPipeline::load(&dir.join(bundle::TOKENIZER))?;
        if text.vocab_size() != manifest.features.vocab_size {
            return Err(ModelError::Bundle {
                path: dir.join(bundle::TOKENIZER).display().to_string(),
                message: format!(
                    "vocabulary has {} tokens but the manifest says {}",
                    text.vocab_size(),
                    manifest.features.vocab_size
                ),
            });
        }
        let calibration: Calibration = bundle::read_json(dir, bundle::CALIBRATION)?;
        let encoder_path = dir.join(bundle::ENCODER);
        let wrong_encoder = |message: String| ModelError::Bundle { path: encoder_path.display().to_string(), message };
        let encoder = match (manifest.kind, &manifest.encoder) {
            (ModelKind::Encoder, Some(spec)) => {
                Some(SentenceEncoder::read(&encoder_path, spec.max_tokens, &device).map_err(|e| wrong_encoder(e.to_string()))?)
            }
            _ => None,
        };
        let model = TextModel::new(heads, encoder, reads, manifest.features.dimension()).map_err(wrong_encoder)?;
        let held_out = bundle::held_out_predictions(dir)?;
        Ok(Self { manifest, text, idf, model, calibration, memory, grouping, held_out })
    }

    /// Assembles a classifier from parts already in memory (the trainer evaluates the model
    /// it has just fitted this way, before writing anything); it groups no repeat issues by
    /// meaning.
    pub fn from_parts(
        manifest: Manifest,
        text: TextPipeline,
        idf: Vec<f32>,
        model: TextModel,
        calibration: Calibration,
        memory: Option<Memory>,
    ) -> Self {
        Self { manifest, text, idf, model, calibration, memory, grouping: None, held_out: BTreeMap::new() }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Per head, what the model predicted on its held-out data (empty when unknown).
    pub fn held_out_predictions(&self) -> &BTreeMap<String, bundle::HeldOut> {
        &self.held_out
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    pub fn kind(&self) -> ModelKind {
        self.model.kind()
    }

    pub fn encoder(&self) -> Option<&SentenceEncoder> {
        self.model.encoder()
    }

    /// Whether repeat issues are grouped by meaning (`Analysis::grouping`), else by features.
    pub fn groups_by_meaning(&self) -> bool {
        self.grouping.is_some() && self.model.encoder().is_some()
    }

    /// The severity probe over the encoder's embeddings, when the bundle has one.
    pub fn severity_probe(&self) -> Option<&SeverityProbe> {
        self.model.encoder()?;
        self.manifest.encoder.as_ref()?.severity.as_ref()
    }

    pub fn features(&self, text: &str) -> Result<TicketFeatures, ModelError> {
        let words = self.text.words(text)?;
        Ok(self.manifest.features.featurize(&words, &self.idf))
    }

    fn head_calibration(&self, head: &str) -> HeadCalibration {
        self.calibration.heads.get(head).cloned().unwrap_or_default()
    }

    /// Calibrated predictions for each ticket's features, in three steps: the model of the
    /// bundle's kind scores, each head's calibration turns logits into probabilities, and the
    /// memory step (`nearest_ticket::take_recalled`) lets a near-duplicate past ticket's label
    /// in with the probability that such a recall is right; a label taken that way names the
    /// ticket it came from.
    pub fn predict_features(&self, tickets: &[&TicketFeatures]) -> Result<Vec<Predictions>, ModelError> {
        let calibrations: Vec<HeadCalibration> = self.manifest.heads.iter().map(|h| self.head_calibration(&h.name)).collect();
        let remembered = self.manifest.memory.as_ref().map(|m| m.tickets.as_slice()).unwrap_or_default();
        Ok(self
            .model
            .logits(tickets)?
            .into_iter()
            .zip(tickets)
            .map(|(heads, features)| {
                let recalls = match &self.memory {
                    Some(memory) => memory.recall(features, None),
                    None => vec![None; heads.len()],
                };
                self.manifest
                    .heads
                    .iter()
                    .zip(&calibrations)
                    .zip(heads)
                    .zip(recalls)
                    .map(|(((spec, calibration), logits), recall)| {
                        let mut probabilities = calibrated_probabilities(&logits, calibration.temperature);
                        let taken = recall.filter(|recall| take_recalled(&mut probabilities, recall));
                        let mut prediction = calibration.prediction(&spec.labels, &probabilities);
                        prediction.recalled = taken.map(|r| Recalled {
                            ticket: remembered.get(r.ticket).cloned().unwrap_or_default(),
                            similarity: r.similarity,
                        });
                        (spec.name.clone(), prediction)
                    })
                    .collect()
            })
            .collect())
    }

    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Predictions>, ModelError> {
        let features = texts.iter().map(|t| self.features(t)).collect::<Result<Vec<_>, _>>()?;
        // The embedding costs far more than the rest; only heads that read it need it here.
        let embeddings = if self.model.heads_read_embedding() { self.model.embed(texts)? } else { vec![None; texts.len()] };
        let inputs: Vec<_> = features.iter().zip(&embeddings).map(|(f, e)| self.model.head_input(f, e.as_deref())).collect();
        self.predict_features(&inputs.iter().map(AsRef::as_ref).collect::<Vec<_>>())
    }

    /// Predictions plus, per head, the phrases behind the words' share of its label's logit
    /// (a recalled label says so in its prediction). Each ticket is its model text and the
    /// character where its body starts.
    pub fn analyse(&self, tickets: &[(&str, usize)]) -> Result<Vec<Analysis>, ModelError> {
        let mut parsed = Vec::with_capacity(tickets.len());
        for (text, _) in tickets {
            let words = self.text.words(text)?;
            let occurrences = self.manifest.features.occurrences(&words);
            let (features, landed) = weigh_traced(&occurrences, &self.idf);
            parsed.push((words, occurrences, features, landed));
        }
        let texts: Vec<&str> = tickets.iter().map(|(text, _)| *text).collect();
        let embeddings = self.model.embed(&texts)?;
        let inputs: Vec<_> = parsed
            .iter()
            .zip(&embeddings)
            .map(|((_, _, features, _), e)| self.model.head_input(features, e.as_deref()))
            .collect();
        let predictions = self.predict_features(&inputs.iter().map(AsRef::as_ref).collect::<Vec<_>>())?;
        let mut analyses = Vec::with_capacity(tickets.len());
        for ((((text, body_start), (words, occurrences, features, landed)), (input, embedding)), predictions) in
            tickets.iter().zip(&parsed).zip(inputs.iter().zip(embeddings)).zip(predictions)
        {
            let labels: Vec<usize> = self
                .manifest
                .heads
                .iter()
                .map(|spec| {
                    let predicted = predictions.get(&spec.name).map(|p| p.label.as_str());
                    spec.labels.iter().position(|l| Some(l.as_str()) == predicted).unwrap_or(0)
                })
                .collect();
            let spans = occurrences.all().map(|(_, span)| span);
            let map = OccurrenceMap::new(spans, landed, features.len(), words.len());
            let chars: Vec<char> = text.chars().collect();
            let evidence = self
                .manifest
                .heads
                .iter()
                .zip(self.model.label_shares(input, &labels)?)
                .map(|(spec, shares)| {
                    // A recalled label came from the past ticket its prediction names, not from
                    // these words: the text model's weights would explain a label it did not give.
                    let recalled = predictions.get(&spec.name).is_some_and(|p| p.recalled.is_some());
                    let found =
                        if recalled { Vec::new() } else { phrases(&chars, words, &map.word_scores(&shares), *body_start) };
                    (spec.name.clone(), found)
                })
                .collect();
            let severe_by_meaning = embedding.as_deref().and_then(|e| self.severity_probe()?.probability(e));
            let grouping = embedding.as_deref().and_then(|e| self.grouping.as_ref()?.apply(e));
            analyses.push(Analysis { predictions, evidence, embedding, severe_by_meaning, grouping, features: features.clone() });
        }
        Ok(analyses)
    }
}

/// How the evidence of the heads that read the embedding is weighed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmbeddingEvidence {
    /// The words' exact shares alone (no extra cost).
    #[default]
    Shares,
    /// By occlusion: an encoder pass per phrase (`Classifier::occlude`).
    Occlusion,
}

impl Classifier {
    /// `analyse`, with the evidence of the heads that read the embedding weighed as asked.
    pub fn analyse_with(&self, tickets: &[(&str, usize)], evidence: EmbeddingEvidence) -> Result<Vec<Analysis>, ModelError> {
        let mut analyses = self.analyse(tickets)?;
        if evidence == EmbeddingEvidence::Occlusion {
            self.occlude(tickets, &mut analyses)?;
        }
        Ok(analyses)
    }

    /// Re-weighs, by occlusion, the evidence of the heads that read the embedding. Their
    /// phrases come from the words' exact shares, which miss what a phrase does through the
    /// embedding: every final token state has attended to every other token, so no part of
    /// the pooled embedding belongs to one word (adding those parts to the words was no more
    /// faithful; `BENCHMARKS.md`, Evidence faithfulness). So each phrase is taken out of the
    /// text, the ticket read again (words and embedding; one encoder batch per ticket), and
    /// the phrase's weight becomes how far its head's logit for the predicted label, above the
    /// mean of that head's logits, fell; the strongest come first again. One encoder pass per
    /// phrase: asked for (`--occlusion-evidence` of `triage serve` and `triage classify`;
    /// `triage-train eval` measures it), not the default.
    pub fn occlude(&self, tickets: &[(&str, usize)], analyses: &mut [Analysis]) -> Result<(), ModelError> {
        let Some(reading) = self.manifest.encoder.as_ref().and_then(|spec| spec.heads_read.as_ref()) else {
            return Ok(());
        };
        let margin = |logits: &[f32], label: usize| logits[label] - logits.iter().sum::<f32>() / logits.len() as f32;
        for ((text, body_start), analysis) in tickets.iter().zip(analyses.iter_mut()) {
            // (head, predicted label, phrase, text without the phrase)
            let mut trials = Vec::new();
            for (head, spec) in self.manifest.heads.iter().enumerate().filter(|(_, spec)| reading.heads.contains(&spec.name)) {
                let predicted = analysis.predictions.get(&spec.name).map(|p| p.label.as_str());
                let Some(label) = spec.labels.iter().position(|l| Some(l.as_str()) == predicted) else { continue };
                for (phrase, evidence) in analysis.evidence.get(&spec.name).into_iter().flatten().enumerate() {
                    let offset = if evidence.field == "body" { *body_start } else { 0 };
                    trials.push((head, label, phrase, text_without(text, (evidence.start + offset, evidence.end + offset))));
                }
            }
            if trials.is_empty() {
                continue;
            }
            // The whole ticket was read by `analyse`; only the texts without a phrase are new.
            let whole = self.model.head_input(&analysis.features, analysis.embedding.as_deref());
            let before = self.model.logits(&[whole.as_ref()])?.remove(0);
            let variants: Vec<&str> = trials.iter().map(|t| t.3.as_str()).collect();
            let features = variants.iter().map(|v| self.features(v)).collect::<Result<Vec<_>, _>>()?;
            let embeddings = self.model.embed(&variants)?;
            let inputs: Vec<_> = features.iter().zip(&embeddings).map(|(f, e)| self.model.head_input(f, e.as_deref())).collect();
            let logits = self.model.logits(&inputs.iter().map(AsRef::as_ref).collect::<Vec<_>>())?;
            for ((head, label, phrase, _), after) in trials.iter().zip(&logits) {
                let name = &self.manifest.heads[*head].name;
                if let Some(evidence) = analysis.evidence.get_mut(name).and_then(|found| found.get_mut(*phrase)) {
                    evidence.weight = margin(&before[*head], *label) - margin(&after[*head], *label);
                }
            }
            // Trials come head by head, so each re-weighed head appears once here.
            let mut reweighed: Vec<usize> = trials.iter().map(|t| t.0).collect();
            reweighed.dedup();
            for head in reweighed {
                if let Some(found) = analysis.evidence.get_mut(&self.manifest.heads[head].name) {
                    found.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
                }
            }
        }
        Ok(())
    }
}

/// One ticket's predictions and evidence (phrases per head, strongest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub predictions: Predictions,
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    /// The ticket's unit-length sentence embedding, when the bundle carries an encoder.
    pub embedding: Option<Vec<f32>>,
    /// The probability that the ticket belongs at a most urgent level by meaning, when the
    /// bundle's encoder carries a severity probe.
    pub severe_by_meaning: Option<f32>,
    /// The embedding whitened for repeat-issue grouping (`model::whitening`), when the bundle
    /// carries the whitening.
    pub grouping: Option<Vec<f32>>,
    /// The ticket's hashed features (repeat issues compare tickets by them otherwise).
    pub features: TicketFeatures,
}
