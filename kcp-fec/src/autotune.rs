//! Detecting the peer's shard counts from the stream of (type, seqid) samples, as kcp-go's
//! `autotune.go` does, in its robust later form:
//!
//! - the last [`SAMPLES`] packets are kept in arrival order and sorted by seqid
//!   (wrap-aware) for each attempt (kcp-go 5.6.54+), instead of 5.6.1's table indexed by
//!   `seqid % 258`, which mixes old and new samples;
//! - a run of data (or parity) samples counts only if consecutive seqids of the other type
//!   bound it on both sides; any gap (loss, skipped parity) voids the run, so losses can
//!   shorten nothing; and the last two runs of each type must agree (when 258 samples can
//!   hold two), so one mislabelled packet cannot fake a period;
//! - while a mismatch is unresolved, FEC decoding pauses (kcp-go 5.6.4+: mislabelled
//!   shards would corrupt recovery), and the pause ends on *any* successful detection,
//!   whether or not the counts changed (kcp-go 5.6.64; 5.6.4-5.6.63 could stay paused for
//!   good when the counts were unchanged);
//! - a pause also ends after a long streak of packets that agree with the current counts
//!   (64, or two groups if longer): the mismatch was a stray packet, and detection alone
//!   would never confirm counts that nothing contradicts when every group loses a shard;
//! - attempts are rate-limited to one per [`RETRY_EVERY`] samples after the first (one per
//!   [`SAMPLES`] after counts beyond the decoder's limit were refused), so a hostile
//!   stream of mismatches costs a bounded amount of sorting.

use alloc::vec;
use alloc::vec::Vec;

use crate::shards::Shards;

/// Samples kept, as kcp-go's `maxAutoTuneSamples`.
pub(crate) const SAMPLES: usize = 258;
/// While a detection is pending, retry after this many further samples.
const RETRY_EVERY: u32 = 16;
/// Agreeing packets in a row that end a pause without a detection (at least two groups).
const AGREEING_STREAK: usize = 64;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sample {
    seq: u32,
    data: bool,
}

/// The two most recent complete runs of one type.
#[derive(Clone, Copy, Debug, Default)]
struct Runs {
    last: Option<usize>,
    previous: Option<usize>,
}

impl Runs {
    fn push(&mut self, len: usize) {
        self.previous = self.last;
        self.last = Some(len);
    }
}

/// The sampler and detector.
#[derive(Debug)]
pub(crate) struct AutoTune {
    /// Ring of the last samples in arrival order.
    ring: Vec<Sample>,
    /// Sort space for an attempt.
    scratch: Vec<Sample>,
    len: usize,
    next: usize,
    pending: bool,
    since_attempt: u32,
    /// Packets in a row whose type agreed with its position.
    agreeing: usize,
    /// Samples between attempts while pending: [`RETRY_EVERY`], or [`SAMPLES`] after
    /// counts were refused.
    retry_every: u32,
}

impl AutoTune {
    pub(crate) fn new() -> AutoTune {
        AutoTune {
            ring: vec![Sample::default(); SAMPLES],
            scratch: Vec::with_capacity(SAMPLES),
            len: 0,
            next: 0,
            pending: false,
            since_attempt: 0,
            agreeing: 0,
            retry_every: RETRY_EVERY,
        }
    }

    /// Records one FEC packet. Call for every packet, duplicates included.
    #[inline]
    pub(crate) fn sample(&mut self, data: bool, seq: u32) {
        self.ring[self.next] = Sample { seq, data };
        self.next = (self.next + 1) % SAMPLES;
        self.len = (self.len + 1).min(SAMPLES);
        self.since_attempt = self.since_attempt.saturating_add(1);
    }

    /// Whether FEC decoding is paused until the peer's counts are known.
    pub(crate) fn pending(&self) -> bool {
        self.pending
    }

