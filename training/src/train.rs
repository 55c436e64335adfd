//! Fitting the model: tokenizer, idf, the candle network with AdamW and a masked,
//! class-weighted loss per head, early stopping on validation macro-F1, and the calibration
//! fitted on the same validation rows. Returns an in-memory `Classifier` plus what the
//! bundle writer needs; writes no files itself.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use triage::model::bundle::{HeadSpec, Manifest, MemorySpec, FORMAT_VERSION};
use triage::model::calibration::Calibration;
use triage::model::classifier::recalling_memory;
use triage::model::features::{inverse_document_frequency, FeatureConfig, TicketFeatures};
use triage::model::nearest_ticket::{prefer_recalled, Memory, MemoryArrays, Recall, NO_LABEL};
use triage::model::network::{encode, Batch, Heads, NetworkConfig, TextNetwork, EMBEDDING, HEAD_PREFIX};
use triage::model::Classifier;
use triage::text::TextPipeline;

use crate::calibrate::fit_head_calibration;
use crate::data::Example;
use crate::linear_head::{self, balanced_class_weights, LinearHead, Solve};
use crate::metrics::head_metrics;
use crate::one_vs_rest;
use crate::recall::{choose_threshold, RecallChoice};
use crate::sparse_sgd::SparseSgd;

/// Hyper-parameters, recorded verbatim in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct TrainConfig {
    pub vocab_size: usize,
    pub buckets: usize,
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    pub word_bigrams: bool,
    /// Features seen in fewer training tickets than this are switched off.
    pub min_df: u32,
    pub head_dim: usize,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    /// AdamW learning rate of the heads.
    pub learning_rate: f64,
    /// SGD learning rate of the embedding table.
    pub embedding_learning_rate: f64,
    pub weight_decay: f64,
    /// Probability of dropping each feature of a training ticket at each step.
    pub feature_dropout: f32,
    pub seed: u64,
    /// Members trained with seeds `seed, seed + 1, ...` and averaged.
    pub ensemble: usize,
    pub target_accuracy: f32,
    /// Heads fitted as convex logistic regression on the features (see `linear_head`)
    /// instead of through the embedding.
    pub linear_heads: Vec<String>,
    /// Candidate values of the inverse regularisation `C` for linear heads; the one with the
    /// best cross-validated macro-F1 is kept.
    pub linear_inverse_regularisation: Vec<f64>,
    /// Candidate forms of a linear head, scored with each `C` by the same cross-validation.
    pub linear_forms: Vec<LinearForm>,
    pub linear_max_iterations: u64,
    /// A linear-head solve stops once its gradient's L2 norm is below this.
    pub linear_tolerance: f64,
    /// Folds of the cross-validation that chooses `C` (fewer than 2 count as 2).
    pub linear_folds: usize,
    /// From this many validation rows carrying a head's label, `C` is chosen on those rows
    /// alone (fits on the training rows) instead of by cross-validation.
    pub linear_holdout_rows: usize,
    /// Most training rows a fit that scores `C` learns from (when there are more, every n-th
    /// row of each class); the shipped fit always learns from every row.
    pub linear_selection_rows: usize,
    /// Candidate similarities from which a linear head recalls the label of the most similar
    /// remembered ticket (see `recall`); empty: the model remembers no tickets.
    pub recall_similarities: Vec<f32>,
    /// A head with more labeled rows than this remembers none (the memory is searched on
    /// every request and stored in the bundle).
    pub recall_rows: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            vocab_size: 30000,
            buckets: 1 << 17,
            char_ngram_min: 3,
            char_ngram_max: 5,
            word_bigrams: true,
            min_df: 2,
            head_dim: 8,
            epochs: 30,
            patience: 4,
            batch_size: 32,
            learning_rate: 0.01,
            embedding_learning_rate: 1.0,
            weight_decay: 1e-4,
            feature_dropout: 0.2,
            seed: 17,
            ensemble: 3,
            target_accuracy: 0.8,
            linear_heads: vec!["urgency".into(), "sentiment".into(), "category".into()],
            linear_inverse_regularisation: vec![1.0, 4.0, 16.0],
            linear_forms: vec![LinearForm::Multinomial, LinearForm::NaiveBayesOneVsRest],
            linear_max_iterations: 300,
            linear_tolerance: 1e-4,
            linear_folds: 3,
            linear_holdout_rows: 5000,
            linear_selection_rows: 20000,
            recall_similarities: (6..=18).map(|step| step as f32 / 20.0).collect(),
            recall_rows: 50000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Text(#[from] triage::text::TextError),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{0}")]
    Data(String),
}

/// One epoch's numbers, kept for the manifest and the progress display.
#[derive(Debug, Clone, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub validation_macro_f1: BTreeMap<String, f64>,
}

pub struct Trained {
    pub text: TextPipeline,
    pub features: FeatureConfig,
    pub network: NetworkConfig,
    pub heads: Vec<HeadSpec>,
    pub idf: Vec<f32>,
    /// Network weights by name: the members merged into one network.
    pub weights: HashMap<String, Tensor>,
    pub calibration: Calibration,
    /// Per ensemble member, its epochs.
    pub epochs: Vec<Vec<EpochLog>>,
    /// Per ensemble member, the epoch each head's weights come from.
    pub best_epoch: Vec<BTreeMap<String, usize>>,
    /// The heads fitted as convex logistic regression, and how.
    pub linear_heads: BTreeMap<String, LinearRecord>,
    /// Macro-F1 of the final network per head on the validation rows (what chooses between
    /// runs; the held-out eval files never do).
    pub validation_macro_f1: BTreeMap<String, f64>,
    /// The labeled tickets the model recalls, when any head recalls.
    pub memory: Option<TrainedMemory>,
}

/// The model's memory as the bundle stores it: the arrays and what the manifest says of them.
pub struct TrainedMemory {
    pub arrays: MemoryArrays,
    pub spec: MemorySpec,
}

/// How a linear head models its classes from the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LinearForm {
    /// One multinomial logistic regression over all classes.
    Multinomial,
    /// One binary logistic regression per class on naive-Bayes-scaled features (`one_vs_rest`).
    #[value(name = "nb-one-vs-rest")]
    NaiveBayesOneVsRest,
}

impl std::fmt::Display for LinearForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinearForm::Multinomial => "multinomial logistic regression",
            LinearForm::NaiveBayesOneVsRest => "one-vs-rest logistic regression with naive-Bayes feature scaling",
        })
    }
}

