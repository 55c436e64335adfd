//! Business-time arithmetic on a `Calendar`: the instant a target runs out (`due`) and the
//! open time between two instants (`elapsed`), by walking the calendar's open periods or, inside
//! a span worked out ahead (`Timeline`), by binary search over them; both give the same
//! answer. Pure functions; no clock reads, no pauses (those are the clock's business, see
//! `clock`).

use chrono::{DateTime, TimeDelta, Utc};

use super::Calendar;

/// The instant at which `target` of business time has passed since `start`.
///
/// A zero (or negative) target is due at `start` itself, even when the calendar is closed.
/// A target that no date can hold saturates at the latest representable instant.
pub fn due(calendar: &Calendar, start: DateTime<Utc>, target: TimeDelta) -> DateTime<Utc> {
    if target <= TimeDelta::zero() {
        return start;
    }
    if let Some(due) = calendar.timeline().and_then(|timeline| timeline.due(start, target)) {
        return due;
    }
    let Some(periods) = calendar.open_periods_from(start) else {
        return start.checked_add_signed(target).unwrap_or(DateTime::<Utc>::MAX_UTC);
    };
    let mut remaining = target;
    for (open, close) in periods {
        let length = close - open;
        if remaining <= length {
            return open + remaining;
        }
        remaining -= length;
    }
    DateTime::<Utc>::MAX_UTC
}

/// Business time between `from` and `to`; zero when `to` is not after `from`.
pub fn elapsed(calendar: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    if to <= from {
        return TimeDelta::zero();
    }
    if let Some(elapsed) = calendar.timeline().and_then(|timeline| timeline.elapsed(from, to)) {
        return elapsed;
    }
    let Some(periods) = calendar.open_periods_from(from) else {
        return to - from;
    };
    periods.take_while(|(open, _)| *open < to).map(|(open, close)| close.min(to) - open).sum()
}

/// A calendar's open periods over a span, with the business time before each: `elapsed` and
/// `due` inside the span in logarithmic time.
#[derive(Debug, PartialEq)]
pub(super) struct Timeline {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    /// Every open period that opens before `until`, the first cut at `from`.
    periods: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Business time from `from` to the close of each period.
    closed_by: Vec<TimeDelta>,
}

impl Timeline {
    pub(super) fn new(
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        periods: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    ) -> Self {
        let periods: Vec<_> = periods.take_while(|(open, _)| *open < until).collect();
        let closed_by = periods
            .iter()
            .scan(TimeDelta::zero(), |total, (open, close)| {
                *total += *close - *open;
                Some(*total)
            })
            .collect();
        Self { from, until, periods, closed_by }
    }

