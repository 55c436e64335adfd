//! Turns the parsed file (`file`) into a typed `Policy`: resolves priority, calendar and plan
//! names, builds calendars and regexes, and checks that settings fit together. Every problem
//! is collected with its line and column instead of stopping at the first; a placeholder
//! value keeps compilation going, and the policy is only returned when there were none.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::str::FromStr;

use chrono::{NaiveDate, Weekday};
use toml::Spanned;

use super::condition::{Condition, FieldPath, PredictionTest};
use super::examples::Examples;
use super::matrix::{Abstention, AbstentionStart, Matrix};
use super::phrases::{Cues, Near, Phrases};
use super::plans::{Plan, Plans, Targets};
use super::priority::{PriorityChange, PriorityLevel, Rank};
use super::review::ReviewBudget;
use super::routing::{Route, Routing};
use super::rules::{Effects, Rule, RuleSet};
use super::schema::{
    AbstentionFile, CalendarFile, CapsFile, ConditionFile, MatrixFile, PlanFile, PolicyFile, PriorityFile, ReviewFile,
    RoutingFile, RuleFile, RuleSetFile, SeverityFile, SignalFile, SlaFile, WeekFile,
};
use super::severity::{Caps, Needs, Origin, Severity, Signal};
use super::{content_version, Policy, PolicyError, Problem};
use crate::sla::{Calendar, WeeklyHours};

/// Most words between the two halves of a `near` pair when the file does not say.
const DEFAULT_NEAR_WITHIN: usize = 3;

/// Share of decisions flagged for review when the policy states no `[review]` budget.
const DEFAULT_REVIEW_BUDGET: f32 = 0.2;
const DEFAULT_REVIEW_WINDOW: usize = 500;

pub(super) fn compile(text: &str) -> Result<Policy, PolicyError> {
    let file: PolicyFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        PolicyError::Syntax(Problem::at(text, offset, e.message()))
    })?;
    let mut compiler = Compiler { text, problems: Vec::new(), ranks: BTreeMap::new(), signals: BTreeSet::new() };
    let levels = compiler.levels(&file.priorities);
    let plans = compiler.plans(&file.sla);
    let matrix = compiler.matrix(&file.matrix);
    let severity = compiler.severity(file.severity.as_ref(), file.priorities.get_ref(), &matrix);
    let review = compiler.review(file.review.as_ref());
    let abstention = compiler.abstention(&file.abstention, &matrix);
    let rule_sets = compiler.rule_sets(&file.rule_sets);
    let routing = compiler.routing(file.routing, &plans);
    if !compiler.problems.is_empty() {
        return Err(PolicyError::Invalid(compiler.problems));
    }
    Ok(Policy {
        version: content_version(text),
        levels,
        plans,
        matrix,
        abstention,
        severity,
        review,
        rule_sets,
        routing,
        model_labels: file.model_labels,
    })
}

/// Stands in for a calendar that failed to compile, so later checks can go on; the policy
/// is rejected anyway.
fn placeholder_calendar() -> Calendar {
    Calendar::always_open(chrono_tz::UTC)
}

struct Compiler<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    ranks: BTreeMap<String, Rank>,
    /// Severity signals' names, for `signal` conditions.
    signals: BTreeSet<String>,
}

