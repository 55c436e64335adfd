//! A pausable SLA clock: a target of business time that starts at an instant and stops
//! counting while the ticket waits on the customer. Readings are computed for a `now` the
//! caller passes in; the clock never looks at the system time.

use chrono::{DateTime, TimeDelta, Utc};

use super::{due, elapsed, Calendar, SlaError};

/// One interval during which the clock was frozen; `until` is `None` while still paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pause {
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClock {
    started_at: DateTime<Utc>,
    target: TimeDelta,
    pauses: Vec<Pause>,
}

/// The state of a clock at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    /// Business time counted so far (paused time excluded).
    pub used: TimeDelta,
    /// Business time left; zero once the target is spent.
    pub remaining: TimeDelta,
    /// `used` as a percentage of the target; above 100 once breached.
    pub percent_used: f64,
    pub paused: bool,
    /// The target ran out strictly before `now`.
    pub breached: bool,
    /// When the target runs (or ran) out. While paused: if the clock were resumed at `now`.
    pub due: DateTime<Utc>,
}

impl SlaClock {
    pub fn start(started_at: DateTime<Utc>, target: TimeDelta) -> Self {
        Self { started_at, target: target.max(TimeDelta::zero()), pauses: Vec::new() }
    }

    /// Freezes the clock at `at` (the ticket now waits on the customer).
    pub fn pause(&mut self, at: DateTime<Utc>) -> Result<(), SlaError> {
        if let Some(since) = self.paused_since() {
            return Err(SlaError::AlreadyPaused(since));
        }
        self.check_order(at)?;
        self.pauses.push(Pause { from: at, until: None });
        Ok(())
    }

    /// Lets the clock run again from `at`.
    pub fn resume(&mut self, at: DateTime<Utc>) -> Result<(), SlaError> {
        self.check_order(at)?;
        match self.pauses.last_mut() {
            Some(pause @ Pause { until: None, .. }) => {
                pause.until = Some(at);
                Ok(())
            }
            _ => Err(SlaError::NotPaused),
        }
    }

    pub fn read(&self, calendar: &Calendar, now: DateTime<Utc>) -> ClockReading {
        let mut used = TimeDelta::zero();
        let mut ran_out_at = None;
        for (from, to) in self.running_periods(now) {
            if ran_out_at.is_none() {
                let out = due(calendar, from, self.target - used);
                ran_out_at = (out <= to).then_some(out);
            }
            used += elapsed(calendar, from, to);
        }
        let remaining = (self.target - used).max(TimeDelta::zero());
        // Every counted period lies before `now`, so what is left starts counting at `now`.
        let due_at = ran_out_at.unwrap_or_else(|| due(calendar, now.max(self.started_at), remaining));
        ClockReading {
            used,
            remaining,
            percent_used: percent(used, self.target),
            paused: self.pauses.iter().any(|p| p.from <= now && p.until.is_none_or(|u| u > now)),
            breached: ran_out_at.is_some_and(|at| at < now),
            due: due_at,
        }
    }

    fn paused_since(&self) -> Option<DateTime<Utc>> {
        self.pauses.last().filter(|p| p.until.is_none()).map(|p| p.from)
    }

    fn check_order(&self, at: DateTime<Utc>) -> Result<(), SlaError> {
        let last = self.pauses.last().map_or(self.started_at, |p| p.until.unwrap_or(p.from));
        if at < last {
            return Err(SlaError::OutOfOrder { at, last });
        }
        Ok(())
    }

    /// The periods before `now` during which the clock ran.
    fn running_periods(&self, now: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let starts = std::iter::once(Some(self.started_at)).chain(self.pauses.iter().map(|p| p.until));
        let ends = self.pauses.iter().map(|p| p.from).chain(std::iter::once(now));
        starts.zip(ends).filter_map(move |(from, to)| Some((from?, to.min(now)))).filter(|(from, to)| from < to)
    }
}

