//! Phrase lists as a policy file writes them, compiled into one matcher, and the places they
//! occur in a ticket. Shared by keyword conditions, severity signals and impact phrases, so
//! every list in the file matches the same way:
//! - whole words (runs of letters and digits; punctuation only separates them), any case,
//!   accents optional ("caido" finds "caído" and the other way round);
//! - a word ending in `*` matches any word with that stem ("ausgefall*" finds "ausgefallen");
//! - the word `..` stands for up to four other words ("site .. down" finds "site is completely
//!   down");
//! - `...` at the end stands for the rest of the clause, up to a comma, colon, semicolon or
//!   the sentence's end ("would be great if ..." takes the whole wish, so a raising list that
//!   yields claimed words does not read "the app had an offline mode" in it as an outage).
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

/// What ends a clause: a sentence's end, or a comma, colon or semicolon.
const CLAUSE_ENDS: [char; 3] = [',', ':', ';'];

/// The words of a text (runs of letters and digits; everything else separates them), folded,
/// with their byte ranges in the text and the number of the clause they are in.
fn words(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start = None;
    let mut clause = 0;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                words.push((folded(&text[from..at]), from, at, clause));
                start = None;
            }
            _ => {}
        }
        if SENTENCE_ENDS.contains(&c) || CLAUSE_ENDS.contains(&c) {
            clause += 1;
        }
    }
    words
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Word(String),
    Stem(String),
    Gap,
    /// The rest of the clause (last part only).
    Rest,
}

