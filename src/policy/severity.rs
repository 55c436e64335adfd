//! What a ticket's own words say about how bad its problem is, independent of the trained
//! urgency head (whose labels may barely reflect severity). Three sources:
//! - signals: phrase lists per kind of trouble (outage, data loss, security incident, ...),
//!   each naming the level its guideline describes, in every language the helpdesk serves;
//! - meaning: the model's severity probe (`model::severity_probe`, only in a bundle with an
//!   encoder), when it finds the ticket severe with at least the policy's `severe_by_meaning`
//!   probability: the ticket is put at the second most urgent level, impact may raise it;
//! - the level guidelines' example tickets: the nearest example's level, when the ticket is
//!   similar enough to it.
//!
//! A capping signal (the trouble is contained to one device, over, away from production, no
//! incident at all) holds down the more urgent signals it names and the probe; a signal's own
//! `unless` words (a deadline weeks away) set it aside, and without its `needs` words (a date
//! within days) it speaks at a less urgent level; the reading names all of them for the trace
//! and for rules that test signals. A signal at a severe level, or one that lowers, outranks
//! meaning (it names the words), unless it lowers only because there is no rush; so does one
//! short of its `needs` (the probe cannot see that no date is near), unless it yields to
//! meaning (new bank details with no word of fraud, in a ticket the probe reads as severe);
//! meaning outranks any other signal of a less urgent level and the examples (it was fitted on
//! hundreds of tickets with written levels, the examples are a handful). Where the policy says
//! a severe level needs meaning, a probe that reads the ticket as calm, or a cap that holds its
//! severe reading down, keeps a severe example from speaking and holds the urgency head's
//! severe column down (`Calm`). The assessment says which source spoke and with which words;
//! `matrix` decides how it combines with the model.

use super::examples::{Examples, Nearest};
use super::phrases::{Cues, Phrases, TicketWords};
use super::priority::{PriorityLevel, Rank};
use crate::explain::Evidence;

#[derive(Debug, Clone)]
pub(super) struct Signal {
    pub name: String,
    pub reason: String,
    pub rank: Rank,
    /// Impact row implied when the ticket states none (an outage concerns everyone).
    pub impact: Option<usize>,
    /// Whether this signal may make a ticket less urgent than the model says (praise, a
    /// feature request); other signals only raise.
    pub lowers: bool,
    /// For a lowering signal, or one short of its `needs` words: whether it gives way when the
    /// severity probe reads the ticket as severe. "No rush" says how the writer feels about
    /// time, not how bad the problem is: "no rush, but none of us can log in" is still an
    /// outage. New bank details with no word of fraud are a billing change, but a probe that
    /// reads the whole ticket as severe (logins from abroad, then the bank details changed) may
    /// see what the `needs` words missed.
    pub yields_to_meaning: bool,
    /// Which more urgent signals give way to this one, as does the severity probe: the
    /// trouble is contained (it works for a colleague or on another device), so a frightened
    /// "everything is gone!" that ends "on the computer it all looks fine" is not read as data
    /// loss; or it is over, or elsewhere ("production is fine", "nobody clicked the link").
    /// Impact the text states still counts for a cap above the lowest level (trouble for one
    /// device is still trouble); one at the lowest level describes no problem to scope.
    pub caps: Caps,
    pub cues: Cues,
    /// Words that must be in the ticket as well for the signal to speak at its level: legal
    /// words are a deadline within days only next to a date that near ("bis Freitag", "en 48
    /// horas"); without one the signal speaks at a less urgent level (a routine data-subject
    /// request, a threat to complain), and rules that test it still see it.
    pub needs: Option<Needs>,
    /// Whether impact words in the ticket tell the scope of what the signal names: not for a
    /// question ("how do we export our data? Unser Team steht Ihnen zur Verfügung").
    pub scope: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Needs {
    pub phrases: Phrases,
    /// The level the signal speaks at without the words.
    pub rank: Rank,
    pub reason: String,
}

/// A signal whose words are in the ticket, at the level it speaks at there.
#[derive(Debug, Clone)]
struct Match<'s> {
    signal: &'s Signal,
    /// Its first words in the ticket, as written.
    first: String,
    rank: Rank,
    /// Whether it speaks at its `needs`' fallback level, their words missing.
    short_of_needs: bool,
}

