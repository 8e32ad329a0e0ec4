//! Attacks of issue 16 on a tunnel server, run against our server and kcptun 20210922's
//! `kcptun-server` with the same settings, on 127.0.0.1; prints one table.
//!
//! The smux attacks come from a real KCP client with the key (what any user of a shared
//! tunnel, or anyone when the tunnel has no encryption, is) that writes raw smux frames
//! and never reads what the server sends:
//!
//! - `1-byte PSH`: opens a stream whose target stops reading after 4 bytes, then sends
//!   1-byte PSH frames to it for the whole attack;
//! - `SYN flood`: sends SYN frames with new stream ids for the whole attack, to a target
//!   that refuses connections (each refused stream owes the attacker a FIN).
//!
//! The datagram attacks forge or replay KCP datagrams in kcp-go's framing:
//!
//! - `replayed 1st`: a genuine client (through a relay that records it) opens a stream
//!   and asks the target for 1 MiB; its first datagrams, up to the request, are sent again
//!   from a victim's address (127.0.0.3) that never replies and counts what it receives;
//! - `forged 1st`: the same datagrams, but the genuine ones never reached the server (a
//!   forger with the key, or anyone when there is no encryption);
//! - `ACK storm`: a genuine client asks for 1 MiB, takes 256 KiB, then goes silent, and
//!   from its address the attacker sends about 8 KB of datagrams of two repeated ACK
//!   segments for the highest sn the server has sent (early-retransmission abuse);
//!   `ACK none` is the same without the ACKs: what the server sends anyway;
//! - `out-of-order`: from 128 addresses (127.0.2.x), each a session of its own, full-MTU
//!   PUSH segments sn 1 to 1023 (never sn 0), for the server to hold out of order;
//! - `FEC bomb`: 20,000 tiny FEC datagrams a second whose groups (120 data + 120 parity
//!   shards, auto-tuned) each ask for a new 120 x 120 solve; `FEC honest` is an honest
//!   10+3 sender at the same rate, to compare the CPU with.
//!
//! Meanwhile a legitimate client, on a session of its own, checks the server still works:
//! it echoes 64 KiB through the target byte for byte, again and again (for `SYN flood`,
//! whose target refuses everyone, it opens a stream and waits for the server's FIN).
//! Reported per server and attack: the attacker's bytes in (accepted by KCP for the smux
//! attacks, datagram bytes sent for the others), the bytes the server sent to the victim
//! or attacker and their ratio to the bytes in, the server's resident memory growth (peak
//! of `VmRSS` sampled every 50 ms, minus before), the server's CPU seconds per second of
//! attack (`/proc/PID/stat`), and the legitimate rounds that succeeded.
//!
//! ```text
//! cargo bench -p kcp-tunnel --bench attack -- [--seconds 8] [--only NAME]
//! cargo bench -p kcp-tunnel --bench attack -- --test   # 2 s rounds, as a check
//! ```

#[path = "../common/mod.rs"]
mod common;
mod datagram;
mod fec;
mod smux;

