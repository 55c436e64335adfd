//! Convex fitting of one head: logistic regression directly on the sparse TF-IDF features
//! (class-weighted, L2 on the coefficients, solved to convergence with L-BFGS, see `minimise`),
//! either multinomial over the head's classes or binary, one class against the rest. For
//! labels that are mostly a matter of which words occur (urgency, sentiment) this reaches the
//! global optimum that the embedding's stochastic training only approaches. The trainer
//! writes the solution as that head's coefficient matrix and bias (the sparse-linear kind).
//! Pure numeric code: no tensors, no files, no label names.

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;
use triage::model::features::TicketFeatures;

use crate::minimise::{minimise, Stopping};

/// Rows' features held for the many passes of a fit, and shared by every fit over the same
/// rows (the binary fits of one-vs-rest read one copy).
///
/// The features are held in tiles of rows, each tile column by column (compressed sparse
/// columns). The logits pass runs tile by tile: it reads the coefficients in column order and
/// writes the tile's logits, `tile rows x logits`, small enough to stay in cache however many
/// rows there are. The gradient pass runs block of columns by block: each block's gradient
/// stays in cache while it reads every tile's entries for those columns. Held row by row,
/// every feature of every row would fetch a random slot of the far larger coefficient and
/// gradient arrays; held as one set of columns over all rows, the logits of a few hundred
/// thousand rows fall out of cache; either way the evaluation would wait on memory.
pub struct Design {
    /// Column `c` is feature `feature_ids[c]` (ascending).
    feature_ids: Vec<u32>,
    rows: usize,
    tiles: Vec<Tile>,
    rows_per_tile: usize,
    /// Column ranges with about equal entries, the units of the gradient pass.
    blocks: Vec<Range<usize>>,
}

/// The logits a tile of rows may hold: within a core's share of the second-level cache.
const TILE_LOGITS_BYTES: usize = 1 << 19;

/// Consecutive rows' entries, column by column.
struct Tile {
    /// Columns with an entry in these rows, ascending; the entries of `columns[i]` are
    /// `starts[i]..starts[i + 1]` of `entry_rows` and `entry_values`.
    columns: Vec<u32>,
    starts: Vec<usize>,
    /// Row within the tile: a tile holds at most 65,536 rows, and these two arrays are most
    /// of a fit's memory (f32 values, as the features are).
    entry_rows: Vec<u16>,
    entry_values: Vec<f32>,
}

impl Tile {
    fn new(rows: &[(&TicketFeatures, usize)], feature_ids: &[u32]) -> Self {
        let column_of = |id: &u32| feature_ids.binary_search(id).unwrap_or(0);
        let mut next = vec![0usize; feature_ids.len()];
        for id in rows.iter().flat_map(|(ticket, _)| &ticket.ids) {
            next[column_of(id)] += 1;
        }
        let mut columns = Vec::new();
        let mut starts = vec![0];
        for (column, slot) in next.iter_mut().enumerate().filter(|(_, count)| **count > 0) {
            let start = starts[starts.len() - 1];
            columns.push(column as u32);
            starts.push(start + *slot);
            *slot = start;
        }
        let entries = starts[starts.len() - 1];
        let mut entry_rows = vec![0; entries];
        let mut entry_values = vec![0.0; entries];
        for (r, (ticket, _)) in rows.iter().enumerate() {
            for (id, &value) in ticket.ids.iter().zip(&ticket.weights) {
                let slot = &mut next[column_of(id)];
                entry_rows[*slot] = r as u16;
                entry_values[*slot] = value;
                *slot += 1;
            }
        }
        Self { columns, starts, entry_rows, entry_values }
    }

    /// The entries (row within the tile, value) of the tile's `i`-th column.
    fn entries(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.starts[i]..self.starts[i + 1];
        self.entry_rows[range.clone()].iter().zip(&self.entry_values[range]).map(|(&r, &v)| (usize::from(r), f64::from(v)))
    }

