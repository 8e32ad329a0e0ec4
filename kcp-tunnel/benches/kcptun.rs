//! Benchmark of `kcp-tunnel` against kcptun 20210922 (Debian's `kcptun-client` and
//! `kcptun-server`), and optionally a third pair (such as kcptun-rust), in one run on
//! 127.0.0.1.
//!
//! For each pair, with kcptun's defaults and with `--nocomp`, over 1 and over 8 TCP
//! connections: `--mib` MiB downloaded (the target sends, the client reads) and uploaded
//! (the client sends, the target counts), incompressible data, each run `--repeat` times.
//! Reported: median and worst throughput, and the CPU time both tunnel processes used per
//! MiB moved (from `/proc/PID/stat`), with ours relative to kcptun's. Then memory, with
//! kcptun's defaults: each program's file size, and the server's resident memory idle,
//! with one client session, with 60 (one client with `--conn 60`, each session opened by
//! a connection and then left idle for 2 s; our server takes at most 64 sessions from one
//! address by default), and at its peak while 8 connections download `--mib` MiB.
//!
//! ```text
//! scripts/bench-tunnel.sh            # the table, with --release
//! cargo bench -p kcp-tunnel --bench kcptun -- [--mib N] [--repeat R] [--conns 1,8]
//!     [--third-client PATH --third-server PATH --third-name NAME]
//! cargo bench -p kcp-tunnel --bench kcptun -- --test   # one short run of each case
//! ```
//!
//! `--test` (which `cargo bench --workspace -- --test` passes to every benchmark) runs each
//! case once with 2 MiB over one connection: a check that both pairs still move data, not
//! a measurement.

mod common;

use common::{Proc, free_port, spawn, tcp_listening, udp_bound, wait_for};
use kcp_testkit::proc_stat::{self, Pid};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use kcp_testkit::stats::median;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// kcp-tunnel against kcptun on loopback: throughput and CPU per MiB
#[derive(Parser, Debug)]
#[command(name = "kcptun")]
struct Args {
    /// MiB per run and direction (split over the connections)
    #[arg(long, default_value_t = 64)]
    mib: u64,
    /// Runs per case
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Our binary (default: the kcp-tunnel this benchmark was built with)
    #[arg(long)]
    ours: Option<PathBuf>,
    /// A third pair's client binary (kcptun-client flags)
    #[arg(long = "third-client")]
    third_client: Option<PathBuf>,
    /// A third pair's server binary (kcptun-server flags)
    #[arg(long = "third-server")]
    third_server: Option<PathBuf>,
    /// The third pair's name in the table
    #[arg(long = "third-name", default_value = "third")]
    third_name: String,
    /// Connection counts to run
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    conns: Vec<u64>,
    /// One short run of each case (2 MiB, one connection), as a check
    #[arg(long)]
    test: bool,
    /// Passed by `cargo bench`; no effect
    #[arg(long, hide = true)]
    bench: bool,
}