impl<'s> Match<'s> {
    /// The signal's match in the ticket, if its words are there and count.
    fn of(signal: &'s Signal, words: &TicketWords) -> Option<Self> {
        let first = signal.cues.first(words)?;
        Some(match &signal.needs {
            Some(needs) if needs.phrases.first(words).is_none() => {
                Match { signal, first, rank: needs.rank, short_of_needs: true }
            }
            _ => Match { signal, first, rank: signal.rank, short_of_needs: false },
        })
    }
}

/// The signals a capping signal holds down.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Caps {
    Nothing,
    Every,
    Only(Vec<String>),
}

impl Caps {
    fn any(&self) -> bool {
        *self != Caps::Nothing
    }

    fn covers(&self, signal: &str) -> bool {
        match self {
            Caps::Nothing => false,
            Caps::Every => true,
            Caps::Only(names) => names.iter().any(|n| n == signal),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Severity {
    /// Raising signals first (most severe first), then lowering ones; `compile` sorts them.
    pub signals: Vec<Signal>,
    pub examples: Examples,
    /// Least cosine similarity for the nearest example to count, by character trigrams.
    pub example_similarity: f32,
    /// The same, by sentence embeddings (used when the ticket and the examples have them).
    pub encoder_example_similarity: f32,
    /// Least probability from the model's severity probe for a ticket to count as severe.
    pub severe_by_meaning: f32,
    /// Whether neither the trained urgency head nor a level example alone may set a severe level
    /// when the probe reads the ticket as calm: the head learned from machine-labeled history,
    /// where shouting ("URGENT!!! WRONG INVOICE") passes for severity, and an example by
    /// trigrams shares letters, not meaning ("la sauvegarde" in a retention question and in a
    /// failed restore), while the probe learned from levels a person wrote down.
    pub severe_needs_meaning: bool,
    /// Per level rank, the matrix urgency column that level's guideline stands for.
    pub column_of_rank: Vec<usize>,
}

/// Which kind of source set the text's severity, as a rule's `severity_from` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// A signal's phrases.
    Words,
    /// A level example near by trigrams or meaning.
    Example,
    /// The severity probe's reading of the whole ticket.
    Meaning,
}

impl Origin {
    pub const KNOWN: &'static str = "words, example, meaning";

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "words" => Some(Self::Words),
            "example" => Some(Self::Example),
            "meaning" => Some(Self::Meaning),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Words => "words",
            Self::Example => "example",
            Self::Meaning => "meaning",
        }
    }
}

