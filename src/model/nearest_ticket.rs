//! The model's memory of labeled past tickets, and the step that uses it: each remembered
//! ticket's word-level feature vector (unit length) and labels, the recall of the most similar
//! one (cosine) for a new ticket, and what a recall does to a head's calibrated probabilities.
//! Helpdesks see the same issue again and again; near-duplicates of a past ticket carry its
//! labels far more often than a linear model on the words guesses them. The step comes after
//! calibration and works for any model kind: a head that recalls a ticket at least as similar
//! as its threshold gives that ticket's label the probability that a recall at this similarity
//! is right (`Agreement`, measured by the trainer on rows scored by fits that did not see
//! them); the text model's other labels share the rest in their own proportions. The label
//! is then the most probable one, so a recall the text model is surer against does not win.
//! Pure data and maths: no files (the bundle stores it), no label names.

use serde::{Deserialize, Serialize};

use super::features::TicketFeatures;

/// A head's label of a remembered ticket, or none where that ticket had no such label.
pub const NO_LABEL: u32 = u32::MAX;

/// How often a recall at a given similarity gave the right label, as a logistic curve in the
/// similarity (fitted by the trainer on held-out recalls; Platt's method).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub slope: f32,
    pub intercept: f32,
}

impl Agreement {
    /// The probability that a recall at `similarity` is right.
    pub fn at(&self, similarity: f32) -> f32 {
        1.0 / (1.0 + (-(self.slope * similarity + self.intercept)).exp())
    }
}

/// How one head recalls: from what similarity, and how far a recall's label is to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadRecall {
    pub from_similarity: f32,
    pub agreement: Agreement,
}

/// The memory step on one head: `probabilities` (calibrated, in class order) with the
/// recalled label given `recall.agreement` and the other labels sharing the rest in their
/// proportions. Says whether the recalled label is now the most probable, i.e. taken.
pub fn take_recalled(probabilities: &mut [f32], recall: &Recall) -> bool {
    let Some(&own) = probabilities.get(recall.label) else { return false };
    let others = probabilities.len().saturating_sub(1).max(1) as f32;
    let rest = 1.0 - own;
    for (class, p) in probabilities.iter_mut().enumerate() {
        *p = if class == recall.label {
            recall.agreement
        } else if rest > f32::EPSILON {
            *p / rest * (1.0 - recall.agreement)
        } else {
            (1.0 - recall.agreement) / others
        };
    }
    probabilities.iter().enumerate().all(|(class, &p)| class == recall.label || p < recall.agreement)
}

/// Labeled past tickets, indexed by feature for fast similarity to a new ticket.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    tickets: usize,
    /// `[head][ticket]`: the class index, or `NO_LABEL`.
    labels: Vec<Vec<u32>>,
    /// Per head, how it recalls; `None`: this head never recalls.
    recalling: Vec<Option<HeadRecall>>,
    /// The tickets' vectors turned inside out: feature `features[f]` is in the tickets
    /// `posting_tickets[starts[f]..starts[f + 1]]` with those weights. Flat sorted arrays, not a
    /// map of lists: most features are in one or two tickets, and a list each would take
    /// several times the memory of the entries themselves.
    features: Vec<u32>,
    starts: Vec<u32>,
    posting_tickets: Vec<u32>,
    posting_weights: Vec<f32>,
}

/// The remembered ticket most similar to a new one, for one head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recall {
    pub ticket: usize,
    pub similarity: f32,
    pub label: usize,
    /// The probability that its label is right (the head's `Agreement` at `similarity`; 1
    /// where no head's curve applies, as in `nearest`).
    pub agreement: f32,
}

/// The memory as flat arrays, the form the bundle stores: ticket `t`'s vector is
/// `ids[offsets[t]..offsets[t + 1]]` with the same range of `weights`, and its class for head
/// `h` is `labels[t * heads + h]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryArrays {
    pub heads: usize,
    pub offsets: Vec<u32>,
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
    pub labels: Vec<u32>,
}

