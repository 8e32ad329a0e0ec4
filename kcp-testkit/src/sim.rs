//! A deterministic link simulator for protocol tests.
//!
//! Nothing here reads a clock, touches a socket or depends on a protocol crate: time is a
//! `u32` count of milliseconds that the caller passes in (it may start anywhere and wrap),
//! and every random decision comes from a seeded [`Rng`]. The same seed and the same calls
//! give the same deliveries, byte for byte, on every machine, so a failing case can be
//! replayed from its seed.
//!
//! - [`Link`] is one direction of a network path: it takes datagrams with
//!   [`send`](Link::send) and hands them back with [`poll`](Link::poll) once they are due,
//!   after delay, jitter, loss, duplication, reordering, a bandwidth limit and a queue
//!   limit configured by [`LinkConfig`].
//! - [`Pair`] joins two [`Endpoint`]s with two links and runs them on a virtual clock,
//!   jumping from event to event: use it when a test only needs "run these two peers over
//!   this path until done".
//!
//! ```
//! use kcp_testkit::sim::{Link, LinkConfig};
//!
//! let mut link = Link::new(LinkConfig::new().delay(30, 60).loss(0.1), 7);
//! link.send(1000, b"hello");
//! while let Some(t) = link.next_deadline() {
//!     let d = link.poll(t).expect("due at its deadline");
//!     assert_eq!(d, b"hello");
//!     assert!((1030..=1060).contains(&t));
//! }
//! ```

use std::collections::BinaryHeap;

/// A small, fast, seeded pseudo-random generator (SplitMix64).
///
/// Use it wherever a test needs reproducible randomness: the simulator draws every
/// decision from one, and tests can use their own for scenario generation. Not
/// cryptographic; the sequence for a seed never changes between releases.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniform value in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift maps 64 random bits onto 0..n with negligible bias.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform value in `lo..=hi` (`lo` when `hi <= lo`).
    pub fn range_u32(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// A uniform value in `lo..=hi` (`lo` when `hi <= lo`).
    pub fn range_usize(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (`p <= 0` never draws and is always false, `p >= 1` is
    /// always true).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.unit() < p
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.next_u64().to_le_bytes();
            rest.copy_from_slice(&bytes[..rest.len()]);
        }
    }

    /// `n` random bytes, for test payloads.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }

    /// An independent generator derived from this one (for giving each component its own
    /// stream without coupling their draws).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

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

/// One side of a simulated conversation, driven by [`Pair`].
///
/// Implement it for the protocol state machine under test (for KCP: `receive` calls
/// `input`, `tick` calls `update`, `next_tick` returns `check`). Each method gets the
/// virtual time and a `transmit` sink for datagrams to send to the other side.
pub trait Endpoint {
    /// A datagram from the other side arrived at `now`.
    fn receive(&mut self, now: u32, datagram: &[u8], transmit: &mut dyn FnMut(&[u8]));

    /// Time passed: run timers due at `now` and transmit whatever is ready.
    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8]));

    /// When this endpoint next wants [`tick`](Self::tick) to run (an absolute time that
    /// may wrap), or `None` if only an incoming datagram can give it work. A time at or
    /// before `now` means "as soon as possible"; [`Pair`] runs an endpoint at most once
    /// per millisecond, so returning `now` again cannot stall the clock.
    fn next_tick(&self, now: u32) -> Option<u32>;
}

/// Two endpoints joined by two [`Link`]s (`a_to_b` and `b_to_a`) on a virtual clock.
///
/// [`run_until`](Self::run_until) jumps straight to the next event (a datagram due, an
/// endpoint's `next_tick`), so idle periods cost nothing. The fields are public so tests
/// can inspect or reconfigure the endpoints and links between runs.
#[derive(Debug)]
pub struct Pair<A, B> {
    /// The first endpoint.
    pub a: A,
    /// The second endpoint.
    pub b: B,
    /// The path from `a` to `b`.
    pub a_to_b: Link,
    /// The path from `b` to `a`.
    pub b_to_a: Link,
    start: u32,
    /// Milliseconds since `start`.
    elapsed: u64,
    /// The last `elapsed` at which each endpoint ticked.
    a_ticked: Option<u64>,
    b_ticked: Option<u64>,
}

/// Which endpoint an event belongs to.
#[derive(Clone, Copy)]
enum Side {
    A,
    B,
}