    /// The tile's column indices `i` whose columns lie in `block`.
    fn within(&self, block: &Range<usize>) -> Range<usize> {
        let index_of = |column: usize| self.columns.partition_point(|&c| (c as usize) < column);
        index_of(block.start)..index_of(block.end)
    }

    /// Adds each entry of the tile times its column's coefficients (`k` apiece) to its row's
    /// logits in `logits` (the tile's rows, `k` logits apiece).
    fn add_logits(&self, coefficients: &[f64], logits: &mut [f64], k: usize) {
        for (i, &column) in self.columns.iter().enumerate() {
            let coefficients = &coefficients[column as usize * k..][..k];
            for (row, value) in self.entries(i) {
                logits[row * k..][..k].iter_mut().zip(coefficients).for_each(|(l, w)| *l += value * w);
            }
        }
    }

    /// Adds each entry of the tile in the columns of `block` times its row's loss gradient in
    /// `deltas` (the tile's rows) to its column's gradient in `gradient` (the block's columns).
    fn add_gradient(&self, block: &Range<usize>, deltas: &[f64], gradient: &mut [f64], k: usize) {
        for i in self.within(block) {
            let slot = &mut gradient[(self.columns[i] as usize - block.start) * k..][..k];
            for (row, value) in self.entries(i) {
                slot.iter_mut().zip(&deltas[row * k..][..k]).for_each(|(g, d)| *g += value * d);
            }
        }
    }
}

impl Design {
    /// `rows` over the columns `distinct_feature_ids(rows)`, tiled for fits with
    /// `logits_per_row` logits per row (any other count is correct, only less cache-friendly).
    pub fn new(rows: &[(&TicketFeatures, usize)], logits_per_row: usize) -> Self {
        let feature_ids = distinct_feature_ids(rows);
        let work_units = 4 * rayon::current_num_threads();
        let rows_per_tile = (TILE_LOGITS_BYTES / (logits_per_row.max(1) * std::mem::size_of::<f64>()))
            // Enough tiles to share the logits pass between the threads on small problems.
            .min(rows.len().div_ceil(work_units))
            .clamp(1, usize::from(u16::MAX) + 1);
        let tiles: Vec<Tile> = rows.par_chunks(rows_per_tile).map(|tile| Tile::new(tile, &feature_ids)).collect();
        let mut column_entries = vec![0; feature_ids.len()];
        for tile in &tiles {
            for (i, &column) in tile.columns.iter().enumerate() {
                column_entries[column as usize] += tile.starts[i + 1] - tile.starts[i];
            }
        }
        let per_block = column_entries.iter().sum::<usize>().div_ceil(work_units).max(1);
        let mut blocks = Vec::new();
        let mut begin = 0;
        let mut in_block = 0;
        for (column, entries) in column_entries.iter().enumerate() {
            in_block += entries;
            if in_block >= per_block || column + 1 == column_entries.len() {
                blocks.push(begin..column + 1);
                begin = column + 1;
                in_block = 0;
            }
        }
        Self { feature_ids, rows: rows.len(), tiles, rows_per_tile, blocks }
    }

    /// The features of the columns, ascending.
    pub fn feature_ids(&self) -> &[u32] {
        &self.feature_ids
    }

    /// `rows x k` logits from `[column][k]` coefficients and `k` intercepts, tile by tile in
    /// parallel.
    fn logits(&self, coefficients: &[f64], intercepts: &[f64]) -> Vec<f64> {
        let k = intercepts.len();
        let mut logits = vec![0.0; self.rows * k];
        logits.par_chunks_mut(self.rows_per_tile * k).zip(&self.tiles).for_each(|(part, tile)| {
            part.chunks_mut(k).for_each(|row| row.copy_from_slice(intercepts));
            tile.add_logits(coefficients, part, k);
        });
        logits
    }

    /// The `[column][k]` gradient of the coefficients from each row's `k` logit gradients,
    /// block of columns by block in parallel.
    fn coefficient_gradient(&self, deltas: &[f64], k: usize) -> Vec<f64> {
        self.blocks
            .par_iter()
            .flat_map_iter(|block| {
                let mut part = vec![0.0; block.len() * k];
                for (tile, tile_deltas) in self.tiles.iter().zip(deltas.chunks(self.rows_per_tile * k)) {
                    tile.add_gradient(block, tile_deltas, &mut part, k);
                }
                part
            })
            .collect()
    }
}