impl Compiler<'_> {
    fn problem<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.problems.push(Problem::at(self.text, at.span().start, message));
    }

    fn parse<T>(&mut self, text: &Spanned<String>) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        text.get_ref().parse().map_err(|e| self.problem(text, format!("{e} ({:?})", text.get_ref()))).ok()
    }

    /// The rank of a level name; an unknown name is a problem (and ranks as the top level).
    fn rank(&mut self, name: &Spanned<String>) -> Rank {
        if let Some(rank) = self.ranks.get(name.get_ref().as_str()) {
            return *rank;
        }
        let known = self.ranks.keys().cloned().collect::<Vec<_>>().join(", ");
        self.problem(name, format!("unknown priority level {:?} (levels: {known})", name.get_ref()));
        Rank(0)
    }

    fn lowest_rank(&self) -> Rank {
        Rank(self.ranks.len().saturating_sub(1))
    }

    fn levels(&mut self, file: &Spanned<Vec<super::schema::PriorityFile>>) -> Vec<PriorityLevel> {
        if file.get_ref().is_empty() {
            self.problem(file, "at least one priority level is needed");
        }
        let mut levels = Vec::new();
        for (index, level) in file.get_ref().iter().enumerate() {
            let code = level.level.get_ref().clone();
            if self.ranks.insert(code.clone(), Rank(index)).is_some() {
                self.problem(&level.level, format!("priority level {code:?} is declared twice"));
            }
            levels.push(PriorityLevel { level: code, name: level.name.clone(), description: level.description.clone() });
        }
        levels
    }

    fn plans(&mut self, file: &SlaFile) -> Plans {
        let calendars: BTreeMap<&str, Calendar> =
            file.calendars.iter().filter_map(|(name, cal)| Some((name.get_ref().as_str(), self.calendar(name, cal)?))).collect();
        let mut by_name = BTreeMap::new();
        for (name, plan) in &file.plans {
            let key = name.get_ref().to_lowercase();
            let plan = self.plan(plan, &calendars);
            if by_name.insert(key, plan).is_some() {
                self.problem(name, format!("plan {:?} is declared twice (names ignore case)", name.get_ref()));
            }
        }
        let default_name = file.default_plan.get_ref().to_lowercase();
        let default = by_name.get(&default_name).cloned().unwrap_or_else(|| {
            self.problem(&file.default_plan, format!("default_plan {:?} is not a plan", file.default_plan.get_ref()));
            Plan { calendar_name: String::new(), calendar: placeholder_calendar(), targets: BTreeMap::new() }
        });
        Plans { by_name, default_name, default }
    }

    fn calendar(&mut self, name: &Spanned<String>, file: &CalendarFile) -> Option<Calendar> {
        let tz = self.parse(&file.time_zone).unwrap_or(chrono_tz::UTC);
        if file.always_open {
            if file.hours.is_some() || !file.holidays.is_empty() {
                self.problem(name, "an always_open calendar takes no hours or holidays");
            }
            return Some(Calendar::always_open(tz));
        }
        let Some(week) = &file.hours else {
            self.problem(name, "a calendar needs `hours` (or `always_open = true`)");
            return None;
        };
        let hours = self.weekly_hours(week);
        let holidays: Vec<NaiveDate> = file.holidays.iter().filter_map(|d| self.parse(d)).collect();
        Calendar::business_hours(tz, hours, holidays).map_err(|e| self.problem(name, e.to_string())).ok()
    }

    fn weekly_hours(&mut self, week: &WeekFile) -> WeeklyHours {
        let days = [
            (Weekday::Mon, &week.mon),
            (Weekday::Tue, &week.tue),
            (Weekday::Wed, &week.wed),
            (Weekday::Thu, &week.thu),
            (Weekday::Fri, &week.fri),
            (Weekday::Sat, &week.sat),
            (Weekday::Sun, &week.sun),
        ];
        let mut hours = WeeklyHours::default();
        for (day, intervals) in days {
            let Some(intervals) = intervals else { continue };
            let list = intervals.get_ref().iter().filter_map(|i| self.parse(i)).collect();
            if let Err(e) = hours.set(day, list) {
                self.problem(intervals, e.to_string());
            }
        }
        hours
    }

    fn plan(&mut self, file: &PlanFile, calendars: &BTreeMap<&str, Calendar>) -> Plan {
        let mut targets = BTreeMap::new();
        for (level, target) in &file.targets {
            let rank = self.rank(level);
            let target = Targets {
                first_response: target.first_response.clone(),
                next_response: target.next_response.clone(),
                resolution: target.resolution.clone(),
            };
            targets.insert(rank, target);
        }
        let calendar_name = file.calendar.get_ref().clone();
        let calendar = calendars.get(calendar_name.as_str()).cloned().unwrap_or_else(|| {
            let known = calendars.keys().copied().collect::<Vec<_>>().join(", ");
            self.problem(&file.calendar, format!("unknown calendar {calendar_name:?} (calendars: {known})"));
            placeholder_calendar()
        });
        Plan { calendar_name, calendar, targets }
    }

    fn matrix(&mut self, file: &MatrixFile) -> Matrix {
        let impacts: Vec<String> = file.priority.keys().map(|k| k.get_ref().to_lowercase()).collect();
        let urgencies: Vec<String> = file
            .priority
            .values()
            .flat_map(|row| row.keys().map(|k| k.get_ref().clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut cells = Vec::new();
        for (impact, row) in &file.priority {
            let mut ranks = Vec::new();
            for urgency in &urgencies {
                match row.iter().find(|(column, _)| column.get_ref() == urgency) {
                    Some((_, level)) => ranks.push(self.rank(level)),
                    None => {
                        self.problem(impact, format!("matrix row {:?} has no {urgency:?} column", impact.get_ref()));
                        ranks.push(Rank(0));
                    }
                }
            }
            cells.push(ranks);
        }
        if impacts.is_empty() {
            self.problem(&file.default_impact, "[matrix.priority] needs at least one impact row");
        }
        let default_impact = impacts.iter().position(|i| *i == file.default_impact.get_ref().to_lowercase());
        let default_impact = default_impact.unwrap_or_else(|| {
            self.problem(&file.default_impact, format!("default_impact {:?} is not a matrix row", file.default_impact.get_ref()));
            0
        });
        let mut column_of_label = BTreeMap::new();
        for (label, column) in &file.urgency {
            match urgencies.iter().position(|u| u == column.get_ref()) {
                Some(index) => {
                    column_of_label.insert(label.clone(), index);
                }
                None => self.problem(column, format!("{:?} is not an urgency column of [matrix.priority]", column.get_ref())),
            }
        }
        let impact_numbers =
            file.impact_numbers.iter().filter_map(|band| Some((band.up_to, self.impact_row(&impacts, &band.impact)?))).collect();
        let impact_phrases = file
            .impact_phrases
            .iter()
            .filter_map(|group| {
                let mut cues = self.cues(&group.impact, group.phrases.as_ref(), group.near.as_ref(), group.within)?;
                // "Mes collègues n'ont pas le problème" says who is spared, not who is hit.
                cues.yields_claimed = true;
                Some((self.impact_row(&impacts, &group.impact)?, cues))
            })
            .collect();
        Matrix {
            head: file.head.clone(),
            impact_field: file.impact_field.clone(),
            default_impact,
            impacts,
            urgencies,
            cells,
            column_of_label,
            impact_numbers,
            impact_phrases,
        }
    }

    fn impact_row(&mut self, impacts: &[String], name: &Spanned<String>) -> Option<usize> {
        let row = impacts.iter().position(|i| *i == name.get_ref().to_lowercase());
        if row.is_none() {
            self.problem(name, format!("impact {:?} is not a row of [matrix.priority]", name.get_ref()));
        }
        row
    }

    fn phrases(&mut self, list: &Spanned<Vec<String>>, key: &str) -> Option<Phrases> {
        Phrases::new(list.get_ref().clone()).map_err(|e| self.problem(list, format!("{key} {e}"))).ok()
    }

    /// `phrases` and / or `near` (two lists, words of each within `within` words of the other).
    fn cues<T>(
        &mut self,
        owner: &Spanned<T>,
        phrases: Option<&Spanned<Vec<String>>>,
        near: Option<&Spanned<Vec<Vec<String>>>>,
        within: Option<usize>,
    ) -> Option<Cues> {
        if phrases.is_none() && near.is_none() {
            self.problem(owner, "needs `phrases`, `near` or both");
            return None;
        }
        let phrases = match phrases {
            Some(list) => Some(self.phrases(list, "phrases")?),
            None => None,
        };
        let near = match near {
            Some(lists) => {
                let [these, those] = lists.get_ref().as_slice() else {
                    self.problem(lists, "`near` takes exactly two lists: things, and what is wrong with them");
                    return None;
                };
                let list = |words: &Vec<String>| Spanned::new(lists.span(), words.clone());
                let (these, those) = (self.phrases(&list(these), "near")?, self.phrases(&list(those), "near")?);
                Some(Near { these, those, within: within.unwrap_or(DEFAULT_NEAR_WITHIN) })
            }
            None => None,
        };
        Some(Cues { phrases, near, yields_claimed: false, unless: None })
    }

    fn severity(&mut self, file: Option<&SeverityFile>, levels: &[PriorityFile], matrix: &Matrix) -> Severity {
        let examples = Examples::new(
            levels
                .iter()
                .enumerate()
                .filter(|(_, level)| !level.examples.is_empty())
                .map(|(rank, level)| (Rank(rank), level.examples.clone()))
                .collect(),
        );
        let Some(file) = file else {
            if !examples.is_empty() {
                let first = levels.iter().find(|l| !l.examples.is_empty()).map(|l| &l.level);
                if let Some(level) = first {
                    self.problem(level, "level examples need a [severity] table saying which urgency each level stands for");
                }
            }
            return Severity::none();
        };
        let mut column_of_rank = Vec::new();
        for level in levels {
            let code = level.level.get_ref();
            match file.urgency.get_ref().get(code) {
                Some(column) => match matrix.urgencies.iter().position(|u| u == column.get_ref()) {
                    Some(index) => column_of_rank.push(index),
                    None => {
                        self.problem(column, format!("{:?} is not an urgency column of [matrix.priority]", column.get_ref()));
                        column_of_rank.push(0);
                    }
                },
                None => {
                    self.problem(&file.urgency, format!("[severity.urgency] needs a column for level {code:?}"));
                    column_of_rank.push(0);
                }
            }
        }
        let similarity = *file.example_similarity.get_ref();
        let encoder_similarity = *file.encoder_example_similarity.get_ref();
        let severe_by_meaning = *file.severe_by_meaning.get_ref();
        for (value, setting) in [
            (similarity, &file.example_similarity),
            (encoder_similarity, &file.encoder_example_similarity),
            (severe_by_meaning, &file.severe_by_meaning),
        ] {
            if !(0.0..=1.0).contains(&value) {
                self.problem(setting, "example similarities and probabilities must be between 0 and 1");
            }
        }
        let mut names = BTreeSet::new();
        let mut signals = Vec::new();
        for signal in &file.signals {
            if !names.insert(signal.name.get_ref().clone()) {
                self.problem(&signal.name, format!("severity signal {:?} is declared twice", signal.name.get_ref()));
            }
            let rank = self.rank(&signal.level);
            let caps = self.caps(signal);
            let yields_to_meaning = signal.yields_to_meaning.as_ref().is_some_and(|yields| {
                if *yields.get_ref() && !signal.lowers && signal.needs.is_none() {
                    self.problem(
                        yields,
                        format!("severity signal {:?} yields to meaning only if it lowers or has `needs`", signal.name.get_ref()),
                    );
                }
                *yields.get_ref()
            });
            let impact = signal.impact.as_ref().and_then(|name| self.impact_row(&matrix.impacts, name));
            let unless = signal.unless.as_ref().and_then(|list| self.phrases(list, "unless"));
            let needs = self.needs(signal, rank);
            if let Some(mut cues) = self.cues(&signal.name, signal.phrases.as_ref(), signal.near.as_ref(), signal.within) {
                // The words of a ticket's lowering phrases ("spelling error") are theirs.
                cues.yields_claimed = !signal.lowers;
                cues.unless = unless;
                signals.push(Signal {
                    name: signal.name.get_ref().clone(),
                    reason: signal.reason.clone().unwrap_or_else(|| signal.name.get_ref().clone()),
                    rank,
                    impact,
                    lowers: signal.lowers,
                    yields_to_meaning,
                    caps,
                    cues,
                    needs,
                    scope: signal.scope.unwrap_or(true),
                });
            }
        }
        for caps in file.signals.iter().filter_map(|s| s.caps.as_ref()) {
            if let CapsFile::Only(capped) = caps.get_ref() {
                if let Some(unknown) = capped.iter().find(|name| !names.contains(*name)) {
                    self.problem(caps, format!("caps names the severity signal {unknown:?}, which is not declared"));
                }
            }
        }
        // Raising signals before lowering ones, the most severe first: the first that matches
        // speaks for the ticket.
        signals.sort_by_key(|s| (s.lowers, s.rank));
        self.signals = signals.iter().map(|s| s.name.clone()).collect();
        Severity {
            signals,
            examples,
            example_similarity: similarity,
            encoder_example_similarity: encoder_similarity,
            severe_by_meaning,
            severe_needs_meaning: file.severe_needs_meaning,
            column_of_rank,
        }
    }

    /// What `signal` needs to speak at its level, and the less urgent level it speaks at
    /// without it: `needs` and `otherwise` come together, on a signal that neither lowers nor
    /// caps (those describe no trouble whose urgency a second list could confirm).
    fn needs(&mut self, signal: &SignalFile, rank: Rank) -> Option<Needs> {
        let name = signal.name.get_ref();
        match (&signal.needs, &signal.otherwise) {
            (None, None) => None,
            (Some(list), None) => {
                self.problem(
                    list,
                    format!("severity signal {name:?} has `needs` but no `otherwise` level to speak at without them"),
                );
                None
            }
            (None, Some(otherwise)) => {
                self.problem(otherwise, format!("severity signal {name:?} has `otherwise` but no `needs` words"));
                None
            }
            (Some(list), Some(otherwise)) => {
                if signal.lowers || signal.caps.is_some() {
                    self.problem(
                        list,
                        format!("severity signal {name:?} lowers or caps, so it has nothing for `needs` to confirm"),
                    );
                }
                let otherwise = otherwise.get_ref();
                let fallback = self.rank(&otherwise.level);
                if fallback <= rank {
                    self.problem(
                        &otherwise.level,
                        format!(
                            "severity signal {name:?}: the `otherwise` level must be less urgent than {:?}",
                            signal.level.get_ref()
                        ),
                    );
                }
                let phrases = self.phrases(list, "needs")?;
                let reason = otherwise.reason.clone().unwrap_or_else(|| format!("{name} without its `needs` words"));
                Some(Needs { phrases, rank: fallback, reason })
            }
        }
    }

    /// Which more urgent signals `signal` holds down (their names are checked once all are known).
    fn caps(&mut self, signal: &SignalFile) -> Caps {
        let Some(caps) = signal.caps.as_ref() else { return Caps::Nothing };
        if signal.lowers {
            self.problem(caps, format!("severity signal {:?} either lowers or caps, not both", signal.name.get_ref()));
        }
        match caps.get_ref() {
            CapsFile::Every(true) => Caps::Every,
            CapsFile::Every(false) => Caps::Nothing,
            CapsFile::Only(names) => Caps::Only(names.clone()),
        }
    }

    fn review(&mut self, file: Option<&Spanned<ReviewFile>>) -> ReviewBudget {
        let Some(file) = file else {
            return ReviewBudget::new(DEFAULT_REVIEW_BUDGET, DEFAULT_REVIEW_WINDOW);
        };
        let review = file.get_ref();
        if !(0.0..=1.0).contains(&review.budget) || review.window == 0 {
            self.problem(file, "[review] budget must be between 0 and 1 and window at least 1");
        }
        ReviewBudget::new(review.budget, review.window)
    }

    fn abstention(&mut self, file: &Spanned<AbstentionFile>, matrix: &Matrix) -> Abstention {
        let settings = file.get_ref();
        let start = match (&settings.priority, &settings.urgency) {
            (Some(level), None) => AbstentionStart::Level(self.rank(level)),
            (None, Some(urgency)) => match matrix.urgencies.iter().position(|u| u == urgency.get_ref()) {
                Some(column) => AbstentionStart::Urgency(column),
                None => {
                    self.problem(urgency, format!("{:?} is not an urgency column of [matrix.priority]", urgency.get_ref()));
                    AbstentionStart::Level(Rank(0))
                }
            },
            _ => {
                self.problem(file, "[abstention] needs exactly one of `priority` or `urgency`");
                AbstentionStart::Level(Rank(0))
            }
        };
        Abstention { start, needs_review: settings.needs_review }
    }

    fn rule_sets(&mut self, files: &[RuleSetFile]) -> Vec<RuleSet> {
        let mut seen = BTreeSet::new();
        let mut sets = Vec::new();
        for set in files {
            let mut rules = Vec::new();
            for rule in &set.rules {
                if !seen.insert(rule.name.get_ref().clone()) {
                    self.problem(&rule.name, format!("rule name {:?} is used twice", rule.name.get_ref()));
                }
                rules.push(self.rule(rule));
            }
            sets.push(RuleSet { name: set.name.clone(), mode: set.mode, rules });
        }
        sets
    }

    fn rule(&mut self, file: &RuleFile) -> Rule {
        let condition = match &file.when {
            Some(when) => self.condition(when),
            None => Condition::Always,
        };
        let priority = self.priority_change(file);
        let effects = Effects { priority, queue: file.queue.clone(), tags: file.tags.clone(), review: file.review };
        if effects.priority.is_none() && effects.queue.is_none() && effects.tags.is_empty() && !effects.review {
            self.problem(&file.name, "a rule needs an effect: set_priority, raise, lower, queue, tags or review");
        }
        Rule { name: file.name.get_ref().clone(), reason: file.reason.clone(), condition, effects }
    }

    fn priority_change(&mut self, file: &RuleFile) -> Option<PriorityChange> {
        if let (Some(ceiling), None) = (&file.ceiling, file.raise) {
            self.problem(ceiling, "`ceiling` only applies together with `raise`");
        }
        if let (Some(floor), None) = (&file.floor, file.lower) {
            self.problem(floor, "`floor` only applies together with `lower`");
        }
        match (&file.set_priority, file.raise, file.lower) {
            (None, None, None) => None,
            (Some(level), None, None) => Some(PriorityChange::Set(self.rank(level))),
            (None, Some(by), None) => {
                let ceiling = file.ceiling.as_ref().map_or(Rank(0), |c| self.rank(c));
                Some(PriorityChange::Raise { by: by.into(), ceiling })
            }
            (None, None, Some(by)) => {
                let floor = file.floor.as_ref().map_or(self.lowest_rank(), |f| self.rank(f));
                Some(PriorityChange::Lower { by: by.into(), floor })
            }
            _ => {
                self.problem(&file.name, "use only one of set_priority, raise and lower in a rule");
                None
            }
        }
    }

    fn condition(&mut self, spanned: &Spanned<ConditionFile>) -> Condition {
        let c = spanned.get_ref();
        let kinds = [
            ("field", c.field.is_some()),
            ("keywords", c.keywords.is_some()),
            ("regex", c.regex.is_some()),
            ("signal", c.signal.is_some()),
            ("severity_at_least", c.severity_at_least.is_some()),
            ("severity_from", c.severity_from.is_some()),
            ("cluster_size_at_least", c.cluster_size_at_least.is_some()),
            ("priority_in", c.priority_in.is_some()),
            ("prediction", c.prediction.is_some()),
            ("all", c.all.is_some()),
            ("any", c.any.is_some()),
            ("not", c.not.is_some()),
        ];
        let present: Vec<&str> = kinds.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect();
        if present.len() != 1 {
            let listed = kinds.map(|(name, _)| name).join(", ");
            self.problem(spanned, format!("a condition needs exactly one of {listed}; found {}", present.len()));
            return Condition::Always;
        }
        let field_parts = c.equals.is_some() || c.one_of.is_some();
        let prediction_parts = c.label.is_some() || c.min_score.is_some() || c.band.is_some() || c.abstained.is_some();
        if (field_parts && c.field.is_none()) || (prediction_parts && c.prediction.is_none()) {
            self.problem(spanned, "`equals`/`in` go with `field`; `label`/`min_score`/`band`/`abstained` go with `prediction`");
        }
        let compiled = if let Some(path) = &c.field {
            self.field_condition(spanned, path)
        } else if let Some(words) = &c.keywords {
            Condition::keywords(words.clone()).map_err(|e| self.problem(spanned, format!("keywords {e}"))).ok()
        } else if let Some(name) = &c.signal {
            if !self.signals.contains(name) {
                let known = self.signals.iter().cloned().collect::<Vec<_>>().join(", ");
                self.problem(spanned, format!("unknown severity signal {name:?} (signals: {known})"));
            }
            Some(Condition::Signal(name.clone()))
        } else if let Some(level) = &c.severity_at_least {
            Some(Condition::SeverityAtLeast { level: level.get_ref().clone(), rank: self.rank(level) })
        } else if let Some(names) = &c.severity_from {
            let origins: Option<Vec<Origin>> = names.iter().map(|name| Origin::parse(name)).collect();
            if origins.is_none() {
                self.problem(spanned, format!("severity_from takes {}; found {names:?}", Origin::KNOWN));
            }
            origins.map(Condition::SeverityFrom)
        } else if let Some(at_least) = c.cluster_size_at_least {
            Some(Condition::ClusterSizeAtLeast(at_least))
        } else if let Some(levels) = &c.priority_in {
            let ranks = levels.iter().map(|level| self.rank(level)).collect();
            Some(Condition::PriorityIn { levels: levels.iter().map(|l| l.get_ref().clone()).collect(), ranks })
        } else if let Some(source) = &c.regex {
            Condition::pattern(source.clone()).map_err(|e| self.problem(spanned, format!("bad regex: {e}"))).ok()
        } else if let Some(head) = &c.prediction {
            self.prediction_condition(spanned, head)
        } else if let Some(parts) = &c.all {
            Some(Condition::All(parts.iter().map(|p| self.condition(p)).collect()))
        } else if let Some(parts) = &c.any {
            Some(Condition::Any(parts.iter().map(|p| self.condition(p)).collect()))
        } else {
            c.not.as_ref().map(|inner| Condition::Not(Box::new(self.condition(inner))))
        };
        compiled.unwrap_or(Condition::Always)
    }

    fn field_condition(&mut self, at: &Spanned<ConditionFile>, path: &str) -> Option<Condition> {
        let c = at.get_ref();
        let Some(field) = FieldPath::parse(path) else {
            self.problem(at, format!("unknown field {path:?}; fields are {}", FieldPath::KNOWN));
            return None;
        };
        let values = match (&c.equals, &c.one_of) {
            (Some(value), None) => vec![value.0.to_lowercase()],
            (None, Some(values)) if !values.is_empty() => values.iter().map(|v| v.0.to_lowercase()).collect(),
            _ => {
                self.problem(at, format!("field {path:?} needs exactly one of `equals` or a non-empty `in`"));
                return None;
            }
        };
        Some(Condition::Field { path: field, values })
    }

    fn prediction_condition(&mut self, at: &Spanned<ConditionFile>, head: &str) -> Option<Condition> {
        let c = at.get_ref();
        if c.label.is_none() && c.min_score.is_none() && c.band.is_none() && c.abstained.is_none() {
            self.problem(at, "a prediction condition needs label, min_score, band or abstained");
            return None;
        }
        if let Some(score) = c.min_score.filter(|s| !(0.0..=1.0).contains(s)) {
            self.problem(at, format!("min_score {score} is outside 0..1"));
        }
        Some(Condition::Prediction(PredictionTest {
            head: head.to_string(),
            label: c.label.clone(),
            min_score: c.min_score,
            band: c.band,
            abstained: c.abstained,
        }))
    }

    fn routing(&mut self, file: RoutingFile, plans: &Plans) -> Routing {
        let mut routes = Vec::new();
        for route in file.routes {
            let plan = route.plan.map(|plan| {
                let name = plan.get_ref().to_lowercase();
                if !plans.by_name.contains_key(&name) {
                    self.problem(&plan, format!("route names unknown plan {:?}", plan.get_ref()));
                }
                name
            });
            let language = route.language.map(|l| l.trim().to_lowercase());
            routes.push(Route { category: route.category, language, plan, queue: route.queue });
        }
        Routing { head: file.head, default_queue: file.default_queue, routes }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_policy::BASE;
    use super::*;

    const DEFAULT_POLICY: &str = include_str!("../../config/policy.toml");

    /// 1-based line of the first occurrence of `needle`, found independently of the parser.
    fn line_of(text: &str, needle: &str) -> usize {
        let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
        text[..offset].lines().count() + usize::from(text[..offset].ends_with('\n'))
    }

    /// `text` with the first occurrence of `from` outside a comment replaced by `to`.
    fn edit_setting(text: &str, from: &str, to: &str) -> String {
        let in_comment = |at: usize| text[..at].rsplit('\n').next().is_some_and(|line| line.contains('#'));
        let at = text
            .match_indices(from)
            .map(|(at, _)| at)
            .find(|at| !in_comment(*at))
            .unwrap_or_else(|| panic!("{from:?} is not a setting in the text"));
        format!("{}{to}{}", &text[..at], &text[at + from.len()..])
    }

    fn problems(text: &str) -> Vec<Problem> {
        match compile(text) {
            Ok(_) => panic!("expected the policy to be rejected:\n{text}"),
            Err(e) => e.problems().to_vec(),
        }
    }

    #[test]
    fn the_default_policy_compiles() {
        let policy = compile(DEFAULT_POLICY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.levels().len(), 4);
        assert_eq!(policy.version(), content_version(DEFAULT_POLICY));
    }

    #[test]
    fn mistakes_in_the_default_policy_are_located() {
        // (original text, mistake, fragment of the message)
        let cases = [
            ("raise = 4\n", "raize = 4\n", "unknown field `raize`"),
            ("time_zone = \"Europe/Berlin\"", "time_zone = \"Europe/Berlinn\"", "Berlinn"),
            ("mon = [\"09:00-17:00\"]", "mon = [\"9-17\"]", "09:00-17:00"),
            ("\"2026-05-14\"", "\"2026-05-32\"", "2026-05-32"),
            ("first_response = \"1h\"", "first_response = \"1 hour\"", "not a duration"),
            ("ceiling = \"P1\"\nqueue = \"security\"", "ceiling = \"P0\"\nqueue = \"security\"", "unknown priority level \"P0\""),
            ("calendar = \"always\"", "calendar = \"allways\"", "unknown calendar \"allways\""),
            ("example_similarity = 0.4", "example_similarity = 3.5", "between 0 and 1"),
            ("encoder_example_similarity = 0.9", "encoder_example_similarity = -0.1", "between 0 and 1"),
            ("{ signal = \"outage\"", "{ signal = \"outages\"", "unknown severity signal \"outages\""),
            ("severity_from = [\"words\",", "severity_from = [\"phrases\",", "severity_from takes words, example, meaning"),
            ("level = \"P4\"\n# May", "level = \"P5\"\n# May", "unknown priority level \"P5\""),
            ("{ up_to = 25, impact = \"team\"", "{ up_to = 25, impact = \"teams\"", "impact \"teams\" is not a row"),
            ("{ field = \"customer.vip\"", "{ field = \"customer.vipp\"", "unknown field \"customer.vipp\""),
            ("default_plan = \"standard\"", "default_plan = \"gratis\"", "not a plan"),
            ("mode = \"all_matches\"", "mode = \"all\"", "unknown variant"),
            ("min_score = 0.8", "min_score = 8", "outside 0..1"),
            ("ceiling = \"P3\"\ntags", "floor = \"P3\"\ntags", "`floor` only applies together with `lower`"),
            ("caps = true\n", "caps = true\nlowers = true\n", "either lowers or caps"),
            ("caps = [\"outage\",", "caps = [\"outages\",", "caps names the severity signal \"outages\""),
            (
                "level = \"P4\"\nlowers = true\nyields_to_meaning = true\n",
                "level = \"P4\"\nyields_to_meaning = true\n",
                "yields to meaning only if it lowers or has `needs`",
            ),
            ("unless = [\n", "unless = [\"...\",\n", "unless must be a list of phrases"),
            ("otherwise = { level = \"P3\"", "otherwise = { level = \"P1\"", "must be less urgent than \"P2\""),
            ("otherwise = { level = \"P3\"", "otherwise = { level = \"P7\"", "unknown priority level \"P7\""),
            ("otherwise = { level = \"P3\"", "otherwize = { level = \"P3\"", "unknown field `otherwize`"),
            ("needs = [\n", "needs = [\"...\",\n", "needs must be a list of phrases"),
            (
                "many = { high = \"P1\", medium = \"P2\", low = \"P3\" }",
                "many = { high = \"P1\", low = \"P3\" }",
                "no \"medium\" column",
            ),
        ];
        for (original, mistake, message) in cases {
            let text = edit_setting(DEFAULT_POLICY, original, mistake);
            let found = problems(&text);
            let expected_line = line_of(&text, mistake);
            assert!(
                found
                    .iter()
                    .any(|p| p.message.contains(message)
                        && (expected_line..expected_line + mistake.lines().count()).contains(&p.line)),
                "{mistake:?}: wanted {message:?} near line {expected_line}, got {found:?}"
            );
        }
    }

    #[test]
    fn needs_and_otherwise_come_together_on_a_signal_that_raises() {
        let otherwise = "otherwise = { level = \"P3\", reason = \"a legal matter without a deadline within days\" }\n";
        let without_otherwise = edit_setting(DEFAULT_POLICY, otherwise, "");
        let found = problems(&without_otherwise);
        assert!(found.iter().any(|p| p.message.contains("has `needs` but no `otherwise`")), "{found:?}");
        let without_needs = format!(
            "{DEFAULT_POLICY}\n[[severity.signals]]\nname = \"x\"\nlevel = \"P2\"\nphrases = [\"x\"]\notherwise = {{ level = \"P3\" }}\n"
        );
        let found = problems(&without_needs);
        assert!(found.iter().any(|p| p.message.contains("has `otherwise` but no `needs`")), "{found:?}");
        let capping = edit_setting(DEFAULT_POLICY, otherwise, &format!("{otherwise}caps = true\n"));
        let found = problems(&capping);
        assert!(found.iter().any(|p| p.message.contains("nothing for `needs` to confirm")), "{found:?}");
    }

    #[test]
    fn all_validation_problems_are_reported_together() {
        let text =
            edit_setting(DEFAULT_POLICY, "ceiling = \"P1\"\nqueue = \"security\"", "ceiling = \"P9\"\nqueue = \"security\"");
        let text = edit_setting(&text, "calendar = \"always\"", "calendar = \"nowhere\"");
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|p| p.message.contains("P9")), "{found:?}");
        assert!(found.iter().any(|p| p.message.contains("nowhere")), "{found:?}");
    }

    #[test]
    fn malformed_rules_and_conditions_are_rejected() {
        let rule_set = |rule: &str| {
            format!("{BASE}\n[[rule_sets]]\nname = \"s\"\nmode = \"all_matches\"\n[[rule_sets.rules]]\nname = \"r\"\n{rule}\n")
        };
        let cases = [
            ("no effect", "when = { keywords = [\"x\"] }", "needs an effect"),
            ("two kinds", "when = { keywords = [\"x\"], regex = \"y\" }\nreview = true", "exactly one of"),
            ("stray part", "when = { keywords = [\"x\"], label = \"y\" }\nreview = true", "go with `prediction`"),
            ("empty keywords", "when = { keywords = [] }\nreview = true", "non-empty list"),
            ("field without test", "when = { field = \"channel\" }\nreview = true", "exactly one of `equals`"),
            ("bare prediction", "when = { prediction = \"urgency\" }\nreview = true", "needs label"),
            ("two priority effects", "raise = 1\nlower = 1", "only one of"),
            ("nested", "when = { not = { all = [{ field = \"nope\", equals = 1 }] } }\nreview = true", "unknown field \"nope\""),
        ];
        for (why, rule, message) in cases {
            let found = problems(&rule_set(rule));
            assert!(found.iter().any(|p| p.message.contains(message)), "{why}: {found:?}");
        }
    }

    #[test]
    fn calendars_and_abstention_are_validated() {
        let cases = [
            ("hours.mon = [\"09:00-12:00\", \"11:00-14:00\"]", "overlap"),
            ("hours = {}", "at least one opening interval"),
            ("always_open = true\nholidays = [\"2026-01-01\"]", "no hours or holidays"),
        ];
        for (calendar, message) in cases {
            let text = BASE.replacen(
                "[sla.calendars.always]\ntime_zone = \"UTC\"\nalways_open = true",
                &format!("[sla.calendars.always]\ntime_zone = \"UTC\"\n{calendar}"),
                1,
            );
            let found = problems(&text);
            assert!(found.iter().any(|p| p.message.contains(message)), "{calendar}: {found:?}");
        }
        let both = BASE.replacen("priority = \"P3\"", "priority = \"P3\"\nurgency = \"high\"", 1);
        assert!(problems(&both)[0].message.contains("exactly one of `priority` or `urgency`"));
    }
}
