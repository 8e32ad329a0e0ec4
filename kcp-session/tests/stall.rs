//! Stalls under loss, hunted on the simulated link with a virtual clock: each test drives
//! two sans-io sessions the way the tokio driver does and asserts that a transfer finishes
//! within a bound of virtual time that a stalled transfer (ikcp's 7-second window probe, a
//! retransmission timeout backed off for tens of seconds, a session left without a timer)
//! cannot meet.

use std::time::Duration;

use kcp_session::{Config, Mode, SendError, Session};
use kcp_testkit::sim::{Endpoint, Link, LinkConfig, Pair, Rng};

/// One side of a conversation, driven as the tokio driver drives a session: the datagrams
/// arriving in one millisecond form a receive burst, polled (acknowledged, with
/// `batch_acks`) at its end before the application runs; then the application reads what
/// arrived and writes what the send window takes, and the session is polled again when
/// `next_timeout` says (at once after a write or a read that reopened the window).
struct Peer {
    session: Session,
    /// Datagrams arrived since the last tick.
    burst: bool,
    /// Bytes the application writes, and how many the session took.
    outgoing: Vec<u8>,
    written: usize,
    /// Whether the application reads, at most how many bytes per millisecond, and what it
    /// read.
    reading: bool,
    read_rate: usize,
    received: Vec<u8>,
    /// When the application last read something, and the longest wait between reads.
    last_read: Option<u32>,
    longest_wait: u32,
    /// Once the application has read this many bytes, it writes this reply.
    reply: Option<(usize, Vec<u8>)>,
    /// Drops datagrams this side transmits when it returns `true` (a targeted loss).
    drop_out: Option<DropFilter>,
}

/// Decides which transmitted datagrams a targeted loss drops.
type DropFilter = Box<dyn FnMut(&[u8]) -> bool>;

impl Peer {
    fn new(session: Session) -> Peer {
        Peer {
            session,
            burst: false,
            outgoing: Vec::new(),
            written: 0,
            reading: true,
            read_rate: usize::MAX,
            received: Vec::new(),
            last_read: None,
            longest_wait: 0,
            reply: None,
            drop_out: None,
        }
    }

    fn wants_tick(&self) -> bool {
        let s = &self.session;
        self.burst
            || (self.reading && s.can_recv())
            || (self.written < self.outgoing.len() && s.can_send())
    }

    /// Runs `f` with a transmit function that applies the targeted loss.
    fn with_transmit<R>(
        &mut self,
        transmit: &mut dyn FnMut(&[u8]),
        f: impl FnOnce(&mut Session, &mut dyn FnMut(&[u8])) -> R,
    ) -> R {
        let drop_out = &mut self.drop_out;
        let mut tx = |d: &[u8]| {
            if !drop_out.as_mut().is_some_and(|f| f(d)) {
                transmit(d);
            }
        };
        f(&mut self.session, &mut tx)
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: u32, datagram: &[u8], _transmit: &mut dyn FnMut(&[u8])) {
        let _ = self.session.input(now, &mut datagram.to_vec());
        self.burst = true;
    }

    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        // The driver acknowledges a burst before the reader task runs.
        if std::mem::take(&mut self.burst) {
            self.with_transmit(transmit, |s, tx| s.poll(now, tx));
        }
        if self.reading {
            let mut buf = [0u8; 16 * 1024];
            let mut budget = self.read_rate;
            while budget > 0 {
                let want = budget.min(buf.len());
                let Ok(n) = self.session.recv(&mut buf[..want]) else {
                    break;
                };
                self.received.extend_from_slice(&buf[..n]);
                budget -= n;
                if let Some(t) = self.last_read.replace(now) {
                    self.longest_wait = self.longest_wait.max(now.wrapping_sub(t));
                }
            }
            if let Some((at, _)) = &self.reply
                && self.received.len() >= *at
                && let Some((_, reply)) = self.reply.take()
            {
                self.outgoing.extend_from_slice(&reply);
            }
        }
        while self.written < self.outgoing.len() {
            let (outgoing, written) = (&self.outgoing, self.written);
            let chunk = &outgoing[written..(written + 32 * 1024).min(outgoing.len())];
            let chunk = chunk.to_vec();
            match self.session.send(now, &chunk) {
                Ok(n) => self.written += n,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        if self
            .session
            .next_timeout(now)
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            self.with_transmit(transmit, |s, tx| s.poll(now, tx));
        }
    }

