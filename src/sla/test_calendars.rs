//! Calendars shared by the SLA tests. Test-only fixtures: no assertions and no API here.

use chrono::{NaiveDate, Weekday};
use chrono_tz::{America::New_York, Europe::Berlin, Tz};

use super::{Calendar, OpenInterval, WeeklyHours};

const WORKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
const ALL_DAYS: [Weekday; 7] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

fn week(days: &[Weekday], intervals: &[&str]) -> WeeklyHours {
    let intervals: Vec<OpenInterval> = intervals.iter().map(|i| i.parse().unwrap()).collect();
    let mut hours = WeeklyHours::default();
    for day in days {
        hours.set(*day, intervals.clone()).unwrap();
    }
    hours
}

/// Mon-Fri 09:00-17:00 Europe/Berlin with Ascension Day 2026 as a holiday.
pub fn berlin_office() -> Calendar {
    let ascension = NaiveDate::from_ymd_opt(2026, 5, 14).unwrap();
    Calendar::business_hours(Berlin, week(&WORKDAYS, &["09:00-17:00"]), [ascension]).unwrap()
}

/// Mon-Fri 09:00-12:00 and 13:00-17:00 America/New_York.
pub fn new_york_split_shift() -> Calendar {
    Calendar::business_hours(New_York, week(&WORKDAYS, &["09:00-12:00", "13:00-17:00"]), []).unwrap()
}

/// The same single interval on every day of the week.
pub fn all_days(tz: Tz, interval: &str) -> Calendar {
    Calendar::business_hours(tz, week(&ALL_DAYS, &[interval]), []).unwrap()
}
