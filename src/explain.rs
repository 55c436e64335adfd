//! Evidence: which words and phrases of a ticket pushed each head towards its label. The
//! sparse-linear heads are linear in the features, so a feature's share of a logit is exact;
//! here those shares are spread over the words each feature came from (a bigram over both
//! words, an n-gram over its word) and adjacent words pushing the same way are joined into
//! phrases. Pure functions over plain data; the classifier supplies the shares.

use serde::Serialize;

use crate::text::{Word, SENTENCE_ENDS};

/// Phrases returned per head, strongest first.
pub const EVIDENCE_PHRASES: usize = 5;
/// Longest phrase in words: a reviewer needs the words that mattered, not a whole sentence.
pub const MAX_PHRASE_WORDS: usize = 4;

/// A phrase of the ticket with its signed weight (positive: pushed towards the predicted
/// label). `start` / `end` are character offsets into `field` (`subject` or `body`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub text: String,
    pub weight: f32,
    pub field: &'static str,
    pub start: usize,
    pub end: usize,
}

/// Where each feature occurrence falls among a ticket's words, built once per ticket and
/// reused for every head. A feature's share is split evenly over its occurrences, and an
/// occurrence's part evenly over the words it covers (a bigram over both words, an n-gram
/// over its word).
pub struct OccurrenceMap {
    /// (position in the feature list, first word, last word, fraction of the feature's share)
    entries: Vec<(usize, usize, usize, f32)>,
    words: usize,
}

impl OccurrenceMap {
    /// `spans` are the first and last word of each occurrence; `landed` says, per occurrence
    /// in the same order, which feature of the weighted list it counts towards (the model's
    /// feature weighting decides; this module only spreads the shares).
    pub fn new(spans: impl Iterator<Item = (usize, usize)>, landed: &[Option<usize>], features: usize, words: usize) -> Self {
        let mut occurrence_count = vec![0usize; features];
        landed.iter().flatten().for_each(|&slot| occurrence_count[slot] += 1);
        let entries = spans
            .zip(landed)
            .filter_map(|((first, last), slot)| {
                slot.map(|slot| (slot, first, last, 1.0 / (occurrence_count[slot] * (last + 1 - first)) as f32))
            })
            .collect();
        Self { entries, words }
    }

    /// Each word's share of a head's score, given each feature's share (parallel to the
    /// feature list the map was built with).
    pub fn word_scores(&self, feature_scores: &[f32]) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.words];
        for &(slot, first, last, fraction) in &self.entries {
            let share = feature_scores[slot] * fraction;
            scores[first..=last].iter_mut().for_each(|s| *s += share);
        }
        scores
    }
}

/// The strongest phrases: runs of up to `MAX_PHRASE_WORDS` adjacent words with the same
/// sign, within one sentence (not crossing from subject to body, which starts at character
/// `body_start` of the text whose characters are `chars`), ranked by |weight|.
pub fn phrases(chars: &[char], words: &[Word], scores: &[f32], body_start: usize) -> Vec<Evidence> {
    let mut runs: Vec<(usize, usize, f32)> = Vec::new();
    for (i, &score) in scores.iter().enumerate() {
        if score == 0.0 {
            continue;
        }
        let same_field = |a: usize, b: usize| (words[a].start >= body_start) == (words[b].start >= body_start);
        let same_sentence = |a: usize, b: usize| {
            let between = chars.get(words[a].end..words[b].start).unwrap_or_default();
            !between.iter().any(|c| SENTENCE_ENDS.contains(c))
        };
        match runs.last_mut() {
            Some((first, last, total))
                if *last + 1 == i
                    && i - *first < MAX_PHRASE_WORDS
                    && (*total > 0.0) == (score > 0.0)
                    && same_field(*last, i)
                    && same_sentence(*last, i) =>
            {
                *last = i;
                *total += score;
            }
            _ => runs.push((i, i, score)),
        }
    }
    runs.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    runs.truncate(EVIDENCE_PHRASES);
    runs.into_iter()
        .map(|(first, last, weight)| {
            let (start, end) = (words[first].start, words[last].end);
            let (field, offset) = if start >= body_start { ("body", body_start) } else { ("subject", 0) };
            Evidence {
                text: chars[start.min(chars.len())..end.min(chars.len())].iter().collect(),
                weight,
                field,
                start: start - offset,
                end: end - offset,
            }
        })
        .collect()
}

/// `text` without its characters `[start, end)`: what a ticket says once a phrase of its
/// evidence is taken out (occlusion, and the deletion check of evidence).
pub fn text_without(text: &str, (start, end): (usize, usize)) -> String {
    text.chars().enumerate().filter(|(at, _)| *at < start || *at >= end).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: usize) -> Word {
        Word { text: text.to_string(), token_ids: vec![], start, end: start + text.chars().count() }
    }

    #[test]
    fn shares_follow_spans_and_repeat_counts() {
        let words = [word("site", 0), word("down", 5), word("down", 10)];
        let spans = [(0, 0), (1, 1), (2, 2), (0, 1), (2, 2)];
        let landed = [Some(0), Some(1), Some(1), Some(2), None];
        let scores = OccurrenceMap::new(spans.into_iter(), &landed, 3, words.len()).word_scores(&[1.0, 2.0, 0.5]);
        assert_eq!(scores, vec![1.25, 1.25, 1.0]);
    }

    #[test]
    fn phrases_join_same_sign_neighbours_within_a_field() {
        let text = "Site down\nplease refund now";
        let words = [word("Site", 0), word("down", 5), word("please", 10), word("refund", 17), word("now", 24)];
        let chars: Vec<char> = text.chars().collect();
        let evidence = phrases(&chars, &words, &[0.5, 0.25, 0.25, -1.0, 0.0], 10);
        assert_eq!(evidence[0], Evidence { text: "refund".into(), weight: -1.0, field: "body", start: 7, end: 13 });
        assert_eq!(evidence[1], Evidence { text: "Site down".into(), weight: 0.75, field: "subject", start: 0, end: 9 });
        assert_eq!(evidence[2].text, "please");
        assert_eq!(evidence.len(), 3);
    }

    #[test]
    fn phrases_stay_within_a_sentence() {
        let text = "x It is down. Please help";
        let words = [word("It", 2), word("is", 5), word("down", 8), word("Please", 14), word("help", 21)];
        let chars: Vec<char> = text.chars().collect();
        let evidence = phrases(&chars, &words, &[0.5, 0.5, 0.5, 0.5, 0.5], 0);
        let texts: Vec<&str> = evidence.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["It is down", "Please help"]);
    }

    #[test]
    fn long_runs_are_cut_into_phrases_of_at_most_four_words() {
        let text = "a b c d e f";
        let words: Vec<Word> = (0..6).map(|i| word(&text[2 * i..2 * i + 1], 2 * i)).collect();
        let chars: Vec<char> = text.chars().collect();
        let evidence = phrases(&chars, &words, &[1.0; 6], 100);
        assert_eq!(evidence.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), ["a b c d", "e f"]);
    }
}
