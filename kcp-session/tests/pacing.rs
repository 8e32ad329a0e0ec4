//! `Config::rate_limit` on the virtual clock: two sans-io sessions over the simulated link,
//! driven the way the tokio driver drives them, with every datagram the sender transmits
//! logged with its time. The sender must keep to the rate (over the transfer and in every
//! 10 ms window, up to one burst), reach it, and, through a bottleneck with a tail-drop
//! queue, stop the queue drops that an unpaced window-sized burst causes. And over real
//! UDP through the tokio driver, a paced session against the real kcp-go 5.6.1 (the Go
//! peer in `peers/session`, which fails the test when missing) in both directions.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kcp_session::{
    Config, ConfigError, Endpoint as KcpEndpoint, KcpListener, Mode, SendError, Session, Settings,
};
use kcp_testkit::sim::{Endpoint, Link, LinkConfig, LinkStats, Pair, Rng};
use tokio::time::timeout;

mod common;

use common::kcp_go;

const START: u32 = 0xFFFF_F000; // the clock wraps 4 s into the tests

/// One side, driven as the tokio driver drives a session: a receive burst is polled at
/// its end, then the application reads everything and writes what the window takes, and
/// the session is polled again when `next_timeout` says.
struct Peer {
    session: Session,
    burst: bool,
    outgoing: Vec<u8>,
    written: usize,
    received: usize,
    /// (time, bytes) of every datagram this side transmitted.
    sent: Vec<(u32, usize)>,
    /// Polls that ran, from `next_timeout` or a receive burst.
    polls: u64,
}

impl Peer {
    fn new(cfg: &Config, conv: u32) -> Peer {
        let settings = cfg.build().expect("valid config");
        Peer {
            session: Session::new(conv, &settings, START, [conv as u8; 32]),
            burst: false,
            outgoing: Vec::new(),
            written: 0,
            received: 0,
            sent: Vec::new(),
            polls: 0,
        }
    }

    fn poll(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        self.polls += 1;
        let sent = &mut self.sent;
        self.session.poll(now, |d| {
            sent.push((now, d.len()));
            transmit(d);
        });
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: u32, datagram: &[u8], _transmit: &mut dyn FnMut(&[u8])) {
        let _ = self.session.input(now, &mut datagram.to_vec());
        self.burst = true;
    }

    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        if std::mem::take(&mut self.burst) {
            self.poll(now, transmit);
        }
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.session.recv(&mut buf) {
            self.received += n;
        }
        while self.written < self.outgoing.len() {
            let end = (self.written + 32 * 1024).min(self.outgoing.len());
            match self.session.send(now, &self.outgoing[self.written..end]) {
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
            self.poll(now, transmit);
        }
    }

    fn next_tick(&self, now: u32) -> Option<u32> {
        let s = &self.session;
        if self.burst || s.can_recv() || (self.written < self.outgoing.len() && s.can_send()) {
            Some(now)
        } else {
            s.next_timeout(now)
        }
    }
}

/// What one bulk transfer from `a` to `b` did.
struct Transfer {
    /// Virtual milliseconds until `b` read everything.
    ms: u64,
    /// The sender's datagrams, times relative to the start.
    sent: Vec<(u64, usize)>,
    a_to_b: LinkStats,
    polls: u64,
}

/// Sends `bytes` from a session with `cfg` to one with kcptun's server defaults (no FEC,
/// no cipher) over `path` (the return path has `path`'s delay, no limit).
fn transfer(cfg: &Config, path: LinkConfig, bytes: usize) -> Transfer {
    let mut a = Peer::new(cfg, 0x5EED);
    a.outgoing = (0..bytes).map(|i| (i * 7 + i / 1000) as u8).collect();
    let mut rcfg = Config::default();
    rcfg.mode = cfg.mode;
    let b = Peer::new(&rcfg, 0x5EED);
    let back = LinkConfig::new().delay(path.delay_min, path.delay_max);
    let mut pair = Pair::new(a, b, Link::new(path, 1), Link::new(back, 2), START);
    assert!(
        pair.run_until(600_000, |_, b| b.received == bytes),
        "transfer did not finish in 10 virtual minutes"
    );
    Transfer {
        ms: pair.elapsed(),
        sent: pair
            .a
            .sent
            .iter()
            .map(|&(t, n)| (u64::from(t.wrapping_sub(START)), n))
            .collect(),
        a_to_b: pair.a_to_b.stats(),
        polls: pair.a.polls,
    }
}

