//! The review budget: of the tickets where a person could change the outcome, which ones a
//! person is asked to look at, so that at most the policy's share of recent decisions is
//! flagged. A ticket a rule must have reviewed (a security incident) is always flagged and
//! counts against the budget; the others compete by their review score, the highest first.
//!
//! The window of recent decisions is the only state in the policy engine. It lives behind a
//! mutex shared by every clone of one compiled policy, so a reload starts a fresh window.
//! No I/O and no clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub(super) struct ReviewBudget {
    /// Largest share of recent decisions flagged for review.
    pub share: f32,
    /// How many recent decisions the share is counted over.
    pub window: usize,
    recent: Arc<Mutex<VecDeque<Recent>>>,
}

#[derive(Debug, Clone, Copy)]
struct Recent {
    score: u8,
    flagged: bool,
}

impl ReviewBudget {
    pub fn new(share: f32, window: usize) -> Self {
        Self { share, window: window.max(1), recent: Arc::default() }
    }

    /// Whether this decision is flagged. `score` (0 to 100) is 0 when a person would change
    /// nothing, higher the more a person could change; `must` when a rule requires review.
    pub fn admit(&self, score: u8, must: bool) -> bool {
        // A poisoned lock only means another decision panicked mid-update; the window is
        // still a valid record.
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let flagged = must || (score > 0 && self.has_room(&recent, score));
        recent.push_back(Recent { score, flagged });
        if recent.len() > self.window {
            recent.pop_front();
        }
        flagged
    }

    fn has_room(&self, recent: &VecDeque<Recent>, score: u8) -> bool {
        let seen = recent.len() + 1;
        let allowed = (self.share * seen as f32).ceil() as usize;
        let flagged = recent.iter().filter(|r| r.flagged).count();
        if flagged >= allowed {
            return false;
        }
        // Keep the room for the highest scores: a score below the one at the budget's edge of
        // the window waits for nothing better, but does not take a place a higher one needs.
        let mut scores: Vec<u8> = recent.iter().map(|r| r.score).chain([score]).collect();
        scores.sort_unstable_by(|a, b| b.cmp(a));
        let edge = scores[(allowed - 1).min(scores.len() - 1)];
        score >= edge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_holds_on_any_prefix_of_a_stream_of_candidates() {
        let budget = ReviewBudget::new(0.2, 500);
        let flags: Vec<bool> = (0..200).map(|i| budget.admit(1 + (i % 3) as u8, false)).collect();
        for n in 1..=flags.len() {
            let flagged = flags[..n].iter().filter(|f| **f).count();
            assert!(flagged as f32 <= (0.2 * n as f32).ceil(), "{flagged} of {n}");
        }
        assert!(flags.iter().filter(|f| **f).count() >= 30, "the budget is used, not left empty");
    }

    #[test]
    fn nothing_to_change_is_never_flagged_and_a_rule_always_is() {
        let budget = ReviewBudget::new(0.2, 100);
        assert!((0..50).all(|_| !budget.admit(0, false)));
        assert!((0..50).all(|_| budget.admit(0, true)), "must-review ignores the budget");
        assert!(!budget.admit(3, false), "must-review used the budget up");
    }

    #[test]
    fn higher_scores_win_the_room() {
        let budget = ReviewBudget::new(0.1, 1000);
        let low: Vec<bool> = (0..100).map(|i| budget.admit(if i % 2 == 0 { 1 } else { 0 }, false)).collect();
        let low_flagged = low.iter().filter(|f| **f).count();
        let high_flagged = (0..20).filter(|_| budget.admit(4, false)).count();
        assert!(low_flagged <= 11, "{low_flagged}");
        assert!(high_flagged >= 1, "a higher score still finds room");
    }
}
