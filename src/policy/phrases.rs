//! Phrase lists as a policy file writes them, compiled into one matcher, and the places they
//! occur in a ticket. Shared by keyword conditions, severity signals and impact phrases, so
//! every list in the file matches the same way:
//! - whole words (runs of letters and digits; punctuation only separates them), any case,
//!   accents optional ("caido" finds "caído" and the other way round);
//! - a word ending in `*` matches any word with that stem ("ausgefall*" finds "ausgefallen");
//! - the word `..` stands for up to four other words ("site .. down" finds "site is completely
//!   down").
//!
//! Phrases are indexed by their first word, so a ticket is read once per list whatever the
//! list's length (the default policy's lists hold hundreds of phrases in five languages).
//! Pure: compiles once, then only reads text. It knows nothing of what a phrase means.

use std::collections::HashMap;

use crate::explain::Evidence;
use crate::text::SENTENCE_ENDS;
use crate::ticket::Ticket;

/// Most words a `..` gap may skip.
const GAP_WORDS: usize = 4;

/// Letters written with and without accents in the languages the default policy serves;
/// the first of each group is the letter without accent.
const ACCENT_GROUPS: [&str; 8] = ["aàáâãäå", "cç", "eèéêë", "iìíîï", "nñ", "oòóôõö", "uùúûü", "yýÿ"];

/// The letter without its accent ("é" -> "e"); other characters as they are.
pub(super) fn without_accent(letter: char) -> char {
    ACCENT_GROUPS.iter().find(|group| group.contains(letter)).and_then(|group| group.chars().next()).unwrap_or(letter)
}

/// A word as phrases compare it: lower case, without accents.
fn folded(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).map(without_accent).collect()
}

/// The words of a text (runs of letters and digits; everything else separates them), folded,
/// with their byte ranges in the text.
fn words(text: &str) -> Vec<(String, usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                words.push((folded(&text[from..at]), from, at));
                start = None;
            }
            _ => {}
        }
    }
    words
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Word(String),
    Stem(String),
    Gap,
}

/// One phrase as parts: its words (the words of a token like "e-mail" are "e" and "mail"),
/// stems and gaps. `None` when it holds no word at all.
fn parse(phrase: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    for token in phrase.split_whitespace() {
        if token == ".." {
            if !parts.is_empty() {
                parts.push(Part::Gap);
            }
            continue;
        }
        let (body, stem) = match token.strip_suffix('*') {
            Some(body) => (body, true),
            None => (token, false),
        };
        let mut token_words: Vec<String> = words(body).into_iter().map(|(w, _, _)| w).collect();
        if stem {
            if let Some(last) = token_words.pop() {
                token_words.iter().for_each(|w| parts.push(Part::Word(w.clone())));
                parts.push(Part::Stem(last));
                continue;
            }
        }
        parts.extend(token_words.into_iter().map(Part::Word));
    }
    while parts.last() == Some(&Part::Gap) {
        parts.pop();
    }
    (!parts.is_empty()).then_some(parts)
}

/// Length in words of the match of `parts` starting at `words[at]`, if it matches there.
fn match_at(parts: &[Part], words: &[(String, usize, usize)], at: usize) -> Option<usize> {
    let Some((part, rest)) = parts.split_first() else { return Some(0) };
    match part {
        Part::Gap => (0..=GAP_WORDS).filter(|skip| at + skip <= words.len()).find_map(|skip| {
            match_at(rest, words, at + skip).map(|n| n + skip)
        }),
        Part::Word(w) | Part::Stem(w) => {
            let word = &words.get(at)?.0;
            let fits = if matches!(part, Part::Word(_)) { word == w } else { word.starts_with(w.as_str()) };
            fits.then(|| match_at(rest, words, at + 1).map(|n| n + 1)).flatten()
        }
    }
}

/// A compiled list of phrases.
#[derive(Debug, Clone)]
pub(super) struct Phrases {
    pub words: Vec<String>,
    parsed: Vec<Vec<Part>>,
    /// Phrases by their first word, and those starting with a stem by the stem's first letter.
    by_first_word: HashMap<String, Vec<usize>>,
    by_first_letter: HashMap<char, Vec<usize>>,
}

