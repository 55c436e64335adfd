//! The classify request as the rest of the crate sees it: a `Ticket` with its `Customer`,
//! validated once at the edge. Parsing from JSON and validation live here; nothing in this
//! module knows about the model, the policy or HTTP.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest subject + body accepted, in characters. Longer text is a 422, not a silent cut:
/// a helpdesk should learn that its payload is wrong rather than get a decision on half a ticket.
pub const MAX_TEXT_CHARS: usize = 100_000;

/// A ticket as sent by a helpdesk (`POST /v1/classify`, one line of `triage classify`).
/// Unknown top-level fields are ignored so helpdesks can send their native payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// RFC 3339 instant; kept as text here so a bad value is reported by field name.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Custom fields: strings, numbers or booleans (anything else is a 422), compared as text
    /// by the policy; a number in the impact field picks the policy's impact band.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, FieldValue>)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// What a custom field may hold, for the API document (the request keeps the JSON value and
/// `validate` checks it).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub vip: bool,
    #[serde(default)]
    pub segment: Option<String>,
    #[serde(default)]
    pub persona: Option<String>,
}

/// A validated ticket: at least one of subject/body is non-empty, `created_at` parsed,
/// custom fields flattened to text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: Option<String>,
    pub subject: String,
    pub body: String,
    pub customer: Customer,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub fields: BTreeMap<String, String>,
}

/// Why a request is not a ticket. `field` is the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TicketError {
    pub field: String,
    pub message: String,
}

impl TicketError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl TicketRequest {
    pub fn validate(self) -> Result<Ticket, TicketError> {
        let subject = self.subject.unwrap_or_default();
        let body = self.body.unwrap_or_default();
        if subject.trim().is_empty() && body.trim().is_empty() {
            return Err(TicketError::new("body", "subject or body must be a non-empty string"));
        }
        let chars = subject.chars().count() + body.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(TicketError::new("body", format!("subject + body is {chars} characters; the limit is {MAX_TEXT_CHARS}")));
        }
        let created_at = match self.created_at {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| TicketError::new("created_at", format!("not an RFC 3339 time ({e}): {text:?}")))?
                    .with_timezone(&Utc),
            ),
        };
        let mut fields = BTreeMap::new();
        for (name, value) in self.fields {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => {
                    return Err(TicketError::new(
                        format!("fields.{name}"),
                        "custom field values must be strings, numbers or booleans",
                    ))
                }
            };
            fields.insert(name, text);
        }
        Ok(Ticket {
            id: self.id,
            subject,
            body,
            customer: self.customer.unwrap_or_default(),
            channel: self.channel,
            language: self.language,
            created_at,
            fields,
        })
    }
}

impl Ticket {
    /// The text the model reads: subject and body joined by a newline. Character offsets in
    /// explanations are into this string; `subject_len` tells where the body starts.
    pub fn model_text(&self) -> String {
        format!("{}\n{}", self.subject, self.body)
    }

    /// Character offset in `model_text()` where the body starts.
    pub fn body_start(&self) -> usize {
        self.subject.chars().count() + 1
    }

    /// What `Classifier::analyse` reads for this ticket: its model text and body start.
    pub fn model_input(&self) -> (String, usize) {
        (self.model_text(), self.body_start())
    }
}
