//! Routing: the category head's label (optionally narrowed by language and plan) to a queue,
//! first matching route wins, with a default queue. Also finds routes that overlap with a
//! different queue, for `check`. Rules may still override the queue afterwards (`decide`).

use super::condition::Facts;

#[derive(Debug, Clone)]
pub(super) struct Route {
    pub category: String,
    /// Lower-cased; `None` matches any language.
    pub language: Option<String>,
    /// Lower-cased plan name; `None` matches any plan.
    pub plan: Option<String>,
    pub queue: String,
}

#[derive(Debug, Clone)]
pub(super) struct Routing {
    pub head: String,
    pub default_queue: String,
    pub routes: Vec<Route>,
}

/// A qualifier of route `a` covers that of `b` when every ticket `b` admits, `a` admits too.
fn covers(a: &Option<String>, b: &Option<String>) -> bool {
    a.is_none() || a == b
}

fn intersects(a: &Option<String>, b: &Option<String>) -> bool {
    a.is_none() || b.is_none() || a == b
}

impl Route {
    fn admits(&self, category: &str, language: Option<&str>, plan: &str) -> bool {
        let language = language.map(|l| l.trim().to_lowercase());
        self.category == category
            && self.language.as_ref().is_none_or(|l| Some(l) == language.as_ref())
            && self.plan.as_ref().is_none_or(|p| p == plan)
    }

    fn describe(&self) -> String {
        let mut text = format!("category {:?}", self.category);
        if let Some(language) = &self.language {
            text.push_str(&format!(" language {language}"));
        }
        if let Some(plan) = &self.plan {
            text.push_str(&format!(" plan {plan}"));
        }
        text
    }
}

impl Routing {
    /// The queue for a ticket and the reason in words.
    pub fn route(&self, facts: &Facts) -> (&str, String) {
        let head = &self.head;
        let prediction = match facts.predictions.get(head) {
            None => return (&self.default_queue, format!("no {head} prediction; default queue")),
            Some(p) if p.abstained => {
                let why = format!("{head} abstained (best guess {}, {:.2}); default queue", p.label, p.score);
                return (&self.default_queue, why);
            }
            Some(p) => p,
        };
        let seen = format!("{head} = {} ({:.2})", prediction.label, prediction.score);
        let language = facts.ticket.language.as_deref();
        match self.routes.iter().find(|r| r.admits(&prediction.label, language, facts.plan)) {
            Some(route) => (&route.queue, format!("{seen}; route {}", route.describe())),
            None => (&self.default_queue, format!("{seen}; no route; default queue")),
        }
    }

    /// Pairs of routes that can both admit a ticket but send it to different queues, where
    /// the first is not strictly narrower than the second (specific-before-general is fine).
    pub fn conflicts(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, first) in self.routes.iter().enumerate() {
            for second in &self.routes[i + 1..] {
                let overlap = first.category == second.category
                    && intersects(&first.language, &second.language)
                    && intersects(&first.plan, &second.plan);
                let narrower = covers(&second.language, &first.language)
                    && covers(&second.plan, &first.plan)
                    && (&first.language, &first.plan) != (&second.language, &second.plan);
                if overlap && !narrower && first.queue != second.queue {
                    found.push(format!(
                        "routes overlap: {} -> {} and {} -> {}; the first listed wins",
                        first.describe(),
                        first.queue,
                        second.describe(),
                        second.queue
                    ));
                }
            }
        }
        found
    }
}
