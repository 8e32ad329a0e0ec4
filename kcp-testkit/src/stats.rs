//! Summaries of measured samples (latencies, throughputs, ratios) for the examples,
//! benchmarks and the study, so that every figure they print means the same thing.

/// The `q` quantile (`0.0..=1.0`) of `sorted` by nearest rank: the smallest sample with at
/// least `q` of the samples at or below it (`q = 0.5` of 4 samples is the 2nd, `q = 1.0`
/// the largest). NaN when there are no samples.
///
/// `sorted` must be in ascending order (`v.sort_by(f64::total_cmp)`); this does not check.
/// Costs one index: sort once and ask for as many quantiles as needed.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `samples` in any order: [`quantile`] 0.5 of a sorted copy. NaN when there
/// are none. Costs a copy and a sort; for several quantiles of one set, sort once and call
/// [`quantile`].
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

#[cfg(test)]
mod tests {
    use super::{median, quantile};

    #[test]
    fn nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.25), 1.0);
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert_eq!(quantile(&v, 0.51), 3.0);
        assert_eq!(quantile(&v, 0.99), 4.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn median_sorts_a_copy() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 3.0, 2.0, 1.0]), 2.0);
        assert!(median(&[]).is_nan());
    }
}
