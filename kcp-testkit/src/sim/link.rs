//! One direction of a simulated path: delay, jitter, loss (random or bursty), duplication,
//! reordering, a bandwidth cap with a tail-drop buffer, and a queue limit.

use std::collections::BinaryHeap;

use super::Rng;

/// How one direction of a simulated path treats datagrams.
///
/// The default is a perfect link: no delay, no loss, unlimited bandwidth. Build other
/// links with the chained setters, for example
/// `LinkConfig::new().delay(30, 60).loss(0.05).duplicate(0.01).reorder(0.02, 100)`.
///
/// Per datagram, in this order: the queue limit may drop it; [`loss`](Self::loss) (or the
/// bursty [`burst_loss`](Self::burst_loss) model) may drop it; the bandwidth limit
/// serialises it behind earlier datagrams, or drops it when more than
/// [`buffer`](Self::buffer) bytes already wait for the transmitter; it then travels
/// for a delay drawn uniformly from `delay_min..=delay_max`. Without reordering the link
/// is FIFO (a datagram is never delivered before one sent earlier, so jitter delays the
/// queue rather than shuffling it); a datagram picked for reordering skips that rule and
/// gets up to `reorder_extra` more milliseconds, so later datagrams overtake it. A
/// duplicated datagram is followed by an extra copy that travels independently.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Smallest one-way delay in milliseconds.
    pub delay_min: u32,
    /// Largest one-way delay in milliseconds (`delay_max - delay_min` is the jitter).
    pub delay_max: u32,
    /// Probability that a datagram is lost (0.0 to 1.0).
    pub loss: f64,
    /// Probability that a delivered datagram is also delivered a second time.
    pub duplicate: f64,
    /// Probability that a datagram is taken out of FIFO order.
    pub reorder: f64,
    /// Largest extra delay (ms) of a reordered datagram.
    pub reorder_extra: u32,
    /// Bandwidth limit in bytes per second (`None`: unlimited).
    pub bandwidth: Option<u64>,
    /// Most datagrams the link holds at once; more are dropped (`None`: unlimited).
    pub queue_limit: Option<usize>,
    /// Bursty loss: a Gilbert-Elliott chain that replaces [`loss`](Self::loss) when set.
    pub burst_loss: Option<GilbertElliott>,
    /// Bytes that may wait for the transmitter when the bandwidth is limited (a router's
    /// tail-drop buffer); a datagram that would make the backlog larger is dropped.
    /// Datagrams already on their way (in the propagation delay) do not count. `None`:
    /// unlimited.
    pub buffer: Option<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            delay_min: 0,
            delay_max: 0,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_extra: 0,
            bandwidth: None,
            queue_limit: None,
            burst_loss: None,
            buffer: None,
        }
    }
}

impl LinkConfig {
    /// A perfect link (same as `default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// One-way delay drawn uniformly from `min..=max` milliseconds.
    pub fn delay(mut self, min: u32, max: u32) -> Self {
        self.delay_min = min;
        self.delay_max = max.max(min);
        self
    }

    /// Loss probability.
    pub fn loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// Duplication probability.
    pub fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Reordering probability and the largest extra delay of a reordered datagram.
    pub fn reorder(mut self, p: f64, extra_ms: u32) -> Self {
        self.reorder = p;
        self.reorder_extra = extra_ms;
        self
    }

    /// Bandwidth limit in bytes per second.
    pub fn bandwidth(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth = Some(bytes_per_sec);
        self
    }

    /// Largest number of datagrams held by the link at once.
    pub fn queue_limit(mut self, datagrams: usize) -> Self {
        self.queue_limit = Some(datagrams);
        self
    }

    /// Bursty loss from a Gilbert-Elliott chain instead of independent loss.
    pub fn burst_loss(mut self, model: GilbertElliott) -> Self {
        self.burst_loss = Some(model);
        self
    }

    /// Largest backlog in bytes waiting for the transmitter (with a bandwidth limit).
    pub fn buffer(mut self, bytes: u64) -> Self {
        self.buffer = Some(bytes);
        self
    }

    /// This link for a driver on a real clock read in whole milliseconds (the network
    /// emulator, the UDP relay): a datagram that arrives during millisecond `k` is stamped
    /// `k`, so delivering at `k + delay + 1` holds it for at least the configured delay and
    /// less than one millisecond more.
    pub fn on_wall_clock(mut self) -> Self {
        self.delay_min = self.delay_min.saturating_add(1);
        self.delay_max = self.delay_max.saturating_add(1);
        self
    }

