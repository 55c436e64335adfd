//! SLA target lengths as written in the policy file: whole minutes (`90`) or a duration string
//! of `d`/`h`/`m` parts (`"4h"`, `"1h30m"`, `"2d"`). A day is 24 hours of open time on the
//! plan's calendar, not a business day, so business-hours plans are best written in hours.
//! This module only parses; it does not know calendars.

use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde::de::Deserializer;
use serde::Deserialize;

/// Longest accepted target: beyond a year an SLA is a typo, and it bounds due-time searches.
const MAX_MINUTES: i64 = 366 * 24 * 60;

/// A target's length and the way the file wrote it ("24h" stays "24h" in the trace rather than
/// becoming "1d", which would read as a calendar day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TargetDuration(pub TimeDelta, String);

impl TargetDuration {
    fn from_minutes(minutes: i64, written: String) -> Result<Self, String> {
        if !(0..=MAX_MINUTES).contains(&minutes) {
            return Err(format!("a target must be between 0 and {MAX_MINUTES} minutes (366 days)"));
        }
        Ok(Self(TimeDelta::minutes(minutes), written))
    }
}

/// As the file wrote it: "4h", "1h30m", "24h"; a bare number of minutes as "90m".
impl fmt::Display for TargetDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.1)
    }
}

impl FromStr for TargetDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let syntax = || format!("{text:?} is not a duration like \"45m\", \"4h\", \"1h30m\" or \"2d\"");
        let mut minutes: i64 = 0;
        let mut digits = String::new();
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                'd' => 24 * 60,
                'h' => 60,
                'm' => 1,
                _ => return Err(syntax()),
            };
            let amount: i64 = digits.parse().map_err(|_| syntax())?;
            minutes = amount.checked_mul(unit).and_then(|m| minutes.checked_add(m)).ok_or_else(syntax)?;
            digits.clear();
        }
        if !digits.is_empty() || text.trim().is_empty() {
            return Err(syntax());
        }
        Self::from_minutes(minutes, text.trim().to_string())
    }
}

impl<'de> Deserialize<'de> for TargetDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TargetDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("minutes as an integer, or a duration string such as \"4h\"")
            }
            fn visit_i64<E: serde::de::Error>(self, minutes: i64) -> Result<TargetDuration, E> {
                TargetDuration::from_minutes(minutes, format!("{minutes}m")).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, minutes: u64) -> Result<TargetDuration, E> {
                self.visit_i64(i64::try_from(minutes).unwrap_or(i64::MAX))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TargetDuration, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_to_minutes() {
        for (text, minutes) in [("45m", 45), ("4h", 240), ("1h30m", 90), ("2d", 2880), ("0m", 0)] {
            let parsed: TargetDuration = text.parse().unwrap();
            assert_eq!(parsed.0, TimeDelta::minutes(minutes), "{text}");
            assert_eq!(parsed.to_string().parse::<TargetDuration>(), Ok(parsed), "{text} round-trips");
        }
    }

    #[test]
    fn targets_are_shown_as_written() {
        let day_of_hours: TargetDuration = "24h".parse().unwrap();
        assert_eq!((day_of_hours.0, day_of_hours.to_string()), (TimeDelta::hours(24), "24h".to_string()));
        let minutes: TargetDuration =
            toml::from_str::<std::collections::BTreeMap<String, TargetDuration>>("t = 90").unwrap().remove("t").unwrap();
        assert_eq!(minutes.to_string(), "90m");
    }

    #[test]
    fn bad_durations_are_rejected() {
        for text in ["", "4", "h", "4x", "1.5h", "-4h", "400d", "99999999999999999999m"] {
            assert!(text.parse::<TargetDuration>().is_err(), "{text:?} should be rejected");
        }
    }
}
