//! `Config::congestion` on the virtual clock: sans-io sessions through one simulated
//! bottleneck (a rate, a tail-drop queue, random loss), driven the way the tokio driver
//! drives them, every millisecond of virtual time. Several flows share the bottleneck,
//! each datagram tagged with its flow on the link. The controller must fill the link
//! without overflowing its queue (few bytes on the wire per delivered byte), keep going
//! under random loss, share the link fairly between two flows, and keep an interactive
//! flow's latency near the path's when a bulk flow runs beside it. Each test prints its
//! figures (`cargo test -p kcp-session --test congestion -- --nocapture`), beside the same
//! run without the controller where a comparison says something.

use kcp_session::{Config, Congestion, Mode, SendError, Session};
use kcp_testkit::sim::{Link, LinkConfig};

const START: u32 = 0xFFFF_F000; // the clock wraps 4 s into the tests

/// The study's path: 10 Mbit/s, 100 ms round trip, a 125 kB tail-drop queue.
const LINK_RATE: u64 = 1_250_000;
const ONE_WAY: u32 = 50;
const QUEUE: u64 = 125_000;

/// Size of an interactive message: an 8-byte send time and padding.
const MESSAGE: usize = 100;

/// What a flow sends.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// This many bytes as fast as the session takes them (`usize::MAX`: for ever).
    Bulk(usize),
    /// One message every this many ms.
    Interactive(u32),
}

/// One sender and its receiver.
struct Flow {
    load: Load,
    /// Starts sending this many ms into the run.
    start: u64,
    tx: Session,
    rx: Session,
    tx_burst: bool,
    rx_burst: bool,
    written: usize,
    received: usize,
    /// Bytes the sender put on the wire.
    wire: u64,
    /// When the receiver had everything (ms into the run).
    done: Option<u64>,
    /// (ms into the run, bytes received in all), sampled every 100 ms.
    progress: Vec<(u64, usize)>,
    /// One-way latency (ms) of each interactive message.
    latencies: Vec<u32>,
    next_message: u64,
    pending: Vec<u8>,
    partial: Vec<u8>,
    /// From `.0` to `.1` ms into the run the receiving application reads at most `.2`
    /// bytes per ms.
    rx_slow: (u64, u64, usize),
}

impl Flow {
    fn new(cfg: &Config, load: Load, start: u64, conv: u32) -> Flow {
        let mut rcfg = Config::default();
        rcfg.mode = cfg.mode;
        Flow::with_receiver(cfg, &rcfg, load, start, conv)
    }

    /// A flow whose receiving side has `rcfg`.
    fn with_receiver(cfg: &Config, rcfg: &Config, load: Load, start: u64, conv: u32) -> Flow {
        let settings = cfg.build().expect("valid config");
        let rsettings = rcfg.build().expect("valid config");
        Flow {
            load,
            start,
            tx: Session::new(conv, &settings, START, [conv as u8; 32]),
            rx: Session::new(conv, &rsettings, START, [!conv as u8; 32]),
            tx_burst: false,
            rx_burst: false,
            written: 0,
            received: 0,
            wire: 0,
            done: None,
            progress: Vec::new(),
            latencies: Vec::new(),
            next_message: start,
            pending: Vec::new(),
            partial: Vec::new(),
            rx_slow: (0, 0, 0),
        }
    }
}

/// A run of `flows` through `path` (the return path has its delay, no limit).
struct Run {
    flows: Vec<Flow>,
    forward: Link,
    back: Link,
    ms: u64,
}

fn due(s: &Session, now: u32) -> bool {
    s.next_timeout(now)
        .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
}

impl Run {
    fn new(path: LinkConfig, flows: Vec<Flow>, seed: u64) -> Run {
        let back = LinkConfig::new().delay(path.delay_min, path.delay_max);
        Run {
            flows,
            forward: Link::new(path, seed),
            back: Link::new(back, seed + 1),
            ms: 0,
        }
    }