    fn next_tick(&self, now: u32) -> Option<u32> {
        if self.wants_tick() {
            Some(now)
        } else {
            self.session.next_timeout(now)
        }
    }
}

const START: u32 = 0xFFFF_0000; // the clock wraps during the tests

fn pair(a: &Config, b: &Config, link: LinkConfig, seed: u64) -> Pair<Peer, Peer> {
    let (sa, sb) = (a.build().unwrap(), b.build().unwrap());
    let conv = 0x0102_0304;
    Pair::new(
        Peer::new(Session::new(conv, &sa, START, [7; 32])),
        Peer::new(Session::new(conv, &sb, START, [7; 32])),
        Link::new(link.clone(), seed),
        Link::new(link, seed ^ 0xA5A5),
        START,
    )
}

/// Sends `bytes` from a to b; returns the virtual milliseconds until b has all of them
/// (checked byte for byte), or `None` past `limit_ms`.
fn transfer(p: &mut Pair<Peer, Peer>, bytes: usize, seed: u64, limit_ms: u64) -> Option<u64> {
    let data = Rng::new(seed).bytes(bytes);
    p.a.outgoing = data.clone();
    p.a.written = 0;
    p.b.received.clear();
    let start = p.elapsed();
    let done = p.run_until(limit_ms, |_, b| b.received.len() >= bytes);
    assert!(p.b.received.len() <= bytes && data.starts_with(&p.b.received));
    done.then(|| p.elapsed() - start)
}

/// Bytes per bulk transfer.
const BULK: usize = 2 << 20;

/// A fast link: 5 ms each way, 100 MB/s, loss as given.
fn fast_link(loss: f64) -> LinkConfig {
    LinkConfig::new()
        .delay(5, 5)
        .bandwidth(100_000_000)
        .loss(loss)
}

/// Bulk transfers over a fast lossy link, the shape that first showed the stall: with a
/// receive burst acknowledged before the application reads it, the receiver advertises a
/// zero window whenever a retransmission fills a gap in front of a full window, and a lost
/// window update then left the sender waiting for ikcp's 7-second probe (a small receive
/// window makes that happen many times per transfer). At 20% loss, ikcp's doubling RTO
/// also left single segments waiting 3-5 s between retransmissions; with kcp-go's linear
/// back-off and early retransmission the longest wait stays near 2 s.
///
/// Each row bounds the longest wait between two reads of the application, and the whole
/// transfer where the loss rate allows a bound.
#[test]
fn bulk_transfers_through_loss_never_stall() {
    // (mode, loss, seeds, longest wait, whole transfer) bounds in virtual ms.
    for (mode, loss, seeds, wait_ms, total_ms) in [
        (Mode::Fast, 0.05, 0..40, 1000, Some(3000)),
        (Mode::Fast3, 0.10, 40..60, 1000, Some(3000)),
        (Mode::Normal, 0.20, 60..75, 3000, None),
    ] {
        for seed in seeds {
            let mut cfg = Config::kcptun();
            cfg.mode = mode;
            cfg.rcv_wnd = 128;
            let mut p = pair(&cfg, &cfg, fast_link(loss), seed);
            let t = transfer(&mut p, BULK, seed, 60_000);
            let t = t.unwrap_or_else(|| panic!("{mode:?} seed {seed}: not done in 60 s"));
            let wait = p.b.longest_wait;
            assert!(
                wait < wait_ms,
                "{mode:?} at {loss} loss, seed {seed}: no progress for {wait} virtual ms"
            );
            assert!(
                total_ms.is_none_or(|limit| t < limit),
                "{mode:?} at {loss} loss, seed {seed}: {BULK} bytes took {t} virtual ms"
            );
        }
    }
}

