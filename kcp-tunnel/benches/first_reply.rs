//! What the server's amplification limit costs a client: the latency of a first request and
//! its reply through the tunnel, over a path with a one-way delay. Client/server pairs:
//! ours with our server's default limit (`ours/ours 3`, `--amplification-limit 3`) and
//! without it (`ours/ours 0`, kcptun's behaviour); kcptun 20210922's `kcptun-client` and
//! `kcptun-server` (`kcptun/kcptun`); and `kcptun-client` in front of our server with and
//! without the limit (`kcptun/ours 3`, `kcptun/ours 0`): kcp-go acknowledges at its next
//! flush interval, which the proof waits for.
//!
//! Each repetition starts a new tunnel client process, so the request opens a new KCP
//! session: the limit holds only until the client has proven its address, which its first
//! acknowledgement of the server's data does. Once the client listens (read from
//! `/proc/net/tcp`, not by connecting, which would open a session), a TCP connection to it
//! writes a 16-byte request; the target answers with `R` bytes (1 KiB, 64 KiB, 1 MiB,
//! incompressible). Recorded: the time from the write to the first reply byte and to the
//! whole reply, checked byte for byte. Between the tunnel client and the server runs
//! kcp-testkit's UDP relay, delaying each datagram by `--delay` ms each way (and losing
//! `--loss` percent of them, in a second setting). The pairs take turns within each round,
//! so a busy moment of the machine falls on all of them.
//!
//! Both ends: `--key --crypt aes --mode fast --nocomp --smuxver 1` (FEC 10/3 and the
//! windows at kcptun's defaults). The table gives the median and the worst of `--repeat`
//! runs, in milliseconds, and the limit's cost (median with the limit minus median without,
//! per client) in round trips of the path.
//!
//! ```text
//! cargo bench -p kcp-tunnel --bench first_reply -- [--repeat 20] [--delay 20] [--loss 0,1]
//!     [--sizes 1024,65536,1048576] [--each]
//! cargo bench -p kcp-tunnel --bench first_reply -- --test   # 2 runs of one case, as a check
//! ```

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use common::{Proc, free_port, spawn, tcp_listening, udp_bound, wait_for};
use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;
use kcp_testkit::stats::median;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// First-reply latency through the tunnel, with and without the amplification limit
#[derive(Parser, Debug)]
#[command(name = "first_reply")]
struct Args {
    /// Runs per case
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// One-way delay of the path, in milliseconds
    #[arg(long, default_value_t = 20)]
    delay: u32,
    /// Loss settings to run, in percent of datagrams each way
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    loss: Vec<f64>,
    /// Reply sizes to run, in bytes
    #[arg(long, value_delimiter = ',', default_value = "1024,65536,1048576")]
    sizes: Vec<usize>,
    /// Print every run's times as it ends
    #[arg(long)]
    each: bool,
    /// Our binary (default: the kcp-tunnel this benchmark was built with)
    #[arg(long)]
    ours: Option<PathBuf>,
    /// Two runs of one case (ours with the limit, 64 KiB, no loss), as a check
    #[arg(long)]
    test: bool,
    /// Passed by `cargo bench`; no effect
    #[arg(long, hide = true)]
    bench: bool,
}

const KEY: &str = "first-reply";
/// The request: the reply's length (u64, little-endian) and 8 bytes of padding.
const REQUEST: usize = 16;

/// One tunnel: its programs and the server's extra flags.
struct Tunnel {
    name: &'static str,
    client: (PathBuf, Option<&'static str>),
    server: (PathBuf, Option<&'static str>),
    server_flags: &'static [&'static str],
}

impl Tunnel {
    /// Whose client this is.
    fn client_name(&self) -> &'static str {
        if self.client.1.is_some() {
            "ours"
        } else {
            "kcptun"
        }
    }
}

/// The flags both ends take.
fn shared_flags() -> Vec<String> {
    [
        "--key",
        KEY,
        "--crypt",
        "aes",
        "--mode",
        "fast",
        "--nocomp",
        "--smuxver",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// The target: reads a request and answers with the length it asks for, from `data`;
/// then waits for the client to close.
async fn target(data: Arc<Vec<u8>>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let data = Arc::clone(&data);
            tokio::spawn(async move {
                let _ = s.set_nodelay(true);
                let mut req = [0u8; REQUEST];
                if s.read_exact(&mut req).await.is_err() {
                    return;
                }
                let n = u64::from_le_bytes(req[..8].try_into().unwrap()) as usize;
                if s.write_all(&data[..n.min(data.len())]).await.is_err() {
                    return;
                }
                let mut end = [0u8; 1];
                let _ = tokio::time::timeout(Duration::from_secs(30), s.read(&mut end)).await;
            });
        }
    });
    addr
}

