//! Two kcp-core endpoints moving data across a simulated lossy link (no sockets: the
//! `demo` example does the same over real UDP with whole sessions).
//!
//! The sender pushes `--bytes` of data in 1000-byte messages through a link with
//! `--loss` random loss, `--delay` one-way delay (plus up to 50% jitter) and `--bandwidth`
//! limit; the receiver checks every byte. Everything runs on a virtual clock, so the run
//! is deterministic for a given `--seed` and takes a fraction of the virtual time.
//!
//! ```text
//! cargo run --release -p kcp-examples --example sim -- [--bytes N] [--loss P] [--delay MS]
//!     [--bandwidth BYTES_PER_SEC] [--mode normal|fast|fast2|fast3] [--seed N]
//! ```

use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser};

use kcp_core::Kcp;
use kcp_testkit::sim::{Endpoint, Link, LinkConfig, Pair, Rng};

/// Size of each message the sender queues.
const MESSAGE: usize = 1000;

/// Two kcp-core endpoints moving data across a simulated lossy link on a virtual clock
#[derive(clap::Parser, Debug)]
#[command(name = "sim")]
struct Options {
    /// Bytes to deliver; K, M, G suffixes
    #[arg(long, value_name = "N", default_value = "16777216", value_parser = bytes)]
    bytes: usize,
    /// Random loss on each direction, in [0, 1)
    #[arg(long, value_name = "P", default_value_t = 0.10, value_parser = loss)]
    loss: f64,
    /// One-way delay in ms (plus up to 50% jitter)
    #[arg(long, value_name = "MS", default_value_t = 30)]
    delay: u32,
    /// Link bandwidth in bytes per second
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = 50_000_000)]
    bandwidth: u64,
    /// normal, fast, fast2 or fast3
    #[arg(long, value_name = "NAME", default_value = "fast3",
          value_parser = ["normal", "fast", "fast2", "fast3"])]
    mode: String,
    /// Seed of the link's randomness and the conversation id
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

fn bytes(s: &str) -> Result<usize, String> {
    let n = kcp_tunnel::cli::parse_size(s)?;
    usize::try_from(n).map_err(|e| e.to_string())
}

fn loss(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..1.0).contains(&p) => Ok(p),
        Ok(_) => Err("must be in [0, 1)".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// kcptun's mode names: (nodelay, interval, resend, no congestion window).
fn profile(mode: &str) -> Result<(u32, u32, u32, bool), String> {
    Ok(match mode {
        "normal" => (0, 40, 2, true),
        "fast" => (0, 30, 2, true),
        "fast2" => (1, 20, 2, true),
        "fast3" => (1, 10, 2, true),
        _ => return Err(format!("unknown mode {mode}")),
    })
}

/// One end of the transfer: a `Kcp` plus what it still has to send or has received.
struct Peer {
    kcp: Kcp,
    /// Bytes still to queue (sender).
    to_send: usize,
    /// Next byte value the pattern produces (sender) or expects (receiver).
    pattern: u8,
    received: usize,
    corrupt: bool,
    buf: Vec<u8>,
}

impl Peer {
    fn new(conv: u32, mode: (u32, u32, u32, bool), to_send: usize) -> Peer {
        let mut kcp = Kcp::new(conv);
        kcp.set_nodelay(mode.0, mode.1, mode.2, mode.3);
        kcp.set_window_size(1024, 1024).expect("valid window");
        kcp.set_mtu(1350).expect("valid mtu");
        Peer {
            kcp,
            to_send,
            pattern: 0,
            received: 0,
            corrupt: false,
            buf: vec![0; MESSAGE * 2],
        }
    }

    /// Queues messages while fewer than two windows are waiting (back-pressure).
    fn fill(&mut self) {
        let limit = 2 * self.kcp.snd_wnd() as usize;
        while self.to_send > 0 && self.kcp.wait_snd() < limit {
            let n = self.to_send.min(MESSAGE);
            for b in &mut self.buf[..n] {
                *b = self.pattern;
                self.pattern = self.pattern.wrapping_mul(31).wrapping_add(7);
            }
            self.kcp
                .send(&self.buf[..n])
                .expect("a 1000-byte message fits");
            self.to_send -= n;
        }
    }

    /// Takes every complete message and checks it against the pattern.
    fn drain(&mut self) {
        while let Ok(n) = self.kcp.recv(&mut self.buf) {
            for &b in &self.buf[..n] {
                self.corrupt |= b != self.pattern;
                self.pattern = self.pattern.wrapping_mul(31).wrapping_add(7);
            }
            self.received += n;
        }
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: u32, datagram: &[u8], transmit: &mut dyn FnMut(&[u8])) {
        self.kcp.set_current(now);
        // A datagram that is not ours is dropped, as a socket layer would.
        let _ = self.kcp.input(datagram);
        self.drain();
        self.fill();
        self.kcp.flush(|d: &mut [u8]| transmit(d));
    }

    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        self.fill();
        self.kcp.update(now, |d: &mut [u8]| transmit(d));
    }

    fn next_tick(&self, now: u32) -> Option<u32> {
        Some(self.kcp.check(now))
    }
}

fn main() -> ExitCode {
    let args = kcp_tunnel::cli::go_style(&Options::command(), std::env::args_os());
    let opts = Options::parse_from(args);
    let mode = match profile(&opts.mode) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("sim: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rng = Rng::new(opts.seed);
    let link = |rng: &mut Rng| {
        let cfg = LinkConfig::new()
            .delay(opts.delay, opts.delay + opts.delay / 2)
            .loss(opts.loss)
            .bandwidth(opts.bandwidth);
        Link::new(cfg, rng.next_u64())
    };
    let conv = rng.next_u32();
    let mut pair = Pair::new(
        Peer::new(conv, mode, opts.bytes),
        Peer::new(conv, mode, 0),
        link(&mut rng),
        link(&mut rng),
        rng.next_u32(),
    );

    println!(
        "kcp-core simulation: {} bytes in {MESSAGE}-byte messages, mode {}, {:.0}% loss each way, \
         {}-{} ms one-way delay, {} MB/s link",
        opts.bytes,
        opts.mode,
        opts.loss * 100.0,
        opts.delay,
        opts.delay + opts.delay / 2,
        opts.bandwidth / 1_000_000
    );
    let wall = Instant::now();
    let total = opts.bytes;
    let done = pair.run_until(3_600_000, |_, b| b.received >= total || b.corrupt);
    let wall = wall.elapsed();

    let (a, b) = (&pair.a, &pair.b);
    let virtual_s = pair.elapsed() as f64 / 1000.0;
    let sa = a.kcp.stats();
    let link = pair.a_to_b.stats();
    println!(
        "delivered      {} of {} bytes, intact: {}",
        b.received, total, !b.corrupt
    );
    println!(
        "virtual time   {virtual_s:.2} s ({:.2} MB/s goodput)",
        b.received as f64 / virtual_s / 1e6
    );
    println!(
        "datagrams      {} sent by the sender, {} lost on the link",
        link.sent, link.lost
    );
    println!(
        "retransmitted  {} segments ({} on timeout, {} fast)",
        sa.retransmits, sa.lost_segs, sa.fast_retransmits
    );
    println!(
        "rtt            srtt {} ms, rto {} ms",
        a.kcp.srtt(),
        a.kcp.rto()
    );
    println!("wall time      {:.2} s", wall.as_secs_f64());
    if done && !b.corrupt && b.received == total {
        ExitCode::SUCCESS
    } else {
        eprintln!("sim: transfer incomplete or corrupt");
        ExitCode::FAILURE
    }
}
