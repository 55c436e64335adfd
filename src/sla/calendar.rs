//! When a support team is open: a time zone plus either 24x7 or weekly opening intervals and
//! holiday dates. Turns local wall-clock hours into UTC periods, resolving DST gaps and
//! overlaps. Knows nothing about targets or clocks (see `business_time`, `clock`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::business_time::Timeline;
use super::SlaError;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One opening interval of a day in local wall-clock minutes since midnight, end exclusive
/// (an end of 24:00 means "until midnight").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenInterval {
    start_minute: u16,
    end_minute: u16,
}

impl OpenInterval {
    pub fn new(start_minute: u16, end_minute: u16) -> Result<Self, SlaError> {
        let interval = Self { start_minute, end_minute };
        if end_minute > MINUTES_PER_DAY {
            return Err(SlaError::IntervalSyntax(interval.to_string()));
        }
        if start_minute >= end_minute {
            return Err(SlaError::EmptyInterval(interval.to_string()));
        }
        Ok(interval)
    }
}

impl fmt::Display for OpenInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hhmm(self.start_minute), hhmm(self.end_minute))
    }
}

impl FromStr for OpenInterval {
    type Err = SlaError;

    /// Parses `"HH:MM-HH:MM"`.
    fn from_str(text: &str) -> Result<Self, SlaError> {
        let syntax_error = || SlaError::IntervalSyntax(text.to_string());
        let minute_of_day = |part: &str| -> Option<u16> {
            let (hours, minutes) = part.trim().split_once(':')?;
            let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
            (minutes < 60 && hours <= 24).then_some(hours * 60 + minutes)
        };
        let (start, end) = text.split_once('-').ok_or_else(syntax_error)?;
        let start = minute_of_day(start).ok_or_else(syntax_error)?;
        let end = minute_of_day(end).ok_or_else(syntax_error)?;
        Self::new(start, end)
    }
}

/// Opening intervals per weekday, sorted and non-overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    by_weekday: [Vec<OpenInterval>; 7],
}

impl WeeklyHours {
    /// Sets the opening intervals of `day`, replacing earlier ones.
    pub fn set(&mut self, day: Weekday, mut intervals: Vec<OpenInterval>) -> Result<(), SlaError> {
        intervals.sort();
        if let Some(pair) = intervals.windows(2).find(|w| w[0].end_minute > w[1].start_minute) {
            return Err(SlaError::OverlappingIntervals(pair[0].to_string(), pair[1].to_string()));
        }
        self.by_weekday[day.num_days_from_monday() as usize] = intervals;
        Ok(())
    }

    fn on(&self, day: Weekday) -> &[OpenInterval] {
        &self.by_weekday[day.num_days_from_monday() as usize]
    }

    fn is_never_open(&self) -> bool {
        self.by_weekday.iter().all(Vec::is_empty)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Schedule {
    AlwaysOpen,
    Weekly { hours: WeeklyHours, holidays: BTreeSet<NaiveDate> },
}

/// A business calendar in one IANA time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    time_zone: Tz,
    schedule: Schedule,
    /// Open periods worked out ahead for a span (`with_timeline`), which business-time
    /// arithmetic inside that span reads instead of walking the calendar day by day.
    timeline: Option<Arc<Timeline>>,
}

impl Calendar {
    /// Open around the clock (24x7). The zone only matters for display.
    pub fn always_open(time_zone: Tz) -> Self {
        Self { time_zone, schedule: Schedule::AlwaysOpen, timeline: None }
    }