impl LinearForm {
    /// The name `--linear-forms` takes, as clap derives it.
    pub fn short_name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|value| value.get_name().to_string()).unwrap_or_default()
    }

    /// Fits `rows` in this form once per solve, as a warm-started path.
    fn fit_path(
        self,
        rows: &[(&TicketFeatures, usize)],
        classes: usize,
        solves: &[Solve],
        start: Option<&LinearHead>,
    ) -> Vec<LinearHead> {
        match self {
            LinearForm::Multinomial => {
                let weights = balanced_class_weights(rows.iter().map(|(_, t)| *t), classes);
                linear_head::fit_path(rows, classes, &weights, solves, start)
            }
            LinearForm::NaiveBayesOneVsRest => one_vs_rest::fit_path(rows, classes, solves, start),
        }
    }
}

/// How a linear head was chosen: every candidate form and `C` with its macro-F1 on rows its
/// fit did not see, and the rows the shipped fit learned from.
#[derive(Debug, Clone, Serialize)]
pub struct LinearRecord {
    pub form: LinearForm,
    pub inverse_regularisation: f64,
    pub iterations: u64,
    pub selection: Selection,
    /// Training rows that no fit scoring `C` learned from (beyond `--linear-selection-rows`).
    pub selection_set_aside: usize,
    /// Of `rows`, those from the training split.
    pub training_rows: usize,
    /// Macro-F1 of the chosen form and `C` on the rows that scored the candidates.
    pub selection_macro_f1: f64,
    pub candidates: Vec<Candidate>,
    /// Rows of the shipped fit: training plus validation rows.
    pub rows: usize,
    /// How the similarity from which the head recalls remembered tickets was chosen, on the
    /// same rows that scored `C`; `None` where recall was off or the head had too many rows.
    pub recall: Option<RecallChoice>,
}

impl LinearRecord {
    /// Names the training rows left out of choosing `C`, if any.
    pub fn set_aside_note(&self) -> String {
        match self.selection_set_aside {
            0 => String::new(),
            rows => format!("; C scored by fits on {} of {} training rows", self.training_rows - rows, self.training_rows),
        }
    }

    /// Says whether the head recalls remembered tickets, and what that did on the scoring rows.
    pub fn recall_note(&self) -> String {
        match &self.recall {
            None => "remembers no tickets".into(),
            Some(RecallChoice { threshold: None, without_macro_f1, .. }) => {
                format!("recalls no tickets: no similarity raised macro-F1 above {without_macro_f1:.3}")
            }
            Some(RecallChoice { threshold: Some(t), without_macro_f1, with_macro_f1, .. }) => format!(
                "recalls a remembered ticket's label from similarity {t:.2} (macro-F1 {without_macro_f1:.3} -> {with_macro_f1:.3})"
            ),
        }
    }
}

/// One candidate form and `C` with its macro-F1 on the rows that scored the candidates.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Candidate {
    pub form: LinearForm,
    pub inverse_regularisation: f64,
    pub macro_f1: f64,
}

/// Which rows scored the candidate values of `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every training and validation row, each by the fit on the other folds.
    CrossValidation { folds: usize },
    /// The validation rows, by the fit on the training rows: enough of them to score `C`
    /// steadily, at a third of cross-validation's solves.
    HeldOut { rows: usize },
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selection::CrossValidation { folds } => write!(f, "{folds}-fold cross-validated macro-F1"),
            Selection::HeldOut { rows } => write!(f, "macro-F1 on {rows} held-out validation rows"),
        }
    }
}

/// Label index per head for one example (`None` where the example lacks that label).
fn targets(example: &Example, heads: &[HeadSpec]) -> Vec<Option<u32>> {
    heads
        .iter()
        .map(|h| example.labels.get(&h.name).and_then(|l| h.labels.iter().position(|x| x == l)).map(|i| i as u32))
        .collect()
}

/// Sum of `-weight * log p(target)` over the rows that carry the label, divided by the
/// number of rows in the batch (not by the rows carrying the label: that would give each
/// ticket of a head with few labeled rows a far larger step, which measurably overfits it).
fn masked_loss(logits: &Tensor, rows: &[Option<u32>], weights: &[f32]) -> candle_core::Result<Option<Tensor>> {
    let row_weights: Vec<f32> = rows.iter().map(|t| t.map_or(0.0, |t| weights[t as usize])).collect();
    if row_weights.iter().all(|w| *w <= 0.0) {
        return Ok(None);
    }
    let total = rows.len() as f32;
    let device = logits.device();
    let indices: Vec<u32> = rows.iter().map(|t| t.unwrap_or(0)).collect();
    let indices = Tensor::from_vec(indices, (rows.len(), 1), device)?;
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?.gather(&indices, 1)?.squeeze(1)?;
    let row_weights = Tensor::from_vec(row_weights, rows.len(), device)?;
    Ok(Some((log_probs.mul(&row_weights)?.sum_all()? / f64::from(-total))?))
}

struct Prepared {
    features: Vec<TicketFeatures>,
    targets: Vec<Vec<Option<u32>>>,
}

fn featurize(
    examples: &[Example],
    text: &TextPipeline,
    config: &FeatureConfig,
    idf: &[f32],
    heads: &[HeadSpec],
) -> Result<Prepared, TrainError> {
    let features = examples
        .par_iter()
        .map(|example| {
            let mut features = config.featurize(&text.words(&example.text)?, idf);
            // Held for the whole run, and built by pushing: without this a third of it can be slack.
            features.ids.shrink_to_fit();
            features.weights.shrink_to_fit();
            Ok(features)
        })
        .collect::<Result<_, TrainError>>()?;
    Ok(Prepared { features, targets: examples.iter().map(|e| targets(e, heads)).collect() })
}

/// Logits of every validation example: `[head][example][class]`.
fn all_logits(network: &TextNetwork, features: &[TicketFeatures], batch: usize) -> Result<Vec<Vec<Vec<f32>>>, TrainError> {
    let mut per_head: Vec<Vec<Vec<f32>>> = Vec::new();
    for chunk in features.chunks(batch.max(1) * 8) {
        let refs: Vec<&TicketFeatures> = chunk.iter().collect();
        let outputs = network.forward(&Batch::new(&refs, &Device::Cpu)?)?;
        per_head.resize(outputs.len(), Vec::new());
        for (head, output) in outputs.iter().enumerate() {
            per_head[head].extend(output.to_vec2::<f32>()?);
        }
    }
    Ok(per_head)
}

pub(crate) fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// Macro-F1 per head on the rows that carry that head's label.
fn validation_scores(logits: &[Vec<Vec<f32>>], prepared: &Prepared, heads: &[HeadSpec]) -> BTreeMap<String, f64> {
    heads
        .iter()
        .enumerate()
        .map(|(h, spec)| {
            let (truth, predicted): (Vec<usize>, Vec<usize>) =
                prepared.targets.iter().zip(&logits[h]).filter_map(|(t, l)| t[h].map(|t| (t as usize, argmax(l)))).unzip();
            (spec.name.clone(), macro_f1(&spec.labels, &truth, &predicted))
        })
        .collect()
}