    /// Called after [`sample`](Self::sample) with whether the packet's type disagrees with
    /// its position under the `current` counts. Returns the detected counts when a
    /// detection attempt succeeded (equal to the current ones or not); the pause then ends.
    pub(crate) fn observe(&mut self, mismatch: bool, current: Shards) -> Option<Shards> {
        if mismatch {
            self.agreeing = 0;
        } else {
            self.agreeing += 1;
            if self.pending && self.agreeing >= AGREEING_STREAK.max(2 * current.total()) {
                self.pending = false;
                self.retry_every = RETRY_EVERY;
                return None;
            }
        }
        let attempt = if mismatch && !self.pending {
            self.pending = true;
            true
        } else {
            self.pending && self.since_attempt >= self.retry_every
        };
        if !attempt {
            return None;
        }
        self.since_attempt = 0;
        let found = self.detect();
        if found.is_some() {
            self.pending = false;
            self.retry_every = RETRY_EVERY;
        }
        found
    }

    /// Called when the counts found are refused: decoding stays paused, and detection
    /// keeps retrying (rate-limited) until it finds acceptable counts or a streak of
    /// packets agreeing with the current ones ends the pause.
    /// Retries then come once per [`SAMPLES`] samples: counts that were refused once
    /// are what the peer keeps sending, and each retry sorts the samples.
    pub(crate) fn refuse(&mut self) {
        self.pending = true;
        self.agreeing = 0;
        self.retry_every = SAMPLES as u32;
    }

    /// Heap bytes kept.
    pub(crate) fn retained_bytes(&self) -> usize {
        (self.ring.capacity() + self.scratch.capacity()) * size_of::<Sample>()
    }

    /// Finds the most recent complete data run and parity run in the samples.
    fn detect(&mut self) -> Option<Shards> {
        if self.len == 0 {
            return None;
        }
        let newest = self.ring[(self.next + SAMPLES - 1) % SAMPLES].seq;
        // Sort by distance from a point half the sequence space behind the newest sample,
        // so ids on both sides of the u32 wrap keep their order.
        let base = newest.wrapping_sub(1 << 31);
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.ring[..self.len]);
        self.scratch
            .sort_unstable_by_key(|s| s.seq.wrapping_sub(base));

