//! Prometheus metrics: what an operator watches on a dashboard. Requests and their latency by
//! route and status, what the model predicted, how often it abstained, which priorities and
//! rules the policy produced, the model worker's batch sizes and queue depth, and each head's
//! drift. Counting only: nothing here changes a response.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::classify::ClassifyResponse;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PredictionLabels {
    head: String,
    label: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeadLabels {
    head: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PriorityLabels {
    level: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~1.6 s: single tickets take well under a millisecond, big batches longer.
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    predictions: Family<PredictionLabels, Counter>,
    abstentions: Family<HeadLabels, Counter>,
    priorities: Family<PriorityLabels, Counter>,
    rule_hits: Family<RuleLabels, Counter>,
    needs_review: Counter,
    batch_sizes: Histogram,
    queue_depth: Gauge<i64, AtomicI64>,
    reloads: Family<OutcomeLabels, Counter>,
    drift_psi: Family<HeadLabels, Gauge<f64, AtomicU64>>,
    drift_retrain: Family<HeadLabels, Gauge>,
    drift_psi_held_out: Family<HeadLabels, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("triage");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_request_duration_seconds", "HTTP request latency by route and status", latency.clone());
        let predictions = Family::<PredictionLabels, Counter>::default();
        registry.register("predictions", "Model predictions by head and label", predictions.clone());
        let abstentions = Family::<HeadLabels, Counter>::default();
        registry.register("abstentions", "Predictions below the head's abstain threshold", abstentions.clone());
        let priorities = Family::<PriorityLabels, Counter>::default();
        registry.register("priorities", "Final priorities assigned by the policy", priorities.clone());
        let rule_hits = Family::<RuleLabels, Counter>::default();
        registry.register("rule_hits", "Policy steps that matched, by rule", rule_hits.clone());
        let needs_review = Counter::default();
        registry.register("needs_review", "Decisions sent to human review", needs_review.clone());
        let batch_sizes = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register("model_batch_size", "Tickets per forward pass of the model worker", batch_sizes.clone());
        let queue_depth = Gauge::<i64, AtomicI64>::default();
        registry.register("model_queue_depth", "Requests waiting for the model worker", queue_depth.clone());
        let reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register("reloads", "Model and policy reloads by outcome", reloads.clone());
        let drift_psi = Family::<HeadLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "drift_psi",
            "Population stability index of each head's predicted labels, last period against the one before",
            drift_psi.clone(),
        );
        let drift_psi_held_out = Family::<HeadLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "drift_psi_vs_held_out",
            "Population stability index of each head's predicted labels, last period against the model's held-out data",
            drift_psi_held_out.clone(),
        );
        let drift_retrain = Family::<HeadLabels, Gauge>::default();
        registry.register("drift_retrain_recommended", "1 when a head's labels drifted enough to retrain", drift_retrain.clone());
        Self {
            registry,
            requests,
            latency,
            predictions,
            abstentions,
            priorities,
            rule_hits,
            needs_review,
            batch_sizes,
            queue_depth,
            reloads,
            drift_psi,
            drift_retrain,
            drift_psi_held_out,
        }
    }
}

impl Metrics {
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        let labels = RouteLabels { route: route.to_string(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    pub fn observe_decision(&self, response: &ClassifyResponse) {
        for (head, prediction) in &response.predictions {
            self.predictions.get_or_create(&PredictionLabels { head: head.clone(), label: prediction.label.clone() }).inc();
            if prediction.abstained {
                self.abstentions.get_or_create(&HeadLabels { head: head.clone() }).inc();
            }
        }
        self.priorities.get_or_create(&PriorityLabels { level: response.priority.level.clone() }).inc();
        for step in response.explanation.rules.iter().filter(|step| step.hit) {
            self.rule_hits.get_or_create(&RuleLabels { rule: step.rule.clone() }).inc();
        }
        if response.needs_review {
            self.needs_review.inc();
        }
    }

    pub fn observe_batch(&self, tickets: usize) {
        self.batch_sizes.observe(tickets as f64);
    }

    pub fn observe_reload(&self, succeeded: bool) {
        let outcome = if succeeded { "ok" } else { "failed" };
        self.reloads.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    /// Sets the drift gauges of the heads that could be judged (enough tickets now, and in the
    /// period before for the period-to-period index).
    pub fn observe_drift(&self, drift: &[crate::report::HeadDrift]) {
        for head in drift {
            let labels = HeadLabels { head: head.head.clone() };
            if let Some(psi) = head.psi {
                self.drift_psi.get_or_create(&labels).set(psi);
            }
            if let Some(psi) = head.psi_vs_held_out {
                self.drift_psi_held_out.get_or_create(&labels).set(psi);
            }
            if head.psi.is_some() || head.psi_vs_held_out.is_some() {
                self.drift_retrain.get_or_create(&labels).set(i64::from(head.retrain_recommended()));
            }
        }
    }

    /// The OpenMetrics text, with the queue depth read at scrape time.
    pub fn render(&self, queue_depth: usize) -> String {
        self.queue_depth.set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
