//! Rule conditions, typed and compiled (regexes built once), and their evaluation against one
//! ticket. Each evaluation also says in words what held or failed, for the trace. Conditions
//! never change anything; effects are applied in `decide`.

use std::borrow::Cow;

use regex::Regex;

use super::phrases::{Phrases, TicketWords};
use super::priority::Rank;
use super::severity::{Origin, SignalWords};
use crate::prediction::{Band, HeadPrediction, Predictions};
use crate::ticket::Ticket;

/// The ticket facts a condition can look at. `plan` is the plan the policy resolved (the
/// default plan when the customer has none or an unknown one).
pub(super) struct Facts<'a> {
    pub ticket: &'a Ticket,
    pub predictions: &'a Predictions,
    pub plan: &'a str,
    pub text: String,
    /// Subject and body split into words once, for every phrase list.
    pub words: TicketWords<'a>,
    /// The level the ticket's own words show (`severity`), once assessed.
    pub severity: Option<Rank>,
    /// Which kind of source set `severity`.
    pub severity_origin: Option<Origin>,
    /// The level the decision has reached when a rule is evaluated (rules see earlier rules'
    /// changes).
    pub priority: Rank,
    /// Tickets in the recent repeat-issue cluster this one joined, itself included (1: none).
    pub cluster_size: usize,
    /// What the words say of each severity signal whose words are in the ticket, as the
    /// severity reading found it (found, set aside, or held down by a capping signal such as
    /// "production is fine"): `signal` conditions hold only for the ones found.
    pub signals: Vec<(String, SignalWords)>,
}

impl<'a> Facts<'a> {
    pub fn new(ticket: &'a Ticket, predictions: &'a Predictions, plan: &'a str) -> Self {
        Self {
            ticket,
            predictions,
            plan,
            text: ticket.model_text(),
            words: TicketWords::new(ticket),
            severity: None,
            severity_origin: None,
            priority: Rank(0),
            cluster_size: 1,
            signals: Vec::new(),
        }
    }
}

/// A ticket or customer field a condition can test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FieldPath {
    Channel,
    Language,
    CustomerId,
    Plan,
    AccountType,
    Vip,
    Segment,
    Persona,
    Custom(String),
}

impl FieldPath {
    pub const KNOWN: &'static str = "channel, language, customer.id, customer.plan, \
        customer.account_type, customer.vip, customer.segment, customer.persona, fields.NAME";

    pub fn parse(path: &str) -> Option<Self> {
        Some(match path {
            "channel" => Self::Channel,
            "language" => Self::Language,
            "customer.id" => Self::CustomerId,
            "customer.plan" => Self::Plan,
            "customer.account_type" => Self::AccountType,
            "customer.vip" => Self::Vip,
            "customer.segment" => Self::Segment,
            "customer.persona" => Self::Persona,
            _ => Self::Custom(path.strip_prefix("fields.").filter(|name| !name.is_empty())?.to_string()),
        })
    }

    pub fn value<'t>(&self, facts: &'t Facts) -> Option<Cow<'t, str>> {
        let ticket = facts.ticket;
        let customer = &ticket.customer;
        let text = |value: &'t Option<String>| value.as_deref().map(Cow::Borrowed);
        match self {
            Self::Channel => text(&ticket.channel),
            Self::Language => text(&ticket.language),
            Self::CustomerId => text(&customer.id),
            Self::Plan => Some(Cow::Borrowed(facts.plan)),
            Self::AccountType => text(&customer.account_type),
            Self::Vip => Some(Cow::Owned(customer.vip.to_string())),
            Self::Segment => text(&customer.segment),
            Self::Persona => text(&customer.persona),
            Self::Custom(name) => ticket.fields.get(name).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::Channel => "channel",
            Self::Language => "language",
            Self::CustomerId => "customer.id",
            Self::Plan => "customer.plan",
            Self::AccountType => "customer.account_type",
            Self::Vip => "customer.vip",
            Self::Segment => "customer.segment",
            Self::Persona => "customer.persona",
            Self::Custom(name) => return Cow::Owned(format!("fields.{name}")),
        })
    }
}

