//! The congestion controller of [`Congestion::Bbr`](crate::Congestion::Bbr): BBR's model of
//! the path (a windowed maximum of the delivery rate and a windowed minimum of the round
//! trip) measured from KCP's acknowledgements, driving the session's pacer and the cap on
//! segments in flight ([`Kcp::set_inflight_cap`]). Sans-io, on the session's clock.
//!
//! KCP acknowledges every segment, so the count of segments delivered
//! ([`Stats::delivered_segs`](kcp_core::Stats::delivered_segs)) moves with each
//! acknowledgement, selective or cumulative. Sending happens only in polls, so the
//! controller notes, after each poll that sent new segments, how many had been sent in all
//! and what had been delivered by then (BBR's per-packet state, per poll). When the count
//! delivered reaches a note's count sent, the segments of that poll are (about) delivered:
//! the data delivered since, over the time since, is a delivery-rate sample, and the time
//! since the poll a round-trip sample. A lost segment holds no sample back (later segments
//! count in its place), so random loss neither stalls the samples nor lowers the rate.
//!
//! The phases are BBR's: startup doubles the rate every round until the bandwidth stops
//! growing, drain empties the queue startup built, probe-bandwidth cycles the gain around
//! 1 (1.25 for a round trip, 0.75 for one, then 1 for six) and probe-RTT keeps four
//! segments in flight for 200 ms when the minimum round trip was not seen for 10 s, so
//! that flows sharing a bottleneck see its empty queue. Pacing runs 1% under the estimate,
//! as Linux's BBR does.
//!
//! Loss is not a signal (KCP's users have lossy links); a queue is. The in-flight cap of
//! twice the bandwidth-delay product bounds the queue; the cap counts segments sent and
//! not yet acknowledged, not the span from `snd_una` that ikcp's windows count, so a hole
//! waiting for its retransmission does not stall the flow. Two additions to BBR, both
//! driven by the round trip, which random loss does not move: startup also ends when the
//! bandwidth stalls for a round while every round trip of that round shows a queue (a
//! tail-drop queue of one bandwidth-delay product overflows before BBR's three rounds
//! pass), and after startup a round whose every round trip shows a queue cuts the
//! estimate by 10%, at most to what that round delivered (see `yield_to_queue`): this
//! is what makes two flows converge to equal shares, and follows a path whose rate
//! drops. And one for KCP's peers, which acknowledge at their flush interval: the flight
//! covers at least twice the interval's worth and a round lasts at least the interval, so
//! a path much shorter than the interval (loopback, a LAN) is neither starved between
//! batches of acknowledgements nor measured in rounds too short for the millisecond
//! clock.

use alloc::collections::VecDeque;

use kcp_core::Kcp;

/// Gains in thousandths.
const STARTUP_GAIN: u64 = 2885;
const DRAIN_GAIN: u64 = 347;
const CWND_GAIN: u64 = 2000;
const UNIT: u64 = 1000;
/// Pacing runs 1% under the estimate, as Linux's BBR does: the estimate's errors (a burst
/// of acknowledgements, the clock's millisecond) lean high, and at exactly the estimate
/// a queue that forms never drains.
const PACING_MARGIN: u64 = 990;
/// Probe-bandwidth's pacing gains, one round trip each.
const CYCLE: [u64; 8] = [1250, 750, 1000, 1000, 1000, 1000, 1000, 1000];
/// Rounds over which the bandwidth's maximum is kept.
const BW_ROUNDS: u64 = 10;
/// How long a minimum round trip is trusted before probe-RTT looks again (ms).
const MIN_RTT_WINDOW: u32 = 10_000;
/// How long probe-RTT keeps the flight small (ms).
const PROBE_RTT_MS: u32 = 200;
/// The fewest segments the cap allows in flight.
const MIN_FLIGHT: u64 = 4;
/// The flight before the first estimate (ikcp's default send window).
const INITIAL_FLIGHT: u64 = 32;
/// The round trip assumed before the first sample (ms).
const INITIAL_RTT: u64 = 100;
/// Notes kept of polls whose segments are not yet delivered: past this, older notes are
/// dropped (their samples are lost, nothing else).
const MAX_NOTES: usize = 1024;