use common::{Proc, free_port, spawn, udp_bound, wait_for};
use kcp_testkit::proc_stat::{self, Pid};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use kcp_session::{KcpStream, Settings};
use kcp_tunnel::KcpFlags;
use kcp_tunnel::smux::{MuxConfig, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use smux::Smux;

/// The issue-16 attacks against kcp-tunnel and kcptun servers
#[derive(Parser, Debug)]
#[command(name = "attack")]
struct Args {
    /// Seconds each attack runs
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Our binary (default: the kcp-tunnel this benchmark was built with)
    #[arg(long)]
    ours: Option<PathBuf>,
    /// Run only this attack (its key: psh, syn, replay, forge, ack, ack-none, ooo, fec-honest,
    /// fec-bomb)
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    /// 2-second rounds (and 32 out-of-order sources), as a check
    #[arg(long)]
    test: bool,
    /// Passed by `cargo bench`; no effect
    #[arg(long, hide = true)]
    bench: bool,
}

const KEY: &str = "attack";
/// The target's reply to a connection that starts with `BIG `.
const BIG: usize = 1 << 20;
/// Datagrams per second of the FEC attacks.
const FEC_RATE: u32 = 20_000;
/// How long after an attack its effects are still measured.
const GRACE: Duration = Duration::from_millis(500);

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

/// Starts a server (`sub` is `Some("server")` for ours) on a free UDP port.
fn server(bin: &Path, sub: Option<&str>, target: &str) -> (Proc, u16) {
    let port = free_port(true);
    let args = [
        "-l".to_owned(),
        format!("127.0.0.1:{port}"),
        "-t".to_owned(),
        target.to_owned(),
        "--key".to_owned(),
        KEY.to_owned(),
        "--nocomp".to_owned(),
        // smux v1, kcptun 20210922's default and the attacker's.
        "--smuxver".to_owned(),
        "1".to_owned(),
    ];
    let p = spawn(bin, sub, &args);
    wait_for(&format!("{} bound", bin.display()), || udp_bound(port));
    (p, port)
}

/// The target: echoes every connection, except one that starts with `HOLD`, which it
/// keeps open and never reads again, and one that starts with `BIG `, to which it replies
/// [`BIG`] bytes and keeps open.
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
                if &head == b"BIG " {
                    let _ = s.write_all(&vec![b'b'; BIG]).await;
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

/// The attacks, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attack {
    Smux(Smux),
    /// A genuine client's first datagrams replayed from a victim's address.
    Replayed,
    /// The same, never seen by the server before.
    Forged,
    /// Repeated ACKs from a silent client (`false`: the baseline without them).
    AckStorm(bool),
    /// Full-MTU PUSH segments held out of order, from many addresses.
    OutOfOrder,
    /// Tiny FEC datagrams at a fixed rate: the bomb (`true`) or an honest sender.
    Fec(bool),
}

const ATTACKS: [Attack; 9] = [
    Attack::Smux(Smux::OneBytePsh),
    Attack::Smux(Smux::SynFlood),
    Attack::Replayed,
    Attack::Forged,
    Attack::AckStorm(true),
    Attack::AckStorm(false),
    Attack::OutOfOrder,
    Attack::Fec(false),
    Attack::Fec(true),
];

impl Attack {
    fn name(self) -> &'static str {
        match self {
            Attack::Smux(Smux::OneBytePsh) => "1-byte PSH",
            Attack::Smux(Smux::SynFlood) => "SYN flood",
            Attack::Replayed => "replayed 1st",
            Attack::Forged => "forged 1st",
            Attack::AckStorm(true) => "ACK storm",
            Attack::AckStorm(false) => "ACK none",
            Attack::OutOfOrder => "out-of-order",
            Attack::Fec(false) => "FEC honest",
            Attack::Fec(true) => "FEC bomb",
        }
    }

    /// The name `--only` takes.
    fn key(self) -> &'static str {
        match self {
            Attack::Smux(Smux::OneBytePsh) => "psh",
            Attack::Smux(Smux::SynFlood) => "syn",
            Attack::Replayed => "replay",
            Attack::Forged => "forge",
            Attack::AckStorm(true) => "ack",
            Attack::AckStorm(false) => "ack-none",
            Attack::OutOfOrder => "ooo",
            Attack::Fec(false) => "fec-honest",
            Attack::Fec(true) => "fec-bomb",
        }
    }
}

/// A legitimate client's rounds until `stop`: (succeeded, tried). With `refused`, the
/// target refuses everyone and a round is a stream the server ends with a FIN.
async fn legit(refused: bool, server: u16, stop: Arc<AtomicBool>) -> (u64, u64) {
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
            if refused {
                let mut buf = [0u8; 16];
                return (s.read(&mut buf).await.ok()? == 0).then_some(());
            }
            let (mut rd, mut wr) = tokio::io::split(s);
            let sent = data.clone();
            let writer = async move { wr.write_all(&sent).await };
            let mut got = vec![0u8; data.len()];
            let (w, r) = tokio::join!(writer, rd.read_exact(&mut got));
            (w.is_ok() && r.is_ok() && got == data).then_some(())
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
    /// The attacker's bytes in.
    sent: u64,
    /// The server's bytes to the victim or attacker, where that is what the attack is for.
    out: Option<u64>,
    rss_growth: u64,
    cpu_per_s: f64,
    legit: (u64, u64),
}

