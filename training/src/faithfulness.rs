//! Does the evidence point at what the model really uses? For each ticket and head, delete
//! the top evidence phrase (the one pushing hardest towards the predicted label) and,
//! separately, a random run of as many words; re-predict and compare how much the predicted
//! label's calibrated score drops. Faithful evidence drops it more than chance. Evaluation
//! only: reads a classifier, writes nothing.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use triage::explain::text_without;
use triage::model::classifier::Classifier;
use triage::model::{EmbeddingEvidence, ModelError};

/// Mean score drops over the tickets where the head had a positive top phrase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Faithfulness {
    pub tickets: usize,
    /// Mean drop of the predicted label's score after deleting the top evidence phrase.
    pub top_phrase_drop: f64,
    /// The same after deleting a random run of as many words.
    pub random_phrase_drop: f64,
    /// Share of tickets where the top phrase dropped the score more than the random one.
    pub top_wins: f64,
}

/// Character ranges `[start, end)` of the whitespace-separated words of `text`.
fn word_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (at, c) in text.chars().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(at),
            (true, Some(s)) => {
                ranges.push((s, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push((s, text.chars().count()));
    }
    ranges
}

/// Per head, over `texts` (each a whole model text: evidence offsets are then absolute), of
/// the evidence weighed as `evidence` says for the heads that read the embedding.
pub fn measure(
    classifier: &Classifier,
    texts: &[&str],
    seed: u64,
    evidence: EmbeddingEvidence,
) -> Result<BTreeMap<String, Faithfulness>, ModelError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let inputs: Vec<(&str, usize)> = texts.iter().map(|text| (*text, 0)).collect();
    let analyses = classifier.analyse_with(&inputs, evidence)?;
    // (head, label, score before, text without top phrase, text without random phrase)
    let mut trials = Vec::new();
    for (text, analysis) in texts.iter().zip(&analyses) {
        let words = word_ranges(text);
        for (head, evidence) in &analysis.evidence {
            let Some(top) = evidence.first().filter(|e| e.weight > 0.0) else { continue };
            let length = top.text.split_whitespace().count().max(1);
            if words.len() <= length {
                continue;
            }
            let first = rng.random_range(0..=words.len() - length);
            let random = (words[first].0, words[first + length - 1].1);
            let prediction = &analysis.predictions[head];
            trials.push((
                head.clone(),
                prediction.label.clone(),
                prediction.score,
                text_without(text, (top.start, top.end)),
                text_without(text, random),
            ));
        }
    }
    let edited: Vec<&str> = trials.iter().flat_map(|t| [t.3.as_str(), t.4.as_str()]).collect();
    let after = classifier.predict(&edited)?;
    let score_of = |predictions: &triage::model::Predictions, head: &str, label: &str| {
        predictions[head].top.iter().find(|t| t.label == label).map_or(0.0, |t| t.score)
    };
    let mut sums: BTreeMap<String, (usize, f64, f64, usize)> = BTreeMap::new();
    for (trial, pair) in trials.iter().zip(after.chunks(2)) {
        let (head, label, before, _, _) = trial;
        let top_drop = f64::from(before - score_of(&pair[0], head, label));
        let random_drop = f64::from(before - score_of(&pair[1], head, label));
        let entry = sums.entry(head.clone()).or_default();
        entry.0 += 1;
        entry.1 += top_drop;
        entry.2 += random_drop;
        entry.3 += usize::from(top_drop > random_drop);
    }
    Ok(sums
        .into_iter()
        .map(|(head, (n, top, random, wins))| {
            let n_f = n as f64;
            (
                head,
                Faithfulness {
                    tickets: n,
                    top_phrase_drop: top / n_f,
                    random_phrase_drop: random / n_f,
                    top_wins: wins as f64 / n_f,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::{load, ColumnMap};

    #[test]
    fn words_and_deletions_use_character_offsets() {
        assert_eq!(word_ranges(" añb  cd\ne"), vec![(1, 4), (6, 8), (9, 10)]);
        assert_eq!(text_without("añb cd", (0, 4)), "cd");
    }

    /// The committed model on the sample tickets written for this project (none of them in
    /// its training data).
    #[test]
    fn deleting_the_top_evidence_phrase_hurts_more_than_a_random_phrase() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let classifier = Classifier::load(&root.join("models/default")).expect("default model");
        let map = ColumnMap {
            id: Some("id".into()),
            text: vec!["subject".into(), "body".into()],
            language: None,
            labels: [("category".to_string(), "category".to_string())].into(),
        };
        let examples = load(&[root.join("data/sample/tickets.csv")], &map).expect("sample").examples;
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let measured = measure(&classifier, &texts, 7, EmbeddingEvidence::Shares).expect("measured");
        for head in ["urgency", "sentiment", "category"] {
            let result = &measured[head];
            eprintln!("{head}: {result:?}");
            assert!(result.tickets > 100, "{head}: {result:?}");
            assert!(result.top_phrase_drop > result.random_phrase_drop, "{head}: {result:?}");
        }
        // The sentiment head reads the embedding: occlusion finds phrases whose deletion hurts
        // more than those the words' shares alone point at.
        let some = &texts[..150];
        let by_shares = &measure(&classifier, some, 7, EmbeddingEvidence::Shares).expect("measured")["sentiment"];
        let occluded = &measure(&classifier, some, 7, EmbeddingEvidence::Occlusion).expect("measured")["sentiment"];
        eprintln!("sentiment by shares {by_shares:?}, by occlusion {occluded:?}");
        assert!(occluded.top_phrase_drop > by_shares.top_phrase_drop, "{by_shares:?} vs {occluded:?}");
        assert!(occluded.top_wins >= by_shares.top_wins, "{by_shares:?} vs {occluded:?}");
    }
}
