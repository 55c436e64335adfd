//! Fits the severity probe (`triage::model::severity_probe`): a class-balanced, L2-regularised
//! logistic regression from sentence embeddings to "belongs at a most urgent level", on tickets
//! whose acceptable levels a person wrote down. A ticket counts as severe when every acceptable
//! level is severe, as not severe when none is; tickets in between teach nothing and are
//! skipped. Five-fold cross-validation reports how often it would miss a severe ticket or
//! raise a calm one at probability 0.5. Numeric work only: no files, no encoder.

use triage::model::severity_probe::SeverityProbe;

/// Inverse regularisation strength (the larger, the closer the fit follows the tickets).
const C: f64 = 4.0;
/// Embeddings are unit vectors; scaled up, full-batch gradient descent converges in a few
/// thousand steps at a fixed rate. The scale is folded back into the stored weights.
const SCALE: f64 = 10.0;
const STEPS: usize = 4000;
const RATE: f64 = 0.5;
const FOLDS: usize = 5;

/// A labeled ticket: its embedding and whether it is severe.
pub struct Labeled {
    pub embedding: Vec<f32>,
    pub severe: bool,
}

/// Whether a ticket with these acceptable levels is severe (`Some(true)`), calm (`Some(false)`)
/// or in between (`None`).
pub fn label(acceptable: &[String], severe_levels: &[String]) -> Option<bool> {
    let severe = acceptable.iter().filter(|level| severe_levels.contains(level)).count();
    match severe {
        0 => Some(false),
        n if n == acceptable.len() => Some(true),
        _ => None,
    }
}

/// Weights (one per dimension) and bias of the probe fitted on `rows`.
fn fit(rows: &[&Labeled]) -> (Vec<f32>, f32) {
    let dimensions = rows.first().map_or(0, |r| r.embedding.len());
    let positives = rows.iter().filter(|r| r.severe).count().max(1) as f64;
    let negatives = (rows.len() as f64 - positives).max(1.0);
    let n = rows.len().max(1) as f64;
    let (mut weights, mut bias) = (vec![0.0f64; dimensions], 0.0f64);
    let mut gradient = vec![0.0f64; dimensions];
    for _ in 0..STEPS {
        gradient.iter_mut().for_each(|g| *g = 0.0);
        let mut bias_gradient = 0.0;
        for row in rows {
            let logit = bias + row.embedding.iter().zip(&weights).map(|(x, w)| SCALE * f64::from(*x) * w).sum::<f64>();
            let (target, weight) = if row.severe { (1.0, 0.5 * n / positives) } else { (0.0, 0.5 * n / negatives) };
            let error = (1.0 / (1.0 + (-logit).exp()) - target) * weight;
            for (g, x) in gradient.iter_mut().zip(&row.embedding) {
                *g += error * SCALE * f64::from(*x);
            }
            bias_gradient += error;
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            *w -= RATE * (g / n + *w / (C * n));
        }
        bias -= RATE * bias_gradient / n;
    }
    (weights.iter().map(|w| (w * SCALE) as f32).collect(), bias as f32)
}

/// What cross-validation found: severe tickets it would miss, calm ones it would raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrossValidated {
    pub severe: usize,
    pub missed: usize,
    pub calm: usize,
    pub raised: usize,
}

/// Five-fold cross-validation at probability 0.5.
pub fn cross_validate(rows: &[Labeled]) -> CrossValidated {
    let mut found = CrossValidated::default();
    for fold in 0..FOLDS {
        let training: Vec<&Labeled> = rows.iter().enumerate().filter(|(i, _)| i % FOLDS != fold).map(|(_, r)| r).collect();
        let (weights, bias) = fit(&training);
        let probe = SeverityProbe { weights, bias, severe_levels: Vec::new(), fitted_on: String::new() };
        for row in rows.iter().skip(fold).step_by(FOLDS) {
            let severe_by_probe = probe.probability(&row.embedding).is_some_and(|p| p >= 0.5);
            if row.severe {
                found.severe += 1;
                found.missed += usize::from(!severe_by_probe);
            } else {
                found.calm += 1;
                found.raised += usize::from(severe_by_probe);
            }
        }
    }
    found
}

/// The probe fitted on all `rows`, recording `fitted_on`.
pub fn probe(rows: &[Labeled], severe_levels: &[String], fitted_on: String) -> SeverityProbe {
    let (weights, bias) = fit(&rows.iter().collect::<Vec<_>>());
    SeverityProbe { weights, bias, severe_levels: severe_levels.to_vec(), fitted_on }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn tickets_between_severe_and_calm_are_not_labeled() {
        let severe = levels(&["P1", "P2"]);
        assert_eq!(label(&levels(&["P1", "P2"]), &severe), Some(true));
        assert_eq!(label(&levels(&["P3", "P4"]), &severe), Some(false));
        assert_eq!(label(&levels(&["P2", "P3"]), &severe), None);
    }

    #[test]
    fn a_probe_separates_two_directions_and_cross_validates_clean() {
        let row = |angle: f32, severe: bool| Labeled { embedding: vec![angle.cos(), angle.sin(), 0.0], severe };
        let rows: Vec<Labeled> =
            (0..20).map(|i| row(0.1 + 0.02 * i as f32, true)).chain((0..20).map(|i| row(1.4 + 0.02 * i as f32, false))).collect();
        let probe = probe(&rows, &levels(&["P1"]), "test".into());
        assert!(probe.probability(&[1.0, 0.0, 0.0]).unwrap() > 0.5);
        assert!(probe.probability(&[0.0, 1.0, 0.0]).unwrap() < 0.5);
        assert_eq!(cross_validate(&rows), CrossValidated { severe: 20, missed: 0, calm: 20, raised: 0 });
    }
}