/// Runs the attack until `until`: (bytes in, bytes out where measured).
async fn run(kind: Attack, port: u16, until: Instant, sources: u8) -> (u64, Option<u64>) {
    match kind {
        Attack::Smux(s) => (smux::attack(s, port, until).await, None),
        Attack::Replayed | Attack::Forged => {
            let f = datagram::first_datagram(port, until, kind == Attack::Replayed).await;
            (f.sent, Some(f.out))
        }
        Attack::AckStorm(acks) => {
            let f = datagram::ack_storm(port, until, acks).await;
            (f.sent, Some(f.out))
        }
        Attack::OutOfOrder => {
            // At most 200 MB (128 sources of 1023 full-MTU segments send 177 MB).
            let flood = move || datagram::out_of_order(port, until, sources, 200_000_000);
            (tokio::task::spawn_blocking(flood).await.unwrap(), None)
        }
        Attack::Fec(bomb) => {
            let send = move || fec::fec(port, until, FEC_RATE, bomb);
            (tokio::task::spawn_blocking(send).await.unwrap(), None)
        }
    }
}

/// `n` bytes, short: B under 10 KB, then KB, then MB.
fn bytes(n: u64) -> String {
    match n {
        0..10_000 => format!("{n} B"),
        10_000..10_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn main() {
    let mut args: Args = kcp_tunnel::cli::parse_go_style(Args::command(), std::env::args_os());
    let mut sources = 128;
    if args.test {
        args.seconds = 2;
        sources = 32;
    }
    let attacks: Vec<Attack> = ATTACKS
        .into_iter()
        .filter(|a| {
            args.only
                .as_deref()
                .is_none_or(|o| o == a.key() || o == a.name())
        })
        .collect();
    assert!(!attacks.is_empty(), "--only: no attack {:?}", args.only);
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
    for &kind in &attacks {
        for (name, bin, sub) in &servers {
            let syn = kind == Attack::Smux(Smux::SynFlood);
            let to = if syn {
                refused.clone()
            } else {
                echo.to_string()
            };
            let (proc_, port) = server(bin, *sub, &to);
            std::thread::sleep(Duration::from_millis(200));
            let (rss0, cpu0) = (proc_.rss(), proc_.cpu());
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let until = started + Duration::from_secs(args.seconds);
            let legit_task = rt.spawn(legit(syn, port, Arc::clone(&stop)));
            let attack_task = rt.spawn(run(kind, port, until, sources));
            let mut peak = rss0;
            while Instant::now() < until + GRACE {
                peak = peak.max(proc_.rss());
                std::thread::sleep(Duration::from_millis(50));
            }
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = proc_.cpu() - cpu0;
            stop.store(true, Ordering::Relaxed);
            let (sent, out) = rt.block_on(attack_task).unwrap_or((0, None));
            let legit = rt.block_on(legit_task).unwrap_or((0, 0));
            rows.push(Row {
                server: name,
                attack: kind,
                sent,
                out,
                rss_growth: peak.saturating_sub(rss0),
                cpu_per_s: cpu / elapsed,
                legit,
            });
            drop(proc_);
        }
    }
    println!(
        "attacks on 127.0.0.1, {} s each (+{} ms counted after), both servers with \
         --key {KEY} --nocomp --smuxver 1, otherwise defaults (both: crypt aes, mode fast, \
         mtu 1350, sndwnd/rcvwnd 1024, datashard 10, parityshard 3)",
        args.seconds,
        GRACE.as_millis()
    );
    println!(
        "{:<11} {:<13} {:>10} {:>10} {:>10} {:>14} {:>9} {:>9}",
        "server", "attack", "in", "out", "out/in", "RSS growth MB", "CPU s/s", "legit ok"
    );
    for r in &rows {
        let (out, ratio) = match r.out {
            Some(o) => (
                bytes(o),
                match r.sent {
                    0 => "-".into(),
                    s => format!("{:.1}", o as f64 / s as f64),
                },
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<11} {:<13} {:>10} {:>10} {:>10} {:>14.1} {:>9.2} {:>9}",
            r.server,
            r.attack.name(),
            bytes(r.sent),
            out,
            ratio,
            r.rss_growth as f64 / 1e6,
            r.cpu_per_s,
            format!("{}/{}", r.legit.0, r.legit.1)
        );
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
