//! Two endpoints joined by two links on a virtual clock.

use super::Link;

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
    use super::super::LinkConfig;
    use super::*;

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