/// Macro-F1 of hard predictions (the confidence `head_metrics` also takes plays no part in it).
fn macro_f1(labels: &[String], truth: &[usize], predicted: &[usize]) -> f64 {
    head_metrics(labels, truth, predicted, &vec![1.0; truth.len()]).macro_f1
}

/// All network weights by name: the heads' current values and the embedding table.
fn weights_of(varmap: &VarMap, table: &SparseSgd, rows: usize, dim: usize) -> candle_core::Result<HashMap<String, Tensor>> {
    let data = varmap.data().lock().map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let mut weights: HashMap<String, Tensor> =
        data.iter().map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?))).collect::<candle_core::Result<_>>()?;
    weights.insert(EMBEDDING.to_string(), Tensor::from_slice(table.table(), (rows, dim), &Device::Cpu)?);
    Ok(weights)
}

/// `features` with each feature dropped with probability `rate`, re-normalised: a cheap
/// augmentation that stops the model leaning on any single n-gram.
fn drop_features(features: &TicketFeatures, rate: f32, rng: &mut StdRng) -> TicketFeatures {
    if rate <= 0.0 {
        return features.clone();
    }
    let mut kept = TicketFeatures::default();
    for (i, (&id, &weight)) in features.ids.iter().zip(&features.weights).enumerate() {
        if rng.random::<f32>() >= rate {
            kept.ids.push(id);
            kept.weights.push(weight);
            kept.word_level += usize::from(i < features.word_level);
        }
    }
    let norm = kept.weights.iter().map(|w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        kept.weights.iter_mut().for_each(|w| *w /= norm);
    }
    kept
}

/// One trained member of the ensemble: its weights (each head from its own best epoch),
/// those epochs, and the per-epoch log.
struct Member {
    weights: HashMap<String, Tensor>,
    best_epoch: BTreeMap<String, usize>,
    epochs: Vec<EpochLog>,
}

/// Trains member `member` (0-based; seed `config.seed + member`) on prepared features.
fn fit_member(
    train_set: &Prepared,
    validation_set: &Prepared,
    heads: &[HeadSpec],
    feature_dimension: usize,
    config: &TrainConfig,
    member: usize,
    progress: &ProgressBar,
) -> Result<Member, TrainError> {
    let seed = config.seed + member as u64;
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let network_config = NetworkConfig::uniform(heads.len(), config.head_dim);
    let embedding_dim = network_config.embedding_dim();
    let head_sizes: Vec<(String, usize)> = heads.iter().map(|h| (h.name.clone(), h.labels.len())).collect();
    let output_heads = Heads::new(VarBuilder::from_varmap(&varmap, DType::F32, &device), network_config.clone(), &head_sizes)?;
    let mut table = SparseSgd::new(feature_dimension, embedding_dim, config.embedding_learning_rate, config.weight_decay);
    let mut head_optimizer = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW { lr: config.learning_rate, weight_decay: config.weight_decay, ..ParamsAdamW::default() },
    )?;
    let weights: Vec<Vec<f32>> = heads
        .iter()
        .enumerate()
        .map(|(h, spec)| balanced_class_weights(labeled_rows(train_set, h).into_iter().map(|(_, t)| t), spec.labels.len()))
        .collect();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..train_set.features.len()).collect();
    let steps_total = (config.epochs * order.len().div_ceil(config.batch_size)).max(1);
    let mut steps_done = 0usize;
    let mut epochs = Vec::new();
    let mut best: Vec<Option<HeadBest>> = heads.iter().map(|_| None).collect();
    for epoch in 1..=config.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut steps = 0usize;
        for chunk in order.chunks(config.batch_size) {
            // Linear decay to zero over the planned run, as fastText does.
            let remaining = 1.0 - steps_done as f64 / steps_total as f64;
            table.set_learning_rate(config.embedding_learning_rate * remaining);
            head_optimizer.set_learning_rate(config.learning_rate * remaining);
            let dropped: Vec<TicketFeatures> =
                chunk.iter().map(|&i| drop_features(&train_set.features[i], config.feature_dropout, &mut rng)).collect();
            let refs: Vec<&TicketFeatures> = dropped.iter().collect();
            let (batch, unique) = Batch::compact(&refs, &device)?;
            let rows = Var::from_vec(table.gather(&unique), (unique.len(), embedding_dim), &device)?;
            let logits = output_heads.forward(&encode(rows.as_tensor(), &batch)?)?;
            let mut losses = Vec::new();
            for (h, head_logits) in logits.iter().enumerate() {
                let targets: Vec<Option<u32>> = chunk.iter().map(|&i| train_set.targets[i][h]).collect();
                if let Some(loss) = masked_loss(head_logits, &targets, &weights[h])? {
                    losses.push(loss);
                }
            }
            let loss = Tensor::stack(&losses, 0)?.sum_all()?;
            let grads = loss.backward()?;
            head_optimizer.step(&grads)?;
            if let Some(grad) = grads.get(rows.as_tensor()) {
                table.step(&unique, &grad.flatten_all()?.to_vec1::<f32>()?);
            }
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
            steps_done += 1;
        }
        let current = weights_of(&varmap, &table, feature_dimension, embedding_dim)?;
        let network = restore_network(&current, feature_dimension, &network_config, heads)?;
        let logits = all_logits(&network, &validation_set.features, config.batch_size)?;
        let scores = validation_scores(&logits, validation_set, heads);
        let loss = loss_sum / steps.max(1) as f64;
        progress.set_message(format!(
            "member {}, epoch {epoch}: loss {loss:.4}, validation macro-F1 {}",
            member + 1,
            scores.iter().map(|(h, f)| format!("{h} {f:.3}")).collect::<Vec<_>>().join(", ")
        ));
        progress.inc(1);
        for (slot, spec) in best.iter_mut().zip(heads) {
            let score = scores[&spec.name];
            if slot.as_ref().is_none_or(|b| score > b.score) {
                *slot = Some(HeadBest { score, epoch, weights: current.clone() });
            }
        }
        epochs.push(EpochLog { epoch, loss, validation_macro_f1: scores });
        if best.iter().all(|b| b.as_ref().is_some_and(|b| epoch - b.epoch >= config.patience)) {
            break;
        }
    }
    let best: Vec<HeadBest> = best.into_iter().collect::<Option<_>>().ok_or_else(|| TrainError::Data("no epoch ran".into()))?;
    let best_epoch = heads.iter().zip(&best).map(|(spec, b)| (spec.name.clone(), b.epoch)).collect();
    Ok(Member { weights: combine_head_bests(&best, heads, &network_config)?, best_epoch, epochs })
}

