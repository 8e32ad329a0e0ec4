//! Wrap-safe comparison of sequence numbers and millisecond timestamps.

/// `(i32)(later - earlier)` computed in u32: positive when `later` is after `earlier`,
/// correct across the 32-bit wrap as long as the two are within 2^31 of each other.
#[inline]
pub(crate) const fn diff(later: u32, earlier: u32) -> i32 {
    later.wrapping_sub(earlier) as i32
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_is_wrap_safe() {
        assert_eq!(diff(5, 3), 2);
        assert_eq!(diff(3, 5), -2);
        assert_eq!(diff(2, u32::MAX - 1), 4);
        assert_eq!(diff(u32::MAX - 1, 2), -4);
        assert_eq!(diff(0x8000_0000, 0), i32::MIN);
    }
}
