//! Sparse vectors as sorted `(id, weight)` pairs: made unit length, and compared by dot
//! product (the cosine, for unit vectors). Shared by the policy's level examples and the
//! repeat-issue grouping; no knowledge of what the ids stand for.

/// A sparse vector, sorted by id, each id once.
pub type SparseVector = Vec<(u32, f32)>;

/// `entries` (any order, each id once) sorted and scaled to unit length; all-zero stays zero.
pub fn unit(mut entries: SparseVector) -> SparseVector {
    let norm = entries.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        entries.iter_mut().for_each(|(_, w)| *w /= norm);
    }
    entries.sort_unstable_by_key(|(id, _)| *id);
    entries
}

/// The dot product of two sorted sparse vectors: one pass over both.
pub fn dot(a: &SparseVector, b: &SparseVector) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_vectors_sort_scale_and_meet_on_shared_ids() {
        let a = unit(vec![(9, 3.0), (2, 4.0)]);
        assert_eq!(a, vec![(2, 0.8), (9, 0.6)]);
        let b = unit(vec![(9, 1.0), (5, 1.0)]);
        assert!((dot(&a, &b) - 0.6 / 2f32.sqrt()).abs() < 1e-6);
        assert_eq!(unit(vec![(1, 0.0)]), vec![(1, 0.0)]);
    }
}