/// Fits the model on `train`, selecting the epoch and the calibration on `validation`.
pub fn train(
    train: &[Example],
    validation: &[Example],
    heads: Vec<HeadSpec>,
    config: &TrainConfig,
    progress: &ProgressBar,
) -> Result<Trained, TrainError> {
    if validation.is_empty() {
        return Err(TrainError::Data("validation set is empty; give more rows or --dev files".into()));
    }
    let text = TextPipeline::train(train.iter().map(|e| e.text.as_str()), config.vocab_size)?;
    let features = FeatureConfig {
        vocab_size: text.vocab_size(),
        buckets: config.buckets,
        char_ngram_min: config.char_ngram_min,
        char_ngram_max: config.char_ngram_max,
        word_bigrams: config.word_bigrams,
    };
    // The tickets are tokenized twice, for the document frequencies and then for the features:
    // every ticket's words held between the two passes take several times the features' memory.
    let document_frequency = train
        .par_iter()
        .try_fold(
            || vec![0u32; features.dimension()],
            |mut counts, example| {
                for id in features.distinct_ids(&text.words(&example.text)?) {
                    counts[id as usize] += 1;
                }
                Ok::<_, TrainError>(counts)
            },
        )
        .try_reduce(
            || vec![0u32; features.dimension()],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                Ok(a)
            },
        )?;
    let idf = inverse_document_frequency(&document_frequency, train.len(), config.min_df);
    let train_set = featurize(train, &text, &features, &idf, &heads)?;
    let validation_set = featurize(validation, &text, &features, &idf, &heads)?;

    let every_head_linear = heads.iter().all(|spec| config.linear_heads.contains(&spec.name));
    let members = if every_head_linear {
        Vec::new()
    } else {
        progress.set_length((config.epochs * config.ensemble.max(1)) as u64);
        (0..config.ensemble.max(1))
            .map(|k| fit_member(&train_set, &validation_set, &heads, features.dimension(), config, k, progress))
            .collect::<Result<Vec<_>, _>>()?
    };
    let (mut network_config, mut best_weights) = if members.is_empty() {
        placeholder_network(&heads, features.dimension())?
    } else {
        (NetworkConfig::uniform(heads.len(), config.head_dim * members.len()), merge_members(&members, &heads, config.head_dim)?)
    };
    let mut linear_heads = BTreeMap::new();
    let mut held_out_logits = HashMap::new();
    // The heads' fits are independent, like the folds' within each (see `out_of_fold_logits`).
    let linear: Vec<(usize, &HeadSpec)> =
        heads.iter().enumerate().filter(|(_, spec)| config.linear_heads.contains(&spec.name)).collect();
    let fits: Vec<FittedLinear> =
        linear.par_iter().map(|&(h, spec)| fit_linear(&train_set, &validation_set, h, spec, config)).collect::<Result<_, _>>()?;
    for ((h, spec), fitted) in linear.into_iter().zip(fits) {
        install_linear_head(&mut best_weights, &mut network_config, h, spec, &fitted.shipped)?;
        let record = fitted.record;
        eprintln!(
            "{}: {} C {} ({} {:.3}{}; shipped fit on {} rows, {} L-BFGS iterations); {}",
            spec.name,
            record.form,
            record.inverse_regularisation,
            record.selection,
            record.selection_macro_f1,
            record.set_aside_note(),
            record.rows,
            record.iterations,
            record.recall_note()
        );
        held_out_logits.insert(h, fitted.validation_logits);
        linear_heads.insert(spec.name.clone(), record);
    }
    let best_epoch = members.iter().map(|m| m.best_epoch.clone()).collect();
    let epochs = members.into_iter().map(|m| m.epochs).collect();

    let restored = restore_network(&best_weights, features.dimension(), &network_config, &heads)?;
    let mut logits = all_logits(&restored, &validation_set.features, config.batch_size)?;
    // A linear head's shipped fit has seen the validation rows; their out-of-fold logits
    // score and calibrate it.
    for (h, head_logits) in held_out_logits {
        logits[h] = head_logits;
    }
    let thresholds: BTreeMap<String, f32> = linear_heads
        .iter()
        .filter_map(|(name, record)| record.recall.as_ref().and_then(|c| c.threshold).map(|t| (name.clone(), t)))
        .collect();
    let memory =
        (!thresholds.is_empty()).then(|| remember(&[(train, &train_set), (validation, &validation_set)], &heads, thresholds));
    if let Some((memory, places)) = &memory {
        // Scores and calibration must see what serving does: each validation row recalls the
        // most similar remembered ticket other than itself.
        let recalling = recalling_memory(&heads, &memory.spec, &memory.arrays).map_err(TrainError::Data)?;
        recall_into(&mut logits, &recalling, &validation_set.features, &places[1]);
    }
    let memory = memory.map(|(memory, _)| memory);
    let validation_macro_f1 = validation_scores(&logits, &validation_set, &heads);
    let mut calibration = Calibration::default();
    for (h, spec) in heads.iter().enumerate() {
        let (rows, truth): (Vec<Vec<f32>>, Vec<usize>) =
            validation_set.targets.iter().zip(&logits[h]).filter_map(|(t, l)| t[h].map(|t| (l.clone(), t as usize))).unzip();
        calibration.heads.insert(spec.name.clone(), fit_head_calibration(&rows, &truth, config.target_accuracy));
    }
    Ok(Trained {
        text,
        features,
        network: network_config,
        heads,
        idf,
        weights: best_weights,
        calibration,
        epochs,
        best_epoch,
        linear_heads,
        validation_macro_f1,
        memory,
    })
}

/// Every ticket of `sets` labeled for a head that recalls: its word-level vector, its class
/// per head and its id. Also, per set, each row's place in the memory (if remembered).
fn remember(
    sets: &[(&[Example], &Prepared)],
    heads: &[HeadSpec],
    thresholds: BTreeMap<String, f32>,
) -> (TrainedMemory, Vec<Vec<Option<usize>>>) {
    let recalling: Vec<bool> = heads.iter().map(|spec| thresholds.contains_key(&spec.name)).collect();
    let mut arrays = MemoryArrays::new(heads.len());
    let mut tickets = Vec::new();
    let mut places = Vec::new();
    for (examples, prepared) in sets {
        let mut place = Vec::with_capacity(examples.len());
        for ((example, features), targets) in examples.iter().zip(&prepared.features).zip(&prepared.targets) {
            if targets.iter().zip(&recalling).any(|(t, &r)| r && t.is_some()) {
                let labels: Vec<u32> = targets.iter().map(|t| t.unwrap_or(NO_LABEL)).collect();
                let (ids, weights) = features.word_level_part();
                place.push(Some(tickets.len()));
                arrays.push(ids, weights, &labels);
                tickets.push(example.id.clone());
            } else {
                place.push(None);
            }
        }
        places.push(place);
    }
    (TrainedMemory { arrays, spec: MemorySpec { tickets, thresholds } }, places)
}