/// What was sent and delivered when a poll sent new segments.
#[derive(Clone, Copy, Debug)]
struct Note {
    /// Segments sent in all, this poll's included.
    sent: u64,
    sent_at: u32,
    delivered_segs: u64,
    delivered_bytes: u64,
    /// When the delivered count last grew before this poll.
    delivered_at: u32,
    /// When the poll whose delivery was last seen had sent.
    first_sent_at: u32,
    /// Nothing more was waiting to be sent, or the peer's window held it back: a
    /// sample from this poll says what the application or the peer allowed, not what
    /// the path carries.
    app_limited: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Startup,
    Drain,
    ProbeBw { index: usize, since: u32 },
    ProbeRtt { until: Option<u32> },
}

/// The controller of one session.
#[derive(Debug)]
pub(super) struct Controller {
    phase: Phase,
    /// Payload bytes per full segment, and wire bytes per full datagram.
    mss: u64,
    mtu: u64,
    /// How long the peer may hold an acknowledgement (ms): KCP's flush interval, which
    /// kcp-go without `ack_nodelay` waits for before acknowledging.
    ack_delay: u64,
    /// `snd_nxt` at the last look, and segments admitted into flight since the start.
    snd_nxt: u32,
    admitted: u64,
    /// Segments sent (first transmissions) since the start.
    sent: u64,
    /// KCP's counters at the start, so that only this controller's count.
    base_segs: u64,
    base_bytes: u64,
    base_sends: u64,
    delivered_segs: u64,
    delivered_at: u32,
    first_sent_at: u32,
    notes: VecDeque<Note>,
    /// The application or the peer's window held sending back until this many segments
    /// are delivered (BBR's app-limited bubble): samples from polls until then do not
    /// lower the estimate.
    app_limited_until: Option<u64>,
    /// Round counting: a round ends when a segment sent after it began is delivered.
    round: u64,
    next_round: u64,
    /// When the current round began.
    round_at: u32,
    /// The best delivery rate (payload bytes/s) of each recent round: (round, rate).
    bw_samples: VecDeque<(u64, u64)>,
    /// Minimum round trip (ms) and when it was seen; `None` before the first sample.
    min_rtt: Option<(u32, u32)>,
    /// Startup's check for a full pipe: the bandwidth to beat by 25%, and the rounds it
    /// was not beaten.
    full_bw: u64,
    full_rounds: u32,
    /// The smallest round trip sampled in the current round (ms).
    round_rtt: Option<u32>,
    /// Startup found the pipe full: the bandwidth stopped growing, or the round trip
    /// grew (a queue formed).
    filled: bool,
    /// The minimum round trip expired (not seen again for 10 s): probe-RTT is due.
    probe_rtt_due: bool,
    /// The phase of probe-bandwidth to start at (BBR starts at a random one).
    start_index: usize,
    /// The rate last given to the pacer.
    rate: u32,
}

impl Controller {
    /// A controller for `kcp` at `now`; `seed` picks where the gain cycle starts, so that
    /// flows started together do not probe in step.
    pub(super) fn new(kcp: &Kcp, mtu: usize, now: u32, seed: u32) -> Controller {
        let stats = kcp.stats();
        // Any phase but the one that drains (index 1).
        let start = (seed as usize) % (CYCLE.len() - 1);
        let mut c = Controller {
            phase: Phase::Startup,
            mss: kcp.mss() as u64,
            mtu: mtu as u64,
            ack_delay: u64::from(kcp.interval()),
            snd_nxt: kcp.snd_nxt(),
            admitted: 0,
            sent: 0,
            base_segs: stats.delivered_segs,
            base_bytes: stats.delivered_bytes,
            base_sends: stats.first_sends,
            delivered_segs: 0,
            delivered_at: now,
            first_sent_at: now,
            notes: VecDeque::new(),
            app_limited_until: None,
            round: 0,
            next_round: 0,
            round_at: now,
            bw_samples: VecDeque::new(),
            min_rtt: None,
            full_bw: 0,
            full_rounds: 0,
            round_rtt: None,
            filled: false,
            probe_rtt_due: false,
            start_index: if start == 0 { 0 } else { start + 1 },
            rate: 0,
        };
        c.rate = c.pacing_rate();
        c
    }

