//! Fits the whitening for repeat-issue grouping (`triage::model::whitening`) on the training
//! tickets' sentence embeddings: their mean, and the inverse Cholesky factor of their
//! covariance with `shrink` times its mean eigenvalue added to the diagonal. Any factor whose
//! transpose times itself is the inverse covariance gives the same cosines; the triangular one
//! needs no eigendecomposition.
//!
//! When the rows name their languages, the directions that separate the languages' mean
//! embeddings are taken out first: e5 places a ticket near others of its language, so an
//! outage told in German and in English stayed apart (most same-incident pairs in the
//! repeat-issue samples cross languages). Taking out a direction is linear, so it is folded
//! into the transform and serving applies one matrix as before. Numeric work only: no files,
//! no encoder.

use triage::model::bundle::WhiteningSpec;
use triage::model::whitening::Whitening;

/// The share of the covariance's mean eigenvalue added to its diagonal: without it, the
/// directions the training tickets barely vary along would dominate whitened cosines. Chosen
/// on the repeat-issue tuning sample (0.3, 0.5, 1 and 2 tried; `BENCHMARKS.md`, Repeat issues).
pub const SHRINK: f32 = 0.5;

/// The fewest rows of one language for its mean embedding to count: fewer say more about their
/// topics than about their language.
pub const ROWS_PER_LANGUAGE: usize = 50;

/// The whitening of `embeddings` (all one dimension), or `None` with fewer than two.
/// `languages` is each row's language where known (the same length, or empty).
pub fn fit(embeddings: &[Vec<f32>], languages: &[Option<&str>], shrink: f32) -> Option<(Whitening, WhiteningSpec)> {
    let dimension = embeddings.first()?.len();
    if embeddings.len() < 2 || dimension == 0 || embeddings.iter().any(|e| e.len() != dimension) {
        return None;
    }
    let mean = mean_of(embeddings.iter(), dimension);
    let (languages_removed, basis) = language_directions(embeddings, languages, &mean);
    // The upper triangle, row by row, then mirrored; each row without its language directions.
    let mut covariance = vec![0.0f64; dimension * dimension];
    let mut centred = vec![0.0f64; dimension];
    for embedding in embeddings {
        for ((c, x), m) in centred.iter_mut().zip(embedding).zip(&mean) {
            *c = f64::from(*x) - m;
        }
        remove_directions(&mut centred, &basis);
        for i in 0..dimension {
            let ci = centred[i];
            for (cell, cj) in covariance[i * dimension + i..(i + 1) * dimension].iter_mut().zip(&centred[i..]) {
                *cell += ci * cj;
            }
        }
    }
    let count = embeddings.len() as f64;
    for i in 0..dimension {
        for j in i..dimension {
            let value = covariance[i * dimension + j] / (count - 1.0);
            covariance[i * dimension + j] = value;
            covariance[j * dimension + i] = value;
        }
    }
    let mean_eigenvalue = (0..dimension).map(|i| covariance[i * dimension + i]).sum::<f64>() / dimension as f64;
    for i in 0..dimension {
        covariance[i * dimension + i] += f64::from(shrink) * mean_eigenvalue.max(f64::MIN_POSITIVE);
    }
    let factor = cholesky(&covariance, dimension)?;
    let mut transform = lower_inverse(&factor, dimension);
    // transform · (I - Σ b bᵀ): each row loses its component along every direction.
    for row in transform.chunks_exact_mut(dimension) {
        remove_directions(row, &basis);
    }
    let whitening = Whitening::new(mean.iter().map(|&m| m as f32).collect(), transform.iter().map(|&t| t as f32).collect())
        .expect("square by construction");
    Some((whitening, WhiteningSpec { tickets: embeddings.len(), shrink, languages_removed }))
}

fn mean_of<'e>(rows: impl ExactSizeIterator<Item = &'e Vec<f32>>, dimension: usize) -> Vec<f64> {
    let count = rows.len().max(1) as f64;
    let mut mean = vec![0.0f64; dimension];
    for row in rows {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += f64::from(*x) / count;
        }
    }
    mean
}

