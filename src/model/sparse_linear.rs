//! The sparse-linear scorer: per head, a coefficient matrix over the hashed features
//! (`[features, classes]`) and a bias, stored in the bundle as exactly that. A ticket's logits
//! are its feature weights times the coefficient rows plus the bias, so each feature's share
//! of each logit is exact, which is what explanations are built on. Every fitting method the
//! trainer has (logistic regression, the low-rank network) ends as these matrices.
//! This module does tensor maths only: no files, no tokenizer, no label names.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::bundle::HeadSpec;
use super::features::TicketFeatures;

/// Name of head `head`'s coefficient matrix, `[features, classes]`, in the weights file.
pub fn coefficients_name(head: &str) -> String {
    format!("coefficients.{head}")
}

/// Name of head `head`'s bias, `[classes]`, in the weights file.
pub fn bias_name(head: &str) -> String {
    format!("bias.{head}")
}

/// A batch of tickets flattened for a gather: every feature occurrence of every ticket in one
/// vector, with the ticket each belongs to.
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

/// The weighted bag: each ticket's rows of `table`, scaled by their weights and summed,
/// `[batch, columns]`. The table may be stored in f16; only the rows gathered are widened.
pub fn encode(table: &Tensor, batch: &Batch) -> candle_core::Result<Tensor> {
    let columns = table.dim(1)?;
    let vectors = table.index_select(&batch.ids, 0)?.to_dtype(DType::F32)?.broadcast_mul(&batch.weights)?;
    Tensor::zeros((batch.size, columns), DType::F32, vectors.device())?.index_add(&batch.rows, &vectors, 0)
}

/// Every head's coefficients and bias, ready to score.
pub struct SparseLinear {
    /// The heads' coefficient matrices side by side, `[features, Σ classes]`, in f16 (the
    /// precision bundles store them in: half the memory of the largest tensor, and a freshly
    /// trained model scores exactly as its bundle will). One table, so a batch is one gather.
    table: Tensor,
    /// Per head, its first column in `table`; its bias has one entry per class.
    first_columns: Vec<usize>,
    biases: Vec<Vec<f32>>,
}

impl SparseLinear {
    /// The scorer of `heads` from named tensors (a loaded bundle or fitted weights): each head
    /// needs its coefficients over `features` features and a bias of its classes' length.
    pub fn from_tensors(tensors: &HashMap<String, Tensor>, features: usize, heads: &[HeadSpec]) -> Result<Self, String> {
        let mut blocks = Vec::with_capacity(heads.len());
        let mut first_columns = Vec::with_capacity(heads.len());
        let mut biases = Vec::with_capacity(heads.len());
        let mut column = 0;
        for spec in heads {
            let classes = spec.labels.len();
            let tensor = |name: String| tensors.get(&name).ok_or_else(|| format!("has no `{name}` tensor")).map(|t| (name, t));
            let (name, coefficients) = tensor(coefficients_name(&spec.name))?;
            if coefficients.dims() != [features, classes] {
                return Err(format!("`{name}` is {:?}, not [{features}, {classes}] (features, classes)", coefficients.dims()));
            }
            let (name, bias) = tensor(bias_name(&spec.name))?;
            let bias: Vec<f32> =
                bias.to_dtype(DType::F32).and_then(|b| b.to_vec1()).map_err(|e| format!("`{name}` is not a vector: {e}"))?;
            if bias.len() != classes {
                return Err(format!("`{name}` has {} entries for {classes} classes", bias.len()));
            }
            blocks.push(coefficients.to_dtype(DType::F16).map_err(|e| e.to_string())?);
            first_columns.push(column);
            biases.push(bias);
            column += classes;
        }
        let table = Tensor::cat(&blocks, 1).map_err(|e| e.to_string())?;
        Ok(Self { table, first_columns, biases })
    }

    /// Logits `[ticket][head][class]`, heads in the order they were given.
    pub fn logits(&self, batch: &Batch) -> candle_core::Result<Vec<Vec<Vec<f32>>>> {
        let summed: Vec<Vec<f32>> = encode(&self.table, batch)?.to_vec2()?;
        Ok(summed
            .iter()
            .map(|row| {
                self.first_columns
                    .iter()
                    .zip(&self.biases)
                    .map(|(&first, bias)| row[first..first + bias.len()].iter().zip(bias).map(|(v, b)| v + b).collect())
                    .collect()
            })
            .collect())
    }

