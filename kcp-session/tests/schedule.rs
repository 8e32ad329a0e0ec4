//! The session's update schedule against the C ikcp: a session runs no timer while KCP is
//! idle and wakes at `next_timeout` otherwise, where ikcp's users call `ikcp_update` every
//! millisecond. Skipping must change nothing: the same traffic, driven once through a
//! [`Session`] on its own schedule and once through the real C ikcp 1.7.1 updated every
//! millisecond (with the same explicit flushes a session makes after input, writes and
//! reads), must put byte-identical datagrams on the wire at the same virtual times. A wrong
//! "idle" (a session left without a timer while a retransmission, an acknowledgement or a
//! window probe was due) shows up as a difference.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use kcp_session::{Config, Mode, SendError, Session};
use kcp_testkit::ikcp::CKcp;
use kcp_testkit::sim::{Endpoint, Link, LinkConfig, Pair, Rng};

const START: u32 = 0xFFFF_8000; // the clock wraps during the tests
const CONV: u32 = 0x0A0B_0C0D;
/// Large enough that one read takes everything KCP holds (no partial messages).
const READ_BUF: usize = 1 << 20;

/// What drives one KCP conversation: a [`Session`] on its own schedule, or the C ikcp
/// updated every millisecond with a session's explicit flushes.
trait Driver {
    fn input(&mut self, now: u32, datagram: &[u8]);
    /// One read into `buf`, as `Session::recv`.
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Writes one message; `false` when the send window is full.
    fn send(&mut self, now: u32, message: &[u8]) -> bool;
    /// Transmits what is due at `now`, as `Session::poll` when `next_timeout` says.
    fn poll(&mut self, now: u32, tx: &mut dyn FnMut(&[u8]));
    /// When `poll` must run next.
    fn next_timer(&self, now: u32) -> Option<u32>;
}

/// The system under test: a session, no timer while idle.
struct SessionDriver(Session);

impl Driver for SessionDriver {
    fn input(&mut self, now: u32, datagram: &[u8]) {
        let _ = self.0.input(now, &mut datagram.to_vec());
    }

    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.0.recv(buf).ok()
    }

    fn send(&mut self, now: u32, message: &[u8]) -> bool {
        match self.0.send(now, message) {
            Ok(n) => {
                assert_eq!(n, message.len(), "messages are small enough to go whole");
                true
            }
            Err(SendError::WouldBlock) => false,
            Err(e) => panic!("send: {e}"),
        }
    }

    fn poll(&mut self, now: u32, tx: &mut dyn FnMut(&[u8])) {
        if self
            .0
            .next_timeout(now)
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            self.0.poll(now, tx);
        }
    }

    fn next_timer(&self, now: u32) -> Option<u32> {
        self.0.next_timeout(now)
    }
}

/// The reference: the C ikcp, `ikcp_update` at every poll and every millisecond, plus the
/// one flush a session's poll makes when an operation asked for it (input that moved
/// `snd_una`, acknowledgements with ack-no-delay or `batch_acks`, a write unless
/// `write_delay`, a read that reopened a full receive window).
struct IkcpDriver {
    kcp: CKcp,
    cfg: Config,
    flush_wanted: bool,
}

impl IkcpDriver {
    /// A control block set up as `Session::new` sets up its KCP.
    fn new(cfg: &Config, now: u32) -> IkcpDriver {
        let settings = cfg.build().unwrap();
        let mut kcp = CKcp::new(CONV);
        assert_eq!(kcp.set_mtu(settings.kcp_mtu() as i32), 0);
        kcp.set_window_size(cfg.snd_wnd as i32, cfg.rcv_wnd as i32);
        let kcp_session::Knobs {
            nodelay,
            interval,
            resend,
            nc,
        } = cfg.mode.knobs();
        kcp.set_nodelay(
            nodelay as i32,
            interval as i32,
            resend as i32,
            i32::from(nc),
        );
        kcp.set_stream(cfg.stream);
        kcp.set_dead_link(cfg.dead_link.unwrap_or(u32::MAX));
        kcp.update(now);
        IkcpDriver {
            kcp,
            cfg: cfg.clone(),
            flush_wanted: false,
        }
    }
}

impl Driver for IkcpDriver {
    fn input(&mut self, now: u32, datagram: &[u8]) {
        self.kcp.set_current(now);
        let una = self.kcp.snd_una();
        self.kcp.input(datagram);
        let acks = self.kcp.ack_pending() > 0 && (self.cfg.ack_nodelay || self.cfg.batch_acks);
        self.flush_wanted |= self.kcp.snd_una() != una || acks;
    }

    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        let full = |k: &CKcp| k.rcv_queue_len() >= k.rcv_wnd();
        let was_full = full(&self.kcp);
        let mut n = 0;
        while self.kcp.peek_size() >= 0 {
            let got = self.kcp.recv(&mut buf[n..]);
            assert!(got >= 0, "READ_BUF holds whatever KCP holds");
            n += got as usize;
            if !self.cfg.stream {
                break;
            }
        }
        self.flush_wanted |= was_full && !full(&self.kcp);
        (n > 0).then_some(n)
    }

    fn send(&mut self, now: u32, message: &[u8]) -> bool {
        if self.kcp.wait_snd() >= self.kcp.snd_wnd() as i32 {
            return false;
        }
        self.kcp.set_current(now);
        assert_eq!(self.kcp.send(message), message.len() as i32);
        self.flush_wanted |= !self.cfg.write_delay;
        true
    }

    fn poll(&mut self, now: u32, tx: &mut dyn FnMut(&[u8])) {
        if std::mem::take(&mut self.flush_wanted) {
            self.kcp.set_current(now);
            self.kcp.flush();
        }
        self.kcp.update(now);
        for d in self.kcp.take_output() {
            tx(&d);
        }
    }

    fn next_timer(&self, now: u32) -> Option<u32> {
        Some(now)
    }
}

