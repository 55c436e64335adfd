//! `triage check-policy`: validate a policy file and warn about settings that are legal but
//! almost certainly not what the author meant (rules that can never match or never change
//! anything, overlapping routes, levels without SLA targets, labels the model does not have).
//! Reads no files; the caller passes the text and, optionally, the model's label sets.

use std::collections::BTreeSet;

use serde::Serialize;

use super::condition::{Condition, FieldPath};
use super::priority::{PriorityChange, Rank};
use super::rules::{Mode, Rule};
use super::{LabelSets, Policy, Problem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub errors: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks a policy against the label sets it declares in `[model_labels]` (if any).
pub fn check(policy_text: &str) -> CheckReport {
    check_with_labels(policy_text, &LabelSets::new())
}

/// Checks a policy against a model's label sets; a head given here replaces the same head in
/// the file's `[model_labels]`.
pub fn check_with_labels(policy_text: &str, labels: &LabelSets) -> CheckReport {
    match Policy::from_toml(policy_text) {
        Err(error) => CheckReport { errors: error.problems().to_vec(), warnings: Vec::new() },
        Ok(policy) => {
            let mut known = policy.model_labels.clone();
            known.extend(labels.iter().map(|(head, list)| (head.clone(), list.clone())));
            CheckReport { errors: Vec::new(), warnings: warnings(&policy, &known) }
        }
    }
}

fn warnings(policy: &Policy, labels: &LabelSets) -> Vec<String> {
    let mut found = Vec::new();
    for set in &policy.rule_sets {
        let mut catch_all: Option<&str> = None;
        for rule in &set.rules {
            if let Some(earlier) = catch_all {
                found.push(format!("rule {:?} is never reached: {earlier:?} always matches first", rule.name));
            }
            if let Some(why) = never_matches(&rule.condition, policy, labels) {
                found.push(format!("rule {:?} can never match: {why}", rule.name));
            }
            found.extend(ineffective_change(rule, policy));
            if set.mode == Mode::FirstMatch && catch_all.is_none() && always_matches(&rule.condition) {
                catch_all = Some(&rule.name);
            }
        }
    }
    found.extend(policy.routing.conflicts());
    found.extend(unknown_labels(policy, labels));
    found.extend(missing_targets(policy));
    found
}

fn always_matches(condition: &Condition) -> bool {
    match condition {
        Condition::Always => true,
        Condition::All(parts) => parts.iter().all(always_matches),
        _ => false,
    }
}

/// A reason the condition is false for every ticket, when one can be seen statically.
fn never_matches(condition: &Condition, policy: &Policy, labels: &LabelSets) -> Option<String> {
    match condition {
        Condition::Field { path: FieldPath::Plan, values } => {
            let any_plan = values.iter().any(|v| policy.plans.by_name.contains_key(v));
            (!any_plan).then(|| format!("no plan is named {}", values.join(" or ")))
        }
        Condition::Prediction(test) => {
            let known = labels.get(&test.head)?;
            let label = test.label.as_ref().filter(|l| !known.contains(l))?;
            Some(format!("{} has no label {label:?} (labels: {})", test.head, known.join(", ")))
        }
        Condition::All(parts) => parts.iter().find_map(|p| never_matches(p, policy, labels)).or_else(|| contradiction(parts)),
        Condition::Any(parts) => {
            let reasons: Option<Vec<String>> = parts.iter().map(|p| never_matches(p, policy, labels)).collect();
            match reasons {
                Some(reasons) if reasons.is_empty() => Some("`any` of an empty list".to_string()),
                Some(reasons) => Some(reasons.join("; ")),
                None => None,
            }
        }
        Condition::Not(inner) => always_matches(inner).then(|| "`not` of a condition that always holds".to_string()),
        Condition::Always
        | Condition::Field { .. }
        | Condition::Keywords(_)
        | Condition::Signal { .. }
        | Condition::SeverityAtLeast { .. }
        | Condition::SeverityFrom(_)
        | Condition::ClusterSizeAtLeast(_)
        | Condition::PriorityIn { .. }
        | Condition::Pattern { .. } => None,
    }
}

/// Two parts of an `all` that require different values of the same field or different labels
/// of the same prediction head.
fn contradiction(parts: &[Condition]) -> Option<String> {
    for (i, first) in parts.iter().enumerate() {
        for second in &parts[i + 1..] {
            match (first, second) {
                (Condition::Field { path: a, values: x }, Condition::Field { path: b, values: y })
                    if a == b && !x.iter().any(|v| y.contains(v)) =>
                {
                    return Some(format!("{} cannot be {} and {} at once", a.name(), x.join("/"), y.join("/")));
                }
                (Condition::Prediction(a), Condition::Prediction(b)) if a.head == b.head => {
                    if let (Some(x), Some(y)) = (&a.label, &b.label) {
                        if x != y {
                            return Some(format!("{} cannot be {x} and {y} at once", a.head));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    None
}

fn ineffective_change(rule: &Rule, policy: &Policy) -> Option<String> {
    let lowest = Rank(policy.levels.len().saturating_sub(1));
    let level = |rank: Rank| policy.levels[rank.0].level.as_str();
    match rule.effects.priority? {
        PriorityChange::Raise { by: 0, .. } | PriorityChange::Lower { by: 0, .. } => {
            Some(format!("rule {:?} raises or lowers by 0 levels", rule.name))
        }
        PriorityChange::Raise { ceiling, .. } if ceiling == lowest => {
            Some(format!("rule {:?} can never raise: its ceiling {} is already the lowest level", rule.name, level(ceiling)))
        }
        PriorityChange::Lower { floor, .. } if floor == Rank(0) => {
            Some(format!("rule {:?} can never lower: its floor {} is already the highest level", rule.name, level(floor)))
        }
        _ => None,
    }
}

/// Labels the policy relies on that the model does not have, and model labels the matrix or
/// routing leave unmapped.
fn unknown_labels(policy: &Policy, labels: &LabelSets) -> Vec<String> {
    let mut found = Vec::new();
    let matrix = &policy.matrix;
    if let Some(known) = labels.get(&matrix.head) {
        let mapped: BTreeSet<&String> = matrix.column_of_label.keys().collect();
        for label in mapped.iter().filter(|l| !known.contains(l)) {
            found.push(format!("[matrix.urgency] maps {label:?}, which {} never predicts", matrix.head));
        }
        for label in known.iter().filter(|l| !mapped.contains(l)) {
            found.push(format!(
                "{} label {label:?} is not in [matrix.urgency]; tickets with it use the abstention fallback",
                matrix.head
            ));
        }
    }
    let routing = &policy.routing;
    if let Some(known) = labels.get(&routing.head) {
        for route in routing.routes.iter().filter(|r| !known.contains(&r.category)) {
            found.push(format!("route for {:?} never applies: {} has no such label", route.category, routing.head));
        }
    }
    found
}

/// What stops a model with the label sets `candidate` from serving under `policy`: rules that
/// name a label one of its heads does not predict, rules reading a head in `removed_heads` (the
/// active model had it, the candidate has not), and routes for a category label it does not
/// predict (a renamed label would silently fall to the default queue). Each names the rule or
/// route. Heads neither model has are not the candidate's doing and are left out.
pub fn label_conflicts(policy: &Policy, candidate: &LabelSets, removed_heads: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for rule in policy.rule_sets.iter().flat_map(|set| &set.rules) {
        for test in prediction_tests(&rule.condition) {
            match (candidate.get(&test.head), &test.label) {
                (Some(known), Some(label)) if !known.contains(label) => found.push(format!(
                    "rule {:?} names {} label {label:?}, which the candidate does not predict (it has: {})",
                    rule.name,
                    test.head,
                    known.join(", ")
                )),
                (None, _) if removed_heads.contains(&test.head) => {
                    found.push(format!("rule {:?} reads head {}, which the candidate no longer has", rule.name, test.head))
                }
                _ => {}
            }
        }
    }
    let routing = &policy.routing;
    if let Some(known) = candidate.get(&routing.head) {
        for route in routing.routes.iter().filter(|r| !known.contains(&r.category)) {
            found.push(format!("route for {:?} names a {} label the candidate does not predict", route.category, routing.head));
        }
    }
    found
}

/// Every prediction test inside `condition`.
fn prediction_tests(condition: &Condition) -> Vec<&super::condition::PredictionTest> {
    match condition {
        Condition::Prediction(test) => vec![test],
        Condition::All(parts) | Condition::Any(parts) => parts.iter().flat_map(prediction_tests).collect(),
        Condition::Not(inner) => prediction_tests(inner),
        _ => Vec::new(),
    }
}

fn missing_targets(policy: &Policy) -> Vec<String> {
    let mut found = Vec::new();
    for (name, plan) in &policy.plans.by_name {
        for (index, level) in policy.levels.iter().enumerate() {
            if !plan.targets.contains_key(&Rank(index)) {
                found.push(format!("plan {name:?} has no SLA targets for {}", level.level));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::test_policy::BASE;
    use super::*;

    const DEFAULT_POLICY: &str = include_str!("../../config/policy.toml");

    fn with_rules(rules: &str) -> String {
        format!("{BASE}\n[[rule_sets]]\nname = \"s\"\nmode = \"first_match\"\n{rules}")
    }

    fn labels() -> LabelSets {
        LabelSets::from([
            ("urgency".to_string(), vec!["low".to_string(), "medium".to_string(), "high".to_string()]),
            ("category".to_string(), vec!["billing".to_string()]),
        ])
    }

    fn warned(report: &CheckReport, fragment: &str) -> bool {
        report.warnings.iter().any(|w| w.contains(fragment))
    }

    #[test]
    fn a_candidate_that_lost_a_label_or_a_head_conflicts_with_the_rules_that_name_them() {
        let text = with_rules(
            "[[rule_sets.rules]]\nname = \"urgent-raise\"\nwhen = { prediction = \"urgency\", label = \"high\" }\nraise = 1\n\
             [[rule_sets.rules]]\nname = \"angry\"\nwhen = { not = { prediction = \"sentiment\", label = \"negative\" } }\nraise = 1\n",
        );
        let policy = Policy::from_toml(&text).expect("compiles");
        assert!(label_conflicts(&policy, &labels(), &[]).is_empty(), "the labels it names exist");
        let renamed = LabelSets::from([("urgency".to_string(), vec!["low".to_string(), "urgent".to_string()])]);
        let conflicts = label_conflicts(&policy, &renamed, &["sentiment".to_string()]);
        assert_eq!(conflicts.len(), 2, "{conflicts:?}");
        assert!(conflicts[0].starts_with("rule \"urgent-raise\" names urgency label \"high\""), "{conflicts:?}");
        assert!(conflicts[1].contains("\"angry\" reads head sentiment"), "{conflicts:?}");
        assert!(label_conflicts(&policy, &renamed, &[]).len() == 1, "a head neither model has is not the candidate's doing");
    }

    #[test]
    fn the_default_policy_is_clean() {
        let report = check(DEFAULT_POLICY);
        assert!(report.is_ok() && report.warnings.is_empty(), "{report:#?}");
    }

    #[test]
    fn a_typo_in_a_key_is_an_error_with_its_line() {
        let text = DEFAULT_POLICY.replacen("needs_review = false", "need_review = false", 1);
        let report = check(&text);
        let line = text.lines().position(|l| l.starts_with("need_review")).map(|i| i + 1);
        assert_eq!(report.errors.len(), 1);
        assert_eq!(Some(report.errors[0].line), line, "{report:?}");
        assert_eq!(report.errors[0].column, 1);
    }

    #[test]
    fn suspicious_rules_are_warned_about() {
        // (rule, fragment of the expected warning)
        let cases = [
            (r#"when = { prediction = "urgency", label = "critical" }"#, "has no label \"critical\""),
            (
                r#"when = { all = [{ field = "channel", equals = "email" }, { field = "channel", equals = "phone" }] }"#,
                "cannot be email and phone at once",
            ),
            (
                r#"when = { all = [{ prediction = "urgency", label = "low" }, { prediction = "urgency", label = "high" }] }"#,
                "urgency cannot be low and high",
            ),
            (r#"when = { any = [] }"#, "`any` of an empty list"),
            (r#"when = { field = "customer.plan", equals = "platinum" }"#, "no plan is named platinum"),
            (r#"when = { not = { all = [] } }"#, "`not` of a condition that always holds"),
        ];
        for (condition, fragment) in cases {
            let report = check_with_labels(
                &with_rules(&format!("[[rule_sets.rules]]\nname = \"r\"\n{condition}\nreview = true\n")),
                &labels(),
            );
            assert!(report.is_ok(), "{report:?}");
            assert!(warned(&report, fragment), "{condition}: {:#?}", report.warnings);
        }
    }

    #[test]
    fn ineffective_and_unreachable_rules_are_warned_about() {
        let rules = "[[rule_sets.rules]]\nname = \"never-up\"\nraise = 1\nceiling = \"P4\"\n\
                     [[rule_sets.rules]]\nname = \"never-down\"\nlower = 2\nfloor = \"P1\"\n\
                     [[rule_sets.rules]]\nname = \"shadowed\"\nreview = true\n";
        let report = check(&with_rules(rules));
        assert!(warned(&report, "\"never-up\" can never raise"), "{:#?}", report.warnings);
        assert!(warned(&report, "\"never-down\" can never lower"));
        assert!(warned(&report, "rule \"never-down\" is never reached: \"never-up\" always matches first"));
        assert!(warned(&report, "rule \"shadowed\" is never reached"));
    }

    #[test]
    fn overlapping_routes_are_warned_about_unless_narrow_comes_first() {
        let route =
            |language: &str, queue: &str| format!("[[routing.routes]]\ncategory = \"billing\"\n{language}queue = \"{queue}\"\n");
        let general_first = format!("{BASE}{}", route("language = \"de\"\n", "billing-de"));
        let narrow_first = BASE.replacen(
            "[[routing.routes]]\ncategory = \"billing\"\nqueue = \"billing\"",
            &format!("{}{}", route("language = \"de\"\n", "billing-de"), route("", "billing")),
            1,
        );
        let duplicate = format!("{BASE}{}", route("", "finance"));
        assert!(warned(&check(&general_first), "routes overlap"));
        assert!(warned(&check(&duplicate), "routes overlap"));
        assert!(!warned(&check(&narrow_first), "routes overlap"), "{:?}", check(&narrow_first));
    }

    #[test]
    fn labels_and_targets_the_policy_lacks_are_warned_about() {
        let report = check_with_labels(BASE, &labels());
        assert!(warned(&report, "plan \"gold\" has no SLA targets for P4"), "{:#?}", report.warnings);
        let more_labels = LabelSets::from([
            ("urgency".to_string(), vec!["low".to_string(), "high".to_string(), "critical".to_string()]),
            ("category".to_string(), vec!["sales".to_string()]),
        ]);
        let report = check_with_labels(BASE, &more_labels);
        assert!(warned(&report, "urgency label \"critical\" is not in [matrix.urgency]"));
        assert!(warned(&report, "maps \"medium\", which urgency never predicts"));
        assert!(warned(&report, "route for \"billing\" never applies"));
    }
}
