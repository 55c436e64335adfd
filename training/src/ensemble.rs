//! The network path of training: ensemble members trained with AdamW on their heads and
//! sparse SGD on the embedding table, a masked class-weighted loss per head, each head kept at
//! its best validation epoch. A member is linear after the lookup, so it collapses exactly
//! into each head's coefficient matrix, and the members' average is the average of those
//! matrices: the network is a way of fitting the sparse-linear kind, not a kind of its own.
//! Used for the heads left out of `--linear-heads`. Numeric work only: no files.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{AdamW, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use triage::model::bundle::HeadSpec;
use triage::model::features::TicketFeatures;
use triage::model::sparse_linear::{bias_name, coefficients_name, encode, Batch, SparseLinear};

use crate::linear_head::balanced_class_weights;
use crate::sparse_sgd::SparseSgd;
use crate::train::{all_logits, labeled_rows, validation_scores, EpochLog, Prepared, TrainConfig, TrainError};

/// Sum of `-weight * log p(target)` over the rows that carry the label, divided by the
/// number of rows in the batch (not by the rows carrying the label: that would give each
/// ticket of a head with few labeled rows a far larger step, which measurably overfits it).
pub(crate) fn masked_loss(logits: &Tensor, rows: &[Option<u32>], weights: &[f32]) -> candle_core::Result<Option<Tensor>> {
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

/// What a member trains: a table of `head_dim` embedding columns per head (a learned dense
/// projection of the TF-IDF vector, kept by `SparseSgd`) and one linear layer per head over
/// its own columns, so a large data set for one head cannot crowd out another.
struct LowRankHeads {
    layers: Vec<Linear>,
    head_dim: usize,
}

impl LowRankHeads {
    fn new(vb: VarBuilder, heads: &[HeadSpec], head_dim: usize) -> candle_core::Result<Self> {
        let layers = heads
            .iter()
            .map(|spec| candle_nn::linear(head_dim, spec.labels.len(), vb.pp(&spec.name)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers, head_dim })
    }

    /// Logits per head, each `[batch, classes]`, from the encoded `[batch, heads * head_dim]`.
    fn forward(&self, encoded: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(h, layer)| layer.forward(&encoded.narrow(1, h * self.head_dim, self.head_dim)?))
            .collect()
    }

    /// Every head's coefficient matrix and bias as they stand: its table columns times its
    /// layer, exactly the logits `forward` computes.
    fn collapse(&self, table: &SparseSgd, rows: usize, heads: &[HeadSpec]) -> candle_core::Result<HashMap<String, Tensor>> {
        let table =
            Tensor::from_slice(table.table(), (rows, self.layers.len() * self.head_dim), &triage::model::compute::device())?;
        let mut weights = HashMap::new();
        for (h, (layer, spec)) in self.layers.iter().zip(heads).enumerate() {
            let columns = table.narrow(1, h * self.head_dim, self.head_dim)?;
            weights.insert(coefficients_name(&spec.name), columns.matmul(&layer.weight().t()?)?);
            let bias = layer.bias().ok_or_else(|| candle_core::Error::Msg(format!("{}: layer without bias", spec.name)))?;
            weights.insert(bias_name(&spec.name), bias.copy()?);
        }
        Ok(weights)
    }
}

/// `features` with each feature dropped with probability `rate`, re-normalised: a cheap
/// augmentation that stops the model leaning on any single n-gram.
pub(crate) fn drop_features(features: &TicketFeatures, rate: f32, rng: &mut StdRng) -> TicketFeatures {
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
pub(crate) struct Member {
    pub(crate) weights: HashMap<String, Tensor>,
    pub(crate) best_epoch: BTreeMap<String, usize>,
    pub(crate) epochs: Vec<EpochLog>,
}

/// Trains member `member` (0-based; seed `config.seed + member`) on prepared features.
pub(crate) fn fit_member(
    train_set: &Prepared,
    validation_set: &Prepared,
    heads: &[HeadSpec],
    feature_dimension: usize,
    config: &TrainConfig,
    member: usize,
    progress: &ProgressBar,
) -> Result<Member, TrainError> {
    let seed = config.seed + member as u64;
    let device = triage::model::compute::device();
    let varmap = VarMap::new();
    let embedding_dim = heads.len() * config.head_dim;
    let output_heads = LowRankHeads::new(VarBuilder::from_varmap(&varmap, DType::F32, &device), heads, config.head_dim)?;
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
        let current = output_heads.collapse(&table, feature_dimension, heads)?;
        let scorer = SparseLinear::from_tensors(&current, feature_dimension, heads).map_err(TrainError::Data)?;
        let logits = all_logits(&scorer, &validation_set.features, config.batch_size)?;
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
    Ok(Member { weights: combine_head_bests(&best, heads)?, best_epoch, epochs })
}

/// One head's best epoch so far: its validation macro-F1, the epoch, every head's
/// coefficients then.
pub(crate) struct HeadBest {
    pub(crate) score: f64,
    pub(crate) epoch: usize,
    pub(crate) weights: HashMap<String, Tensor>,
}

/// The final weights: each head's coefficients and bias from its own best epoch.
pub(crate) fn combine_head_bests(best: &[HeadBest], heads: &[HeadSpec]) -> Result<HashMap<String, Tensor>, TrainError> {
    let mut combined = HashMap::new();
    for (head_best, spec) in best.iter().zip(heads) {
        for name in [coefficients_name(&spec.name), bias_name(&spec.name)] {
            let tensor = head_best.weights.get(&name).ok_or_else(|| TrainError::Data(format!("no weights named {name}")))?;
            combined.insert(name, tensor.clone());
        }
    }
    Ok(combined)
}

/// The members' average, exactly: logits are linear in the coefficients, so averaging each
/// head's coefficients and biases averages the members' logits.
pub(crate) fn merge_members(members: &[Member], heads: &[HeadSpec]) -> Result<HashMap<String, Tensor>, TrainError> {
    let scale = 1.0 / members.len() as f64;
    let mut merged = HashMap::new();
    for spec in heads {
        for name in [coefficients_name(&spec.name), bias_name(&spec.name)] {
            let tensors = members
                .iter()
                .map(|member| member.weights.get(&name).cloned().ok_or_else(|| TrainError::Data(format!("member lacks {name}"))))
                .collect::<Result<Vec<_>, _>>()?;
            merged.insert(name, (Tensor::stack(&tensors, 0)?.sum(0)? * scale)?);
        }
    }
    Ok(merged)
}