/// The application on one side: writes scheduled messages, reads except while paused, and
/// (as a responder) answers every message it reads.
struct App<D> {
    driver: D,
    /// Messages to write at (virtual ms since the start), in order.
    script: VecDeque<(u64, Vec<u8>)>,
    /// Written when the window allows, in order.
    queue: VecDeque<Vec<u8>>,
    /// Reading stops during these spans of virtual ms.
    pauses: Vec<Range<u64>>,
    /// Answers each read with a message this many times longer (0: no answers).
    answer: usize,
    burst: bool,
    buf: Vec<u8>,
    /// Bytes read and answered, and every datagram transmitted with its virtual time.
    read: usize,
    answered: usize,
    sent: Vec<(u64, Vec<u8>)>,
}

fn elapsed(now: u32) -> u64 {
    u64::from(now.wrapping_sub(START))
}

impl<D: Driver> App<D> {
    fn new(driver: D) -> App<D> {
        App {
            driver,
            script: VecDeque::new(),
            queue: VecDeque::new(),
            pauses: Vec::new(),
            answer: 0,
            burst: false,
            buf: vec![0; READ_BUF],
            read: 0,
            answered: 0,
            sent: Vec::new(),
        }
    }

    fn paused(&self, at: u64) -> bool {
        self.pauses.iter().any(|p| p.contains(&at))
    }
}

/// Runs `f` with a transmit function that logs each datagram before passing it on.
fn logged<R>(
    sent: &mut Vec<(u64, Vec<u8>)>,
    now: u32,
    transmit: &mut dyn FnMut(&[u8]),
    f: impl FnOnce(&mut dyn FnMut(&[u8])) -> R,
) -> R {
    f(&mut |d: &[u8]| {
        sent.push((elapsed(now), d.to_vec()));
        transmit(d);
    })
}

impl<D: Driver> Endpoint for App<D> {
    fn receive(&mut self, now: u32, datagram: &[u8], _transmit: &mut dyn FnMut(&[u8])) {
        self.driver.input(now, datagram);
        self.burst = true;
    }

    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        let at = elapsed(now);
        let burst = std::mem::take(&mut self.burst);
        let paused = self.paused(at);
        while self.script.front().is_some_and(|(t, _)| *t <= at) {
            let (_, m) = self.script.pop_front().unwrap();
            self.queue.push_back(m);
        }
        let App {
            driver,
            queue,
            answer,
            read,
            answered,
            sent,
            buf,
            ..
        } = self;
        logged(sent, now, transmit, |tx| {
            // As the tokio driver: a burst is polled before the application runs.
            if burst {
                driver.poll(now, tx);
            }
            if !paused {
                while let Some(n) = driver.recv(buf) {
                    *read += n;
                    if *answer > 0 {
                        let len = (n * *answer).min(4000);
                        *answered += len;
                        queue.push_back(Rng::new(*read as u64).bytes(len));
                    }
                }
            }
            while let Some(m) = queue.front() {
                if !driver.send(now, m) {
                    break;
                }
                queue.pop_front();
            }
            driver.poll(now, tx);
        });
    }

    fn next_tick(&self, now: u32) -> Option<u32> {
        let at = elapsed(now);
        if self.burst || !self.queue.is_empty() {
            return Some(now);
        }
        // Reading resumes at the end of a pause; scripted writes fall due.
        let resume = self
            .pauses
            .iter()
            .filter(|p| (p.start..=p.end).contains(&at))
            .map(|p| p.end)
            .min();
        let write = self.script.front().map(|(t, _)| *t);
        let app = [resume, write]
            .into_iter()
            .flatten()
            .min()
            .map(|t| START.wrapping_add(t as u32));
        let timer = self.driver.next_timer(now);
        // Data that arrived while paused is read at the next tick after the pause; a
        // driver without a timer (idle) still gets the ticks the application needs.
        match (app, timer) {
            (Some(a), Some(t)) => Some(if (a.wrapping_sub(t) as i32) < 0 { a } else { t }),
            (a, t) => a.or(t),
        }
    }
}

