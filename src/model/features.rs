//! Turns normalised words into the sparse feature vector the heads read: subword token
//! ids, hashed word bigrams and hashed character n-grams, weighted by sublinear tf times idf
//! and L2-normalised (the TF-IDF recipe that works on short noisy text). Each occurrence
//! keeps the words it came from so explanations can point back into the ticket.
//! Pure functions over plain data; the tokenizer runs before this, the heads after.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::Word;

/// Shape of the feature space, stored in the manifest so a bundle reproduces it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Subword vocabulary size; token ids occupy `[0, vocab_size)`.
    pub vocab_size: usize,
    /// Hash buckets for bigrams and n-grams, occupying `[vocab_size, vocab_size + buckets)`.
    pub buckets: usize,
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    pub word_bigrams: bool,
}

impl FeatureConfig {
    pub fn dimension(&self) -> usize {
        self.vocab_size + self.buckets
    }
}

/// The words `[first, last]` an occurrence covers, as indices into the ticket's words.
pub type WordSpan = (usize, usize);

/// One ticket's features: parallel vectors of distinct feature ids and their weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFeatures {
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
    /// How many leading entries are word-level (tokens, words, bigrams); the rest are
    /// character n-grams. Each group has unit length on its own.
    pub word_level: usize,
}

impl TicketFeatures {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// These features followed by `embedding`'s components, each times `scale`, as features
    /// `first..first + embedding.len()` (after every hashed feature): how heads that read a
    /// sentence encoder's embedding see it. The word-level group is unchanged.
    pub fn with_embedding(&self, first: usize, embedding: &[f32], scale: f32) -> TicketFeatures {
        let mut joined = self.clone();
        joined.ids.extend((first..first + embedding.len()).map(|id| id as u32));
        joined.weights.extend(embedding.iter().map(|component| component * scale));
        joined
    }

    /// The word-level group: ids and weights, a unit vector (or empty).
    pub fn word_level_part(&self) -> (&[u32], &[f32]) {
        (self.ids.get(..self.word_level).unwrap_or_default(), self.weights.get(..self.word_level).unwrap_or_default())
    }
}

/// FNV-1a: tiny, stable across platforms and releases, which is what a persisted hash needs.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const BIGRAM_NAMESPACE: &[u8] = b"b";
const WORD_NAMESPACE: &[u8] = b"w";
const NGRAM_NAMESPACE: &[u8] = b"c";

impl FeatureConfig {
    fn bucket(&self, parts: &[&[u8]]) -> u32 {
        (self.vocab_size as u64 + fnv1a(parts) % self.buckets as u64) as u32
    }

    /// Raw feature occurrences of `words`: word-level ones (subword tokens, word bigrams) and
    /// character n-grams, each with the words it covers.
    pub fn occurrences(&self, words: &[Word]) -> Occurrences {
        let mut out = Occurrences::default();
        let mut marked = String::new();
        let mut boundaries = Vec::new();
        for (index, word) in words.iter().enumerate() {
            let span = (index, index);
            out.word_level.extend(word.token_ids.iter().map(|&id| (id, span)));
            if word.token_ids.len() > 1 {
                out.word_level.push((self.bucket(&[WORD_NAMESPACE, word.text.as_bytes()]), span));
            }
            // N-grams are byte ranges of `<word>` between character boundaries: no allocation
            // per n-gram on this hot path.
            marked.clear();
            marked.push('<');
            marked.push_str(&word.text);
            marked.push('>');
            boundaries.clear();
            boundaries.extend(marked.char_indices().map(|(at, _)| at));
            boundaries.push(marked.len());
            let chars = boundaries.len() - 1;
            for n in self.char_ngram_min..=self.char_ngram_max.min(chars) {
                for first in 0..=chars - n {
                    let gram = &marked.as_bytes()[boundaries[first]..boundaries[first + n]];
                    out.char_level.push((self.bucket(&[NGRAM_NAMESPACE, gram]), span));
                }
            }
        }
        if self.word_bigrams {
            for (index, pair) in words.windows(2).enumerate() {
                let id = self.bucket(&[BIGRAM_NAMESPACE, pair[0].text.as_bytes(), pair[1].text.as_bytes()]);
                out.word_level.push((id, (index, index + 1)));
            }
        }
        out
    }

