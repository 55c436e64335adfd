//! Repeat issues: tickets that describe the same problem within a time window, grouped as they
//! arrive, so an outage reported forty times shows as one cluster of forty. A new ticket joins
//! the cluster of the most similar recent ticket when their vectors reach a cosine threshold;
//! otherwise it starts a cluster of its own. The vector is the ticket's sentence embedding,
//! whitened by the training tickets' statistics (`model::whitening`), when the bundle has an
//! encoder (tickets telling one outage in other words or languages meet), else its TF-IDF
//! features (the model's word-level and character n-gram parts, each unit length), which only
//! near-verbatim repeats share; each has its own threshold. And the measure of a grouping
//! against labeled groups: pairwise precision and recall.
//!
//! Pure: the caller holds the window, passes each ticket's arrival time and vector, and keeps
//! one window per server (several servers each group what they see).

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::model::features::TicketFeatures;
use crate::sparse_vector::{dot, unit, SparseVector};

/// A ticket as a sorted sparse unit vector.
pub type Vector = SparseVector;

/// What a ticket is compared by. Tickets are compared only on the same basis: cosines of
/// embeddings and of features lie on different scales, and another model's vectors lie in
/// another space (its own whitening, its own feature ids), so after a model reload new tickets
/// start new clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Likeness {
    pub vector: Vector,
    /// Whether `vector` is a sentence embedding (else TF-IDF features).
    pub by_meaning: bool,
    /// The version of the model that computed `vector`.
    pub model: String,
}

impl Likeness {
    fn comparable_with(&self, other: &Likeness) -> bool {
        self.by_meaning == other.by_meaning && self.model == other.model
    }
}

/// The ticket's whitened sentence embedding when it has one, else its features, as `model`
/// (a version) computed them.
pub fn likeness_of(features: &TicketFeatures, embedding: Option<&[f32]>, model: &str) -> Likeness {
    let (vector, by_meaning) = match embedding {
        Some(embedding) => (embedding.iter().enumerate().map(|(i, v)| (i as u32, *v)).collect(), true),
        None => (vector_of(features), false),
    };
    Likeness { vector, by_meaning, model: model.to_string() }
}

/// The ticket's features as one unit vector: both feature groups together, so a shared
/// product name or error code (character n-grams) counts next to shared words.
fn vector_of(features: &TicketFeatures) -> Vector {
    let mut summed: BTreeMap<u32, f32> = BTreeMap::new();
    for (id, weight) in features.ids.iter().zip(&features.weights) {
        *summed.entry(*id).or_default() += weight;
    }
    unit(summed.into_iter().collect())
}

/// How tickets are grouped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterSettings {
    /// Least cosine similarity of features for a ticket to join a recent one's cluster.
    pub similarity: f32,
    /// The same for whitened sentence embeddings.
    pub meaning_similarity: f32,
    /// How far back a ticket looks for one like it.
    pub window: TimeDelta,
    /// At most this many recent tickets are compared with a new one (the newest): each is a
    /// full sparse dot product under the server's lock, so a window of every ticket of two
    /// busy hours would cap the server's throughput.
    pub max_recent: usize,
}

/// The cluster a ticket joined, as the classify response names it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClusterRef {
    /// The decision id of the cluster's first ticket.
    pub id: String,
    /// Tickets in the cluster within the window, this one included.
    pub size: usize,
    pub first_seen: DateTime<Utc>,
    /// The recent ticket this one was most like, and how much.
    pub like_decision: String,
    pub similarity: f32,
}

struct Recent {
    decision_id: String,
    /// Who the ticket is: the helpdesk's ticket id, else the decision id. The same ticket sent
    /// again (a retry, an update) is one member of its cluster, not another.
    ticket: String,
    at: DateTime<Utc>,
    likeness: Likeness,
    cluster: String,
}

/// The tickets of the last `window`, each with its cluster.
pub struct RecentTickets {
    settings: ClusterSettings,
    recent: VecDeque<Recent>,
}

impl RecentTickets {
    pub fn new(settings: ClusterSettings) -> Self {
        Self { settings, recent: VecDeque::new() }
    }