        // The two most recent complete runs of each type: (data, parity).
        let mut data_runs = Runs::default();
        let mut parity_runs = Runs::default();
        // The run being scanned: its type, length, and whether a sample of the other type
        // with the preceding seqid opened it.
        let mut kind = self.scratch[0].data;
        let mut run = 1usize;
        let mut opened = false;
        for w in self.scratch.windows(2) {
            let (prev, cur) = (w[0], w[1]);
            if cur.seq == prev.seq {
                continue; // duplicate sample
            }
            if cur.seq != prev.seq.wrapping_add(1) {
                kind = cur.data;
                run = 1;
                opened = false;
            } else if cur.data != kind {
                if opened {
                    if kind {
                        data_runs.push(run);
                    } else {
                        parity_runs.push(run);
                    }
                }
                kind = cur.data;
                run = 1;
                opened = true;
            } else {
                run += 1;
            }
        }
        let (data, parity) = (data_runs.last?, parity_runs.last?);
        // One mislabelled packet can fake one run; ask for the last two runs of each type
        // to agree whenever the samples are long enough to hold two of each.
        if 2 * (data + parity) + 2 <= SAMPLES
            && (data_runs.previous != Some(data) || parity_runs.previous != Some(parity))
        {
            return None;
        }
        Shards::new(data, parity).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut AutoTune, shards: Shards, from: u32, count: u32) {
        let n = shards.total() as u32;
        for seq in from..from + count {
            t.sample((seq % n) < shards.data() as u32, seq);
        }
    }

    #[test]
    fn detects_counts_from_clean_runs() {
        for (k, m) in [(10, 3), (7, 2), (3, 1), (1, 1), (1, 5), (40, 40)] {
            let s = Shards::new(k, m).unwrap();
            let mut t = AutoTune::new();
            feed(&mut t, s, 0, 258);
            assert_eq!(t.detect(), Some(s), "{k}/{m}");
        }
    }

    #[test]
    fn large_groups_need_one_run_of_each_type() {
        let s = Shards::new(200, 56).unwrap();
        let mut t = AutoTune::new();
        // From the first seqid of a group only the parity run is bounded on both sides.
        feed(&mut t, s, 0, 258);
        assert_eq!(t.detect(), None);
        // Starting at a group's last parity shard, 258 samples hold one bounded run of each.
        let mut t = AutoTune::new();
        feed(&mut t, s, 255, 258);
        assert_eq!(t.detect(), Some(s));
    }

    #[test]
    fn a_gap_voids_a_run_instead_of_shortening_it() {
        let s = Shards::new(10, 3).unwrap();
        let mut t = AutoTune::new();
        // Group 0 complete, group 1 misses seqid 17 (a data shard), group 2 misses 36.
        for seq in 0..39u32 {
            if seq == 17 || seq == 36 {
                continue;
            }
            t.sample(seq % 13 < 10, seq);
        }
        // The only complete data run would be 13..23, but 17 is missing; parity 10..13
        // and 23..26 are complete. No data run: no answer rather than a wrong one.
        assert_eq!(t.detect(), None);
        feed(&mut t, s, 39, 26);
        assert_eq!(t.detect(), Some(s));
    }

    #[test]
    fn sorts_across_the_u32_wrap() {
        let s = Shards::new(3, 1).unwrap();
        let mut t = AutoTune::new();
        // Ids ... u32::MAX-1, u32::MAX, 0, 1 ...: type by position relative to a start that
        // is aligned to 4 just before the wrap.
        let start = u32::MAX - 11; // multiple of 4
        for i in 0..24u32 {
            let seq = start.wrapping_add(i);
            t.sample(i % 4 < 3, seq);
        }
        assert_eq!(t.detect(), Some(s));
    }

    #[test]
    fn pending_clears_on_any_successful_detection() {
        let s = Shards::new(10, 3).unwrap();
        let mut t = AutoTune::new();
        feed(&mut t, s, 0, 13);
        // A stray parity-typed packet at a data position.
        t.sample(false, 14);
        assert_eq!(t.observe(true, s), None);
        assert!(t.pending());
        let mut found = None;
        for seq in 15..80u32 {
            t.sample(seq % 13 < 10, seq);
            if let Some(f) = t.observe(false, s) {
                found = Some(f);
                break;
            }
        }
        assert_eq!(found, Some(s));
        assert!(!t.pending());
    }

    #[test]
    fn pending_clears_after_a_long_agreeing_streak() {
        let s = Shards::new(10, 3).unwrap();
        let mut t = AutoTune::new();
        t.sample(false, 1);
        assert_eq!(t.observe(true, s), None);
        // Honest traffic that loses the first data shard of every group: no complete data
        // run ever forms, but nothing contradicts the counts either.
        let mut agreeing = 0;
        for seq in 13..13 * 20 {
            if seq % 13 == 0 {
                continue;
            }
            t.sample(seq % 13 < 10, seq);
            assert_eq!(t.observe(false, s), None);
            agreeing += 1;
            if !t.pending() {
                break;
            }
        }
        assert!(!t.pending());
        assert_eq!(agreeing, AGREEING_STREAK);
    }

    #[test]
    fn refused_counts_are_retried_once_per_window() {
        let peer = Shards::new(100, 100).unwrap();
        let current = Shards::new(1, 1).unwrap();
        let mut t = AutoTune::new();
        feed(&mut t, peer, 0, 300);
        // A mismatch starts an attempt at once; it is refused.
        t.sample(true, 300);
        assert_eq!(t.observe(true, current), None);
        t.refuse();
        // The next attempt comes a full sample window later, not 16 samples later.
        let mut attempts = 0;
        for seq in 301..301 + SAMPLES as u32 {
            t.sample(true, seq);
            let before = t.since_attempt;
            t.observe(true, current);
            if t.since_attempt < before {
                attempts += 1;
            }
        }
        assert!(t.pending());
        assert_eq!(attempts, 1);
    }
}
