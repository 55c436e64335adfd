//! The one-line, plain-language summary of a decision, e.g. "P1: model urgency high (0.91)
//! raised one level for VIP customer; queue payments; SLA from the enterprise plan, 24x7".
//! Built only from what `decide` recorded; it decides nothing itself.

use crate::sla::Calendar;

/// What the summary tells, in the order it tells it.
pub(super) struct Story<'a> {
    pub level: &'a str,
    pub start: &'a str,
    pub priority_changes: &'a [String],
    pub queue: &'a str,
    pub plan: &'a str,
    pub calendar: &'a Calendar,
    pub review_reasons: &'a [String],
}

pub(super) fn summarize(story: &Story) -> String {
    let mut text = format!("{}: {}", story.level, story.start);
    if !story.priority_changes.is_empty() {
        text.push(' ');
        text.push_str(&story.priority_changes.join(", then "));
    }
    text.push_str(&format!("; queue {}", story.queue));
    let hours = if story.calendar.is_always_open() {
        "24x7".to_string()
    } else {
        format!("business hours ({})", story.calendar.time_zone())
    };
    text.push_str(&format!("; SLA from the {} plan, {hours}", story.plan));
    if !story.review_reasons.is_empty() {
        text.push_str(&format!("; needs review: {}", story.review_reasons.join(", ")));
    }
    text
}