/// The most bytes sent in any window of `window` ms (windows starting at every ms).
fn max_in_window(sent: &[(u64, usize)], window: u64) -> usize {
    let (mut lo, mut sum, mut best) = (0, 0usize, 0);
    for hi in 0..sent.len() {
        sum += sent[hi].1;
        while sent[hi].0 - sent[lo].0 >= window {
            sum -= sent[lo].1;
            lo += 1;
        }
        best = best.max(sum);
    }
    best
}

/// The sender's wire rate, bytes per second, from its first datagram to its last.
fn wire_rate(sent: &[(u64, usize)]) -> f64 {
    let total: usize = sent.iter().map(|s| s.1).sum();
    let span = sent.last().unwrap().0 - sent[0].0;
    total as f64 * 1000.0 / span as f64
}

fn paced(rate: u32) -> Config {
    let mut cfg = Config::default();
    cfg.rate_limit = Some(rate);
    cfg
}

/// Over a transfer of several seconds the sender's rate is within 5% of the limit, and no
/// 10 ms window carries more than the rate's 10 ms plus one burst, at a low, a middle and
/// a high rate, with and without FEC.
#[test]
fn sender_keeps_to_the_rate() {
    for (rate, fec, loss) in [
        (200_000, false, 0.0),
        (1_000_000, false, 0.0),
        (1_000_000, true, 0.0),
        // Retransmissions are paced too.
        (1_000_000, false, 0.05),
        (20_000_000, false, 0.0),
    ] {
        let mut cfg = paced(rate);
        if fec {
            (cfg.data_shards, cfg.parity_shards) = (10, 3);
        }
        let burst = cfg.build().unwrap().pacing_burst().unwrap();
        // Long enough for at least 5 s at the rate (2 s at the highest).
        let bytes = (rate as usize * 5).min(40 << 20);
        let path = LinkConfig::new().delay(20, 20).loss(loss);
        let t = transfer(&cfg, path, bytes);
        let achieved = wire_rate(&t.sent);
        let worst = max_in_window(&t.sent, 10);
        let allowed = rate as usize / 100 + burst;
        eprintln!(
            "rate {rate} B/s fec {fec} loss {loss}: sent at {achieved:.0} B/s ({:.3} of the limit), \
             worst 10 ms window {worst} B (allowed {allowed}), {} ms, {} polls",
            achieved / f64::from(rate),
            t.ms,
            t.polls
        );
        assert!(
            (achieved - f64::from(rate)).abs() <= 0.05 * f64::from(rate),
            "rate {rate}: sent at {achieved:.0} B/s"
        );
        assert!(
            worst <= allowed,
            "rate {rate}: {worst} bytes in 10 ms, allowed {allowed}"
        );
    }
}

/// What the link delivered to the receiver over the transfer, bytes per second: the
/// delivered rate the limit promises.
#[test]
fn delivered_rate_is_the_limit() {
    let rate = 500_000;
    let bytes = 4 << 20;
    let t = transfer(&paced(rate), LinkConfig::new().delay(30, 30), bytes);
    let delivered = t.a_to_b.delivered_bytes as f64 * 1000.0 / t.ms as f64;
    let goodput = bytes as f64 * 1000.0 / t.ms as f64;
    eprintln!(
        "limit {rate} B/s: delivered {delivered:.0} B/s on the wire, goodput {goodput:.0} B/s"
    );
    assert!(
        (delivered - f64::from(rate)).abs() <= 0.05 * f64::from(rate),
        "delivered {delivered:.0} B/s"
    );
}

