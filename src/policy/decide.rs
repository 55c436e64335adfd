//! `decide`: one ticket + the model's predictions + a policy -> the final priority, SLA due
//! times, queue, tags, review flag and a trace of every step and rule considered. Pure: the
//! only notion of time is the `now` argument (used when the ticket has no `created_at`).

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::condition::Facts;
use super::matrix::{Plausible, Start, TextSeverity};
use super::plans::{PlanChoice, Targets};
use super::priority::{PriorityLevel, Rank};
use super::rules::{Mode, Rule, RuleSet};
use super::summary::{summarize, Story};
use super::Policy;
use crate::explain::Evidence;
use crate::prediction::ModelOutput;
use crate::sla;
use crate::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PriorityRef {
    pub level: String,
    pub name: String,
}

/// SLA due times from the plan's targets for the decided level. `policy` is the plan name.
/// A due time is `None` when the plan sets no target for that level. `next_response_due` is
/// counted from the same start; the helpdesk restarts that clock after each customer reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaDue {
    pub policy: String,
    pub calendar: String,
    pub started_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub next_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
}

/// One step of the decision. Serializes as `{"rule", "matched", "effect", "hit"}`: `matched`
/// says in words what held (or, when `hit` is false, what failed); `effect` is what the step
/// changed, `None` when it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TraceStep {
    pub rule: String,
    pub matched: String,
    pub effect: Option<String>,
    pub hit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub priority: PriorityRef,
    /// The words that drove severity and impact, keyed `severity` / `impact`, for the
    /// explanation's evidence next to the model heads' own.
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    pub sla: SlaDue,
    pub queue: String,
    pub tags: Vec<String>,
    pub needs_review: bool,
    pub trace: Vec<TraceStep>,
    pub summary: String,
}

/// The decision while rules run.
struct Draft<'p> {
    policy: &'p Policy,
    rank: Rank,
    queue: String,
    tags: Vec<String>,
    review_reasons: Vec<String>,
    priority_changes: Vec<String>,
    trace: Vec<TraceStep>,
}

/// Decides `ticket` from the model's `model` output under `policy` at `now`. `cluster_size` is
/// how many recent tickets about the same problem the ticket's repeat-issue cluster holds,
/// itself included (1 when it joined none), for `cluster_size_at_least` conditions.
pub fn decide(ticket: &Ticket, model: ModelOutput, cluster_size: usize, policy: &Policy, now: DateTime<Utc>) -> Decision {
    let choice = policy.plans.choose(ticket.customer.plan.as_deref());
    let mut facts = Facts::new(ticket, model.predictions, choice.name);
    facts.cluster_size = cluster_size;
    policy.severity.claim_lowering_words(&mut facts.words, model.severe_by_meaning);
    let mut reading = policy.severity.read(&facts.words, &facts.text, model.embedding, model.severe_by_meaning);
    facts.signals = std::mem::take(&mut reading.signals);
    let severity = reading.assessment.as_ref();
    facts.severity = severity.map(|s| s.rank);
    facts.severity_origin = severity.map(|s| s.origin());
    let severity_level = severity.map_or("", |s| policy.levels[s.rank.0].level.as_str());
    let scope = policy.severity.scope_words(&facts.words, &facts.signals);
    let impact = policy.matrix.impact(&facts, scope.as_ref().unwrap_or(&facts.words), severity);
    let hint = reading.hint().and_then(|(rank, weight)| Some((policy.severity.column_of(rank)?, weight)));
    let text = TextSeverity { assessment: severity, level: severity_level, hint, calm: reading.calm };
    let start = policy.matrix.start(&policy.abstention, &facts, &impact, &text);
    let (queue, routed_because) = policy.routing.route(&facts);
    let mut draft = Draft {
        policy,
        rank: start.rank,
        queue: queue.to_string(),
        tags: Vec::new(),
        review_reasons: start.review_reason.iter().cloned().collect(),
        priority_changes: Vec::new(),
        trace: Vec::new(),
    };
    let mut severity_step = match severity {
        Some(s) => (s.describe(severity_level), Some(format!("urgency {}", policy.matrix.urgencies[s.column]))),
        None => (reading.no_signal(&policy.levels), None),
    };
    for aside in facts.signals.iter().filter_map(|(name, words)| words.why_not(name)) {
        severity_step.0.push_str("; ");
        severity_step.0.push_str(&aside);
    }
    draft.trace.push(TraceStep {
        rule: "severity".to_string(),
        matched: severity_step.0,
        hit: severity_step.1.is_some(),
        effect: severity_step.1,
    });
    let impact_effect = impact.name.map(|name| format!("impact {name}"));
    draft.trace.push(TraceStep {
        rule: "impact".to_string(),
        matched: impact.because.clone(),
        hit: impact_effect.is_some(),
        effect: impact_effect,
    });
    draft.step(start.rule, start.because.clone(), Some(draft.level(start.rank).level.clone()));
    draft.step("routing", routed_because, Some(format!("queue {queue}")));
    for set in &policy.rule_sets {
        draft.run(set, &mut facts);
    }
    draft.review(&start.plausible);
    // Due times to the second: a client reads "due 10:00:00", not nanoseconds after it.
    let started_at = ticket.created_at.unwrap_or(now);
    let sla = draft.sla(&choice, started_at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(started_at));
    let mut evidence = BTreeMap::new();
    let severity_words = severity.map(|s| s.words().to_vec()).unwrap_or_default();
    for (key, words) in [("severity", severity_words), ("impact", impact.words)] {
        if !words.is_empty() {
            evidence.insert(key.to_string(), words);
        }
    }
    draft.finish(&start, &choice, sla, evidence)
}

/// Review score, 0 to 100: 0 when a person would change nothing; from 20 when the plausible
/// levels lie two or more apart (more the wider); from 50 when a possibly critical ticket is
/// placed low, more the stronger the source that says it may be critical.
fn review_score(spread: usize, critical_weight: Option<f32>) -> u8 {
    match critical_weight {
        Some(weight) => 50 + (49.0 * weight.clamp(0.0, 1.0)) as u8,
        None if spread >= 2 => 20 + 10 * spread.min(3) as u8,
        None => 0,
    }
}