/// Where the text's severity came from.
#[derive(Debug, Clone)]
pub(super) enum Source<'s> {
    Signal {
        signal: &'s Signal,
        words: Vec<Evidence>,
        /// Speaking at the fallback level of its `needs`, their words missing.
        short_of_needs: bool,
    },
    Example(Nearest<'s>),
    /// The model's severity probe, with the level example nearest in meaning to quote.
    Meaning {
        probability: f32,
        nearest: Option<Nearest<'s>>,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Assessment<'s> {
    pub rank: Rank,
    pub column: usize,
    pub lowers: bool,
    /// Whether the level is above the least urgent one: the words describe a problem.
    above_lowest: bool,
    pub source: Source<'s>,
}

impl Severity {
    /// Empty: no signals, no examples; every ticket's severity is unknown.
    pub fn none() -> Self {
        Self {
            signals: Vec::new(),
            examples: Examples::new(Vec::new()),
            example_similarity: 1.0,
            encoder_example_similarity: 1.0,
            severe_by_meaning: 1.0,
            severe_needs_meaning: false,
            column_of_rank: Vec::new(),
        }
    }

    /// Lets the lowering signals' phrases claim their words before any other list reads the
    /// ticket: "spelling error on the pricing page" is a typo, not an error near a page, and
    /// "would be great if the app had an offline mode" a wish, not an outage. Not when the
    /// model's severity probe reads the whole ticket as severe (`severe_by_meaning` at least the
    /// policy's threshold): then the phrase is no reason to read its words as harmless.
    pub fn claim_lowering_words(&self, words: &mut TicketWords, severe_by_meaning: Option<f32>) {
        if severe_by_meaning.is_some_and(|p| p >= self.severe_by_meaning) {
            return;
        }
        for signal in self.signals.iter().filter(|s| s.lowers) {
            words.claim(&signal.cues);
        }
    }

    /// The ticket's words with those of its capping signals' phrases claimed, when the reading
    /// found any (`found`: `Reading::signals`): a cap tells that the trouble is contained,
    /// over or elsewhere, so the colleagues or customers it names ("bei den Kollegen geht es",
    /// "tous nos clients peuvent à nouveau payer") are not the ones hit. The impact lists read
    /// these; `None` when no cap's words count, and the ticket's own words serve.
    pub fn scope_words<'t>(&self, words: &TicketWords<'t>, found: &[(String, SignalWords)]) -> Option<TicketWords<'t>> {
        let counts = |name: &str| found.iter().any(|(n, w)| n == name && !matches!(w, SignalWords::SetAside(_)));
        let mut caps = self.signals.iter().filter(|s| s.caps.any() && counts(&s.name)).peekable();
        caps.peek()?;
        let mut scope = words.clone();
        caps.for_each(|cap| scope.claim(&cap.cues));
        Some(scope)
    }

    /// The text's severity, if its words or meaning show one, and the nearest example either
    /// way: by trigrams, and where no example is near enough that way, by meaning (when the
    /// ticket has an embedding and the examples have theirs). `severe_by_meaning` is the
    /// model's probability that the ticket is severe, when it has a severity probe.
    pub fn read(
        &self,
        words: &TicketWords,
        text: &str,
        embedding: Option<&[f32]>,
        severe_by_meaning: Option<f32>,
    ) -> Reading<'_> {
        let by_words = (self.examples.nearest(text), self.example_similarity);
        let near_enough =
            |(nearest, threshold): &(Option<Nearest>, f32)| nearest.as_ref().is_some_and(|n| n.similarity >= *threshold);
        let (nearest, threshold) = match embedding.filter(|_| self.examples.have_embeddings()) {
            Some(embedding) if !near_enough(&by_words) => {
                (self.examples.nearest_in_meaning(embedding), self.encoder_example_similarity)
            }
            _ => by_words,
        };
        // Every signal's words are looked for once: the choice, the caps and the trace all
        // need the whole list of matches. A signal short of its `needs` words takes its place
        // at its fallback level (raising ones first, the most urgent first, as `compile`
        // sorts the signals).
        let matches: Vec<Option<Match>> = self.signals.iter().map(|s| Match::of(s, words)).collect();
        let mut by_urgency: Vec<&Match> = matches.iter().flatten().collect();
        by_urgency.sort_by_key(|m| (m.signal.lowers, m.rank));
        let caps: Vec<&Match> = by_urgency.iter().copied().filter(|m| m.signal.caps.any()).collect();
        let held_by = |m: &Match| caps.iter().find(|cap| cap.signal.caps.covers(&m.signal.name) && m.rank < cap.rank).copied();
        let chosen =
            by_urgency.iter().copied().find(|m| !m.signal.caps.any() && held_by(m).is_none()).or_else(|| caps.first().copied());
        let severe = severe_by_meaning.filter(|p| *p >= self.severe_by_meaning && caps.is_empty());
        let probe_reads_calm = severe_by_meaning.is_some_and(|p| p < self.severe_by_meaning);
        let reads_calm = self.severe_needs_meaning && probe_reads_calm;
        // A raising signal below the severe levels ("kann keine": a malfunction, P3) names
        // words but not how bad they are: a probe that reads the whole ticket as severe says
        // more. A severe signal, or one that lowers (praise, a feature wish), still speaks,
        // unless the lowering one only says there is no rush. So does a signal short of its
        // `needs` words: the probe reads its words ("GDPR request") as severe, since its
        // severe examples hold them, but cannot see that no date is near; unless it yields to
        // meaning too (the probe may see the fraud that its `needs` words missed).
        let chosen = chosen.filter(|m| {
            let holds = |stands: bool| stands && !m.signal.yields_to_meaning;
            severe.is_none() || holds(m.signal.lowers) || m.rank <= self.critical() || holds(m.short_of_needs)
        });
        let assessment = match chosen {
            Some(&Match { signal, rank, short_of_needs, .. }) => {
                let words = signal.cues.spans(words, 1.0);
                self.assessment(rank, signal.lowers, Source::Signal { signal, words, short_of_needs })
            }
            None => match severe {
                Some(probability) => {
                    let quoted = embedding.and_then(|e| self.examples.nearest_in_meaning(e));
                    self.assessment(self.critical(), false, Source::Meaning { probability, nearest: quoted })
                }
                None => nearest
                    .clone()
                    .filter(|n| n.similarity >= threshold && !(reads_calm && n.rank <= self.critical()))
                    .and_then(|n| self.assessment(n.rank, false, Source::Example(n))),
            },
        };
        let meaning = severe_by_meaning.map(|p| (self.critical(), (p / self.severe_by_meaning.max(f32::EPSILON)).min(1.0)));
        let below_severe = assessment.as_ref().is_none_or(|a| a.rank > self.critical());
        // A cap that holds the probe down holds the head's severe reading down too: the trouble
        // is over, announced or contained, whatever either read into its words.
        let capped_by = caps.first().map(|cap| cap.signal.reason.as_str());
        let calm = match self.calm_column() {
            Some(column) if self.severe_needs_meaning && below_severe => {
                severe_by_meaning.filter(|_| probe_reads_calm || capped_by.is_some()).map(|probability| Calm {
                    column,
                    probability,
                    held_by: capped_by.filter(|_| probability >= self.severe_by_meaning),
                })
            }
            _ => None,
        };
        let signals = self
            .signals
            .iter()
            .zip(&matches)
            .filter_map(|(signal, found)| {
                let words = match found {
                    None => SignalWords::SetAside(signal.cues.set_aside_by(words)?),
                    Some(found) => match held_by(found) {
                        Some(cap) => SignalWords::HeldDown(format!(
                            "signal {} held down by {} ({:?})",
                            signal.name, cap.signal.name, cap.first
                        )),
                        None => SignalWords::Found(found.first.clone()),
                    },
                };
                Some((signal.name.clone(), words))
            })
            .collect();
        Reading { assessment, nearest, threshold, meaning, calm, signals }
    }

    /// The level a ticket severe by meaning starts at (one column per level).
    fn critical(&self) -> Rank {
        Rank::least_critical(self.column_of_rank.len())
    }

    /// The column of the most urgent level below the severe ones (P3's "medium").
    fn calm_column(&self) -> Option<usize> {
        self.column_of(Rank(self.critical().0 + 1))
    }

    fn assessment<'s>(&'s self, rank: Rank, lowers: bool, source: Source<'s>) -> Option<Assessment<'s>> {
        let column = *self.column_of_rank.get(rank.0)?;
        let above_lowest = rank.0 + 1 < self.column_of_rank.len();
        Some(Assessment { rank, column, lowers, above_lowest, source })
    }

    pub fn column_of(&self, rank: Rank) -> Option<usize> {
        self.column_of_rank.get(rank.0).copied()
    }
}

