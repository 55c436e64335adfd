//! The candle network: one shared encoder (a weighted bag of feature embeddings, i.e. a
//! learned dense projection of the TF-IDF vector) and one linear classification head per
//! label set. The embedding table and its lookup are shared; each head reads its own slice
//! of the columns, so a large data set for one head (sentiment) cannot crowd out another and
//! each head can keep the epoch that suited it best (the trainer's per-head early stopping). Because everything after the embedding lookup is linear, each feature's share
//! of each logit is exact, which is what explanations are built on.
//! This module does tensor maths only: no files, no tokenizer, no label names.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Init, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::features::TicketFeatures;

pub const EMBEDDING: &str = "embedding";
pub const HEAD_PREFIX: &str = "head";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Embedding columns of each head, in head order; the heads' slices lie side by side.
    pub head_widths: Vec<usize>,
}

impl NetworkConfig {
    /// `heads` heads of `width` columns each.
    pub fn uniform(heads: usize, width: usize) -> Self {
        Self { head_widths: vec![width; heads] }
    }

    /// Width of the embedding table: one slice of columns per head.
    pub fn embedding_dim(&self) -> usize {
        self.head_widths.iter().sum()
    }

    /// The first column and the width of head `head`'s slice.
    pub fn head_columns(&self, head: usize) -> (usize, usize) {
        (self.head_widths[..head].iter().sum(), self.head_widths[head])
    }

    /// Head `head`'s columns of `[n, embedding_dim]` rows.
    pub fn head_input(&self, encoded: &Tensor, head: usize) -> candle_core::Result<Tensor> {
        let (first, width) = self.head_columns(head);
        encoded.narrow(1, first, width)
    }
}

/// A batch of tickets flattened for the network: every feature occurrence of every ticket in
/// one vector, with the ticket each belongs to.
pub struct Batch {
    ids: Tensor,
    weights: Tensor,
    rows: Tensor,
    size: usize,
}

impl Batch {
    pub fn new(tickets: &[&TicketFeatures], device: &Device) -> candle_core::Result<Self> {
        let ids = tickets.iter().flat_map(|t| t.ids.iter().copied()).collect();
        Self::build(tickets, ids, device)
    }

    /// A batch whose ids index `unique` (returned, ascending) instead of the whole table:
    /// training gathers just those rows, so its gradient is as small as the batch.
    pub fn compact(tickets: &[&TicketFeatures], device: &Device) -> candle_core::Result<(Self, Vec<u32>)> {
        let mut unique: Vec<u32> = tickets.iter().flat_map(|t| t.ids.iter().copied()).collect();
        unique.sort_unstable();
        unique.dedup();
        let local = tickets.iter().flat_map(|t| t.ids.iter().map(|id| unique.binary_search(id).unwrap_or(0) as u32)).collect();
        Ok((Self::build(tickets, local, device)?, unique))
    }

    fn build(tickets: &[&TicketFeatures], ids: Vec<u32>, device: &Device) -> candle_core::Result<Self> {
        let total = ids.len();
        let weights = tickets.iter().flat_map(|t| t.weights.iter().copied()).collect();
        let rows = tickets.iter().enumerate().flat_map(|(row, t)| std::iter::repeat_n(row as u32, t.len())).collect();
        Ok(Self {
            ids: Tensor::from_vec(ids, total, device)?,
            weights: Tensor::from_vec(weights, (total, 1), device)?,
            rows: Tensor::from_vec(rows, total, device)?,
            size: tickets.len(),
        })
    }
}

/// The weighted bag: each ticket's feature rows of `embedding`, scaled by their weights and
/// summed, `[batch, dim]`. The table may be stored in f16; only the rows gathered are widened.
pub fn encode(embedding: &Tensor, batch: &Batch) -> candle_core::Result<Tensor> {
    let dim = embedding.dim(1)?;
    let vectors = embedding.index_select(&batch.ids, 0)?.to_dtype(DType::F32)?.broadcast_mul(&batch.weights)?;
    Tensor::zeros((batch.size, dim), DType::F32, vectors.device())?.index_add(&batch.rows, &vectors, 0)
}

/// The classification heads over the encoded representation.
pub struct Heads {
    layers: Vec<Linear>,
    config: NetworkConfig,
}