/// Whether a raw KCP datagram (no cipher, no FEC) carries a segment with command `cmd`.
fn carries(datagram: &[u8], cmd: u8) -> bool {
    let mut rest = datagram;
    while let Some(h) = kcp_core::Header::parse(rest) {
        if h.cmd == cmd {
            return true;
        }
        rest = rest
            .get(kcp_core::OVERHEAD + h.len as usize..)
            .unwrap_or(&[]);
    }
    false
}

const WINDOW_TELL: u8 = kcp_core::Command::WindowTell as u8;

/// Plain KCP frames on the wire, so tests can pick the datagrams they drop.
fn plain(mode: Mode) -> Config {
    {
        let mut c = Config::default();
        c.mode = mode;
        c.rcv_wnd = 128;
        c
    }
}

/// The receiver stops reading until its window is full and the sender has nothing left in
/// flight, then reads everything; the datagram announcing the reopened window is lost.
/// ikcp (and kcp-go 5.6.1) then wait for the sender's first window probe, 7 s later. With
/// window recovery on either side (the sender probing at RTO pace, or the receiver
/// repeating its announcement), the transfer goes on within a few RTOs; a kcp-go peer on
/// the other side is the case with recovery on one side only.
#[test]
fn a_lost_window_update_costs_no_more_than_a_retransmission_timeout() {
    for mode in [Mode::Normal, Mode::Fast, Mode::Fast3] {
        for (sender, receiver) in [(false, false), (false, true), (true, false), (true, true)] {
            let took = lost_window_update(mode, sender, receiver);
            if sender || receiver {
                assert!(
                    took < 2000,
                    "{mode:?}, recovery on sender {sender} receiver {receiver}: the rest of \
                     the transfer took {took} virtual ms after a lost window update"
                );
            } else {
                // ikcp's behaviour, kept when both sides turn recovery off.
                assert!(took >= 7000, "{mode:?} without recovery: {took} ms");
            }
        }
    }
}

/// Runs the scenario of the test above; returns the virtual ms from the reader's restart to
/// the end of the transfer.
fn lost_window_update(mode: Mode, sender: bool, receiver: bool) -> u64 {
    let (a, b) = (
        {
            let mut c = plain(mode);
            c.window_recovery = sender;
            c
        },
        {
            let mut c = plain(mode);
            c.window_recovery = receiver;
            c
        },
    );
    let mut p = pair(&a, &b, LinkConfig::new().delay(5, 5), 1);
    p.b.reading = false;
    let data = Rng::new(1).bytes(1 << 20);
    p.a.outgoing = data.clone();
    let filled = p.run_until(10_000, |a, b| {
        let (ka, kb) = (a.session.kcp(), b.session.kcp());
        ka.rmt_wnd() == 0 && ka.snd_buf_len() == 0 && kb.rcv_queue_len() == 128
    });
    assert!(filled, "{mode:?}: the receive window never filled");
    let mut dropped = 0;
    p.b.drop_out = Some(Box::new(move |d| {
        let drop = dropped == 0 && carries(d, WINDOW_TELL);
        dropped += usize::from(drop);
        drop
    }));
    p.b.reading = true;
    let start = p.elapsed();
    let done = p.run_until(60_000, |_, b| b.received.len() == data.len());
    assert!(
        done && p.b.received == data,
        "{mode:?}: transfer incomplete"
    );
    p.elapsed() - start
}

/// The sequence numbers of the data segments in a raw KCP datagram.
fn data_sns(datagram: &[u8]) -> Vec<u32> {
    let mut sns = Vec::new();
    let mut rest = datagram;
    while let Some(h) = kcp_core::Header::parse(rest) {
        if h.cmd == kcp_core::Command::Push as u8 {
            sns.push(h.sn);
        }
        rest = rest
            .get(kcp_core::OVERHEAD + h.len as usize..)
            .unwrap_or(&[]);
    }
    sns
}