    /// Exact share of each feature in how far each head's logit for `labels[head]` stands
    /// above the mean of that head's logits: `[head][feature]`. These shares plus the bias's
    /// share sum to exactly that margin. One gather for all heads.
    pub fn label_shares(&self, ticket: &TicketFeatures, labels: &[usize]) -> candle_core::Result<Vec<Vec<f32>>> {
        if ticket.is_empty() {
            return Ok(vec![Vec::new(); self.biases.len()]);
        }
        let ids = Tensor::from_slice(&ticket.ids, ticket.len(), self.table.device())?;
        let rows: Vec<Vec<f32>> = self.table.index_select(&ids, 0)?.to_dtype(DType::F32)?.to_vec2()?;
        Ok(self
            .first_columns
            .iter()
            .zip(&self.biases)
            .zip(labels)
            .map(|((&first, bias), &label)| {
                let classes = bias.len();
                rows.iter()
                    .zip(&ticket.weights)
                    .map(|(row, weight)| {
                        let own = &row[first..first + classes];
                        weight * (own[label] - own.iter().sum::<f32>() / classes as f32)
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(name: &str, classes: usize) -> HeadSpec {
        HeadSpec { name: name.into(), labels: (0..classes).map(|c| c.to_string()).collect() }
    }

    #[test]
    fn logits_are_the_weighted_coefficient_rows_plus_the_bias_and_shares_sum_to_the_margin() -> candle_core::Result<()> {
        let device = crate::model::compute::device();
        let table_a: Vec<f32> = (0..5 * 3).map(|i| ((i * 37 % 11) as f32 - 5.0) / 8.0).collect();
        let tensors = HashMap::from([
            (coefficients_name("a"), Tensor::from_vec(table_a.clone(), (5, 3), &device)?),
            (bias_name("a"), Tensor::new(&[0.125f32, -0.25, 0.5], &device)?),
            (coefficients_name("b"), Tensor::new(&[[1.0f32, -1.0], [0.5, 0.25], [0.0, 0.0], [2.0, -0.5], [-1.0, 1.0]], &device)?),
            (bias_name("b"), Tensor::new(&[0.0f32, 0.375], &device)?),
        ]);
        let heads = [head("a", 3), head("b", 2)];
        let scorer = SparseLinear::from_tensors(&tensors, 5, &heads).expect("fits");
        let ticket = TicketFeatures { ids: vec![0, 3, 4], weights: vec![0.5, 1.0, 0.25], ..TicketFeatures::default() };
        let logits = scorer.logits(&Batch::new(&[&ticket], &device)?)?.remove(0);
        let expected_a: Vec<f32> = (0..3)
            .map(|c| {
                [0.125f32, -0.25, 0.5][c]
                    + ticket.ids.iter().zip(&ticket.weights).map(|(&f, w)| w * table_a[f as usize * 3 + c]).sum::<f32>()
            })
            .collect();
        for (got, want) in logits[0].iter().zip(&expected_a) {
            assert!((got - want).abs() < 1e-3, "{:?} vs {expected_a:?}", logits[0]);
        }
        let labels = [2, 0];
        let shares = scorer.label_shares(&ticket, &labels)?;
        let biases = [vec![0.125f32, -0.25, 0.5], vec![0.0, 0.375]];
        for h in 0..2 {
            let margin = |values: &[f32]| values[labels[h]] - values.iter().sum::<f32>() / values.len() as f32;
            let explained = shares[h].iter().sum::<f32>() + margin(&biases[h]);
            assert!((explained - margin(&logits[h])).abs() < 1e-5, "head {h}: {explained} vs {}", margin(&logits[h]));
        }
        Ok(())
    }

    #[test]
    fn weights_that_do_not_fit_the_heads_are_refused_by_name() {
        let device = crate::model::compute::device();
        let tensors = HashMap::from([
            (coefficients_name("a"), Tensor::zeros((5, 2), DType::F32, &device).expect("zeros")),
            (bias_name("a"), Tensor::zeros(2, DType::F32, &device).expect("zeros")),
        ]);
        let wrong_classes = SparseLinear::from_tensors(&tensors, 5, &[head("a", 3)]).err().expect("refused");
        assert!(wrong_classes.contains("coefficients.a") && wrong_classes.contains("[5, 3]"), "{wrong_classes}");
        let missing = SparseLinear::from_tensors(&tensors, 5, &[head("a", 2), head("b", 2)]).err().expect("refused");
        assert!(missing.contains("coefficients.b"), "{missing}");
    }
}