    /// The pacing rate, bytes/s on the wire, for the pacer.
    pub(super) fn rate(&self) -> u32 {
        self.rate
    }

    /// The windowed maximum delivery rate, payload bytes/s (0 before any sample).
    fn btlbw(&self) -> u64 {
        self.bw_samples.iter().map(|s| s.1).max().unwrap_or(0)
    }

    fn rtt(&self) -> u64 {
        self.min_rtt
            .map_or(INITIAL_RTT, |(r, _)| u64::from(r.max(1)))
    }

    /// The bandwidth-delay product in segments, or `None` before the first estimate.
    fn bdp(&self) -> Option<u64> {
        self.segments_in(self.rtt())
    }

    /// The segments the bottleneck bandwidth carries in `ms`, or `None` before the first
    /// estimate.
    fn segments_in(&self, ms: u64) -> Option<u64> {
        let bw = self.btlbw();
        (bw > 0).then(|| bw.saturating_mul(ms).div_ceil(1000 * self.mss.max(1)))
    }

    /// How far above the minimum a round trip must be to show a queue (ms).
    fn queue_margin(min_rtt: u32) -> u32 {
        (min_rtt / 4).max(10)
    }

    fn pacing_gain(&self) -> u64 {
        match self.phase {
            Phase::Startup => STARTUP_GAIN,
            Phase::Drain => DRAIN_GAIN,
            Phase::ProbeBw { index, .. } => CYCLE[index],
            Phase::ProbeRtt { .. } => UNIT,
        }
    }

    fn pacing_rate(&self) -> u32 {
        let bw = match self.btlbw() {
            // Before the first sample: the initial flight per assumed round trip.
            0 => INITIAL_FLIGHT * self.mss * 1000 / self.rtt(),
            bw => bw,
        };
        // Payload rate to wire rate: a full datagram carries `mss` payload bytes.
        let gain = self.pacing_gain() * PACING_MARGIN / UNIT;
        let wire = (bw.saturating_mul(gain) / UNIT).saturating_mul(self.mtu) / self.mss.max(1);
        // At least two datagrams per round trip, so that the flow can always measure.
        let floor = 2 * self.mtu * 1000 / self.rtt();
        wire.max(floor).min(u64::from(u32::MAX)) as u32
    }

    /// The most segments not yet acknowledged that may be in flight.
    fn target_flight(&self) -> u64 {
        if let Phase::ProbeRtt { .. } = self.phase {
            return MIN_FLIGHT;
        }
        // The flight must also cover the acknowledgements a peer holds for its flush
        // interval: on a path much shorter than that interval they arrive in batches,
        // and a flight of twice the minimum round trip's worth would idle the path
        // between them.
        match self.segments_in(self.rtt().max(self.ack_delay)) {
            Some(bdp) => (bdp.saturating_mul(CWND_GAIN) / UNIT).max(MIN_FLIGHT),
            None => INITIAL_FLIGHT,
        }
    }

