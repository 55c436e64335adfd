//! The network path of training: ensemble members trained with AdamW on their heads and
//! sparse SGD on the embedding table, a masked class-weighted loss per head, each head kept at
//! its best validation epoch, and the members merged exactly into one network. Used for the
//! heads left out of `--linear-heads`. Numeric work only: no files.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use triage::model::bundle::HeadSpec;
use triage::model::features::TicketFeatures;
use triage::model::network::{encode, Batch, Heads, NetworkConfig, EMBEDDING, HEAD_PREFIX};

use crate::linear_head::balanced_class_weights;
use crate::sparse_sgd::SparseSgd;
use crate::train::{all_logits, labeled_rows, restore_network, validation_scores, EpochLog, Prepared, TrainConfig, TrainError};

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

/// All network weights by name: the heads' current values and the embedding table.
pub(crate) fn weights_of(
    varmap: &VarMap,
    table: &SparseSgd,
    rows: usize,
    dim: usize,
) -> candle_core::Result<HashMap<String, Tensor>> {
    let data = varmap.data().lock().map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let mut weights: HashMap<String, Tensor> =
        data.iter().map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?))).collect::<candle_core::Result<_>>()?;
    weights.insert(EMBEDDING.to_string(), Tensor::from_slice(table.table(), (rows, dim), &triage::model::compute::device())?);
    Ok(weights)
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

/// One head's best epoch so far: its validation macro-F1, the epoch, all weights then.
pub(crate) struct HeadBest {
    pub(crate) score: f64,
    pub(crate) epoch: usize,
    pub(crate) weights: HashMap<String, Tensor>,
}

/// The final weights: each head's columns of the embedding and its layer, from its own best
/// epoch. Heads read disjoint columns, so the pieces fit together exactly.
pub(crate) fn combine_head_bests(
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
pub(crate) fn merge_members(
    members: &[Member],
    heads: &[HeadSpec],
    head_dim: usize,
) -> Result<HashMap<String, Tensor>, TrainError> {
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