/// The script: request messages from a, answered by b four times longer, in bursts with
/// idle gaps of 0.5 s, 12 s (longer than ikcp's 10 s clock resynchronisation) and 20 s,
/// with a's reading paused long enough for its receive window to fill. Twice, a writes
/// exactly one receive window of full segments while b is not reading: a then waits on
/// b's zero window with nothing else to do, probes it, and is idle when it reopens.
fn script(app: &mut App<impl Driver>, max_message: usize, mss: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let bursts = [
        (0u64, 40u64, None),
        (2_800, 10, None),
        (15_000, 300, None),
        (40_000, 128, Some(mss)),
        (70_000, 128, Some(mss)),
        (95_000, 15, None),
    ];
    for (start, count, size) in bursts {
        for i in 0..count {
            let len = size.unwrap_or_else(|| rng.range_usize(1, max_message));
            app.script.push_back((start + i * 7, rng.bytes(len)));
        }
    }
    app.pauses = vec![150..2_300, 95_050..96_000];
}

/// When b does not read: a's bursts fill its window.
const B_PAUSES: [Range<u64>; 3] = [15_000..25_000, 40_000..55_000, 70_000..80_000];

type Log = Vec<(u64, Vec<u8>)>;

/// Runs the script with side a driven by `a`; returns what each side transmitted, how
/// many bytes a read and how many b answered with.
fn run<D: Driver>(cfg: &Config, link: &LinkConfig, seed: u64, a: D) -> (Log, Log, usize, usize) {
    let mut a = App::new(a);
    let max_message = if cfg.stream { 1300 } else { 4000 };
    let mss = cfg.build().unwrap().kcp_mtu() - kcp_core::OVERHEAD;
    script(&mut a, max_message, mss, seed);
    let mut b = App::new(IkcpDriver::new(cfg, START));
    b.answer = 4;
    b.pauses = B_PAUSES.to_vec();
    let mut p = Pair::new(
        a,
        b,
        Link::new(link.clone(), seed),
        Link::new(link.clone(), seed ^ 0x5A),
        START,
    );
    p.run_for(110_000);
    (p.a.sent, p.b.sent, p.a.read, p.b.answered)
}

fn lossy() -> LinkConfig {
    LinkConfig::new()
        .delay(10, 30)
        .loss(0.10)
        .duplicate(0.01)
        .reorder(0.02, 20)
}

/// Session settings the C ikcp can reproduce: no cipher, no FEC, no timers of the session
/// layer, and ikcp's own recovery (the opt-in window recovery, back-off and early
/// retransmission are off).
fn plain(mode: Mode) -> Config {
    {
        let mut c = Config::default();
        c.mode = mode;
        c.rcv_wnd = 128;
        c.snd_wnd = 64;
        c.idle_timeout = None;
        c.dead_link = None;
        c.window_recovery = false;
        c.linear_backoff = false;
        c.early_retransmit = false;
        c.strict_acks = false;
        c.linger = Duration::from_secs(1);
        c
    }
}

#[test]
fn skipping_idle_updates_sends_what_ikcp_updated_every_millisecond_sends() {
    let manual = Mode::Manual {
        nodelay: 0,
        interval: 100,
        resend: 0,
        nc: false,
    };
    let cases = [
        plain(Mode::Fast),
        {
            let mut c = plain(Mode::Fast3);
            c.stream = false;
            c
        },
        {
            let mut c = plain(Mode::Normal);
            c.ack_nodelay = true;
            c.batch_acks = false;
            c
        },
        {
            let mut c = plain(manual);
            c.write_delay = true;
            c.stream = false;
            c
        },
        {
            let mut c = plain(Mode::Fast2);
            c.batch_acks = false;
            c
        },
    ];
    for (i, cfg) in cases.iter().enumerate() {
        let seed = 100 + i as u64;
        let session = Session::new(CONV, &cfg.build().unwrap(), START, [7; 32]);
        let (ours_a, ours_b, ours_read, _) = run(cfg, &lossy(), seed, SessionDriver(session));
        let (ref_a, ref_b, ref_read, answered) =
            run(cfg, &lossy(), seed, IkcpDriver::new(cfg, START));

        for (what, ours, reference) in [("a", &ours_a, &ref_a), ("b", &ours_b, &ref_b)] {
            if let Some(k) = (0..ours.len().min(reference.len())).find(|&k| ours[k] != reference[k])
            {
                panic!(
                    "case {i} ({cfg:?}): datagram {k} from {what} differs: ours at {} ms \
                     ({} bytes), ikcp at {} ms ({} bytes)",
                    ours[k].0,
                    ours[k].1.len(),
                    reference[k].0,
                    reference[k].1.len()
                );
            }
            assert_eq!(
                ours.len(),
                reference.len(),
                "case {i}: datagrams from {what}"
            );
        }
        // The traffic really happened: every answer arrived, through retransmissions.
        assert!(
            ref_read == answered && answered > 50_000,
            "case {i}: a read {ref_read} of the {answered} bytes b answered"
        );
        assert_eq!(ours_read, ref_read, "case {i}: bytes read");
        assert!(
            ref_a.len() > 100 && ref_b.len() > 100,
            "case {i}: {} and {} datagrams",
            ref_a.len(),
            ref_b.len()
        );
    }
}