    /// Before a flush at `now`: takes the samples the acknowledgements since the last
    /// poll gave and moves through the phases. The pacing rate is then
    /// [`rate`](Controller::rate); [`set_cap`](Controller::set_cap) follows once the
    /// pacer has set the budget.
    pub(super) fn before_flush(&mut self, now: u32, kcp: &mut Kcp) {
        let stats = kcp.stats();
        let segs = stats.delivered_segs.saturating_sub(self.base_segs);
        let bytes = stats.delivered_bytes.saturating_sub(self.base_bytes);
        if segs > self.delivered_segs {
            self.delivered_segs = segs;
            if self.app_limited_until.is_some_and(|u| segs > u) {
                self.app_limited_until = None;
            }
            self.delivered_at = now;
            let mut newest = None;
            while self.notes.front().is_some_and(|n| n.sent <= segs) {
                newest = self.notes.pop_front();
            }
            if let Some(note) = newest {
                self.sample(now, &note, segs, bytes);
            }
        }
        self.advance(now, kcp);
        self.rate = self.pacing_rate();
    }

    /// After the pacer gave KCP its budget for this flush: sets KCP's in-flight cap.
    ///
    /// KCP moves segments into flight (advancing `snd_nxt`) before it sends them, and a
    /// flush whose budget runs out leaves the rest unsent in flight; so new segments are
    /// admitted only as far as the budget sends them, and what is counted in flight was
    /// sent. KCP caps the span from `snd_una`; what in that span was already acknowledged
    /// (behind a hole) is not in flight, so it is added to the cap.
    pub(super) fn set_cap(&self, kcp: &mut Kcp) {
        let unsent = self.unsent();
        let flight = self.flight(kcp);
        // What the budget sends, the segments already waiting for it first.
        let room = kcp
            .send_quota()
            .map_or(u64::MAX, |q| (q as u64).div_ceil(self.mss + 24))
            .saturating_sub(unsent);
        let new = self
            .target_flight()
            .saturating_sub(flight + unsent)
            .min(room);
        let span = u64::from(kcp.snd_nxt().wrapping_sub(kcp.snd_una()));
        let cap = (span + new).min(u64::from(u32::MAX));
        kcp.set_inflight_cap(Some(cap as u32));
    }

    /// Segments admitted into flight but not sent yet.
    fn unsent(&self) -> u64 {
        self.admitted.saturating_sub(self.sent)
    }

    /// Segments sent and not yet acknowledged.
    fn flight(&self, kcp: &Kcp) -> u64 {
        (kcp.snd_buf_len() as u64).saturating_sub(self.unsent())
    }

    /// One sample: the poll of `note` is delivered at `now`, `segs` and `bytes` delivered
    /// in all.
    fn sample(&mut self, now: u32, note: &Note, segs: u64, bytes: u64) {
        let rtt = now.wrapping_sub(note.sent_at);
        let expired = self
            .min_rtt
            .is_none_or(|(_, at)| now.wrapping_sub(at) > MIN_RTT_WINDOW);
        if (rtt as i32) < 0 {
            return;
        }
        let rtt = rtt.max(1);
        if expired || self.min_rtt.is_some_and(|(r, _)| rtt <= r) {
            // An expired minimum takes the next sample, as BBR's does, but probe-RTT
            // still runs: that sample may well be inflated by a queue.
            self.probe_rtt_due |= expired && self.min_rtt.is_some();
            self.min_rtt = Some((rtt, now));
        }
        self.round_rtt = Some(self.round_rtt.map_or(rtt, |r| r.min(rtt)));
        // BBR's interval: the longer of the send and the acknowledgement intervals, so
        // that acknowledgements arriving in a bunch do not inflate the rate.
        let send_elapsed = note.sent_at.wrapping_sub(note.first_sent_at);
        let ack_elapsed = now.wrapping_sub(note.delivered_at);
        let interval = u64::from(send_elapsed.max(ack_elapsed));
        self.first_sent_at = note.sent_at;
        // A round also lasts at least the peer's acknowledgement delay: on a path much
        // shorter than it (loopback, a LAN) rounds of a millisecond would make the
        // windows and the gain cycle too short for the clock's millisecond, and the
        // estimate would shrink with the rounding of every sample.
        if note.delivered_segs >= self.next_round
            && u64::from(now.wrapping_sub(self.round_at)) >= self.ack_delay
        {
            self.next_round = segs;
            self.round_at = now;
            self.round += 1;
            self.round_started();
        }
        if interval == 0 || (interval as i32) < 0 {
            return;
        }
        let bw = bytes.saturating_sub(note.delivered_bytes) * 1000 / interval;
        if note.app_limited && bw < self.btlbw() {
            return;
        }
        match self.bw_samples.back_mut() {
            Some((round, best)) if *round == self.round => *best = (*best).max(bw),
            _ => self.bw_samples.push_back((self.round, bw)),
        }
        while self
            .bw_samples
            .front()
            .is_some_and(|&(r, _)| r + BW_ROUNDS <= self.round)
        {
            self.bw_samples.pop_front();
        }
    }

