//! The latency scenario of ikcp's own test program (`test.cpp`), run for this crate's
//! `kcp_core::Kcp` and for the real C ikcp 1.7.1 on the same simulated link, in one
//! process, with a virtual clock.
//!
//! The scenario, as in `test.cpp`: two endpoints with windows of 128; every 20 ms the
//! first sends an 8-byte message (sequence number and send time), the second echoes
//! every message back, and the first records the round-trip time until 1000 echoes
//! came back in order. The link loses 10% of datagrams per round trip (5% each way) and
//! delays each one by 30 to 61 ms one way (a round trip of 60 to 125 ms); it delivers in
//! order, holding a datagram back until the one before it has arrived, and holds at most
//! 1000 datagrams per direction. Everything advances in 1 ms steps, like the C program's
//! loop. Three modes:
//!
//! - default: `nodelay(0, 10, 0, 0)`: normal RTO, congestion window on;
//! - normal: `nodelay(0, 10, 0, 1)`: congestion window off;
//! - fast: `nodelay(2, 10, 2, 1)`, plus on the first endpoint a minimum RTO of 10 ms and
//!   fast retransmission after one skipping ACK.
//!
//! Both implementations see the same seeded link, so when they behave identically (as
//! the differential test demands) the columns match exactly. The figures are virtual
//! milliseconds, not a benchmark of either implementation's speed.
//!
//! Run: `cargo run --release -p kcp-examples --example latency --features c-ikcp`
//! Options: `--seed N` (link randomness), `--count N` (echoes to wait for, default 1000),
//! `--loss P` (round-trip loss in percent, default 10), `--rtt MIN MAX` (default 60 125).

use kcp_core::Kcp;
use kcp_testkit::ikcp::CKcp;
use kcp_testkit::sim::{Link, LinkConfig};

/// What the scenario needs from an endpoint, for both implementations.
trait Endpoint {
    fn update(&mut self, now: u32, link: &mut Link);
    fn send(&mut self, data: &[u8]);
    fn input(&mut self, datagram: &[u8]);
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize>;
}

impl Endpoint for Kcp {
    fn update(&mut self, now: u32, link: &mut Link) {
        Kcp::update(self, now, |d: &mut [u8]| link.send(now, &*d));
    }
    fn send(&mut self, data: &[u8]) {
        Kcp::send(self, data).expect("an 8-byte message fits");
    }
    fn input(&mut self, datagram: &[u8]) {
        // The link only carries this conversation's datagrams; input cannot fail.
        Kcp::input(self, datagram).expect("well-formed datagram");
    }
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        Kcp::recv(self, buf).ok()
    }
}

impl Endpoint for CKcp {
    fn update(&mut self, now: u32, link: &mut Link) {
        CKcp::update(self, now);
        for d in self.take_output() {
            link.send(now, d);
        }
    }
    fn send(&mut self, data: &[u8]) {
        assert_eq!(CKcp::send(self, data), data.len() as i32);
    }
    fn input(&mut self, datagram: &[u8]) {
        assert_eq!(CKcp::input(self, datagram), 0);
    }
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        usize::try_from(CKcp::recv(self, buf)).ok()
    }
}

/// The three modes of `test.cpp`.
#[derive(Clone, Copy)]
enum Mode {
    Default,
    Normal,
    Fast,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::Normal => "normal",
            Mode::Fast => "fast",
        }
    }
}

/// Link parameters (the `LatencySimulator` arguments of `test.cpp`).
struct Setup {
    seed: u64,
    count: u32,
    /// Round-trip loss in percent.
    loss: f64,
    rtt_min: u32,
    rtt_max: u32,
}

impl Setup {
    /// One direction: half the round-trip loss and half the round-trip delay.
    fn link(&self, direction: u64) -> Link {
        let cfg = LinkConfig::new()
            .loss(self.loss / 200.0)
            .delay(
                self.rtt_min / 2,
                (self.rtt_max / 2).max(self.rtt_min / 2 + 1) - 1,
            )
            .queue_limit(1000);
        Link::new(cfg, self.seed.wrapping_mul(31).wrapping_add(direction))
    }
}

/// What one run measured.
struct Outcome {
    avg_rtt: u64,
    max_rtt: u32,
    elapsed: u32,
    /// Datagrams the first endpoint transmitted.
    tx: u64,
}