    /// Distinct feature ids of `words`, for document-frequency counts.
    pub fn distinct_ids(&self, words: &[Word]) -> Vec<u32> {
        let occurrences = self.occurrences(words);
        let mut ids: Vec<u32> = occurrences.all().map(|(id, _)| id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Weighted features: `(1 + ln tf) * idf`, each group (word-level, character-level)
    /// L2-normalised on its own so the far more numerous n-grams do not drown the words.
    /// `idf` has one entry per feature id; an idf of 0 switches a feature off.
    pub fn featurize(&self, words: &[Word], idf: &[f32]) -> TicketFeatures {
        weigh(&self.occurrences(words), idf)
    }
}

/// The weighting of `featurize`, for callers that also need the occurrences themselves.
pub fn weigh(occurrences: &Occurrences, idf: &[f32]) -> TicketFeatures {
    weigh_traced(occurrences, idf).0
}

/// `weigh`, plus where each occurrence (in `Occurrences::all` order) landed: the position of
/// its feature in the result, `None` when that feature is switched off.
pub fn weigh_traced(occurrences: &Occurrences, idf: &[f32]) -> (TicketFeatures, Vec<Option<usize>>) {
    let mut features = TicketFeatures::default();
    let mut landed = Vec::with_capacity(occurrences.word_level.len() + occurrences.char_level.len());
    for (g, group) in [&occurrences.word_level, &occurrences.char_level].into_iter().enumerate() {
        if g == 1 {
            features.word_level = features.ids.len();
        }
        let mut index: HashMap<u32, usize> = HashMap::new();
        let mut ids = Vec::new();
        let mut counts: Vec<f32> = Vec::new();
        let mut group_slots = Vec::with_capacity(group.len());
        for &(id, _) in group {
            let slot = *index.entry(id).or_insert_with(|| {
                ids.push(id);
                counts.push(0.0);
                ids.len() - 1
            });
            counts[slot] += 1.0;
            group_slots.push(slot);
        }
        let mut weights: Vec<f32> = ids
            .iter()
            .zip(&counts)
            .map(|(&id, &count)| (1.0 + count.ln()) * idf.get(id as usize).copied().unwrap_or(0.0))
            .collect();
        let norm = weights.iter().map(|w| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            weights.iter_mut().for_each(|w| *w /= norm);
        }
        let mut position = Vec::with_capacity(ids.len());
        for (id, weight) in ids.into_iter().zip(weights) {
            if weight > 0.0 {
                position.push(Some(features.ids.len()));
                features.ids.push(id);
                features.weights.push(weight);
            } else {
                position.push(None);
            }
        }
        landed.extend(group_slots.into_iter().map(|slot| position[slot]));
    }
    (features, landed)
}

/// A text's feature occurrences by group, each with the words it covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occurrences {
    pub word_level: Vec<(u32, WordSpan)>,
    pub char_level: Vec<(u32, WordSpan)>,
}

impl Occurrences {
    pub fn all(&self) -> impl Iterator<Item = (u32, WordSpan)> + '_ {
        self.word_level.iter().chain(&self.char_level).copied()
    }
}