    /// At the start of each round: startup's checks whether the pipe is full. BBR's
    /// own: the bandwidth grew less than 25% in three rounds. And one for the queue
    /// startup builds, since a tail-drop queue of one bandwidth-delay product (common)
    /// overflows before BBR's check fires: every round trip of the past round was a
    /// quarter (at least 10 ms) above the minimum. Random loss moves neither.
    fn round_started(&mut self) {
        let round_rtt = self.round_rtt.take();
        let queued = match (round_rtt, self.min_rtt) {
            (Some(r), Some((min, _))) => r > min + Controller::queue_margin(min),
            _ => false,
        };
        if self.filled {
            self.yield_to_queue(queued);
            return;
        }
        let bw = self.btlbw();
        if bw == 0 {
            return;
        }
        if bw >= self.full_bw * 5 / 4 {
            self.full_bw = bw;
            self.full_rounds = 0;
        } else {
            self.full_rounds += 1;
        }
        if self.full_rounds >= 3 || (queued && self.full_rounds >= 1) {
            self.filled = true;
        }
    }

    /// After startup, at each round: a queue through a whole round outside the up-probe
    /// means the flows through the bottleneck together send more than it carries, and
    /// the estimate is cut by 10%, and at most to what the last round delivered. BBR's
    /// windowed maximum otherwise keeps a flow that had the link to itself at that rate
    /// for ten rounds after another arrives (both then sit at their in-flight caps with a
    /// standing queue), or after the path's rate drops (and the queue overflows). The
    /// 10% is multiplicative, so the larger flow gives up more: flows converge to equal
    /// shares (the probes at 1.25 take the room back). Random loss builds no queue, so it
    /// cuts nothing.
    fn yield_to_queue(&mut self, queued: bool) {
        let probing = matches!(self.phase, Phase::ProbeBw { index: 0 | 1, .. });
        if !queued || probing || !matches!(self.phase, Phase::ProbeBw { .. }) {
            return;
        }
        // What the path delivered in the round that just ended, if it was measured.
        let last = self
            .bw_samples
            .back()
            .filter(|&&(r, _)| r + 1 == self.round)
            .map_or(u64::MAX, |&(_, bw)| bw);
        let ceiling = (self.btlbw() * 9 / 10).min(last);
        for s in &mut self.bw_samples {
            s.1 = s.1.min(ceiling);
        }
    }