/// The languages with at least `ROWS_PER_LANGUAGE` rows (sorted), and an orthonormal basis of
/// the directions from the overall mean to their means; nothing unless two languages qualify.
fn language_directions(embeddings: &[Vec<f32>], languages: &[Option<&str>], mean: &[f64]) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut by_language: std::collections::BTreeMap<&str, Vec<&Vec<f32>>> = Default::default();
    for (embedding, language) in embeddings.iter().zip(languages) {
        if let Some(language) = language {
            by_language.entry(language).or_default().push(embedding);
        }
    }
    by_language.retain(|_, rows| rows.len() >= ROWS_PER_LANGUAGE);
    if by_language.len() < 2 {
        return (Vec::new(), Vec::new());
    }
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for rows in by_language.values() {
        let mut direction: Vec<f64> = mean_of(rows.iter().copied(), mean.len()).iter().zip(mean).map(|(l, m)| l - m).collect();
        remove_directions(&mut direction, &basis);
        let norm = direction.iter().map(|v| v * v).sum::<f64>().sqrt();
        // The last language's direction lies in the others' span (the means average to the
        // overall mean when the languages cover every row): nothing new is left of it.
        if norm > 1e-9 {
            basis.push(direction.into_iter().map(|v| v / norm).collect());
        }
    }
    (by_language.keys().map(|l| l.to_string()).collect(), basis)
}

/// `vector` minus its component along each of the orthonormal `basis` directions.
fn remove_directions(vector: &mut [f64], basis: &[Vec<f64>]) {
    for direction in basis {
        let along: f64 = vector.iter().zip(direction).map(|(v, d)| v * d).sum();
        for (v, d) in vector.iter_mut().zip(direction) {
            *v -= along * d;
        }
    }
}

/// `L` (row-major, lower triangular) with `L Lᵀ = matrix`; `None` unless positive definite
/// (a pivot below 1e-12 of the largest diagonal entry is rounding, not variance).
fn cholesky(matrix: &[f64], n: usize) -> Option<Vec<f64>> {
    let floor = 1e-12 * (0..n).map(|i| matrix[i * n + i]).fold(0.0, f64::max);
    let mut factor = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| factor[i * n + k] * factor[j * n + k]).sum();
            let value = matrix[i * n + j] - dot;
            factor[i * n + j] = if i == j {
                if value <= floor {
                    return None;
                }
                value.sqrt()
            } else {
                value / factor[j * n + j]
            };
        }
    }
    Some(factor)
}