/// What the text says: the assessment when a source spoke, and the nearest example (for the
/// trace and the review score) whether or not it was near enough to speak.
#[derive(Debug, Clone)]
pub(super) struct Reading<'s> {
    pub assessment: Option<Assessment<'s>>,
    pub nearest: Option<Nearest<'s>>,
    threshold: f32,
    /// The severe level and how strongly the severity probe points at it, 1 at its threshold.
    meaning: Option<(Rank, f32)>,
    /// When the text shows no severe level (nothing spoke, or a source below the severe
    /// levels) and the probe reads the ticket as calm or a cap holds its severe reading down,
    /// under a policy whose severe levels need the probe.
    pub calm: Option<Calm<'s>>,
    /// What the words say of each signal whose words are in the ticket (in the policy's order):
    /// the trace notes the ones set aside or held down, and rules that test a signal read it
    /// here instead of looking for its words again.
    pub signals: Vec<(String, SignalWords)>,
}

/// The probe reads a ticket as calm, or a capping signal holds its severe reading down: the
/// urgency head's columns more urgent than `column` are held to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Calm<'s> {
    pub column: usize,
    /// The probe's probability that the ticket is severe.
    pub probability: f32,
    /// The reason of the capping signal that held a severe reading down (`None`: the probe
    /// read the ticket as calm itself).
    pub held_by: Option<&'s str>,
}

/// What a ticket's words say of one signal whose words are in it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SignalWords {
    /// Its words count (the first, as written).
    Found(String),
    /// Its `unless` words (these) are there too.
    SetAside(String),
    /// A capping signal holds it down (the reason in words).
    HeldDown(String),
}