    /// Runs one virtual millisecond.
    fn step(&mut self) {
        let now = START.wrapping_add(self.ms as u32);
        let ms = self.ms;
        while let Some(d) = self.forward.poll(now) {
            let f = &mut self.flows[d[0] as usize];
            let _ = f.rx.input(now, &mut d[1..].to_vec());
            f.rx_burst = true;
        }
        while let Some(d) = self.back.poll(now) {
            let f = &mut self.flows[d[0] as usize];
            let _ = f.tx.input(now, &mut d[1..].to_vec());
            f.tx_burst = true;
        }
        for (i, f) in self.flows.iter_mut().enumerate() {
            let tag = i as u8;
            let forward = &mut self.forward;
            let wire = &mut f.wire;
            let mut out = |d: &[u8]| {
                *wire += d.len() as u64;
                let mut v = Vec::with_capacity(d.len() + 1);
                v.push(tag);
                v.extend_from_slice(d);
                forward.send(now, v);
            };
            // The sender: a receive burst is polled at its end, then the application
            // writes what the window takes, then the timers.
            if std::mem::take(&mut f.tx_burst) {
                f.tx.poll(now, &mut out);
            }
            if ms >= f.start {
                match f.load {
                    Load::Bulk(total) => {
                        let chunk = [0x5A; 32 * 1024];
                        while f.written < total {
                            let n = chunk.len().min(total - f.written);
                            match f.tx.send(now, &chunk[..n]) {
                                Ok(n) => f.written += n,
                                Err(SendError::WouldBlock) => break,
                                Err(e) => panic!("send: {e}"),
                            }
                        }
                    }
                    Load::Interactive(every) => {
                        if ms >= f.next_message {
                            f.next_message += u64::from(every);
                            let mut m = vec![0u8; MESSAGE];
                            m[..8].copy_from_slice(&ms.to_le_bytes());
                            f.pending.extend_from_slice(&m);
                        }
                        while !f.pending.is_empty() {
                            match f.tx.send(now, &f.pending) {
                                Ok(n) => drop(f.pending.drain(..n)),
                                Err(SendError::WouldBlock) => break,
                                Err(e) => panic!("send: {e}"),
                            }
                        }
                    }
                }
            }
            if due(&f.tx, now) {
                f.tx.poll(now, &mut out);
            }
            // The receiver: acknowledges each burst at its end, reads everything.
            let back = &mut self.back;
            let mut ack = |d: &[u8]| {
                let mut v = Vec::with_capacity(d.len() + 1);
                v.push(tag);
                v.extend_from_slice(d);
                back.send(now, v);
            };
            if std::mem::take(&mut f.rx_burst) {
                f.rx.poll(now, &mut ack);
            }
            let mut buf = [0u8; 64 * 1024];
            let (from, to, slow) = f.rx_slow;
            let mut budget = if (from..to).contains(&ms) {
                slow
            } else {
                usize::MAX
            };
            while budget > 0
                && let Ok(n) = f.rx.recv(&mut buf[..budget.min(64 * 1024)])
            {
                budget -= n;
                f.received += n;
                if let Load::Interactive(_) = f.load {
                    f.partial.extend_from_slice(&buf[..n]);
                    while f.partial.len() >= MESSAGE {
                        let sent = u64::from_le_bytes(f.partial[..8].try_into().unwrap());
                        f.latencies.push((ms - sent) as u32);
                        f.partial.drain(..MESSAGE);
                    }
                }
            }
            if due(&f.rx, now) {
                f.rx.poll(now, &mut ack);
            }
            if let Load::Bulk(total) = f.load
                && f.received == total
                && f.done.is_none()
            {
                f.done = Some(ms);
            }
            if ms.is_multiple_of(100) {
                f.progress.push((ms, f.received));
            }
        }
        self.ms += 1;
    }