impl<A: Endpoint, B: Endpoint> Pair<A, B> {
    /// Joins `a` and `b`; the virtual clock starts at `start` (any value, wrap included).
    pub fn new(a: A, b: B, a_to_b: Link, b_to_a: Link, start: u32) -> Self {
        Pair {
            a,
            b,
            a_to_b,
            b_to_a,
            start,
            elapsed: 0,
            a_ticked: None,
            b_ticked: None,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> u32 {
        self.start.wrapping_add(self.elapsed as u32)
    }

    /// Milliseconds of virtual time since the pair was created.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Turns an absolute time from an endpoint or link into elapsed milliseconds, never
    /// earlier than `floor`.
    fn to_elapsed(&self, t: u32, floor: u64) -> u64 {
        let ahead = t.wrapping_sub(self.now()) as i32;
        if ahead <= 0 {
            floor.max(self.elapsed)
        } else {
            (self.elapsed + ahead as u64).max(floor)
        }
    }

    fn endpoint_due(&self, side: Side) -> Option<u64> {
        let (next, ticked) = match side {
            Side::A => (self.a.next_tick(self.now()), self.a_ticked),
            Side::B => (self.b.next_tick(self.now()), self.b_ticked),
        };
        let floor = ticked.map_or(0, |t| t + 1);
        next.map(|t| self.to_elapsed(t, floor))
    }

    /// The elapsed time of the next event, if any.
    fn next_event(&self) -> Option<u64> {
        let links = [&self.a_to_b, &self.b_to_a]
            .into_iter()
            .filter_map(|l| l.next_deadline().map(|t| self.to_elapsed(t, 0)));
        let ends = [Side::A, Side::B]
            .into_iter()
            .filter_map(|s| self.endpoint_due(s));
        links.chain(ends).min()
    }

    /// Runs everything due at the current time: deliveries first, then endpoint ticks.
    fn run_now(&mut self) {
        let now = self.now();
        // Zero-delay links can make new datagrams due immediately; keep delivering.
        loop {
            let mut progressed = false;
            while let Some(d) = self.a_to_b.poll(now) {
                let link = &mut self.b_to_a;
                self.b.receive(now, &d, &mut |out| link.send(now, out));
                progressed = true;
            }
            while let Some(d) = self.b_to_a.poll(now) {
                let link = &mut self.a_to_b;
                self.a.receive(now, &d, &mut |out| link.send(now, out));
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if self
            .endpoint_due(Side::A)
            .is_some_and(|t| t <= self.elapsed)
        {
            self.a_ticked = Some(self.elapsed);
            let link = &mut self.a_to_b;
            self.a.tick(now, &mut |out| link.send(now, out));
        }
        if self
            .endpoint_due(Side::B)
            .is_some_and(|t| t <= self.elapsed)
        {
            self.b_ticked = Some(self.elapsed);
            let link = &mut self.b_to_a;
            self.b.tick(now, &mut |out| link.send(now, out));
        }
    }

    /// Runs the simulation until `done(&mut a, &mut b)` returns true (checked after every
    /// event) or `limit_ms` of virtual time have passed since this call. Returns whether
    /// `done` was reached; on `false` the clock stands at the limit.
    pub fn run_until(
        &mut self,
        limit_ms: u64,
        mut done: impl FnMut(&mut A, &mut B) -> bool,
    ) -> bool {
        let end = self.elapsed + limit_ms;
        loop {
            self.run_now();
            if done(&mut self.a, &mut self.b) {
                return true;
            }
            match self.next_event() {
                Some(t) if t <= end => self.elapsed = t,
                _ => {
                    self.elapsed = end;
                    self.run_now();
                    return done(&mut self.a, &mut self.b);
                }
            }
        }
    }

    /// Runs for exactly `ms` milliseconds of virtual time, event by event.
    pub fn run_for(&mut self, ms: u64) {
        self.run_until(ms, |_, _| false);
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
    fn rng_is_reproducible_and_ranged() {
        let mut a = Rng::new(99);
        let mut b = Rng::new(99);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let v = a.range_u32(3, 9);
            assert_eq!(v, b.range_u32(3, 9));
            assert!((3..=9).contains(&v));
        }
        let mut buf = [0u8; 13];
        a.fill(&mut buf);
        assert_ne!(buf, [0u8; 13]);
        assert_eq!(a.range_u32(5, 5), 5);
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
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

    /// Sends `count` numbered datagrams, one per `period` ms, and counts echoes.
    struct Pinger {
        period: u32,
        next_at: u32,
        sent: u32,
        count: u32,
        echoes: Vec<u32>,
    }

    impl Endpoint for Pinger {
        fn receive(&mut self, _now: u32, d: &[u8], _tx: &mut dyn FnMut(&[u8])) {
            self.echoes.push(u32::from_le_bytes(d.try_into().unwrap()));
        }
        fn tick(&mut self, now: u32, tx: &mut dyn FnMut(&[u8])) {
            while self.sent < self.count && now.wrapping_sub(self.next_at) as i32 >= 0 {
                tx(&self.sent.to_le_bytes());
                self.sent += 1;
                self.next_at = self.next_at.wrapping_add(self.period);
            }
        }
        fn next_tick(&self, _now: u32) -> Option<u32> {
            (self.sent < self.count).then_some(self.next_at)
        }
    }

    /// Echoes every datagram back.
    struct Echo;

    impl Endpoint for Echo {
        fn receive(&mut self, _now: u32, d: &[u8], tx: &mut dyn FnMut(&[u8])) {
            tx(d);
        }
        fn tick(&mut self, _now: u32, _tx: &mut dyn FnMut(&[u8])) {}
        fn next_tick(&self, _now: u32) -> Option<u32> {
            None
        }
    }

    #[test]
    fn pair_runs_event_by_event_across_wrap() {
        let start = u32::MAX - 1_000;
        let a = Pinger {
            period: 20,
            next_at: start,
            sent: 0,
            count: 100,
            echoes: Vec::new(),
        };
        let link = || Link::new(LinkConfig::new().delay(25, 25), 9);
        let mut pair = Pair::new(a, Echo, link(), link(), start);
        let done = pair.run_until(60_000, |a, _| a.echoes.len() == 100);
        assert!(done);
        // The last ping leaves at 99 * 20 ms and returns 50 ms later.
        assert_eq!(pair.elapsed(), 99 * 20 + 50);
        assert_eq!(pair.a.echoes, (0..100).collect::<Vec<_>>());
        assert_eq!(pair.now(), start.wrapping_add(2030));
    }

    #[test]
    fn pair_gives_up_at_the_limit() {
        let a = Pinger {
            period: 10,
            next_at: 0,
            sent: 0,
            count: 10,
            echoes: Vec::new(),
        };
        let lossy = Link::new(LinkConfig::new().loss(1.0), 10);
        let mut pair = Pair::new(a, Echo, lossy, Link::new(LinkConfig::new(), 11), 0);
        assert!(!pair.run_until(5_000, |a, _| !a.echoes.is_empty()));
        assert_eq!(pair.elapsed(), 5_000);
        assert_eq!(pair.a_to_b.stats().lost, 10);
    }
}