/// One phrase as parts: its words (the words of a token like "e-mail" are "e" and "mail"),
/// stems, gaps and the rest of the clause. `None` when it holds no word at all, or `...`
/// before its end.
fn parse(phrase: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut tokens = phrase.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        if token == "..." {
            if tokens.peek().is_some() || parts.is_empty() {
                return None;
            }
            parts.push(Part::Rest);
            continue;
        }
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
        let mut token_words: Vec<String> = words(body).into_iter().map(|(w, ..)| w).collect();
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
fn match_at(parts: &[Part], words: &[Word], at: usize) -> Option<usize> {
    let Some((part, rest)) = parts.split_first() else { return Some(0) };
    match part {
        Part::Gap => (0..=GAP_WORDS)
            .filter(|skip| at + skip <= words.len())
            .find_map(|skip| match_at(rest, words, at + skip).map(|n| n + skip)),
        Part::Rest => {
            let clause = words.get(at.checked_sub(1)?)?.3;
            Some(words[at..].iter().take_while(|w| w.3 == clause).count())
        }
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
            .map(|w| parse(w).ok_or_else(|| format!("must be a list of phrases with words (`...` only at the end), not {w:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_first_letter: HashMap<char, Vec<usize>> = HashMap::new();
        for (index, parts) in parsed.iter().enumerate() {
            match &parts[0] {
                Part::Word(w) => by_first_word.entry(w.clone()).or_default().push(index),
                Part::Stem(w) => by_first_letter.entry(w.chars().next().unwrap_or(' ')).or_default().push(index),
                Part::Gap | Part::Rest => {}
            }
        }
        Ok(Self { words, parsed, by_first_word, by_first_letter })
    }

    /// The non-overlapping occurrences as (first word, last word) indices, leftmost and
    /// longest first.
    fn find_words(&self, words: &[Word]) -> Vec<(usize, usize)> {
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

    fn find(&self, field: &Field) -> Vec<(usize, usize)> {
        self.find_words(&field.words).into_iter().map(|(first, last)| (field.words[first].1, field.words[last].2)).collect()
    }

    /// The first occurrence in the ticket, as it is written there.
    pub fn first(&self, ticket: &TicketWords) -> Option<String> {
        ticket.first(|field| self.find(field))
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
    /// Byte ranges from the first to the last word of each close pair that `keep` allows, in
    /// text order.
    fn find(&self, field: &Field, keep: impl Fn(&(usize, usize)) -> bool) -> Vec<(usize, usize)> {
        let (text, words) = (field.text, &field.words);
        let (these, those) = (self.these.find_words(words), self.those.find_words(words));
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
                if keep(&span) && !found.iter().any(|other| overlap(&span, other)) {
                    found.push(span);
                }
            }
        }
        found.sort_unstable();
        found
    }
}

/// Whether two byte ranges share a byte.
fn overlap(a: &(usize, usize), b: &(usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// What a severity signal or an impact group looks for: phrases, close pairs, or both.
#[derive(Debug, Clone)]
pub(super) struct Cues {
    pub phrases: Option<Phrases>,
    pub near: Option<Near>,
    /// Whether words another list has claimed (`TicketWords::claim`) are out of this one's
    /// reach: a phrase that names the whole thing says what its words mean there, so "erro"
    /// in "erro de digitação" (a typo) is no malfunction's "erro" once the typo has taken it.
    pub yields_claimed: bool,
    /// Words that keep the cues from counting although they are there: a deadline "in drei
    /// Wochen" is a deadline, not an urgent one.
    pub unless: Option<Phrases>,
}

impl Cues {
    /// Byte ranges in one field, phrases and pairs together, without overlaps, in text order.
    fn find(&self, field: &Field) -> Vec<(usize, usize)> {
        let free = |span: &(usize, usize)| !self.yields_claimed || !field.claimed.iter().any(|c| overlap(span, c));
        let mut found: Vec<(usize, usize)> = self.phrases.iter().flat_map(|p| p.find(field)).filter(free).collect();
        for pair in self.near.iter().flat_map(|n| n.find(field, free)) {
            if !found.iter().any(|other| overlap(&pair, other)) {
                found.push(pair);
            }
        }
        found.sort_unstable();
        found
    }

    /// The first occurrence in the ticket, as it is written there (none when the ticket has
    /// `unless` words).
    pub fn first(&self, ticket: &TicketWords) -> Option<String> {
        if self.kept_from_counting(ticket) {
            return None;
        }
        ticket.first(|field| self.find(field))
    }

    fn kept_from_counting(&self, ticket: &TicketWords) -> bool {
        self.unless.as_ref().is_some_and(|u| u.first(ticket).is_some())
    }

    /// The ticket's `unless` words, when they keep cues that are there from counting.
    pub fn set_aside_by(&self, ticket: &TicketWords) -> Option<String> {
        let unless = self.unless.as_ref()?.first(ticket)?;
        ticket.first(|field| self.find(field)).map(|_| unless)
    }

    /// Every occurrence, with character offsets into the field it is in, subject first (none
    /// when the ticket has `unless` words).
    pub fn spans(&self, ticket: &TicketWords, weight: f32) -> Vec<Evidence> {
        if self.kept_from_counting(ticket) {
            return Vec::new();
        }
        ticket
            .fields
            .iter()
            .flat_map(|field| {
                self.find(field).into_iter().map(move |(start, end)| Evidence {
                    text: field.text[start..end].to_string(),
                    weight,
                    field: field.name,
                    start: field.text[..start].chars().count(),
                    end: field.text[..end].chars().count(),
                })
            })
            .collect()
    }
}

/// A word of a field as phrases compare it (folded), its byte range in the field, and the
/// number of its clause there.
type Word = (String, usize, usize, usize);

/// One field of a ticket and its words.
#[derive(Clone)]
pub(super) struct Field<'t> {
    name: &'static str,
    text: &'t str,
    words: Vec<Word>,
    /// Byte ranges that lists read first have claimed.
    claimed: Vec<(usize, usize)>,
}

/// A ticket's subject and body split into words once, for every phrase list of the policy to
/// read: a phrase never reaches from the subject into the body.
#[derive(Clone)]
pub(super) struct TicketWords<'t> {
    fields: [Field<'t>; 2],
}

impl<'t> TicketWords<'t> {
    pub fn new(ticket: &'t Ticket) -> Self {
        let field = |name, text: &'t str| Field { name, text, words: words(text), claimed: Vec::new() };
        Self { fields: [field("subject", &ticket.subject), field("body", &ticket.body)] }
    }

    /// Claims the words `cues` find, so lists that yield claimed words no longer read them.
    pub fn claim(&mut self, cues: &Cues) {
        if cues.kept_from_counting(self) {
            return;
        }
        for field in &mut self.fields {
            let found = cues.find(field);
            field.claimed.extend(found);
        }
    }

    fn first(&self, find: impl Fn(&Field) -> Vec<(usize, usize)>) -> Option<String> {
        self.fields.iter().find_map(|field| find(field).first().map(|&(start, end)| field.text[start..end].to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_policy::ticket;

    fn finds(phrases: &[&str], text: &str) -> Option<String> {
        let phrases = Phrases::new(phrases.iter().map(|p| p.to_string()).collect()).unwrap();
        phrases.first(&TicketWords::new(&ticket("", text)))
    }

    fn cues(phrases: Option<Phrases>, near: Option<Near>) -> Cues {
        Cues { phrases, near, yields_claimed: false, unless: None }
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
        let ticket = ticket("Sistema caído", "ñandú: todos sin acceso");
        let spans = cues(Some(phrases), None).spans(&TicketWords::new(&ticket), 1.0);
        let found: Vec<_> = spans.iter().map(|e| (e.field, e.start, e.end, e.text.as_str())).collect();
        assert_eq!(found, [("subject", 8, 13, "caído"), ("body", 7, 12, "todos")]);
    }

    #[test]
    fn near_pairs_match_in_either_order_within_a_sentence() {
        let list = |words: &[&str]| Phrases::new(words.iter().map(|w| w.to_string()).collect()).unwrap();
        let near = Near { these: list(&["portal", "datenbank"]), those: list(&["unreachable", "ausgefall*"]), within: 3 };
        let near = cues(None, Some(near));
        let first = |text: &str| near.first(&TicketWords::new(&ticket("", text)));
        assert_eq!(first("the portal is unreachable").as_deref(), Some("portal is unreachable"));
        assert_eq!(first("Ausgefallen ist die Datenbank").as_deref(), Some("Ausgefallen ist die Datenbank"));
        assert_eq!(first("the portal works. Unreachable is the printer"), None, "not across sentences");
        assert_eq!(first("portal a b c d unreachable"), None, "at most three words between");
        let spans = near.spans(&TicketWords::new(&ticket("Portal unreachable", "Datenbank: ausgefallen")), 1.0);
        let found: Vec<_> = spans.iter().map(|e| (e.field, e.start, e.end)).collect();
        assert_eq!(found, [("subject", 0, 18), ("body", 0, 22)]);
    }

    #[test]
    fn words_another_list_claimed_are_out_of_reach_of_lists_that_yield() {
        let list = |words: &[&str]| Phrases::new(words.iter().map(|w| w.to_string()).collect()).unwrap();
        let typo = cues(Some(list(&["erro de digitação", "spelling error"])), None);
        let near = Near { these: list(&["página", "page"]), those: list(&["erro", "error"]), within: 3 };
        let mut malfunction = cues(Some(list(&["não funciona"])), Some(near));
        let read = |malfunction: &Cues, text: &str| {
            let ticket = ticket("", text);
            let mut words = TicketWords::new(&ticket);
            words.claim(&typo);
            malfunction.first(&words)
        };
        let typo_ticket = "Há um erro de digitação na página de preços.";
        let unclaimed = read(&malfunction, typo_ticket);
        assert_eq!(unclaimed.as_deref(), Some("erro de digitação na página"), "a list that does not yield reads every word");
        malfunction.yields_claimed = true;
        assert_eq!(read(&malfunction, typo_ticket), None, "the typo took \"erro\", so no pair is left");
        assert_eq!(read(&malfunction, "A spelling error on the page").as_deref(), None);
        let both = "Há um erro de digitação. E um erro na página de login.";
        assert_eq!(read(&malfunction, both).as_deref(), Some("erro na página"), "an unclaimed pair still counts");
    }

    #[test]
    fn three_dots_at_the_end_take_the_rest_of_the_clause() {
        let wish = &["would be great if ..."];
        let text = "Thanks! It would be great if the app worked offline. The export is slow.";
        assert_eq!(finds(wish, text).as_deref(), Some("would be great if the app worked offline"));
        let request = "It would be great if someone could look, the server is down";
        assert_eq!(finds(wish, request).as_deref(), Some("would be great if someone could look"), "a comma ends it");
        assert_eq!(finds(wish, "It would be great if").as_deref(), Some("would be great if"), "nothing after it");
        for bad in ["... would be great", "great ... if", "..."] {
            assert!(Phrases::new(vec![bad.to_string()]).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn blank_lists_are_refused() {
        assert!(Phrases::new(Vec::new()).is_err());
        assert!(Phrases::new(vec![" ".to_string()]).is_err());
        assert!(Phrases::new(vec!["..".to_string()]).is_err());
    }
}