/// Drops the first `times` datagrams carrying data segment `sn`.
fn drop_segment(sn: u32, times: usize) -> DropFilter {
    let mut dropped = 0;
    Box::new(move |d| {
        let drop = dropped < times && data_sns(d).contains(&sn);
        dropped += usize::from(drop);
        drop
    })
}

/// The last segment of a transfer (nothing after it to trigger a fast retransmission) is
/// lost twice: its retransmission timeout, backed off once, is all it may cost. Then the
/// same for the final reply of a request/response exchange, in the other direction.
#[test]
fn a_lost_last_segment_costs_a_retransmission_timeout() {
    for mode in [Mode::Normal, Mode::Fast, Mode::Fast3] {
        let cfg = plain(mode);
        let mss = cfg.build().unwrap().kcp_mtu() - kcp_core::OVERHEAD;
        let len: usize = 64 << 10;
        let last = (len.div_ceil(mss) - 1) as u32;

        let mut p = pair(&cfg, &cfg, LinkConfig::new().delay(10, 10), 2);
        p.a.drop_out = Some(drop_segment(last, 2));
        let took = transfer(&mut p, len, 2, 10_000).expect("the transfer completes");
        assert!(took < 1500, "{mode:?}: one-way transfer took {took} ms");

        // A 100-byte request, answered with 64 KiB whose last segment is lost twice.
        let mut p = pair(&cfg, &cfg, LinkConfig::new().delay(10, 10), 3);
        let reply = Rng::new(3).bytes(len);
        p.b.reply = Some((100, reply.clone()));
        p.b.drop_out = Some(drop_segment(last, 2));
        p.a.outgoing = vec![1; 100];
        let done = p.run_until(10_000, |a, _| a.received.len() == len);
        assert!(done && p.a.received == reply, "{mode:?}: reply incomplete");
        assert!(
            p.elapsed() < 1500,
            "{mode:?}: request/response took {} ms",
            p.elapsed()
        );
    }
}

/// Both sides write more than the other's window holds and neither reads until both are
/// blocked on a zero window with nothing in flight; then both read, and each side's first
/// window update is lost.
#[test]
fn zero_windows_both_ways_reopen_despite_lost_updates() {
    for mode in [Mode::Normal, Mode::Fast3] {
        let cfg = plain(mode);
        let mut p = pair(&cfg, &cfg, LinkConfig::new().delay(5, 5), 4);
        let (data_a, data_b) = (Rng::new(4).bytes(1 << 20), Rng::new(5).bytes(1 << 20));
        p.a.outgoing = data_a.clone();
        p.b.outgoing = data_b.clone();
        p.a.reading = false;
        p.b.reading = false;
        let blocked = |s: &Session| s.kcp().rmt_wnd() == 0 && s.kcp().snd_buf_len() == 0;
        assert!(
            p.run_until(10_000, |a, b| blocked(&a.session) && blocked(&b.session)),
            "{mode:?}: the windows never both closed"
        );
        for side in [&mut p.a, &mut p.b] {
            side.reading = true;
            let mut dropped = false;
            side.drop_out = Some(Box::new(move |d| {
                let drop = !dropped && carries(d, WINDOW_TELL);
                dropped |= drop;
                drop
            }));
        }
        let start = p.elapsed();
        let done = p.run_until(60_000, |a, b| {
            a.received.len() == data_b.len() && b.received.len() == data_a.len()
        });
        assert!(done && p.a.received == data_b && p.b.received == data_a);
        let took = p.elapsed() - start;
        assert!(
            took < 2000,
            "{mode:?}: {took} ms after both windows reopened"
        );
    }
}

