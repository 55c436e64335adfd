//! Choosing from what similarity a head recalls a remembered ticket's label (see
//! `triage::model::nearest_ticket`): on rows each scored by a fit that never saw them, each recalling
//! the most similar other row, the threshold that most raises macro-F1 over the fit alone,
//! or none when no threshold raises it; and, from the recalls past it, how often a recall at
//! each similarity was right (the agreement the memory step gives a recalled label). Pure: no
//! I/O.

use rayon::prelude::*;
use serde::Serialize;
use triage::model::nearest_ticket::{Agreement, HeadRecall, Memory, MemoryArrays};

use crate::calibrate::fit_agreement;
use crate::metrics::head_metrics;
use crate::train::argmax;

/// What the choice saw: macro-F1 without recall and with each candidate threshold, and at
/// the chosen one, how many scored rows recalled and how many of those recalls were right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallChoice {
    pub threshold: Option<f32>,
    pub without_macro_f1: f64,
    pub with_macro_f1: f64,
    pub candidates: Vec<(f32, f64)>,
    pub recalled: usize,
    pub recalled_right: usize,
    pub agreement: Option<Agreement>,
}

impl RecallChoice {
    /// How the head recalls in the bundle, when it recalls at all.
    pub fn head_recall(&self) -> Option<HeadRecall> {
        Some(HeadRecall { from_similarity: self.threshold?, agreement: self.agreement? })
    }
}

/// `vectors[i]` and `targets[i]` are row `i`'s word-level unit vector and class; `scored`
/// holds the rows with held-out logits (row, logits). Each scored row recalls its most similar
/// other row among all of them.
pub fn choose_threshold(
    vectors: &[(&[u32], &[f32])],
    targets: &[usize],
    scored: &[(usize, &[f32])],
    labels: &[String],
    grid: &[f32],
) -> RecallChoice {
    let mut arrays = MemoryArrays::new(1);
    for ((ids, weights), &target) in vectors.iter().zip(targets) {
        arrays.push(ids, weights, &[target as u32]);
    }
    let memory = Memory::new(&arrays, vec![None], &[labels.len()]).unwrap_or_default();
    let nearest: Vec<Option<(f32, usize)>> = scored
        .par_iter()
        .map(|&(row, _)| {
            let (ids, weights) = vectors[row];
            memory.nearest(&memory.similarities(ids, weights), 0, Some(row)).map(|r| (r.similarity, r.label))
        })
        .collect();
    let truth: Vec<usize> = scored.iter().map(|&(row, _)| targets[row]).collect();
    let own: Vec<usize> = scored.iter().map(|(_, logits)| argmax(logits)).collect();
    let score = |predicted: &[usize]| head_metrics(labels, &truth, predicted, &vec![1.0; truth.len()]).macro_f1;
    let without_macro_f1 = score(&own);
    let candidates: Vec<(f32, f64)> = grid
        .iter()
        .map(|&threshold| {
            let predicted: Vec<usize> = own
                .iter()
                .zip(&nearest)
                .map(|(&own, recalled)| match recalled {
                    Some((similarity, label)) if *similarity >= threshold => *label,
                    _ => own,
                })
                .collect();
            (threshold, score(&predicted))
        })
        .collect();
    let best = candidates.iter().copied().filter(|&(_, f1)| f1 > without_macro_f1).max_by(|a, b| a.1.total_cmp(&b.1));
    let threshold = best.map(|(t, _)| t);
    let recalls: Vec<(f32, bool)> = nearest
        .iter()
        .zip(&truth)
        .filter_map(|(recalled, &truth)| {
            recalled.filter(|&(similarity, _)| threshold.is_some_and(|t| similarity >= t)).map(|(s, label)| (s, label == truth))
        })
        .collect();
    RecallChoice {
        threshold,
        without_macro_f1,
        with_macro_f1: best.map_or(without_macro_f1, |(_, f1)| f1),
        candidates,
        recalled: recalls.len(),
        recalled_right: recalls.iter().filter(|(_, right)| *right).count(),
        agreement: threshold.map(|_| fit_agreement(&recalls)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    /// Rows in near-identical pairs sharing a label, and logits that get every row wrong
    /// or right as asked.
    fn pairs(logits_right: bool) -> (Vec<(Vec<u32>, Vec<f32>)>, Vec<usize>, Vec<Vec<f32>>) {
        let mut vectors = Vec::new();
        let mut targets = Vec::new();
        for pair in 0..6u32 {
            for twin in 0..2u32 {
                vectors.push((vec![pair * 10, pair * 10 + 1 + twin], vec![0.9f32, 0.435_89]));
                targets.push((pair % 2) as usize);
            }
        }
        let logits = targets.iter().map(|&t| if (t == 0) == logits_right { vec![1.0, 0.0] } else { vec![0.0, 1.0] }).collect();
        (vectors, targets, logits)
    }

    fn choose(logits_right: bool) -> RecallChoice {
        let (vectors, targets, logits) = pairs(logits_right);
        let refs: Vec<(&[u32], &[f32])> = vectors.iter().map(|(i, w)| (i.as_slice(), w.as_slice())).collect();
        let scored: Vec<(usize, &[f32])> = logits.iter().enumerate().map(|(i, l)| (i, l.as_slice())).collect();
        choose_threshold(&refs, &targets, &scored, &labels(), &[0.5, 0.9])
    }

    #[test]
    fn recall_is_chosen_where_twins_know_better_than_the_fit() {
        let choice = choose(false);
        assert_eq!(choice.threshold, Some(0.5), "{choice:?}");
        assert_eq!(choice.without_macro_f1, 0.0);
        assert_eq!(choice.with_macro_f1, 1.0);
        assert_eq!(choice.candidates[1].1, 0.0, "the twins are 0.81 similar, under 0.9");
        assert_eq!((choice.recalled, choice.recalled_right), (12, 12), "every row recalls its twin, rightly");
        let recall = choice.head_recall().expect("the head recalls");
        assert!(recall.agreement.at(0.81) > 0.85, "{recall:?}");
    }

    #[test]
    fn no_threshold_is_chosen_when_recall_cannot_help() {
        let choice = choose(true);
        assert_eq!(choice.threshold, None, "{choice:?}");
        assert_eq!(choice.with_macro_f1, choice.without_macro_f1);
        assert_eq!((choice.head_recall(), choice.recalled), (None, 0));
    }
}