/// What a prediction condition requires of one head; every given part must hold.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PredictionTest {
    pub head: String,
    pub label: Option<String>,
    pub min_score: Option<f32>,
    pub band: Option<Band>,
    pub abstained: Option<bool>,
}

#[derive(Debug, Clone)]
pub(super) enum Condition {
    Always,
    /// Field equals one of the values (case-insensitive; values stored lower-cased).
    Field {
        path: FieldPath,
        values: Vec<String>,
    },
    /// Whole words or phrases anywhere in subject + body (`phrases` says how they match).
    Keywords(Phrases),
    /// A case-insensitive regular expression over subject + body.
    Pattern {
        source: String,
        pattern: Regex,
    },
    /// A severity signal's phrases occur in the text and count (whichever signal set the
    /// severity).
    Signal(String),
    /// The text's severity is this level or a more urgent one.
    SeverityAtLeast {
        level: String,
        rank: Rank,
    },
    /// The text's severity came from one of these kinds of source (a probe's reading is less
    /// sure than a signal's words).
    SeverityFrom(Vec<Origin>),
    /// At least this many recent tickets about the same problem, this one included.
    ClusterSizeAtLeast(usize),
    /// The decision's level so far is one of these.
    PriorityIn {
        levels: Vec<String>,
        ranks: Vec<Rank>,
    },
    Prediction(PredictionTest),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

/// Whether a condition held, and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outcome {
    pub hit: bool,
    pub because: String,
}

impl Outcome {
    fn new(hit: bool, because: impl Into<String>) -> Self {
        Self { hit, because: because.into() }
    }
}

impl Condition {
    pub fn keywords(words: Vec<String>) -> Result<Self, String> {
        Phrases::new(words).map(Self::Keywords)
    }

    pub fn pattern(source: String) -> Result<Self, regex::Error> {
        let pattern = Regex::new(&format!("(?i){source}"))?;
        Ok(Self::Pattern { source, pattern })
    }

    pub fn evaluate(&self, facts: &Facts) -> Outcome {
        match self {
            Self::Always => Outcome::new(true, "always"),
            Self::Field { path, values } => field_outcome(path, values, facts),
            Self::Keywords(phrases) => match phrases.first(&facts.words) {
                Some(found) => Outcome::new(true, format!("text contains {found:?}")),
                None => Outcome::new(false, format!("text contains none of {}", quoted(&phrases.words))),
            },
            Self::Pattern { source, pattern } => match pattern.find(&facts.text) {
                Some(found) => Outcome::new(true, format!("text matches /{source}/ at {:?}", found.as_str())),
                None => Outcome::new(false, format!("text does not match /{source}/")),
            },
            Self::Signal(name) => match facts.signals.iter().find(|(signal, _)| signal == name) {
                Some((_, SignalWords::Found(found))) => Outcome::new(true, format!("signal {name}: text contains {found:?}")),
                Some((_, words)) => Outcome::new(false, words.why_not(name).unwrap_or_default()),
                None => Outcome::new(false, format!("no words of signal {name}")),
            },
            Self::SeverityAtLeast { level, rank } => match facts.severity {
                Some(severity) if severity <= *rank => Outcome::new(true, format!("text severity at least {level}")),
                Some(_) => Outcome::new(false, format!("text severity below {level}")),
                None => Outcome::new(false, "the text shows no severity"),
            },
            Self::SeverityFrom(origins) => match facts.severity_origin {
                Some(origin) if origins.contains(&origin) => {
                    Outcome::new(true, format!("text severity from its {}", origin.name()))
                }
                Some(origin) => {
                    let wanted: Vec<&str> = origins.iter().map(|o| o.name()).collect();
                    Outcome::new(false, format!("text severity from its {}, not its {}", origin.name(), wanted.join(" or ")))
                }
                None => Outcome::new(false, "the text shows no severity"),
            },
            Self::ClusterSizeAtLeast(at_least) => {
                let size = facts.cluster_size;
                let because = match size {
                    1 => "no recent ticket about the same problem".to_string(),
                    _ => format!("{size} recent tickets about the same problem"),
                };
                Outcome::new(size >= *at_least, format!("{because} (at least {at_least})"))
            }
            Self::PriorityIn { levels, ranks } => {
                let at = if ranks.contains(&facts.priority) { "is" } else { "is not" };
                Outcome::new(ranks.contains(&facts.priority), format!("the priority so far {at} one of {}", levels.join(", ")))
            }
            Self::Prediction(test) => prediction_outcome(test, facts.predictions.get(&test.head)),
            Self::All(parts) => {
                let outcomes: Vec<Outcome> = parts.iter().map(|c| c.evaluate(facts)).collect();
                match outcomes.iter().find(|o| !o.hit) {
                    Some(failed) => failed.clone(),
                    None if outcomes.is_empty() => Outcome::new(true, "always"),
                    None => Outcome::new(true, joined(&outcomes, " and ")),
                }
            }
            Self::Any(parts) => {
                let outcomes: Vec<Outcome> = parts.iter().map(|c| c.evaluate(facts)).collect();
                match outcomes.iter().find(|o| o.hit) {
                    Some(held) => held.clone(),
                    None if outcomes.is_empty() => Outcome::new(false, "any of nothing"),
                    None => Outcome::new(false, joined(&outcomes, " and ")),
                }
            }
            Self::Not(inner) => {
                let inner = inner.evaluate(facts);
                Outcome::new(!inner.hit, inner.because)
            }
        }
    }
}

