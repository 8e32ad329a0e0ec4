//! kcp-crypt's own ciphers against their RustCrypto counterparts, interleaved.
//!
//! The shape is kcp-go's crypt benchmark (encrypt + decrypt of a 1,500-byte buffer, 3,000
//! bytes counted), as in `benches/crypt.rs`. Here the two sides alternate in bursts of
//! about 200 µs (ours then the crate, then the crate then ours, ...) for SECONDS per
//! cipher, so a change in machine load hits both alike, and each pair of bursts gives one
//! speed-up. It prints, per cipher: the median time per iteration of each side, the
//! median speed-up (crate time / our time) and its 10th and 90th percentiles. This is the
//! figure kcp-crypt's rule uses: its own code stays where the median speed-up is at least
//! 1.5x.
//!
//! ```sh
//! cargo bench -p kcp-benches --bench crypt_pairs -- [SECONDS] [NAME...]
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use kcp_benches::crypt::{CIPHERS, MTU, bench_key, random_bytes, rustcrypto_ciphers};
use kcp_crypt::{BlockCrypt, Crypt};

/// Target length of one burst.
const BURST: Duration = Duration::from_micros(200);

/// Runs `iters` iterations of kcp-go's shape on `block`; returns the time per iteration.
fn burst(block: &dyn BlockCrypt, data: &mut [u8], iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        block.encrypt(black_box(&mut *data));
        block.decrypt(black_box(&mut *data));
    }
    start.elapsed().as_secs_f64() / f64::from(iters)
}

/// The `q`-quantile (0..=1) of `values`, which it sorts.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    kcp_testkit::stats::quantile(values, q)
}

fn main() {
    // `cargo bench` passes `--bench`; every other argument is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (seconds, names) = match args.first().and_then(|a| a.parse::<f64>().ok()) {
        Some(s) => (s, &args[1..]),
        None => (2.0, &args[..]),
    };
    let pass = bench_key();
    println!(
        "{:<10} {:>12} {:>14} {:>9} {:>9} {:>9}",
        "cipher", "ours ns", "RustCrypto ns", "speed-up", "p10", "p90"
    );
    for (name, theirs) in rustcrypto_ciphers(&pass) {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let kind = CIPHERS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a kcp-go name")
            .1;
        let crypt = Crypt::new(kind, &pass).expect("pass is 32 bytes");
        let ours = crypt.block_crypt().expect("a framed cipher");
        let mut data = random_bytes(MTU);
        // Calibrate each side's burst to about BURST (after a warm-up).
        let sides: [&dyn BlockCrypt; 2] = [ours, theirs.as_ref()];
        let iters = sides.map(|side| {
            burst(side, &mut data, 100);
            let per = burst(side, &mut data, 100);
            ((BURST.as_secs_f64() / per) as u32).max(1)
        });
        let (mut times, mut speedups) = ([Vec::new(), Vec::new()], Vec::new());
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let mut round = 0usize;
        while Instant::now() < deadline {
            let mut t = [0.0; 2];
            for i in [round % 2, 1 - round % 2] {
                t[i] = burst(sides[i], &mut data, iters[i]);
            }
            times[0].push(t[0]);
            times[1].push(t[1]);
            speedups.push(t[1] / t[0]);
            round += 1;
        }
        let [ours_t, theirs_t] = times.map(|mut t| quantile(&mut t, 0.5) * 1e9);
        println!(
            "{name:<10} {ours_t:>12.0} {theirs_t:>14.0} {:>8.2}x {:>8.2}x {:>8.2}x",
            quantile(&mut speedups, 0.5),
            quantile(&mut speedups, 0.1),
            quantile(&mut speedups, 0.9),
        );
    }
}
