//! A small policy and ticket builders shared by the policy tests. Test-only fixtures: no
//! assertions and no API here.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use super::Policy;
use crate::prediction::{Band, HeadPrediction, Predictions};
use crate::ticket::{Customer, Ticket};

/// Levels P1-P4; plan `basic` (Berlin office hours, all levels) is the default, plan `gold` is
/// 24x7 without P4 targets; matrix rows `many` and `one` (default); fallback P3; one route.
/// Tests append `[[rule_sets]]` to it.
pub const BASE: &str = r#"
[[priorities]]
level = "P1"
name = "Urgent"
description = "now"
[[priorities]]
level = "P2"
name = "High"
description = "today"
[[priorities]]
level = "P3"
name = "Normal"
description = "this week"
[[priorities]]
level = "P4"
name = "Low"
description = "some time"

[sla]
default_plan = "basic"
[sla.calendars.office]
time_zone = "Europe/Berlin"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
[sla.calendars.always]
time_zone = "UTC"
always_open = true
[sla.plans.basic]
calendar = "office"
targets.P1 = { first_response = 60, next_response = "2h", resolution = "8h" }
targets.P2 = { first_response = "2h", next_response = "4h", resolution = "16h" }
targets.P3 = { first_response = "4h", next_response = "8h", resolution = "40h" }
targets.P4 = { first_response = "8h", next_response = "16h", resolution = "80h" }
[sla.plans.gold]
calendar = "always"
targets.P1 = { first_response = "15m", next_response = "30m", resolution = "4h" }
targets.P2 = { first_response = "30m", next_response = "1h", resolution = "8h" }
targets.P3 = { first_response = "1h", next_response = "2h", resolution = "1d" }

[matrix]
impact_field = "affected_users"
default_impact = "one"
urgency = { low = "low", medium = "medium", high = "high" }
[matrix.priority]
many = { high = "P1", medium = "P2", low = "P3" }
one = { high = "P2", medium = "P3", low = "P4" }

[abstention]
priority = "P3"

[routing]
default_queue = "general"
[[routing.routes]]
category = "billing"
queue = "billing"
"#;

pub fn policy_with(extra: &str) -> Policy {
    let text = format!("{BASE}\n{extra}");
    Policy::from_toml(&text).unwrap_or_else(|e| panic!("test policy does not compile:\n{e}"))
}

pub fn ticket(subject: &str, body: &str) -> Ticket {
    Ticket {
        id: Some("T-1".to_string()),
        subject: subject.to_string(),
        body: body.to_string(),
        customer: Customer::default(),
        channel: None,
        language: None,
        created_at: None,
        fields: BTreeMap::new(),
    }
}

pub fn head(label: &str, score: f32, abstained: bool) -> HeadPrediction {
    let band = match score {
        s if s >= 0.8 => Band::High,
        s if s >= 0.5 => Band::Medium,
        _ => Band::Low,
    };
    HeadPrediction { label: label.to_string(), score, band, abstained, top: Vec::new(), recalled: None }
}

/// Predictions with the given urgency label (score 0.9, not abstained) and nothing else.
pub fn urgency(label: &str) -> Predictions {
    Predictions::from([("urgency".to_string(), head(label, 0.9, false))])
}

/// A local Berlin wall-clock time.
pub fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).single().map(|t| t.with_timezone(&Utc)).unwrap()
}
