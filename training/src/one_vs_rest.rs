//! One-vs-rest logistic regression on naive-Bayes-scaled features ("NB-LR", Wang and Manning
//! 2012). For each class every feature is scaled by its log-count ratio, how much more often
//! rows of that class carry it than the other rows do, and a binary logistic regression tells
//! the class from the rest on the scaled features. Where a few telling words carry a label
//! (sentiment) this often beats one multinomial fit; where they do not it loses, so the trainer
//! lets cross-validation choose per head. Scaling is per feature and class, so the fits fold
//! back into one linear head (class `k`'s coefficient of feature `j` is `r_kj * w_kj`) and
//! serving, explanations and the bundle stay as they are.
//! Pure numeric code, like `linear_head`: no tensors, no files, no label names.

use triage::model::features::TicketFeatures;

use crate::linear_head::{self, balanced_class_weights, Design, LinearHead, Link, Objective, Solve};

/// Per feature of `feature_ids` (ascending) and class, laid out `[feature][class]` as a
/// head's coefficients are, the log-count ratio: the share of the class's feature occurrences
/// that are this feature over the same share among the other rows, both smoothed by one
/// occurrence, as in the paper. Occurrence means the row has it.
fn log_count_ratios(rows: &[(&TicketFeatures, usize)], feature_ids: &[u32], classes: usize) -> Vec<f64> {
    let mut present = vec![0.0f64; feature_ids.len() * classes];
    for (ticket, target) in rows {
        for id in &ticket.ids {
            if let Ok(column) = feature_ids.binary_search(id) {
                present[column * classes + target] += 1.0;
            }
        }
    }
    let mut inside_totals = vec![0.0; classes];
    let mut outside_totals = vec![0.0; classes];
    for counts in present.chunks(classes) {
        let everywhere: f64 = counts.iter().sum();
        for (class, &inside) in counts.iter().enumerate() {
            inside_totals[class] += inside + 1.0;
            outside_totals[class] += everywhere - inside + 1.0;
        }
    }
    present
        .chunks(classes)
        .flat_map(|counts| {
            let everywhere: f64 = counts.iter().sum();
            let (inside_totals, outside_totals) = (&inside_totals, &outside_totals);
            counts.iter().enumerate().map(move |(class, &inside)| {
                ((inside + 1.0) / inside_totals[class]).ln() - ((everywhere - inside + 1.0) / outside_totals[class]).ln()
            })
        })
        .collect()
}

/// Fits `rows` (features, target class) once per solve as one binary fit per class on that
/// class's scaled features, each weighted to balance the class against the rest, solved
/// together as `Link::OneVsRest` in a warm-started path like `linear_head::fit_path` (the
/// first solve from `start`, a head this function fitted on other rows, where given). The
/// fits are folded into one head over `classes` classes.
pub fn fit_path(
    rows: &[(&TicketFeatures, usize)],
    classes: usize,
    solves: &[Solve],
    start: Option<&LinearHead>,
) -> Vec<LinearHead> {
    let design = Design::new(rows, classes);
    let ratios = log_count_ratios(rows, design.feature_ids(), classes);
    let inside = |class: usize| rows.iter().map(move |(_, target)| usize::from(*target == class));
    let class_weights: Vec<f32> = (0..classes).flat_map(|class| balanced_class_weights(inside(class), 2)).collect();
    let targets: Vec<usize> = rows.iter().map(|(_, target)| *target).collect();
    let objective = Objective {
        link: Link::OneVsRest { classes },
        targets: &targets,
        class_weights: &class_weights,
        coefficient_scale: Some(&ratios),
    };
    let start = start.filter(|head| head.classes() == classes).and_then(unfold);
    let mut path = linear_head::fit_path_on(&design, objective, solves, start.as_ref());
    for head in &mut path {
        head.coefficients.iter_mut().zip(&ratios).for_each(|(w, r)| *w *= r);
        head.fitted_scale = Some(ratios.clone());
    }
    path
}

/// The fit that this function folded into `head`, before its coefficients were scaled: a warm
/// start on other rows, whose ratios differ little where the features are common. (Dividing
/// by the new rows' ratios instead would keep the scores, but where a ratio is near zero it
/// starts far off, and the solve takes longer than from zero.) `None` for a head fitted
/// otherwise.
fn unfold(head: &LinearHead) -> Option<LinearHead> {
    let scale = head.fitted_scale.as_ref()?;
    let coefficients = head.coefficients.iter().zip(scale).map(|(w, s)| if *s == 0.0 { 0.0 } else { w / s }).collect();
    Some(LinearHead { coefficients, fitted_scale: None, ..head.clone() })
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
        // Class 0 (every other entry, `[feature][class]`): smoothed counts (3, 2) of 5 against
        // the rest's (1, 2) of 3.
        let expected_0 = [(3.0f64 / 5.0).ln() - (1.0f64 / 3.0).ln(), (2.0f64 / 5.0).ln() - (2.0f64 / 3.0).ln()];
        for (got, want) in [ratios[0], ratios[2]].into_iter().zip(expected_0) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((ratios[1] + ratios[0]).abs() < 1e-12, "with two classes the ratios are opposite");
    }

    #[test]
    fn each_class_is_told_from_the_rest_by_its_own_words() {
        // Feature 10 + class marks each class; feature 1 occurs everywhere.
        let tickets: Vec<TicketFeatures> = (0..60).map(|r| ticket(&[1, 10 + (r % 3) as u32])).collect();
        let rows: Vec<(&TicketFeatures, usize)> = tickets.iter().enumerate().map(|(r, t)| (t, r % 3)).collect();
        let solve = Solve { inverse_regularisation: 4.0, max_iterations: 200, gradient_tolerance: 1e-6 };
        let head = fit_path(&rows, 3, &[solve], None).remove(0);
        assert_eq!(head.classes(), 3);
        for (ticket, target) in &rows {
            let logits = head.logits(ticket);
            let best = (0..3).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap();
            assert_eq!(best, *target, "logits {logits:?}");
        }
        let restarted = fit_path(&rows, 3, &[solve], Some(&head)).remove(0);
        assert!(restarted.iterations < head.iterations, "{} vs {} iterations from zero", restarted.iterations, head.iterations);
        for (a, b) in restarted.coefficients.iter().zip(&head.coefficients) {
            assert!((a - b).abs() < 1e-2 * (1.0 + b.abs()), "the same optimum from its own fit: {a} vs {b}");
        }
        let shared = head.coefficients_of(1).unwrap();
        let marker = head.coefficients_of(10).unwrap();
        assert!(marker[0] > shared[0].abs() * 10.0, "the marker outweighs the shared word: {marker:?} vs {shared:?}");
    }
}