/// How a fit's logits model its targets: one logit per class either way.
#[derive(Debug, Clone, Copy)]
pub enum Link {
    /// Softmax over the logits: multinomial logistic regression. A row's loss is weighted by
    /// its class's weight (`Objective::class_weights`, one per class).
    Softmax { classes: usize },
    /// Each logit the log-odds of its class against the rest: one binary logistic regression
    /// per class, as scikit-learn's one-vs-rest fits them, summed into one objective. The
    /// classes share no parameters, so the joint optimum is each binary fit's own, and one
    /// pass over the rows serves every class. `Objective::class_weights` holds, per class, the
    /// weight of the rows outside it and then of those inside it.
    OneVsRest { classes: usize },
}

impl Link {
    fn logits_per_row(self) -> usize {
        match self {
            Link::Softmax { classes } | Link::OneVsRest { classes } => classes,
        }
    }

    /// One row's weighted cross-entropy at `logits` for `target`; turns `logits` into its
    /// gradient with respect to them.
    fn loss_into_gradient(self, logits: &mut [f64], target: usize, class_weights: &[f32]) -> f64 {
        match self {
            Link::Softmax { .. } => {
                let weight = f64::from(class_weights[target]);
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log_partition = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
                let loss = log_partition - logits[target];
                for (class, logit) in logits.iter_mut().enumerate() {
                    *logit = weight * ((*logit - log_partition).exp() - if class == target { 1.0 } else { 0.0 });
                }
                weight * loss
            }
            Link::OneVsRest { .. } => {
                let mut loss = 0.0;
                for (class, logit) in logits.iter_mut().enumerate() {
                    let inside = usize::from(class == target);
                    let (weight, y, z) = (f64::from(class_weights[2 * class + inside]), inside as f64, *logit);
                    // log(1 + e^z), without overflow for large |z|.
                    let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
                    loss += weight * (softplus - y * z);
                    *logit = weight * (1.0 / (1.0 + (-z).exp()) - y);
                }
                loss
            }
        }
    }
}

/// What one fit over a `Design`'s rows learns.
#[derive(Clone, Copy)]
pub struct Objective<'a> {
    pub link: Link,
    /// Per row of the design, its class.
    pub targets: &'a [usize],
    /// The weights of the rows' losses, as `Link` lays them out.
    pub class_weights: &'a [f32],
    /// Per coefficient (`[column][class]`), a factor on its column's values: the coefficient
    /// fits the scaled values.
    pub coefficient_scale: Option<&'a [f64]>,
}

/// Mean class-weighted cross-entropy of `objective` over `design`'s rows plus
/// `penalty / 2 * |W|^2` (intercepts unpenalised, as in scikit-learn's lbfgs solver).
/// Parameters: `[column][logit]` coefficients, then one intercept per logit.
struct Problem<'a> {
    design: &'a Design,
    objective: Objective<'a>,
    penalty: f64,
}

impl Problem<'_> {
    /// The objective and its gradient.
    fn evaluate(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let k = self.objective.link.logits_per_row();
        let (coefficients, intercepts) = params.split_at(self.design.feature_ids.len() * k);
        let n = self.design.rows.max(1) as f64;
        // A scaled coefficient acts on its column's unscaled values times the scale.
        let acting: Cow<[f64]> = match self.objective.coefficient_scale {
            Some(scale) => coefficients.iter().zip(scale).map(|(w, s)| w * s).collect(),
            None => Cow::Borrowed(coefficients),
        };
        // Each row's logits become its loss gradient with respect to them, weighted and
        // divided by the row count so that the data term is a mean.
        let mut deltas = self.design.logits(&acting, intercepts);
        let mut loss = 0.0;
        for (logits, &target) in deltas.chunks_mut(k).zip(self.objective.targets) {
            loss += self.objective.link.loss_into_gradient(logits, target, self.objective.class_weights);
            logits.iter_mut().for_each(|d| *d /= n);
        }
        let mut gradient = self.design.coefficient_gradient(&deltas, k);
        if let Some(scale) = self.objective.coefficient_scale {
            gradient.iter_mut().zip(scale).for_each(|(g, s)| *g *= s);
        }
        gradient.extend((0..k).map(|logit| deltas.iter().skip(logit).step_by(k).sum::<f64>()));
        let squares: f64 = coefficients.iter().map(|w| w * w).sum();
        gradient.iter_mut().zip(coefficients).for_each(|(g, w)| *g += self.penalty * w);
        (loss / n + 0.5 * self.penalty * squares, gradient)
    }
}