/// One 8 MiB transfer through the study's path (10 Mbit/s, 100 ms round trip, a 125 kB
/// tail-drop queue, random `loss` on the bottleneck), mode fast with its 1024-segment
/// window and no congestion window; prints the row and returns the bottleneck's counters
/// and the time taken.
fn bottleneck_row(limit: Option<u32>, loss: f64) -> (LinkStats, u64) {
    let bytes = 8 << 20;
    let path = LinkConfig::new()
        .delay(50, 50)
        .bandwidth(1_250_000)
        .buffer(125_000)
        .loss(loss);
    let mut cfg = Config::default();
    cfg.mode = Mode::Fast;
    cfg.rate_limit = limit;
    let t = transfer(&cfg, path, bytes);
    let s = t.a_to_b;
    eprintln!(
        "loss {loss} rate_limit {limit:?}: {} ms, {} datagrams sent, {} dropped at the \
         queue ({:.2}%), {:.2} wire bytes per delivered byte, goodput {:.0} B/s",
        t.ms,
        s.sent,
        s.overflowed,
        100.0 * s.overflowed as f64 / s.sent as f64,
        s.sent_bytes as f64 / bytes as f64,
        bytes as f64 * 1000.0 / t.ms as f64
    );
    (s, t.ms)
}

/// The study's path without random loss. Unpaced, the sender's window-sized bursts
/// overflow the queue; paced just under the link rate (1,250,000 B/s), they do not, and
/// the transfer is no slower. A limit above the link rate is only reported: the queue
/// fills at the difference and drops again.
#[test]
fn rate_limit_stops_queue_drops_at_a_bottleneck() {
    let (unpaced, unpaced_ms) = bottleneck_row(None, 0.0);
    let (paced, paced_ms) = bottleneck_row(Some(1_200_000), 0.0);
    bottleneck_row(Some(1_500_000), 0.0);
    assert!(
        unpaced.overflowed > 100,
        "the unpaced sender should overflow the queue"
    );
    assert!(
        paced.overflowed * 100 <= paced.sent,
        "paced: {} of {} datagrams dropped",
        paced.overflowed,
        paced.sent
    );
    assert!(paced.sent_bytes < unpaced.sent_bytes);
    assert!(paced_ms <= unpaced_ms, "paced took longer");
}

/// With random loss on the same path, pacing still keeps the queue from overflowing and
/// puts fewer bytes on the wire than no limit; the retransmissions the loss causes are
/// paced with the rest.
#[test]
fn rate_limit_cuts_the_wire_cost_under_random_loss() {
    for loss in [0.01, 0.05] {
        let (unpaced, _) = bottleneck_row(None, loss);
        let (paced, _) = bottleneck_row(Some(1_200_000), loss);
        assert!(
            paced.overflowed * 100 <= paced.sent,
            "loss {loss}: {} of {} dropped at the queue",
            paced.overflowed,
            paced.sent
        );
        assert!(paced.sent_bytes < unpaced.sent_bytes, "loss {loss}");
    }
}

/// Through an [`KcpEndpoint`] with segmentation offload, driven on its own timers, a
/// session paced at a high rate hands out no more than one GSO batch (65,000 bytes) in any
/// millisecond, and still reaches its rate.
#[test]
fn a_paced_endpoint_keeps_each_gso_batch_within_one_burst() {
    const DELAY: u32 = 5;
    let rate = 40_000_000;
    let bytes = 16 << 20;
    let settings = paced(rate).build().unwrap();
    let mut ep = KcpEndpoint::new(&settings, [7; 32]);
    ep.set_max_segments(64);
    let server = SocketAddr::from(([10, 0, 0, 2], 4000));
    let mut now = START;
    let h = ep.connect(now, server).unwrap();
    let conv = ep.session(h).unwrap().conv();
    let mut peer = Session::new(conv, &Config::default().build().unwrap(), now, [8; 32]);
    let data = Rng::new(9).bytes(bytes);
    let (mut written, mut received) = (0, 0);
    let mut to_peer: VecDeque<(u32, Vec<u8>)> = VecDeque::new();
    let mut to_ep: VecDeque<(u32, Vec<u8>)> = VecDeque::new();
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for ms in 0..60_000u64 {
        while to_peer.front().is_some_and(|(t, _)| *t == now) {
            let (_, mut d) = to_peer.pop_front().unwrap();
            let _ = peer.input(now, &mut d);
        }
        while let Ok(n) = peer.recv(&mut buf) {
            received += n;
        }
        if received == bytes {
            break;
        }
        if peer
            .next_timeout(now)
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            peer.poll(now, |d| {
                to_ep.push_back((now.wrapping_add(DELAY), d.to_vec()));
            });
        }
        while to_ep.front().is_some_and(|(t, _)| *t == now) {
            let (_, mut d) = to_ep.pop_front().unwrap();
            ep.handle(now, server, &mut d);
        }
        // A driver runs the timers only when the endpoint asks for them.
        if ep
            .poll_timeout()
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            ep.handle_timeout(now);
        }
        while written < bytes {
            let end = (written + 32 * 1024).min(bytes);
            match ep.send(now, h, &data[written..end]) {
                Ok(n) => written += n,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        let mut this_ms = 0;
        while let Some(t) = ep.poll_transmit(now) {
            this_ms += t.contents.len();
            for d in t.datagrams() {
                to_peer.push_back((now.wrapping_add(DELAY), d.to_vec()));
            }
        }
        if this_ms > 0 {
            sent.push((ms, this_ms));
        }
        now = now.wrapping_add(1);
    }
    assert_eq!(received, bytes, "transfer did not finish");
    let achieved = wire_rate(&sent);
    let worst_ms = max_in_window(&sent, 1);
    eprintln!("endpoint at {rate} B/s: sent at {achieved:.0} B/s, at most {worst_ms} B in one ms");
    assert!(worst_ms <= 65_000, "{worst_ms} bytes in one millisecond");
    assert!(
        (achieved - f64::from(rate)).abs() <= 0.05 * f64::from(rate),
        "sent at {achieved:.0} B/s"
    );
}