/// `logits[head][row]` of `rows` with each recalling head preferring the label of the most
/// similar remembered ticket other than the row itself (`own[row]`), as serving does.
fn recall_into(logits: &mut [Vec<Vec<f32>>], memory: &Memory, rows: &[TicketFeatures], own: &[Option<usize>]) {
    let recalls: Vec<Vec<Option<Recall>>> =
        rows.par_iter().zip(own).map(|(features, &own)| memory.recall(features, own)).collect();
    for (row, recalled) in recalls.iter().enumerate() {
        prefer_recalled(logits.iter_mut().map(|head| &mut head[row]), recalled);
    }
}

/// A linear head as fitted: the fit shipped (on training plus validation rows) and the
/// validation rows' out-of-fold logits (what scores and calibrates it).
struct FittedLinear {
    shipped: LinearHead,
    validation_logits: Vec<Vec<f32>>,
    record: LinearRecord,
}

/// Head `h`'s rows of `prepared`: features and target class.
fn labeled_rows(prepared: &Prepared, h: usize) -> Vec<(&TicketFeatures, usize)> {
    prepared.features.iter().zip(&prepared.targets).filter_map(|(f, t)| t[h].map(|t| (f, t as usize))).collect()
}

/// Which of `folds` folds each row belongs to: rows dealt out round-robin within each class,
/// so every fold holds each class in proportion.
fn stratified_folds(targets: &[usize], folds: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&i| targets[i]);
    let mut fold = vec![0; targets.len()];
    for (position, &i) in order.iter().enumerate() {
        fold[i] = position % folds;
    }
    fold
}

/// The fold of a row that no fit scoring `C` learns from or scores.
const SET_ASIDE: usize = usize::MAX;

/// Per solve, per row, the logits (empty for a row no fit held out).
type PerSolveLogits = Vec<Vec<Vec<f32>>>;

/// Per solve, the logits of each row of a held-out fold from the fit on the rows of every
/// other fold except rows `SET_ASIDE` (each fit's solves run as one warm-started path); rows
/// of other folds get no logits. Also the last fit's path, a warm start for the shipped fit.
fn out_of_fold_logits(
    rows: &[(&TicketFeatures, usize)],
    fold: &[usize],
    held_out_folds: &[usize],
    classes: usize,
    form: LinearForm,
    solves: &[Solve],
) -> (PerSolveLogits, Vec<LinearHead>) {
    // The folds' fits are independent; side by side they keep both cores busy through each
    // other's serial L-BFGS steps.
    let paths: Vec<Vec<LinearHead>> = held_out_folds
        .par_iter()
        .map(|&held_out| {
            let training: Vec<(&TicketFeatures, usize)> =
                rows.iter().zip(fold).filter(|(_, &f)| f != held_out && f != SET_ASIDE).map(|(row, _)| *row).collect();
            form.fit_path(&training, classes, solves, None)
        })
        .collect();
    let mut logits = vec![vec![Vec::new(); rows.len()]; solves.len()];
    let mut last_path = Vec::new();
    for (&held_out, path) in held_out_folds.iter().zip(paths) {
        for (head, per_row) in path.iter().zip(logits.iter_mut()) {
            for ((features, _), (slot, _)) in rows.iter().zip(per_row.iter_mut().zip(fold)).filter(|(_, (_, &f))| f == held_out) {
                *slot = head.logits(features).iter().map(|&l| l as f32).collect();
            }
        }
        last_path = path;
    }
    (logits, last_path)
}

/// Fits head `h` as logistic regression on its training and validation rows together. Each
/// candidate `C` is scored by stratified k-fold cross-validated macro-F1 over all those rows
/// (far steadier than one small validation split), or, once the validation rows alone are
/// many, by the fit on the training rows scored on them; past `linear_selection_rows`
/// training rows, a stratified sample of at most that many stands in for them in those fits.
/// The best is fitted on every row, starting from its last out-of-fold fit, and shipped. The
/// validation rows keep their out-of-fold logits, which score and calibrate the head.
fn fit_linear(
    train_set: &Prepared,
    validation_set: &Prepared,
    h: usize,
    spec: &HeadSpec,
    config: &TrainConfig,
) -> Result<FittedLinear, TrainError> {
    let mut rows = labeled_rows(train_set, h);
    let training_rows = rows.len();
    rows.extend(labeled_rows(validation_set, h));
    let targets: Vec<usize> = rows.iter().map(|(_, t)| *t).collect();
    let validation_rows = rows.len() - training_rows;
    // Past the cap, the training rows are dealt into `stride` stratified parts and the first
    // part alone is kept for scoring C; the folds are dealt over the kept rows only.
    // Validation rows are always kept: their out-of-fold logits calibrate the head.
    let stride = training_rows.div_ceil(config.linear_selection_rows.max(1)).max(1);
    let part = stratified_folds(&targets[..training_rows], stride);
    let mut used: Vec<usize> = (0..training_rows).filter(|&i| part[i] == 0).collect();
    let selection_set_aside = training_rows - used.len();
    used.extend(training_rows..rows.len());
    let mut fold = vec![SET_ASIDE; rows.len()];
    let (selection, held_out_folds) = if validation_rows >= config.linear_holdout_rows {
        used.iter().for_each(|&i| fold[i] = usize::from(i < training_rows));
        (Selection::HeldOut { rows: validation_rows }, vec![0])
    } else {
        let folds = config.linear_folds.max(2);
        let used_targets: Vec<usize> = used.iter().map(|&i| targets[i]).collect();
        used.iter().zip(stratified_folds(&used_targets, folds)).for_each(|(&i, f)| fold[i] = f);
        (Selection::CrossValidation { folds }, (0..folds).collect())
    };
    let scored_rows: Vec<usize> = (0..rows.len()).filter(|&i| held_out_folds.contains(&fold[i])).collect();
    let scored: Vec<usize> = scored_rows.iter().map(|&i| targets[i]).collect();
    let classes = spec.labels.len();
    let mut values = config.linear_inverse_regularisation.clone();
    values.sort_by(f64::total_cmp);
    let solves: Vec<Solve> = values
        .iter()
        .map(|&c| Solve {
            inverse_regularisation: c,
            max_iterations: config.linear_max_iterations,
            gradient_tolerance: config.linear_tolerance,
        })
        .collect();
    // Per candidate: its out-of-fold logits, and its fold's fit as a warm start.
    let mut best: Option<(Candidate, Vec<Vec<f32>>, LinearHead)> = None;
    let mut candidates = Vec::new();
    for &form in &config.linear_forms {
        let (out_of_fold, last_path) = out_of_fold_logits(&rows, &fold, &held_out_folds, classes, form, &solves);
        for ((solve, logits), start) in solves.iter().zip(out_of_fold).zip(last_path) {
            let predicted: Vec<usize> = scored_rows.iter().map(|&i| argmax(&logits[i])).collect();
            let macro_f1 = macro_f1(&spec.labels, &scored, &predicted);
            let candidate = Candidate { form, inverse_regularisation: solve.inverse_regularisation, macro_f1 };
            candidates.push(candidate);
            if best.as_ref().is_none_or(|(b, _, _)| macro_f1 > b.macro_f1) {
                best = Some((candidate, logits, start));
            }
        }
    }
    let (chosen, out_of_fold, start) =
        best.ok_or_else(|| TrainError::Data("--linear-c and --linear-forms need at least one value each".into()))?;
    let solve = Solve { inverse_regularisation: chosen.inverse_regularisation, ..solves[0] };
    let shipped = chosen.form.fit_path(&rows, classes, &[solve], Some(&start)).pop();
    let shipped = shipped.ok_or_else(|| TrainError::Data(format!("{}: logistic regression returned no fit", spec.name)))?;
    let recall = choose_recall(&rows, &used, &scored_rows, &out_of_fold, spec, config);
    // Validation rows without this head's label are never scored; the shipped fit fills them.
    let mut held_out = out_of_fold.into_iter().skip(training_rows);
    let validation_logits = validation_set
        .features
        .iter()
        .zip(&validation_set.targets)
        .map(|(f, t)| match t[h] {
            Some(_) => held_out.next().unwrap_or_default(),
            None => shipped.logits(f).iter().map(|&l| l as f32).collect(),
        })
        .collect();
    let record = LinearRecord {
        form: chosen.form,
        inverse_regularisation: chosen.inverse_regularisation,
        iterations: shipped.iterations,
        selection,
        selection_set_aside,
        training_rows,
        selection_macro_f1: chosen.macro_f1,
        candidates,
        rows: rows.len(),
        recall,
    };
    Ok(FittedLinear { shipped, validation_logits, record })
}