    /// The long-run fraction of datagrams the loss model drops (the queue and buffer
    /// limits aside).
    pub fn mean_loss(&self) -> f64 {
        match &self.burst_loss {
            Some(ge) => ge.mean_loss(),
            None => self.loss.clamp(0.0, 1.0),
        }
    }
}

/// Bursty loss: a two-state Markov chain (Gilbert-Elliott). In the good state a datagram
/// is lost with probability `loss_good`, in the bad state with `loss_bad`; after each
/// datagram the chain moves from good to bad with probability `p` and from bad to good
/// with probability `r`.
///
/// Use [`GilbertElliott::bursts`] for the common case (nothing lost in the good state,
/// everything in the bad one), described by its mean loss and mean burst length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state after a datagram.
    pub p: f64,
    /// Probability of moving from the bad to the good state after a datagram.
    pub r: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

impl GilbertElliott {
    /// Losses in bursts: on average a fraction `mean_loss` of datagrams is lost, in runs
    /// of `mean_burst` datagrams on average (geometrically distributed), nothing between
    /// them. `mean_loss` is clamped to `0..1` and `mean_burst` to at least 1.
    pub fn bursts(mean_loss: f64, mean_burst: f64) -> Self {
        let m = mean_loss.clamp(0.0, 0.999_999);
        let r = 1.0 / mean_burst.max(1.0);
        GilbertElliott {
            p: m * r / (1.0 - m),
            r,
            loss_good: 0.0,
            loss_bad: 1.0,
        }
    }

    /// The stationary fraction of datagrams lost.
    pub fn mean_loss(&self) -> f64 {
        if self.p + self.r <= 0.0 {
            return self.loss_good;
        }
        let bad = self.p / (self.p + self.r);
        bad * self.loss_bad + (1.0 - bad) * self.loss_good
    }
}

/// What a [`Link`] did with the datagrams it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams passed to [`Link::send`].
    pub sent: u64,
    /// Bytes passed to [`Link::send`] (what the sender put on the wire).
    pub sent_bytes: u64,
    /// Dropped by the loss model.
    pub lost: u64,
    /// Dropped because the queue limit or the buffer was full.
    pub overflowed: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Datagrams taken out of FIFO order.
    pub reordered: u64,
    /// Datagrams handed out by [`Link::poll`] (copies included).
    pub delivered: u64,
    /// Bytes handed out by [`Link::poll`].
    pub delivered_bytes: u64,
}

/// One direction of a simulated network path.
///
/// Feed it with [`send`](Self::send) and empty it with [`poll`](Self::poll), passing the
/// current virtual time to both. Times must not go backwards (a time earlier than the
/// latest one seen is treated as that latest time). Internally time is kept as a 64-bit
/// count since the first call, so a `u32` clock may wrap freely.
///
/// A link carries datagrams as `Vec<u8>`; [`Link::carrying`] makes one whose datagrams
/// are another type that knows its bytes (for example bytes tagged with their route, as
/// the UDP relay does), sized by [`AsRef<[u8]>`].
#[derive(Debug)]
pub struct Link<T = Vec<u8>> {
    cfg: LinkConfig,
    rng: Rng,
    /// The latest `now` seen, and the same instant on the internal 64-bit scale.
    last_now: Option<u32>,
    elapsed: u64,
    /// Datagrams by due time on the internal scale, then arrival order.
    queue: BinaryHeap<Queued<T>>,
    counter: u64,
    /// The due time of the latest FIFO packet: later FIFO packets are not due before it.
    fifo_due: u64,
    /// When the transmitter is free again, in microseconds on the internal scale.
    busy_until_us: u64,
    /// The Gilbert-Elliott chain is in its bad state.
    bad: bool,
    stats: LinkStats,
}

/// A datagram in a [`Link`], ordered earliest due first, then in send order (the payload
/// never takes part in the ordering).
#[derive(Debug)]
struct Queued<T> {
    due: u64,
    id: u64,
    datagram: T,
}

impl<T> PartialEq for Queued<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.id) == (other.due, other.id)
    }
}
impl<T> Eq for Queued<T> {}
impl<T> PartialOrd for Queued<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Queued<T> {
    // Reversed: BinaryHeap is a max-heap and the earliest must come first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.id).cmp(&(self.due, self.id))
    }
}

