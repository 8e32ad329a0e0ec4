//! `netem`: two network namespaces joined by an emulated link (delay, jitter, random or
//! bursty loss, reordering, duplication, a bandwidth cap with a bounded queue), for
//! trying programs over a bad network by hand. Linux, as root.
//!
//! ```text
//! cargo run -p kcp-netem --bin netem -- --delay-ms 50 --loss 0.05 \
//!     --rate-mbit 10 --server 'iperf3 -s -1' --client 'iperf3 -c $NETEM_B'
//! ```
//!
//! `--server` runs in side B and `--client` in side A (both through `sh -c`, with
//! `NETEM_A` and `NETEM_B` set to the two addresses); the run ends when the client exits
//! (or after `--seconds`), and the server is then killed. Without `--client` the link
//! stays up for `--seconds` (or until interrupted) and the program prints how to enter
//! each side with `nsenter`. The namespaces vanish with the process, however it ends.

use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use kcp_netem::{ADDR_A, ADDR_B, Emulator, NetNs, Stats};
use kcp_testkit::sim::{GilbertElliott, LinkConfig, LinkStats};

/// Two network namespaces joined by an emulated link; the same shape both ways.
#[derive(Parser, Debug)]
#[command(name = "netem", version)]
struct Args {
    /// One-way delay in ms.
    #[arg(long, default_value_t = 0)]
    delay_ms: u32,
    /// Extra one-way delay, uniform in 0..=MS; packets keep their order.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u32,
    /// Probability that a packet is lost, each way.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Lose packets in bursts of this mean length (Gilbert-Elliott) at the mean --loss.
    #[arg(long)]
    burst: Option<f64>,
    /// Probability that a packet leaves the queue order.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Largest extra delay (ms) of a reordered packet.
    #[arg(long, default_value_t = 20)]
    reorder_ms: u32,
    /// Probability that a packet is delivered twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Bandwidth cap in Mbit/s each way (0: none).
    #[arg(long, default_value_t = 0.0)]
    rate_mbit: f64,
    /// Queue in front of the bandwidth cap, in ms of transmission at the cap.
    #[arg(long, default_value_t = 100)]
    buffer_ms: u64,
    /// Seed of every random decision.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Shell command to run in side B (started first, killed at the end).
    #[arg(long)]
    server: Option<String>,
    /// Shell command to run in side A; the run ends when it exits.
    #[arg(long)]
    client: Option<String>,
    /// Longest run in seconds (0: no limit).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

impl Args {
    fn link(&self) -> Result<LinkConfig, String> {
        if !(0.0..1.0).contains(&self.loss) {
            return Err(format!("--loss {} must be in [0, 1)", self.loss));
        }
        for (name, p) in [("--reorder", self.reorder), ("--duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} {p} must be in [0, 1]"));
            }
        }
        let mut link = LinkConfig::new()
            .delay(self.delay_ms, self.delay_ms.saturating_add(self.jitter_ms))
            .loss(self.loss)
            .reorder(self.reorder, self.reorder_ms)
            .duplicate(self.duplicate);
        if let Some(burst) = self.burst {
            if burst < 1.0 {
                return Err(format!("--burst {burst} must be at least 1"));
            }
            link = link.burst_loss(GilbertElliott::bursts(self.loss, burst));
        }
        if self.rate_mbit > 0.0 {
            let bytes_per_sec = (self.rate_mbit * 1e6 / 8.0) as u64;
            link = link
                .bandwidth(bytes_per_sec)
                .buffer((bytes_per_sec * self.buffer_ms / 1000).max(3000));
        }
        Ok(link)
    }
}

fn shell(ns: &NetNs, cmd: &str) -> std::io::Result<Child> {
    ns.spawn(
        Command::new("sh")
            .args(["-c", cmd])
            .env("NETEM_A", ADDR_A.to_string())
            .env("NETEM_B", ADDR_B.to_string()),
    )
}

fn describe(name: &str, s: &LinkStats) {
    let rate = |n: u64| {
        if s.sent == 0 {
            0.0
        } else {
            n as f64 * 100.0 / s.sent as f64
        }
    };
    println!(
        "{name}: {} packets ({} bytes) offered, {} lost ({:.2}%), {} dropped by the queue \
         ({:.2}%), {} delivered",
        s.sent,
        s.sent_bytes,
        s.lost,
        rate(s.lost),
        s.overflowed,
        rate(s.overflowed),
        s.delivered
    );
}

fn report(stats: &Stats) {
    describe("A -> B", &stats.a_to_b);
    describe("B -> A", &stats.b_to_a);
    if stats.ignored + stats.write_errors > 0 {
        println!(
            "{} non-IPv4 packets ignored, {} write errors",
            stats.ignored, stats.write_errors
        );
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let link = match args.link() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("netem: {e}");
            return ExitCode::from(2);
        }
    };
    let emu = match Emulator::symmetric(link.clone(), args.seed) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("netem: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("netem: A = {ADDR_A}, B = {ADDR_B}, each way: {link:?}");
    let limit = (args.seconds > 0).then(|| Instant::now() + Duration::from_secs(args.seconds));
    let mut server = match args
        .server
        .as_deref()
        .map(|c| shell(emu.b(), c))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netem: starting the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut code = ExitCode::SUCCESS;
    match args.client.as_deref() {
        Some(cmd) => {
            // Give the server a moment to bind before the client starts.
            if server.is_some() {
                std::thread::sleep(Duration::from_millis(300));
            }
            let mut client = match shell(emu.a(), cmd) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("netem: starting the client: {e}");
                    return ExitCode::FAILURE;
                }
            };
            loop {
                match client.try_wait() {
                    Ok(Some(status)) => {
                        if !status.success() {
                            eprintln!("netem: client exited with {status}");
                            code = ExitCode::FAILURE;
                        }
                        break;
                    }
                    Ok(None) if limit.is_some_and(|l| Instant::now() >= l) => {
                        eprintln!(
                            "netem: client still running after {} s: killed",
                            args.seconds
                        );
                        let _ = client.kill();
                        let _ = client.wait();
                        code = ExitCode::FAILURE;
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    Err(e) => {
                        eprintln!("netem: waiting for the client: {e}");
                        code = ExitCode::FAILURE;
                        break;
                    }
                }
            }
        }
        None => {
            eprintln!(
                "netem: the link is up{}; enter side A with `nsenter --net={} COMMAND` and \
                 side B with `nsenter --net={} COMMAND`",
                limit.map_or(" until interrupted".to_owned(), |_| format!(
                    " for {} s",
                    args.seconds
                )),
                emu.a().path().display(),
                emu.b().path().display(),
            );
            loop {
                if limit.is_some_and(|l| Instant::now() >= l) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    if let Some(s) = server.as_mut() {
        let _ = s.kill();
        let _ = s.wait();
    }
    match emu.stop() {
        Ok(stats) => report(&stats),
        Err(e) => {
            eprintln!("netem: the forwarder failed: {e}");
            code = ExitCode::FAILURE;
        }
    }
    code
}
