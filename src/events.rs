//! What happened to a ticket after it was classified, as the helpdesk reports it: the first
//! response, waiting on the customer and resuming, reassignment, a person changing the
//! priority, solving, reopening and a satisfaction score. The rules an event must follow
//! (time order, nothing but a reopen or a score after `solved`, one first response, a pause
//! only while running) and the SLA state the events imply, computed on the existing SLA clock
//! and never stored.
//!
//! Pure: no SQL, no HTTP, no clock reads (`now` is a parameter). The decision log stores the
//! events (`store::events`); the server checks levels against the policy.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::sla::{elapsed, Calendar, SlaClock};

/// Longest event id, queue or actor name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// What happened. Serialized with its fields beside `kind`: `{"kind": "reassigned", "queue": "billing"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A person answered the customer for the first time.
    FirstResponse,
    /// The ticket waits on the customer: the resolution clock stops.
    WaitingOnCustomer,
    /// The customer answered: the clock runs again.
    Resumed,
    /// Moved to another queue (the history keeps every move).
    Reassigned {
        queue: String,
    },
    /// A person set another priority level.
    PriorityChanged {
        priority: String,
    },
    Solved,
    /// Solved, then opened again: the resolution clock runs again from here.
    Reopened,
    /// The customer's satisfaction score, 1 (bad) to 5 (good), after the ticket was solved.
    Csat {
        score: u8,
    },
}

/// One event as the helpdesk sends it. `event_id` makes sending it twice harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketEvent {
    pub event_id: String,
    /// When it happened (RFC 3339).
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
    /// Who did it (an agent's name or id), if the helpdesk says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// Why an event was refused; `field` names the part of the request at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> EventError {
    EventError { field, message: message.into() }
}

/// Where a ticket stands after its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    WaitingOnCustomer,
    Solved,
}

/// The status after `events` (in order).
pub fn status(events: &[TicketEvent]) -> Status {
    events.iter().fold(Status::Open, |status, event| match event.kind {
        EventKind::WaitingOnCustomer => Status::WaitingOnCustomer,
        EventKind::Resumed | EventKind::Reopened => Status::Open,
        EventKind::Solved => Status::Solved,
        _ => status,
    })
}

/// Checks `event` as the next of a ticket whose SLA started at `started_at` and which has had
/// `history` (in order). Nothing here is stored; the caller stores only what passes.
pub fn check_next(history: &[TicketEvent], started_at: DateTime<Utc>, event: &TicketEvent) -> Result<(), EventError> {
    let id_chars = event.event_id.trim().chars().count();
    if id_chars == 0 || id_chars > MAX_NAME_CHARS {
        return Err(refuse("event_id", format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    if let Some(actor) = &event.actor {
        if actor.chars().count() > MAX_NAME_CHARS {
            return Err(refuse("actor", format!("longer than {MAX_NAME_CHARS} characters")));
        }
    }
    if event.at < started_at {
        return Err(refuse("at", format!("{} is before the ticket's SLA started ({started_at})", event.at)));
    }
    if let Some(last) = history.last().filter(|last| event.at < last.at) {
        return Err(refuse(
            "at",
            format!(
                "{} is before the last event ({}, {}); send events in the order they happened",
                event.at, last.event_id, last.at
            ),
        ));
    }
    let status = status(history);
    let solved = status == Status::Solved;
    let refuse_kind = |message: &str| Err(refuse("kind", message.to_string()));
    match &event.kind {
        EventKind::Reopened if !solved => refuse_kind("only a solved ticket can be reopened"),
        EventKind::Csat { score } if !(1..=5).contains(score) => Err(refuse("score", "must be 1 to 5")),
        EventKind::Csat { .. } if !solved => refuse_kind("a satisfaction score comes after the ticket is solved"),
        EventKind::Reopened | EventKind::Csat { .. } => Ok(()),
        _ if solved => refuse_kind("the ticket is solved; only `reopened` or `csat` may follow"),
        EventKind::FirstResponse if history.iter().any(|e| e.kind == EventKind::FirstResponse) => {
            refuse_kind("the ticket already had its first response")
        }
        EventKind::WaitingOnCustomer if status == Status::WaitingOnCustomer => {
            refuse_kind("the ticket is already waiting on the customer")
        }
        EventKind::Resumed if status != Status::WaitingOnCustomer => refuse_kind("the ticket is not waiting on the customer"),
        EventKind::Reassigned { queue } => name("queue", queue),
        EventKind::PriorityChanged { priority } => name("priority", priority),
        _ => Ok(()),
    }
}

fn name(field: &'static str, value: &str) -> Result<(), EventError> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(refuse(field, format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(())
}

/// The SLA the ticket was decided with: when its clock started and its due times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Commitment {
    pub started_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
}

/// One SLA target's state.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetState {
    /// The target in business seconds (the business time from the start to the decided due time).
    pub target_seconds: i64,
    /// Business seconds the clock ran.
    pub used_seconds: i64,
    /// Business seconds the clock stood still (waiting on the customer, solved before a reopen).
    pub paused_seconds: i64,
    /// `used` as a percentage of the target; above 100 once breached.
    pub percent_used: f64,
    /// When the target runs (or ran) out, pauses taken into account.
    pub due: DateTime<Utc>,
    /// When the clock stopped (the first response; the ticket solved), if it has.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Whether the target was missed: the time ran out before it stopped (or before now).
    pub breached: bool,
    /// `true` or `false` once stopped; absent while the clock runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    pub paused: bool,
}

/// The ticket's state from its events.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaState {
    pub status: Status,
    /// The queue after every reassignment (the decided queue if none).
    pub queue: String,
    /// The priority after every change by a person (the decided level if none).
    pub priority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_response: Option<TargetState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<TargetState>,
    /// The latest satisfaction score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat: Option<u8>,
}