    /// Open during `hours` on every day that is not one of `holidays` (local dates).
    pub fn business_hours(
        time_zone: Tz,
        hours: WeeklyHours,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, SlaError> {
        // A week without opening hours would make every due time infinitely far away.
        if hours.is_never_open() {
            return Err(SlaError::NeverOpen);
        }
        let holidays = holidays.into_iter().collect();
        Ok(Self { time_zone, schedule: Schedule::Weekly { hours, holidays }, timeline: None })
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn is_always_open(&self) -> bool {
        self.schedule == Schedule::AlwaysOpen
    }

    /// This calendar with its open periods from `from` to `until` worked out once: the same
    /// answers, found by binary search inside that span (for a report reading a million SLA
    /// clocks on a few calendars). Outside the span, arithmetic walks the calendar as before.
    pub fn with_timeline(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        let timeline = self.open_periods_from(from).map(|periods| Arc::new(Timeline::new(from, until, periods)));
        Self { timeline, ..self.clone() }
    }

    pub(super) fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_deref()
    }

    /// Open periods in UTC, in order, not overlapping, starting no earlier than `from` (the
    /// first one is cut at `from`). `None` for a 24x7 calendar, where business time is
    /// plain elapsed time. The sequence ends only where dates run out (year 262143).
    pub(super) fn open_periods_from(
        &self,
        from: DateTime<Utc>,
    ) -> Option<impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_> {
        let Schedule::Weekly { hours, holidays } = &self.schedule else {
            return None;
        };
        let tz = self.time_zone;
        // Start a day early: a DST shift can move the end of yesterday's hours past `from`.
        let first_date = from.with_timezone(&tz).date_naive().pred_opt().unwrap_or(NaiveDate::MIN);
        let dates = std::iter::successors(Some(first_date), |d| d.succ_opt());
        let mut cursor = from;
        let periods = dates
            .filter(move |date| !holidays.contains(date))
            .flat_map(move |date| {
                hours.on(date.weekday()).iter().filter_map(move |interval| {
                    let start = local_instant(tz, date, interval.start_minute, Edge::Start)?;
                    let end = local_instant(tz, date, interval.end_minute, Edge::End)?;
                    Some((start, end))
                })
            })
            .filter_map(move |(start, end)| {
                // Clipping to the cursor keeps periods disjoint where a repeated (fall-back)
                // hour would otherwise be counted by two adjacent intervals.
                let start = start.max(cursor);
                if end <= start {
                    return None;
                }
                cursor = end;
                Some((start, end))
            });
        Some(periods)
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// The UTC instant of a local wall-clock minute. In a repeated hour an interval starts at the
/// first occurrence and ends at the second, so it covers the whole hour; in a skipped hour the
/// time moves to the first instant after the gap.
fn local_instant(tz: Tz, date: NaiveDate, minute_of_day: u16, edge: Edge) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    let wall_clock = midnight.checked_add_signed(TimeDelta::minutes(minute_of_day.into()))?;
    resolve(tz, wall_clock, edge).or_else(|| first_after_gap(tz, wall_clock))
}

fn resolve(tz: Tz, wall_clock: NaiveDateTime, edge: Edge) -> Option<DateTime<Utc>> {
    match (tz.from_local_datetime(&wall_clock), edge) {
        (LocalResult::Single(t), _) => Some(t.with_timezone(&Utc)),
        (LocalResult::Ambiguous(first, _), Edge::Start) => Some(first.with_timezone(&Utc)),
        (LocalResult::Ambiguous(_, second), Edge::End) => Some(second.with_timezone(&Utc)),
        (LocalResult::None, _) => None,
    }
}

fn first_after_gap(tz: Tz, wall_clock: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Real gaps are at most a few hours long and start on whole minutes.
    (1..=MINUTES_PER_DAY)
        .filter_map(|m| wall_clock.checked_add_signed(TimeDelta::minutes(m.into())))
        .find_map(|t| resolve(tz, t, Edge::Start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_and_reject_nonsense() {
        let ok: OpenInterval = "09:00-17:30".parse().unwrap();
        assert_eq!((ok.start_minute, ok.end_minute), (540, 1050));
        assert_eq!("00:00-24:00".parse::<OpenInterval>().unwrap().end_minute, 1440);
        for bad in ["9-17", "09:00", "17:00-09:00", "09:00-09:00", "09:60-10:00", "23:00-24:30", "x-y"] {
            assert!(bad.parse::<OpenInterval>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn overlapping_intervals_and_closed_weeks_are_rejected() {
        let mut week = WeeklyHours::default();
        let morning = "09:00-12:00".parse().unwrap();
        let overlapping = "11:00-14:00".parse().unwrap();
        assert!(week.set(Weekday::Mon, vec![overlapping, morning]).is_err());
        assert_eq!(Calendar::business_hours(chrono_tz::UTC, WeeklyHours::default(), []), Err(SlaError::NeverOpen));
    }

    #[test]
    fn spring_forward_gap_moves_an_opening_to_the_end_of_the_gap() {
        // Berlin skips 02:00-03:00 on 2026-03-29; 02:30 does not exist that night.
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let at = local_instant(chrono_tz::Europe::Berlin, date, 150, Edge::Start).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    }
}