/// Smoothed inverse document frequency, as scikit-learn computes it:
/// `ln((1 + n) / (1 + df)) + 1`; 0 (feature off) below `min_df` documents, since a feature
/// seen once can only be memorised, not learned.
pub fn inverse_document_frequency(document_frequency: &[u32], documents: usize, min_df: u32) -> Vec<f32> {
    let n = documents as f32;
    document_frequency.iter().map(|&df| if df < min_df { 0.0 } else { ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: usize) -> Word {
        Word { text: text.to_string(), token_ids: vec![1], start, end: start + text.chars().count() }
    }

    fn config() -> FeatureConfig {
        FeatureConfig { vocab_size: 10, buckets: 1000, char_ngram_min: 3, char_ngram_max: 4, word_bigrams: true }
    }

    #[test]
    fn each_group_has_unit_length_and_ids_are_in_range() {
        let words = [word("checkout", 0), word("fails", 9)];
        let cfg = config();
        let features = cfg.featurize(&words, &vec![1.0; cfg.dimension()]);
        let norm: f32 = features.weights.iter().map(|w| w * w).sum();
        assert!((norm - 2.0).abs() < 1e-5, "two unit-length groups, squared norm {norm}");
        let word_norm: f32 = features.word_level_part().1.iter().map(|w| w * w).sum();
        assert!((word_norm - 1.0).abs() < 1e-5, "the word-level group alone has unit length, squared norm {word_norm}");
        assert!(features.ids.iter().all(|&id| (id as usize) < cfg.dimension()));
    }

    #[test]
    fn repeated_token_counts_sublinearly() {
        let cfg = FeatureConfig { char_ngram_min: 9, char_ngram_max: 8, word_bigrams: false, ..config() };
        let words = [word("a", 0), word("a", 2), word("a", 4)];
        let features = cfg.featurize(&words, &vec![1.0; cfg.dimension()]);
        assert_eq!(features.ids, vec![1]);
        assert!((features.weights[0] - 1.0).abs() < 1e-6);
        let spans: Vec<WordSpan> = cfg.occurrences(&words).all().map(|(_, span)| span).collect();
        assert_eq!(spans, vec![(0, 0), (1, 1), (2, 2)]);
    }

    #[test]
    fn character_ngrams_hash_the_characters_of_the_marked_word() {
        let cfg = FeatureConfig { char_ngram_min: 2, char_ngram_max: 3, word_bigrams: false, ..config() };
        let got: Vec<u32> = cfg.occurrences(&[word("añb", 0)]).char_level.iter().map(|&(id, _)| id).collect();
        let chars: Vec<char> = "<añb>".chars().collect();
        let expected: Vec<u32> = (2..=3)
            .flat_map(|n| chars.windows(n).map(|gram| gram.iter().collect::<String>()).collect::<Vec<_>>())
            .map(|gram| cfg.bucket(&[NGRAM_NAMESPACE, gram.as_bytes()]))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(got.len(), 4 + 3);
    }

    #[test]
    fn bigram_span_covers_both_words() {
        let cfg = FeatureConfig { char_ngram_min: 9, char_ngram_max: 8, ..config() };
        let occurrences = cfg.occurrences(&[word("site", 0), word("down", 5)]).word_level;
        assert_eq!(occurrences.len(), 3);
        assert_eq!(occurrences[2].1, (0, 1));
    }

    #[test]
    fn idf_matches_scikit_learn_formula() {
        let idf = inverse_document_frequency(&[0, 3, 9], 9, 0);
        assert!((idf[0] - (10f32.ln() + 1.0)).abs() < 1e-6);
        assert!((idf[1] - ((10.0f32 / 4.0).ln() + 1.0)).abs() < 1e-6);
        assert!((idf[2] - 1.0).abs() < 1e-6);
        assert_eq!(inverse_document_frequency(&[1, 2], 9, 2)[0], 0.0);
    }

    #[test]
    fn switched_off_features_are_left_out() {
        let cfg = FeatureConfig { char_ngram_min: 9, char_ngram_max: 8, word_bigrams: false, ..config() };
        let mut idf = vec![1.0; cfg.dimension()];
        idf[1] = 0.0;
        assert!(cfg.featurize(&[word("a", 0)], &idf).is_empty());
    }
}