    fn advance(&mut self, now: u32, kcp: &Kcp) {
        let flight = self.flight(kcp);
        let bdp = self.bdp().unwrap_or(INITIAL_FLIGHT);
        match self.phase {
            Phase::Startup if self.filled => self.phase = Phase::Drain,
            Phase::Drain if flight <= bdp => {
                self.phase = Phase::ProbeBw {
                    index: self.start_index,
                    since: now,
                }
            }
            Phase::ProbeBw { index, since } => {
                let mut next = index;
                let elapsed = u64::from(now.wrapping_sub(since));
                if elapsed >= self.rtt().max(self.ack_delay) {
                    next = (index + 1) % CYCLE.len();
                } else if CYCLE[index] < UNIT && flight <= bdp {
                    // The queue the probe built is gone: no need to keep draining.
                    next = index + 1;
                }
                if next != index {
                    self.phase = Phase::ProbeBw {
                        index: next,
                        since: now,
                    };
                }
            }
            Phase::ProbeRtt { until: None } if flight <= MIN_FLIGHT => {
                self.phase = Phase::ProbeRtt {
                    until: Some(now.wrapping_add(PROBE_RTT_MS)),
                }
            }
            Phase::ProbeRtt { until: Some(t) } if (now.wrapping_sub(t) as i32) >= 0 => {
                // The round trip seen with the flight this small is the new minimum.
                if let Some((r, _)) = self.min_rtt {
                    self.min_rtt = Some((r, now));
                }
                self.phase = if self.filled {
                    Phase::ProbeBw {
                        index: self.start_index,
                        since: now,
                    }
                } else {
                    Phase::Startup
                };
            }
            _ => {}
        }
        if core::mem::take(&mut self.probe_rtt_due) && !matches!(self.phase, Phase::ProbeRtt { .. })
        {
            self.phase = Phase::ProbeRtt { until: None };
        }
    }

    /// After a flush at `now`: notes the new segments it sent.
    pub(super) fn after_flush(&mut self, now: u32, kcp: &Kcp) {
        let nxt = kcp.snd_nxt();
        self.admitted += u64::from(nxt.wrapping_sub(self.snd_nxt));
        self.snd_nxt = nxt;
        // The application gave too little, or the peer's window is closed or full: until
        // what is in flight now is delivered, the samples say what they allowed, not what
        // the path carries.
        if kcp.snd_queue_len() == 0 || nxt.wrapping_sub(kcp.snd_una()) >= kcp.rmt_wnd() {
            self.app_limited_until = Some(self.delivered_segs + self.flight(kcp).max(1));
        }
        let stats = kcp.stats();
        let sent = stats.first_sends.saturating_sub(self.base_sends);
        if sent == self.sent {
            return;
        }
        self.sent = sent;
        if self.notes.len() == MAX_NOTES {
            self.notes.pop_front();
        }
        self.notes.push_back(Note {
            sent: self.sent,
            sent_at: now,
            delivered_segs: self.delivered_segs,
            delivered_bytes: stats.delivered_bytes.saturating_sub(self.base_bytes),
            delivered_at: self.delivered_at,
            first_sent_at: self.first_sent_at,
            app_limited: self.app_limited_until.is_some(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_any_acknowledgement_the_flight_and_the_rate_are_the_initial_ones() {
        let mut kcp = Kcp::new(1);
        kcp.set_nocwnd(true);
        for _ in 0..100 {
            kcp.send(&[0; 1000]).unwrap();
        }
        let mut c = Controller::new(&kcp, 1400, 0, 7);
        c.before_flush(0, &mut kcp);
        // 32 segments per assumed 100 ms, in wire bytes, at 2.885 x 0.99.
        let mss = kcp.mss() as u64;
        let expected = 32 * mss * 10 * 2856 / 1000 * 1400 / mss;
        assert_eq!(u64::from(c.rate()), expected);
        // No budget: the cap is what is in flight (nothing), so nothing new is admitted
        // that the budget would not send. With a budget of 5 segments, 5 go.
        kcp.set_send_quota(Some(0));
        c.set_cap(&mut kcp);
        assert_eq!(kcp.inflight_cap(), Some(1), "a cap of 0 counts as 1");
        kcp.set_send_quota(Some(5 * (kcp.mss() + 24)));
        c.set_cap(&mut kcp);
        assert_eq!(kcp.inflight_cap(), Some(5));
        let mut sent = 0;
        kcp.update(0, |_: &mut [u8]| sent += 1);
        c.after_flush(0, &kcp);
        assert_eq!((c.sent, c.unsent()), (5, 0));
        assert!(sent >= 1);
    }
}