/// `L⁻¹` of a lower triangular `L` with a positive diagonal, by forward substitution per column.
fn lower_inverse(factor: &[f64], n: usize) -> Vec<f64> {
    let mut inverse = vec![0.0f64; n * n];
    for column in 0..n {
        for i in column..n {
            let identity = if i == column { 1.0 } else { 0.0 };
            let known: f64 = (column..i).map(|k| factor[i * n + k] * inverse[k * n + column]).sum();
            inverse[i * n + column] = (identity - known) / factor[i * n + i];
        }
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points along two axes with spreads 3 and 0.5 around (1, 2), a little skewed.
    fn cloud() -> Vec<Vec<f32>> {
        (0..400)
            .map(|i| {
                let (a, b) = (((i * 37) % 101) as f32 / 50.0 - 1.0, ((i * 53) % 97) as f32 / 48.0 - 1.0);
                vec![1.0 + 3.0 * a + 0.2 * b, 2.0 + 0.5 * b]
            })
            .collect()
    }

    #[test]
    fn without_shrink_the_whitened_cloud_has_unit_covariance() {
        let rows = cloud();
        let (whitening, spec) = fit(&rows, &[], 0.0).unwrap();
        assert_eq!(spec, WhiteningSpec { tickets: 400, shrink: 0.0, languages_removed: Vec::new() });
        // Whitened but not renormalised: transform times the centred row.
        let whitened: Vec<[f64; 2]> = rows
            .iter()
            .map(|r| {
                let c = [f64::from(r[0] - whitening.mean()[0]), f64::from(r[1] - whitening.mean()[1])];
                let t: Vec<f64> = whitening.transform().iter().map(|&v| f64::from(v)).collect();
                [t[0] * c[0] + t[1] * c[1], t[2] * c[0] + t[3] * c[1]]
            })
            .collect();
        let n = whitened.len() as f64 - 1.0;
        let cov = |i: usize, j: usize| whitened.iter().map(|w| w[i] * w[j]).sum::<f64>() / n;
        assert!((cov(0, 0) - 1.0).abs() < 1e-3 && (cov(1, 1) - 1.0).abs() < 1e-3, "{} {}", cov(0, 0), cov(1, 1));
        assert!(cov(0, 1).abs() < 1e-3, "{}", cov(0, 1));
    }

    #[test]
    fn agreeing_along_the_direction_every_row_varies_on_counts_for_less() {
        let (whitening, _) = fit(&cloud(), &[], 0.0).unwrap();
        let m = whitening.mean().to_vec();
        // Both far out along the wide axis, opposite along the narrow one: centred, their
        // cosine is (1.7² - 0.3²) / (1.7² + 0.3²) = 0.94.
        let a = whitening.apply(&[m[0] + 1.7, m[1] + 0.3]).unwrap();
        let b = whitening.apply(&[m[0] + 1.7, m[1] - 0.3]).unwrap();
        let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(cosine < 0.3, "whitened cosine {cosine}");
    }

    #[test]
    fn one_problem_told_in_two_languages_meets_once_the_language_direction_is_out() {
        // Three components: the topic varies along the first two; the language moves every
        // row along the third (German +1, English -1), as far as the topics differ.
        let topic = |i: usize| [((i * 37) % 101) as f32 / 50.0 - 1.0, ((i * 53) % 97) as f32 / 48.0 - 1.0];
        let rows: Vec<Vec<f32>> =
            (0..200).map(|i| [topic(i)[0], topic(i)[1], if i % 2 == 0 { 1.0 } else { -1.0 }].to_vec()).collect();
        let languages: Vec<Option<&str>> = (0..200).map(|i| Some(if i % 2 == 0 { "de" } else { "en" })).collect();
        let cosine = |w: &Whitening, a: [f32; 3], b: [f32; 3]| -> f32 {
            w.apply(&a).unwrap().iter().zip(&w.apply(&b).unwrap()).map(|(x, y)| x * y).sum()
        };
        let (same_problem, other_problem) = (([0.8, 0.1, 1.0], [0.8, 0.1, -1.0]), ([0.8, 0.1, 1.0], [-0.1, 0.8, 1.0]));

        let (plain, _) = fit(&rows, &[], 0.1).unwrap();
        assert!(cosine(&plain, same_problem.0, same_problem.1) < 0.5, "apart by language before");
        let (across, spec) = fit(&rows, &languages, 0.1).unwrap();
        assert_eq!(spec.languages_removed, ["de", "en"]);
        assert!(cosine(&across, same_problem.0, same_problem.1) > 0.99);
        assert!(cosine(&across, other_problem.0, other_problem.1) < 0.5, "topics still tell problems apart");

        // A language with too few rows says nothing about languages.
        let few: Vec<Option<&str>> =
            (0..200).map(|i| if i % 2 == 0 { Some("de") } else { Some("en").filter(|_| i < 20) }).collect();
        assert!(fit(&rows, &few, 0.1).unwrap().1.languages_removed.is_empty());
    }

    #[test]
    fn shrink_keeps_a_flat_direction_from_blowing_up_and_too_few_rows_fit_nothing() {
        // The second component never varies: singular without shrink.
        let flat: Vec<Vec<f32>> = (0..10).map(|i| vec![i as f32, 1.0]).collect();
        assert!(fit(&flat, &[], 0.0).is_none());
        let (whitening, _) = fit(&flat, &[], 0.5).unwrap();
        assert!(whitening.transform().iter().all(|t| t.is_finite()));
        assert!(fit(&flat[..1], &[], 0.5).is_none());
        assert!(fit(&[vec![1.0, 2.0], vec![1.0]], &[], 0.5).is_none(), "rows of two sizes");
    }
}