    /// Business time from `from` to `at`, for `at` inside the span.
    fn open_before(&self, at: DateTime<Utc>) -> TimeDelta {
        let opened = self.periods.partition_point(|(open, _)| *open <= at);
        let Some(last) = opened.checked_sub(1) else {
            return TimeDelta::zero();
        };
        let (open, close) = self.periods[last];
        self.closed_by[last] - (close - close.min(at).max(open))
    }

    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at <= self.until
    }

    /// `elapsed`, or `None` when an end lies outside the span.
    pub(super) fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<TimeDelta> {
        (self.covers(from) && self.covers(to)).then(|| self.open_before(to) - self.open_before(from))
    }

    /// `due` for a positive target, or `None` when the start lies outside the span or the
    /// target runs out after its last period.
    pub(super) fn due(&self, start: DateTime<Utc>, target: TimeDelta) -> Option<DateTime<Utc>> {
        if !self.covers(start) {
            return None;
        }
        let goal = self.open_before(start) + target;
        let period = self.closed_by.partition_point(|closed| *closed < goal);
        let (open, close) = *self.periods.get(period)?;
        Some(open + (goal - (self.closed_by[period] - (close - open))))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;
    use chrono_tz::Tz;
    use proptest::prelude::*;

    use super::super::test_calendars::{all_days, berlin_office, new_york_split_shift};
    use super::*;

    fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    fn hours(h: i64) -> TimeDelta {
        TimeDelta::hours(h)
    }

    #[test]
    fn due_times_in_berlin_office_hours() {
        let office = berlin_office();
        let cases = [
            // (why, start, target, expected due), all local Berlin times
            ("same day", local(Berlin, 2026, 5, 4, 10, 0), hours(2), local(Berlin, 2026, 5, 4, 12, 0)),
            ("ends exactly at closing", local(Berlin, 2026, 5, 4, 9, 0), hours(8), local(Berlin, 2026, 5, 4, 17, 0)),
            ("day ends first", local(Berlin, 2026, 5, 4, 9, 0), hours(20), local(Berlin, 2026, 5, 6, 13, 0)),
            ("over a weekend", local(Berlin, 2026, 5, 8, 16, 0), hours(2), local(Berlin, 2026, 5, 11, 10, 0)),
            ("start on Saturday", local(Berlin, 2026, 5, 9, 11, 0), hours(1), local(Berlin, 2026, 5, 11, 10, 0)),
            ("before opening", local(Berlin, 2026, 5, 5, 6, 0), hours(1), local(Berlin, 2026, 5, 5, 10, 0)),
            ("over Ascension Day", local(Berlin, 2026, 5, 13, 16, 0), hours(2), local(Berlin, 2026, 5, 15, 10, 0)),
            ("over spring DST", local(Berlin, 2026, 3, 27, 16, 0), hours(2), local(Berlin, 2026, 3, 30, 10, 0)),
            ("over autumn DST", local(Berlin, 2026, 10, 23, 16, 0), hours(2), local(Berlin, 2026, 10, 26, 10, 0)),
        ];
        for (why, start, target, expected) in cases {
            assert_eq!(due(&office, start, target), expected, "{why}");
            assert_eq!(elapsed(&office, start, expected), target, "{why}: elapsed is the inverse");
        }
    }

    #[test]
    fn split_shift_in_new_york_skips_lunch_and_dst() {
        let shift = new_york_split_shift();
        let cases = [
            ("lunch break", local(New_York, 2026, 6, 1, 11, 0), hours(2), local(New_York, 2026, 6, 1, 14, 0)),
            ("spring DST weekend", local(New_York, 2026, 3, 6, 16, 0), hours(2), local(New_York, 2026, 3, 9, 10, 0)),
            ("autumn DST weekend", local(New_York, 2026, 10, 30, 16, 0), hours(2), local(New_York, 2026, 11, 2, 10, 0)),
        ];
        for (why, start, target, expected) in cases {
            assert_eq!(due(&shift, start, target), expected, "{why}");
        }
    }

    #[test]
    fn dst_days_have_the_real_number_of_open_hours() {
        // Open 00:00-03:00 local every day; DST nights in New York and Berlin shift at 02:00 (NY)
        // and 02:00/03:00 (Berlin), inside that interval.
        let cases = [
            (New_York, (2026, 3, 8), hours(2)),
            (New_York, (2026, 11, 1), hours(4)),
            (Berlin, (2026, 3, 29), hours(2)),
            (Berlin, (2026, 10, 25), hours(4)),
            (Berlin, (2026, 6, 7), hours(3)),
        ];
        for (tz, (y, m, d), expected) in cases {
            let calendar = all_days(tz, "00:00-03:00");
            let day_start = local(tz, y, m, d, 0, 0);
            let day_end = local(tz, y, m, d + 1, 0, 0);
            assert_eq!(elapsed(&calendar, day_start, day_end), expected, "{tz} {y}-{m}-{d}");
        }
    }

    #[test]
    fn an_all_day_calendar_agrees_with_real_time_across_dst() {
        for tz in [Berlin, New_York] {
            let calendar = all_days(tz, "00:00-24:00");
            for (y, m, d) in [(2026, 3, 7), (2026, 3, 28), (2026, 10, 24), (2026, 10, 31)] {
                let start = local(tz, y, m, d, 12, 0);
                assert_eq!(due(&calendar, start, hours(36)), start + hours(36), "{tz} {y}-{m}-{d}");
            }
        }
    }

    #[test]
    fn a_24x7_calendar_is_plain_elapsed_time() {
        let always = Calendar::always_open(Berlin);
        let start = local(Berlin, 2026, 10, 24, 22, 0);
        assert_eq!(due(&always, start, hours(5)), start + hours(5));
        assert_eq!(elapsed(&always, start, start + hours(5)), hours(5));
    }

    #[test]
    fn zero_target_is_due_at_start_and_reversed_ranges_are_empty() {
        let office = berlin_office();
        let saturday = local(Berlin, 2026, 5, 9, 11, 0);
        assert_eq!(due(&office, saturday, TimeDelta::zero()), saturday);
        assert_eq!(elapsed(&office, saturday + hours(100), saturday), TimeDelta::zero());
    }

    fn any_calendar() -> impl Strategy<Value = Calendar> {
        prop_oneof![
            Just(berlin_office()),
            Just(new_york_split_shift()),
            Just(all_days(New_York, "01:30-02:30")),
            Just(Calendar::always_open(Berlin)),
        ]
    }

    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2026-01-01 .. 2028-01-01, covering both DST changes and the listed holidays.
        (1_767_225_600i64..1_830_297_600).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn due_is_never_before_start(cal in any_calendar(), start in any_instant(), minutes in 0i64..50_000) {
            prop_assert!(due(&cal, start, TimeDelta::minutes(minutes)) >= start);
        }

        #[test]
        fn a_larger_target_is_never_due_earlier(
            cal in any_calendar(), start in any_instant(), minutes in 0i64..20_000, extra in 0i64..5_000,
        ) {
            let smaller = due(&cal, start, TimeDelta::minutes(minutes));
            let larger = due(&cal, start, TimeDelta::minutes(minutes + extra));
            prop_assert!(larger >= smaller);
        }

        #[test]
        fn a_timeline_answers_as_walking_the_calendar_does(
            cal in any_calendar(), start in any_instant(), days in 0i64..60, later in 0i64..90 * 86_400, minutes in 1i64..20_000,
        ) {
            let span_from = start - TimeDelta::days(days);
            let timeline = cal.with_timeline(span_from, span_from + TimeDelta::days(60));
            let end = start + TimeDelta::seconds(later);
            prop_assert_eq!(elapsed(&timeline, start, end), elapsed(&cal, start, end));
            prop_assert_eq!(elapsed(&timeline, span_from, start), elapsed(&cal, span_from, start));
            let target = TimeDelta::minutes(minutes);
            prop_assert_eq!(due(&timeline, start, target), due(&cal, start, target));
        }

        #[test]
        fn elapsed_undoes_due(cal in any_calendar(), start in any_instant(), minutes in 0i64..20_000) {
            let target = TimeDelta::minutes(minutes);
            prop_assert_eq!(elapsed(&cal, start, due(&cal, start, target)), target);
        }
    }
}
