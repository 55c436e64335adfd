//! Support plans: the calendar a plan's SLA runs on and its targets per priority level, and
//! how a customer's plan name resolves to one (the default plan when missing or unknown).
//! Due-time arithmetic itself is `crate::sla`.

use std::collections::BTreeMap;

use super::duration::TargetDuration;
use super::priority::Rank;
use crate::sla::Calendar;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Targets {
    pub first_response: TargetDuration,
    pub next_response: TargetDuration,
    pub resolution: TargetDuration,
}

#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub calendar_name: String,
    pub calendar: Calendar,
    pub targets: BTreeMap<Rank, Targets>,
}

/// Plans keyed by lower-cased name, so "Enterprise" in a ticket finds "enterprise".
#[derive(Debug, Clone)]
pub(super) struct Plans {
    pub by_name: BTreeMap<String, Plan>,
    pub default_name: String,
    /// A copy of the default plan, so falling back needs no lookup that could fail.
    pub default: Plan,
}

/// The plan a ticket runs under and why.
pub(super) struct PlanChoice<'p> {
    pub name: &'p str,
    pub plan: &'p Plan,
    pub because: String,
}

impl Plans {
    pub fn choose(&self, customer_plan: Option<&str>) -> PlanChoice<'_> {
        let wanted = customer_plan.map(|p| p.trim().to_lowercase());
        if let Some((name, plan)) = wanted.as_ref().and_then(|w| self.by_name.get_key_value(w)) {
            return PlanChoice { name, plan, because: format!("customer.plan = {name}") };
        }
        let name = &self.default_name;
        let because = match customer_plan {
            None => format!("customer.plan is missing; default plan {name}"),
            Some(unknown) => format!("customer.plan = {unknown} is not a plan; default plan {name}"),
        };
        PlanChoice { name, plan: &self.default, because }
    }
}