/// The head's recall threshold (see `recall`), chosen on the rows that scored `C`, each
/// recalling the most similar other row kept for that scoring. `None` without candidate
/// similarities or past `recall_rows` rows.
fn choose_recall(
    rows: &[(&TicketFeatures, usize)],
    used: &[usize],
    scored_rows: &[usize],
    out_of_fold: &[Vec<f32>],
    spec: &HeadSpec,
    config: &TrainConfig,
) -> Option<RecallChoice> {
    if config.recall_similarities.is_empty() || rows.len() > config.recall_rows {
        return None;
    }
    let vectors: Vec<(&[u32], &[f32])> = used.iter().map(|&i| rows[i].0.word_level_part()).collect();
    let targets: Vec<usize> = used.iter().map(|&i| rows[i].1).collect();
    let mut position = vec![None; rows.len()];
    used.iter().enumerate().for_each(|(p, &i)| position[i] = Some(p));
    let scored: Vec<(usize, &[f32])> =
        scored_rows.iter().filter_map(|&i| position[i].map(|p| (p, out_of_fold[i].as_slice()))).collect();
    Some(choose_threshold(&vectors, &targets, &scored, &spec.labels, &config.recall_similarities))
}

/// Writes a linear head into the merged network in place of the ensemble's head: its
/// coefficients become the head's slice of the embedding, one column per class, read through
/// the identity. Logits stay linear in the features, so the per-feature evidence stays exact.
fn install_linear_head(
    weights: &mut HashMap<String, Tensor>,
    config: &mut NetworkConfig,
    h: usize,
    spec: &HeadSpec,
    head: &LinearHead,
) -> Result<(), TrainError> {
    let classes = head.classes();
    let device = Device::Cpu;
    let embedding = weights.get(EMBEDDING).cloned().ok_or_else(|| TrainError::Data(format!("no weights named {EMBEDDING}")))?;
    let rows = embedding.dim(0)?;
    let mut block = vec![0.0f32; rows * classes];
    for (id, coefficients) in head.feature_ids.iter().zip(head.coefficients.chunks(classes)) {
        let slot = block
            .get_mut(*id as usize * classes..(*id as usize + 1) * classes)
            .ok_or_else(|| TrainError::Data(format!("{}: feature {id} lies outside the embedding's {rows} rows", spec.name)))?;
        slot.iter_mut().zip(coefficients).for_each(|(v, &c)| *v = c as f32);
    }
    let block = Tensor::from_vec(block, (rows, classes), &device)?;
    let slices = (0..config.head_widths.len())
        .map(|i| if i == h { Ok(block.clone()) } else { config.head_input(&embedding, i) })
        .collect::<candle_core::Result<Vec<_>>>()?;
    weights.insert(EMBEDDING.to_string(), Tensor::cat(&slices, 1)?);
    config.head_widths[h] = classes;
    weights.insert(format!("{HEAD_PREFIX}.{}.weight", spec.name), Tensor::eye(classes, DType::F32, &device)?);
    let intercepts: Vec<f32> = head.intercepts.iter().map(|&b| b as f32).collect();
    weights.insert(format!("{HEAD_PREFIX}.{}.bias", spec.name), Tensor::from_vec(intercepts, classes, &device)?);
    Ok(())
}

/// One head's best epoch so far: its validation macro-F1, the epoch, all weights then.
struct HeadBest {
    score: f64,
    epoch: usize,
    weights: HashMap<String, Tensor>,
}

/// The final weights: each head's columns of the embedding and its layer, from its own best
/// epoch. Heads read disjoint columns, so the pieces fit together exactly.
fn combine_head_bests(
    best: &[HeadBest],
    heads: &[HeadSpec],
    config: &NetworkConfig,
) -> Result<HashMap<String, Tensor>, TrainError> {
    let mut combined = HashMap::new();
    let mut columns = Vec::with_capacity(best.len());
    for (h, (head_best, spec)) in best.iter().zip(heads).enumerate() {
        let embedding = head_best.weights.get(EMBEDDING).ok_or_else(|| TrainError::Data("no embedding weights".into()))?;
        columns.push(config.head_input(embedding, h)?);
        let prefix = format!("{HEAD_PREFIX}.{}.", spec.name);
        combined
            .extend(head_best.weights.iter().filter(|(name, _)| name.starts_with(&prefix)).map(|(n, t)| (n.clone(), t.clone())));
    }
    combined.insert(EMBEDDING.to_string(), Tensor::cat(&columns, 1)?);
    Ok(combined)
}