    /// Adds a ticket that arrived at `at` (not before the previous one) and says which
    /// cluster it joined, or `None` when it is the first of its kind in the window (or the
    /// others like it are earlier sendings of the same `ticket_id`).
    pub fn add(
        &mut self,
        decision_id: &str,
        ticket_id: Option<&str>,
        at: DateTime<Utc>,
        likeness: Likeness,
    ) -> Option<ClusterRef> {
        let oldest = at - self.settings.window;
        while self.recent.front().is_some_and(|r| r.at < oldest) || self.recent.len() >= self.settings.max_recent.max(1) {
            self.recent.pop_front();
        }
        let threshold = if likeness.by_meaning { self.settings.meaning_similarity } else { self.settings.similarity };
        let nearest = self
            .recent
            .iter()
            .filter(|r| r.likeness.comparable_with(&likeness))
            .map(|r| (r, dot(&likeness.vector, &r.likeness.vector)))
            .filter(|(_, similarity)| *similarity >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let joined = nearest.map(|(r, similarity)| (r.cluster.clone(), r.decision_id.clone(), similarity));
        let cluster = joined.as_ref().map_or_else(|| decision_id.to_string(), |(cluster, _, _)| cluster.clone());
        let ticket = ticket_id.unwrap_or(decision_id).to_string();
        self.recent.push_back(Recent { decision_id: decision_id.to_string(), ticket, at, likeness, cluster: cluster.clone() });
        let (_, like_decision, similarity) = joined?;
        let members: Vec<&Recent> = self.recent.iter().filter(|r| r.cluster == cluster).collect();
        let size = members.iter().map(|r| r.ticket.as_str()).collect::<std::collections::HashSet<_>>().len();
        let first_seen = members.iter().map(|r| r.at).min().unwrap_or(at);
        (size > 1).then_some(ClusterRef { id: cluster, size, first_seen, like_decision, similarity })
    }

    /// Takes back tickets whose decisions were never kept (the decision log refused them, so
    /// the client was told to retry): a retry must not count again in its cluster. Tickets
    /// that joined their clusters meanwhile stay where they are.
    pub fn forget(&mut self, decision_ids: &[&str]) {
        self.recent.retain(|r| !decision_ids.contains(&r.decision_id.as_str()));
    }
}

/// The cluster of every ticket in `arrivals` (in arrival order): the cluster it joined, or
/// its own id when it started one.
pub fn group_all(arrivals: Vec<(String, DateTime<Utc>, Likeness)>, settings: ClusterSettings) -> Vec<String> {
    let mut recent = RecentTickets::new(settings);
    arrivals.into_iter().map(|(id, at, likeness)| recent.add(&id, None, at, likeness).map_or(id, |joined| joined.id)).collect()
}

/// Pairwise agreement of a grouping with the true groups: of the pairs put together, the
/// share that belong together (precision), and of the pairs that belong together, the share
/// put together (recall). `None` where there is no such pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairScore {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub pairs_together: usize,
    pub pairs_belonging: usize,
}

