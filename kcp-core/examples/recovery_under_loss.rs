//! How the recovery opt-ins change a bulk transfer through loss, on the virtual clock:
//! 8 MiB one way through a 20 Mbit/s path with 50 ms round trip and a 200-datagram queue,
//! random loss each way, kcptun's fast mode (`nc` on, windows of 1024), three seeds per
//! cell. Prints the virtual time to deliver everything and the bytes the sender put on
//! the wire per byte delivered, for ikcp's behaviour, early retransmission (with linear
//! back-off and window recovery), and the same plus strict ACKs (as `kcp-session` runs).
//!
//! `cargo run --release -p kcp-core --example recovery_under_loss`

use kcp_core::Kcp;
use kcp_testkit::sim::{Endpoint, Link, LinkConfig, Pair};

const TOTAL: usize = 8 << 20;

/// One side: a `Kcp` in stream mode, counting what it delivers and what it sends.
struct App {
    kcp: Kcp,
    delivered: usize,
    wire: u64,
    buf: Vec<u8>,
}

impl App {
    fn new(early: bool, strict: bool) -> App {
        let mut kcp = Kcp::new(1);
        kcp.set_nodelay(0, 30, 2, true);
        kcp.set_window_size(1024, 1024).expect("valid windows");
        kcp.set_stream(true);
        kcp.set_linear_backoff(early);
        kcp.set_window_recovery(early);
        kcp.set_early_retransmit(early);
        kcp.set_strict_acks(strict);
        App {
            kcp,
            delivered: 0,
            wire: 0,
            buf: vec![0; 1 << 16],
        }
    }

    fn drain(&mut self) {
        while let Ok(n) = self.kcp.recv(&mut self.buf) {
            self.delivered += n;
        }
    }
}

impl Endpoint for App {
    fn receive(&mut self, now: u32, datagram: &[u8], _transmit: &mut dyn FnMut(&[u8])) {
        self.kcp.set_current(now);
        self.kcp.input(datagram).expect("a datagram of the peer");
        self.drain();
    }

    fn tick(&mut self, now: u32, transmit: &mut dyn FnMut(&[u8])) {
        let wire = &mut self.wire;
        self.kcp.update(now, |d: &mut [u8]| {
            *wire += d.len() as u64;
            transmit(d);
        });
        self.drain();
    }

    fn next_tick(&self, now: u32) -> Option<u32> {
        Some(self.kcp.check(now))
    }
}

fn main() {
    println!("loss  sender          virtual ms per seed     wire bytes per delivered byte");
    for loss in [0.0, 0.01, 0.05, 0.10] {
        for (name, early, strict) in [
            ("ikcp", false, false),
            ("early", true, false),
            ("early+strict", true, true),
        ] {
            let mut times = Vec::new();
            let mut ratios = Vec::new();
            for seed in 1..=3u64 {
                let mut a = App::new(early, strict);
                let chunk = vec![7u8; 1 << 16];
                for _ in 0..TOTAL / chunk.len() {
                    a.kcp.send(&chunk).expect("stream mode takes any size");
                }
                let path = LinkConfig::new()
                    .delay(25, 25)
                    .loss(loss)
                    .bandwidth(2_500_000)
                    .queue_limit(200);
                let mut pair = Pair::new(
                    a,
                    App::new(early, strict),
                    Link::new(path.clone(), seed),
                    Link::new(path, seed + 100),
                    0,
                );
                let done = pair.run_until(600_000, |_, b| b.delivered >= TOTAL);
                assert!(done, "not delivered in 600 s of virtual time");
                times.push(pair.elapsed());
                ratios.push(format!("{:.2}", pair.a.wire as f64 / TOTAL as f64));
            }
            println!(
                "{:>3.0}%  {name:<14}  {:<22}  {}",
                loss * 100.0,
                format!("{times:?}"),
                ratios.join(" ")
            );
        }
    }
}