    fn run_for(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    /// Runs until every bulk flow is done, at most `limit` ms; false if some is not.
    fn run_until_done(&mut self, limit: u64) -> bool {
        while self.ms < limit {
            self.step();
            if self
                .flows
                .iter()
                .all(|f| !matches!(f.load, Load::Bulk(_)) || f.done.is_some())
            {
                return true;
            }
        }
        false
    }
}

/// Bytes `f` received between `from` and `to` ms into the run, per second.
fn goodput(f: &Flow, from: u64, to: u64) -> f64 {
    let at = |t: u64| {
        f.progress
            .iter()
            .take_while(|p| p.0 <= t)
            .last()
            .map_or(0, |p| p.1)
    };
    (at(to) - at(from)) as f64 * 1000.0 / (to - from) as f64
}

fn config(congestion: Congestion) -> Config {
    let mut cfg = Config::default();
    cfg.mode = Mode::Fast;
    cfg.congestion = congestion;
    cfg
}

fn study_path(loss: f64) -> LinkConfig {
    LinkConfig::new()
        .delay(ONE_WAY, ONE_WAY)
        .bandwidth(LINK_RATE)
        .buffer(QUEUE)
        .loss(loss)
}

/// What one bulk transfer through the study's path did.
#[derive(Debug)]
struct Bulk {
    ms: u64,
    /// Wire bytes per delivered byte.
    cost: f64,
    /// Goodput over link rate.
    share: f64,
    /// Datagrams the queue dropped, over datagrams sent.
    overflow: f64,
}

fn bulk(cfg: &Config, loss: f64, bytes: usize) -> Bulk {
    let flow = Flow::new(cfg, Load::Bulk(bytes), 0, 0x5EED);
    let mut run = Run::new(study_path(loss), vec![flow], 1);
    assert!(
        run.run_until_done(600_000),
        "transfer did not finish in 10 virtual minutes"
    );
    let f = &run.flows[0];
    let ms = f.done.unwrap();
    let s = run.forward.stats();
    let b = Bulk {
        ms,
        cost: f.wire as f64 / bytes as f64,
        share: bytes as f64 * 1000.0 / ms as f64 / LINK_RATE as f64,
        overflow: s.overflowed as f64 / s.sent as f64,
    };
    eprintln!(
        "{:?} rate_limit {:?} loss {loss}: {} ms, {:.2} wire bytes per delivered byte, \
         goodput {:.1}% of the link, {:.2}% of datagrams dropped at the queue",
        cfg.congestion,
        cfg.rate_limit,
        b.ms,
        b.cost,
        100.0 * b.share,
        100.0 * b.overflow
    );
    b
}

/// 16 MiB (more than 13 s at the link rate) through the study's path at 0, 2, 5 and
/// 10% random loss: with the controller at most 1.3 bytes on the wire per delivered byte
/// (without it 3 or more), at 0% loss at least 85% of the link rate and under 1% of the
/// datagrams dropped at the queue, at 5% loss still at least 70% of it and at 10% 60%.
#[test]
fn bulk_through_a_bottleneck_fills_the_link_not_the_queue() {
    let bytes = 16 << 20;
    for (loss, least_share) in [(0.0, 0.85), (0.02, 0.8), (0.05, 0.7), (0.1, 0.6)] {
        let off = bulk(&config(Congestion::Off), loss, bytes);
        // For the table: a fixed rate just under the link's, set by hand.
        let mut fixed = config(Congestion::Off);
        fixed.rate_limit = Some(1_200_000);
        bulk(&fixed, loss, bytes);
        let bbr = bulk(&config(Congestion::Bbr), loss, bytes);
        assert!(
            bbr.cost <= 1.3,
            "loss {loss}: {:.2} wire bytes per delivered byte",
            bbr.cost
        );
        assert!(
            bbr.share >= least_share,
            "loss {loss}: goodput {:.1}% of the link",
            100.0 * bbr.share
        );
        assert!(bbr.cost < off.cost, "loss {loss}: no better than without");
        if loss == 0.0 {
            assert!(off.cost >= 2.0, "the baseline no longer floods the queue");
            assert!(
                bbr.overflow <= 0.01,
                "{:.2}% dropped at the queue",
                100.0 * bbr.overflow
            );
        }
    }
}

/// Jain's fairness index of `x`: 1 when all equal, 1/n when one takes everything.
fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let squares: f64 = x.iter().map(|v| v * v).sum();
    sum * sum / (x.len() as f64 * squares)
}

