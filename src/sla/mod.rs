//! SLA arithmetic in business time: calendars (time zone, weekly hours, holidays, or 24x7),
//! due times, elapsed business time, and pausable SLA clocks.
//!
//! Everything here is a pure function of its arguments. Nothing reads the system clock (`now`
//! is always a parameter), does I/O or knows about the policy file format; the policy layer
//! builds calendars from its file and calls in.

mod business_time;
mod calendar;
mod clock;
#[cfg(test)]
pub(crate) mod test_calendars;

pub use business_time::{due, elapsed};
pub use calendar::{Calendar, OpenInterval, WeeklyHours};
pub use clock::{ClockReading, SlaClock};

use chrono::{DateTime, Utc};

/// Why a calendar or a clock operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("opening hours must look like \"09:00-17:00\" (24:00 allowed as an end): {0:?}")]
    IntervalSyntax(String),
    #[error("opening hours {0} end before they start")]
    EmptyInterval(String),
    #[error("opening hours {0} and {1} overlap")]
    OverlappingIntervals(String, String),
    #[error("a business-hours calendar needs at least one opening interval in the week")]
    NeverOpen,
    #[error("the clock is already paused (since {0})")]
    AlreadyPaused(DateTime<Utc>),
    #[error("the clock is not paused")]
    NotPaused,
    #[error("{at} is before the clock's last event at {last}")]
    OutOfOrder { at: DateTime<Utc>, last: DateTime<Utc> },
}
