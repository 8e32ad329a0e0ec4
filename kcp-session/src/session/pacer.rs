//! Pacing for [`Config::rate_limit`](crate::Config::rate_limit): a token bucket on the
//! session's own clock that hands KCP a budget of bytes before each flush
//! ([`Kcp::set_send_quota`]) and tells the session when the next datagram may go.
//!
//! The bucket fills at the rate, in bytes on the wire per second, up to a small burst:
//! twice the rate per millisecond, at least two datagrams, at most [`MAX_BURST`] bytes (less
//! than one GSO batch, so a batch never leaves faster than the rate allows). Every datagram the
//! session transmits is charged, acknowledgements and FEC parity included; KCP only sends
//! data while budget is left, so the bucket may go into debt by the last datagram of a
//! flush, which later flushes pay back. A session with data to send sends at the rate.

use kcp_core::Kcp;

use crate::config::Settings;

/// The most bytes the bucket holds: one GSO batch (65,000 bytes) less what a flush may
/// send past its budget (a datagram, and the parity of one FEC group: up to 5 shards of
/// 1,500 bytes fit).
pub(super) const MAX_BURST: usize = 56_000;

/// How many milliseconds of the rate the bucket holds, when that is within the bounds.
const BURST_MS: u64 = 2;

/// The most debt the bucket keeps, in thousandths of a byte: far more than one flush
/// overshoots its budget by (a datagram and a group's parity), so that debt is always paid
/// back in full, yet bounded, so that a session whose acknowledgements alone exceed the
/// rate gets back to sending data soon after they stop.
const DEBT_LIMIT: i64 = MAX_BURST as i64 * SCALE;

/// Tokens are kept in thousandths of a byte, so that a rate in bytes per second adds
/// exactly `rate` of them per millisecond.
const SCALE: i64 = 1000;

/// The token bucket of one session.
#[derive(Debug)]
pub(super) struct Pacer {
    /// Bytes per second on the wire.
    rate: u32,
    /// Thousandths of a byte; between `-DEBT_LIMIT` and `capacity`.
    tokens: i64,
    capacity: i64,
    /// The datagram size the bucket holds at least two of.
    mtu: usize,
    /// When `tokens` was last brought up to date.
    last: u32,
    /// The last flush spent its whole budget, so data may be waiting for tokens.
    blocked: bool,
    /// Of each budget byte, the share KCP may spend on its own frames: the rest goes to
    /// the crypto and FEC headers, the trailer and the parity shards (numerator,
    /// denominator).
    frame_share: (u64, u64),
}

impl Pacer {
    /// A full bucket at `now` for a session with `settings`, sending `rate` bytes/s.
    pub(super) fn new(rate: u32, settings: &Settings, now: u32) -> Pacer {
        let mtu = settings.config().mtu as u64;
        let (data, parity) = settings
            .fec()
            .map_or((1, 0), |s| (s.data() as u64, s.parity() as u64));
        let capacity = capacity(rate, settings.config().mtu) as i64 * SCALE;
        Pacer {
            rate,
            tokens: capacity,
            capacity,
            mtu: settings.config().mtu,
            last: now,
            blocked: false,
            frame_share: (settings.kcp_mtu() as u64 * data, mtu * (data + parity)),
        }
    }

    /// Changes the rate (bytes/s on the wire, at least 1) from `now` on: what the old
    /// rate filled up to `now` stays, and the bucket's size follows the new rate.
    pub(super) fn set_rate(&mut self, now: u32, rate: u32) {
        self.refill(now);
        self.rate = rate.max(1);
        self.capacity = capacity(self.rate, self.mtu) as i64 * SCALE;
        self.tokens = self.tokens.min(self.capacity);
    }

    fn refill(&mut self, now: u32) {
        let elapsed = now.wrapping_sub(self.last) as i32;
        if elapsed == 0 {
            return;
        }
        self.last = now;
        // Past the time to fill from the deepest debt the bucket is full anyway: no
        // overflow. The clock never goes backwards, so a negative difference is an idle
        // time past the clock's reach (2^31 ms): full as well.
        let full_after = (DEBT_LIMIT + self.capacity) / i64::from(self.rate).max(1) + 1;
        let ms = if elapsed < 0 {
            full_after
        } else {
            i64::from(elapsed).min(full_after)
        };
        self.tokens = (self.tokens + ms * i64::from(self.rate)).min(self.capacity);
    }

    /// Before a flush at `now`: refills the bucket, gives KCP the budget, and says whether
    /// the session should flush now because data waited for the tokens that came.
    pub(super) fn before_flush(&mut self, now: u32, kcp: &mut Kcp) -> bool {
        self.refill(now);
        let bytes = (self.tokens.max(0) / SCALE) as u64;
        let (num, den) = self.frame_share;
        let quota = (bytes * num / den) as usize;
        // Budget below one byte of frame would let nothing out; a budget of at least one
        // lets one segment out.
        kcp.set_send_quota(Some(quota));
        self.blocked && quota > 0
    }