impl Draft<'_> {
    fn level(&self, rank: Rank) -> &PriorityLevel {
        &self.policy.levels[rank.0]
    }

    fn step(&mut self, rule: &str, matched: String, effect: Option<String>) {
        self.trace.push(TraceStep { rule: rule.to_string(), matched, effect, hit: true });
    }

    fn run(&mut self, set: &RuleSet, facts: &mut Facts) {
        let mut first_hit: Option<&str> = None;
        for rule in &set.rules {
            if let Some(winner) = first_hit {
                let skipped = format!("not evaluated: rule set {:?} stops at its first match ({winner})", set.name);
                self.trace.push(TraceStep { rule: rule.name.clone(), matched: skipped, effect: None, hit: false });
                continue;
            }
            facts.priority = self.rank;
            let outcome = rule.condition.evaluate(facts);
            let effect = outcome.hit.then(|| self.apply(rule)).flatten();
            self.trace.push(TraceStep { rule: rule.name.clone(), matched: outcome.because, effect, hit: outcome.hit });
            if outcome.hit && set.mode == Mode::FirstMatch {
                first_hit = Some(&rule.name);
            }
        }
    }

    /// Applies a matching rule's effects; returns what changed, in words.
    fn apply(&mut self, rule: &Rule) -> Option<String> {
        let mut changes = Vec::new();
        if let Some(change) = rule.effects.priority {
            let before = self.rank;
            self.rank = change.apply(before);
            if self.rank != before {
                changes.push(format!("{} -> {}", self.level(before).level, self.level(self.rank).level));
                let words = change.describe(before, self.rank, &self.policy.levels);
                self.priority_changes.push(format!("{words} for {}", rule.reason()));
            }
        }
        if let Some(queue) = rule.effects.queue.as_ref().filter(|q| **q != self.queue) {
            changes.push(format!("queue {} -> {queue}", self.queue));
            self.queue = queue.clone();
        }
        let new_tags: Vec<String> = rule.effects.tags.iter().filter(|t| !self.tags.contains(t)).cloned().collect();
        if !new_tags.is_empty() {
            changes.push(format!("tags +{}", new_tags.join(" +")));
            self.tags.extend(new_tags);
        }
        if rule.effects.review {
            changes.push("needs review".to_string());
            self.review_reasons.push(rule.reason().to_string());
        }
        (!changes.is_empty()).then(|| changes.join("; "))
    }

    /// Asks for a person where one could change the outcome, within the policy's budget:
    /// the plausible levels (the model's likely labels, the text's severity, the decision)
    /// lie two levels apart, or one of them is among the top two while the ticket is placed
    /// below them.
    fn review(&mut self, plausible: &[Plausible]) {
        let all = plausible.iter().map(|p| p.rank).chain([self.rank]);
        let (most, least) = (all.clone().min().unwrap_or(self.rank), all.max().unwrap_or(self.rank));
        let critical = Rank::least_critical(self.policy.levels.len());
        let critical_weight = (self.rank > critical)
            .then(|| plausible.iter().filter(|p| p.rank <= critical).map(|p| p.weight).reduce(f32::max))
            .flatten();
        let critical_low = critical_weight.is_some();
        let score = review_score(least.0 - most.0, critical_weight);
        let must = !self.review_reasons.is_empty();
        if !self.policy.review.admit(score, must) || must {
            return;
        }
        let (from, to) = (&self.level(most).level, &self.level(least).level);
        let reason = if critical_low {
            format!("possibly {from} placed at {}", self.level(self.rank).level)
        } else {
            format!("could be anywhere from {from} to {to}")
        };
        self.step("review-budget", reason.clone(), Some("needs review".to_string()));
        self.review_reasons.push(reason);
    }

    fn sla(&mut self, choice: &PlanChoice, started_at: DateTime<Utc>) -> SlaDue {
        let plan = choice.plan;
        let level = self.level(self.rank).level.clone();
        let targets = plan.targets.get(&self.rank);
        let due = |pick: fn(&Targets) -> TimeDelta| targets.map(|t| sla::due(&plan.calendar, started_at, pick(t)));
        let sla = SlaDue {
            policy: choice.name.to_string(),
            calendar: plan.calendar_name.clone(),
            started_at,
            first_response_due: due(|t| t.first_response.0),
            next_response_due: due(|t| t.next_response.0),
            resolution_due: due(|t| t.resolution.0),
        };
        let effect = match targets {
            Some(t) => format!(
                "{level} targets: first response {}, next response {}, resolution {} on calendar {}",
                t.first_response, t.next_response, t.resolution, plan.calendar_name
            ),
            None => format!("the {} plan sets no targets for {level}", choice.name),
        };
        self.step("sla-plan", choice.because.clone(), Some(effect));
        sla
    }

    fn finish(self, start: &Start, choice: &PlanChoice, sla: SlaDue, evidence: BTreeMap<String, Vec<Evidence>>) -> Decision {
        let level = self.level(self.rank).clone();
        let summary = summarize(&Story {
            level: &level.level,
            start: &start.summary,
            priority_changes: &self.priority_changes,
            queue: &self.queue,
            plan: choice.name,
            calendar: &choice.plan.calendar,
            review_reasons: &self.review_reasons,
        });
        Decision {
            priority: PriorityRef { level: level.level, name: level.name },
            evidence,
            sla,
            queue: self.queue,
            tags: self.tags,
            needs_review: !self.review_reasons.is_empty(),
            trace: self.trace,
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::prediction::Predictions;
    use chrono::{Datelike, Timelike, Weekday};
    use proptest::prelude::*;

    use super::super::test_policy::{berlin, head, policy_with, ticket, urgency};
    use super::*;
    use crate::prediction::LabelScore;

    fn now() -> DateTime<Utc> {
        berlin(2026, 6, 3, 10, 0)
    }

    fn rule_set(mode: &str, rules: &str) -> String {
        format!("[[rule_sets]]\nname = \"test\"\nmode = \"{mode}\"\n{rules}")
    }

    fn rank_of(policy: &Policy, decision: &Decision) -> usize {
        policy.levels().iter().position(|l| l.level == decision.priority.level).unwrap()
    }

    fn step<'d>(decision: &'d Decision, rule: &str) -> &'d TraceStep {
        decision.trace.iter().find(|s| s.rule == rule).unwrap_or_else(|| panic!("no step {rule}"))
    }

    /// A ticket that exercises every kind of condition, with urgency medium (start P3).
    fn rich_ticket() -> Ticket {
        let mut t = ticket("Checkout outage", "Since 9:00 every payment fails. Order #4711 lost.");
        t.channel = Some("Phone".to_string());
        t.language = Some("de".to_string());
        t.customer.vip = true;
        t.customer.account_type = Some("business".to_string());
        t.customer.segment = Some("retail".to_string());
        t.customer.persona = Some("admin".to_string());
        t.customer.plan = Some("gold".to_string());
        t.fields.insert("product".to_string(), "payments".to_string());
        t
    }

    fn rich_predictions() -> Predictions {
        let mut p = urgency("medium");
        p.insert("sentiment".to_string(), head("negative", 0.85, false));
        p.insert("category".to_string(), head("billing", 0.4, true));
        p
    }

    #[test]
    fn each_condition_kind_decides_whether_a_rule_fires() {
        let cases = [
            ("channel", r#"{ field = "channel", equals = "phone" }"#, true),
            ("channel miss", r#"{ field = "channel", equals = "email" }"#, false),
            ("language", r#"{ field = "language", in = ["de", "at"] }"#, true),
            ("vip", r#"{ field = "customer.vip", equals = true }"#, true),
            ("account type", r#"{ field = "customer.account_type", equals = "business" }"#, true),
            ("segment", r#"{ field = "customer.segment", equals = "healthcare" }"#, false),
            ("persona", r#"{ field = "customer.persona", equals = "admin" }"#, true),
            ("plan", r#"{ field = "customer.plan", equals = "gold" }"#, true),
            ("custom field", r#"{ field = "fields.product", equals = "payments" }"#, true),
            ("missing custom field", r#"{ field = "fields.region", equals = "eu" }"#, false),
            ("keyword", r#"{ keywords = ["outage"] }"#, true),
            ("keyword miss", r#"{ keywords = ["refund"] }"#, false),
            ("regex", r#"{ regex = "order #\\d+ lost" }"#, true),
            ("label", r#"{ prediction = "sentiment", label = "negative" }"#, true),
            ("score", r#"{ prediction = "sentiment", min_score = 0.9 }"#, false),
            ("band", r#"{ prediction = "sentiment", band = "high" }"#, true),
            ("abstained", r#"{ prediction = "category", abstained = true }"#, true),
            ("abstained label", r#"{ prediction = "category", label = "billing" }"#, false),
            ("all", r#"{ all = [{ keywords = ["outage"] }, { field = "customer.vip", equals = true }] }"#, true),
            ("any", r#"{ any = [{ keywords = ["refund"] }, { field = "language", equals = "de" }] }"#, true),
            ("not", r#"{ not = { field = "channel", equals = "phone" } }"#, false),
        ];
        for (why, condition, fires) in cases {
            let rules = format!("[[rule_sets.rules]]\nname = \"r\"\nwhen = {condition}\ntags = [\"hit\"]\n");
            let policy = policy_with(&rule_set("all_matches", &rules));
            let decision = decide(&rich_ticket(), ModelOutput::of(&rich_predictions()), 1, &policy, now());
            assert_eq!(decision.tags.contains(&"hit".to_string()), fires, "{why}");
            let trace = step(&decision, "r");
            assert_eq!(trace.hit, fires, "{why}: trace hit");
            assert_eq!(trace.effect.is_some(), fires, "{why}: trace effect");
            assert!(!trace.matched.is_empty(), "{why}: trace says why");
        }
    }

    #[test]
    fn each_effect_changes_what_it_says() {
        // Start: urgency medium, impact one -> P3, queue general.
        let cases = [
            ("set", "set_priority = \"P1\"", "P1", "general", false),
            ("set lower", "set_priority = \"P4\"", "P4", "general", false),
            ("raise", "raise = 1", "P2", "general", false),
            ("raise to ceiling", "raise = 3\nceiling = \"P2\"", "P2", "general", false),
            ("lower", "lower = 1", "P4", "general", false),
            ("lower to floor", "lower = 5\nfloor = \"P4\"", "P4", "general", false),
            ("queue", "queue = \"vip\"", "P3", "vip", false),
            ("review", "review = true", "P3", "general", true),
        ];
        for (why, effect, level, queue, review) in cases {
            let rules = format!("[[rule_sets.rules]]\nname = \"r\"\n{effect}\n");
            let policy = policy_with(&rule_set("all_matches", &rules));
            let decision = decide(&ticket("s", "b"), ModelOutput::of(&urgency("medium")), 1, &policy, now());
            assert_eq!(decision.priority.level, level, "{why}");
            assert_eq!(decision.queue, queue, "{why}");
            assert_eq!(decision.needs_review, review, "{why}");
        }
    }

    #[test]
    fn tags_accumulate_without_duplicates() {
        let rules = "[[rule_sets.rules]]\nname = \"a\"\ntags = [\"x\", \"y\"]\n\
                     [[rule_sets.rules]]\nname = \"b\"\ntags = [\"y\", \"z\"]\n";
        let decision =
            decide(&ticket("s", "b"), ModelOutput::of(&urgency("low")), 1, &policy_with(&rule_set("all_matches", rules)), now());
        assert_eq!(decision.tags, ["x", "y", "z"]);
        assert_eq!(step(&decision, "b").effect.as_deref(), Some("tags +z"));
    }

    #[test]
    fn first_match_stops_and_all_matches_goes_on() {
        let rules = "[[rule_sets.rules]]\nname = \"one\"\nraise = 1\n[[rule_sets.rules]]\nname = \"two\"\nraise = 1\n";
        let first =
            decide(&ticket("s", "b"), ModelOutput::of(&urgency("low")), 1, &policy_with(&rule_set("first_match", rules)), now());
        let all =
            decide(&ticket("s", "b"), ModelOutput::of(&urgency("low")), 1, &policy_with(&rule_set("all_matches", rules)), now());
        assert_eq!((first.priority.level.as_str(), all.priority.level.as_str()), ("P3", "P2"));
        let skipped = step(&first, "two");
        assert!(!skipped.hit && skipped.matched.contains("not evaluated"), "{skipped:?}");
        assert_eq!(step(&all, "two").effect.as_deref(), Some("P3 -> P2"));
    }

    #[test]
    fn impact_urgency_matrix() {
        let cases = [
            (Some("many"), "high", "P1"),
            (Some("many"), "medium", "P2"),
            (Some("Many"), "low", "P3"),
            (Some("one"), "high", "P2"),
            (Some("one"), "medium", "P3"),
            (Some("one"), "low", "P4"),
            (None, "high", "P2"),
            (Some("dozens"), "high", "P2"),
        ];
        let policy = policy_with("");
        for (impact, label, level) in cases {
            let mut t = ticket("s", "b");
            if let Some(impact) = impact {
                t.fields.insert("affected_users".to_string(), impact.to_string());
            }
            let decision = decide(&t, ModelOutput::of(&urgency(label)), 1, &policy, now());
            assert_eq!(decision.priority.level, level, "{impact:?} x {label}");
            assert!(!decision.needs_review);
            assert_eq!(step(&decision, "urgency-matrix").effect.as_deref(), Some(level));
        }
    }

    #[test]
    fn vip_raise_never_goes_above_its_ceiling() {
        let vip = "[[rule_sets.rules]]\nname = \"vip-raise\"\nwhen = { field = \"customer.vip\", equals = true }\n\
                   raise = 1\nceiling = \"P2\"\n";
        let policy = policy_with(&rule_set("all_matches", vip));
        // (urgency, impact, vip) -> level
        let cases = [
            ("medium", "one", true, "P2"),
            ("medium", "one", false, "P3"),
            ("high", "one", true, "P2"),
            ("high", "many", true, "P1"),
            ("low", "one", true, "P3"),
        ];
        for (label, impact, is_vip, level) in cases {
            let mut t = ticket("s", "b");
            t.customer.vip = is_vip;
            t.fields.insert("affected_users".to_string(), impact.to_string());
            let decision = decide(&t, ModelOutput::of(&urgency(label)), 1, &policy, now());
            assert_eq!(decision.priority.level, level, "{label} {impact} vip={is_vip}");
            let trace = step(&decision, "vip-raise");
            assert_eq!(trace.hit, is_vip);
            if is_vip {
                assert_eq!(trace.matched, "customer.vip = true");
            }
        }
    }

    #[test]
    fn a_repeat_issue_cluster_raises_its_tickets_from_the_size_the_policy_names() {
        let outage = "[[rule_sets.rules]]\nname = \"many-alike\"\nwhen = { cluster_size_at_least = 5 }\nraise = 1\n";
        let policy = policy_with(&rule_set("all_matches", outage));
        for (size, level, because) in [
            (1, "P3", "no recent ticket about the same problem (at least 5)"),
            (4, "P3", "4 recent tickets about the same problem (at least 5)"),
            (5, "P2", "5 recent tickets about the same problem (at least 5)"),
        ] {
            let decision = decide(&ticket("s", "b"), ModelOutput::of(&urgency("medium")), size, &policy, now());
            assert_eq!(decision.priority.level, level, "cluster of {size}");
            assert_eq!(step(&decision, "many-alike").matched, because);
        }
    }

    #[test]
    fn abstention_falls_back_and_asks_for_review() {
        let mut abstained = urgency("high");
        abstained.insert("urgency".to_string(), head("high", 0.41, true));
        let unmapped = urgency("critical");
        let missing = Predictions::new();
        let policy = policy_with("");
        for (why, predictions) in [("abstained", &abstained), ("unmapped label", &unmapped), ("missing", &missing)] {
            let decision = decide(&ticket("s", "b"), ModelOutput::of(predictions), 1, &policy, now());
            assert_eq!(decision.priority.level, "P3", "{why}");
            assert!(decision.needs_review, "{why}");
            let fallback = step(&decision, "abstention-fallback");
            assert_eq!(fallback.effect.as_deref(), Some("P3"), "{why}");
            assert!(decision.summary.contains("needs review"), "{why}: {}", decision.summary);
        }
    }

    #[test]
    fn abstention_can_fall_back_to_a_matrix_column_without_review() {
        let text = super::super::test_policy::BASE
            .replace("[abstention]\npriority = \"P3\"", "[abstention]\nurgency = \"high\"\nneeds_review = false");
        let policy = Policy::from_toml(&text).unwrap();
        let mut t = ticket("s", "b");
        t.fields.insert("affected_users".to_string(), "many".to_string());
        let decision = decide(&t, ModelOutput::of(&Predictions::new()), 1, &policy, now());
        assert_eq!((decision.priority.level.as_str(), decision.needs_review), ("P1", false));
    }

    #[test]
    fn rules_still_apply_after_abstention() {
        let rules = "[[rule_sets.rules]]\nname = \"outage\"\nwhen = { keywords = [\"outage\"] }\nraise = 1\n";
        let policy = policy_with(&rule_set("all_matches", rules));
        let decision = decide(&ticket("Outage", "all down"), ModelOutput::of(&Predictions::new()), 1, &policy, now());
        assert_eq!(decision.priority.level, "P2");
    }

    #[test]
    fn sla_uses_the_plan_calendar_and_the_ticket_start() {
        let policy = policy_with("");
        let mut t = ticket("s", "b");
        t.created_at = Some(berlin(2026, 6, 5, 16, 0)); // Friday
        let basic = decide(&t, ModelOutput::of(&urgency("medium")), 1, &policy, now());
        assert_eq!(basic.sla.policy, "basic");
        assert_eq!(basic.sla.first_response_due, Some(berlin(2026, 6, 8, 12, 0)), "P3: 4h over the weekend");

        t.customer.plan = Some("Gold".to_string());
        let gold = decide(&t, ModelOutput::of(&urgency("medium")), 1, &policy, now());
        assert_eq!((gold.sla.policy.as_str(), gold.sla.calendar.as_str()), ("gold", "always"));
        assert_eq!(gold.sla.first_response_due, Some(berlin(2026, 6, 5, 17, 0)));

        let gold_p4 = decide(&t, ModelOutput::of(&urgency("low")), 1, &policy, now());
        assert_eq!(gold_p4.sla.resolution_due, None, "gold has no P4 targets");

        t.created_at = None;
        let started_now = decide(&t, ModelOutput::of(&urgency("medium")), 1, &policy, now());
        assert_eq!(started_now.sla.started_at, now());
        assert_eq!(started_now.sla.first_response_due, Some(now() + TimeDelta::hours(1)));
    }

    #[test]
    fn routing_picks_the_category_queue_or_the_default() {
        let policy = policy_with("");
        let with_category = |label: &str, abstained: bool| {
            let mut p = urgency("low");
            p.insert("category".to_string(), head(label, 0.7, abstained));
            decide(&ticket("s", "b"), ModelOutput::of(&p), 1, &policy, now()).queue
        };
        assert_eq!(with_category("billing", false), "billing");
        assert_eq!(with_category("billing", true), "general");
        assert_eq!(with_category("sales", false), "general");
    }

    #[test]
    fn decision_serializes_to_the_response_shape() {
        let vip = "[[rule_sets.rules]]\nname = \"vip-raise\"\nwhen = { field = \"customer.vip\", equals = true }\nraise = 1\n";
        let mut t = ticket("s", "b");
        t.customer.vip = true;
        let decision = decide(&t, ModelOutput::of(&urgency("high")), 1, &policy_with(&rule_set("all_matches", vip)), now());
        let json = serde_json::to_value(&decision).unwrap();
        assert_eq!(json["priority"], serde_json::json!({"level": "P1", "name": "Urgent"}));
        let rule = json["trace"].as_array().unwrap().iter().find(|s| s["rule"] == "vip-raise").unwrap();
        assert_eq!(rule["matched"], "customer.vip = true");
        assert_eq!(rule["effect"], "P2 -> P1");
        assert!(json["sla"]["first_response_due"].is_string());
        assert!(decision.summary.starts_with("P1: model urgency high (0.90) raised one level for vip-raise"));
    }

    fn any_label() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("low"), Just("medium"), Just("high"), Just("unknown")]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn a_raise_rule_never_lowers_a_priority(
            label in any_label(), many in any::<bool>(), abstained in any::<bool>(),
            by in 0u8..4, ceiling in 1u8..=4,
        ) {
            let raise = format!("[[rule_sets.rules]]\nname = \"up\"\nraise = {by}\nceiling = \"P{ceiling}\"\n");
            let without = policy_with("");
            let with = policy_with(&rule_set("all_matches", &raise));
            let mut t = ticket("s", "b");
            t.fields.insert("affected_users".to_string(), if many { "many" } else { "one" }.to_string());
            let mut predictions = urgency(label);
            predictions.insert("urgency".to_string(), head(label, 0.7, abstained));
            let before = decide(&t, ModelOutput::of(&predictions), 1, &without, now());
            let after = decide(&t, ModelOutput::of(&predictions), 1, &with, now());
            prop_assert!(rank_of(&with, &after) <= rank_of(&without, &before));
        }
    }

    mod default_policy {
        use super::*;

        const DEFAULT_POLICY: &str = include_str!("../../config/policy.toml");

        fn default_policy() -> Policy {
            Policy::from_toml(DEFAULT_POLICY).unwrap_or_else(|e| panic!("config/policy.toml:\n{e}"))
        }

        fn predictions(urgency_label: &str, sentiment: &str, category: &str) -> Predictions {
            Predictions::from([
                ("urgency".to_string(), head(urgency_label, 0.74, false)),
                ("sentiment".to_string(), head(sentiment, 0.66, false)),
                ("category".to_string(), head(category, 0.81, false)),
            ])
        }

        fn hits(decision: &Decision) -> Vec<&str> {
            decision.trace.iter().filter(|s| s.hit && s.effect.is_some()).map(|s| s.rule.as_str()).collect()
        }

        #[test]
        fn a_vip_enterprise_customer_is_never_behind_a_free_one() {
            let policy = default_policy();
            let texts = [
                ("Cannot export report", "The CSV export button does nothing."),
                ("Checkout outage", "Our shop is down, every payment fails."),
                ("Question about invoices", "Where can I download last month's invoice?"),
            ];
            for (subject, body) in texts {
                for label in ["low", "medium", "high"] {
                    let predictions = predictions(label, "neutral", "Technical Support");
                    let mut free = ticket(subject, body);
                    free.customer.plan = Some("free".to_string());
                    let mut vip = free.clone();
                    vip.customer.plan = Some("enterprise".to_string());
                    vip.customer.vip = true;
                    let free_decision = decide(&free, ModelOutput::of(&predictions), 1, &policy, now());
                    let vip_decision = decide(&vip, ModelOutput::of(&predictions), 1, &policy, now());
                    let (free_rank, vip_rank) = (rank_of(&policy, &free_decision), rank_of(&policy, &vip_decision));
                    assert!(vip_rank <= free_rank, "{subject} / {label}: {vip_decision:#?} vs {free_decision:#?}");

                    let (free_hits, vip_hits) = (hits(&free_decision), hits(&vip_decision));
                    let differing: Vec<&&str> =
                        vip_hits.iter().chain(&free_hits).filter(|r| vip_hits.contains(r) != free_hits.contains(r)).collect();
                    if vip_rank < free_rank {
                        assert!(!differing.is_empty(), "{subject} / {label}: the trace must show why");
                    }
                    // Raised, unless already as high as its text allows: P1, or P2 for a ticket
                    // whose words show no severe problem.
                    let severe_text = step(&vip_decision, "severity").effect.as_deref() == Some("urgency high");
                    let ceiling = if severe_text { "P1" } else { "P2" };
                    let raised = vip_hits.iter().any(|r| *r == "vip-raise" || *r == "vip-severe");
                    assert!(raised || vip_decision.priority.level == ceiling, "{subject} / {label}: {vip_decision:#?}");
                    assert_eq!(vip_decision.sla.policy, "enterprise");
                    assert_eq!(free_decision.sla.policy, "free");
                }
            }
        }

        #[test]
        fn a_key_customer_reaches_the_top_level_only_with_a_severe_problem() {
            let policy = default_policy();
            let urgent = predictions("high", "negative", "Billing and Payments");
            let key_customer = |subject: &str, body: &str| {
                let mut t = ticket(subject, body);
                t.customer.plan = Some("enterprise".to_string());
                t.customer.vip = true;
                t
            };
            let invoice = key_customer("WRONG COMPANY NAME ON INVOICE", "Correct the invoice immediately, our name is misspelt.");
            let decision = decide(&invoice, ModelOutput::of(&urgent), 1, &policy, now());
            assert_eq!(decision.priority.level, "P2", "{:#?}", decision.trace);
            let outage = key_customer("Checkout outage", "Our shop is down, every payment fails.");
            let decision = decide(&outage, ModelOutput::of(&urgent), 1, &policy, now());
            assert_eq!(decision.priority.level, "P1", "{:#?}", decision.trace);
            // Severe only by the probe's reading: High, as for any customer, and not the top.
            let docs = key_customer("Docs link", "The link to the API docs is broken.");
            let calm = unsure();
            let read_as_severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&calm) };
            let decision = decide(&docs, read_as_severe, 1, &policy, now());
            assert!(step(&decision, "severity").matched.starts_with("reads as severe by meaning"), "{:#?}", decision.trace);
            assert_eq!(decision.priority.level, "P2", "{:#?}", decision.trace);
            let vip_severe = step(&decision, "vip-severe");
            assert!(
                !vip_severe.hit && vip_severe.matched.contains("text severity from its meaning, not its words or example"),
                "{vip_severe:?}"
            );
        }

        #[test]
        fn a_ticket_the_severity_probe_finds_severe_is_raised_and_says_so_unless_a_signal_speaks() {
            let policy = default_policy();
            let calm = predictions("low", "neutral", "General Inquiry");
            let with_probe = |t: &Ticket, p: f32| {
                decide(t, ModelOutput { predictions: &calm, embedding: None, severe_by_meaning: Some(p) }, 1, &policy, now())
            };
            let t = ticket("Kassen", "Seit heute früh lässt sich an keiner Kasse mehr etwas buchen.");
            let meaning_step = |d: &Decision| d.trace.iter().any(|s| s.matched.contains("reads as severe by meaning"));

            let severe = with_probe(&t, 0.9);
            assert!(meaning_step(&severe), "{:#?}", severe.trace);
            assert!(rank_of(&policy, &severe) <= 1, "P1 or P2: {}", severe.priority.level);
            let calm_reading = with_probe(&t, 0.1);
            assert!(!meaning_step(&calm_reading) && rank_of(&policy, &calm_reading) > 1, "{}", calm_reading.priority.level);

            // A signal below the severe levels gives way to a probe that reads the ticket as
            // severe, and speaks when the probe does not.
            let weak = ticket("Kassen", "Seit heute früh kann keine Filiale mehr kassieren.");
            let on = |p: f32| with_probe(&weak, p);
            let signal_step = |d: &Decision| d.trace.iter().any(|s| s.matched.starts_with("signal "));
            assert!(signal_step(&on(0.1)) && !meaning_step(&on(0.1)), "{:#?}", on(0.1).trace);
            assert!(meaning_step(&on(0.9)) && rank_of(&policy, &on(0.9)) <= 1, "{:#?}", on(0.9).trace);

            // At P1 by meaning and impact, with no outage words, the incident team takes it.
            let mut blank = ticket("Büro steht", "Bei allen Kollegen bleibt der Bildschirm nach der Anmeldung schwarz.");
            blank.fields.insert("affected_users".to_string(), "many".to_string());
            let urgent = with_probe(&blank, 0.9);
            assert_eq!((urgent.priority.level.as_str(), urgent.queue.as_str()), ("P1", "incidents"), "{:#?}", urgent.trace);

            // A severe phrase signal names its words and speaks first.
            let outage = ticket("Outage", "Our whole platform is down for every customer.");
            let signalled = with_probe(&outage, 0.9);
            assert!(!meaning_step(&signalled) && signalled.trace.iter().any(|s| s.matched.starts_with("signal ")));
        }

        #[test]
        fn neither_the_urgency_head_nor_an_example_alone_puts_a_ticket_the_probe_reads_as_calm_at_a_severe_level() {
            let policy = default_policy();
            let shouting = predictions("high", "negative", "Billing and Payments");
            let invoice = ticket("URGENT!!! WRONG INVOICE", "YOU CHARGED US FOR 25 SEATS, WE HAVE 20. CORRECT IT IMMEDIATELY.");
            let decide_with = |t: &Ticket, probe: Option<f32>, policy: &Policy| {
                decide(t, ModelOutput { severe_by_meaning: probe, ..ModelOutput::of(&shouting) }, 1, policy, now())
            };
            let held = decide_with(&invoice, Some(0.1), &policy);
            assert_eq!(held.priority.level, "P3", "{:#?}", held.trace);
            assert!(held.summary.contains("held to medium as the text reads calm by meaning (severe 0.10)"), "{}", held.summary);
            // Without a probe the head's level stands; so it does under a policy that trusts it.
            assert_eq!(decide_with(&invoice, None, &policy).priority.level, "P2");
            let mut trusting = default_policy();
            trusting.severity.severe_needs_meaning = false;
            assert_eq!(decide_with(&invoice, Some(0.1), &trusting).priority.level, "P2");
            // A malfunction signal (P3) does not back the head's high either; a severe signal does.
            let crash = ticket("App crashes", "The app crashes as soon as I open the calendar.");
            assert_eq!(decide_with(&crash, Some(0.1), &policy).priority.level, "P3");
            let outage = ticket("Outage", "Our whole platform is down for every customer.");
            assert_eq!(decide_with(&outage, Some(0.1), &policy).priority.level, "P1");
            // Impact still raises a held ticket.
            let mut wide = invoice.clone();
            wide.fields.insert("affected_users".to_string(), "300".to_string());
            let raised = decide_with(&wide, Some(0.1), &policy);
            assert!(rank_of(&policy, &raised) < rank_of(&policy, &held), "{:#?}", raised.trace);
            // Nor does a level example alone: with no signal to speak, a ticket worded like a P1
            // example is P1 unless the probe reads it as calm.
            let mut examples_only = default_policy();
            examples_only.severity.signals.clear();
            let like_p1 = ticket("", "Website down for all customers: since 09:10 our shop returns 503 errors to every visitor.");
            let unsure = |probe: Option<f32>, policy: &Policy| {
                decide(&like_p1, ModelOutput { severe_by_meaning: probe, ..ModelOutput::of(&unsure()) }, 1, policy, now())
            };
            let by_example = unsure(None, &examples_only);
            assert!(step(&by_example, "severity").matched.starts_with("like the P1 example"), "{:#?}", by_example.trace);
            assert!(rank_of(&examples_only, &by_example) <= 1, "{}", by_example.summary);
            let calm = unsure(Some(0.1), &examples_only);
            assert!(calm.summary.contains("fallback start"), "{}", calm.summary);
            let held_back = step(&calm, "severity");
            assert!(held_back.matched.contains("held back as the text reads calm by meaning (severe 0.10)"), "{held_back:?}");
        }

        #[test]
        fn with_embeddings_a_ticket_is_compared_with_the_level_examples_by_meaning() {
            // Stand-in embeddings: the first three examples (P1 ones: the examples are listed
            // level by level, most urgent first, twenty a level) on the first axis, every other
            // example on an axis of its own, and a ticket whose words share nothing with any
            // example pointing along the first axis: the three P1 votes are all 1.
            let axis = |i: usize, n: usize| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
            let mut policy = default_policy();
            let mut count = 0;
            policy
                .embed_examples(|texts| -> Result<_, ()> {
                    count = texts.len();
                    Ok((0..texts.len()).map(|i| axis(if i < 3 { 0 } else { i }, texts.len())).collect())
                })
                .unwrap();
            assert!(count > 0, "the default policy has level examples");
            let t = ticket("Hello", "Please get back to me about my account.");
            let predictions = predictions("low", "neutral", "General Inquiry");
            let example_step = |decision: &Decision| decision.trace.iter().any(|s| s.matched.contains("like the P1 example"));

            let near = axis(0, count);
            let by_meaning = decide(
                &t,
                ModelOutput { predictions: &predictions, embedding: Some(&near), severe_by_meaning: None },
                1,
                &policy,
                now(),
            );
            assert!(example_step(&by_meaning), "{:#?}", by_meaning.trace);
            assert!(rank_of(&policy, &by_meaning) <= 1, "P1 or P2: {}", by_meaning.priority.level);

            let far: Vec<f32> = vec![0.0; count];
            let unrelated = decide(
                &t,
                ModelOutput { predictions: &predictions, embedding: Some(&far), severe_by_meaning: None },
                1,
                &policy,
                now(),
            );
            assert!(!example_step(&unrelated), "below the threshold nothing is like an example");
            let without = decide(&t, ModelOutput::of(&predictions), 1, &policy, now());
            assert!(!example_step(&without) && rank_of(&policy, &without) > 1, "{}", without.priority.level);
        }

        #[test]
        fn a_saturday_ticket_on_the_standard_plan_is_answered_the_next_business_day() {
            let policy = default_policy();
            // (Saturday, next business day): a plain weekend, and Easter (Monday a holiday).
            let weekends = [((2026, 5, 9), (2026, 5, 11)), ((2026, 4, 4), (2026, 4, 7)), ((2027, 3, 27), (2027, 3, 30))];
            for ((y, m, d), (ny, nm, nd)) in weekends {
                for label in ["low", "medium", "high"] {
                    let mut t = ticket("Login problem", "I cannot log in since this morning.");
                    t.customer.plan = Some("standard".to_string());
                    t.created_at = Some(berlin(y, m, d, 11, 30));
                    let decision = decide(&t, ModelOutput::of(&predictions(label, "neutral", "IT Support")), 1, &policy, now());
                    assert_eq!(decision.sla.calendar, "eu-business");
                    let due = decision.sla.first_response_due.expect("standard has targets for every level");
                    let local = due.with_timezone(&chrono_tz::Europe::Berlin);
                    assert_ne!(local.weekday(), Weekday::Sat);
                    assert_eq!(local.date_naive(), chrono::NaiveDate::from_ymd_opt(ny, nm, nd).unwrap(), "{label}");
                    assert!((9..=17).contains(&local.hour()), "{local}");
                }
            }
        }

        /// Urgency abstained with a middling guess: the text alone must carry severity.
        fn unsure() -> Predictions {
            let mut p = predictions("medium", "neutral", "General Inquiry");
            p.insert("urgency".to_string(), head("medium", 0.41, true));
            p
        }

        fn rank_for(policy: &Policy, subject: &str, body: &str) -> (usize, Decision) {
            let decision = decide(&ticket(subject, body), ModelOutput::of(&unsure()), 1, policy, now());
            (rank_of(policy, &decision), decision)
        }

        #[test]
        fn severity_signals_raise_outages_data_loss_and_breaches_in_every_language() {
            let policy = default_policy();
            // (language, subject, body, word the summary gives as the reason)
            let cases = [
                ("en", "Checkout is down", "Nobody can pay, the checkout page times out for every customer.", "outage"),
                ("en", "Records gone", "After last night's sync all our contacts were deleted.", "data loss"),
                ("en", "Account hacked", "Someone logged into our admin account and changed the passwords.", "security"),
                ("de", "Server ausgefallen", "Der Server ist seit einer Stunde nicht erreichbar.", "outage"),
                (
                    "de",
                    "Daten weg",
                    "Nach dem Update ist unser kompletter Datenverlust bestätigt, alle Aufträge fehlen.",
                    "data loss",
                ),
                ("de", "Gehackt", "Unser Konto wurde gehackt, jemand hat sich unbefugt angemeldet.", "security"),
                ("es", "Servidor caído", "El servidor está caído y nadie puede trabajar.", "outage"),
                ("es", "Pérdida de datos", "Hemos sufrido una pérdida de datos tras la migración.", "data loss"),
                ("es", "Cuenta hackeada", "Nos han hackeado la cuenta de administrador.", "security"),
                ("fr", "Panne générale", "Panne générale de la plateforme depuis ce matin.", "outage"),
                ("fr", "Perte de données", "Nous avons une perte de données sur toutes les factures.", "data loss"),
                ("fr", "Piratage", "Notre compte a été piraté cette nuit.", "security"),
                ("pt", "Sistema fora do ar", "O sistema está fora do ar desde as 8h.", "outage"),
                ("pt", "Perda de dados", "Tivemos perda de dados depois da atualização.", "data loss"),
                ("pt", "Conta invadida", "Nossa conta foi invadida e os dados dos clientes vazaram.", "security"),
                // Every customer charged twice is failing payments, however calmly told.
                ("en", "Direct debits", "Today all our customers were charged twice for their plan.", "payments"),
                ("de", "Lastschriften", "Bei unseren Kunden wurden heute alle Lastschriften doppelt eingezogen.", "payments"),
                ("es", "Cobros", "A los clientes les han cobrado dos veces la cuota de hoy.", "payments"),
                ("fr", "Prélèvements", "Nos clients ont été débités deux fois ce matin.", "payments"),
                ("pt", "Débitos", "Os nossos clientes foram cobrados duas vezes hoje.", "payments"),
                // Another customer's records shown, told calmly and named by what they are.
                ("en", "Odd", "In my portal I can see another customer's orders with their address.", "security"),
                ("de", "Komisch", "Ein Kunde sieht in seinem Konto die Bestellungen eines anderen Kunden.", "security"),
                ("es", "Raro", "En mi panel aparecen los pedidos de otro cliente con su dirección.", "security"),
                ("fr", "Bizarre", "Dans mon espace je vois les commandes d'un autre client.", "security"),
                ("pt", "Estranho", "No meu painel aparecem as encomendas de outro cliente com a morada.", "security"),
                // ... or another company's.
                ("en", "Wrong invoices", "A client says he sees another company's invoices in his portal.", "security"),
                ("de", "Falsche Rechnungen", "Ein Kunde sieht im Portal die Rechnungen einer anderen Firma.", "security"),
                ("es", "Facturas ajenas", "Un cliente nos dice que ve las facturas de otra empresa en su área.", "security"),
                ("fr", "Factures", "Un client voit les factures d'une autre entreprise dans son espace.", "security"),
                ("pt", "Notas", "Um cliente vê as notas fiscais de outra empresa no painel dele.", "security"),
                // Deleted by a person's mistake: lost until it is restored.
                ("en", "Project", "A colleague deleted our main project by accident this morning.", "data loss"),
                ("de", "Projekt", "Ein Kollege hat heute früh unser Projekt aus Versehen gelöscht.", "data loss"),
                ("es", "Proyecto", "Un compañero borró sin querer el proyecto principal esta mañana.", "data loss"),
                ("fr", "Projet", "Un collègue a supprimé par erreur notre projet principal ce matin.", "data loss"),
                ("pt", "Projeto", "Um colega apagou o nosso projeto principal sem querer hoje de manhã.", "data loss"),
                // Other people's records, named by what they are.
                ("en", "Claims portal", "Policyholders download other people's documents instead of their own.", "security"),
                ("de", "Portal", "Versicherte laden beim Download die Dokumente anderer Personen herunter.", "security"),
                ("es", "Portal", "Los asegurados descargan documentos de siniestros de otras personas.", "security"),
                ("fr", "Portail", "Des assurés téléchargent les documents de sinistre d'autres personnes.", "security"),
                ("pt", "Portal", "Segurados baixam documentos de sinistro de outras pessoas.", "security"),
                // ... or other members', kept apart by the portal.
                ("en", "Profile", "A member tells us she can see the bank details of other members in her profile.", "security"),
                ("de", "Profil", "Ein Mitglied sieht in seinem Profil die Bankdaten anderer Mitglieder.", "security"),
                ("es", "Perfil", "Un socio nos avisa de que en su perfil ve los datos bancarios de otros socios.", "security"),
                ("fr", "Profil", "Un adhérent voit dans son profil les coordonnées bancaires d'autres adhérents.", "security"),
                ("pt", "Perfil", "Um sócio vê no perfil dele os dados bancários de outros sócios.", "security"),
                // Money sent to accounts nobody knows.
                (
                    "en",
                    "Transfers",
                    "Someone made three transfers from our finance login to accounts that we don't know.",
                    "security",
                ),
                (
                    "de",
                    "Überweisungen",
                    "Vom Finanzkonto gingen drei Überweisungen auf Konten, die wir nicht kennen.",
                    "security",
                ),
                (
                    "es",
                    "Transferencias",
                    "Alguien hizo tres transferencias desde la cuenta de finanzas a cuentas que no conocemos.",
                    "security",
                ),
                (
                    "fr",
                    "Virements",
                    "Trois virements sont partis du compte financier vers des comptes que nous ne connaissons pas.",
                    "security",
                ),
                (
                    "pt",
                    "Transferências",
                    "Alguém acessou a conta do financeiro e fez transferências para contas que não conhecemos.",
                    "security",
                ),
                // A former contractor or supplier who still has access.
                (
                    "en",
                    "Access",
                    "A former contractor still has access to our admin console and created two accounts.",
                    "security",
                ),
                ("de", "Zugang", "Ein ehemaliger Dienstleister hat noch Zugriff auf unsere Admin-Konsole.", "security"),
                ("es", "Acceso", "Un antiguo proveedor sigue teniendo acceso a nuestra consola de administración.", "security"),
                ("fr", "Accès", "Un ancien prestataire a encore accès à notre console d'administration.", "security"),
                ("pt", "Acesso", "Um antigo fornecedor ainda tem acesso ao nosso painel de administração.", "security"),
                // A look-alike of the vendor's login page sent to staff.
                ("en", "Odd mails", "Our staff got mails with a link to a fake login page of yours.", "security"),
                (
                    "de",
                    "Seltsame Mails",
                    "Unsere Mitarbeiter bekommen Mails mit Links zu einer Login-Seite, die Ihrer sehr ähnlich sieht.",
                    "security",
                ),
                (
                    "es",
                    "Correos raros",
                    "El personal recibe correos con un enlace a una página de inicio de sesión falsa.",
                    "security",
                ),
                (
                    "fr",
                    "Mails bizarres",
                    "Nos salariés reçoivent des mails avec un lien vers une fausse page de connexion.",
                    "security",
                ),
                ("pt", "E-mails estranhos", "A equipe recebeu e-mails com link para uma página de login falsa.", "security"),
                // Orders taken at a wrong price lose money on each one.
                ("en", "Prices", "Every item shows a price of zero and 200 orders at that price came in.", "lost business"),
                (
                    "de",
                    "Preise",
                    "Alle Artikel kosten 0 Euro, über 200 Bestellungen zu diesem Preis sind eingegangen.",
                    "lost business",
                ),
                ("es", "Precios", "Todos los artículos salen a 0 euros y ya hay 200 pedidos a ese precio.", "lost business"),
                ("fr", "Prix", "Tous les articles sont à 0 euro et 200 commandes à ce prix sont arrivées.", "lost business"),
                (
                    "pt",
                    "Preços",
                    "Todos os produtos aparecem a 0 reais e já entraram 200 pedidos por esse preço.",
                    "lost business",
                ),
                // The vendor's maintenance page shown to every visitor: down for them.
                ("en", "Maintenance?", "Since 7 our online shop shows your maintenance page to all visitors.", "outage"),
                ("de", "Wartung?", "Seit 7 Uhr zeigt unser Onlineshop allen Besuchern Ihre Wartungsseite.", "outage"),
                (
                    "es",
                    "¿Mantenimiento?",
                    "Desde las 7 la tienda online muestra vuestra página de mantenimiento a todos.",
                    "outage",
                ),
                (
                    "fr",
                    "Maintenance ?",
                    "Depuis 7h notre boutique affiche votre page de maintenance à tous les visiteurs.",
                    "outage",
                ),
                (
                    "pt",
                    "Manutenção?",
                    "Desde as 7h a nossa loja mostra a vossa página de manutenção a todos os visitantes.",
                    "outage",
                ),
                // An alert about a sign-in from abroad, told in a postscript.
                (
                    "en",
                    "New export",
                    "Thanks for the export. PS: our admin got a login alert from Vietnam tonight and his password no longer works.",
                    "security",
                ),
                (
                    "de",
                    "Neuer Export",
                    "Danke für den Export. PS: Unser Admin hat heute Nacht einen Login-Hinweis aus Vietnam bekommen.",
                    "security",
                ),
                (
                    "es",
                    "Exportación",
                    "Gracias por la exportación. PD: nuestro admin recibió anoche un aviso de inicio de sesión desde Vietnam.",
                    "security",
                ),
                (
                    "fr",
                    "Export",
                    "Merci pour l'export. PS : notre admin a reçu cette nuit une alerte de connexion depuis le Vietnam.",
                    "security",
                ),
                ("pt", "Exportação", "Obrigado pela exportação. PS: nosso admin recebeu esta noite um alerta de login do Vietnã.", "security"),
                // What seems to have vanished, named further off than the pairs reach.
                ("en", "Files", "The files our customers uploaded last week seem to have disappeared.", "data loss"),
                ("de", "Anhänge", "Alle Anhänge der Tickets vom letzten Monat scheinen verschwunden.", "data loss"),
                ("es", "Adjuntos", "Los adjuntos de los tickets del mes pasado parecen haber desaparecido.", "data loss"),
                ("fr", "Pièces jointes", "Les pièces jointes des tickets du mois dernier semblent avoir disparu.", "data loss"),
                ("pt", "Anexos", "Todos os anexos dos tickets do mês passado parecem ter sumido.", "data loss"),
                // A password posted where others read it, and used.
                ("en", "Admin password", "A student posted a teacher's admin password in the class chat and changed grades.", "security"),
                (
                    "de",
                    "Admin-Passwort",
                    "Ein Schüler hat das Admin-Passwort einer Lehrerin im Klassenchat gepostet und Noten geändert.",
                    "security",
                ),
                (
                    "es",
                    "Contraseña",
                    "Un alumno publicó la contraseña de administrador de una profesora en el chat y cambió notas.",
                    "security",
                ),
                (
                    "fr",
                    "Mot de passe",
                    "Un élève a publié le mot de passe administrateur d'une enseignante dans le chat et a modifié des notes.",
                    "security",
                ),
                ("pt", "Senha", "Um aluno postou a senha de administrador de uma professora no chat e alterou notas.", "security"),
                // Someone deactivated who still has access.
                ("en", "Contractor", "The contractor we deactivated still has access to all customer records.", "security"),
                ("de", "Freelancer", "Der deaktivierte Freelancer hat weiterhin Zugriff auf alle Kundendaten.", "security"),
                ("es", "Contratista", "El contratista desactivado sigue teniendo acceso a todos los datos de clientes.", "security"),
                ("fr", "Prestataire", "Le prestataire désactivé a toujours accès à toutes les données clients.", "security"),
                ("pt", "Prestador", "O prestador desativado continua com acesso a todos os dados de clientes.", "security"),
                // A ministry's deadline tomorrow, the words between "prazo" and "vence".
                (
                    "pt",
                    "Ministério",
                    "O prazo do ministério vence amanhã ao meio-dia e a exportação das estatísticas falha.",
                    "legal or regulatory deadline",
                ),
                // Phone numbers overwritten, told with the verb in the past tense.
                ("en", "Contacts", "The mass update overwrote the phone numbers of all our contacts.", "data loss"),
                ("es", "Teléfonos", "La actualización masiva sobrescribió los teléfonos de todos los contactos.", "data loss"),
                ("pt", "Telefones", "A atualização em massa sobrescreveu os telefones de todos os contatos.", "data loss"),
                // German puts the verb before a subject that says nobody can pay.
                (
                    "de",
                    "SEPA",
                    "Seit dem Release kann kein Kunde in Österreich per SEPA-Lastschrift bezahlen, an der Kasse kommt nur eine Fehlermeldung.",
                    "failing payments",
                ),
                // A filing due on a weekday named with "até".
                (
                    "pt",
                    "Prazo",
                    "Nossos advogados precisam protocolar os documentos até quinta e a assinatura eletrônica falha.",
                    "legal or regulatory deadline",
                ),
                // A password changed by nobody the writer names, and the owner locked out.
                ("en", "2fa", "got 2fa codes all night, now i cant log in and the password was changed", "security"),
                ("de", "Konto", "Ich komme nicht mehr rein, mein Passwort wurde geändert.", "security"),
                ("es", "Cuenta", "No puedo entrar, la contraseña ha sido cambiada esta noche.", "security"),
                ("fr", "Compte", "Je ne peux plus me connecter, mon mot de passe a été modifié cette nuit.", "security"),
                ("pt", "Conta", "Não consigo entrar, a senha foi alterada de madrugada.", "security"),
                // A password offered for sale: someone else holds it.
                ("en", "Leak", "A password of our admin account is for sale on a forum.", "security"),
                ("de", "Leck", "Das Passwort unseres Admin-Kontos wird in einem Forum zum Verkauf angeboten.", "security"),
                ("es", "Filtración", "La contraseña de nuestro administrador está en venta en un foro.", "security"),
                ("fr", "Fuite", "Le mot de passe de notre administrateur est à vendre sur un forum.", "security"),
                ("pt", "Vazamento", "A senha do nosso administrador está à venda num fórum.", "security"),
                // Gone from the system, however long the name of what is gone.
                (
                    "en",
                    "Update",
                    "After the update the vaccination history of every animal at the clinic disappeared from the system.",
                    "data loss",
                ),
                (
                    "de",
                    "Update",
                    "Nach dem Update ist der Impfverlauf aller Tiere der Praxis aus dem System verschwunden.",
                    "data loss",
                ),
                (
                    "es",
                    "Actualización",
                    "Tras la actualización, el historial de vacunas de todos los animales desapareció del sistema.",
                    "data loss",
                ),
                (
                    "fr",
                    "Mise à jour",
                    "Après la mise à jour, l'historique des vaccins de tous les animaux a disparu du système.",
                    "data loss",
                ),
                (
                    "pt",
                    "Atualização",
                    "Depois da atualização, o histórico de vacinação de todos os animais da clínica sumiu do sistema.",
                    "data loss",
                ),
                // The fleet standing still is a blocked team, whoever drives it.
                ("en", "Routes", "The route app shows nothing since 5am, our trucks are stuck in the depot.", "blocked team"),
                (
                    "de",
                    "Touren",
                    "Die Tour-App zeigt seit 5 Uhr nichts, unsere Lieferwagen stehen still im Depot.",
                    "blocked team",
                ),
                ("es", "Rutas", "La app de rutas no muestra nada desde las 5, las furgonetas están paradas.", "blocked team"),
                ("fr", "Tournées", "L'appli des tournées n'affiche rien depuis 5h, les camions sont à l'arrêt.", "blocked team"),
                ("pt", "Rotas", "O aplicativo de rotas não mostra nada desde as 5h, os caminhões estão parados.", "blocked team"),
            ];
            for (language, subject, body, reason) in cases {
                let (rank, decision) = rank_for(&policy, subject, body);
                assert!(rank <= 1, "{language} {subject}: {}", decision.summary);
                assert!(decision.summary.contains(reason), "{language} {subject}: {}", decision.summary);
                let severity = step(&decision, "severity");
                assert!(severity.hit && severity.matched.starts_with("signal"), "{language}: {severity:?}");
                assert!(!decision.evidence["severity"].is_empty(), "{language}: the words are evidence");
            }
            // Naming who changed the password is no sign of someone else.
            let (rank, decision) = rank_for(&policy, "Login", "I changed my password yesterday and now I can't log in.");
            assert!(rank >= 2, "{}", decision.summary);
            // One person charged twice is a billing correction.
            let (rank, decision) = rank_for(&policy, "Charged twice", "My card was charged twice for the same order.");
            assert!(rank >= 2, "{}", decision.summary);
        }

        #[test]
        fn impact_is_read_from_the_text_in_every_language() {
            let policy = default_policy();
            let cases = [
                ("en", "All of our users are affected: the report export is not working.", "many"),
                ("de", "Alle Mitarbeiter sind betroffen: der Export funktioniert nicht.", "many"),
                ("es", "Todos los usuarios están afectados: la exportación no funciona.", "many"),
                ("fr", "Tous nos utilisateurs sont touchés : l'export ne fonctionne pas.", "many"),
                ("pt", "Todos os usuários estão afetados: a exportação não funciona.", "many"),
                ("de", "Die ganze Abteilung ist betroffen: der Export funktioniert nicht.", "team"),
                // Everyone as those it happens for, in each language's own words.
                ("en", "The report export fails for everyone since this morning.", "many"),
                ("es", "La exportación falla para todo el mundo desde esta mañana.", "many"),
                ("fr", "L'export échoue pour tout le monde depuis ce matin.", "many"),
                ("pt", "A exportação falha para todo mundo desde hoje de manhã.", "many"),
                ("en", "Only me: the export is not working on my own account.", "one"),
            ];
            for (language, body, impact) in cases {
                let (_, decision) = rank_for(&policy, "Reports", body);
                let step = step(&decision, "impact");
                assert_eq!(step.effect.as_deref(), Some(format!("impact {impact}").as_str()), "{language}: {step:?}");
                assert!(step.matched.contains("inferred from the text"), "{language}: {step:?}");
                assert!(decision.evidence.contains_key("impact"), "{language}");
            }
            // "No customer" is everyone as the subject of what fails, and no scope when it is
            // what the screen shows.
            let quantifiers = [
                ("es", "Ningún cliente puede pagar: el checkout falla.", "La lista está vacía: no aparece ningún cliente."),
                ("fr", "Aucun client ne peut payer : le paiement échoue.", "La liste est vide : je ne vois aucun client."),
                ("pt", "Nenhum cliente consegue pagar: o checkout falha.", "A lista está vazia: não tem nenhum cliente."),
            ];
            for (language, everyone, shown) in quantifiers {
                let (_, decision) = rank_for(&policy, "Clientes", everyone);
                assert_eq!(step(&decision, "impact").effect.as_deref(), Some("impact many"), "{language}: {everyone}");
                let (_, decision) = rank_for(&policy, "Clientes", shown);
                assert_ne!(step(&decision, "impact").effect.as_deref(), Some("impact many"), "{language}: {shown}");
            }
            // The support team greeted, or colleagues named as the ones spared, are no team hit.
            let no_team = [
                ("de", "Hallo an das Team, der Export funktioniert bei mir nicht."),
                ("es", "Hola, el equipo técnico de ustedes me pidió escribir: la exportación no funciona."),
                ("fr", "Bonjour l'équipe, l'export ne fonctionne pas chez moi."),
                ("pt", "Olá a equipa, a exportação não funciona no meu computador."),
                ("en", "The printer does not work with your software on my PC. My colleagues don't have the problem."),
                ("de", "Der Drucker funktioniert nicht mit Ihrer Software. Die Kollegen haben das Problem nicht."),
                ("es", "La impresora no funciona con su programa. Los compañeros no tienen el problema."),
                ("fr", "L'imprimante ne fonctionne plus avec votre logiciel. Mes collègues n'ont pas le problème."),
                ("pt", "A impressora não funciona com o vosso programa. Os colegas não têm o problema."),
                // ... or colleagues who do it as usual; and "our service" in English is no department.
                ("pt", "Não consigo baixar o extrato em Excel. Meus colegas baixam em Excel normalmente."),
                ("es", "No puedo descargar el extracto en Excel. Mis compañeros lo descargan sin problemas."),
                ("fr", "Je ne peux pas télécharger le relevé en Excel. Mes collègues le téléchargent normalement."),
                ("en", "There is a billing issue with our IT consulting service account, the charges look wrong."),
                // A routine legal request: the department that asks is no team hit.
                ("fr", "Notre service juridique souhaite recevoir la dernière version de vos CGV."),
                ("en", "Our legal department asks for the current version of your terms."),
            ];
            for (language, body) in no_team {
                let (rank, decision) = rank_for(&policy, "Export", body);
                assert_ne!(step(&decision, "impact").effect.as_deref(), Some("impact team"), "{language}: {body}");
                assert!(rank >= 2, "{language}: {}", decision.summary);
            }
            // In a question the same words tell nothing about the scope of a problem.
            let (_, question) = rank_for(&policy, "Question", "How can all of our users see the monthly report?");
            let step = step(&question, "impact");
            assert!(step.effect.is_none() && step.matched.contains("no problem described"), "{step:?}");
        }

        #[test]
        fn trouble_that_works_elsewhere_is_not_read_as_an_incident_in_any_language() {
            let policy = default_policy();
            // (language, the alarming part, the words saying it stays with one device or user)
            let cases = [
                ("en", "HELP all my data is gone from the app!!!", "Everything looks normal on the laptop, only on my phone."),
                ("de", "HILFE alle meine Daten sind weg!!!", "Am Rechner ist alles normal, nur auf meinem Handy."),
                ("es", "¡¡Se han borrado todos mis datos!!", "En el ordenador se ve todo normal, solo en mi móvil."),
                ("fr", "Toutes mes données ont disparu !!!", "Sur l'ordinateur tout est normal, seulement sur mon téléphone."),
                ("pt", "SOCORRO apagou todos os meus dados!!!", "No computador aparece tudo normal, só no meu celular."),
                ("es", "¡¡La web se ha caído!!", "En el móvil de mi compañero sí funciona."),
            ];
            let (rank, decision) = rank_for(&policy, "Data", "¡¡No funciona nada!! En Firefox tampoco funciona.");
            assert!(rank <= 1, "a browser named without \"sí\" says nothing of containment: {:#?}", decision.trace);
            for (language, alarm, contained) in cases {
                let (alarmed, _) = rank_for(&policy, "Data", alarm);
                assert!(alarmed <= 1, "{language}: without the containment the words read as data loss");
                let (rank, decision) = rank_for(&policy, "Data", &format!("{alarm} {contained}"));
                assert!(rank > 1, "{language}: {}: {:#?}", decision.priority.level, decision.trace);
                let severity = step(&decision, "severity");
                assert!(severity.matched.contains("contained"), "{language}: {severity:?}");
            }
            // Impact the text states still counts: the whole company is not one device.
            let (rank, decision) = rank_for(
                &policy,
                "Outage",
                "The whole company cannot log in since 9:00. It only happens to me on the VPN though.",
            );
            assert!(rank <= 1, "{}: {:#?}", decision.priority.level, decision.trace);
        }

        #[test]
        fn nobody_seeing_or_nothing_working_is_a_malfunction_whose_scope_counts_in_every_language() {
            let policy = default_policy();
            let cases = [
                ("en", "Since this morning none of our drivers can see their routes in the app."),
                ("de", "Seit heute Morgen sieht keiner unserer Fahrer seine Touren in der App."),
                ("es", "Desde esta mañana ninguno de nuestros conductores ve sus rutas en la app."),
                ("fr", "Depuis ce matin aucun de nos chauffeurs ne voit ses tournées dans l'appli."),
                ("pt", "Desde hoje de manhã nenhum dos nossos motoristas vê as rotas no app."),
            ];
            for (language, body) in cases {
                let (rank, decision) = rank_for(&policy, "Routes", body);
                assert!(
                    step(&decision, "severity").matched.starts_with("signal malfunction"),
                    "{language}: {:#?}",
                    decision.trace
                );
                assert!(step(&decision, "impact").matched.contains("impact many"), "{language}: {:#?}", decision.trace);
                assert!(rank <= 1, "{language}: {}", decision.summary);
            }
            // None of something working: a malfunction, whatever the things are.
            let none_work = [
                ("en", "Black Friday starts in two hours and none of our discount codes work at checkout."),
                ("de", "In zwei Stunden startet der Black Friday und keiner unserer Rabattcodes funktioniert."),
                ("es", "El Black Friday empieza en dos horas y ninguno de nuestros códigos de descuento funciona."),
                ("fr", "Le Black Friday commence dans deux heures et aucun de nos codes promo ne fonctionne."),
                ("pt", "A Black Friday começa em duas horas e nenhum dos nossos cupons de desconto funciona no checkout."),
            ];
            // ... or an app that closes as soon as it opens.
            let closes_on_opening = [
                ("en", "Since your SDK update our iOS app crashes on launch for every user."),
                ("de", "Seit Ihrem SDK-Update stürzt unsere iOS-App direkt beim Start ab."),
                ("es", "Desde vuestra actualización del SDK nuestra app de iOS se cierra al abrirla."),
                ("fr", "Depuis votre mise à jour du SDK notre app iOS plante au lancement."),
                ("pt", "Desde a atualização do SDK de vocês nosso app iOS fecha ao abrir."),
            ];
            for (language, body) in none_work.into_iter().chain(closes_on_opening) {
                let (_, decision) = rank_for(&policy, "Codes", body);
                assert!(
                    step(&decision, "severity").matched.starts_with("signal malfunction"),
                    "{language}: {:#?}",
                    decision.trace
                );
            }
        }

        #[test]
        fn an_outage_denied_is_no_outage_but_the_trouble_beside_it_still_counts_in_every_language() {
            let policy = default_policy();
            let questions = [
                ("en", "No outage or anything, just a question: can we export reports to PDF?"),
                ("de", "Kein Ausfall oder so, nur eine Frage: Kann man Berichte als PDF exportieren?"),
                ("es", "Ninguna caída ni nada, solo una pregunta: ¿se pueden exportar los informes a PDF?"),
                ("fr", "Pas de panne ni rien, juste une question : peut-on exporter les rapports en PDF ?"),
                ("pt", "Nenhuma queda nem nada, só uma dúvida: dá para exportar relatórios em PDF?"),
            ];
            for (language, body) in questions {
                let (rank, decision) = rank_for(&policy, "PDF", body);
                let severity = step(&decision, "severity");
                assert!(!severity.matched.contains("signal outage ("), "{language}: {severity:?}");
                assert!(rank >= 2, "{language}: {}", decision.summary);
            }
            let partial = [
                ("en", "It's not a complete outage, but 40% of card payments are being declined since 11:00."),
                ("de", "Es ist kein Totalausfall, aber seit 11 Uhr werden 40 % der Kartenzahlungen abgelehnt."),
                ("es", "No es una caída total, pero desde las 11:00 se rechaza el 40 % de los pagos con tarjeta."),
                ("fr", "Ce n'est pas une panne totale, mais depuis 11 h 40 % des paiements par carte sont refusés."),
                ("pt", "Não é uma queda total, mas desde as 11h 40% dos pagamentos com cartão estão sendo recusados."),
            ];
            for (language, body) in partial {
                let (rank, decision) = rank_for(&policy, "Card payments", body);
                assert!(decision.summary.contains("failing payments"), "{language}: {}", decision.summary);
                assert!(rank <= 1, "{language}: {}", decision.summary);
            }
        }

        #[test]
        fn the_rest_of_the_team_being_fine_makes_the_impact_one_user_in_every_language() {
            let policy = default_policy();
            let spared = [
                ("en", "My calendar stopped syncing with Outlook, the rest of my team is fine."),
                ("en", "i dont get email notifications anymore, my coworkers are fine"),
                ("de", "Die Passwort-Reset-Mail kommt bei mir nicht an, den Kollegen gehts gut."),
                ("de", "Mein Kalender synchronisiert nicht mehr, der Rest vom Team hat das Problem nicht."),
                ("es", "No me sincroniza el calendario, al resto del equipo le funciona."),
                ("fr", "Mon agenda ne se synchronise plus, le reste de l'équipe n'a pas le problème."),
                ("pt", "Minha agenda parou de sincronizar, o resto da equipe está normal."),
                // The colleagues fine, in each language's own turn of phrase.
                ("en", "My calendar sync stopped working on my phone, my colleagues are fine."),
                ("es", "La sincronización del calendario dejó de funcionar en mi móvil, a mis compañeros les va bien."),
                ("fr", "La synchro de mon agenda ne marche plus sur mon téléphone, chez mes collègues ça va."),
                ("pt", "A sincronização da agenda parou de funcionar no meu celular, para os meus colegas está normal."),
                // The others got what did not reach this one.
                ("en", "One parent cannot reset her password, the email never arrives; the other parents got theirs."),
                ("es", "Una madre no puede restablecer su contraseña, el correo nunca llega; los demás padres sí lo recibieron."),
                (
                    "fr",
                    "Une mère ne peut pas réinitialiser son mot de passe, l'e-mail n'arrive pas ; les autres parents l'ont reçu.",
                ),
                ("pt", "Uma mãe não consegue redefinir a senha, o e-mail nunca chega; os outros pais receberam."),
            ];
            for (language, body) in spared {
                let (_, decision) = rank_for(&policy, "Calendar", body);
                let impact = step(&decision, "impact");
                assert!(impact.matched.contains("impact one"), "{language}: {impact:?}");
            }
            // Only for me, while the colleagues can: the colleagues are the ones spared.
            let only_me = [
                ("es", "Solo para mí el informe de comisiones sale en blanco, mis compañeros pueden verlo."),
                ("fr", "Seulement pour moi le rapport des commissions est vide, mes collègues peuvent le voir."),
                ("pt", "Só para mim o relatório de comissões aparece em branco, meus colegas conseguem ver."),
            ];
            for (language, body) in only_me {
                let (rank, decision) = rank_for(&policy, "Report", body);
                let impact = step(&decision, "impact");
                assert!(impact.matched.contains("impact one"), "{language}: {impact:?}");
                assert!(rank >= 2, "{language}: {}", decision.summary);
            }
            // A colleague's device where it works as usual is the contrast too.
            let colleague_device = [
                ("en", "Attachments do not open on my PC, on my colleague's laptop it works fine."),
                ("de", "Auf meinem Rechner öffnen sich die Anhänge nicht, bei meiner Kollegin läuft es ganz normal."),
                ("es", "En mi portátil no se abren los adjuntos, en el portátil de mi compañera va bien."),
                ("fr", "Sur mon PC les pièces jointes ne s'ouvrent pas, sur le portable de ma collègue ça marche."),
                ("pt", "No meu computador o sistema não abre os anexos, no notebook da minha colega abre normal."),
            ];
            for (language, body) in colleague_device {
                let (rank, decision) = rank_for(&policy, "Anexos", body);
                assert!(step(&decision, "impact").matched.contains("impact one"), "{language}: {:#?}", decision.trace);
                assert!(rank >= 2, "{language}: {}", decision.summary);
            }
            // Other stores that are fine make it a whole store's trouble, not one user's.
            let one_store = [
                ("en", "The card reader in our main store declines every card since 9, the other two stores are fine."),
                ("de", "In der Hauptfiliale lehnt das Kartenterminal seit 9 Uhr jede Karte ab, die anderen Filialen laufen."),
                ("es", "El datáfono de la tienda principal rechaza todas las tarjetas desde las 9, las otras tiendas van bien."),
                ("fr", "Le terminal de paiement du magasin principal refuse toutes les cartes, les autres magasins vont bien."),
                ("pt", "A maquininha da loja principal recusa todos os cartões desde as 9h, as outras lojas estão normais."),
            ];
            for (language, body) in one_store {
                let (rank, decision) = rank_for(&policy, "Cards", body);
                assert!(
                    !step(&decision, "severity").matched.starts_with("signal contained"),
                    "{language}: {:#?}",
                    decision.trace
                );
                assert!(rank <= 1, "{language}: {}", decision.summary);
            }
            // The colleagues hit too ("não conseguem") are no contrast: that is a team's trouble.
            let (_, decision) =
                rank_for(&policy, "Extrato", "Não consigo baixar o extrato, e meus colegas não conseguem trabalhar normalmente.");
            assert!(step(&decision, "impact").matched.contains("impact team"), "{:#?}", decision.trace);
            // Spanish says it works for the colleagues with "sí", in the singular or the plural.
            for body in [
                "No puedo cambiar mi foto de perfil, me da un error. A mis compañeros sí les deja.",
                "No me carga el informe, pero a mi compañera sí le carga.",
            ] {
                let (_, decision) = rank_for(&policy, "Perfil", body);
                let impact = step(&decision, "impact");
                assert!(impact.matched.contains("impact one"), "{body}: {impact:?}");
            }
            // The rest of the team hit too is a team's trouble.
            let (_, decision) =
                rank_for(&policy, "Calendar", "The calendar sync is broken for the rest of my team too, we get an error.");
            let impact = step(&decision, "impact");
            assert!(impact.matched.contains("impact team"), "{impact:?}");
        }

        #[test]
        fn phishing_training_is_no_security_incident_unless_someone_was_caught_in_every_language() {
            let policy = default_policy();
            let training = [
                ("en", "Do you offer phishing awareness training for our staff?"),
                ("de", "Bieten Sie Schulungen zum Thema Phishing für unsere Mitarbeiter an?"),
                ("es", "¿Ofrecéis formación sobre phishing para el personal?"),
                ("fr", "Proposez-vous une sensibilisation au phishing pour nos salariés ?"),
                ("pt", "Vocês oferecem treinamento de phishing para os funcionários?"),
            ];
            for (language, body) in training {
                let (rank, decision) = rank_for(&policy, "Phishing", body);
                assert!(rank >= 2, "{language}: {}", decision.summary);
                let severity = step(&decision, "severity");
                assert!(severity.matched.contains("held down by awareness"), "{language}: {severity:?}");
            }
            let (rank, decision) = rank_for(
                &policy,
                "Phishing",
                "A week after our phishing training an employee clicked a phishing link and entered her password.",
            );
            assert!(rank <= 1, "{}", decision.summary);
        }

        #[test]
        fn thanks_to_the_team_is_not_urgent_even_from_a_vip_in_any_language() {
            let policy = default_policy();
            let thanks = [
                ("en", "Thanks to the whole team, the migration went perfectly."),
                ("de", "Danke an das ganze Team, die Migration lief perfekt."),
                ("es", "Muchísimas gracias a todo el equipo, la migración ha ido perfecta."),
                ("fr", "Merci à toute l'équipe, la migration s'est parfaitement déroulée."),
                ("pt", "Obrigado a toda a equipe, a migração correu perfeitamente."),
                ("de", "Wir wollten uns nur bedanken für die Hilfe gestern."),
                ("es", "Solo queríamos agradecer la ayuda de ayer con el correo."),
                ("fr", "Je tenais à vous remercier pour l'aide d'hier."),
                ("pt", "Só queríamos agradecer a ajuda de ontem com o email."),
                // Thanks to one person of the support team, by name.
                ("en", "Thanks to Julie from support for her help yesterday."),
                ("de", "Danke an Julia vom Support für die Hilfe gestern."),
                ("es", "Gracias a Julia de soporte por la ayuda de ayer."),
                ("fr", "Un grand merci à Julie du support pour son aide hier."),
                ("pt", "Obrigado à Júlia do suporte pela ajuda de ontem."),
                ("es", "Mil gracias por la ayuda con la importación, todo perfecto."),
                ("pt", "Muito obrigado pelo atendimento de hoje, resolveram tudo rapidinho!"),
            ];
            for (language, body) in thanks {
                let mut t = ticket("Thank you", body);
                t.customer.plan = Some("enterprise".to_string());
                t.customer.vip = true;
                let decision = decide(&t, ModelOutput::of(&unsure()), 1, &policy, now());
                assert!(rank_of(&policy, &decision) > 1, "{language}: {}: {:#?}", decision.priority.level, decision.trace);
                assert!(step(&decision, "severity").matched.contains("low-severity"), "{language}");
            }
        }

        #[test]
        fn a_vips_praise_in_words_no_list_knows_stays_normal_while_a_vips_complaint_goes_up() {
            let policy = default_policy();
            let mut request = ticket("Jorge", "A big shout-out to Jorge, he sorted out our email templates in no time.");
            request.customer.vip = true;
            let with_sentiment = |label: &str, score: f32| {
                let mut p = predictions("medium", label, "General Inquiry");
                p.insert("sentiment".to_string(), head(label, score, false));
                p
            };
            // The sentiment head reads other languages' praise less surely ("dass die neue
            // Suchfunktion super ist": positive at 0.79), so clearly positive starts at 0.7.
            for score in [0.97, 0.75] {
                let praise = with_sentiment("positive", score);
                let decision = decide(&request, ModelOutput::of(&praise), 1, &policy, now());
                assert_eq!(decision.priority.level, "P3", "{score}: {}", decision.summary);
                assert!(!hits(&decision).contains(&"vip-raise"), "{score}: {:?}", hits(&decision));
            }
            let complaint = with_sentiment("negative", 0.97);
            let decision = decide(&request, ModelOutput::of(&complaint), 1, &policy, now());
            assert_eq!(decision.priority.level, "P2", "{}", decision.summary);
            assert!(hits(&decision).contains(&"vip-raise"), "{:?}", hits(&decision));
        }

        #[test]
        fn strongly_negative_sentiment_raises_a_complaint_but_not_what_its_own_words_call_minor() {
            let policy = default_policy();
            let mut upset = unsure();
            upset.insert("sentiment".to_string(), head("negative", 0.92, false));
            let minor = [
                ("en", "Typo on pricing page", "Small thing: your pricing page says 'unlimted storage'."),
                ("de", "Tippfehler", "Auf der Preisseite steht ein Tippfehler, nicht dringend."),
                ("es", "Errata en la web", "Hay una errata en la página de precios, no es urgente."),
                ("fr", "Faute de frappe", "Il y a une faute de frappe sur la page des tarifs, pas urgent."),
                ("pt", "Erro de digitação", "Na tabela de preços está escrito armazenamento ilimtado, sem pressa."),
            ];
            for (language, subject, body) in minor {
                let decision = decide(&ticket(subject, body), ModelOutput::of(&upset), 1, &policy, now());
                assert!(!hits(&decision).contains(&"strongly-negative"), "{language}: {:#?}", decision.trace);
                assert_eq!(decision.priority.level, "P4", "{language}: {}", decision.summary);
            }
            let complaint = ticket("Still waiting", "I have asked three times about my refund and nobody answers.");
            let decision = decide(&complaint, ModelOutput::of(&upset), 1, &policy, now());
            assert!(hits(&decision).contains(&"strongly-negative"), "{:#?}", decision.trace);
        }

        /// Each (language, subject, body) reads as a low-severity request and ends at P4.
        /// `severe` alone reads as `signal` and lands at P1/P2; `calm` has the signal's words too,
        /// but the signal does not count (the trace says it was `why`: "set aside by", "held
        /// down by"), the ticket lands lower, and `rule`, which tests the signal, does not hit.
        #[allow(clippy::too_many_arguments)]
        fn assert_set_aside(
            policy: &Policy,
            language: &str,
            subject: &str,
            severe: &str,
            calm: &str,
            signal: &str,
            why: &str,
            rule: &str,
        ) {
            let alarmed = decide(&ticket(subject, severe), ModelOutput::of(&unsure()), 1, policy, now());
            let severity = step(&alarmed, "severity");
            assert!(severity.matched.starts_with(&format!("signal {signal} (")), "{language}: {severe}: {}", severity.matched);
            assert!(rank_of(policy, &alarmed) <= 1, "{language}: {severe}: {}", alarmed.summary);
            let calmed = decide(&ticket(subject, calm), ModelOutput::of(&unsure()), 1, policy, now());
            let severity = step(&calmed, "severity");
            assert!(severity.matched.contains(&format!("signal {signal} {why}")), "{language}: {}", severity.matched);
            assert!(!severity.matched.starts_with(&format!("signal {signal} (")), "{language}: {}", severity.matched);
            assert!(rank_of(policy, &calmed) > 1, "{language}: {calm}: {}", calmed.summary);
            let tested = calmed.trace.iter().find(|s| s.rule == rule).expect("the rule that tests the signal is traced");
            assert!(!tested.hit && tested.matched.contains(why), "{language}: {tested:?}");
        }

        fn assert_minor_in_every_language(policy: &Policy, cases: &[(&str, &str, &str)]) {
            for (language, subject, body) in cases {
                let decision = decide(&ticket(subject, body), ModelOutput::of(&unsure()), 1, policy, now());
                let severity = step(&decision, "severity");
                assert!(severity.matched.contains("low-severity"), "{language}: {}", severity.matched);
                assert_eq!(decision.priority.level, "P4", "{language}: {}", decision.summary);
            }
        }

        #[test]
        fn a_legal_deadline_weeks_away_is_set_aside_in_every_language_and_one_days_away_is_not() {
            let policy = default_policy();
            let cases = [
                (
                    "en",
                    "Export for a GDPR request?",
                    "How do I export everything stored about one customer? Their access request is due",
                    "in three weeks.",
                    "tomorrow.",
                ),
                (
                    "de",
                    "Auskunftsersuchen nach DSGVO",
                    "Wie exportiere ich alles, was zu einem Kunden gespeichert ist? Die Frist läuft",
                    "in drei Wochen ab.",
                    "morgen ab.",
                ),
                (
                    "es",
                    "Solicitud RGPD",
                    "¿Cómo exporto todo lo guardado sobre un cliente? Tengo que atender su solicitud RGPD",
                    "en tres semanas.",
                    "mañana.",
                ),
                (
                    "fr",
                    "Demande RGPD",
                    "Comment exporter tout ce qui est enregistré sur un client ? Je dois répondre à sa demande RGPD",
                    "dans trois semaines.",
                    "demain.",
                ),
                (
                    "pt",
                    "Pedido LGPD",
                    "Como exporto tudo o que está guardado sobre um cliente? Tenho que responder ao pedido LGPD dele",
                    "daqui a três semanas.",
                    "amanhã.",
                ),
            ];
            for (language, subject, opening, distant, near) in cases {
                let (severe, calm) = (format!("{opening} {near}"), format!("{opening} {distant}"));
                assert_set_aside(&policy, language, subject, &severe, &calm, "legal-deadline", "set aside by", "legal-threat");
            }
        }

        #[test]
        fn legal_words_without_a_date_within_days_are_normal_work_yet_reviewed_in_every_language() {
            let policy = default_policy();
            // (language, subject, the legal matter, the same with a date within days)
            let cases = [
                (
                    "en",
                    "Data subject access request",
                    "A former customer sent us a subject access request under GDPR. How do we export their data?",
                    "A former customer sent us a subject access request under GDPR, due on Thursday. How do we export their data?",
                ),
                (
                    "de",
                    "Auskunftsersuchen nach Art. 15 DSGVO",
                    "Ein ehemaliger Kunde verlangt Auskunft nach Art. 15 DSGVO. Wie exportieren wir seine Daten?",
                    "Ein ehemaliger Kunde verlangt bis übermorgen Auskunft nach Art. 15 DSGVO. Wie exportieren wir seine Daten?",
                ),
                (
                    "es",
                    "Derecho de supresión",
                    "Un cliente ejerce su derecho de supresión. ¿Cómo borramos todos sus datos?",
                    "Un cliente ejerce su derecho de supresión y tenemos 48 horas. ¿Cómo borramos todos sus datos?",
                ),
                (
                    "fr",
                    "Demande d'accès",
                    "Une cliente exerce son droit d'accès. Comment exporter ses données ?",
                    "Une cliente exerce son droit d'accès et la CNIL attend la réponse vendredi. Comment exporter ses données ?",
                ),
                (
                    "pt",
                    "Pedido de titular",
                    "Um cliente ameaçou reclamar no PROCON e pede acesso aos meus dados. Como exportamos?",
                    "Um cliente pede acesso aos meus dados e o prazo termina depois de amanhã. Como exportamos?",
                ),
            ];
            for (language, subject, routine, dated) in cases {
                let (rank, decision) = rank_for(&policy, subject, routine);
                let severity = step(&decision, "severity");
                assert!(
                    severity.matched.starts_with("signal legal-deadline (P3, none of its `needs` words)"),
                    "{language}: {}",
                    severity.matched
                );
                assert_eq!(rank, 2, "{language}: {}", decision.summary);
                assert!(
                    decision.summary.contains("a legal matter without a deadline within days"),
                    "{language}: {}",
                    decision.summary
                );
                assert!(decision.tags.iter().any(|t| t == "legal") && decision.needs_review, "{language}: {decision:?}");
                let (rank, decision) = rank_for(&policy, subject, dated);
                let severity = step(&decision, "severity");
                assert!(severity.matched.starts_with("signal legal-deadline (P2)"), "{language}: {}", severity.matched);
                assert_eq!(rank, 1, "{language}: {}", decision.summary);
            }
        }

        #[test]
        fn one_slow_function_while_everything_else_works_is_normal_but_an_outage_is_not_in_every_language() {
            let policy = default_policy();
            // (language, one slow report while the rest works, an outage while the rest works)
            let cases = [
                (
                    "en",
                    "The stock report takes forever, nine minutes! Everything else is fine.",
                    "The checkout is down for every customer. Everything else works.",
                ),
                (
                    "de",
                    "Der Lagerbericht dauert ewig, neun Minuten! Alles andere läuft.",
                    "Der Shop ist für alle Kunden ausgefallen. Alles andere läuft.",
                ),
                (
                    "es",
                    "El informe de ventas tarda muchísimo, veinte minutos. El resto funciona.",
                    "La tienda está caída para todos los clientes. El resto funciona.",
                ),
                (
                    "fr",
                    "Le rapport de stock met une éternité, neuf minutes ! Tout le reste fonctionne.",
                    "Le site est en panne pour tous les clients. Tout le reste fonctionne.",
                ),
                (
                    "pt",
                    "O relatório de vendas demora uma eternidade, vinte minutos. O resto funciona.",
                    "A loja está fora do ar para todos os clientes. O resto funciona.",
                ),
            ];
            let predictions = unsure();
            let read_as_severe = ModelOutput { severe_by_meaning: Some(0.95), ..ModelOutput::of(&predictions) };
            for (language, slow, down) in cases {
                let decision = decide(&ticket("Problem", slow), read_as_severe, 1, &policy, now());
                let severity = step(&decision, "severity");
                assert!(severity.matched.starts_with("signal rest-works (P3)"), "{language}: {}", severity.matched);
                assert!(rank_of(&policy, &decision) >= 2, "{language}: {}", decision.summary);
                let decision = decide(&ticket("Problem", down), read_as_severe, 1, &policy, now());
                let severity = step(&decision, "severity");
                assert!(severity.matched.starts_with("signal outage (P1)"), "{language}: {}", severity.matched);
                assert!(rank_of(&policy, &decision) <= 1, "{language}: {}", decision.summary);
            }
            // Slow, but the work still gets done in the end.
            let slow_but_done = [
                ("en", "The export takes ten minutes instead of thirty seconds. It works in the end, though."),
                ("de", "Der Export dauert zehn Minuten statt dreißig Sekunden. Funktioniert aber am Ende."),
                ("es", "La exportación tarda diez minutos en vez de treinta segundos. Al final funciona."),
                ("fr", "L'export prend dix minutes au lieu de trente secondes. Ça finit par fonctionner."),
                ("pt", "A exportação demora dez minutos em vez de trinta segundos. No fim funciona."),
                // ... or shows its results in the end.
                ("en", "Search takes twenty seconds now, but it returns results eventually."),
                ("de", "Die Suche braucht jetzt zwanzig Sekunden, liefert am Ende aber Ergebnisse."),
                ("es", "La búsqueda tarda ahora veinte segundos, aunque al final devuelve resultados."),
                ("fr", "La recherche met maintenant vingt secondes, mais finit par donner des résultats."),
                ("pt", "A busca agora demora vinte segundos, mas no fim traz os resultados."),
                // ... or, said plainly, works.
                ("en", "The SAML login takes 20 to 30 seconds since yesterday, but it works."),
                ("de", "Der SAML-Login dauert seit gestern 20 bis 30 Sekunden, funktioniert aber."),
                ("es", "El inicio de sesión SAML tarda 20 a 30 segundos desde ayer, pero funciona."),
                ("fr", "La connexion SAML prend 20 à 30 secondes depuis hier, mais elle fonctionne."),
                ("pt", "O login SAML leva 20 a 30 segundos desde ontem, mas funciona."),
            ];
            for (language, slow) in slow_but_done {
                let decision = decide(&ticket("Export", slow), read_as_severe, 1, &policy, now());
                let severity = step(&decision, "severity");
                assert!(severity.matched.starts_with("signal works-eventually (P3)"), "{language}: {}", severity.matched);
                assert!(rank_of(&policy, &decision) >= 2, "{language}: {}", decision.summary);
            }
        }

        #[test]
        fn a_signal_short_of_its_needs_words_outranks_the_severity_probe() {
            let policy = default_policy();
            let body = "A former customer sent us a subject access request under GDPR. How do we export their data?";
            let predictions = unsure();
            let output = ModelOutput { severe_by_meaning: Some(0.99), ..ModelOutput::of(&predictions) };
            let decision = decide(&ticket("Access request", body), output, 1, &policy, now());
            assert!(step(&decision, "severity").matched.starts_with("signal legal-deadline (P3"), "{decision:?}");
            assert_eq!(decision.priority.level, "P3", "{}", decision.summary);
        }

        #[test]
        fn new_bank_details_are_invoice_fraud_only_with_money_gone_or_the_sender_doubted_in_every_language() {
            let policy = default_policy();
            // (language, the request for new bank details, the words that make it fraud)
            let cases = [
                (
                    "en",
                    "We got an email from you with new bank details for our payments.",
                    "Our accountant already transferred 18,000 euros. Was it really you?",
                ),
                (
                    "de",
                    "Wir haben eine Mail mit Ihrer neuen Bankverbindung bekommen.",
                    "Unsere Buchhaltung hat bereits überwiesen. Kam das wirklich von Ihnen?",
                ),
                (
                    "es",
                    "Recibimos un correo vuestro pidiendo cambiar el IBAN para los pagos.",
                    "Ya hemos transferido 18.000 euros. ¿Erais vosotros?",
                ),
                (
                    "fr",
                    "Nous avons reçu un e-mail de votre part nous demandant de changer l'IBAN.",
                    "Notre comptable a déjà fait un virement de 18 000 euros. Était-ce vraiment vous ?",
                ),
                (
                    "pt",
                    "Recebemos um e-mail vosso a pedir para alterar o IBAN dos pagamentos.",
                    "Já transferimos 18 mil euros. Foram mesmo vocês?",
                ),
            ];
            for (language, request, fraud) in cases {
                let (rank, decision) = rank_for(&policy, "Bank details", &format!("{request} {fraud}"));
                assert_eq!(rank, 0, "{language}: {}", decision.summary);
                assert!(decision.summary.contains("invoice fraud"), "{language}: {}", decision.summary);
                assert_eq!(decision.queue, "security", "{language}");
                let (rank, decision) = rank_for(&policy, "Bank details", request);
                assert!(rank >= 2, "{language}: {}", decision.summary);
                let severity = step(&decision, "severity");
                assert!(severity.matched.starts_with("signal payment-diversion (P4"), "{language}: {}", severity.matched);
                assert!(!hits(&decision).contains(&"invoice-fraud"), "{language}: {:?}", hits(&decision));
            }
            // No word of fraud, but the probe reads the ticket as severe: it speaks.
            let body =
                "Three staff logged in from abroad at 2am; one of them then changed two suppliers' bank details. Is that a VPN?";
            let predictions = unsure();
            let output = ModelOutput { severe_by_meaning: Some(0.96), ..ModelOutput::of(&predictions) };
            let decision = decide(&ticket("Login log", body), output, 1, &policy, now());
            assert!(step(&decision, "severity").matched.contains("severe by meaning"), "{:#?}", decision.trace);
            assert!(rank_of(&policy, &decision) <= 1, "{}", decision.summary);
        }

        #[test]
        fn a_question_about_planned_downtime_a_billing_lockout_or_a_security_exercise_is_not_an_incident_in_any_language() {
            let policy = default_policy();
            // Each read as severe by the probe and as high by the urgency head, as such tickets
            // were: the cap holds both down. (language, body, the cap that speaks)
            let cases = [
                ("en", "We move to a new server next month. Will there be any downtime for our users?", "all-clear"),
                ("de", "Wir ziehen nächsten Monat um. Wird es dabei Ausfallzeiten für unsere Nutzer geben?", "all-clear"),
                ("es", "El mes que viene migramos a un servidor nuevo. ¿Habrá caída del servicio?", "all-clear"),
                ("fr", "Nous migrons le mois prochain. Y aura-t-il une coupure pour nos utilisateurs ?", "all-clear"),
                ("pt", "Vamos migrar de servidor no mês que vem. A nossa loja vai ficar fora do ar?", "all-clear"),
                // A question about the announced maintenance, however the announcement is called.
                ("en", "We saw your maintenance notice for Sunday. How long will the platform be down?", "all-clear"),
                ("de", "Danke für die Wartungsankündigung. Wie lange ist der Shop am Samstag offline?", "all-clear"),
                ("es", "Vimos el aviso de mantenimiento del domingo. ¿Cuánto tiempo estará caída la plataforma?", "all-clear"),
                (
                    "fr",
                    "Nous avons vu l'annonce de maintenance de samedi. Combien de temps le service sera-t-il indisponible ?",
                    "all-clear",
                ),
                ("pt", "Vi o aviso de manutenção de domingo. O sistema vai ficar quanto tempo fora do ar?", "all-clear"),
                ("en", "Our account was suspended for non-payment; we paid this morning. When is it back?", "billing-lockout"),
                ("de", "Unser Konto wurde wegen einer offenen Rechnung gesperrt, wir haben heute bezahlt.", "billing-lockout"),
                ("es", "Nos bloquearon la cuenta por impago, ya la hemos pagado esta mañana.", "billing-lockout"),
                ("fr", "Notre compte a été suspendu pour un impayé, nous venons de régler la facture.", "billing-lockout"),
                ("pt", "Nossa conta foi bloqueada por falta de pagamento, já pagamos o boleto hoje.", "billing-lockout"),
                ("en", "Our IT team runs a phishing simulation next week with a copy of your login page.", "no-incident"),
                ("de", "Wir planen nächsten Monat einen Penetrationstest auf unserer Instanz.", "no-incident"),
                ("es", "Queremos hacer una prueba de penetración en nuestra instancia el mes que viene.", "no-incident"),
                ("fr", "Nous souhaitons réaliser un test d'intrusion sur notre instance le mois prochain.", "no-incident"),
                ("pt", "Queremos fazer um teste de invasão no nosso ambiente no mês que vem.", "no-incident"),
                // ... or a simulated cyberattack.
                ("en", "Next week we run a simulated cyberattack with our staff. Should we tell you?", "no-incident"),
                ("de", "Nächste Woche üben wir einen simulierten Cyberangriff. Sollen wir Ihnen Bescheid geben?", "no-incident"),
                ("es", "La semana que viene hacemos un simulacro de ciberataque. ¿Hay que avisaros?", "no-incident"),
                ("fr", "Nous organisons un exercice de cyberattaque simulée. Faut-il vous prévenir ?", "no-incident"),
                ("pt", "Vamos fazer uma simulação de ataque com a equipe. Precisamos avisar vocês?", "no-incident"),
                // A document asked for again: "can't find it" is no fault, the team that asks no team hit.
                ("en", "Could you resend the October invoice? Our accounts team can't find it.", "document-request"),
                (
                    "de",
                    "Können Sie uns die Oktober-Rechnung nochmals schicken? Die Buchhaltung findet sie nicht.",
                    "document-request",
                ),
                ("es", "¿Me pueden reenviar la factura de octubre? En contabilidad no la encuentran.", "document-request"),
                ("fr", "Pourriez-vous renvoyer la facture d'octobre ? Notre comptabilité ne la trouve pas.", "document-request"),
                ("pt", "Podem reenviar a fatura de outubro? A contabilidade não a encontra.", "document-request"),
                // ... or a quote for more seats, by a date.
                ("en", "Could you send the updated quote with 300 seats before Friday?", "document-request"),
                ("de", "Könnten Sie uns das aktualisierte Angebot mit 300 Lizenzen bis Freitag schicken?", "document-request"),
                ("es", "¿Nos podéis enviar el presupuesto actualizado con 300 licencias antes del viernes?", "document-request"),
                ("fr", "Pourriez-vous nous envoyer le devis mis à jour avec 300 licences avant vendredi ?", "document-request"),
                ("pt", "Vocês podem enviar o orçamento atualizado com 300 licenças até sexta?", "document-request"),
                // The vendor's report on an outage, asked for or received: the outage is behind it.
                ("en", "Following the outage you had on 12 November, could you send us the incident report?", "all-clear"),
                ("de", "Bitte senden Sie uns für die Unterlagen den Bericht zum Ausfall vom 3. November.", "all-clear"),
                ("es", "¿Nos podéis enviar el informe del incidente de la caída del martes?", "all-clear"),
                ("fr", "Nous avons bien reçu votre rapport d'incident concernant la panne de mardi.", "all-clear"),
                ("pt", "Vocês podem mandar o relatório do incidente da queda de terça-feira?", "all-clear"),
                // A maintenance named before the word that announces it.
                ("de", "Für Dienstag ist eine Wartung angekündigt. Ist der Shop dann offline?", "all-clear"),
                ("en", "A maintenance has been announced for Tuesday. Will the shop be offline?", "all-clear"),
                // An outage only supposed: what would happen if the service went down.
                ("en", "What happens to our tickets if your platform goes down? Do emails queue up?", "supposed"),
                ("de", "Was passiert mit unseren Tickets, falls Ihre Plattform ausfällt?", "supposed"),
                ("es", "¿Qué pasa con los pedidos si vuestra plataforma se cae? ¿Se pierden?", "supposed"),
                ("fr", "Que deviennent nos tickets si votre plateforme tombe en panne ?", "supposed"),
                ("pt", "Se a internet da loja cair, o sistema de vendas continua funcionando offline?", "supposed"),
                // Thanks for an outage fixed, with everything working again.
                ("de", "Danke, dass Sie den Ausfall gestern so schnell behoben haben, alles funktioniert wieder.", "all-clear"),
                // Outages in general, as something to be alerted to.
                ("en", "Our on-call team wants to be notified about outages by SMS.", "supposed"),
                ("de", "Unsere Rufbereitschaft möchte per SMS über Ausfälle benachrichtigt werden.", "supposed"),
                ("es", "El equipo de guardia quiere recibir avisos de caídas por SMS.", "supposed"),
                ("fr", "Notre équipe d'astreinte veut être prévenue des pannes par SMS.", "supposed"),
                ("pt", "A equipe de plantão quer ser avisada das quedas por SMS; dá para receber alertas de queda?", "supposed"),
                // ... or a question to subscribe to them.
                ("en", "Can we subscribe to your status page by SMS so our on-call team hears about outages?", "how-to"),
                (
                    "de",
                    "Können wir Ihre Statusseite per SMS abonnieren, damit die Rufbereitschaft von Ausfällen erfährt?",
                    "how-to",
                ),
                ("es", "¿Podemos suscribirnos a vuestra página de estado por SMS para enterarse de las caídas?", "how-to"),
                ("fr", "Peut-on s'abonner à votre page de statut par SMS pour être prévenus des pannes ?", "how-to"),
                ("pt", "Podemos assinar a página de status por SMS para saber das quedas?", "how-to"),
                // How the vendor would handle a security incident, asked before signing.
                ("en", "How do you handle a security incident? We want to know before we sign.", "no-incident"),
                (
                    "de",
                    "Wie gehen Sie mit einem Sicherheitsvorfall um? Das wollen wir vor der Unterschrift wissen.",
                    "no-incident",
                ),
                ("es", "¿Cómo gestionáis un incidente de seguridad? Queremos saberlo antes de firmar.", "no-incident"),
                ("fr", "Comment gérez-vous un incident de sécurité ? Nous voulons le savoir avant de signer.", "no-incident"),
                ("pt", "Como vocês lidam com um incidente de segurança? Queremos saber antes de assinar.", "no-incident"),
                // A security advisory forwarded, nothing seen.
                ("en", "Forwarding the security advisory about the logging library. Does it affect you?", "no-incident"),
                ("de", "Ich leite den Sicherheitshinweis zur Logging-Bibliothek weiter. Sind Sie betroffen?", "no-incident"),
                ("es", "Os reenvío el aviso de seguridad de la librería de logs. ¿Os afecta?", "no-incident"),
                (
                    "fr",
                    "Je vous transfère l'avis de sécurité sur la bibliothèque de journalisation. Êtes-vous concernés ?",
                    "no-incident",
                ),
                ("pt", "Encaminho o alerta de segurança da biblioteca de logs. Vocês são afetados?", "no-incident"),
                // A vendor questionnaire is compliance paperwork, whatever incident it asks about.
                ("en", "Please describe your security incident process for our vendor questionnaire.", "planning"),
                (
                    "de",
                    "Bitte beschreiben Sie Ihren Prozess bei Sicherheitsvorfällen für unseren Lieferantenfragebogen.",
                    "planning",
                ),
                ("es", "Describid vuestro proceso ante incidentes de seguridad para el cuestionario de proveedores.", "planning"),
                (
                    "fr",
                    "Décrivez votre processus en cas d'incident de sécurité pour notre questionnaire fournisseur.",
                    "planning",
                ),
                ("pt", "Descrevam o processo de incidentes de segurança para o questionário de fornecedores.", "planning"),
                // A test ticket deleted: nothing away from the trial is lost.
                ("en", "I deleted a test ticket by mistake. Can deleted tickets be restored?", "not-production"),
                ("de", "Ich habe aus Versehen ein Testticket gelöscht. Kann man es wiederherstellen?", "not-production"),
                ("es", "Borré por error un ticket de prueba. ¿Se pueden restaurar los tickets borrados?", "not-production"),
                ("fr", "J'ai supprimé par erreur un ticket de test. Peut-on restaurer les tickets supprimés ?", "not-production"),
                ("pt", "Apaguei sem querer um ticket de teste. Dá para restaurar tickets apagados?", "not-production"),
                // A message sent to try an integration, to be ignored.
                ("en", "Test: please ignore this ticket, we are checking the email integration.", "not-production"),
                ("de", "Test: Bitte dieses Ticket ignorieren, wir prüfen die E-Mail-Anbindung.", "not-production"),
                ("es", "Prueba: ignorad este ticket, estamos comprobando la integración de correo.", "not-production"),
                ("fr", "Test : merci d'ignorer ce ticket, nous vérifions l'intégration e-mail.", "not-production"),
                ("pt", "Teste: por favor ignorem este ticket, estamos verificando a integração de e-mail.", "not-production"),
            ];
            let shouting = predictions("high", "negative", "General Inquiry");
            for (language, body, cap) in cases {
                let severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&shouting) };
                let decision = decide(&ticket("", body), severe, 1, &policy, now());
                assert!(
                    step(&decision, "severity").matched.starts_with(&format!("signal {cap} (")),
                    "{language}: {:#?}",
                    decision.trace
                );
                assert!(rank_of(&policy, &decision) >= 2, "{language}: {body}: {}", decision.summary);
            }
            // A security exercise that found something is a finding, not an exercise.
            let finding = "Our penetration test found that we can log into other customers' accounts without a password.";
            let (rank, decision) = rank_for(&policy, "Pentest", finding);
            assert!(rank <= 1, "{}", decision.summary);
            // The summary says which cap held the head's high down.
            let severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&shouting) };
            let decision = decide(&ticket("", cases[0].1), severe, 1, &policy, now());
            assert!(
                decision.summary.contains("held to medium as the text says trouble that is over or only announced (severe 0.90)"),
                "{}",
                decision.summary
            );
        }

        #[test]
        fn an_app_that_works_offline_is_a_feature_not_an_outage_in_every_language() {
            let policy = default_policy();
            let questions = [
                ("en", "Does the mobile app work offline when our technicians have no network?"),
                ("de", "Funktioniert die App auch offline, wenn die Techniker kein Netz haben?"),
                ("es", "¿La app funciona sin conexión cuando los técnicos no tienen cobertura?"),
                ("fr", "Est-ce que l'application mobile fonctionne hors ligne quand nos techniciens n'ont pas de réseau ?"),
                ("pt", "O aplicativo funciona offline quando os técnicos estão sem sinal?"),
            ];
            for (language, question) in questions {
                let decision = decide(&ticket("Offline", question), ModelOutput::of(&unsure()), 1, &policy, now());
                assert!(!step(&decision, "severity").matched.starts_with("signal outage"), "{language}: {:#?}", decision.trace);
                assert!(rank_of(&policy, &decision) >= 2, "{language}: {}", decision.summary);
            }
            let french = decide(&ticket("Offline", questions[3].1), ModelOutput::of(&unsure()), 1, &policy, now());
            assert!(step(&french, "severity").matched.contains("signal outage set aside by"), "{:#?}", french.trace);
        }

        #[test]
        fn a_how_to_question_holds_the_probe_down_unless_the_ticket_tells_of_an_event_in_every_language() {
            let policy = default_policy();
            // (language, a calm question the probe may read as severe, the same with an event)
            let cases = [
                (
                    "en",
                    "A customer asked us to erase their data. How do we do that in your system?",
                    "Since this morning customers see each other's invoices. How do we stop it?",
                ),
                (
                    "de",
                    "Ein Kunde will, dass wir seine Daten löschen. Wie können wir das im System machen?",
                    "Seit heute früh sehen Kunden fremde Rechnungen. Wie können wir das stoppen?",
                ),
                (
                    "es",
                    "Un cliente pidió borrar sus datos. ¿Cómo lo hacemos en el sistema?",
                    "Desde esta mañana los clientes ven facturas ajenas. ¿Cómo lo paramos?",
                ),
                (
                    "fr",
                    "Un client demande l'effacement de ses données. Comment faire dans l'outil ?",
                    "Depuis ce matin les clients voient les factures des autres. Comment faire pour arrêter ça ?",
                ),
                (
                    "pt",
                    "Um cliente pediu a exclusão dos dados. Como fazemos isso no sistema?",
                    "Desde hoje de manhã os clientes veem faturas de outros. Como fazemos para parar?",
                ),
                // Help asked with planned work: setting up new hires' accounts.
                (
                    "en",
                    "We have 30 new hires in January. Can you help us set up their accounts?",
                    "Since this morning none of our 30 users can log in. Can you help us set up access again?",
                ),
                (
                    "de",
                    "Im Januar fangen 20 neue Mitarbeiter an. Können Sie uns bei der Einrichtung der Konten helfen?",
                    "Seit heute früh kommt niemand mehr ins System. Können Sie uns bei der Einrichtung helfen?",
                ),
                (
                    "es",
                    "En enero entran 15 personas nuevas, ¿nos ayudáis a preparar las cuentas?",
                    "Desde esta mañana nadie puede entrar, ¿nos ayudáis a preparar el acceso?",
                ),
                (
                    "fr",
                    "Dix personnes arrivent en janvier, pouvez-vous nous aider à préparer leurs comptes ?",
                    "Depuis ce matin personne ne peut se connecter, pouvez-vous nous aider à préparer un accès ?",
                ),
                (
                    "pt",
                    "Em janeiro entram 12 pessoas novas, vocês podem ajudar a preparar os acessos?",
                    "Desde hoje de manhã ninguém consegue entrar, vocês podem ajudar a preparar os acessos?",
                ),
                // How to delete a user's account on request.
                (
                    "de",
                    "Wie löschen wir das Konto eines Nutzers, wenn er es nach DSGVO verlangt?",
                    "Seit heute früh kann sich kein Nutzer anmelden. Wie löschen wir die alten Sitzungen?",
                ),
                (
                    "es",
                    "¿Cómo borramos la cuenta de un usuario cuando lo pide según el RGPD?",
                    "Desde esta mañana nadie puede entrar. ¿Cómo borramos las sesiones antiguas?",
                ),
                (
                    "fr",
                    "Comment supprimer le compte d'un utilisateur qui nous le demande par e-mail ?",
                    "Depuis ce matin personne ne peut se connecter. Comment supprimer les anciennes sessions ?",
                ),
                (
                    "pt",
                    "Como excluímos a conta de um usuário quando ele pede pela LGPD?",
                    "Desde hoje de manhã ninguém consegue entrar. Como excluímos as sessões antigas?",
                ),
            ];
            let predictions = unsure();
            for (language, question, incident) in cases {
                let severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&predictions) };
                let calm = decide(&ticket("", question), severe, 1, &policy, now());
                assert!(step(&calm, "severity").matched.starts_with("signal how-to (P3)"), "{language}: {:#?}", calm.trace);
                assert_eq!(rank_of(&policy, &calm), 2, "{language}: {}", calm.summary);
                let decision = decide(&ticket("", incident), severe, 1, &policy, now());
                assert!(!step(&decision, "severity").matched.starts_with("signal how-to"), "{language}: {:#?}", decision.trace);
                assert!(rank_of(&policy, &decision) <= 1, "{language}: {}", decision.summary);
            }
            // A question has no scope: a team named in its sign-off is no team affected.
            let signed = "Wo finde ich die Rechnung vom März? Unser Team steht Ihnen gerne zur Verfügung.";
            let decision = decide(&ticket("Frage", signed), ModelOutput::of(&predictions), 1, &policy, now());
            assert!(step(&decision, "severity").matched.starts_with("signal how-to"), "{:#?}", decision.trace);
            assert_eq!(rank_of(&policy, &decision), 2, "{}", decision.summary);
            // Only "hace" of a time ("hace dos horas") tells of an event, not the "hace" of "¿cómo se hace?".
            let severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&predictions) };
            let how = decide(&ticket("", "¿Cómo se hace una copia de los datos de un cliente?"), severe, 1, &policy, now());
            assert!(step(&how, "severity").matched.starts_with("signal how-to"), "{:#?}", how.trace);
        }

        #[test]
        fn trouble_that_is_over_elsewhere_or_only_asked_about_is_held_down_in_every_language() {
            let policy = default_policy();
            // (language, the alarm, what holds it down, the signal held down)
            let cases = [
                (
                    "en",
                    "Our shop was completely down for an hour yesterday.",
                    "It has been stable since then, please send a root-cause report.",
                    "outage",
                ),
                (
                    "de",
                    "Gestern war unser Shop eine Stunde komplett ausgefallen.",
                    "Seitdem läuft alles, bitte schickt uns einen Bericht.",
                    "outage",
                ),
                (
                    "es",
                    "Nuestra tienda estuvo caída una hora el martes.",
                    "Desde entonces funciona con normalidad, queremos el informe.",
                    "outage",
                ),
                (
                    "fr",
                    "Notre site était inaccessible hier soir pendant une heure.",
                    "Tout est rentré dans l'ordre depuis, merci d'envoyer un rapport.",
                    "outage",
                ),
                (
                    "pt",
                    "A nossa loja ficou fora do ar uma hora ontem.",
                    "Desde então está tudo normal, queremos o relatório.",
                    "outage",
                ),
                (
                    "en",
                    "Our staging server is down with 502 errors.",
                    "Production is fine, customers are not affected.",
                    "outage",
                ),
                (
                    "en",
                    "Phishing mails pretending to be you reached our staff.",
                    "Nobody clicked the link, we deleted them.",
                    "security-incident",
                ),
                (
                    "de",
                    "Phishing-Mail im Namen eurer Firma bei uns eingegangen.",
                    "Niemand hat geklickt, wir haben sie gelöscht.",
                    "security-incident",
                ),
                (
                    "es",
                    "Nos llegó un correo de phishing en vuestro nombre.",
                    "Nadie ha pinchado en el enlace, ya lo borramos.",
                    "security-incident",
                ),
                (
                    "fr",
                    "Un mail de phishing à votre nom est arrivé chez nous.",
                    "Personne n'a cliqué, nous l'avons supprimé.",
                    "security-incident",
                ),
                (
                    "pt",
                    "Recebemos um e-mail de phishing em vosso nome.",
                    "Ninguém clicou no link, já apagámos.",
                    "security-incident",
                ),
                // Announced trouble months away is planning.
                (
                    "en",
                    "Your API will stop accepting TLS 1.0, so our shop will be down?",
                    "The switch is three months from now, we want to prepare.",
                    "outage",
                ),
                (
                    "de",
                    "Ihr schaltet TLS 1.0 ab, ist dann unser Shop ausgefallen?",
                    "Das ist erst in drei Monaten, wir wollen vorbereitet sein.",
                    "outage",
                ),
                (
                    "es",
                    "Van a desactivar TLS 1.0, ¿nuestra tienda estará caída?",
                    "Es dentro de tres meses, queremos prepararnos.",
                    "outage",
                ),
                (
                    "fr",
                    "Vous coupez TLS 1.0, notre site sera en panne ?",
                    "C'est dans trois mois, nous voulons nous préparer.",
                    "outage",
                ),
                (
                    "pt",
                    "Vão desativar o TLS 1.0, a nossa loja fica fora do ar?",
                    "Ainda faltam três meses, queremos prevenir.",
                    "outage",
                ),
                // Over since, told plainly; a phishing mail nobody here clicked; paperwork.
                ("es", "Ayer el sistema estuvo caído unos diez minutos.", "Ya funciona bien, ¿qué pasó?", "outage"),
                // Over, told as thanks for the fix, a request for the root cause, or today's calm.
                (
                    "en",
                    "Last Tuesday's outage took our shop down for an hour.",
                    "Thanks for fixing it so quickly, could you send the root cause analysis?",
                    "outage",
                ),
                (
                    "de",
                    "Gestern war unser Shop eine Stunde ausgefallen.",
                    "Danke für die schnelle Behebung, heute läuft alles.",
                    "outage",
                ),
                ("es", "Ayer la web estuvo caída un rato.", "Hoy todo funciona bien, ¿qué pasó?", "outage"),
                (
                    "fr",
                    "Notre site était en panne hier soir.",
                    "Merci d'avoir résolu ça si vite, aujourd'hui tout fonctionne.",
                    "outage",
                ),
                (
                    "pt",
                    "Ontem o sistema ficou fora do ar por 20 minutos.",
                    "Hoje está tudo normal, enviem o relatório do incidente.",
                    "outage",
                ),
                // Over, as far as the writer can tell: it seems resolved, it runs stably since.
                (
                    "en",
                    "Our checkout was down for an hour this morning.",
                    "It seems resolved now, payments are going through again.",
                    "outage",
                ),
                (
                    "de",
                    "Letzten Donnerstag war der Shop zwei Stunden nicht erreichbar.",
                    "Seitdem läuft es stabil, gibt es eine Gutschrift?",
                    "outage",
                ),
                ("es", "La web estuvo caída esta mañana.", "Parece resuelto, los pedidos vuelven a pasar.", "outage"),
                (
                    "fr",
                    "Notre site était en panne ce matin.",
                    "L'incident semble résolu, les paiements passent à nouveau.",
                    "outage",
                ),
                ("pt", "O sistema ficou fora do ar de manhã.", "Parece resolvido, os pagamentos voltaram a passar.", "outage"),
                // Over by itself, told plainly.
                ("de", "Heute Vormittag war unser Shop nicht erreichbar.", "Die Störung ist bei uns vorbei, danke.", "outage"),
                ("es", "Esta mañana la web estuvo caída.", "Ya se ha solucionado solo, solo para que lo sepáis.", "outage"),
                ("pt", "Ontem à noite o sistema ficou fora do ar.", "Voltou sozinho, só queria entender.", "outage"),
                // Deleted, but in the recycle bin, where the product restores it.
                (
                    "en",
                    "I deleted all the files of our folder by mistake.",
                    "I can see they are in the recycle bin.",
                    "data-loss",
                ),
                ("de", "Ich habe die Dateien im Ordner Angebote aus Versehen gelöscht.", "Sie sind im Papierkorb.", "data-loss"),
                (
                    "es",
                    "He borrado sin querer los archivos de presupuestos.",
                    "Ya he visto que están en la papelera.",
                    "data-loss",
                ),
                ("fr", "J'ai supprimé par erreur les fichiers des devis.", "Je vois qu'ils sont dans la corbeille.", "data-loss"),
                ("pt", "Apaguei sem querer os arquivos dos orçamentos.", "Vi que estão na lixeira.", "data-loss"),
                (
                    "pt",
                    "Recebi um e-mail de phishing a pedir a minha senha em vosso nome.",
                    "Não cliquei em nada.",
                    "security-incident",
                ),
                (
                    "de",
                    "Wenn ein Server ausfällt, sind die Daten dann verloren?",
                    "Wir brauchen das für unser Verarbeitungsverzeichnis.",
                    "data-loss",
                ),
                // ... or an IT contingency plan ("plan de secours").
                (
                    "de",
                    "Wenn Ihr Rechenzentrum abbrennt, sind dann alle Daten verloren?",
                    "Wir überarbeiten unsere Notfallvorsorge.",
                    "data-loss",
                ),
                (
                    "es",
                    "Si su centro de datos se incendia, ¿quedarían todos los datos perdidos?",
                    "Estamos actualizando nuestro plan de contingencia.",
                    "data-loss",
                ),
                (
                    "fr",
                    "Si votre centre de données brûle, toutes nos données sont-elles perdues ?",
                    "Nous mettons à jour notre plan de secours informatique.",
                    "data-loss",
                ),
                (
                    "pt",
                    "Se o vosso centro de dados arder, os dados ficam todos perdidos?",
                    "Estamos atualizando o nosso plano de contingência.",
                    "data-loss",
                ),
                // A risk assessment asking about a disaster is planning.
                (
                    "en",
                    "If your data centre burned down, would all our data be lost?",
                    "We need the answer for our risk assessment.",
                    "data-loss",
                ),
                (
                    "de",
                    "Wenn Ihr Rechenzentrum abbrennt, sind dann alle Daten verloren?",
                    "Wir brauchen das für die Risikobewertung.",
                    "data-loss",
                ),
                (
                    "es",
                    "Si su centro de datos se incendia, ¿quedarían todos los datos perdidos?",
                    "Lo necesitamos para la evaluación de riesgos.",
                    "data-loss",
                ),
                (
                    "fr",
                    "Si votre centre de données brûle, toutes nos données sont-elles perdues ?",
                    "C'est pour notre analyse de risques.",
                    "data-loss",
                ),
                (
                    "pt",
                    "Se o vosso centro de dados arder, os dados ficam todos perdidos?",
                    "Precisamos disto para a avaliação de riscos.",
                    "data-loss",
                ),
                // A question for data-protection paperwork, or how long the vendor keeps data.
                ("en", "Are deleted records lost for good after 30 days?", "Asking for our GDPR documentation.", "data-loss"),
                (
                    "de",
                    "Wenn wir Datensätze löschen, sind die Daten dann verloren?",
                    "Unser Datenschutzbeauftragter fragt.",
                    "data-loss",
                ),
                (
                    "es",
                    "¿Los registros borrados se pierden definitivamente a los 30 días?",
                    "Lo necesitamos para nuestro registro de tratamiento.",
                    "data-loss",
                ),
                (
                    "fr",
                    "Les données supprimées sont-elles perdues définitivement après 30 jours ?",
                    "Combien de temps conservez-vous les sauvegardes ?",
                    "data-loss",
                ),
                (
                    "pt",
                    "Os registros excluídos são perdidos definitivamente depois de 30 dias?",
                    "Precisamos para a documentação da LGPD.",
                    "data-loss",
                ),
                // An outage only simulated in an exercise, or last month's outages looked back on.
                (
                    "en",
                    "Our shop will be down for all customers during the exercise.",
                    "We want to simulate your service being down next Tuesday.",
                    "outage",
                ),
                (
                    "de",
                    "Dann ist der Shop ausgefallen, für alle Kunden.",
                    "Wir wollen bei der Übung einen Ausfall Ihres Dienstes simulieren.",
                    "outage",
                ),
                (
                    "es",
                    "La tienda estará caída para todos los clientes.",
                    "Queremos simular que vuestro servicio está caído en el simulacro.",
                    "outage",
                ),
                (
                    "fr",
                    "Notre site sera en panne pour tous les clients.",
                    "Nous voulons simuler une panne de votre service lors de l'exercice.",
                    "outage",
                ),
                (
                    "pt",
                    "A loja fica fora do ar para todos os clientes.",
                    "Queremos simular que o serviço de vocês caiu no exercício.",
                    "outage",
                ),
                (
                    "en",
                    "Your platform was down for all our customers twice.",
                    "Last month's two outages exceed the SLA, how do we claim the credit?",
                    "outage",
                ),
                (
                    "de",
                    "Die Plattform war für alle Kunden ausgefallen.",
                    "Die Ausfälle im letzten Monat liegen über dem SLA.",
                    "outage",
                ),
                (
                    "es",
                    "La plataforma estuvo caída para todos los clientes.",
                    "Las caídas del mes pasado superan el SLA, ¿cómo pedimos la compensación?",
                    "outage",
                ),
                (
                    "fr",
                    "La plateforme était en panne pour tous les clients.",
                    "Les pannes du mois dernier dépassent le SLA.",
                    "outage",
                ),
                (
                    "pt",
                    "A plataforma ficou fora do ar para todos os clientes.",
                    "As quedas do mês passado passam do SLA.",
                    "outage",
                ),
                // Whether announced work will bring downtime is a question about the future.
                (
                    "en",
                    "Is the web shop down during the upgrade on Sunday?",
                    "Will there be any downtime at all? We want to warn our staff.",
                    "outage",
                ),
                (
                    "de",
                    "Ist unser Shop dann ausgefallen, beim Update am Sonntag?",
                    "Wird es eine Ausfallzeit geben? Wir wollen das Team informieren.",
                    "outage",
                ),
                (
                    "es",
                    "¿La tienda estará caída durante la actualización del domingo?",
                    "¿Habrá corte de servicio? Queremos avisar al personal.",
                    "outage",
                ),
                (
                    "fr",
                    "Notre site sera en panne pendant la mise à jour de dimanche ?",
                    "Y aura-t-il une coupure ? Nous avons des équipes de nuit.",
                    "outage",
                ),
                (
                    "pt",
                    "A loja fica fora do ar durante a manutenção de domingo?",
                    "Vai ter indisponibilidade? Queremos avisar a equipe.",
                    "outage",
                ),
                // A recovery drill announced, or how often backups run.
                (
                    "en",
                    "Your platform was down for all our customers twice.",
                    "How often do you back up, and how long does a restore take?",
                    "outage",
                ),
                ("de", "Die Plattform war für alle Kunden ausgefallen.", "Wie oft sichern Sie unsere Daten?", "outage"),
                (
                    "es",
                    "La plataforma estuvo caída para todos los clientes.",
                    "¿Con qué frecuencia hacéis copias de seguridad?",
                    "outage",
                ),
                (
                    "fr",
                    "La plateforme était en panne pour tous les clients.",
                    "Nous préparons un test de reprise samedi.",
                    "outage",
                ),
                (
                    "pt",
                    "A plataforma ficou fora do ar para todos os clientes.",
                    "Vamos fazer um teste de recuperação de desastres no sábado.",
                    "outage",
                ),
                // Everything back since, with a word between.
                (
                    "fr",
                    "Notre API était injoignable pour tous les clients.",
                    "Tout est revenu depuis, c'est juste pour information.",
                    "outage",
                ),
                (
                    "pt",
                    "A API ficou fora do ar para todos os clientes.",
                    "Desde então tudo funciona, é só para registro.",
                    "outage",
                ),
                // A note for the record that asks nothing.
                (
                    "en",
                    "Our shop was down for all customers for ten minutes.",
                    "Just for your records, no action needed.",
                    "outage",
                ),
                ("de", "Die Plattform war für alle Kunden ausgefallen.", "Nur zur Info, kein Handlungsbedarf.", "outage"),
                (
                    "es",
                    "La tienda estuvo caída para todos los clientes diez minutos.",
                    "Es solo para que conste, no hace falta hacer nada.",
                    "outage",
                ),
                (
                    "fr",
                    "Notre site était en panne pour tous les clients pendant dix minutes.",
                    "C'est pour information, aucune action nécessaire.",
                    "outage",
                ),
                (
                    "pt",
                    "A loja ficou fora do ar para todos os clientes por dez minutos.",
                    "É só para registro, não precisa fazer nada.",
                    "outage",
                ),
                // A reply closing the thread, above the quoted outage it answers.
                (
                    "en",
                    "> We are investigating why the site is down for all customers.",
                    "Everything is running again since 14:05, you can close the ticket.",
                    "outage",
                ),
                (
                    "de",
                    "> Wir untersuchen, warum die Seite für alle Kunden ausgefallen ist.",
                    "Alles funktioniert wieder, Sie können das Ticket schließen.",
                    "outage",
                ),
                (
                    "es",
                    "> Estamos investigando por qué la web está caída para todos los clientes.",
                    "Todo funciona otra vez, podéis cerrar el ticket.",
                    "outage",
                ),
                (
                    "fr",
                    "> Nous cherchons pourquoi le site est en panne pour tous les clients.",
                    "Tout refonctionne, vous pouvez clôturer le ticket.",
                    "outage",
                ),
                (
                    "pt",
                    "> Estamos investigando por que o site está fora do ar para todos os clientes.",
                    "Está tudo funcionando de novo, podem fechar o ticket.",
                    "outage",
                ),
            ];
            for (language, alarm, all_clear, signal) in cases {
                let calm = format!("{alarm} {all_clear}");
                assert_set_aside(&policy, language, "", alarm, &calm, signal, "held down by", signal);
            }
        }

        #[test]
        fn what_becomes_of_the_data_when_the_contract_ends_is_planning_in_every_language() {
            let policy = default_policy();
            let questions = [
                ("en", "After our contract ends in June, how long until our data is deleted?"),
                ("de", "Wie lange dauert es nach unserem Vertragsende im Juni, bis unsere Daten gelöscht sind?"),
                ("es", "Cuando termine nuestro contrato en junio, ¿cuánto tardáis en borrar nuestros datos?"),
                ("fr", "Après la fin de notre contrat en juin, combien de temps avant la suppression de nos données ?"),
                ("pt", "Quando nosso contrato acabar em junho, quanto tempo até nossos dados serem apagados?"),
            ];
            for (language, question) in questions {
                let (rank, decision) = rank_for(&policy, "Data", question);
                assert!(step(&decision, "severity").matched.contains("planning"), "{language}: {:#?}", decision.trace);
                assert!(rank >= 2, "{language}: {}", decision.summary);
            }
        }

        #[test]
        fn a_cap_holds_down_only_the_signals_it_names_and_not_trouble_that_is_back() {
            let policy = default_policy();
            let cases = [
                // An outage that is over can leave lost orders behind: data loss still speaks.
                (
                    "en",
                    "The shop was down for an hour but everything is back to normal. We lost the orders from that hour.",
                    "data-loss",
                ),
                (
                    "de",
                    "Der Shop war eine Stunde down, seitdem läuft alles. Die Bestellungen aus der Stunde sind verloren.",
                    "data-loss",
                ),
                // A drill that only simulates an outage can still find a real loss.
                ("en", "In our drill we wanted to simulate an outage and found that all our backups were deleted.", "data-loss"),
                // Down again after it was over.
                ("en", "Everything was back to normal yesterday, but the shop is down again since 9.", "outage"),
                ("es", "Desde entonces funciona, pero la tienda se ha vuelto a caer esta mañana.", "outage"),
                // Down since the announced maintenance.
                ("fr", "Depuis la maintenance programmée de cette nuit, notre site est inaccessible.", "outage"),
                ("de", "Seit den Wartungsarbeiten heute Nacht ist unser Shop offline.", "outage"),
                ("en", "The maintenance window ended at 6 but our shop is still offline.", "outage"),
                // Months that look back are no announcement.
                ("en", "Our shop went down this morning, the second outage in three months.", "outage"),
                ("de", "Zum dritten Mal in drei Monaten ist unser Shop ausgefallen.", "outage"),
                // A question in an outage ticket is no all-clear.
                ("en", "Our checkout is down. What happens if it is not fixed today?", "outage"),
                // A resend asked for while the product fails is no mere request.
                ("en", "Please resend the invoices, our whole accounts team gets an error and the portal is down.", "outage"),
                // Maintenance nobody announced is no announcement.
                ("de", "Es war keine Wartung angekündigt, aber unser Shop ist seit 8 Uhr offline.", "outage"),
                ("en", "No maintenance was announced, but our shop is down for everyone.", "outage"),
                // "Neither ... nor a production computer works" names production among the broken.
                ("pt", "A rede da fábrica caiu às 6h, nenhum relógio de ponto nem computador da produção funciona.", "outage"),
                ("es", "La red de la fábrica se cayó, ni los fichajes ni la producción funciona.", "outage"),
                // ... nor is a supposed outage beside a real one.
                ("en", "Our shop is down. What happens to orders if your platform goes down for a whole day?", "outage"),
                (
                    "de",
                    "Unser Shop ist ausgefallen. Was passiert mit Bestellungen, falls Ihre Plattform einen Tag ausfällt?",
                    "outage",
                ),
                ("es", "La tienda está caída. ¿Qué pasa con los pedidos si vuestra plataforma se cae un día?", "outage"),
                ("fr", "Notre site est en panne. Que deviennent les commandes si votre plateforme tombe en panne ?", "outage"),
                ("pt", "A loja caiu. O que acontece com os pedidos se a plataforma de vocês cair um dia inteiro?", "outage"),
                // Told nothing needs doing while the outage goes on.
                (
                    "en",
                    "You said no action is needed, but our shop is down for all customers and we have been down for an hour.",
                    "outage",
                ),
            ];
            for (language, body, signal) in cases {
                let decision = decide(&ticket("", body), ModelOutput::of(&unsure()), 1, &policy, now());
                assert!(
                    step(&decision, "severity").matched.contains(&format!("signal {signal} (")),
                    "{language}: {:#?}",
                    decision.trace
                );
                assert!(rank_of(&policy, &decision) <= 1, "{language}: {body}: {}", decision.summary);
            }
        }

        #[test]
        fn no_rush_lowers_a_mild_ticket_but_gives_way_when_the_meaning_is_severe() {
            let policy = default_policy();
            let body = "Since opening, the tills in all 14 branches only show 'Synchronising'. No rush, whenever you have time.";
            let predictions = unsure();
            let mild = decide(&ticket("Login", body), ModelOutput::of(&predictions), 1, &policy, now());
            assert!(step(&mild, "severity").matched.contains("signal no-rush"), "{:#?}", mild.trace);
            let severe = ModelOutput { severe_by_meaning: Some(0.9), ..ModelOutput::of(&predictions) };
            let decision = decide(&ticket("Login", body), severe, 1, &policy, now());
            let severity = step(&decision, "severity");
            assert!(severity.matched.contains("severe by meaning"), "{}", severity.matched);
            assert!(rank_of(&policy, &decision) <= 1, "{}", decision.summary);
            // A wish is no reason to read its words as harmless either way, but it still lowers
            // when the probe is severe: only the no-rush signal yields.
            // "Not a big deal" says the same of the problem, in every language.
            let not_a_big_deal = [
                ("en", "The logo on the login page is blurry. Not a big deal, but it looks odd."),
                ("de", "Das Logo auf der Anmeldeseite ist unscharf. Nicht so schlimm, sieht aber komisch aus."),
                ("es", "El logo de la página de acceso se ve borroso. No es grave, pero queda raro."),
                ("fr", "Le logo de la page de connexion est flou. Ce n'est pas grave, mais ça fait négligé."),
                ("pt", "O logo da página de login está desfocado. Não é grave, mas fica feio."),
            ];
            for (language, body) in not_a_big_deal {
                let decision = decide(&ticket("Logo", body), ModelOutput::of(&predictions), 1, &policy, now());
                assert!(step(&decision, "severity").matched.contains("signal no-rush"), "{language}: {:#?}", decision.trace);
                assert_eq!(rank_of(&policy, &decision), 3, "{language}: {}", decision.summary);
            }
            let wish = "Feature request: a dark mode for the dashboard.";
            let decision = decide(&ticket("", wish), severe, 1, &policy, now());
            assert!(step(&decision, "severity").matched.contains("signal low-severity"), "{:#?}", decision.trace);
        }

        #[test]
        fn a_typo_named_with_a_word_for_error_stays_minor_in_every_language() {
            let policy = default_policy();
            let typos = [
                ("en", "Pricing page", "There is a spelling error on the pricing page."),
                ("de", "Preisseite", "Auf der Preisseite ist ein Schreibfehler: Speicher unbegrentz."),
                ("es", "Página de precios", "Hay un error ortográfico en la página de precios."),
                ("fr", "Page des tarifs", "Il y a une erreur de frappe dans la page des tarifs."),
                ("pt", "Página de preços", "Há um erro de digitação na página de preços."),
                // A name written wrongly, told with the participle instead of a noun.
                ("en", "Invoice URGENT", "Our company name is misspelled on invoice 118, please correct it."),
                ("de", "Rechnung DRINGEND", "Unser Firmenname ist auf der Rechnung 118 falsch geschrieben."),
                ("es", "Factura URGENTE", "En la factura 118 nuestro nombre está mal escrito, corríjanlo."),
                ("fr", "Facture URGENT", "Notre nom est mal orthographié sur la facture 118."),
                ("pt", "Fatura URGENTE", "O nome da empresa está mal escrito na fatura 118."),
                // The address an invoice goes to, to be corrected.
                ("en", "invoice address", "invoice address is wrong, pls fix"),
                ("de", "Rechnungsadresse", "Rechnungsadresse ist falsch, bitte korrigieren"),
                ("es", "dirección factura", "la dirección de la factura está mal, corregidla porfa"),
                ("fr", "adresse facture", "l'adresse de facturation est fausse, merci de corriger"),
                ("pt", "endereço fatura", "o endereço da fatura está errado, corrijam pfv"),
            ];
            assert_minor_in_every_language(&policy, &typos);
            let error = ticket("Erro na página de login", "Aparece um erro na página de login e não conseguimos entrar.");
            let decision = decide(&error, ModelOutput::of(&unsure()), 1, &policy, now());
            assert!(step(&decision, "severity").matched.contains("malfunction"), "{:#?}", decision.trace);
        }

        #[test]
        fn a_wish_is_not_read_as_the_trouble_it_mentions_in_every_language() {
            let policy = default_policy();
            let wishes = [
                ("en", "Idea", "It would be great if the app worked offline for our drivers."),
                ("de", "Idee", "Es wäre schön, wenn die App auch offline funktionieren würde."),
                ("es", "Idea", "Sería genial que la aplicación funcionara sin conexión, offline."),
                ("fr", "Idée", "Ce serait bien si l'application restait utilisable hors ligne."),
                ("pt", "Sugestão de melhoria", "Seria ótimo se o app tivesse um modo offline para as vendedoras."),
            ];
            assert_minor_in_every_language(&policy, &wishes);
            let request = ticket("Help", "It would be great if someone could look, the server is down since 9.");
            let decision = decide(&request, ModelOutput::of(&unsure()), 1, &policy, now());
            assert!(step(&decision, "severity").matched.contains("outage"), "a comma ends the wish: {:#?}", decision.trace);
            let severe = ticket("Help", "It would be great if you could hurry because the server is down since 9.");
            let calm = unsure();
            let by_meaning = ModelOutput { predictions: &calm, embedding: None, severe_by_meaning: Some(0.99) };
            let decision = decide(&severe, by_meaning, 1, &policy, now());
            assert!(
                step(&decision, "severity").matched.contains("outage"),
                "a ticket severe by meaning keeps its words: {:#?}",
                decision.trace
            );
        }

        #[test]
        fn a_roadmap_question_is_a_wish_in_every_language() {
            let policy = default_policy();
            let questions = [
                ("en", "Two-factor login", "We need two-factor login for our staff. Is it on your roadmap?"),
                ("de", "Zwei-Faktor-Login", "Wir brauchen einen Zwei-Faktor-Login. Steht das auf der Roadmap?"),
                ("es", "Doble factor", "Necesitamos autenticación en dos pasos. ¿Está en su hoja de ruta?"),
                (
                    "fr",
                    "Double authentification",
                    "Il nous faut la double authentification. Est-ce dans votre feuille de route ?",
                ),
                ("pt", "Autenticação em dois fatores", "Precisamos de autenticação em dois fatores. Está no roadmap?"),
            ];
            assert_minor_in_every_language(&policy, &questions);
        }

        #[test]
        fn a_numeric_impact_field_picks_its_band_even_when_urgency_abstains() {
            let policy = default_policy();
            for (users, impact) in [(1, "one"), (12, "team"), (300, "many")] {
                let mut t = ticket("Reports slow", "The reports page takes a minute to open.");
                t.fields.insert("affected_users".to_string(), users.to_string());
                let decision = decide(&t, ModelOutput::of(&unsure()), 1, &policy, now());
                assert_eq!(step(&decision, "impact").effect.as_deref(), Some(format!("impact {impact}").as_str()));
            }
            let mut many = ticket("Reports slow", "The reports page takes a minute to open.");
            many.fields.insert("affected_users".to_string(), "300".to_string());
            let one = ticket("Reports slow", "The reports page takes a minute to open.");
            let (many, one) = (
                decide(&many, ModelOutput::of(&unsure()), 1, &policy, now()),
                decide(&one, ModelOutput::of(&unsure()), 1, &policy, now()),
            );
            assert!(rank_of(&policy, &many) < rank_of(&policy, &one), "{} vs {}", many.summary, one.summary);
        }

        #[test]
        fn a_ticket_without_a_plan_is_not_lowered_as_if_it_were_free() {
            let policy = default_policy();
            let text = ("Export question", "The CSV export leaves out the last column.");
            let no_plan = decide(
                &ticket(text.0, text.1),
                ModelOutput::of(&predictions("medium", "neutral", "Product Support")),
                1,
                &policy,
                now(),
            );
            assert_eq!(no_plan.sla.policy, "standard");
            assert!(!hits(&no_plan).contains(&"free-plan-not-urgent"), "{}", no_plan.summary);
            let mut free = ticket(text.0, text.1);
            free.customer.plan = Some("free".to_string());
            let free = decide(&free, ModelOutput::of(&predictions("medium", "neutral", "Product Support")), 1, &policy, now());
            assert!(rank_of(&policy, &free) > rank_of(&policy, &no_plan), "an explicit free plan is still lowered");
        }

        #[test]
        fn the_free_plan_never_lowers_an_outage() {
            let policy = default_policy();
            let mut t = ticket("Website down", "Our website is down for all visitors since 9:00.");
            t.customer.plan = Some("free".to_string());
            let decision = decide(&t, ModelOutput::of(&unsure()), 1, &policy, now());
            assert!(rank_of(&policy, &decision) <= 1, "{}", decision.summary);
        }

        #[test]
        fn the_review_budget_holds_on_a_batch_and_flags_where_a_person_matters() {
            let policy = default_policy();
            let texts = [
                ("Invoice copy", "Could you send me a copy of the March invoice?"),
                ("Login slow", "Logging in takes a while today."),
                ("Question", "How do I change my password?"),
                ("Site unreachable", "Our site is down for everyone."),
                ("Report", "The monthly report shows a wrong total."),
            ];
            let mut flagged = 0;
            for i in 0..100 {
                let (subject, body) = texts[i % texts.len()];
                // Alternating unsure and torn predictions: urgency high 0.45 vs low 0.40.
                let mut p = predictions("low", "neutral", "General Inquiry");
                let mut torn = head("high", 0.45, true);
                torn.top =
                    vec![LabelScore { label: "high".into(), score: 0.45 }, LabelScore { label: "low".into(), score: 0.40 }];
                p.insert("urgency".to_string(), if i % 2 == 0 { torn } else { head("medium", 0.41, true) });
                let decision = decide(&ticket(subject, body), ModelOutput::of(&p), 1, &policy, now());
                if decision.needs_review {
                    flagged += 1;
                    let reason = decision.trace.iter().find(|s| s.rule == "review-budget");
                    assert!(reason.is_some() || decision.summary.contains("needs review"), "says why");
                }
            }
            assert!(flagged <= 20, "{flagged} of 100 flagged; the budget is 20%");
            assert!(flagged >= 5, "torn predictions on low placements are worth a look: {flagged}");
        }

        #[test]
        fn default_policy_rules_read_well_in_the_summary() {
            let policy = default_policy();
            let mut t = ticket("We were hacked", "Someone has unauthorized access to our admin account.");
            t.customer.plan = Some("premium".to_string());
            let decision = decide(&t, ModelOutput::of(&predictions("medium", "negative", "IT Support")), 1, &policy, now());
            assert_eq!((decision.priority.level.as_str(), decision.queue.as_str()), ("P1", "security"));
            assert!(decision.tags.contains(&"security".to_string()));
            assert!(decision.summary.starts_with("P1: text severity: a possible security incident"), "{}", decision.summary);
            assert!(!step(&decision, "outage").hit, "no outage words in a security incident");
        }
    }
}
