//! One-vs-rest logistic regression on naive-Bayes-scaled features ("NB-LR", Wang and Manning
//! 2012). For each class every feature is scaled by its log-count ratio, how much more often
//! rows of that class carry it than the other rows do, and a binary logistic regression tells
//! the class from the rest on the scaled features. Where a few telling words carry a label
//! (sentiment) this often beats one multinomial fit; where they do not it loses, so the trainer
//! lets cross-validation choose per head. Scaling is per feature and class, so the fits fold
//! back into one linear head (class `k`'s coefficient of feature `j` is `r_kj * w_kj`) and
//! serving, explanations and the bundle stay as they are.
//! Pure numeric code, like `linear_head`: no tensors, no files, no label names.

use rayon::prelude::*;
use triage::model::features::TicketFeatures;

use crate::linear_head::{self, balanced_class_weights, distinct_feature_ids, LinearHead, Solve};

/// Per class, the log-count ratio of each of `feature_ids` (ascending): the share of the
/// class's feature occurrences that are this feature over the same share among the other
/// rows, both smoothed by one occurrence, as in the paper. Occurrence means the row has it.
fn log_count_ratios(rows: &[(&TicketFeatures, usize)], feature_ids: &[u32], classes: usize) -> Vec<Vec<f64>> {
    let mut present = vec![vec![0.0f64; feature_ids.len()]; classes];
    for (ticket, target) in rows {
        for id in &ticket.ids {
            if let Ok(column) = feature_ids.binary_search(id) {
                present[*target][column] += 1.0;
            }
        }
    }
    let everywhere: Vec<f64> = (0..feature_ids.len()).map(|j| present.iter().map(|class| class[j]).sum()).collect();
    let smoothed_total = |counts: &mut dyn Iterator<Item = f64>| counts.map(|c| c + 1.0).sum::<f64>();
    present
        .iter()
        .map(|inside| {
            let inside_total = smoothed_total(&mut inside.iter().copied());
            let outside_total = smoothed_total(&mut everywhere.iter().zip(inside).map(|(all, inside)| all - inside));
            inside
                .iter()
                .zip(&everywhere)
                .map(|(&inside, &all)| ((inside + 1.0) / inside_total).ln() - ((all - inside + 1.0) / outside_total).ln())
                .collect()
        })
        .collect()
}

/// Fits `rows` (features, target class) once per solve as one binary fit per class on that
/// class's scaled features, each class's fits a warm-started path like `linear_head::fit_path`
/// (the first from `start`, a head this function fitted on other rows, where given) and
/// weighted to balance the class against the rest. Each solve's binary fits are folded into
/// one head over `classes` classes; its iterations are the most any class's fit took.
pub fn fit_path(
    rows: &[(&TicketFeatures, usize)],
    classes: usize,
    solves: &[Solve],
    start: Option<&LinearHead>,
) -> Result<Vec<LinearHead>, argmin::core::Error> {
    let feature_ids = distinct_feature_ids(rows);
    let ratios = log_count_ratios(rows, &feature_ids, classes);
    let per_class: Vec<Vec<LinearHead>> = ratios
        .par_iter()
        .enumerate()
        .map(|(class, ratio)| {
            let binary: Vec<(&TicketFeatures, usize)> = rows.iter().map(|(t, target)| (*t, usize::from(*target == class))).collect();
            let weights = balanced_class_weights(binary.iter().map(|(_, y)| *y), 2);
            let start = start.filter(|head| head.classes() == classes).map(|head| unfold(head, class, &feature_ids, ratio));
            linear_head::fit_path(&binary, 2, &weights, solves, start.as_ref(), Some(ratio))
        })
        .collect::<Result<_, _>>()?;
    Ok((0..solves.len()).map(|s| fold_into_one_head(&feature_ids, &ratios, per_class.iter().map(|path| &path[s]))).collect())
}