fn joined(outcomes: &[Outcome], separator: &str) -> String {
    outcomes.iter().map(|o| o.because.as_str()).collect::<Vec<_>>().join(separator)
}

fn quoted(words: &[String]) -> String {
    words.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", ")
}

fn field_outcome(path: &FieldPath, values: &[String], facts: &Facts) -> Outcome {
    let name = path.name();
    let wanted = values.join(" or ");
    match path.value(facts) {
        None => Outcome::new(false, format!("{name} is missing, not {wanted}")),
        Some(actual) if values.contains(&actual.to_lowercase()) => Outcome::new(true, format!("{name} = {actual}")),
        Some(actual) => Outcome::new(false, format!("{name} = {actual}, not {wanted}")),
    }
}

/// Label, score and band tests read a head's verdict only when it did not abstain (unless the
/// condition itself asks about abstention): an abstained label is a guess the model disowns.
fn prediction_outcome(test: &PredictionTest, prediction: Option<&HeadPrediction>) -> Outcome {
    let head = &test.head;
    let Some(p) = prediction else {
        return Outcome::new(false, format!("no {head} prediction"));
    };
    let seen = format!("{head} = {} ({:.2})", p.label, p.score);
    match test.abstained {
        Some(wanted) if wanted != p.abstained => {
            let state = if p.abstained { "abstained" } else { "did not abstain" };
            return Outcome::new(false, format!("{head} {state} ({seen})"));
        }
        None if p.abstained => return Outcome::new(false, format!("{head} abstained ({seen})")),
        _ => {}
    }
    if let Some(label) = test.label.as_ref().filter(|label| **label != p.label) {
        return Outcome::new(false, format!("{seen}, not {label}"));
    }
    if let Some(min) = test.min_score.filter(|min| p.score < *min) {
        return Outcome::new(false, format!("{seen}, score below {min}"));
    }
    if let Some(band) = test.band.filter(|band| *band != p.band) {
        return Outcome::new(false, format!("{seen}, band {} not {}", p.band.as_str(), band.as_str()));
    }
    let mut because = seen;
    if let Some(min) = test.min_score {
        because.push_str(&format!(" >= {min}"));
    }
    if test.band.is_some() {
        because.push_str(&format!(", band {}", p.band.as_str()));
    }
    if p.abstained {
        because.push_str(", abstained");
    }
    Outcome::new(true, because)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::prediction::HeadPrediction;
    use crate::ticket::Customer;

    fn ticket() -> Ticket {
        Ticket {
            id: None,
            subject: "Checkout DOWN".to_string(),
            body: "Every payment fails since the c++ deploy; possible data loss.".to_string(),
            customer: Customer { vip: true, segment: Some("Retail".to_string()), ..Customer::default() },
            channel: Some("email".to_string()),
            language: None,
            created_at: None,
            fields: BTreeMap::from([("affected_users".to_string(), "many".to_string())]),
        }
    }

    fn head(label: &str, score: f32, band: Band, abstained: bool) -> HeadPrediction {
        HeadPrediction { label: label.to_string(), score, band, abstained, top: vec![], recalled: None }
    }

    fn predictions() -> Predictions {
        Predictions::from([
            ("urgency".to_string(), head("high", 0.91, Band::High, false)),
            ("sentiment".to_string(), head("negative", 0.55, Band::Medium, true)),
        ])
    }

    fn field(path: &str, values: &[&str]) -> Condition {
        let values = values.iter().map(|v| v.to_string()).collect();
        Condition::Field { path: FieldPath::parse(path).unwrap(), values }
    }

    fn predicted(head: &str, label: Option<&str>, min_score: Option<f32>, abstained: Option<bool>) -> Condition {
        Condition::Prediction(PredictionTest {
            head: head.to_string(),
            label: label.map(str::to_string),
            min_score,
            band: None,
            abstained,
        })
    }

    fn words(list: &[&str]) -> Condition {
        Condition::keywords(list.iter().map(|w| w.to_string()).collect()).unwrap()
    }

    #[test]
    fn each_condition_kind_matches_or_not() {
        let (ticket, predictions) = (ticket(), predictions());
        let facts = Facts::new(&ticket, &predictions, "enterprise");
        let cases: Vec<(&str, Condition, bool)> = vec![
            ("vip", field("customer.vip", &["true"]), true),
            ("segment ignores case", field("customer.segment", &["retail"]), true),
            ("resolved plan", field("customer.plan", &["premium", "enterprise"]), true),
            ("channel", field("channel", &["phone"]), false),
            ("missing language", field("language", &["de"]), false),
            ("custom field", field("fields.affected_users", &["many"]), true),
            ("keyword ignores case", words(&["down"]), true),
            ("phrase", words(&["data loss"]), true),
            ("symbol keyword", words(&["c++"]), true),
            ("no partial words", words(&["pay", "deplo"]), false),
            ("regex", Condition::pattern(r"pay\w+ fail".to_string()).unwrap(), true),
            ("regex miss", Condition::pattern("refund".to_string()).unwrap(), false),
            ("label", predicted("urgency", Some("high"), None, None), true),
            ("label miss", predicted("urgency", Some("low"), None, None), false),
            ("score", predicted("urgency", None, Some(0.9), None), true),
            ("score too low", predicted("urgency", None, Some(0.95), None), false),
            ("abstained label is ignored", predicted("sentiment", Some("negative"), None, None), false),
            ("asked about abstention", predicted("sentiment", None, None, Some(true)), true),
            ("missing head", predicted("category", Some("x"), None, None), false),
            ("all", Condition::All(vec![words(&["down"]), field("customer.vip", &["true"])]), true),
            ("all fails", Condition::All(vec![words(&["down"]), field("channel", &["chat"])]), false),
            ("any", Condition::Any(vec![field("channel", &["chat"]), words(&["down"])]), true),
            ("empty any", Condition::Any(vec![]), false),
            ("not", Condition::Not(Box::new(field("channel", &["chat"]))), true),
        ];
        for (why, condition, expected) in cases {
            assert_eq!(condition.evaluate(&facts).hit, expected, "{why}");
        }
    }

    #[test]
    fn outcomes_explain_themselves() {
        let (ticket, predictions) = (ticket(), predictions());
        let facts = Facts::new(&ticket, &predictions, "free");
        assert_eq!(field("customer.vip", &["true"]).evaluate(&facts).because, "customer.vip = true");
        assert_eq!(field("channel", &["chat"]).evaluate(&facts).because, "channel = email, not chat");
        assert_eq!(words(&["outage", "down"]).evaluate(&facts).because, "text contains \"DOWN\"");
        let both = Condition::All(vec![field("customer.vip", &["true"]), predicted("urgency", Some("high"), None, None)]);
        assert_eq!(both.evaluate(&facts).because, "customer.vip = true and urgency = high (0.91)");
    }
}