/// A fitted head: coefficients for the features the training rows contain (ascending ids),
/// and the intercepts.
#[derive(Debug, Clone)]
pub struct LinearHead {
    pub feature_ids: Vec<u32>,
    /// `[feature][class]`, row-major, aligned with `feature_ids`.
    pub coefficients: Vec<f64>,
    pub intercepts: Vec<f64>,
    pub iterations: u64,
    /// Where the coefficients were fitted to scaled features and then multiplied by the scale
    /// (`one_vs_rest`), that scale, aligned with `coefficients`: the fit's own parameters, its
    /// warm start on other rows, are the coefficients over the scale.
    pub fitted_scale: Option<Vec<f64>>,
}

impl LinearHead {
    pub fn classes(&self) -> usize {
        self.intercepts.len()
    }

    /// Coefficients of global feature `id` (`None`: no training row had it, so it is zero).
    pub fn coefficients_of(&self, id: u32) -> Option<&[f64]> {
        let k = self.classes();
        self.feature_ids.binary_search(&id).ok().map(|i| &self.coefficients[i * k..(i + 1) * k])
    }

    pub fn logits(&self, ticket: &TicketFeatures) -> Vec<f64> {
        let mut logits = self.intercepts.clone();
        for (&id, &weight) in ticket.ids.iter().zip(&ticket.weights) {
            if let Some(coefficients) = self.coefficients_of(id) {
                logits.iter_mut().zip(coefficients).for_each(|(l, w)| *l += f64::from(weight) * w);
            }
        }
        logits
    }
}

/// Balanced class weights `n / (classes * count)`, as scikit-learn's `class_weight="balanced"`.
pub fn balanced_class_weights(labels: impl Iterator<Item = usize>, classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    for label in labels {
        counts[label] += 1;
    }
    let total: usize = counts.iter().sum();
    counts.iter().map(|&c| if c == 0 { 0.0 } else { total as f32 / (classes as f32 * c as f32) }).collect()
}

/// A solve also stops once an iteration lowers the objective by less than this.
const COST_TOLERANCE: f64 = 1e-9;

/// Settings of one solve.
#[derive(Debug, Clone, Copy)]
pub struct Solve {
    /// Inverse regularisation strength, as scikit-learn's `C`: the penalty is `1 / (C n)`.
    pub inverse_regularisation: f64,
    pub max_iterations: u64,
    /// The solve stops once the gradient's L2 norm is below this.
    pub gradient_tolerance: f64,
}

/// The distinct feature ids of `rows`, ascending: the columns of their fit.
fn distinct_feature_ids(rows: &[(&TicketFeatures, usize)]) -> Vec<u32> {
    let mut feature_ids: Vec<u32> = rows.iter().flat_map(|(t, _)| t.ids.iter().copied()).collect();
    feature_ids.sort_unstable();
    feature_ids.dedup();
    feature_ids
}

/// Fits `rows` (features, target class) as multinomial logistic regression once per solve;
/// see `fit_path_on`.
pub fn fit_path(
    rows: &[(&TicketFeatures, usize)],
    classes: usize,
    class_weights: &[f32],
    solves: &[Solve],
    start: Option<&LinearHead>,
) -> Vec<LinearHead> {
    let design = Design::new(rows, classes);
    let targets: Vec<usize> = rows.iter().map(|(_, target)| *target).collect();
    let objective = Objective { link: Link::Softmax { classes }, targets: &targets, class_weights, coefficient_scale: None };
    fit_path_on(&design, objective, solves, start)
}