/// Averages members into one network exactly: logits are linear in the weights, so a head
/// that reads every member's columns with every member's weights scaled by 1/K computes the
/// mean of the members' logits. Columns are grouped by head, then member.
fn merge_members(members: &[Member], heads: &[HeadSpec], head_dim: usize) -> Result<HashMap<String, Tensor>, TrainError> {
    let single = NetworkConfig::uniform(heads.len(), head_dim);
    let scale = 1.0 / members.len() as f64;
    let mut merged = HashMap::new();
    let mut columns = Vec::new();
    for (h, spec) in heads.iter().enumerate() {
        let mut head_weights = Vec::new();
        let mut biases = Vec::new();
        for member in members {
            let weight =
                |name: &str| member.weights.get(name).cloned().ok_or_else(|| TrainError::Data(format!("member lacks {name}")));
            columns.push(single.head_input(&weight(EMBEDDING)?, h)?);
            head_weights.push(weight(&format!("{HEAD_PREFIX}.{}.weight", spec.name))?);
            biases.push(weight(&format!("{HEAD_PREFIX}.{}.bias", spec.name))?);
        }
        merged.insert(format!("{HEAD_PREFIX}.{}.weight", spec.name), (Tensor::cat(&head_weights, 1)? * scale)?);
        merged.insert(format!("{HEAD_PREFIX}.{}.bias", spec.name), (Tensor::stack(&biases, 0)?.sum(0)? * scale)?);
    }
    merged.insert(EMBEDDING.to_string(), Tensor::cat(&columns, 1)?);
    Ok(merged)
}

/// A network of one zero column per head, for runs where every head is then replaced by a
/// linear fit (no ensemble member is trained, since none of its heads would be kept).
fn placeholder_network(
    heads: &[HeadSpec],
    feature_dimension: usize,
) -> Result<(NetworkConfig, HashMap<String, Tensor>), TrainError> {
    let device = Device::Cpu;
    let mut weights = HashMap::new();
    weights.insert(EMBEDDING.to_string(), Tensor::zeros((feature_dimension, heads.len()), DType::F32, &device)?);
    for spec in heads {
        let classes = spec.labels.len();
        weights.insert(format!("{HEAD_PREFIX}.{}.weight", spec.name), Tensor::zeros((classes, 1), DType::F32, &device)?);
        weights.insert(format!("{HEAD_PREFIX}.{}.bias", spec.name), Tensor::zeros(classes, DType::F32, &device)?);
    }
    Ok((NetworkConfig::uniform(heads.len(), 1), weights))
}

fn restore_network(
    weights: &HashMap<String, Tensor>,
    feature_dimension: usize,
    config: &NetworkConfig,
    heads: &[HeadSpec],
) -> Result<TextNetwork, TrainError> {
    let head_sizes: Vec<(String, usize)> = heads.iter().map(|h| (h.name.clone(), h.labels.len())).collect();
    let vb = VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
    Ok(TextNetwork::new(vb, feature_dimension, config.clone(), &head_sizes)?)
}

impl Trained {
    /// The trained model as a `Classifier`, to evaluate it before any bundle is written.
    /// Its manifest is provisional: unsealed, without data or metrics.
    pub fn classifier(&self, name: &str) -> Result<Classifier, TrainError> {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            name: name.to_string(),
            version: "unsealed".into(),
            created_at: String::new(),
            heads: self.heads.clone(),
            features: self.features,
            network: self.network.clone(),
            training: serde_json::Value::Null,
            data: Vec::new(),
            data_fingerprint: String::new(),
            corrections_used: 0,
            metrics: serde_json::Value::Null,
            files: std::collections::BTreeMap::new(),
            memory: self.memory.as_ref().map(|m| m.spec.clone()),
        };
        let network = restore_network(&self.weights, self.features.dimension(), &self.network, &self.heads)?;
        let memory = match &self.memory {
            Some(m) => Some(recalling_memory(&self.heads, &m.spec, &m.arrays).map_err(TrainError::Data)?),
            None => None,
        };
        Ok(Classifier::from_parts(manifest, self.text.clone(), self.idf.clone(), network, self.calibration.clone(), memory))
    }
}