/// Two bulk flows through one bottleneck, the second starting 0, 2 or 5 s after the
/// first: over the 30 s after both ran 10 s, they share the link fairly (Jain's index at
/// least 0.9) and together still fill most of it. Without the controller the first flow
/// keeps the queue full and the second gets almost nothing.
#[test]
fn two_flows_share_a_bottleneck_fairly() {
    for (stagger, seed) in [(0, 4), (2_000, 3), (5_000, 6)] {
        for congestion in [Congestion::Off, Congestion::Bbr] {
            let cfg = config(congestion);
            let flows = vec![
                Flow::new(&cfg, Load::Bulk(usize::MAX), 0, 0x1001),
                Flow::new(&cfg, Load::Bulk(usize::MAX), stagger, 0x2002),
            ];
            let mut run = Run::new(study_path(0.0), flows, seed);
            let from = stagger + 10_000;
            run.run_for(from + 30_000);
            let rates: Vec<f64> = run
                .flows
                .iter()
                .map(|f| goodput(f, from, from + 30_000))
                .collect();
            let index = jain(&rates);
            let total: f64 = rates.iter().sum::<f64>() / LINK_RATE as f64;
            let cost = run.flows.iter().map(|f| f.wire).sum::<u64>() as f64
                / run.flows.iter().map(|f| f.received).sum::<usize>() as f64;
            eprintln!(
                "{congestion:?}, second flow {stagger} ms later: goodputs {:.0} and {:.0} B/s, \
                 Jain's index {index:.3}, {:.1}% of the link together, {cost:.2} wire bytes \
                 per delivered byte",
                rates[0],
                rates[1],
                100.0 * total
            );
            if congestion == Congestion::Bbr {
                assert!(index >= 0.9, "stagger {stagger}: Jain's index {index:.3}");
                assert!(total >= 0.8, "together {:.1}% of the link", 100.0 * total);
            }
        }
    }
}

fn percentile(v: &[u32], p: f64) -> u32 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// An interactive flow (a 100-byte message every 50 ms) beside a bulk flow through the
/// same bottleneck: with the controller on the bulk flow, the messages' 99th percentile
/// one-way latency stays within 50 ms of the path's 50 ms; without it the bulk flow keeps
/// the queue full and the messages wait behind it (and are lost with it).
#[test]
fn interactive_flow_beside_bulk_keeps_its_latency() {
    let interactive = config(Congestion::Off);
    let mut fixed = config(Congestion::Off);
    fixed.rate_limit = Some(1_200_000);
    for bulk in [config(Congestion::Off), fixed, config(Congestion::Bbr)] {
        let (congestion, limit) = (bulk.congestion, bulk.rate_limit);
        let flows = vec![
            Flow::new(&bulk, Load::Bulk(usize::MAX), 0, 0x1001),
            Flow::new(&interactive, Load::Interactive(50), 5_000, 0x2002),
        ];
        let mut run = Run::new(study_path(0.0), flows, 5);
        run.run_for(35_000);
        let lat = &run.flows[1].latencies;
        let (p50, p99, worst) = (
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            *lat.iter().max().unwrap(),
        );
        eprintln!(
            "bulk {congestion:?} rate_limit {limit:?}: interactive one-way latency p50 {p50} ms, p99 {p99} ms, \
             worst {worst} ms over {} messages; bulk goodput {:.0} B/s",
            lat.len(),
            goodput(&run.flows[0], 5_000, 35_000)
        );
        if congestion == Congestion::Bbr {
            assert!(p99 <= ONE_WAY + 50, "p99 {p99} ms");
        }
    }
}

/// The bottleneck's rate halves 10 s into a transfer and comes back 10 s later: the
/// controller follows it both ways within a few seconds (BBR's probes grow the rate by a
/// quarter every eight round trips), without flooding the queue in between.
#[test]
fn the_rate_follows_a_bandwidth_step_down_and_up() {
    let flow = Flow::new(&config(Congestion::Bbr), Load::Bulk(usize::MAX), 0, 0x5EED);
    let mut run = Run::new(study_path(0.0), vec![flow], 7);
    run.run_for(10_000);
    let before = run.forward.stats();
    run.forward
        .set_config(study_path(0.0).bandwidth(LINK_RATE / 2));
    run.run_for(10_000);
    let during = run.forward.stats();
    run.forward.set_config(study_path(0.0));
    run.run_for(10_000);
    let f = &run.flows[0];
    let (high, low, back) = (
        goodput(f, 5_000, 10_000) / LINK_RATE as f64,
        goodput(f, 12_000, 20_000) / (LINK_RATE / 2) as f64,
        goodput(f, 24_000, 30_000) / LINK_RATE as f64,
    );
    let dropped =
        (during.overflowed - before.overflowed) as f64 / (during.sent - before.sent) as f64;
    eprintln!(
        "share of the link: {:.1}% before the step, {:.1}% 2-10 s after it down, {:.1}% \
         4-10 s after it up; {:.2}% of datagrams dropped at the queue while halved",
        100.0 * high,
        100.0 * low,
        100.0 * back,
        100.0 * dropped
    );
    assert!(high >= 0.85 && low >= 0.85 && back >= 0.85);
    // The queue overflows for the round trips it takes to see the step (BBR ignores
    // loss); not for long.
    assert!(dropped <= 0.05, "{:.2}% dropped", 100.0 * dropped);
}