/// Fits `objective` over `design`'s rows once per solve, in order, each solve starting from
/// the previous solution (a warm-started regularisation path: from small to large `C` the
/// optimum moves little, so later solves need far fewer iterations than from zero); the
/// first starts from `start` (a head with as many logits, over any features), or from zero.
pub fn fit_path_on(design: &Design, objective: Objective, solves: &[Solve], start: Option<&LinearHead>) -> Vec<LinearHead> {
    let k = objective.link.logits_per_row();
    let feature_ids = design.feature_ids();
    let split = feature_ids.len() * k;
    let mut start = match start.filter(|head| head.classes() == k) {
        Some(head) => feature_ids
            .iter()
            .flat_map(|&id| head.coefficients_of(id).map_or_else(|| vec![0.0; k], <[f64]>::to_vec))
            .chain(head.intercepts.iter().copied())
            .collect(),
        None => vec![0.0; split + k],
    };
    let mut problem = Problem { design, objective, penalty: 0.0 };
    let mut heads = Vec::with_capacity(solves.len());
    for solve in solves {
        problem.penalty = 1.0 / (solve.inverse_regularisation * design.rows.max(1) as f64);
        let stopping = Stopping {
            max_iterations: solve.max_iterations,
            gradient_tolerance: solve.gradient_tolerance,
            cost_tolerance: COST_TOLERANCE,
        };
        let minimum = minimise(start, stopping, |params| problem.evaluate(params));
        heads.push(LinearHead {
            feature_ids: feature_ids.to_vec(),
            coefficients: minimum.params[..split].to_vec(),
            intercepts: minimum.params[split..].to_vec(),
            iterations: minimum.iterations,
            fitted_scale: None,
        });
        start = minimum.params;
    }
    heads
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fits `rows` (features, target class) with per-class weights `class_weights`, starting
    /// from `start` where given (a fit of the same problem on other rows, for fewer iterations;
    /// the optimum is the same).
    fn fit(
        rows: &[(&TicketFeatures, usize)],
        classes: usize,
        class_weights: &[f32],
        solve: Solve,
        start: Option<&LinearHead>,
    ) -> LinearHead {
        fit_path(rows, classes, class_weights, &[solve], start).remove(0)
    }

    fn ticket(ids: &[u32], weights: &[f32]) -> TicketFeatures {
        TicketFeatures { ids: ids.to_vec(), weights: weights.to_vec(), ..TicketFeatures::default() }
    }

    /// `count` rows over features 0..15, three apiece, with targets cycling through `classes`:
    /// enough rows that the problem splits into several tiles.
    fn scattered_rows(count: usize, classes: usize) -> Vec<(TicketFeatures, usize)> {
        (0..count)
            .map(|r| {
                let ids = [r % 5, 5 + r % 7, 12 + r % 3].map(|id| id as u32);
                let weights = [0.3, 0.5, 0.7].map(|w| w + (r % 4) as f32 / 10.0);
                (ticket(&ids, &weights), r % classes)
            })
            .collect()
    }

    fn class_weight(class: usize) -> f32 {
        0.5 + class as f32 / 4.0
    }

    const LINKS: [Link; 3] = [Link::Softmax { classes: 3 }, Link::Softmax { classes: 10 }, Link::OneVsRest { classes: 3 }];

    fn weight_count(link: Link) -> usize {
        match link {
            Link::Softmax { classes } => classes,
            Link::OneVsRest { classes } => 2 * classes,
        }
    }

    /// `scattered_rows` for a link, held as a design, with class weights, a coefficient scale
    /// and arbitrary parameters to evaluate the objective at.
    struct Case {
        rows: Vec<(TicketFeatures, usize)>,
        design: Design,
        targets: Vec<usize>,
        weights: Vec<f32>,
        scale: Vec<f64>,
        params: Vec<f64>,
    }

    impl Case {
        fn new(link: Link, count: usize) -> Self {
            let k = link.logits_per_row();
            let rows = scattered_rows(count, k);
            let design = Design::new(&rows.iter().map(|(t, y)| (t, *y)).collect::<Vec<_>>(), k);
            Self {
                targets: rows.iter().map(|(_, y)| *y).collect(),
                rows,
                design,
                weights: (0..weight_count(link)).map(class_weight).collect(),
                scale: (0..15 * k).map(|i| 0.5 + (i % 11) as f64 / 10.0).collect(),
                params: (0..16 * k).map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0).collect(),
            }
        }

        /// The problem at penalty 0.3, its coefficients scaled where `scaled`.
        fn problem(&self, link: Link, scaled: bool) -> Problem<'_> {
            let coefficient_scale = scaled.then_some(self.scale.as_slice());
            let objective = Objective { link, targets: &self.targets, class_weights: &self.weights, coefficient_scale };
            Problem { design: &self.design, objective, penalty: 0.3 }
        }
    }

    /// Every link, unscaled and scaled.
    fn link_cases() -> impl Iterator<Item = (Link, bool)> {
        LINKS.into_iter().flat_map(|link| [(link, false), (link, true)])
    }

    #[test]
    fn the_objective_matches_a_row_by_row_computation() {
        for (link, scaled) in link_cases() {
            let case = Case::new(link, 40);
            assert!(case.design.tiles.len() > 1, "the rows span several tiles");
            let split = 15 * link.logits_per_row();
            let head = LinearHead {
                feature_ids: (0..15).collect(),
                coefficients: (0..split).map(|i| case.params[i] * if scaled { case.scale[i] } else { 1.0 }).collect(),
                intercepts: case.params[split..].to_vec(),
                iterations: 0,
                fitted_scale: None,
            };
            let data_term: f64 = case
                .rows
                .iter()
                .map(|(ticket, target)| {
                    let logits = head.logits(ticket);
                    match link {
                        Link::Softmax { .. } => {
                            let log_partition = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
                            f64::from(class_weight(*target)) * (log_partition - logits[*target])
                        }
                        Link::OneVsRest { .. } => (0..logits.len())
                            .map(|class| {
                                let inside = usize::from(class == *target);
                                let z = logits[class];
                                f64::from(class_weight(2 * class + inside)) * (z.exp().ln_1p() - inside as f64 * z)
                            })
                            .sum(),
                    }
                })
                .sum();
            let penalty_term = 0.15 * case.params[..split].iter().map(|w| w * w).sum::<f64>();
            let expected = data_term / case.rows.len() as f64 + penalty_term;
            let (cost, _) = case.problem(link, scaled).evaluate(&case.params);
            assert!((cost - expected).abs() < 1e-9, "{link:?}, scaled {scaled}: {cost} vs {expected}");
        }
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        for (link, scaled) in link_cases() {
            let case = Case::new(link, 9);
            let problem = case.problem(link, scaled);
            let (_, gradient) = problem.evaluate(&case.params);
            for i in 0..case.params.len() {
                let step = 1e-6;
                let mut up = case.params.clone();
                up[i] += step;
                let mut down = case.params.clone();
                down[i] -= step;
                let numeric = (problem.evaluate(&up).0 - problem.evaluate(&down).0) / (2.0 * step);
                let analytic = gradient[i];
                assert!((numeric - analytic).abs() < 1e-6, "{link:?}, scaled {scaled}, parameter {i}: {numeric} vs {analytic}");
            }
        }
    }

    #[test]
    fn each_one_vs_rest_class_scores_as_its_own_two_class_softmax_at_half_the_c() {
        // Fitted jointly, the classes' binary fits reach their separate optima. A two-class
        // softmax splits the score difference evenly between its columns, so its penalty on
        // the difference is half a binary fit's at the same C.
        let classes = 3;
        let link = Link::OneVsRest { classes };
        let case = Case::new(link, 40);
        let solve = |c: f64| Solve { inverse_regularisation: c, max_iterations: 500, gradient_tolerance: 1e-8 };
        let objective = Objective { link, targets: &case.targets, class_weights: &case.weights, coefficient_scale: None };
        let joint = fit_path_on(&case.design, objective, &[solve(4.0)], None).remove(0);
        for class in 0..classes {
            let rows: Vec<(&TicketFeatures, usize)> = case.rows.iter().map(|(t, y)| (t, usize::from(*y == class))).collect();
            let weights = &case.weights[2 * class..2 * class + 2];
            let alone = fit(&rows, 2, weights, solve(2.0), None);
            for (ticket, _) in &case.rows {
                let (two, all) = (alone.logits(ticket), joint.logits(ticket));
                assert!((all[class] - (two[1] - two[0])).abs() < 1e-3, "class {class}: {all:?} vs {two:?}");
            }
        }
    }

    #[test]
    fn separable_rows_are_classified_by_the_words_that_separate_them() {
        let urgent = ticket(&[1, 2], &[0.8, 0.6]);
        let calm = ticket(&[3, 2], &[0.8, 0.6]);
        let rows: Vec<(&TicketFeatures, usize)> = vec![(&urgent, 1), (&calm, 0), (&urgent, 1), (&calm, 0)];
        let solve = Solve { inverse_regularisation: 10.0, max_iterations: 100, gradient_tolerance: 1e-6 };
        let head = fit(&rows, 2, &[1.0, 1.0], solve, None);
        assert_eq!(head.feature_ids, vec![1, 2, 3]);
        let margin = |t: &TicketFeatures| {
            let l = head.logits(t);
            l[1] - l[0]
        };
        assert!(margin(&urgent) > 1.0 && margin(&calm) < -1.0, "{} {}", margin(&urgent), margin(&calm));
        let shared = head.coefficients_of(2).expect("feature 2 was seen");
        assert!((shared[1] - shared[0]).abs() < 1e-3, "a word both classes share decides nothing: {shared:?}");
        assert!(head.coefficients_of(7).is_none());
    }

    #[test]
    fn warm_starts_reach_the_same_optimum_as_cold_fits() {
        let a = ticket(&[1, 2], &[0.8, 0.6]);
        let b = ticket(&[3, 2], &[0.6, 0.8]);
        let c = ticket(&[1, 3], &[0.7, 0.7]);
        let rows: Vec<(&TicketFeatures, usize)> = vec![(&a, 0), (&b, 1), (&c, 2), (&a, 0), (&c, 1)];
        let solve = |c: f64| Solve { inverse_regularisation: c, max_iterations: 500, gradient_tolerance: 1e-6 };
        let path = fit_path(&rows, 3, &[1.0, 1.0, 1.0], &[solve(0.5), solve(8.0)], None);
        let cold = fit(&rows, 3, &[1.0, 1.0, 1.0], solve(8.0), None);
        // A start fitted on other rows knows only some of the features; the rest start at zero.
        let lone = ticket(&[1], &[1.0]);
        let elsewhere = fit(&[(&lone, 0), (&lone, 2)], 3, &[1.0, 1.0, 1.0], solve(8.0), None);
        let restarted = fit(&rows, 3, &[1.0, 1.0, 1.0], solve(8.0), Some(&elsewhere));
        let parameters = |head: &LinearHead| head.coefficients.iter().chain(&head.intercepts).copied().collect::<Vec<f64>>();
        for other in [&path[1], &restarted] {
            for (warm, cold) in parameters(other).iter().zip(parameters(&cold)) {
                assert!((warm - cold).abs() < 1e-3, "{warm} vs {cold}");
            }
        }
        let weaker = path[0].coefficients.iter().map(|w| w.abs()).sum::<f64>();
        let stronger = path[1].coefficients.iter().map(|w| w.abs()).sum::<f64>();
        assert!(weaker < stronger, "a smaller C shrinks the coefficients more: {weaker} vs {stronger}");
    }
}
