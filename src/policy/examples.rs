//! The example tickets a policy gives each priority level, and how like them a new ticket
//! reads: TF-IDF weighted character trigrams of accent-folded words, compared by cosine.
//! Trigrams rather than whole words so "ausgefallen" meets "Ausfall" and "caído" meets
//! "caida"; IDF over the examples so words every example shares ("the", "de") count little.
//! This works with no labeled history at all, which is the point: the written guidelines,
//! not noisy labels, say what each level looks like.
//!
//! Pure: built once from the policy file, then read-only. It decides nothing; `severity`
//! turns the nearest level into a signal.

use std::collections::HashMap;

use super::phrases::without_accent;
use super::priority::Rank;
use crate::sparse_vector::{dot, unit, SparseVector};

/// How many of a level's nearest examples vote on a ticket's similarity to that level.
const MEANING_VOTES: usize = 3;

/// A ticket or example as a unit-length sparse vector over trigram ids.
type Vector = SparseVector;

#[derive(Debug, Clone)]
pub(super) struct Examples {
    /// Trigram -> (id, idf).
    vocabulary: HashMap<String, (u32, f32)>,
    /// Per example: its level, its text, its vector (sorted by id).
    examples: Vec<(Rank, String, Vector)>,
    /// Per example, in the same order, its sentence embedding from the served model's
    /// encoder; empty when the model has none.
    embeddings: Vec<Vec<f32>>,
}

/// The nearest example: its level, its text and the cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Nearest<'e> {
    pub rank: Rank,
    pub example: &'e str,
    pub similarity: f32,
}

/// Trigram counts of the text's words, each padded with spaces so word starts and ends
/// count ("ausfall" gives " au", "aus", ..., "ll ").
fn trigrams(text: &str) -> HashMap<String, f32> {
    let mut counts = HashMap::new();
    let lowered = text.to_lowercase();
    for word in lowered.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let padded: Vec<char> = std::iter::once(' ').chain(word.chars().map(without_accent)).chain([' ']).collect();
        for gram in padded.windows(3) {
            *counts.entry(gram.iter().collect::<String>()).or_insert(0.0) += 1.0;
        }
    }
    counts
}

impl Examples {
    pub fn new(levels: Vec<(Rank, Vec<String>)>) -> Self {
        let texts: Vec<(Rank, String)> =
            levels.into_iter().flat_map(|(rank, texts)| texts.into_iter().map(move |t| (rank, t))).collect();
        let counted: Vec<HashMap<String, f32>> = texts.iter().map(|(_, t)| trigrams(t)).collect();
        let mut document_frequency: HashMap<&str, usize> = HashMap::new();
        for grams in &counted {
            grams.keys().for_each(|g| *document_frequency.entry(g).or_default() += 1);
        }
        let documents = counted.len() as f32;
        let vocabulary: HashMap<String, (u32, f32)> = document_frequency
            .into_iter()
            .enumerate()
            .map(|(id, (gram, df))| (gram.to_string(), (id as u32, ((documents + 1.0) / (df as f32 + 1.0)).ln() + 1.0)))
            .collect();
        let examples = texts
            .into_iter()
            .zip(&counted)
            .map(|((rank, text), grams)| {
                let vector = Self::weigh(&vocabulary, grams);
                (rank, text, vector)
            })
            .collect();
        Self { vocabulary, examples, embeddings: Vec::new() }
    }

    /// The examples' texts, in the order `set_embeddings` takes their embeddings.
    pub fn texts(&self) -> Vec<&str> {
        self.examples.iter().map(|(_, text, _)| text.as_str()).collect()
    }

    /// Gives every example its sentence embedding (in `texts` order), so a ticket with an
    /// embedding is compared by meaning. Embeddings that are not one per example are not
    /// kept: the examples stay compared by trigrams.
    pub fn set_embeddings(&mut self, embeddings: Vec<Vec<f32>>) {
        if embeddings.len() == self.examples.len() {
            self.embeddings = embeddings;
        }
    }

    /// Whether the examples can be compared by meaning.
    pub fn have_embeddings(&self) -> bool {
        !self.embeddings.is_empty()
    }

    /// The level whose examples are, on average over its `MEANING_VOTES` nearest, most like
    /// `embedding` (unit vectors, so a dot product is a cosine), with that average as the
    /// similarity and its nearest example as the one to quote. An average of a few rather
    /// than the single nearest, so one example that happens to share a topic (an invoice, a
    /// login) does not pull a ticket to its level.
    pub fn nearest_in_meaning(&self, embedding: &[f32]) -> Option<Nearest<'_>> {
        let mut by_level: Vec<(Rank, Vec<(f32, &str)>)> = Vec::new();
        for ((rank, example, _), e) in self.examples.iter().zip(&self.embeddings) {
            let similarity: f32 = e.iter().zip(embedding).map(|(a, b)| a * b).sum();
            match by_level.iter_mut().find(|(r, _)| r == rank) {
                Some((_, found)) => found.push((similarity, example)),
                None => by_level.push((*rank, vec![(similarity, example)])),
            }
        }
        by_level
            .into_iter()
            .map(|(rank, mut found)| {
                found.sort_by(|a, b| b.0.total_cmp(&a.0));
                let votes = &found[..found.len().min(MEANING_VOTES)];
                let similarity = votes.iter().map(|(s, _)| s).sum::<f32>() / votes.len() as f32;
                Nearest { rank, example: found[0].1, similarity }
            })
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity))
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Sublinear term frequency times IDF, over trigrams the examples know.
    fn weigh(vocabulary: &HashMap<String, (u32, f32)>, grams: &HashMap<String, f32>) -> Vector {
        unit(
            grams
                .iter()
                .filter_map(|(gram, count)| vocabulary.get(gram).map(|&(id, idf)| (id, (1.0 + count.ln()) * idf)))
                .collect(),
        )
    }

    /// The example most like `text`, if any example shares a trigram with it.
    pub fn nearest(&self, text: &str) -> Option<Nearest<'_>> {
        let vector = Self::weigh(&self.vocabulary, &trigrams(text));
        self.examples
            .iter()
            .map(|(rank, example, v)| Nearest { rank: *rank, example, similarity: dot(&vector, v) })
            .filter(|n| n.similarity > 0.0)
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Examples {
        Examples::new(vec![
            (Rank(0), vec!["Production database is down for all users".into(), "Datenbank ausgefallen".into()]),
            (Rank(3), vec!["Feature request: dark mode for the dashboard".into(), "Merci pour votre aide".into()]),
        ])
    }

    #[test]
    fn the_nearest_example_gives_its_level_across_inflections_and_accents() {
        let examples = examples();
        let outage = examples.nearest("Unsere Datenbank ist seit heute früh ausgefallen!").unwrap();
        assert_eq!((outage.rank, outage.example), (Rank(0), "Datenbank ausgefallen"));
        let wish = examples.nearest("Would love a dark mode, small feature request").unwrap();
        assert_eq!(wish.rank, Rank(3));
        assert!(wish.similarity > 0.2 && wish.similarity <= 1.0 + 1e-6, "{wish:?}");
        let thanks = examples.nearest("merci, votre aide était parfaite").unwrap();
        assert_eq!(thanks.rank, Rank(3));
    }

    #[test]
    fn identical_text_is_similarity_one_and_unrelated_text_is_none() {
        let examples = examples();
        let same = examples.nearest("Datenbank ausgefallen").unwrap();
        assert!((same.similarity - 1.0).abs() < 1e-5, "{same:?}");
        assert_eq!(examples.nearest("xyz qqq"), None);
        assert!(Examples::new(Vec::new()).nearest("anything").is_none());
    }
}
