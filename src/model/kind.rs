//! The model kinds behind one interface: what turns a ticket into each head's logits, the
//! exact per-feature shares that evidence is built from, and (for the kind that has one) the
//! ticket's sentence embedding. `Classifier` calls only this; calibration, the nearest-ticket
//! memory and the policy come after it and do not care which kind scored.
//! No files: the bundle's tensors and encoder are read by the caller and handed in.

use std::borrow::Cow;

use super::bundle::{EmbeddingFeatures, ModelKind};
use super::encoder::SentenceEncoder;
use super::features::TicketFeatures;
use super::sparse_linear::{Batch, SparseLinear};
use super::ModelError;

/// Feature entries one forward pass gathers at most. A pass holds a few copies of its
/// entries' table rows (gathered, widened, weighted): bounded, a batch of hundreds of tickets
/// reuses the same megabyte pass after pass instead of leaving the allocator tens of megabytes
/// that it keeps for the rest of the process's life.
const ENTRIES_PER_PASS: usize = 1 << 14;

/// `tickets` in order, cut into consecutive runs of at most `entries` feature entries each (a
/// ticket with more forms a run of its own).
fn passes<'a, 'f>(tickets: &'a [&'f TicketFeatures], entries: usize) -> impl Iterator<Item = &'a [&'f TicketFeatures]> {
    let mut rest = tickets;
    std::iter::from_fn(move || {
        let mut taken = 0;
        let end = rest
            .iter()
            .position(|ticket| {
                taken += ticket.len();
                taken > entries
            })
            .unwrap_or(rest.len())
            .max(1)
            .min(rest.len());
        let (pass, after) = rest.split_at(end);
        rest = after;
        (!pass.is_empty()).then_some(pass)
    })
}

/// A loaded model of one kind.
pub enum TextModel {
    /// Heads over the hashed text features alone.
    SparseLinear { heads: SparseLinear },
    /// A pretrained sentence encoder next to the heads: its embedding of each ticket goes to
    /// the policy (severity by meaning) and to repeat-issue grouping, and, where `reads` says
    /// so, to the heads as features after the hashed ones (from `first`).
    Encoder { heads: SparseLinear, encoder: Box<SentenceEncoder>, reads: Option<ReadEmbedding> },
}

/// Where and how the heads read the embedding: its components times `scale`, as features from
/// `first` on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadEmbedding {
    pub first: usize,
    pub scale: f32,
}

impl TextModel {
    /// The model of `heads`, with `encoder` when there is one; `reads` says how the heads read
    /// its embedding (as features from `first` on), when they do. Fails, saying why, when the
    /// heads read an embedding there is none of, or one of another size.
    pub fn new(
        heads: SparseLinear,
        encoder: Option<SentenceEncoder>,
        reads: Option<&EmbeddingFeatures>,
        first: usize,
    ) -> Result<Self, String> {
        match (encoder, reads) {
            (None, None) => Ok(TextModel::SparseLinear { heads }),
            (None, Some(_)) => Err("the heads read a sentence encoder's embedding, but there is no encoder".into()),
            (Some(encoder), Some(read)) if read.dimension != encoder.dimension() => {
                Err(format!("the encoder embeds in {} dimensions but the heads read {}", encoder.dimension(), read.dimension))
            }
            (Some(encoder), reads) => Ok(TextModel::Encoder {
                heads,
                encoder: Box::new(encoder),
                reads: reads.map(|read| ReadEmbedding { first, scale: read.scale }),
            }),
        }
    }

    pub fn kind(&self) -> ModelKind {
        match self {
            TextModel::SparseLinear { .. } => ModelKind::SparseLinear,
            TextModel::Encoder { .. } => ModelKind::Encoder,
        }
    }

    fn heads(&self) -> &SparseLinear {
        match self {
            TextModel::SparseLinear { heads } | TextModel::Encoder { heads, .. } => heads,
        }
    }

    pub fn encoder(&self) -> Option<&SentenceEncoder> {
        match self {
            TextModel::SparseLinear { .. } => None,
            TextModel::Encoder { encoder, .. } => Some(encoder),
        }
    }

    /// Whether the heads read each ticket's embedding (so it must be computed before scoring).
    pub fn heads_read_embedding(&self) -> bool {
        matches!(self, TextModel::Encoder { reads: Some(_), .. })
    }

    /// What the heads read of a ticket: its hashed features, followed by its embedding where
    /// the heads read that too.
    pub fn head_input<'f>(&self, features: &'f TicketFeatures, embedding: Option<&[f32]>) -> Cow<'f, TicketFeatures> {
        match (self, embedding) {
            (TextModel::Encoder { reads: Some(reads), .. }, Some(embedding)) => {
                Cow::Owned(features.with_embedding(reads.first, embedding, reads.scale))
            }
            _ => Cow::Borrowed(features),
        }
    }

    /// Raw logits `[ticket][head][class]`, heads in manifest order. The tickets are scored in
    /// passes of at most `ENTRIES_PER_PASS` feature entries (see there).
    pub fn logits(&self, tickets: &[&TicketFeatures]) -> Result<Vec<Vec<Vec<f32>>>, ModelError> {
        let device = super::compute::device();
        let mut logits = Vec::with_capacity(tickets.len());
        for pass in passes(tickets, ENTRIES_PER_PASS) {
            logits.extend(self.heads().logits(&Batch::new(pass, &device)?)?);
        }
        Ok(logits)
    }

    /// Each feature's exact share in how far each head's logit for `labels[head]` stands above
    /// the mean of that head's logits: `[head][feature]`. An embedding the heads read has a
    /// share per component; no words are behind those, so evidence phrases leave them out.
    pub fn label_shares(&self, ticket: &TicketFeatures, labels: &[usize]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self.heads().label_shares(ticket, labels)?)
    }

    /// Each text's unit-length sentence embedding, or `None` for each where the kind has no
    /// encoder.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Option<Vec<f32>>>, ModelError> {
        Ok(match self.encoder() {
            Some(encoder) => encoder.embed(texts)?.into_iter().map(Some).collect(),
            None => vec![None; texts.len()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_keep_the_tickets_in_order_within_the_entry_bound() {
        let sizes = [3, 4, 1, 9, 2, 2, 5];
        let tickets: Vec<TicketFeatures> =
            sizes.iter().map(|&n| TicketFeatures { ids: vec![0; n], weights: vec![1.0; n], word_level: n }).collect();
        let refs: Vec<&TicketFeatures> = tickets.iter().collect();
        let lengths: Vec<Vec<usize>> = passes(&refs, 8).map(|pass| pass.iter().map(|t| t.len()).collect()).collect();
        assert_eq!(lengths, vec![vec![3, 4, 1], vec![9], vec![2, 2], vec![5]]);
        assert_eq!(passes(&[], 8).count(), 0);
    }
}