    /// After a flush: charges the `sent` bytes the session transmitted and notes whether
    /// the budget ran out.
    pub(super) fn after_flush(&mut self, kcp: &Kcp, sent: u64) {
        let charge = i64::try_from(sent).unwrap_or(i64::MAX / SCALE) * SCALE;
        self.tokens = self.tokens.saturating_sub(charge).max(-DEBT_LIMIT);
        self.blocked = kcp.send_quota() == Some(0);
    }

    /// When the tokens let data that waits for them go (absolute, same clock as `now`),
    /// or `None` if nothing waits for tokens.
    pub(super) fn wake(&self, now: u32) -> Option<u32> {
        if !self.blocked {
            return None;
        }
        let since = i64::from((now.wrapping_sub(self.last) as i32).max(0));
        let tokens = self.tokens + since * i64::from(self.rate);
        // Enough for one byte of KCP frame.
        let (num, den) = self.frame_share;
        let need = (SCALE as u64 * den).div_ceil(num) as i64;
        let wait = (need - tokens).max(0) as u64;
        let ms = wait
            .div_ceil(u64::from(self.rate).max(1))
            .min(i32::MAX as u64);
        Some(now.wrapping_add(ms as u32))
    }
}

/// The bucket's size in bytes for `rate` bytes/s and datagrams of `mtu` bytes.
fn capacity(rate: u32, mtu: usize) -> usize {
    let by_rate = (u64::from(rate) * BURST_MS / 1000) as usize;
    by_rate.clamp(2 * mtu, MAX_BURST)
}

/// The earlier of two absolute times on the wrapping clock, seen from `now`.
pub(super) fn earlier(now: u32, a: u32, b: u32) -> u32 {
    if (a.wrapping_sub(now) as i32) <= (b.wrapping_sub(now) as i32) {
        a
    } else {
        b
    }
}

impl Settings {
    /// With [`Config::rate_limit`](crate::Config::rate_limit) set, the most bytes a session
    /// sends above its rate in any stretch of time: in any `t` seconds it sends at most
    /// `rate × t + burst` bytes. This is the bucket (twice the rate per millisecond,
    /// at least two datagrams, at most 56,000 bytes) plus the datagram a flush may send
    /// past its budget and, with FEC, the parity datagrams of one group. With up to 5 parity
    /// shards a burst fits one GSO batch (65,000 bytes). Acknowledgements are charged but
    /// never held back, so a session that must acknowledge more than its rate of incoming
    /// data exceeds the bound by those. `None` without a rate limit. Costs nothing
    /// (arithmetic).
    pub fn pacing_burst(&self) -> Option<usize> {
        let cfg = self.config();
        let rate = cfg.rate_limit?;
        let parity = self.fec().map_or(0, |s| s.parity());
        Some(capacity(rate, cfg.mtu) + (1 + parity) * cfg.mtu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn pacer(rate: u32, now: u32) -> (Pacer, Kcp) {
        let c = Config {
            rate_limit: Some(rate),
            ..Config::default()
        };
        (Pacer::new(rate, &c.build().unwrap(), now), Kcp::new(1))
    }

    #[test]
    fn debt_is_paid_back_at_the_rate_and_the_wake_up_says_when() {
        let (mut p, mut kcp) = pacer(1000, u32::MAX - 5);
        // A full bucket of 2 datagrams (2,700 bytes), then 5,000 bytes sent.
        assert!(!p.before_flush(u32::MAX - 5, &mut kcp));
        assert_eq!(kcp.send_quota(), Some(2700));
        kcp.set_send_quota(Some(0));
        p.after_flush(&kcp, 5000);
        // 2,300 bytes of debt at 1 byte/ms: the wake-up is 2,301 ms away, past the wrap.
        let wake = p.wake(u32::MAX - 5).unwrap();
        assert_eq!(wake.wrapping_sub(u32::MAX - 5), 2301);
        assert!(!p.before_flush(wake.wrapping_sub(1), &mut kcp));
        assert_eq!(kcp.send_quota(), Some(0));
        assert!(p.before_flush(wake, &mut kcp));
        assert_eq!(kcp.send_quota(), Some(1));
        // Nothing waits once a flush leaves budget over.
        kcp.set_send_quota(Some(1));
        p.after_flush(&kcp, 0);
        assert_eq!(p.wake(wake), None);
    }

    #[test]
    fn idle_past_the_clock_reach_refills_the_bucket() {
        let (mut p, mut kcp) = pacer(1000, 0);
        p.after_flush(&kcp, u64::MAX);
        p.before_flush(0x8000_0010, &mut kcp);
        assert_eq!(kcp.send_quota(), Some(2700));
    }
}
