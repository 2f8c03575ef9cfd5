//! Statistics the reports share.

/// The nearest-rank percentile of `sorted` (ascending): the smallest value with at least
/// `percent`% of the values at or below it. `None` when there are no values. The evaluation's
/// latency percentiles and every `nextedit bench` percentile use this one definition.
pub fn percentile<T: Copy>(sorted: &[T], percent: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&[7.5], 95.0), Some(7.5));
        assert_eq!(percentile::<f64>(&[], 50.0), None);
    }
}