/// The state at `now` of a ticket decided with `commitment`, `queue` and `priority`, after
/// `events` (in order, as `check_next` let them in), on `calendar`.
pub fn sla_state(
    events: &[TicketEvent],
    commitment: Commitment,
    queue: &str,
    priority: &str,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> SlaState {
    let mut state = SlaState {
        status: status(events),
        queue: queue.to_string(),
        priority: priority.to_string(),
        first_response: None,
        resolution: None,
        csat: None,
    };
    for event in events {
        match &event.kind {
            EventKind::Reassigned { queue } => state.queue = queue.clone(),
            EventKind::PriorityChanged { priority } => state.priority = priority.clone(),
            EventKind::Csat { score } => state.csat = Some(*score),
            _ => {}
        }
    }
    let first_response_at = events.iter().find(|e| e.kind == EventKind::FirstResponse).map(|e| e.at);
    state.first_response = commitment.first_response_due.map(|due| {
        // Waiting on the customer before anyone answered does not stop the first-response clock.
        target_state(calendar, commitment.started_at, due, &[], first_response_at, now)
    });
    state.resolution = commitment.resolution_due.map(|due| {
        let mut pauses = Vec::new();
        let mut stopped_at = None;
        for event in events {
            match event.kind {
                EventKind::WaitingOnCustomer => pauses.push((event.at, None)),
                EventKind::Solved => {
                    // Solving while waiting ends that wait; the clock stops either way.
                    if let Some((_, until @ None)) = pauses.last_mut() {
                        *until = Some(event.at);
                    }
                    stopped_at = Some(event.at);
                }
                EventKind::Resumed => {
                    if let Some((_, until @ None)) = pauses.last_mut() {
                        *until = Some(event.at);
                    }
                }
                EventKind::Reopened => {
                    // The time between solving and reopening did not count.
                    if let Some(solved) = stopped_at.take() {
                        pauses.push((solved, Some(event.at)));
                    }
                }
                _ => {}
            }
        }
        target_state(calendar, commitment.started_at, due, &pauses, stopped_at, now)
    });
    state
}

/// One target's state: the clock from `start` with the target `due` stands for, frozen over
/// `pauses` (an open pause runs to the end), read where it stopped or at `now`.
fn target_state(
    calendar: &Calendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    stopped_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TargetState {
    let target = elapsed(calendar, start, due.max(start));
    let end = stopped_at.unwrap_or(now).max(start);
    let mut clock = SlaClock::start(start, target);
    for (from, until) in pauses.iter().filter(|(from, _)| *from < end) {
        // The events were checked to be in order, so these calls cannot fail; a pause the
        // clock refuses is left out rather than failing the whole reading.
        if clock.pause(*from).is_ok() {
            if let Some(until) = until.filter(|until| *until <= end) {
                let _ = clock.resume(until);
            }
        }
    }
    let reading = clock.read(calendar, end);
    let paused_time = (elapsed(calendar, start, end) - reading.used).max(TimeDelta::zero());
    TargetState {
        target_seconds: target.num_seconds(),
        used_seconds: reading.used.num_seconds(),
        paused_seconds: paused_time.num_seconds(),
        percent_used: (reading.percent_used * 10.0).round() / 10.0,
        due: reading.due,
        stopped_at,
        breached: reading.breached || (stopped_at.is_some() && reading.used > target),
        met: stopped_at.map(|_| reading.used <= target),
        paused: stopped_at.is_none() && reading.paused,
    }
}

/// One open ticket of a queue as an agent picks work: its priority now and the next SLA
/// time it must meet.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueEntry {
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub subject: Option<String>,
    pub priority: String,
    /// The first response's due time until the first response, then the resolution's.
    pub due: Option<DateTime<Utc>>,
    pub decided_at: DateTime<Utc>,
    #[serde(skip)]
    pub rank: usize,
}

/// The SLA time a ticket must meet next: the first response until there was one, then the
/// resolution; `None` when the plan sets neither.
pub fn next_due(state: &SlaState) -> Option<DateTime<Utc>> {
    let running = |target: &Option<TargetState>| target.as_ref().filter(|t| t.stopped_at.is_none()).map(|t| t.due);
    running(&state.first_response).or_else(|| running(&state.resolution))
}

/// Whether an agent can work the ticket now: neither solved nor waiting on the customer.
pub fn workable(state: &SlaState) -> bool {
    state.status == Status::Open
}

/// The order an agent works a queue in: the most urgent level first, then the earliest due
/// time (a ticket without one after those with one), then first come, first served.
pub fn sort_for_work(entries: &mut [QueueEntry]) {
    entries.sort_by(|a, b| {
        (a.rank, a.due.is_none(), a.due, a.decided_at, &a.decision_id).cmp(&(
            b.rank,
            b.due.is_none(),
            b.due,
            b.decided_at,
            &b.decision_id,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::test_calendars::berlin_office;
    use chrono::TimeZone;

    /// Berlin office hours are 09:00-17:00, Monday to Friday; 2026-11-23 is a Monday.
    fn berlin(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 11, day, hour, minute, 0).unwrap().with_timezone(&Utc)
    }

    fn event(id: &str, at: DateTime<Utc>, kind: EventKind) -> TicketEvent {
        TicketEvent { event_id: id.into(), at, kind, actor: None }
    }

    fn commitment() -> Commitment {
        // Decided Monday 10:00 with 2 business hours to respond and 8 to resolve.
        Commitment {
            started_at: berlin(23, 10, 0),
            first_response_due: Some(berlin(23, 12, 0)),
            resolution_due: Some(berlin(24, 10, 0)),
        }
    }

    fn state(events: &[TicketEvent], now: DateTime<Utc>) -> SlaState {
        sla_state(events, commitment(), "general", "P2", &berlin_office(), now)
    }

    #[test]
    fn a_ticket_answered_and_solved_in_time_meets_both_targets() {
        let events = [
            event("e1", berlin(23, 11, 0), EventKind::FirstResponse),
            event("e2", berlin(23, 15, 0), EventKind::Solved),
            event("e3", berlin(23, 16, 0), EventKind::Csat { score: 4 }),
        ];
        let s = state(&events, berlin(25, 9, 0));
        let first = s.first_response.unwrap();
        assert_eq!((first.target_seconds, first.used_seconds, first.met, first.breached), (7200, 3600, Some(true), false));
        assert_eq!(first.percent_used, 50.0);
        let resolution = s.resolution.unwrap();
        assert_eq!((resolution.target_seconds, resolution.used_seconds), (8 * 3600, 5 * 3600));
        assert_eq!((resolution.met, resolution.stopped_at), (Some(true), Some(berlin(23, 15, 0))));
        assert_eq!((s.status, s.csat), (Status::Solved, Some(4)));
    }

    #[test]
    fn waiting_on_the_customer_stops_the_resolution_clock_and_moves_its_due_time() {
        let events = [
            event("e1", berlin(23, 10, 30), EventKind::FirstResponse),
            event("e2", berlin(23, 11, 0), EventKind::WaitingOnCustomer),
            event("e3", berlin(23, 14, 0), EventKind::Resumed),
        ];
        // Monday 16:00: ran 10:00-11:00 and 14:00-16:00, paused 3 business hours.
        let s = state(&events, berlin(23, 16, 0));
        let resolution = s.resolution.unwrap();
        assert_eq!((resolution.used_seconds, resolution.paused_seconds), (3 * 3600, 3 * 3600));
        assert_eq!(resolution.due, berlin(24, 13, 0), "8 business hours, 3 of them after the pause");
        assert_eq!((resolution.met, resolution.breached, resolution.paused), (None, false, false));
        assert_eq!(s.status, Status::Open);
    }

    #[test]
    fn a_late_first_response_is_breached_and_a_reopen_counts_again_from_the_reopen() {
        let events = [
            event("e1", berlin(23, 13, 0), EventKind::FirstResponse),
            event("e2", berlin(23, 14, 0), EventKind::Solved),
            event("e3", berlin(24, 9, 0), EventKind::Reopened),
            event("e4", berlin(24, 9, 30), EventKind::Reassigned { queue: "billing".into() }),
            event("e5", berlin(24, 9, 45), EventKind::PriorityChanged { priority: "P1".into() }),
        ];
        let s = state(&events, berlin(24, 14, 0));
        let first = s.first_response.unwrap();
        assert_eq!((first.used_seconds, first.met, first.breached), (3 * 3600, Some(false), true));
        let resolution = s.resolution.unwrap();
        // Ran Monday 10:00-14:00 and Tuesday 09:00-14:00: 9 business hours of 8.
        assert_eq!(resolution.used_seconds, 9 * 3600);
        assert!(resolution.breached && resolution.met.is_none(), "{resolution:?}");
        assert_eq!((s.queue.as_str(), s.priority.as_str(), s.status), ("billing", "P1", Status::Open));
    }

    #[test]
    fn events_out_of_order_after_solved_or_out_of_place_are_refused_by_field() {
        let started = commitment().started_at;
        let history =
            [event("e1", berlin(23, 11, 0), EventKind::FirstResponse), event("e2", berlin(23, 12, 0), EventKind::Solved)];
        let cases = [
            (event("x", berlin(23, 9, 0), EventKind::FirstResponse), &history[..0], "at"),
            (event("x", berlin(23, 10, 30), EventKind::Reopened), &history[..], "at"),
            (event("x", berlin(23, 13, 0), EventKind::WaitingOnCustomer), &history[..], "kind"),
            (event("x", berlin(23, 13, 0), EventKind::Csat { score: 6 }), &history[..], "score"),
            (event("x", berlin(23, 11, 30), EventKind::FirstResponse), &history[..1], "kind"),
            (event("x", berlin(23, 11, 30), EventKind::Resumed), &history[..1], "kind"),
            (event("x", berlin(23, 11, 30), EventKind::Csat { score: 3 }), &history[..1], "kind"),
            (event(" ", berlin(23, 11, 30), EventKind::Solved), &history[..1], "event_id"),
            (event("x", berlin(23, 11, 30), EventKind::Reassigned { queue: "".into() }), &history[..1], "queue"),
        ];
        for (candidate, before, field) in cases {
            let error = check_next(before, started, &candidate).expect_err(&format!("{candidate:?} after {before:?}"));
            assert_eq!(error.field, field, "{candidate:?}: {error}");
        }
        let fine = event("x", berlin(23, 13, 0), EventKind::Reopened);
        assert!(check_next(&history, started, &fine).is_ok());
    }

    #[test]
    fn work_order_is_level_then_due_time_then_arrival() {
        let entry = |id: &str, rank: usize, due: Option<DateTime<Utc>>, decided: DateTime<Utc>| QueueEntry {
            decision_id: id.into(),
            ticket_id: None,
            subject: None,
            priority: format!("P{}", rank + 1),
            due,
            decided_at: decided,
            rank,
        };
        let mut entries = vec![
            entry("p3-early", 2, Some(berlin(23, 11, 0)), berlin(23, 9, 0)),
            entry("p2-no-due", 1, None, berlin(23, 9, 0)),
            entry("p2-late-due", 1, Some(berlin(24, 9, 0)), berlin(23, 9, 5)),
            entry("p2-early-due", 1, Some(berlin(23, 15, 0)), berlin(23, 9, 30)),
            entry("p2-same-due-later", 1, Some(berlin(23, 15, 0)), berlin(23, 9, 45)),
        ];
        sort_for_work(&mut entries);
        let order: Vec<&str> = entries.iter().map(|e| e.decision_id.as_str()).collect();
        assert_eq!(order, ["p2-early-due", "p2-same-due-later", "p2-late-due", "p2-no-due", "p3-early"]);
    }

    #[test]
    fn the_next_due_time_is_the_first_response_until_it_happened() {
        let waiting = state(&[], berlin(23, 11, 0));
        assert_eq!(next_due(&waiting), Some(berlin(23, 12, 0)));
        let answered = state(&[event("e1", berlin(23, 10, 30), EventKind::FirstResponse)], berlin(23, 11, 0));
        assert_eq!(next_due(&answered), Some(berlin(24, 10, 0)));
        assert!(workable(&answered));
        let parked = state(&[event("e1", berlin(23, 10, 30), EventKind::WaitingOnCustomer)], berlin(23, 11, 0));
        assert!(!workable(&parked), "waiting on the customer is skipped");
    }

    #[test]
    fn an_event_reads_as_its_kind_with_its_fields_beside() {
        let parsed: TicketEvent = serde_json::from_value(serde_json::json!({
            "event_id": "e-7", "at": "2026-11-23T10:00:00Z", "kind": "reassigned", "queue": "billing", "actor": "ana"
        }))
        .unwrap();
        assert_eq!(parsed.kind, EventKind::Reassigned { queue: "billing".into() });
        assert!(serde_json::from_value::<TicketEvent>(
            serde_json::json!({"event_id": "e", "at": "2026-11-23T10:00:00Z", "kind": "teleported"})
        )
        .is_err());
    }
}