/// Scores `assigned` (per ticket: its true group, the cluster it was put in).
pub fn pair_score(assigned: &[(&str, &str)]) -> PairScore {
    let count_pairs = |keys: Vec<(&str, &str)>| {
        let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
        keys.into_iter().for_each(|key| *counts.entry(key).or_default() += 1);
        counts.values().map(|n| n * (n - 1) / 2).sum::<usize>()
    };
    let together = count_pairs(assigned.iter().map(|(_, cluster)| ("", *cluster)).collect());
    let belonging = count_pairs(assigned.iter().map(|(group, _)| (*group, "")).collect());
    let both = count_pairs(assigned.iter().map(|(group, cluster)| (*group, *cluster)).collect());
    let share = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);
    PairScore {
        precision: share(both, together),
        recall: share(both, belonging),
        pairs_together: together,
        pairs_belonging: belonging,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_795_000_000 + minute * 60, 0).unwrap()
    }

    fn vector(entries: &[(u32, f32)]) -> Likeness {
        Likeness { vector: unit(entries.to_vec()), by_meaning: false, model: "m1".into() }
    }

    fn settings(max_recent: usize) -> ClusterSettings {
        ClusterSettings { similarity: 0.5, meaning_similarity: 0.9, window: TimeDelta::minutes(60), max_recent }
    }

    #[test]
    fn similar_tickets_join_within_the_window_and_others_stay_apart() {
        let mut recent = RecentTickets::new(settings(100));
        let outage = vector(&[(1, 1.0), (2, 1.0), (3, 1.0)]);
        let question = vector(&[(7, 1.0), (8, 1.0)]);
        assert_eq!(recent.add("a", None, at(0), outage.clone()), None, "the first of its kind");
        assert_eq!(recent.add("q", None, at(1), question), None, "nothing like it");
        let second = recent.add("b", None, at(5), vector(&[(1, 1.0), (2, 1.0), (4, 1.0)])).expect("joins a");
        assert_eq!((second.id.as_str(), second.size, second.first_seen, second.like_decision.as_str()), ("a", 2, at(0), "a"));
        let third = recent.add("c", None, at(30), vector(&[(2, 1.0), (4, 1.0)])).expect("joins through b");
        assert_eq!((third.id.as_str(), third.size), ("a", 3));
        assert_eq!(recent.add("late", None, at(200), outage), None, "the wave is older than the window");
    }

    #[test]
    fn the_same_ticket_sent_again_is_one_member() {
        let mut recent = RecentTickets::new(settings(100));
        let outage = vector(&[(1, 1.0), (2, 1.0)]);
        for (minute, decision) in ["d1", "d2", "d3"].iter().enumerate() {
            assert_eq!(recent.add(decision, Some("T-7"), at(minute as i64), outage.clone()), None, "{decision}: a resend");
        }
        let other = recent.add("d4", Some("T-8"), at(4), outage).expect("another ticket joins");
        assert_eq!((other.id.as_str(), other.size), ("d1", 2));
    }

    #[test]
    fn a_forgotten_ticket_no_longer_counts_nor_gathers_others() {
        let mut recent = RecentTickets::new(settings(100));
        let outage = vector(&[(1, 1.0), (2, 1.0)]);
        recent.add("a", None, at(0), outage.clone());
        recent.add("b", None, at(1), outage.clone()).expect("joins a");
        recent.forget(&["a", "b"]);
        assert_eq!(recent.add("retry", None, at(2), outage.clone()), None, "the refused decisions are gone");
        let again = recent.add("c", None, at(3), outage).expect("joins the retry");
        assert_eq!((again.id.as_str(), again.size), ("retry", 2));
    }

    #[test]
    fn only_the_newest_tickets_up_to_the_bound_are_compared() {
        let mut recent = RecentTickets::new(settings(2));
        let outage = vector(&[(1, 1.0), (2, 1.0)]);
        assert_eq!(recent.add("a", None, at(0), outage.clone()), None);
        recent.add("q1", None, at(1), vector(&[(7, 1.0)]));
        recent.add("q2", None, at(2), vector(&[(8, 1.0)]));
        assert_eq!(recent.add("b", None, at(3), outage), None, "a fell out behind two newer tickets");
    }

    #[test]
    fn embeddings_are_compared_on_their_own_threshold_and_never_with_features() {
        let mut recent = RecentTickets::new(settings(100));
        let meaning = |x: f32| Likeness { vector: unit(vec![(0, 1.0), (1, x)]), by_meaning: true, model: "m1".into() };
        assert_eq!(recent.add("a", None, at(0), meaning(0.1)), None);
        assert_eq!(recent.add("far", None, at(1), meaning(0.9)), None, "cosine 0.81: below the embeddings' 0.9");
        let near = recent.add("b", None, at(2), meaning(0.2)).expect("cosine 0.99 joins");
        assert_eq!(near.id, "a");
        let features = Likeness { vector: unit(vec![(0, 1.0), (1, 0.1)]), by_meaning: false, model: "m1".into() };
        assert_eq!(recent.add("f", None, at(3), features), None, "the same numbers as features are another basis");
        let reloaded = Likeness { model: "m2".into(), ..meaning(0.2) };
        assert_eq!(recent.add("r", None, at(4), reloaded), None, "another model's embedding lies in another space");
    }

    #[test]
    fn pair_scores_count_pairs_put_together_and_pairs_that_belong_together() {
        // Groups x (3 tickets) and y (1); clusters put x1, x2 together and x3 with y.
        let score = pair_score(&[("x", "c1"), ("x", "c1"), ("x", "c2"), ("y", "c2")]);
        assert_eq!((score.pairs_together, score.pairs_belonging), (2, 3));
        assert_eq!((score.precision, score.recall), (Some(0.5), Some(1.0 / 3.0)));
        assert_eq!(pair_score(&[("x", "a"), ("y", "b")]).precision, None);
    }

    #[test]
    fn a_feature_vector_is_one_unit_vector_over_both_groups() {
        let features = TicketFeatures { ids: vec![5, 2, 9, 2], weights: vec![0.6, 0.8, 0.6, 0.8], word_level: 2 };
        let vector = vector_of(&features);
        assert_eq!(vector.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2, 5, 9], "sorted, a shared id summed");
        assert!((vector.iter().map(|(_, w)| w * w).sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