fn percent(used: TimeDelta, target: TimeDelta) -> f64 {
    if target.is_zero() {
        return 100.0;
    }
    used.num_seconds() as f64 * 100.0 / target.num_seconds() as f64
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Europe::Berlin;
    use proptest::prelude::*;

    use super::super::test_calendars::{berlin_office, new_york_split_shift};
    use super::*;

    fn berlin(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Berlin.with_ymd_and_hms(2026, 6, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_pause_over_night_freezes_the_clock() {
        let office = berlin_office();
        // Monday 2026-06-01 10:00, 4 business hours.
        let mut clock = SlaClock::start(berlin(1, 10, 0), TimeDelta::hours(4));
        clock.pause(berlin(1, 12, 0)).unwrap();
        let paused = clock.read(&office, berlin(2, 11, 0));
        assert!(paused.paused);
        assert_eq!(paused.used, TimeDelta::hours(2));
        assert_eq!(paused.percent_used, 50.0);
        assert_eq!(paused.due, berlin(2, 13, 0), "projected from now");

        clock.resume(berlin(2, 11, 0)).unwrap();
        let running = clock.read(&office, berlin(2, 12, 0));
        assert_eq!(running.used, TimeDelta::hours(3));
        assert_eq!(running.due, berlin(2, 13, 0));
        assert!(!running.breached);
        let late = clock.read(&office, berlin(2, 14, 0));
        assert!(late.breached && late.remaining.is_zero());
        assert_eq!(late.due, berlin(2, 13, 0));
        assert_eq!(late.percent_used, 125.0);
    }

    #[test]
    fn breach_is_strictly_after_the_due_time() {
        let office = berlin_office();
        let clock = SlaClock::start(berlin(1, 9, 0), TimeDelta::hours(8));
        assert!(!clock.read(&office, berlin(1, 17, 0)).breached);
        // Still 100% over the night, but the deadline has passed.
        let next_morning = clock.read(&office, berlin(2, 8, 0));
        assert!(next_morning.breached);
        assert_eq!(next_morning.percent_used, 100.0);
    }

    #[test]
    fn pause_and_resume_are_checked() {
        let mut clock = SlaClock::start(berlin(1, 9, 0), TimeDelta::hours(1));
        assert_eq!(clock.resume(berlin(1, 10, 0)), Err(SlaError::NotPaused));
        assert!(matches!(clock.pause(berlin(1, 8, 0)), Err(SlaError::OutOfOrder { .. })));
        clock.pause(berlin(1, 10, 0)).unwrap();
        assert_eq!(clock.pause(berlin(1, 11, 0)), Err(SlaError::AlreadyPaused(berlin(1, 10, 0))));
        assert!(matches!(clock.resume(berlin(1, 9, 30)), Err(SlaError::OutOfOrder { .. })));
    }

    #[test]
    fn a_reading_before_the_start_has_used_nothing() {
        let office = berlin_office();
        let clock = SlaClock::start(berlin(2, 9, 0), TimeDelta::hours(1));
        let early = clock.read(&office, berlin(1, 9, 0));
        assert_eq!((early.used, early.breached), (TimeDelta::zero(), false));
        assert_eq!(early.due, berlin(2, 10, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn pausing_never_makes_a_due_time_earlier(
            start_s in 0i64..2_000_000, target_min in 0i64..5_000,
            pause_after in 0i64..500_000, pause_len in 0i64..500_000, read_after in 0i64..2_000_000,
            new_york in any::<bool>(),
        ) {
            let calendar = if new_york { new_york_split_shift() } else { berlin_office() };
            let start = Utc.timestamp_opt(1_767_225_600 + start_s, 0).unwrap();
            let now = start + TimeDelta::seconds(read_after);
            let plain = SlaClock::start(start, TimeDelta::minutes(target_min));
            let mut paused = plain.clone();
            let pause_at = start + TimeDelta::seconds(pause_after);
            paused.pause(pause_at).unwrap();
            paused.resume(pause_at + TimeDelta::seconds(pause_len)).unwrap();
            let (plain, paused) = (plain.read(&calendar, now), paused.read(&calendar, now));
            prop_assert!(paused.due >= plain.due);
            prop_assert!(paused.used <= plain.used);
        }
    }
}