/// The receiving application reads slowly for 4 s (a third of the link's rate), so the
/// peer's window, not the path, holds the sender back: the samples taken then do not
/// count as the path's rate, and the flow is back at the link's rate soon after the reader
/// catches up.
#[test]
fn a_slow_reader_does_not_lower_the_estimate() {
    let mut flow = Flow::new(&config(Congestion::Bbr), Load::Bulk(usize::MAX), 0, 0x5EED);
    flow.rx_slow = (8_000, 12_000, 400);
    let mut run = Run::new(study_path(0.0), vec![flow], 9);
    run.run_for(17_000);
    let f = &run.flows[0];
    let (before, slow, after) = (
        goodput(f, 4_000, 8_000) / LINK_RATE as f64,
        goodput(f, 9_000, 11_900) / LINK_RATE as f64,
        goodput(f, 13_000, 17_000) / LINK_RATE as f64,
    );
    eprintln!(
        "share of the link: {:.1}% before, {:.1}% while the reader was slow, {:.1}% from \
         1 s after it caught up",
        100.0 * before,
        100.0 * slow,
        100.0 * after
    );
    assert!(slow <= 0.35, "the slow reader did not hold the sender back");
    assert!(after >= 0.85, "{:.1}% after the slow reader", 100.0 * after);
}

/// With `rate_limit` set as well, the lower of the two rates applies: through the study's
/// path with a limit at half its rate, the sender keeps to the limit.
#[test]
fn rate_limit_caps_the_controller() {
    let limit = 600_000;
    let mut cfg = config(Congestion::Bbr);
    cfg.rate_limit = Some(limit);
    let flow = Flow::new(&cfg, Load::Bulk(usize::MAX), 0, 0x5EED);
    let mut run = Run::new(study_path(0.0), vec![flow], 11);
    run.run_for(10_000);
    let wire = run.flows[0].wire as f64 / 10.0;
    eprintln!("limit {limit} B/s: sent {wire:.0} B/s");
    assert!(wire <= f64::from(limit) * 1.01, "sent {wire:.0} B/s");
    assert!(wire >= f64::from(limit) * 0.9, "sent {wire:.0} B/s");
}

/// A short, fast path (50 MB/s, 2 ms round trip, no loss) to a receiver that acknowledges
/// at its flush interval as kcp-go does without `ack_nodelay` (30 ms in mode fast), so the
/// acknowledgements arrive in batches up to 15 times the path's round trip apart: the
/// controller must size the flight for the batches, not for the minimum round trip, and
/// must not read the batches' delay as a queue. It gets at least 80% of what the same
/// transfer gets without a controller.
#[test]
fn acknowledgements_at_the_peers_interval_do_not_starve_a_short_path() {
    let bytes = 32 << 20;
    let mut rcfg = Config::default();
    rcfg.batch_acks = false;
    let mut ms = Vec::new();
    for congestion in [Congestion::Off, Congestion::Bbr] {
        let flow = Flow::with_receiver(&config(congestion), &rcfg, Load::Bulk(bytes), 0, 0x5EED);
        let path = LinkConfig::new()
            .delay(1, 1)
            .bandwidth(50_000_000)
            .buffer(1 << 20);
        let mut run = Run::new(path, vec![flow], 13);
        assert!(
            run.run_until_done(600_000),
            "{congestion:?}: not done in 10 minutes"
        );
        let f = &run.flows[0];
        let t = f.done.unwrap();
        eprintln!(
            "{congestion:?}: {bytes} bytes in {t} ms, {:.2} wire bytes per delivered byte",
            f.wire as f64 / bytes as f64
        );
        ms.push(t);
    }
    assert!(
        ms[1] as f64 <= ms[0] as f64 / 0.8,
        "Bbr took {} ms, off {} ms",
        ms[1],
        ms[0]
    );
}