/// One head whose class `k` scores what class `k`'s binary fit scores for "is `k`" over "is
/// not": the two columns' difference, times the ratios, since the fit saw scaled features.
fn fold_into_one_head<'a>(feature_ids: &[u32], ratios: &[Vec<f64>], binary: impl Iterator<Item = &'a LinearHead>) -> LinearHead {
    let classes = ratios.len();
    let mut coefficients = vec![0.0; feature_ids.len() * classes];
    let mut intercepts = Vec::with_capacity(classes);
    let mut iterations = 0;
    for (class, fit) in binary.enumerate() {
        for (j, &id) in feature_ids.iter().enumerate() {
            if let Some(&[rest, inside]) = fit.coefficients_of(id) {
                coefficients[j * classes + class] = ratios[class][j] * (inside - rest);
            }
        }
        intercepts.push(fit.intercepts[1] - fit.intercepts[0]);
        iterations = iterations.max(fit.iterations);
    }
    LinearHead { feature_ids: feature_ids.to_vec(), coefficients, intercepts, iterations }
}

/// The binary fit of `class` that `fold_into_one_head` would turn into `head`'s column, over
/// features scaled by `ratio` (aligned with `feature_ids`): a warm start for this class on new
/// rows. Each side takes half the score, as the penalised optimum does; features without a
/// usable ratio start at zero.
fn unfold(head: &LinearHead, class: usize, feature_ids: &[u32], ratio: &[f64]) -> LinearHead {
    let classes = head.classes();
    let coefficients = head
        .feature_ids
        .iter()
        .enumerate()
        .flat_map(|(j, id)| {
            let folded = head.coefficients[j * classes + class];
            let difference = match feature_ids.binary_search(id) {
                Ok(column) if ratio[column].abs() > 1e-6 => folded / ratio[column],
                _ => 0.0,
            };
            [-difference / 2.0, difference / 2.0]
        })
        .collect();
    let intercept = head.intercepts[class];
    LinearHead { feature_ids: head.feature_ids.clone(), coefficients, intercepts: vec![-intercept / 2.0, intercept / 2.0], iterations: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(ids: &[u32]) -> TicketFeatures {
        TicketFeatures { ids: ids.to_vec(), weights: vec![1.0; ids.len()], ..TicketFeatures::default() }
    }

    #[test]
    fn log_count_ratios_match_hand_computed_values() {
        // Class 0 rows carry features {1, 2} and {1}; the class 1 row carries {2}.
        let tickets = [ticket(&[1, 2]), ticket(&[1]), ticket(&[2])];
        let rows: Vec<(&TicketFeatures, usize)> = vec![(&tickets[0], 0), (&tickets[1], 0), (&tickets[2], 1)];
        let ratios = log_count_ratios(&rows, &[1, 2], 2);
        // Class 0: smoothed counts (3, 2) of 5 against the rest's (1, 2) of 3.
        let expected_0 = [(3.0f64 / 5.0).ln() - (1.0f64 / 3.0).ln(), (2.0f64 / 5.0).ln() - (2.0f64 / 3.0).ln()];
        for (got, want) in ratios[0].iter().zip(expected_0) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((ratios[1][0] + ratios[0][0]).abs() < 1e-12, "with two classes the ratios are opposite");
    }

    #[test]
    fn each_class_is_told_from_the_rest_by_its_own_words() {
        // Feature 10 + class marks each class; feature 1 occurs everywhere.
        let tickets: Vec<TicketFeatures> = (0..60).map(|r| ticket(&[1, 10 + (r % 3) as u32])).collect();
        let rows: Vec<(&TicketFeatures, usize)> = tickets.iter().enumerate().map(|(r, t)| (t, r % 3)).collect();
        let solve = Solve { inverse_regularisation: 4.0, max_iterations: 200, gradient_tolerance: 1e-6 };
        let head = fit_path(&rows, 3, &[solve], None).unwrap().remove(0);
        assert_eq!(head.classes(), 3);
        for (ticket, target) in &rows {
            let logits = head.logits(ticket);
            let best = (0..3).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap();
            assert_eq!(best, *target, "logits {logits:?}");
        }
        let restarted = fit_path(&rows, 3, &[solve], Some(&head)).unwrap().remove(0);
        assert!(restarted.iterations < head.iterations, "{} vs {} iterations from zero", restarted.iterations, head.iterations);
        for (a, b) in restarted.coefficients.iter().zip(&head.coefficients) {
            assert!((a - b).abs() < 1e-2 * (1.0 + b.abs()), "the same optimum from its own fit: {a} vs {b}");
        }
        let shared = head.coefficients_of(1).unwrap();
        let marker = head.coefficients_of(10).unwrap();
        assert!(marker[0] > shared[0].abs() * 10.0, "the marker outweighs the shared word: {marker:?} vs {shared:?}");
    }
}