impl Phrases {
    /// Compiles a list; fails on an empty list or a phrase without a word.
    pub fn new(words: Vec<String>) -> Result<Self, String> {
        if words.is_empty() {
            return Err("must be a non-empty list of non-blank words".to_string());
        }
        let parsed = words
            .iter()
            .map(|w| parse(w).ok_or_else(|| format!("must be a non-empty list of non-blank words, not {w:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_first_letter: HashMap<char, Vec<usize>> = HashMap::new();
        for (index, parts) in parsed.iter().enumerate() {
            match &parts[0] {
                Part::Word(w) => by_first_word.entry(w.clone()).or_default().push(index),
                Part::Stem(w) => by_first_letter.entry(w.chars().next().unwrap_or(' ')).or_default().push(index),
                Part::Gap => {}
            }
        }
        Ok(Self { words, parsed, by_first_word, by_first_letter })
    }

    /// Byte ranges of the non-overlapping occurrences in `text`, leftmost and longest first.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let words = words(text);
        self.find_words(&words).into_iter().map(|(first, last)| (words[first].1, words[last].2)).collect()
    }

    /// The non-overlapping occurrences as (first word, last word) indices into `words`.
    fn find_words(&self, words: &[(String, usize, usize)]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut at = 0;
        while at < words.len() {
            let word = &words[at].0;
            let by_word = self.by_first_word.get(word).into_iter().flatten();
            let by_letter = word.chars().next().and_then(|c| self.by_first_letter.get(&c)).into_iter().flatten();
            let longest = by_word.chain(by_letter).filter_map(|&p| match_at(&self.parsed[p], words, at)).max();
            match longest {
                Some(length) => {
                    found.push((at, at + length - 1));
                    at += length;
                }
                None => at += 1,
            }
        }
        found
    }

    /// The first occurrence in `text`, as it is written there.
    pub fn first_in<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.find(text).first().map(|&(start, end)| &text[start..end])
    }

    /// Every occurrence in the ticket's subject and body, with character offsets into the
    /// field it is in, subject first.
    pub fn spans(&self, ticket: &Ticket, weight: f32) -> Vec<Evidence> {
        evidence(ticket, weight, |text| self.find(text))
    }
}

/// Two phrase lists whose words must occur close together, in either order and within one
/// sentence: a thing ("portal", "Datenbank") near a state ("unreachable", "ausgefallen"). One
/// such pair of lists covers every combination a list of whole phrases would have to spell out.
#[derive(Debug, Clone)]
pub(super) struct Near {
    pub these: Phrases,
    pub those: Phrases,
    /// Most words between the two.
    pub within: usize,
}

impl Near {
    /// Byte ranges from the first to the last word of each close pair, in text order.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let words = words(text);
        let (these, those) = (self.these.find_words(&words), self.those.find_words(&words));
        let mut found: Vec<(usize, usize)> = Vec::new();
        for &(a_first, a_last) in &these {
            for &(b_first, b_last) in &those {
                let (left_last, right_first) = if a_last < b_first { (a_last, b_first) } else { (b_last, a_first) };
                if right_first <= left_last || right_first - left_last - 1 > self.within {
                    continue;
                }
                let between = &text[words[left_last].2..words[right_first].1];
                if between.contains(SENTENCE_ENDS) {
                    continue;
                }
                let span = (words[a_first.min(b_first)].1, words[a_last.max(b_last)].2);
                if !found.iter().any(|&(start, end)| span.0 < end && start < span.1) {
                    found.push(span);
                }
            }
        }
        found.sort_unstable();
        found
    }

    pub fn first_in<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.find(text).first().map(|&(start, end)| &text[start..end])
    }

    pub fn spans(&self, ticket: &Ticket, weight: f32) -> Vec<Evidence> {
        evidence(ticket, weight, |text| self.find(text))
    }
}

/// What a severity signal or an impact group looks for: phrases, close pairs, or both.
#[derive(Debug, Clone)]
pub(super) struct Cues {
    pub phrases: Option<Phrases>,
    pub near: Option<Near>,
}

impl Cues {
    pub fn first_in<'t>(&self, text: &'t str) -> Option<&'t str> {
        let phrase = self.phrases.as_ref().and_then(|p| p.first_in(text));
        phrase.or_else(|| self.near.as_ref().and_then(|n| n.first_in(text)))
    }

    /// Every occurrence in the ticket, phrases and pairs together, without overlaps.
    pub fn spans(&self, ticket: &Ticket, weight: f32) -> Vec<Evidence> {
        let mut spans: Vec<Evidence> = self.phrases.iter().flat_map(|p| p.spans(ticket, weight)).collect();
        for pair in self.near.iter().flat_map(|n| n.spans(ticket, weight)) {
            let overlaps = spans.iter().any(|s| s.field == pair.field && pair.start < s.end && s.start < pair.end);
            if !overlaps {
                spans.push(pair);
            }
        }
        spans.sort_by_key(|s| (s.field != "subject", s.start));
        spans
    }
}