impl SignalWords {
    /// Why the signal does not count, for the trace and for rules that test it.
    pub fn why_not(&self, name: &str) -> Option<String> {
        match self {
            SignalWords::Found(_) => None,
            SignalWords::SetAside(unless) => Some(format!("signal {name} set aside by {unless:?}")),
            SignalWords::HeldDown(because) => Some(because.clone()),
        }
    }
}

impl Reading<'_> {
    /// The trace's words when the text shows no severity: which example came nearest, and why
    /// it did not speak.
    pub fn no_signal(&self, levels: &[PriorityLevel]) -> String {
        let Some(n) = &self.nearest else { return "no severity signal".to_string() };
        let why = match self.calm {
            Some(calm) if n.similarity >= self.threshold => {
                format!("held back as the text reads calm by meaning (severe {:.2})", calm.probability)
            }
            _ => format!("below {:.2}", self.threshold),
        };
        format!("no severity signal; nearest example is {} ({:.2}, {why})", levels[n.rank.0].level, n.similarity)
    }

    /// How strongly the text points at a level, 1 at the threshold: a hint for review even
    /// when it was too weak to decide. The severity probe's when the model has one (it was
    /// measured on written levels), else the nearest example's.
    pub fn hint(&self) -> Option<(Rank, f32)> {
        if self.meaning.is_some() {
            return self.meaning;
        }
        let nearest = self.nearest.as_ref()?;
        Some((nearest.rank, (nearest.similarity / self.threshold.max(f32::EPSILON)).min(1.0)))
    }
}

impl Assessment<'_> {
    /// The words for the trace: `signal outage: "Datenbank ausgefallen"` or
    /// `like the P1 example "..." (0.52)`.
    pub fn describe(&self, level: &str) -> String {
        match &self.source {
            Source::Signal { signal, words, short_of_needs } => {
                let quoted: Vec<String> = words.iter().map(|w| format!("{:?}", w.text)).collect();
                let short = if *short_of_needs { ", none of its `needs` words" } else { "" };
                format!("signal {} ({level}{short}): {}", signal.name, quoted.join(", "))
            }
            Source::Example(nearest) => {
                format!("like the {level} example {:?} ({:.2})", nearest.example, nearest.similarity)
            }
            Source::Meaning { probability, nearest } => {
                let quoted = nearest
                    .as_ref()
                    .map_or(String::new(), |n| format!("; nearest example in meaning: {:?} ({:.2})", n.example, n.similarity));
                format!("reads as severe by meaning ({level} or above, probability {probability:.2}){quoted}")
            }
        }
    }

    /// Short words for the summary: "an outage" or "like a P1 example".
    pub fn reason(&self, level: &str) -> String {
        match &self.source {
            Source::Signal { signal, short_of_needs: true, .. } => {
                signal.needs.as_ref().map_or_else(|| signal.reason.clone(), |needs| needs.reason.clone())
            }
            Source::Signal { signal, .. } => signal.reason.clone(),
            Source::Example(_) => format!("text like a {level} example"),
            Source::Meaning { .. } => "a severe problem by the text's meaning".to_string(),
        }
    }

    pub fn words(&self) -> &[Evidence] {
        match &self.source {
            Source::Signal { words, .. } => words,
            Source::Example(_) | Source::Meaning { .. } => &[],
        }
    }

    /// Whether the text describes a problem (a level above the least urgent, from a signal
    /// that does not lower): only then do its impact words tell the scope of something. A
    /// signal short of its `needs` words is routine business ("our legal department asks for
    /// your terms"), whose department names tell no scope.
    pub fn shows_problem(&self) -> bool {
        let scoped = match &self.source {
            Source::Signal { signal, short_of_needs, .. } => signal.scope && !short_of_needs,
            Source::Example(_) | Source::Meaning { .. } => true,
        };
        !self.lowers && self.above_lowest && scoped
    }

    pub fn origin(&self) -> Origin {
        match &self.source {
            Source::Signal { .. } => Origin::Words,
            Source::Example(_) => Origin::Example,
            Source::Meaning { .. } => Origin::Meaning,
        }
    }

    pub fn implied_impact(&self) -> Option<usize> {
        match &self.source {
            Source::Signal { signal, .. } => signal.impact,
            Source::Example(_) | Source::Meaning { .. } => None,
        }
    }
}