/// Style for the per-epoch progress bar.
pub fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::{load, split, ColumnMap};
    use crate::eval::evaluate;

    fn sample() -> Vec<Example> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/sample/tickets.csv");
        let labels = ["urgency", "sentiment", "category"].iter().map(|h| (h.to_string(), h.to_string())).collect();
        let map = ColumnMap { id: Some("id".into()), text: vec!["subject".into(), "body".into()], language: None, labels };
        load(&[path], &map).expect("the sample loads").examples
    }

    fn majority_accuracy(train: &[Example], held_out: &[Example], head: &str) -> f64 {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for example in train {
            *counts.entry(example.labels[head].as_str()).or_default() += 1;
        }
        let majority = counts.iter().max_by_key(|(_, n)| **n).map(|(l, _)| *l).unwrap_or_default();
        held_out.iter().filter(|e| e.labels[head] == majority).count() as f64 / held_out.len() as f64
    }

    fn sample_heads(rows: &[Example]) -> Vec<HeadSpec> {
        ["category", "sentiment", "urgency"]
            .iter()
            .map(|&name| {
                let mut labels: Vec<String> = rows.iter().map(|e| e.labels[name].clone()).collect();
                labels.sort();
                labels.dedup();
                HeadSpec { name: name.to_string(), labels }
            })
            .collect()
    }

    fn assert_beats_majority(trained: &Trained, train_rows: &[Example], held_out: &[Example]) {
        let report = evaluate(&trained.classifier("sample").expect("classifier"), held_out).expect("evaluates");
        for head in ["category", "sentiment", "urgency"] {
            let accuracy = report.heads[head].accuracy;
            let baseline = majority_accuracy(train_rows, held_out, head);
            assert!(accuracy > baseline, "{head}: accuracy {accuracy:.3} vs majority {baseline:.3}");
        }
    }

    /// A config that trains on the sample in seconds.
    fn small() -> TrainConfig {
        TrainConfig { vocab_size: 2000, buckets: 1 << 14, epochs: 20, patience: 6, ensemble: 2, ..TrainConfig::default() }
    }

    #[test]
    fn a_model_trained_on_the_sample_beats_the_majority_class_on_held_out_rows() {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let (fit_rows, validation_rows) = split(train_rows.clone(), 0.15, 3);
        let config =
            TrainConfig { linear_heads: vec!["urgency".into()], linear_inverse_regularisation: vec![1.0, 4.0], ..small() };
        let trained =
            train(&fit_rows, &validation_rows, sample_heads(&train_rows), &config, &ProgressBar::hidden()).expect("trains");
        assert!(trained.linear_heads.contains_key("urgency"));
        let urgency_classes = trained.heads[2].labels.len();
        assert_eq!(trained.network.head_widths, vec![2 * config.head_dim, 2 * config.head_dim, urgency_classes]);
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn folds_hold_each_class_in_proportion() {
        let targets = [0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2];
        let fold = stratified_folds(&targets, 3);
        for f in 0..3 {
            let mut counts = [0; 3];
            targets.iter().zip(&fold).filter(|(_, &g)| g == f).for_each(|(&t, _)| counts[t] += 1);
            assert_eq!(counts, [2, 1, 1], "fold {f}");
        }
    }

    /// The sample split into rows to fit, validation rows and held-out rows, with every head
    /// linear in `config`, and the model trained on it.
    struct AllLinear {
        fit_rows: Vec<Example>,
        validation_rows: Vec<Example>,
        train_rows: Vec<Example>,
        held_out: Vec<Example>,
        trained: Trained,
    }

    /// Rows of `rows` that carry head `h`'s label.
    fn labeled_count(rows: &[Example], heads: &[HeadSpec], h: usize) -> usize {
        rows.iter().filter(|e| targets(e, heads)[h].is_some()).count()
    }

    fn train_all_linear(config: TrainConfig) -> AllLinear {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let (fit_rows, validation_rows) = split(train_rows.clone(), 0.15, 3);
        let heads = sample_heads(&train_rows);
        let config = TrainConfig { linear_heads: heads.iter().map(|h| h.name.clone()).collect(), ..config };
        let trained = train(&fit_rows, &validation_rows, heads, &config, &ProgressBar::hidden()).expect("trains");
        AllLinear { fit_rows, validation_rows, train_rows, held_out, trained }
    }

    #[test]
    fn when_every_head_is_linear_no_member_is_trained_and_the_shipped_fit_sees_every_row() {
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } =
            train_all_linear(TrainConfig { linear_inverse_regularisation: vec![4.0], ..small() });
        assert!(trained.epochs.is_empty(), "no ensemble member trained");
        let classes: Vec<usize> = trained.heads.iter().map(|h| h.labels.len()).collect();
        assert_eq!(trained.network.head_widths, classes);
        for record in trained.linear_heads.values() {
            assert_eq!(record.rows, fit_rows.len() + validation_rows.len());
            assert_eq!(record.selection, Selection::CrossValidation { folds: 3 });
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn with_enough_validation_rows_c_is_chosen_on_them_alone() {
        let config = TrainConfig { linear_holdout_rows: 1, ..small() };
        let candidates = config.linear_inverse_regularisation.len() * config.linear_forms.len();
        let forms = config.linear_forms.clone();
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } = train_all_linear(config);
        for (h, spec) in trained.heads.iter().enumerate() {
            let labeled = labeled_count(&validation_rows, &trained.heads, h);
            let record = &trained.linear_heads[&spec.name];
            assert_eq!(record.selection, Selection::HeldOut { rows: labeled }, "{}", spec.name);
            assert_eq!(record.candidates.len(), candidates);
            assert!(forms.iter().all(|form| record.candidates.iter().any(|c| c.form == *form)), "every form is scored");
            let best = record.candidates.iter().map(|c| c.macro_f1).fold(f64::NEG_INFINITY, f64::max);
            let chosen = record.candidates.iter().find(|c| c.macro_f1 == best).expect("a best candidate");
            assert_eq!((record.form, record.inverse_regularisation), (chosen.form, chosen.inverse_regularisation));
            assert_eq!(record.selection_macro_f1, best, "{}: the best-scoring form and C are shipped", spec.name);
            assert_eq!(record.rows, labeled_count(&fit_rows, &trained.heads, h) + labeled);
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn near_twins_in_the_history_are_recalled_by_id_and_lend_their_label() {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let twins = train_rows.iter().map(|e| Example {
            id: format!("{}-again", e.id),
            text: format!("{} Thanks again.", e.text),
            ..e.clone()
        });
        let rows: Vec<Example> = train_rows.iter().cloned().chain(twins).collect();
        let (fit_rows, validation_rows) = split(rows.clone(), 0.15, 3);
        let heads = sample_heads(&rows);
        let config = TrainConfig { linear_heads: heads.iter().map(|h| h.name.clone()).collect(), ..small() };
        let trained = train(&fit_rows, &validation_rows, heads, &config, &ProgressBar::hidden()).expect("trains");
        let memory = trained.memory.as_ref().expect("twins make recall pay");
        assert_eq!(memory.spec.tickets.len(), rows.len(), "every labeled row is remembered");
        for spec in &trained.heads {
            let choice = trained.linear_heads[&spec.name].recall.as_ref().expect("recall was considered");
            assert!(choice.threshold.is_some() && choice.with_macro_f1 > choice.without_macro_f1, "{}: {choice:?}", spec.name);
        }
        let classifier = trained.classifier("twins").expect("classifier");
        let ticket = &train_rows[0];
        for (head, prediction) in &classifier.predict(&[ticket.text.as_str()]).expect("predicts")[0] {
            let recalled =
                prediction.recalled.as_ref().unwrap_or_else(|| panic!("{head}: a past ticket asked again is recalled"));
            assert_eq!(recalled.ticket, ticket.id, "{head}: the identical ticket, not its twin");
            assert!(recalled.similarity > 0.999, "{head}: {}", recalled.similarity);
            assert_eq!(prediction.label, ticket.labels[head], "{head}: the recalled ticket's label");
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn past_the_selection_cap_c_is_scored_by_fits_on_fewer_rows_and_the_shipped_fit_sees_every_row() {
        let cap = 60;
        // Scored on the validation rows alone, and by cross-validation.
        for holdout_rows in [1, usize::MAX] {
            let config = TrainConfig { linear_holdout_rows: holdout_rows, linear_selection_rows: cap, ..small() };
            assert_capped_selection(train_all_linear(config), cap);
        }
    }

    fn assert_capped_selection(all_linear: AllLinear, cap: usize) {
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } = all_linear;
        for (h, spec) in trained.heads.iter().enumerate() {
            let (training, validation) =
                (labeled_count(&fit_rows, &trained.heads, h), labeled_count(&validation_rows, &trained.heads, h));
            assert!(training > cap, "{}: {training} training rows", spec.name);
            let record = &trained.linear_heads[&spec.name];
            let kept = training - record.selection_set_aside;
            assert!(kept <= cap && 2 * kept > cap, "{}: {kept} of {training} training rows kept", spec.name);
            assert_eq!(record.training_rows, training);
            assert_eq!(record.rows, training + validation);
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }
}