/// A tunnel server behind a relay with `link` each way; the relay's address is where
/// clients go.
struct Served {
    _server: Proc,
    relay: Relay,
}

async fn serve(t: &Tunnel, target: SocketAddr, link: &LinkConfig, seed: u64) -> Served {
    let udp = free_port(true);
    let mut args = vec![
        "-l".to_owned(),
        format!("127.0.0.1:{udp}"),
        "-t".into(),
        target.to_string(),
    ];
    args.extend(shared_flags());
    args.extend(t.server_flags.iter().map(|f| f.to_string()));
    let server = spawn(&t.server.0, t.server.1, &args);
    wait_for(&format!("{} server binds", t.name), || udp_bound(udp));
    let upstream = SocketAddr::from(([127, 0, 0, 1], udp));
    let relay = Relay::start(upstream, link.clone(), seed).await.unwrap();
    Served {
        _server: server,
        relay,
    }
}

/// One request through a new client process of `t` to `server`: milliseconds to the first
/// reply byte and to the whole reply.
async fn request(
    (bin, sub): &(PathBuf, Option<&'static str>),
    server: SocketAddr,
    data: &[u8],
) -> Result<(f64, f64), String> {
    let port = free_port(false);
    let mut args = vec![
        "-l".to_owned(),
        format!("127.0.0.1:{port}"),
        "-r".into(),
        server.to_string(),
    ];
    args.extend(shared_flags());
    let client = spawn(bin, *sub, &args);
    // The client must not hear from us before the measured write: wait on the kernel.
    tokio::task::block_in_place(|| wait_for("the client listens", || tcp_listening(port)));
    let got = tokio::time::timeout(Duration::from_secs(60), exchange(port, data))
        .await
        .unwrap_or_else(|_| Err("no whole reply within 60 s".into()));
    drop(client);
    got
}

async fn exchange(port: u16, data: &[u8]) -> Result<(f64, f64), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut req = [0u8; REQUEST];
    req[..8].copy_from_slice(&(data.len() as u64).to_le_bytes());
    let start = Instant::now();
    s.write_all(&req).await.map_err(|e| format!("write: {e}"))?;
    let mut got = vec![0u8; data.len()];
    let mut have = 0;
    let mut first = None;
    while have < got.len() {
        match s.read(&mut got[have..]).await {
            Ok(0) => return Err(format!("closed after {have} of {} bytes", data.len())),
            Ok(n) => {
                first.get_or_insert_with(|| start.elapsed());
                have += n;
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let done = start.elapsed();
    if got != data {
        return Err("the reply differs from what the target sent".into());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(first.unwrap_or(done)), ms(done)))
}

/// The path's round trip as a UDP datagram sees it: the median of 10 echoes through a
/// relay with `link`, in milliseconds.
async fn path_rtt(link: &LinkConfig) -> f64 {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    let relay = Relay::start(echo_addr, link.clone(), 1).await.unwrap();
    let me = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rtts = Vec::new();
    for i in 0..10u8 {
        let start = Instant::now();
        me.send_to(&[i], relay.addr()).await.unwrap();
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_secs(2), me.recv_from(&mut b)).await;
        if matches!(r, Ok(Ok((1, _)))) && b[0] == i {
            rtts.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    task.abort();
    median(&rtts)
}

/// Results of one tunnel in one case, in milliseconds.
#[derive(Default)]
struct Runs {
    first: Vec<f64>,
    done: Vec<f64>,
    failed: Vec<String>,
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn main() {
    let mut args: Args = kcp_tunnel::cli::parse_go_style(Args::command(), std::env::args_os());
    let ours: PathBuf = args
        .ours
        .clone()
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_kcp-tunnel").into());
    let ours_end = |sub| (ours.clone(), Some(sub));
    let kcptun_end = |bin: &str| (PathBuf::from(bin), None);
    let limit_off: &'static [&'static str] = &["--amplification-limit", "0"];
    // (limited, unlimited) pairs for the cost table: indices into `tunnels`.
    let pairs = [(0, 1), (3, 4)];
    let mut tunnels = vec![
        Tunnel {
            name: "ours/ours 3",
            client: ours_end("client"),
            server: ours_end("server"),
            server_flags: &[],
        },
        Tunnel {
            name: "ours/ours 0",
            client: ours_end("client"),
            server: ours_end("server"),
            server_flags: limit_off,
        },
        Tunnel {
            name: "kcptun/kcptun",
            client: kcptun_end("kcptun-client"),
            server: kcptun_end("kcptun-server"),
            server_flags: &[],
        },
        Tunnel {
            name: "kcptun/ours 3",
            client: kcptun_end("kcptun-client"),
            server: ours_end("server"),
            server_flags: &[],
        },
        Tunnel {
            name: "kcptun/ours 0",
            client: kcptun_end("kcptun-client"),
            server: ours_end("server"),
            server_flags: limit_off,
        },
    ];
    if args.test {
        (args.repeat, args.loss, args.sizes) = (2, vec![0.0], vec![64 << 10]);
        tunnels.truncate(1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    let mut data = vec![0u8; largest];
    kcp_testkit::sim::Rng::new(7).fill(&mut data);
    let target_addr = rt.block_on(target(Arc::new(data.clone())));
    let path = LinkConfig::new().delay(args.delay, args.delay);
    let rtt = rt.block_on(path_rtt(&path));
    println!(
        "first reply through the tunnel, each request on a new session: path {} ms each way \
         (RTT {} ms configured, {rtt:.1} ms measured by UDP echo), {} runs per case; \
         --crypt aes --mode fast --nocomp --smuxver 1",
        args.delay,
        2 * args.delay,
        args.repeat
    );
    println!(
        "{:<6} {:>7} {:<14} {:>12} {:>12} {:>12} {:>12} {:>6}",
        "loss",
        "reply",
        "client/server",
        "first med",
        "first worst",
        "whole med",
        "whole worst",
        "failed"
    );
    let mut costs = Vec::new();
    let mut seed = 1;
    for &loss in &args.loss {
        let link = path.clone().loss(loss / 100.0);
        for &size in &args.sizes {
            let mut runs: Vec<Runs> = tunnels.iter().map(|_| Runs::default()).collect();
            // A server per tunnel and case: at most `repeat` sessions each, well under
            // the per-address cap of our server (all clients are on 127.0.0.1).
            let served: Vec<Served> = tunnels
                .iter()
                .map(|t| {
                    seed += 1;
                    rt.block_on(serve(t, target_addr, &link, seed))
                })
                .collect();
            for _ in 0..args.repeat {
                for ((t, s), r) in tunnels.iter().zip(&served).zip(&mut runs) {
                    match rt.block_on(request(&t.client, s.relay.addr(), &data[..size])) {
                        Ok((first, done)) => {
                            if args.each {
                                println!("  {} {}: {first:.1} {done:.1}", t.name, size_name(size));
                            }
                            r.first.push(first);
                            r.done.push(done);
                        }
                        Err(e) => r.failed.push(e),
                    }
                }
            }
            drop(served);
            for (t, r) in tunnels.iter().zip(&runs) {
                let cell = |v: &[f64], f: fn(&[f64]) -> f64| {
                    if v.is_empty() {
                        "-".to_owned()
                    } else {
                        format!("{:.1}", f(v))
                    }
                };
                println!(
                    "{:<6} {:>7} {:<14} {:>12} {:>12} {:>12} {:>12} {:>6}",
                    format!("{loss}%"),
                    size_name(size),
                    t.name,
                    cell(&r.first, median),
                    cell(&r.first, worst),
                    cell(&r.done, median),
                    cell(&r.done, worst),
                    r.failed.len()
                );
                for e in r.failed.iter().take(3) {
                    println!("       failed: {e}");
                }
            }
            for &(l, f) in &pairs {
                let (Some(limited), Some(free)) = (runs.get(l), runs.get(f)) else {
                    continue;
                };
                if limited.done.is_empty() || free.done.is_empty() {
                    continue;
                }
                costs.push((
                    loss,
                    size,
                    tunnels[l].client_name(),
                    (median(&limited.first) - median(&free.first)) / rtt,
                    (median(&limited.done) - median(&free.done)) / rtt,
                ));
            }
        }
    }
    if costs.is_empty() {
        return;
    }
    println!(
        "\nthe limit's cost to a new session: median with --amplification-limit 3 minus \
         median with 0 (our server), in RTTs of {rtt:.1} ms"
    );
    println!(
        "{:<6} {:>7} {:<8} {:>12} {:>12}",
        "loss", "reply", "client", "first byte", "whole reply"
    );
    for (loss, size, client, first, done) in costs {
        println!(
            "{:<6} {:>7} {:<8} {:>12.2} {:>12.2}",
            format!("{loss}%"),
            size_name(size),
            client,
            first,
            done
        );
    }
}