impl Link {
    /// A link with configuration `cfg` whose random decisions are drawn from `seed`.
    pub fn new(cfg: LinkConfig, seed: u64) -> Self {
        Link::carrying(cfg, seed)
    }
}

impl<T: AsRef<[u8]> + Clone> Link<T> {
    /// A link of datagrams of type `T` (see [`Link`]), with configuration `cfg` and random
    /// decisions drawn from `seed`.
    pub fn carrying(cfg: LinkConfig, seed: u64) -> Self {
        Link {
            cfg,
            rng: Rng::new(seed),
            last_now: None,
            elapsed: 0,
            queue: BinaryHeap::new(),
            counter: 0,
            fifo_due: 0,
            busy_until_us: 0,
            bad: false,
            stats: LinkStats::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// Changes the configuration from now on (datagrams already in flight keep their
    /// schedule): for tests that degrade or heal a path midway.
    pub fn set_config(&mut self, cfg: LinkConfig) {
        self.cfg = cfg;
    }

    /// Counters of what happened so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Datagrams held by the link (sent, not lost, not yet polled).
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Moves the internal clock to `now` and returns it on the internal scale.
    fn advance(&mut self, now: u32) -> u64 {
        match self.last_now {
            None => self.last_now = Some(now),
            Some(last) => {
                let step = now.wrapping_sub(last) as i32;
                if step > 0 {
                    self.elapsed += step as u64;
                    self.last_now = Some(now);
                }
            }
        }
        self.elapsed
    }

    fn to_external(&self, t: u64) -> u32 {
        let base = self.last_now.unwrap_or(0);
        base.wrapping_add((t as i64 - self.elapsed as i64) as u32)
    }

    /// Hands a datagram to the link at time `now`. It may be dropped (loss, queue limit),
    /// delayed, duplicated or reordered as configured.
    pub fn send(&mut self, now: u32, datagram: impl Into<T>) {
        let datagram = datagram.into();
        let len = datagram.as_ref().len() as u64;
        let t = self.advance(now);
        self.stats.sent += 1;
        self.stats.sent_bytes += len;
        if self
            .cfg
            .queue_limit
            .is_some_and(|limit| self.queue.len() >= limit)
        {
            self.stats.overflowed += 1;
            return;
        }
        if self.lose() {
            self.stats.lost += 1;
            return;
        }
        // Serialisation behind earlier datagrams when the bandwidth is limited.
        let departure = match self.cfg.bandwidth {
            Some(bw) if bw > 0 => {
                let now_us = t * 1000;
                if let Some(limit) = self.cfg.buffer {
                    let backlog = (self.busy_until_us.saturating_sub(now_us) * bw) / 1_000_000;
                    if backlog + len > limit {
                        self.stats.overflowed += 1;
                        return;
                    }
                }
                let start = self.busy_until_us.max(now_us);
                let tx_us = (len * 1_000_000).div_ceil(bw);
                self.busy_until_us = start + tx_us;
                self.busy_until_us.div_ceil(1000)
            }
            _ => t,
        };
        let duplicate = self.rng.chance(self.cfg.duplicate);
        if duplicate {
            self.stats.duplicated += 1;
            let copy = datagram.clone();
            self.schedule(departure, copy);
        }
        self.schedule(departure, datagram);
    }

    /// Draws the loss decision for one datagram from the configured model.
    fn lose(&mut self) -> bool {
        let Some(ge) = self.cfg.burst_loss else {
            return self.rng.chance(self.cfg.loss);
        };
        let lost = self
            .rng
            .chance(if self.bad { ge.loss_bad } else { ge.loss_good });
        let flip = if self.bad { ge.r } else { ge.p };
        if self.rng.chance(flip) {
            self.bad = !self.bad;
        }
        lost
    }

    fn schedule(&mut self, departure: u64, datagram: T) {
        let delay = self.rng.range_u32(self.cfg.delay_min, self.cfg.delay_max);
        let mut due = departure + u64::from(delay);
        if self.rng.chance(self.cfg.reorder) {
            self.stats.reordered += 1;
            due += u64::from(self.rng.range_u32(0, self.cfg.reorder_extra));
        } else {
            due = due.max(self.fifo_due);
            self.fifo_due = due;
        }
        let id = self.counter;
        self.counter += 1;
        self.queue.push(Queued { due, id, datagram });
    }

    /// The earliest time at which [`poll`](Self::poll) returns a datagram, or `None` when
    /// the link is empty.
    pub fn next_deadline(&self) -> Option<u32> {
        self.queue.peek().map(|q| self.to_external(q.due))
    }

    /// The next datagram due at or before `now`, in due-time order (ties in send order),
    /// or `None` if nothing is due yet.
    pub fn poll(&mut self, now: u32) -> Option<T> {
        let t = self.advance(now);
        if self.queue.peek()?.due > t {
            return None;
        }
        let datagram = self.queue.pop()?.datagram;
        self.stats.delivered += 1;
        self.stats.delivered_bytes += datagram.as_ref().len() as u64;
        Some(datagram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(link: &mut Link) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(t) = link.next_deadline() {
            out.push((t, link.poll(t).expect("due at its deadline")));
        }
        out
    }

    #[test]
    fn loss_rate_stays_near_configuration() {
        let mut link = Link::new(LinkConfig::new().loss(0.1), 1);
        for i in 0..100_000u32 {
            link.send(i, vec![0u8; 8]);
        }
        let lost = link.stats().lost;
        assert!((9_500..=10_500).contains(&lost), "lost {lost} of 100000");
        assert_eq!(drain(&mut link).len() as u64, 100_000 - lost);
    }

    #[test]
    fn duplicates_are_extra_copies() {
        let mut link = Link::new(LinkConfig::new().duplicate(0.2).delay(5, 10), 2);
        for i in 0..10_000u32 {
            link.send(i, i.to_le_bytes().to_vec());
        }
        let dup = link.stats().duplicated;
        assert!((1_800..=2_200).contains(&dup), "duplicated {dup}");
        let got = drain(&mut link);
        assert_eq!(got.len() as u64, 10_000 + dup);
        let mut ids: Vec<u32> = got
            .iter()
            .map(|(_, d)| u32::from_le_bytes(d[..4].try_into().unwrap()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn jitter_without_reordering_keeps_fifo_order() {
        let mut link = Link::new(LinkConfig::new().delay(10, 200), 3);
        for i in 0..2_000u32 {
            link.send(i / 4, i.to_le_bytes().to_vec());
        }
        let got = drain(&mut link);
        assert_eq!(got.len(), 2_000);
        for (i, (t, d)) in got.iter().enumerate() {
            assert_eq!(u32::from_le_bytes(d[..4].try_into().unwrap()), i as u32);
            assert!(*t >= i as u32 / 4 + 10);
        }
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn delay_stays_within_bounds() {
        let mut link = Link::new(LinkConfig::new().delay(30, 61).reorder(1.0, 0), 4);
        let mut seen = [false; 32];
        for i in 0..1_000u32 {
            link.send(i * 1000, vec![1]);
            let t = link.next_deadline().unwrap();
            let delay = t - i * 1000;
            assert!((30..=61).contains(&delay), "delay {delay}");
            seen[(delay - 30) as usize] = true;
            assert_eq!(link.poll(t - 1), None);
            assert!(link.poll(t).is_some());
        }
        assert!(seen.iter().all(|&s| s), "every delay in range occurs");
    }

    #[test]
    fn reordering_lets_later_datagrams_overtake() {
        let mut link = Link::new(LinkConfig::new().delay(20, 20).reorder(0.1, 100), 5);
        for i in 0..1_000u32 {
            link.send(i, i.to_le_bytes().to_vec());
        }
        let reordered = link.stats().reordered;
        assert!((50..=150).contains(&reordered), "reordered {reordered}");
        let got = drain(&mut link);
        let ids: Vec<u32> = got
            .iter()
            .map(|(_, d)| u32::from_le_bytes(d[..4].try_into().unwrap()))
            .collect();
        let inversions = ids.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions > 20, "only {inversions} inversions");
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn bandwidth_serialises_datagrams() {
        // 100 datagrams of 1000 bytes at 10 kB/s: one every 100 ms.
        let mut link = Link::new(LinkConfig::new().bandwidth(10_000).delay(5, 5), 6);
        for _ in 0..100 {
            link.send(0, vec![0u8; 1000]);
        }
        let got = drain(&mut link);
        assert_eq!(got.len(), 100);
        for (i, (t, _)) in got.iter().enumerate() {
            assert_eq!(*t, (i as u32 + 1) * 100 + 5);
        }
        // An idle transmitter does not bank credit.
        link.send(100_000, vec![0u8; 500]);
        assert_eq!(link.next_deadline(), Some(100_055));
    }

    #[test]
    fn queue_limit_drops_excess() {
        let mut link = Link::new(LinkConfig::new().delay(50, 50).queue_limit(10), 7);
        for _ in 0..25 {
            link.send(0, vec![0u8; 10]);
        }
        assert_eq!(link.in_flight(), 10);
        assert_eq!(link.stats().overflowed, 15);
        assert_eq!(link.poll(49), None);
        assert_eq!(drain(&mut link).len(), 10);
        link.send(60, vec![1]);
        assert_eq!(link.in_flight(), 1);
    }

    #[test]
    fn gilbert_elliott_loses_in_bursts_at_the_asked_mean() {
        let ge = GilbertElliott::bursts(0.1, 4.0);
        assert!((ge.mean_loss() - 0.1).abs() < 1e-12);
        let cfg = LinkConfig::new().burst_loss(ge);
        assert!((cfg.mean_loss() - 0.1).abs() < 1e-12);
        let mut link = Link::new(cfg, 12);
        let n = 200_000u32;
        for i in 0..n {
            link.send(i, i.to_le_bytes().to_vec());
        }
        let lost = link.stats().lost;
        // Bursts make the count vary far more than independent loss would: the bound is
        // several standard deviations of the burst count (about 5,000 bursts here).
        assert!((18_000..=22_000).contains(&lost), "lost {lost} of {n}");
        let got: Vec<u32> = drain(&mut link)
            .iter()
            .map(|(_, d)| u32::from_le_bytes(d[..4].try_into().unwrap()))
            .collect();
        assert_eq!(got.len() as u64, u64::from(n) - lost);
        let bursts = got.windows(2).filter(|w| w[1] != w[0] + 1).count() as f64;
        let mean_burst = lost as f64 / bursts;
        assert!((3.6..=4.4).contains(&mean_burst), "mean burst {mean_burst}");
        // Independent loss at the same mean gives bursts of about 1.1.
        let mut flat = Link::new(LinkConfig::new().loss(0.1), 12);
        for i in 0..n {
            flat.send(i, i.to_le_bytes().to_vec());
        }
        let got: Vec<u32> = drain(&mut flat)
            .iter()
            .map(|(_, d)| u32::from_le_bytes(d[..4].try_into().unwrap()))
            .collect();
        let bursts = got.windows(2).filter(|w| w[1] != w[0] + 1).count() as f64;
        assert!(flat.stats().lost as f64 / bursts < 1.2);
    }

    #[test]
    fn buffer_bounds_the_backlog_behind_the_transmitter() {
        // 10 kB/s and a 3,000-byte buffer: of a burst of 10 datagrams of 1,000 bytes, the
        // first three fit; later ones get in as the backlog drains.
        let mut link = Link::new(LinkConfig::new().bandwidth(10_000).buffer(3_000), 13);
        for _ in 0..10 {
            link.send(0, vec![0u8; 1000]);
        }
        assert_eq!(link.stats().overflowed, 7);
        assert_eq!(link.stats().sent_bytes, 10_000);
        link.send(100, vec![0u8; 1000]);
        assert_eq!(link.stats().overflowed, 7, "100 ms drained one datagram");
        link.send(100, vec![0u8; 1000]);
        assert_eq!(link.stats().overflowed, 8);
        // Datagrams in the propagation delay do not count against the buffer.
        let mut long = Link::new(
            LinkConfig::new()
                .bandwidth(1_000_000)
                .buffer(3_000)
                .delay(500, 500),
            14,
        );
        for t in 0..100 {
            long.send(t * 2, vec![0u8; 1000]);
        }
        assert_eq!(long.stats().overflowed, 0);
        assert_eq!(long.in_flight(), 100);
    }

    #[test]
    fn clock_may_wrap() {
        let start = u32::MAX - 5;
        let mut link = Link::new(LinkConfig::new().delay(10, 10), 8);
        link.send(start, vec![1]);
        assert_eq!(link.next_deadline(), Some(4));
        assert_eq!(link.poll(start.wrapping_add(9)), None);
        assert_eq!(link.poll(4), Some(vec![1]));
    }

    #[test]
    fn same_seed_same_schedule() {
        let cfg = LinkConfig::new()
            .delay(10, 90)
            .loss(0.2)
            .duplicate(0.1)
            .reorder(0.1, 50)
            .bandwidth(100_000);
        let run = |seed| {
            let mut link = Link::new(cfg.clone(), seed);
            for i in 0..500u32 {
                link.send(i * 3, i.to_le_bytes().to_vec());
            }
            drain(&mut link)
        };
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
    }
}