impl MemoryArrays {
    pub fn new(heads: usize) -> Self {
        Self { heads, offsets: vec![0], ..Self::default() }
    }

    /// Appends a ticket: its unit vector and its class per head (`NO_LABEL` for none).
    pub fn push(&mut self, ids: &[u32], weights: &[f32], labels: &[u32]) {
        self.ids.extend_from_slice(ids);
        self.weights.extend_from_slice(weights);
        self.offsets.push(self.ids.len() as u32);
        self.labels.extend_from_slice(labels);
    }

    pub fn tickets(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Checks that the arrays fit together, saying what does not.
    fn check(&self) -> Result<(), String> {
        let tickets = self.tickets();
        if self.offsets.first() != Some(&0) || self.offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err("memory offsets do not start at 0 and rise".into());
        }
        if self.offsets.last().map(|&o| o as usize) != Some(self.ids.len()) || self.ids.len() != self.weights.len() {
            return Err(format!(
                "memory has {} ids and {} weights for offsets ending at {:?}",
                self.ids.len(),
                self.weights.len(),
                self.offsets.last()
            ));
        }
        if self.labels.len() != tickets * self.heads {
            return Err(format!("memory has {} labels for {tickets} tickets of {} heads", self.labels.len(), self.heads));
        }
        Ok(())
    }
}

impl Memory {
    /// The memory of `arrays`; head `h` has `classes[h]` classes and recalls as `recalling[h]`
    /// says. Fails, saying why, when the arrays do not fit together, a label is no class of its
    /// head or the recall settings are not one per head.
    pub fn new(arrays: &MemoryArrays, recalling: Vec<Option<HeadRecall>>, classes: &[usize]) -> Result<Self, String> {
        arrays.check()?;
        if recalling.len() != arrays.heads || classes.len() != arrays.heads {
            return Err(format!(
                "memory has {} heads but {} recall settings and {} class counts",
                arrays.heads,
                recalling.len(),
                classes.len()
            ));
        }
        let heads = arrays.heads.max(1);
        if let Some((at, label)) =
            arrays.labels.iter().enumerate().find(|&(at, &label)| label != NO_LABEL && label as usize >= classes[at % heads])
        {
            return Err(format!("memory label {label} of ticket {} is no class of head {}", at / heads, at % heads));
        }
        let tickets = arrays.tickets();
        // A counting sort by feature id: no list of (feature, ticket, weight) triples, which
        // would briefly take more memory than the result (the server's resident size is measured).
        let mut counts = vec![0u32; arrays.ids.iter().max().map_or(0, |&m| m as usize + 1)];
        arrays.ids.iter().for_each(|&id| counts[id as usize] += 1);
        let features: Vec<u32> = (0..counts.len() as u32).filter(|&id| counts[id as usize] > 0).collect();
        let mut starts = Vec::with_capacity(features.len() + 1);
        let mut next = vec![0u32; counts.len()];
        let mut at = 0u32;
        for &id in &features {
            starts.push(at);
            next[id as usize] = at;
            at += counts[id as usize];
        }
        starts.push(at);
        drop(counts);
        let mut posting_tickets = vec![0u32; arrays.ids.len()];
        let mut posting_weights = vec![0f32; arrays.ids.len()];
        for (ticket, range) in arrays.offsets.windows(2).enumerate() {
            let range = range[0] as usize..range[1] as usize;
            for (&id, &weight) in arrays.ids[range.clone()].iter().zip(&arrays.weights[range]) {
                let slot = &mut next[id as usize];
                posting_tickets[*slot as usize] = ticket as u32;
                posting_weights[*slot as usize] = weight;
                *slot += 1;
            }
        }
        let labels = (0..arrays.heads).map(|h| (0..tickets).map(|t| arrays.labels[t * arrays.heads + h]).collect()).collect();
        Ok(Self { tickets, labels, recalling, features, starts, posting_tickets, posting_weights })
    }