/// A tunnel implementation: how to start its client and server.
struct Pair {
    name: String,
    client: (PathBuf, Option<&'static str>),
    server: (PathBuf, Option<&'static str>),
}

impl Proc {
    /// utime + stime in seconds.
    fn cpu(&self) -> f64 {
        proc_stat::cpu_time(Pid::Other(self.0.id())).as_secs_f64()
    }

    /// Resident memory in bytes.
    fn rss(&self) -> u64 {
        proc_stat::rss(Pid::Other(self.0.id()))
    }
}

/// Idle sessions of the memory row: under our server's default cap of 64 sessions per
/// address (`Config::max_sessions_per_ip`), since every client here is 127.0.0.1.
const IDLE_SESSIONS: u64 = 60;

/// A server of `pair` on a free port to `target`, with `extra` flags, bound.
fn start_server(pair: &Pair, target: std::net::SocketAddr, extra: &[String]) -> (Proc, u16) {
    let udp = free_port(true);
    let mut sargs: Vec<String> = vec![
        "-l".into(),
        format!("127.0.0.1:{udp}"),
        "-t".into(),
        target.to_string(),
        "--key".into(),
        "bench".into(),
    ];
    sargs.extend(extra.iter().cloned());
    let server = spawn(&pair.server.0, pair.server.1, &sargs);
    wait_for(&format!("{} server binds", pair.name), || udp_bound(udp));
    (server, udp)
}

/// A client of `pair` to server port `udp` on a free TCP port, with `extra` flags,
/// listening.
fn start_client(pair: &Pair, udp: u16, extra: &[String]) -> (Proc, u16) {
    let port = free_port(false);
    let mut cargs: Vec<String> = vec![
        "-l".into(),
        format!("127.0.0.1:{port}"),
        "-r".into(),
        format!("127.0.0.1:{udp}"),
        "--key".into(),
        "bench".into(),
    ];
    cargs.extend(extra.iter().cloned());
    let client = spawn(&pair.client.0, pair.client.1, &cargs);
    wait_for(&format!("{} client listens", pair.name), || {
        tcp_listening(port)
    });
    (client, port)
}

/// The memory row of `pair`: file size of its server program, and the server's resident
/// memory idle, with 1 and [`IDLE_SESSIONS`] idle sessions, and at its peak during an 8-connection
/// download of `total` bytes.
fn memory(
    pair: &Pair,
    rt: &tokio::runtime::Runtime,
    data: &Arc<Vec<u8>>,
    total: u64,
) -> Result<[u64; 5], String> {
    let which = |p: &PathBuf| -> u64 {
        let found = if p.components().count() > 1 {
            Some(p.clone())
        } else {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join(p))
                .find(|f| f.is_file())
        };
        found
            .and_then(|f| std::fs::metadata(f).ok())
            .map_or(0, |m| m.len())
    };
    let size = which(&pair.server.0);
    let settle = || std::thread::sleep(Duration::from_secs(2));
    let smux: Vec<String> = vec!["--smuxver".into(), "1".into()];
    let mut rows = [size, 0, 0, 0, 0];
    for (i, conns) in [(2, 1u64), (3, IDLE_SESSIONS)] {
        let target_addr = rt.block_on(target(Arc::clone(data)));
        let (server, udp) = start_server(pair, target_addr, &smux);
        settle();
        rows[1] = rows[1].max(server.rss());
        let mut extra = smux.clone();
        extra.extend(["--conn".into(), conns.to_string()]);
        let (client, port) = start_client(pair, udp, &extra);
        // One connection per session (the client takes them round robin) opens it.
        rt.block_on(transfer(port, conns, conns * 1024, b'U', Arc::clone(data)))?;
        settle();
        rows[i] = server.rss();
        if conns == 1 {
            let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let (stop, sampler) = {
                let peak = Arc::clone(&peak);
                let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let done = Arc::clone(&stop);
                let pid = server.0.id();
                let t = std::thread::spawn(move || {
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let r = proc_stat::rss(Pid::Other(pid));
                        peak.fetch_max(r, std::sync::atomic::Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                });
                (stop, t)
            };
            let moved = rt.block_on(transfer(port, 8, total, b'D', Arc::clone(data)));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            sampler.join().unwrap();
            moved?;
            rows[4] = peak.load(std::sync::atomic::Ordering::Relaxed);
        }
        drop((client, server));
    }
    Ok(rows)
}

/// The target: on each connection, reads a command byte and a u64 length: `D` sends that
/// many bytes, `U` reads them; then answers `k` and closes.
async fn target(data: Arc<Vec<u8>>) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let data = Arc::clone(&data);
            tokio::spawn(async move {
                let mut head = [0u8; 9];
                if s.read_exact(&mut head).await.is_err() {
                    return;
                }
                let n = u64::from_le_bytes(head[1..].try_into().unwrap());
                let mut left = n;
                let mut off = 0usize;
                if head[0] == b'D' {
                    while left > 0 {
                        let m = (data.len() - off).min(left as usize).min(64 << 10);
                        if s.write_all(&data[off..off + m]).await.is_err() {
                            return;
                        }
                        off = (off + m) % data.len();
                        left -= m as u64;
                    }
                } else {
                    let mut buf = vec![0u8; 64 << 10];
                    while left > 0 {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(m) => left -= m as u64,
                        }
                    }
                    let _ = s.write_all(b"k").await;
                }
                let _ = s.flush().await;
                // Wait for the client to close first, so nothing is reset.
                let mut end = [0u8; 1];
                let _ = tokio::time::timeout(Duration::from_secs(30), s.read(&mut end)).await;
            });
        }
    });
    addr
}

