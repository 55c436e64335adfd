//! Policy replay: the logged tickets decided again, with the predictions logged for them, under
//! a candidate policy, and what would change: tickets moving between levels (a level x level
//! table), between queues, the review rate, and the tickets reviewers set a level for that the
//! candidate now gets right or wrong, and the SLA load per plan: how many tickets fall due for
//! a first response within 1, 4, 8 and 24 business hours of arriving. A support lead sees the
//! effect of a rule change before it goes live.
//!
//! Pure: stored decisions and a compiled policy in, tables out. Each ticket is decided at the
//! time it was decided then, so SLA calendars and business hours replay faithfully.

use std::collections::BTreeMap;

use crate::policy::{decide, Policy, SlaDue};
use crate::prediction::{ModelOutput, Predictions};
use crate::report::Table;
use crate::store::StoredDecision;
use crate::ticket::TicketRequest;

/// What changed, as tables, and the decisions that could not be replayed (with why).
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub replayed: usize,
    pub tables: Vec<Table>,
    pub skipped: Vec<(String, String)>,
}

/// Decides every stored decision again under `candidate`.
pub fn replay(decisions: &[StoredDecision], candidate: &Policy) -> Replay {
    let levels: Vec<String> = candidate.levels().iter().map(|l| l.level.clone()).collect();
    let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut queue_moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut review_before, mut review_after) = (0, 0);
    let mut corrected: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut changed =
        Table::new("changed_tickets", "Tickets whose level or queue would change", &["decision", "ticket", "before", "after"]);
    let mut replayed = 0;
    let mut load: BTreeMap<(String, usize), (usize, usize)> = BTreeMap::new();
    for stored in decisions {
        let id = &stored.meta.decision_id;
        let ticket = match serde_json::from_value::<TicketRequest>(stored.request.clone())
            .map_err(|e| e.to_string())
            .and_then(|r| r.validate().map_err(|e| e.to_string()))
        {
            Ok(ticket) => ticket,
            Err(reason) => {
                skipped.push((id.clone(), format!("request: {reason}")));
                continue;
            }
        };
        let predictions: Predictions = match serde_json::from_value(stored.response["predictions"].clone()) {
            Ok(predictions) => predictions,
            Err(e) => {
                skipped.push((id.clone(), format!("predictions: {e}")));
                continue;
            }
        };
        let cluster_size = stored.response["cluster"]["size"].as_u64().map_or(1, |size| size as usize);
        let after = decide(&ticket, ModelOutput::of(&predictions), cluster_size, candidate, stored.meta.decided_at);
        replayed += 1;
        let logged_sla: Option<SlaDue> = serde_json::from_value(stored.response["sla"].clone()).ok();
        if let Some(logged) = &logged_sla {
            load.entry((logged.policy.clone(), due_bucket(logged, candidate))).or_default().0 += 1;
        }
        load.entry((after.sla.policy.clone(), due_bucket(&after.sla, candidate))).or_default().1 += 1;
        let before = &stored.meta;
        *moves.entry((before.priority.clone(), after.priority.level.clone())).or_default() += 1;
        if before.queue != after.queue {
            *queue_moves.entry((before.queue.clone(), after.queue.clone())).or_default() += 1;
        }
        review_before += usize::from(before.needs_review);
        review_after += usize::from(after.needs_review);
        if before.priority != after.priority.level || before.queue != after.queue {
            changed.rows.push(vec![
                id.clone(),
                before.ticket_id.clone().unwrap_or_default(),
                format!("{} {}", before.priority, before.queue),
                format!("{} {}", after.priority.level, after.queue),
            ]);
        }
        // The level a reviewer set last, if any: right before, right now?
        let reviewed = stored.feedback.iter().rev().find_map(|f| f.fields.priority.clone());
        if let Some(wanted) = reviewed {
            let key = match (before.priority == wanted, after.priority.level == wanted) {
                (true, true) => "still right",
                (false, true) => "now right",
                (true, false) => "now wrong",
                (false, false) => "still wrong",
            };
            *corrected.entry(key).or_default() += 1;
        }
    }

    let mut matrix_columns = vec!["before \\ after".to_string()];
    matrix_columns.extend(levels.iter().cloned());
    let mut matrix = Table::new("level_moves", "Levels: logged (rows) against the candidate (columns)", &[]);
    matrix.columns = matrix_columns;
    let mut before_levels: Vec<String> = levels.clone();
    before_levels.extend(moves.keys().map(|(from, _)| from.clone()).filter(|l| !levels.contains(l)));
    before_levels.dedup();
    for from in &before_levels {
        let mut row = vec![from.clone()];
        row.extend(levels.iter().map(|to| moves.get(&(from.clone(), to.clone())).copied().unwrap_or(0).to_string()));
        matrix.rows.push(row);
    }
    let mut queues = Table::new("queue_moves", "Queues that would change", &["before", "after", "tickets"]);
    queues.rows = queue_moves.into_iter().map(|((from, to), n)| vec![from, to, n.to_string()]).collect();
    let mut review = Table::new("review_rate", "Review rate", &["policy", "flagged", "rate"]);
    let rate = |n: usize| if replayed == 0 { "-".to_string() } else { format!("{:.1}%", n as f64 * 100.0 / replayed as f64) };
    review.rows = vec![
        vec!["logged".into(), review_before.to_string(), rate(review_before)],
        vec!["candidate".into(), review_after.to_string(), rate(review_after)],
    ];
    let mut reviews = Table::new("reviewed_levels", "Tickets a reviewer set a level for", &["outcome", "tickets"]);
    reviews.rows = ["now right", "now wrong", "still right", "still wrong"]
        .iter()
        .map(|key| vec![key.to_string(), corrected.get(key).copied().unwrap_or(0).to_string()])
        .collect();
    let mut sla_load = Table::new(
        "sla_load",
        "SLA load per plan: tickets whose first response falls due within",
        &["plan", "first response due within", "logged", "candidate"],
    );
    sla_load.rows = load
        .into_iter()
        .map(|((plan, bucket), (before, after))| {
            vec![plan, DUE_BUCKETS[bucket].1.to_string(), before.to_string(), after.to_string()]
        })
        .collect();
    Replay { replayed, tables: vec![matrix, queues, review, reviews, sla_load, changed], skipped }
}

/// First-response windows, in business hours of the ticket's calendar, and their names; the
/// last two catch longer targets and tickets without one.
const DUE_BUCKETS: [(f64, &str); 6] = [
    (1.0, "1 business hour"),
    (4.0, "4 business hours"),
    (8.0, "8 business hours"),
    (24.0, "24 business hours"),
    (f64::INFINITY, "more than 24 business hours"),
    (f64::NAN, "no first-response target"),
];

/// Which of `DUE_BUCKETS` a ticket's first-response due time falls in, counted in business
/// hours of its calendar (as the candidate defines it) from its start.
fn due_bucket(sla: &SlaDue, policy: &Policy) -> usize {
    let hours = sla
        .first_response_due
        .zip(policy.calendar(&sla.calendar))
        .map(|(due, calendar)| crate::sla::elapsed(calendar, sla.started_at, due).num_seconds() as f64 / 3600.0);
    match hours {
        Some(hours) => DUE_BUCKETS.iter().position(|(limit, _)| hours <= *limit).unwrap_or(4),
        None => 5,
    }
}
