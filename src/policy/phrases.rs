//! Phrase lists as a policy file writes them, compiled into one matcher, and the places they
//! occur in a ticket. Shared by keyword conditions, severity signals and impact phrases, so
//! every list in the file matches the same way:
//! - whole words, any case, accents optional ("caido" finds "caído" and the other way round);
//! - a word ending in `*` matches any word with that stem ("ausgefall*" finds "ausgefallen");
//! - the word `..` stands for up to four other words ("site .. down" finds "site is completely
//!   down").
//!
//! Pure: compiles once, then only reads text. It knows nothing of what a phrase means.

use regex::{Regex, RegexBuilder};

use crate::explain::Evidence;
use crate::ticket::Ticket;

/// Most words a `..` gap may skip.
const GAP_WORDS: usize = 4;

/// A compiled list of phrases.
#[derive(Debug, Clone)]
pub(super) struct Phrases {
    pub words: Vec<String>,
    pattern: Regex,
}

/// Letters written with and without accents in the languages the default policy serves.
/// A phrase's letter matches any of its group, whichever form the phrase used.
const ACCENT_GROUPS: [&str; 8] = ["aàáâãäå", "cç", "eèéêë", "iìíîï", "nñ", "oòóôõö", "uùúûü", "yýÿ"];

fn accent_group(letter: char) -> Option<&'static str> {
    let lower = letter.to_lowercase().next()?;
    ACCENT_GROUPS.iter().copied().find(|group| group.contains(lower))
}

/// The letter without its accent ("é" -> "e"); other characters as they are.
pub(super) fn without_accent(letter: char) -> char {
    accent_group(letter).and_then(|group| group.chars().next()).unwrap_or(letter)
}

fn word_pattern(word: &str) -> String {
    let (stem, open_ended) = match word.strip_suffix('*') {
        Some(stem) if !stem.is_empty() => (stem, true),
        _ => (word, false),
    };
    let mut pattern: String = stem
        .chars()
        .map(|c| match accent_group(c) {
            Some(group) => format!("[{group}]"),
            None => regex::escape(&c.to_string()),
        })
        .collect();
    if open_ended {
        pattern.push_str(r"\w*");
    }
    pattern
}

/// One phrase as a regex: words joined by non-word runs, `..` as a bounded gap of words.
fn phrase_pattern(phrase: &str) -> String {
    let mut pattern = String::new();
    let mut words = 0;
    let mut pending_gap = false;
    for token in phrase.split_whitespace() {
        if token == ".." {
            pending_gap = words > 0;
            continue;
        }
        if words > 0 {
            pattern.push_str(r"\W+");
            if pending_gap {
                pattern.push_str(&format!(r"(?:\w+\W+){{0,{GAP_WORDS}}}"));
            }
        }
        pending_gap = false;
        pattern.push_str(&word_pattern(token));
        words += 1;
    }
    let starts_with_word = phrase.trim_start().chars().next().is_some_and(char::is_alphanumeric);
    let ends_with_word = phrase.trim_end().chars().last().is_some_and(|c| c.is_alphanumeric() || c == '*');
    format!(
        "{}{pattern}{}",
        if starts_with_word { r"\b" } else { "" },
        if ends_with_word { r"\b" } else { "" }
    )
}

impl Phrases {
    /// Compiles a list; fails on an empty list or a blank phrase, naming it.
    pub fn new(words: Vec<String>) -> Result<Self, String> {
        if words.is_empty() || words.iter().any(|w| w.split_whitespace().all(|t| t == "..")) {
            return Err("must be a non-empty list of non-blank words".to_string());
        }
        let alternatives: Vec<String> = words.iter().map(|w| phrase_pattern(w)).collect();
        let pattern = RegexBuilder::new(&format!("(?:{})", alternatives.join("|")))
            .case_insensitive(true)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { words, pattern })
    }

    /// The first occurrence in `text`, as it is written there.
    pub fn first_in<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.pattern.find(text).map(|m| m.as_str())
    }

    /// Every occurrence in the ticket's subject and body, with character offsets into the
    /// field it is in, subject first.
    pub fn spans(&self, ticket: &Ticket, weight: f32) -> Vec<Evidence> {
        let fields = [("subject", ticket.subject.as_str()), ("body", ticket.body.as_str())];
        fields
            .into_iter()
            .flat_map(|(field, text)| {
                self.pattern.find_iter(text).map(move |m| Evidence {
                    text: m.as_str().to_string(),
                    weight,
                    field,
                    start: text[..m.start()].chars().count(),
                    end: text[..m.end()].chars().count(),
                })
            })
            .collect()
    }
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
    fn symbols_match_literally() {
        assert_eq!(finds(&["502", "e-mail"], "error 502 on e-mail").as_deref(), Some("502"));
        assert_eq!(finds(&["c++"], "a c++ question").as_deref(), Some("c++"));
    }

    #[test]
    fn spans_name_the_field_and_character_offsets() {
        let phrases = Phrases::new(vec!["caído".to_string(), "todos".to_string()]).unwrap();
        let spans = phrases.spans(&ticket("Sistema caído", "ñandú: todos sin acceso"), 1.0);
        let found: Vec<_> = spans.iter().map(|e| (e.field, e.start, e.end, e.text.as_str())).collect();
        assert_eq!(found, [("subject", 8, 13, "caído"), ("body", 7, 12, "todos")]);
    }

    #[test]
    fn blank_lists_are_refused() {
        assert!(Phrases::new(Vec::new()).is_err());
        assert!(Phrases::new(vec![" ".to_string()]).is_err());
        assert!(Phrases::new(vec!["..".to_string()]).is_err());
    }
}