    /// Cosine similarity of a unit vector to every remembered ticket.
    pub fn similarities(&self, ids: &[u32], weights: &[f32]) -> Vec<f32> {
        let mut similarity = vec![0.0f32; self.tickets];
        for (id, &weight) in ids.iter().zip(weights) {
            let Ok(f) = self.features.binary_search(id) else { continue };
            let range = self.starts[f] as usize..self.starts[f + 1] as usize;
            for (&ticket, &stored) in self.posting_tickets[range.clone()].iter().zip(&self.posting_weights[range]) {
                similarity[ticket as usize] += weight * stored;
            }
        }
        similarity
    }

    /// The most similar ticket labeled for head `h`, other than `except`, whatever the
    /// similarity; `None` when no other ticket has that head's label.
    pub fn nearest(&self, similarity: &[f32], h: usize, except: Option<usize>) -> Option<Recall> {
        let labels = self.labels.get(h)?;
        let mut best: Option<Recall> = None;
        for (ticket, (&s, &label)) in similarity.iter().zip(labels).enumerate() {
            if label == NO_LABEL || Some(ticket) == except {
                continue;
            }
            if best.is_none_or(|b| s > b.similarity) {
                best = Some(Recall { ticket, similarity: s, label: label as usize, agreement: 1.0 });
            }
        }
        best
    }