/// Occurrences in the ticket's subject and body as evidence, with character offsets into the
/// field they are in, subject first.
fn evidence(ticket: &Ticket, weight: f32, find: impl Fn(&str) -> Vec<(usize, usize)>) -> Vec<Evidence> {
    let fields = [("subject", ticket.subject.as_str()), ("body", ticket.body.as_str())];
    fields
        .into_iter()
        .flat_map(|(field, text)| {
            find(text).into_iter().map(move |(start, end)| Evidence {
                text: text[start..end].to_string(),
                weight,
                field,
                start: text[..start].chars().count(),
                end: text[..end].chars().count(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_policy::ticket;

    fn finds(phrases: &[&str], text: &str) -> Option<String> {
        let phrases = Phrases::new(phrases.iter().map(|p| p.to_string()).collect()).unwrap();
        phrases.first_in(text).map(str::to_string)
    }

    #[test]
    fn whole_words_in_any_case_with_or_without_accents() {
        assert_eq!(finds(&["outage"], "Major OUTAGE today").as_deref(), Some("OUTAGE"));
        assert_eq!(finds(&["down"], "cannot download the file"), None);
        assert_eq!(finds(&["caido"], "el sistema está caído").as_deref(), Some("caído"));
        assert_eq!(finds(&["caído"], "el sistema esta caido").as_deref(), Some("caido"));
        assert_eq!(finds(&["panne générale"], "PANNE GENERALE depuis 9h").as_deref(), Some("PANNE GENERALE"));
    }

    #[test]
    fn stems_and_gaps() {
        assert_eq!(finds(&["ausgefall*"], "Die Datenbank ist ausgefallen.").as_deref(), Some("ausgefallen"));
        assert_eq!(finds(&["ausgefall*"], "Ausgaben"), None);
        let gap = ["datenbank .. ausgefall*"];
        assert_eq!(
            finds(&gap, "Datenbank ist seit 20 Minuten ausgefallen").as_deref(),
            Some("Datenbank ist seit 20 Minuten ausgefallen")
        );
        assert_eq!(finds(&gap, "Datenbank a b c d e ausgefallen"), None, "at most four words between");
        assert_eq!(finds(&["site .. down"], "the site is down").as_deref(), Some("site is down"));
        assert_eq!(finds(&["site .. down"], "site down").as_deref(), Some("site down"));
    }

    #[test]
    fn punctuation_separates_words() {
        assert_eq!(finds(&["502"], "error 502 on e-mail").as_deref(), Some("502"));
        assert_eq!(finds(&["e-mail"], "my e-mail is gone").as_deref(), Some("e-mail"));
        assert_eq!(finds(&["site down"], "site, down!").as_deref(), Some("site, down"));
        assert_eq!(finds(&["can't login"], "I can't login").as_deref(), Some("can't login"));
    }

    #[test]
    fn the_longest_phrase_at_a_place_wins() {
        assert_eq!(finds(&["data", "data loss"], "total data loss").as_deref(), Some("data loss"));
    }

    #[test]
    fn spans_name_the_field_and_character_offsets() {
        let phrases = Phrases::new(vec!["caído".to_string(), "todos".to_string()]).unwrap();
        let spans = phrases.spans(&ticket("Sistema caído", "ñandú: todos sin acceso"), 1.0);
        let found: Vec<_> = spans.iter().map(|e| (e.field, e.start, e.end, e.text.as_str())).collect();
        assert_eq!(found, [("subject", 8, 13, "caído"), ("body", 7, 12, "todos")]);
    }

    #[test]
    fn near_pairs_match_in_either_order_within_a_sentence() {
        let list = |words: &[&str]| Phrases::new(words.iter().map(|w| w.to_string()).collect()).unwrap();
        let near = Near { these: list(&["portal", "datenbank"]), those: list(&["unreachable", "ausgefall*"]), within: 3 };
        assert_eq!(near.first_in("the portal is unreachable"), Some("portal is unreachable"));
        assert_eq!(near.first_in("Ausgefallen ist die Datenbank"), Some("Ausgefallen ist die Datenbank"));
        assert_eq!(near.first_in("the portal works. Unreachable is the printer"), None, "not across sentences");
        assert_eq!(near.first_in("portal a b c d unreachable"), None, "at most three words between");
        let spans = near.spans(&ticket("Portal unreachable", "Datenbank: ausgefallen"), 1.0);
        let found: Vec<_> = spans.iter().map(|e| (e.field, e.start, e.end)).collect();
        assert_eq!(found, [("subject", 0, 18), ("body", 0, 22)]);
    }

    #[test]
    fn blank_lists_are_refused() {
        assert!(Phrases::new(Vec::new()).is_err());
        assert!(Phrases::new(vec![" ".to_string()]).is_err());
        assert!(Phrases::new(vec!["..".to_string()]).is_err());
    }
}