/// One transfer: `conns` connections, `total` bytes in direction `dir`; seconds taken.
async fn transfer(
    port: u16,
    conns: u64,
    total: u64,
    dir: u8,
    data: Arc<Vec<u8>>,
) -> Result<f64, String> {
    let per = total / conns;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conns {
        let data = Arc::clone(&data);
        set.spawn(async move {
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| e.to_string())?;
            let mut head = [dir; 9];
            head[1..].copy_from_slice(&per.to_le_bytes());
            s.write_all(&head).await.map_err(|e| e.to_string())?;
            let mut left = per;
            if dir == b'D' {
                let mut buf = vec![0u8; 256 << 10];
                while left > 0 {
                    match s.read(&mut buf).await {
                        Ok(0) => return Err(format!("closed with {left} bytes to go")),
                        Ok(m) => left = left.saturating_sub(m as u64),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            } else {
                let mut off = 0usize;
                while left > 0 {
                    let m = (data.len() - off).min(left as usize).min(64 << 10);
                    s.write_all(&data[off..off + m])
                        .await
                        .map_err(|e| e.to_string())?;
                    off = (off + m) % data.len();
                    left -= m as u64;
                }
                let mut k = [0u8; 1];
                s.read_exact(&mut k)
                    .await
                    .map_err(|e| format!("no answer: {e}"))?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Results of one case.
#[derive(Default)]
struct Case {
    mibps: Vec<f64>,
    cpu_per_mib: Vec<f64>,
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn main() {
    let mut args: Args = kcp_tunnel::cli::parse_go_style(Args::command(), std::env::args_os());
    if args.test {
        (args.mib, args.repeat, args.conns) = (2, 1, vec![1]);
    }
    let ours = args
        .ours
        .clone()
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_kcp-tunnel").into());
    let mut pairs = vec![
        Pair {
            name: "kcp-tunnel".into(),
            client: (ours.clone(), Some("client")),
            server: (ours, Some("server")),
        },
        Pair {
            name: "kcptun".into(),
            client: ("kcptun-client".into(), None),
            server: ("kcptun-server".into(), None),
        },
    ];
    if let (Some(c), Some(s)) = (&args.third_client, &args.third_server) {
        pairs.push(Pair {
            name: args.third_name.clone(),
            client: (c.clone(), None),
            server: (s.clone(), None),
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // 1 MiB of splitmix64 output, repeated: incompressible within snappy's 64 KiB blocks.
    let mut data = vec![0u8; 1 << 20];
    kcp_testkit::sim::Rng::new(7).fill(&mut data);
    let data = Arc::new(data);
    let total = args.mib << 20;
    println!(
        "kcp-tunnel vs kcptun on 127.0.0.1: {} MiB per run and direction, {} runs per case, \
         incompressible data; key \"bench\", --smuxver 1, otherwise each program's defaults",
        args.mib, args.repeat
    );
    println!(
        "{:<12} {:<9} {:>5} {:<8} {:>10} {:>10} {:>12}",
        "pair", "settings", "conns", "dir", "MiB/s med", "MiB/s min", "CPU ms/MiB"
    );
    let mut results: Vec<(String, String, u64, &str, Case)> = Vec::new();
    for settings in ["defaults", "nocomp"] {
        // smux v1 on both: kcptun 20210922's default (kcp-tunnel's is v2, as kcptun's
        // last release has it).
        let mut extra: Vec<String> = vec!["--smuxver".into(), "1".into()];
        if settings == "nocomp" {
            extra.push("--nocomp".into());
        }
        for pair in &pairs {
            let target_addr = rt.block_on(target(Arc::clone(&data)));
            let (server, udp) = start_server(pair, target_addr, &extra);
            let (client, port) = start_client(pair, udp, &extra);
            let mut failed = false;
            for &conns in &args.conns {
                for (dir, name) in [(b'D', "download"), (b'U', "upload")] {
                    if failed {
                        break;
                    }
                    let mut case = Case::default();
                    for _ in 0..args.repeat {
                        let cpu0 = client.cpu() + server.cpu();
                        let secs = rt.block_on(async {
                            tokio::time::timeout(
                                Duration::from_secs(120),
                                transfer(port, conns, total, dir, Arc::clone(&data)),
                            )
                            .await
                            .unwrap_or_else(|_| Err("no result in 120 s".into()))
                        });
                        let secs = match secs {
                            Ok(s) => s,
                            Err(e) => {
                                println!(
                                    "{:<12} {settings:<9} {conns:>5} {name:<8} failed: {e}",
                                    pair.name
                                );
                                failed = true;
                                break;
                            }
                        };
                        let cpu = client.cpu() + server.cpu() - cpu0;
                        case.mibps.push(args.mib as f64 / secs);
                        case.cpu_per_mib.push(cpu * 1000.0 / args.mib as f64);
                    }
                    if case.mibps.is_empty() {
                        continue;
                    }
                    println!(
                        "{:<12} {:<9} {:>5} {:<8} {:>10.1} {:>10.1} {:>12.1}",
                        pair.name,
                        settings,
                        conns,
                        name,
                        median(&case.mibps),
                        worst(&case.mibps),
                        median(&case.cpu_per_mib)
                    );
                    results.push((pair.name.clone(), settings.into(), conns, name, case));
                }
            }
            drop((client, server));
        }
    }
    println!(
        "\nmemory, kcptun's defaults (--smuxver 1): server program size, server RSS idle, with 1 \
         and {IDLE_SESSIONS} idle sessions, and its peak while 8 connections download {} MiB",
        args.mib
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "pair", "file MB", "idle MB", "1 sess MB", "60 sess MB", "moving MB"
    );
    let mb = |b: u64| b as f64 / 1e6;
    for pair in &pairs {
        match memory(pair, &rt, &data, total) {
            Ok([size, idle, one, hundred, moving]) => println!(
                "{:<12} {:>10.1} {:>10.1} {:>10.1} {:>12.1} {:>12.1}",
                pair.name,
                mb(size),
                mb(idle),
                mb(one),
                mb(hundred),
                mb(moving)
            ),
            Err(e) => println!("{:<12} memory failed: {e}", pair.name),
        }
    }
    println!(
        "\nkcp-tunnel relative to kcptun (throughput: higher is better; CPU per MiB: lower is better)"
    );
    println!(
        "{:<9} {:>5} {:<8} {:>12} {:>12}",
        "settings", "conns", "dir", "throughput", "CPU/MiB"
    );
    for (name, settings, conns, dir, ours) in &results {
        if name != "kcp-tunnel" {
            continue;
        }
        if let Some((_, _, _, _, theirs)) = results
            .iter()
            .find(|r| r.0 == "kcptun" && &r.1 == settings && r.2 == *conns && r.3 == *dir)
        {
            println!(
                "{:<9} {:>5} {:<8} {:>11.2}x {:>11.2}x",
                settings,
                conns,
                dir,
                median(&ours.mibps) / median(&theirs.mibps),
                median(&ours.cpu_per_mib) / median(&theirs.cpu_per_mib)
            );
        }
    }
}