impl Heads {
    pub fn new(vb: VarBuilder, config: NetworkConfig, head_sizes: &[(String, usize)]) -> candle_core::Result<Self> {
        if config.head_widths.len() != head_sizes.len() {
            candle_core::bail!("{} head widths for {} heads", config.head_widths.len(), head_sizes.len());
        }
        let layers = head_sizes
            .iter()
            .zip(&config.head_widths)
            .map(|((name, classes), &input)| candle_nn::linear(input, *classes, vb.pp(format!("{HEAD_PREFIX}.{name}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers, config })
    }

    /// Logits per head, each `[batch, classes]`, in the order the heads were declared.
    pub fn forward(&self, encoded: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        self.layers.iter().enumerate().map(|(i, head)| head.forward(&self.config.head_input(encoded, i)?)).collect()
    }
}

pub struct TextNetwork {
    embedding: Tensor,
    heads: Heads,
}

impl TextNetwork {
    /// Restores the network from `vb` (a loaded bundle or trained weights). Embeddings start
    /// at zero so hash buckets no training ticket ever hit stay exactly zero and add nothing.
    /// The table is held in f16, the precision bundles store it in: half the memory of the
    /// largest tensor, and a freshly trained model scores exactly as its bundle will.
    pub fn new(
        vb: VarBuilder,
        feature_dimension: usize,
        config: NetworkConfig,
        head_sizes: &[(String, usize)],
    ) -> candle_core::Result<Self> {
        let dim = config.embedding_dim();
        let embedding = vb.get_with_hints_dtype((feature_dimension, dim), EMBEDDING, Init::Const(0.0), DType::F16)?;
        Ok(Self { embedding, heads: Heads::new(vb, config, head_sizes)? })
    }

    /// Logits per head, each `[batch, classes]`, in the order the heads were declared.
    pub fn forward(&self, batch: &Batch) -> candle_core::Result<Vec<Tensor>> {
        self.heads.forward(&encode(&self.embedding, batch)?)
    }

    /// Exact share of each feature in how far each head's logit for `labels[head]` stands
    /// above the mean of that head's logits: `[head][feature]`. The network is linear after
    /// the lookup, so these shares plus the bias's share sum to exactly that margin. One
    /// gather for all heads; the small dot products in plain Rust.
    pub fn label_shares(&self, ticket: &TicketFeatures, labels: &[usize]) -> candle_core::Result<Vec<Vec<f32>>> {
        if ticket.is_empty() {
            return Ok(vec![Vec::new(); self.heads.layers.len()]);
        }
        let ids = Tensor::from_slice(&ticket.ids, ticket.len(), self.embedding.device())?;
        let rows: Vec<f32> = self.embedding.index_select(&ids, 0)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let width = rows.len() / ticket.len();
        self.heads
            .layers
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(h, (layer, &label))| {
                let classes: Vec<Vec<f32>> = layer.weight().to_vec2()?;
                let (first, dim) = self.heads.config.head_columns(h);
                let mean = |d: usize| classes.iter().map(|w| w[d]).sum::<f32>() / classes.len() as f32;
                let direction: Vec<f32> = (0..dim).map(|d| classes[label][d] - mean(d)).collect();
                Ok(ticket
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(f, weight)| {
                        let own = &rows[f * width + first..f * width + first + dim];
                        weight * own.iter().zip(&direction).map(|(a, b)| a * b).sum::<f32>()
                    })
                    .collect())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn label_shares_sum_to_the_logit_margin() -> candle_core::Result<()> {
        let device = crate::model::compute::device();
        let table: Vec<f32> = (0..5 * 4).map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0).collect();
        let tensors = HashMap::from([
            (EMBEDDING.to_string(), Tensor::from_vec(table, (5, 4), &device)?),
            (
                format!("{HEAD_PREFIX}.a.weight"),
                Tensor::new(&[[0.5f32, -1.0, 0.3], [2.0, 0.25, -0.6], [-0.75, 1.5, 0.9]], &device)?,
            ),
            (format!("{HEAD_PREFIX}.a.bias"), Tensor::new(&[0.1f32, -0.2, 0.3], &device)?),
            (format!("{HEAD_PREFIX}.b.weight"), Tensor::new(&[[1.0f32], [-1.0]], &device)?),
            (format!("{HEAD_PREFIX}.b.bias"), Tensor::new(&[0.0f32, 0.4], &device)?),
        ]);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let heads = [("a".to_string(), 3), ("b".to_string(), 2)];
        let network = TextNetwork::new(vb, 5, NetworkConfig { head_widths: vec![3, 1] }, &heads)?;
        let ticket = TicketFeatures { ids: vec![0, 3, 4], weights: vec![0.5, 1.0, 0.25], ..TicketFeatures::default() };
        let logits: Vec<Vec<f32>> = network
            .forward(&Batch::new(&[&ticket], &device)?)?
            .iter()
            .map(|t| t.to_vec2::<f32>().map(|v| v[0].clone()))
            .collect::<Result<_, _>>()?;
        let labels = [2, 0];
        let shares = network.label_shares(&ticket, &labels)?;
        let biases = [vec![0.1f32, -0.2, 0.3], vec![0.0, 0.4]];
        for head in 0..2 {
            let margin = |values: &[f32]| values[labels[head]] - values.iter().sum::<f32>() / values.len() as f32;
            let explained = shares[head].iter().sum::<f32>() + margin(&biases[head]);
            assert!((explained - margin(&logits[head])).abs() < 1e-5, "head {head}: {explained} vs {}", margin(&logits[head]));
        }
        Ok(())
    }
}
