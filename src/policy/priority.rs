//! Priority levels and the arithmetic of changing them: set, raise by N up to a ceiling, lower
//! by N down to a floor. A level is a rank into the policy's ordered list (0 = most urgent);
//! names are only for people. Knows nothing about rules or conditions.

use serde::Serialize;

/// One priority level as the policy file declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorityLevel {
    /// Short code, e.g. "P1".
    pub level: String,
    /// Human name, e.g. "Urgent".
    pub name: String,
    /// The written guideline agents read: when this level applies.
    pub description: String,
}

/// Position in the ordered level list; a smaller rank is more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Rank(pub usize);

impl Rank {
    /// The least urgent of the levels a ticket counts as critical at, among `levels`: the
    /// second (P2), or the only one. Severity by meaning puts a ticket there; review asks for
    /// a person when a ticket that may belong there or higher is placed below it.
    pub fn least_critical(levels: usize) -> Rank {
        Rank(1.min(levels.saturating_sub(1)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PriorityChange {
    Set(Rank),
    Raise { by: usize, ceiling: Rank },
    Lower { by: usize, floor: Rank },
}

impl PriorityChange {
    /// The level after this change. A raise never makes a ticket less urgent, even when it is
    /// already above the ceiling; likewise a lower never makes it more urgent.
    pub fn apply(self, current: Rank) -> Rank {
        match self {
            PriorityChange::Set(rank) => rank,
            PriorityChange::Raise { by, ceiling } => Rank(current.0.saturating_sub(by).max(ceiling.0).min(current.0)),
            PriorityChange::Lower { by, floor } => Rank(current.0.saturating_add(by).min(floor.0).max(current.0)),
        }
    }

    /// Plain words for the summary, from what actually happened: "raised one level",
    /// "set to P1".
    pub fn describe(self, from: Rank, to: Rank, levels: &[PriorityLevel]) -> String {
        let steps = match from.0.abs_diff(to.0) {
            1 => "one level".to_string(),
            n => format!("{n} levels"),
        };
        match self {
            PriorityChange::Set(_) => format!("set to {}", levels[to.0].level),
            PriorityChange::Raise { .. } => format!("raised {steps}"),
            PriorityChange::Lower { .. } => format!("lowered {steps}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn changes_respect_ceiling_and_floor() {
        let raise = |by, ceiling| PriorityChange::Raise { by, ceiling: Rank(ceiling) };
        let lower = |by, floor| PriorityChange::Lower { by, floor: Rank(floor) };
        let cases = [
            ("raise one", raise(1, 0), 1, 0),
            ("raise at top", raise(1, 0), 0, 0),
            ("raise stops at ceiling", raise(3, 1), 3, 1),
            ("raise above ceiling keeps level", raise(1, 2), 0, 0),
            ("lower one", lower(1, 3), 2, 3),
            ("lower stops at floor", lower(5, 2), 0, 2),
            ("lower below floor keeps level", lower(1, 1), 3, 3),
            ("set", PriorityChange::Set(Rank(2)), 0, 2),
        ];
        for (why, change, from, expected) in cases {
            assert_eq!(change.apply(Rank(from)), Rank(expected), "{why}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_raise_never_lowers_and_a_lower_never_raises(current in 0usize..8, by in 0usize..10, bound in 0usize..8) {
            let raised = PriorityChange::Raise { by, ceiling: Rank(bound) }.apply(Rank(current));
            let lowered = PriorityChange::Lower { by, floor: Rank(bound) }.apply(Rank(current));
            prop_assert!(raised <= Rank(current));
            prop_assert!(lowered >= Rank(current));
        }
    }
}