/// A rate of 0 would send nothing: `build` refuses it.
#[test]
fn zero_rate_is_refused() {
    assert_eq!(paced(0).build().unwrap_err(), ConfigError::RateLimit);
    assert_eq!(Config::default().build().unwrap().pacing_burst(), None);
}

const GO_RATE: u32 = 2_000_000;
const GO_BYTES: usize = 2 << 20;
const KEY: &str = "pacing key";

/// A paced configuration with kcptun's cipher and FEC, mode fast3, as the Go peer runs.
fn go_settings() -> Settings {
    let mut c = paced(GO_RATE);
    c.crypt = "aes".parse().unwrap();
    c.key = KEY.as_bytes().to_vec();
    (c.data_shards, c.parity_shards) = (10, 3);
    c.mode = Mode::Fast3;
    c.build().unwrap()
}

fn go_flags() -> Vec<String> {
    kcp_go::flags("aes", KEY, "fast3", (10, 3))
}

/// A session can never have sent more than the rate allows over the time it existed, so
/// the wall time of a whole exchange bounds what it sent from above whatever the load of
/// the machine (a slow machine only sends less).
fn assert_within_rate(sent: u64, since: Instant, burst: usize) {
    let secs = since.elapsed().as_secs_f64();
    let allowed = f64::from(GO_RATE) * secs + burst as f64;
    eprintln!("sent {sent} bytes in {secs:.2} s; the rate allows {allowed:.0}");
    assert!(
        sent as f64 <= allowed,
        "sent {sent} bytes, allowed {allowed:.0}"
    );
}

/// Our paced client echoes through a kcp-go listener: every byte comes back, and our side
/// kept to its rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_client_through_a_kcp_go_listener() {
    let server = kcp_go::echo_server(&go_flags());
    let settings = go_settings();
    let data = Rng::new(3).bytes(GO_BYTES);
    let start = Instant::now();
    let (got, snmp) = timeout(
        Duration::from_secs(120),
        common::echo(&settings, server.addr(), data.clone()),
    )
    .await
    .unwrap_or_else(|_| panic!("echo timed out; kcp-go stderr: {}", server.stderr()));
    assert!(got == data, "the echo differs");
    assert_eq!(snmp.kcp_in_errors, 0, "{snmp:?}");
    assert!(snmp.bytes_sent >= GO_BYTES as u64);
    assert_within_rate(snmp.bytes_sent, start, settings.pacing_burst().unwrap());
}

/// A kcp-go client echoes through our paced listener: every byte comes back (the Go
/// client checks them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kcp_go_client_through_a_paced_listener() {
    let listener = KcpListener::bind("127.0.0.1:0", &go_settings())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = common::spawn_echo(listener, 1);
    let args = kcp_go::echo_client_args(addr, GO_BYTES, &go_flags());
    let out = kcp_go::run_async(args, Duration::from_secs(120)).await;
    assert!(
        out.success,
        "kcp-go echo-client through ours failed: {out:?}"
    );
    assert_eq!(out.summary().expect("summary line").bytes, GO_BYTES as u64);
    server.abort();
}