/// The link goes dark for 5 s in the middle of a transfer, then comes back: the session
/// survives (a few seconds without answers is an outage, not a dead peer) and resumes
/// within a couple of its backed-off retransmission timeouts. If the link never comes
/// back, the session ends with the idle timeout instead of hanging.
#[test]
fn a_link_outage_heals_soon_after_the_link_returns() {
    for mode in [Mode::Normal, Mode::Fast, Mode::Fast3] {
        let cfg = {
            let mut c = Config::kcptun();
            c.mode = mode;
            c.idle_timeout = Some(Duration::from_secs(8));
            c
        };
        let link = LinkConfig::new().delay(10, 10);
        let mut p = pair(&cfg, &cfg, link.clone(), 6);
        let data = Rng::new(6).bytes(2 << 20);
        p.a.outgoing = data.clone();
        p.a.read_rate = 0;
        p.b.read_rate = 20_000; // 20 MB/s: the transfer takes about 100 ms
        p.run_for(50);
        assert!(!p.b.received.is_empty() && p.b.received.len() < data.len());
        p.a_to_b.set_config(link.clone().loss(1.0));
        p.b_to_a.set_config(link.clone().loss(1.0));
        p.run_for(5000);
        p.a_to_b.set_config(link.clone());
        p.b_to_a.set_config(link.clone());
        let back = p.elapsed();
        let done = p.run_until(30_000, |_, b| b.received.len() == data.len());
        assert!(
            done && p.b.received == data,
            "{mode:?}: {:?}",
            p.a.session.state()
        );
        let took = p.elapsed() - back;
        assert!(took < 2500, "{mode:?}: {took} ms after the link came back");

        // Now the peer vanishes for good in the middle of another transfer.
        p.a.outgoing = Rng::new(7).bytes(2 << 20);
        p.a.written = 0;
        p.run_for(30);
        p.a_to_b.set_config(link.clone().loss(1.0));
        p.b_to_a.set_config(link.clone().loss(1.0));
        let gone = p.elapsed();
        let ended = p.run_until(30_000, |a, _| a.session.state() != kcp_session::State::Open);
        assert!(
            ended,
            "{mode:?}: the session never noticed the peer was gone"
        );
        assert_eq!(
            a_state(&p),
            kcp_session::State::Dead(kcp_session::DeadReason::IdleTimeout)
        );
        let after = p.elapsed() - gone;
        assert!(
            (7800..8100).contains(&after),
            "{mode:?}: dead after {after} ms"
        );
    }
}

fn a_state(p: &Pair<Peer, Peer>) -> kcp_session::State {
    p.a.session.state()
}

/// After long silences (30 s, then 100 s: past ikcp's 10 s clock resynchronisation and
/// with no timer running meanwhile), a write goes out at once and its answer comes back
/// within one round trip and a flush interval.
#[test]
fn an_idle_session_wakes_up_at_once() {
    for mode in [Mode::Normal, Mode::Fast3] {
        let cfg = {
            let mut c = Config::kcptun();
            c.mode = mode;
            c.idle_timeout = Some(Duration::from_secs(300));
            c
        };
        let mut p = pair(&cfg, &cfg, LinkConfig::new().delay(20, 20), 8);
        for (round, silence) in [30_000u64, 100_000].into_iter().enumerate() {
            p.run_for(silence);
            assert!(
                p.a.session
                    .next_timeout(p.now())
                    .is_some_and(|t| { t.wrapping_sub(p.now()) > 100_000 }),
                "an idle session wakes for nothing but its idle timeout"
            );
            let reply = Rng::new(round as u64).bytes(1000);
            p.b.reply = Some((p.b.received.len() + 10, reply.clone()));
            let before = p.a.received.len();
            p.a.outgoing.extend_from_slice(&[round as u8; 10]);
            let start = p.elapsed();
            let done = p.run_until(5_000, |a, _| a.received.len() == before + 1000);
            let took = p.elapsed() - start;
            assert!(done && p.a.received[before..] == reply[..]);
            let interval = u64::from(mode.interval());
            assert!(
                took <= 40 + interval + 5,
                "{mode:?}: answered {took} ms after {silence} ms of silence"
            );
        }
    }
}
