//! The sentence embedding made comparable for repeat-issue grouping: whitened by the training
//! tickets' mean and covariance, then unit length again. e5's embeddings share a few dominant
//! directions, so any two tickets have a cosine near 0.8 and "the same outage" and "the same
//! product area" crowd together just below 1 (raw cosine grouped 14% of the tuning sample's
//! same-incident pairs at full precision); after whitening, what all tickets share no longer
//! counts and a threshold separates them better (`BENCHMARKS.md`, Repeat issues).
//!
//! Pure: stored numbers in, vectors out. Fitting is the trainer's; grouping is `clusters`'.

/// The names of the whitening's tensors in the bundle's weights.
pub const MEAN_TENSOR: &str = "encoder.whitening.mean";
pub const TRANSFORM_TENSOR: &str = "encoder.whitening.transform";

/// `x -> unit(transform * (x - mean))`, where `transformᵀ transform` is the inverse of the
/// (regularised) covariance, so cosines of whitened vectors are Mahalanobis cosines.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitening {
    mean: Vec<f32>,
    /// Row-major `[dimension, dimension]`.
    transform: Vec<f32>,
}

impl Whitening {
    /// Refuses a transform that is not square over the mean's dimension.
    pub fn new(mean: Vec<f32>, transform: Vec<f32>) -> Result<Self, String> {
        if mean.is_empty() || transform.len() != mean.len() * mean.len() {
            return Err(format!(
                "whitening: a mean of {} components needs a {0}x{0} transform, not {} values",
                mean.len(),
                transform.len()
            ));
        }
        Ok(Self { mean, transform })
    }

    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    pub fn transform(&self) -> &[f32] {
        &self.transform
    }

    /// The whitened unit vector of `embedding`; `None` when it is not the whitening's size
    /// (another encoder's) or whitens to nothing.
    pub fn apply(&self, embedding: &[f32]) -> Option<Vec<f32>> {
        let dimension = self.mean.len();
        if embedding.len() != dimension {
            return None;
        }
        let centred: Vec<f32> = embedding.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        let whitened: Vec<f32> =
            self.transform.chunks_exact(dimension).map(|row| row.iter().zip(&centred).map(|(t, c)| t * c).sum()).collect();
        let norm = whitened.iter().map(|v| v * v).sum::<f32>().sqrt();
        (norm > f32::EPSILON).then(|| whitened.into_iter().map(|v| v / norm).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitening_centres_transforms_and_renormalises() {
        // Scales the first axis by 2 and the second by 1 around the mean (1, 1).
        let whitening = Whitening::new(vec![1.0, 1.0], vec![2.0, 0.0, 0.0, 1.0]).unwrap();
        let whitened = whitening.apply(&[2.0, 3.0]).unwrap();
        // (1, 2) -> (2, 2) -> unit
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!((whitened[0] - half).abs() < 1e-6 && (whitened[1] - half).abs() < 1e-6, "{whitened:?}");
        assert_eq!(whitening.apply(&[1.0, 1.0]), None, "the mean itself has no direction");
        assert_eq!(whitening.apply(&[1.0]), None, "another encoder's embedding");
    }

    #[test]
    fn a_transform_of_the_wrong_size_is_refused() {
        assert!(Whitening::new(vec![0.0, 0.0], vec![1.0; 3]).unwrap_err().contains("2x2"));
        assert!(Whitening::new(Vec::new(), Vec::new()).is_err());
    }
}