fn run<E: Endpoint>(setup: &Setup, mut k1: E, mut k2: E) -> Outcome {
    let mut p12 = setup.link(1);
    let mut p21 = setup.link(2);
    let start: u32 = 1_000_000;
    let mut current = start;
    let mut slap = current + 20;
    let mut index: u32 = 0;
    let mut next: u32 = 0;
    let mut sum_rtt: u64 = 0;
    let mut count: u64 = 0;
    let mut max_rtt: u32 = 0;
    let mut buf = [0u8; 2000];
    loop {
        current += 1;
        k1.update(current, &mut p12);
        k2.update(current, &mut p21);
        while current >= slap {
            let mut msg = [0u8; 8];
            msg[..4].copy_from_slice(&index.to_le_bytes());
            msg[4..].copy_from_slice(&current.to_le_bytes());
            index += 1;
            k1.send(&msg);
            slap += 20;
        }
        while let Some(d) = p12.poll(current) {
            k2.input(&d);
        }
        while let Some(d) = p21.poll(current) {
            k1.input(&d);
        }
        while let Some(n) = k2.recv(&mut buf[..10]) {
            let echo = buf[..n].to_vec();
            k2.send(&echo);
        }
        while let Some(n) = k1.recv(&mut buf[..10]) {
            assert_eq!(n, 8, "echo of an 8-byte message");
            let sn = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
            let ts = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
            assert_eq!(sn, next, "echoes arrive in order");
            let rtt = current - ts;
            next += 1;
            sum_rtt += u64::from(rtt);
            count += 1;
            max_rtt = max_rtt.max(rtt);
        }
        if next > setup.count {
            break;
        }
    }
    Outcome {
        avg_rtt: sum_rtt / count,
        max_rtt,
        elapsed: current - start,
        tx: p12.stats().sent,
    }
}

fn configure_ours(mode: Mode) -> (Kcp, Kcp) {
    let mut k1 = Kcp::new(0x1122_3344);
    let mut k2 = Kcp::new(0x1122_3344);
    for k in [&mut k1, &mut k2] {
        k.set_window_size(128, 128).expect("valid windows");
        match mode {
            Mode::Default => k.set_nodelay(0, 10, 0, false),
            Mode::Normal => k.set_nodelay(0, 10, 0, true),
            Mode::Fast => k.set_nodelay(2, 10, 2, true),
        }
    }
    if let Mode::Fast = mode {
        k1.set_min_rto(10);
        k1.set_fast_resend(1);
    }
    (k1, k2)
}

fn configure_c(mode: Mode) -> (CKcp, CKcp) {
    let mut k1 = CKcp::new(0x1122_3344);
    let mut k2 = CKcp::new(0x1122_3344);
    for k in [&mut k1, &mut k2] {
        k.set_window_size(128, 128);
        match mode {
            Mode::Default => k.set_nodelay(0, 10, 0, 0),
            Mode::Normal => k.set_nodelay(0, 10, 0, 1),
            Mode::Fast => k.set_nodelay(2, 10, 2, 1),
        };
    }
    if let Mode::Fast = mode {
        k1.set_min_rto(10);
        k1.set_fast_resend(1);
    }
    (k1, k2)
}

/// The latency scenario of ikcp's test.cpp, for kcp-core and the C ikcp on one
/// simulated link
#[derive(clap::Parser, Debug)]
#[command(name = "latency")]
struct Args {
    /// Seed of the link's randomness
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Echoes to wait for
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
    /// Round-trip loss in percent, 0..=100
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0, value_parser = percent)]
    loss: f64,
    /// Round-trip time range in ms, MIN <= MAX
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], default_values_t = [60, 125])]
    rtt: Vec<u32>,
}

fn percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        Ok(_) => Err("must be within 0..=100".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_args() -> Setup {
    use clap::{CommandFactory, Parser};
    let args = Args::parse_from(kcp_tunnel::cli::go_style(
        &Args::command(),
        std::env::args_os(),
    ));
    let (rtt_min, rtt_max) = (args.rtt[0], args.rtt[1]);
    if rtt_max < rtt_min {
        Args::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                "--rtt needs MIN <= MAX",
            )
            .exit();
    }
    Setup {
        seed: args.seed,
        count: args.count,
        loss: args.loss,
        rtt_min,
        rtt_max,
    }
}

fn main() {
    let setup = parse_args();
    println!(
        "test.cpp latency scenario: {} echoes of an 8-byte message every 20 ms, windows 128,\n\
         {}% round-trip loss, round trip {}..{} ms, link seed {}; times in virtual ms\n",
        setup.count, setup.loss, setup.rtt_min, setup.rtt_max, setup.seed
    );
    println!(
        "{:<8} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>7} {:>7}",
        "mode", "ours avg", "ours max", "C avg", "C max", "ours time", "C time", "ours tx", "C tx"
    );
    println!("{}", "-".repeat(99));
    for mode in [Mode::Default, Mode::Normal, Mode::Fast] {
        let (o1, o2) = configure_ours(mode);
        let ours = run(&setup, o1, o2);
        let (c1, c2) = configure_c(mode);
        let c = run(&setup, c1, c2);
        println!(
            "{:<8} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>7} {:>7}",
            mode.name(),
            ours.avg_rtt,
            ours.max_rtt,
            c.avg_rtt,
            c.max_rtt,
            ours.elapsed,
            c.elapsed,
            ours.tx,
            c.tx
        );
    }
    println!(
        "\nikcp's test.cpp reports (wall clock, its own random link): default avg 740 max 1507, \
         normal avg 156 max 571, fast avg 138 max 392."
    );
}