    /// Per head, the remembered ticket (other than `except`) most similar to `ticket`'s words,
    /// when it is at least as similar as the head's threshold, with its agreement.
    pub fn recall(&self, ticket: &TicketFeatures, except: Option<usize>) -> Vec<Option<Recall>> {
        if self.recalling.iter().all(Option::is_none) {
            return vec![None; self.recalling.len()];
        }
        let (ids, weights) = ticket.word_level_part();
        let similarity = self.similarities(ids, weights);
        self.recalling
            .iter()
            .enumerate()
            .map(|(h, recalling)| {
                let recalling = (*recalling)?;
                self.nearest(&similarity, h, except)
                    .filter(|r| r.similarity >= recalling.from_similarity)
                    .map(|r| Recall { agreement: recalling.agreement.at(r.similarity), ..r })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ticket whose features are all word-level.
    fn ticket(ids: &[u32], weights: &[f32]) -> TicketFeatures {
        TicketFeatures { ids: ids.to_vec(), weights: weights.to_vec(), word_level: ids.len() }
    }

    fn unit(ids: &[u32], weights: &[f32]) -> (Vec<u32>, Vec<f32>) {
        let norm = weights.iter().map(|w| w * w).sum::<f32>().sqrt();
        (ids.to_vec(), weights.iter().map(|w| w / norm).collect())
    }

    /// A head recalling from `threshold` whose recalls are right 3 times in 4 at any similarity.
    fn recalling(threshold: f32) -> HeadRecall {
        HeadRecall { from_similarity: threshold, agreement: Agreement { slope: 0.0, intercept: 3f32.ln() } }
    }

    fn memory(threshold: Option<f32>) -> (Memory, Vec<(Vec<u32>, Vec<f32>)>) {
        let vectors = vec![unit(&[1, 2, 3], &[1.0, 1.0, 1.0]), unit(&[3, 4], &[1.0, 2.0]), unit(&[5], &[1.0])];
        let labels = [[0, NO_LABEL], [1, NO_LABEL], [NO_LABEL, 2]];
        let mut arrays = MemoryArrays::new(2);
        for ((ids, weights), labels) in vectors.iter().zip(&labels) {
            arrays.push(ids, weights, labels);
        }
        (Memory::new(&arrays, vec![threshold.map(recalling), None], &[2, 3]).unwrap(), vectors)
    }

    #[test]
    fn arrays_that_do_not_fit_together_are_refused() {
        let mut arrays = MemoryArrays::new(2);
        arrays.push(&[1], &[1.0], &[0, NO_LABEL]);
        assert!(Memory::new(&arrays, vec![None], &[2, 2]).is_err(), "one threshold for two heads");
        assert!(
            Memory::new(&arrays, vec![None, None], &[0, 2]).unwrap_err().contains("no class"),
            "label 0 of a head without classes"
        );
        let mut short = arrays.clone();
        short.labels.pop();
        assert!(Memory::new(&short, vec![None, None], &[2, 2]).unwrap_err().contains("labels"));
        let mut ragged = arrays;
        ragged.weights.push(0.5);
        assert!(Memory::new(&ragged, vec![None, None], &[2, 2]).unwrap_err().contains("weights"));
    }

    #[test]
    fn similarities_are_the_cosines_to_each_ticket() {
        let (memory, vectors) = memory(Some(0.5));
        let (ids, weights) = unit(&[1, 3], &[1.0, 1.0]);
        let got = memory.similarities(&ids, &weights);
        for (g, (stored_ids, stored_weights)) in got.iter().zip(&vectors) {
            let expected: f32 = ids
                .iter()
                .zip(&weights)
                .filter_map(|(id, w)| stored_ids.iter().position(|s| s == id).map(|p| w * stored_weights[p]))
                .sum();
            assert!((g - expected).abs() < 1e-6, "{got:?}");
        }
        assert!(got[0] > got[1] && got[2] == 0.0);
    }

    #[test]
    fn a_head_recalls_only_labeled_tickets_past_its_threshold() {
        let (memory, vectors) = memory(Some(0.9));
        let (ids, weights) = &vectors[0];
        let recalled = memory.recall(&ticket(ids, weights), None);
        assert_eq!(recalled[0].map(|r| (r.ticket, r.label)), Some((0, 0)));
        assert!(recalled[0].is_some_and(|r| (r.agreement - 0.75).abs() < 1e-6), "the head's agreement: {recalled:?}");
        assert_eq!(recalled[1], None, "the second head has no threshold");
        let (ids, weights) = unit(&[2, 4], &[1.0, 1.0]);
        assert_eq!(memory.recall(&ticket(&ids, &weights), None)[0], None, "no ticket is 0.9 similar");
        assert_eq!(
            memory.recall(&ticket(&vectors[0].0, &vectors[0].1), Some(0))[0],
            None,
            "itself left out, no ticket is 0.9 similar"
        );
        let similarity = memory.similarities(&vectors[0].0, &vectors[0].1);
        assert_eq!(memory.nearest(&similarity, 0, Some(0)).map(|r| r.ticket), Some(1), "leaving the ticket itself out");
        assert_eq!(memory.nearest(&similarity, 1, None).map(|r| r.ticket), Some(2), "only tickets with the head's label");
    }

    #[test]
    fn a_recall_gives_its_label_the_agreement_and_the_others_share_the_rest_in_proportion() {
        let recall = Recall { ticket: 0, similarity: 0.8, label: 2, agreement: 0.7 };
        let mut probabilities = vec![0.6, 0.2, 0.2];
        assert!(take_recalled(&mut probabilities, &recall), "{probabilities:?}");
        let expected = [0.6 / 0.8 * 0.3, 0.2 / 0.8 * 0.3, 0.7];
        assert!(probabilities.iter().zip(expected).all(|(p, e)| (p - e).abs() < 1e-6), "{probabilities:?}");
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);

        let doubtful = Recall { agreement: 0.2, ..recall };
        let mut probabilities = vec![0.9, 0.05, 0.05];
        assert!(!take_recalled(&mut probabilities, &doubtful), "a recall the text model is surer against is not taken");
        assert!(probabilities[0] > 0.7 && (probabilities[2] - 0.2).abs() < 1e-6, "{probabilities:?}");

        let mut certain_already = vec![1.0, 0.0, 0.0];
        assert!(take_recalled(&mut certain_already, &Recall { label: 0, ..recall }));
        assert!((certain_already[1] - 0.15).abs() < 1e-6, "nothing to share in proportion: shared equally, {certain_already:?}");
    }

    #[test]
    fn agreement_rises_with_similarity_when_its_slope_is_positive() {
        let agreement = Agreement { slope: 10.0, intercept: -6.0 };
        assert!((agreement.at(0.6) - 0.5).abs() < 1e-6);
        assert!(agreement.at(0.9) > agreement.at(0.7));
    }
}
