//! Session benchmarks over loopback UDP: sink and echo throughput with CPU time per MiB
//! for kcp-session and for the `tokio_kcp` crate, and the cost of 10,000 idle sessions on
//! one listener for kcp-session and for a kcp-go 5.6.1 listener, in the same run. `scripts/bench-session.sh` prints these rows next
//! to kcp-go's own `go test -bench` figures from the same machine.
//!
//! The shapes follow kcp-go's `BenchmarkSinkSpeed` and `BenchmarkEchoSpeed`: stream mode,
//! NoDelay(1, 10, 2, 1), MTU 1400, windows 1024; sink without cipher or FEC; echo with
//! Salsa20 and FEC 10/3 both ways, the writer and the reader running concurrently (as
//! `peers/session echo-client` does; kcp-go 5.6.1's own echo benchmark is lock-step).
//! `tokio_kcp` has neither cipher nor FEC, so its echo row runs without them.
//!
//! `cargo bench -p kcp-benches --bench session -- [FILTER ...]` runs the rows whose name
//! contains a filter (`sink`, `echo`, `idle`, `kcp-rs`, `tokio_kcp`); sizes from the
//! environment: `KCP_BENCH_SINK_MIB` (default 256), `KCP_BENCH_ECHO_MIB` (64),
//! `KCP_BENCH_IDLE_SESSIONS` (10000), `KCP_BENCH_IDLE_SECS` (10),
//! `KCP_BENCH_ENDPOINT_SESSIONS` (100000, for the sans-io `Endpoint` row),
//! `KCP_BENCH_WAKEUP_MIB` (64, for `wakeups`: task wake-ups of a bulk transfer per MiB).

use std::time::{Duration, Instant};

use kcp_benches::env_usize;
use kcp_crypt::CipherKind;
use kcp_session::{Config, KcpListener, KcpStream, Mode, Session, Settings};
use kcp_testkit::proc_stat::{self, Pid};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;

#[path = "session/wakeups.rs"]
mod wakeups;

const CHUNK: usize = 64 * 1024;

/// CPU time this process has used.
fn cpu_time() -> Duration {
    proc_stat::cpu_time(Pid::This)
}

/// Resident memory of this process, bytes.
fn rss() -> u64 {
    proc_stat::rss(Pid::This)
}

fn report(name: &str, bytes: usize, wall: Duration, cpu: Duration) {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    println!(
        "{name:<28} {:>9.1} MiB/s {:>8.2} ms CPU/MiB",
        mib / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / mib
    );
}

fn settings(crypt: CipherKind, shards: (usize, usize)) -> Settings {
    {
        let mut c = Config::default();
        c.crypt = crypt;
        c.key = b"kcp-bench".to_vec();
        c.data_shards = shards.0;
        c.parity_shards = shards.1;
        c.mtu = 1400;
        c.snd_wnd = 1024;
        c.rcv_wnd = 1024;
        c.mode = Mode::Manual {
            nodelay: 1,
            interval: 10,
            resend: 2,
            nc: true,
        };
        c.ack_nodelay = ack_nodelay();
        c
    }
    .build()
    .expect("benchmark settings are valid")
}

/// `KCP_BENCH_ACKNODELAY=1` runs every row with ack-no-delay on (kcptun `--acknodelay`),
/// to compare with kcp-go peers that set it too.
fn ack_nodelay() -> bool {
    std::env::var("KCP_BENCH_ACKNODELAY").is_ok_and(|v| v == "1")
}

/// kcptun's defaults (aes, FEC 10/3, mode fast, MTU 1350, windows 1024), as
/// `peers/session` runs them without flags.
fn kcptun_settings() -> Settings {
    let mut c = Config::kcptun();
    c.ack_nodelay = ack_nodelay();
    c.build().expect("kcptun's settings are valid")
}

/// Writes `total` bytes to `w` in 64 KiB writes.
async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, total: usize) {
    let buf = vec![0x5Au8; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK);
        w.write_all(&buf[..n]).await.expect("write");
        left -= n;
    }
}

/// Reads exactly `total` bytes from `r`.
async fn read_n<R: AsyncRead + Unpin>(r: &mut R, total: usize) {
    let mut buf = vec![0u8; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = r.read(&mut buf).await.expect("read");
        assert!(n > 0, "stream ended early");
        left -= n;
    }
}

async fn ours_sink(total: usize) {
    let s = settings(CipherKind::Null, (0, 0));
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (start, cpu) = (Instant::now(), cpu_time());
    let client = tokio::spawn(async move {
        let mut c = KcpStream::connect(addr, &s).await.unwrap();
        write_all(&mut c, total).await;
        c
    });
    let (mut srv, _) = listener.accept().await.unwrap();
    read_n(&mut srv, total).await;
    report("kcp-rs sink", total, start.elapsed(), cpu_time() - cpu);
    drop(client.await);
}

/// Bulk transfer (sink, kcptun's settings, paced at `rate` bytes/s if given) with the
/// wake-ups of the sender's writer and the receiver's reader counted, per MiB.
async fn ours_wakeups(name: &str, total: usize, rate: Option<u32>) {
    let mut c = Config::kcptun();
    c.ack_nodelay = ack_nodelay();
    c.rate_limit = rate;
    let s = c.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let c = KcpStream::connect(addr, &s).await.unwrap();
        let mut w = wakeups::Counted::new(c);
        write_all(&mut w, total).await;
        w
    });
    let (srv, _) = listener.accept().await.unwrap();
    let mut r = wakeups::Counted::new(srv);
    read_n(&mut r, total).await;
    let w = client.await.unwrap();
    let mib = total as f64 / f64::from(1u32 << 20);
    let (reads, writes) = (
        r.count.load(std::sync::atomic::Ordering::Relaxed),
        w.count.load(std::sync::atomic::Ordering::Relaxed),
    );
    println!(
        "{name:<28} {:>9.1} reader {:>9.1} writer wake-ups/MiB",
        reads as f64 / mib,
        writes as f64 / mib
    );
}

async fn ours_echo(total: usize) {
    let s = settings(CipherKind::Salsa20, (10, 3));
    echo_row("kcp-rs echo salsa20 fec", &s, total).await;
}

async fn ours_echo_kcptun(total: usize) {
    echo_row("kcp-rs echo kcptun", &kcptun_settings(), total).await;
}

/// Echoes `total` bytes through a listener with settings `s`, the writer and the reader
/// running concurrently, and reports the row.
async fn echo_row(name: &str, s: &Settings, total: usize) {
    let listener = KcpListener::bind("127.0.0.1:0", s).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = s.into_split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
        drop(listener);
    });
    let (start, cpu) = (Instant::now(), cpu_time());
    let c = KcpStream::connect(addr, s).await.unwrap();
    let (mut r, mut w) = c.into_split();
    let writer = tokio::spawn(async move {
        write_all(&mut w, total).await;
        w
    });
    read_n(&mut r, total).await;
    report(name, total, start.elapsed(), cpu_time() - cpu);
    drop(writer.await);
}

fn tokio_kcp_config() -> tokio_kcp::KcpConfig {
    tokio_kcp::KcpConfig {
        mtu: 1400,
        nodelay: tokio_kcp::KcpNoDelayConfig::fastest(),
        wnd_size: (1024, 1024),
        flush_write: true,
        stream: true,
        ..tokio_kcp::KcpConfig::default()
    }
}

async fn tokio_kcp_sink(total: usize) {
    let cfg = tokio_kcp_config();
    let mut listener = tokio_kcp::KcpListener::bind(cfg, "127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (start, cpu) = (Instant::now(), cpu_time());
    let client = tokio::spawn(async move {
        let mut c = tokio_kcp::KcpStream::connect(&cfg, addr).await.unwrap();
        write_all(&mut c, total).await;
        c
    });
    let (mut srv, _) = listener.accept().await.unwrap();
    read_n(&mut srv, total).await;
    report("tokio_kcp sink", total, start.elapsed(), cpu_time() - cpu);
    drop(client.await);
}

async fn tokio_kcp_echo(total: usize) {
    let cfg = tokio_kcp_config();
    let mut listener = tokio_kcp::KcpListener::bind(cfg, "127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = tokio::io::split(s);
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    let (start, cpu) = (Instant::now(), cpu_time());
    let c = tokio_kcp::KcpStream::connect(&cfg, addr).await.unwrap();
    let (mut r, mut w) = tokio::io::split(c);
    let writer = tokio::spawn(async move {
        write_all(&mut w, total).await;
        w
    });
    read_n(&mut r, total).await;
    report(
        "tokio_kcp echo (no crypt)",
        total,
        start.elapsed(),
        cpu_time() - cpu,
    );
    drop(writer.await);
}

/// Raw sockets that each open a session at `addr` with one datagram of a sans-io peer
/// and then fall silent; `opened(k)` waits until the listener took the first `k`.
async fn idle_peers<F, Fut>(
    addr: SocketAddr,
    n: usize,
    s: &Settings,
    mut opened: F,
) -> Vec<UdpSocket>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut socks = Vec::with_capacity(n);
    for i in 0..n {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut peer = Session::new(i as u32, s, 0, [7; 32]);
        let mut out = Vec::new();
        peer.send(0, b"hello").unwrap();
        peer.poll(0, |d| out.push(d.to_vec()));
        for d in &out {
            sock.send_to(d, addr).await.unwrap();
        }
        socks.push(sock);
        // kcp-go's accept queue holds 128: let the listener catch up in steps.
        if (i + 1) % 100 == 0 || i + 1 == n {
            opened(i + 1).await;
        }
    }
    socks
}

fn idle_settings(n: usize) -> Settings {
    let mut c = Config::default();
    c.idle_timeout = None;
    c.accept_backlog = n;
    c.max_sessions = n;
    // Every peer is on 127.0.0.1: lift the per-address cap a public listener keeps.
    c.max_sessions_per_ip = n;
    c.build().unwrap()
}

fn report_idle(name: &str, cpu: Duration, wall: Duration, bytes: u64, n: usize, note: &str) {
    println!(
        "{name:<28} {:>9.2} % of a core {:>8.0} B/session ({note})",
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        bytes as f64 / n as f64
    );
}

/// Opens `n` sessions on one listener from raw sockets that then fall silent, and
/// measures the listener's CPU share and memory while they idle.
async fn ours_idle(n: usize, secs: u64) {
    let s = idle_settings(n);
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let rss0 = rss();
    let accepted = std::cell::RefCell::new(Vec::with_capacity(n));
    let socks = idle_peers(addr, n, &s, |k| {
        let (listener, accepted) = (&listener, &accepted);
        async move {
            while accepted.borrow().len() < k {
                // A listener that refuses (a budget, a cap) must fail the run, not hang it.
                let (stream, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
                    .await
                    .unwrap_or_else(|_| {
                        panic!(
                            "the listener accepted {} of {k} sessions in 30 s",
                            accepted.borrow().len()
                        )
                    })
                    .unwrap();
                accepted.borrow_mut().push(stream);
            }
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await; // acks sent, sessions settle
    let rss1 = rss();
    let (start, cpu) = (Instant::now(), cpu_time());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let name = format!("kcp-rs {n} idle sessions");
    let note = "the peers' sockets included";
    report_idle(
        &name,
        cpu_time() - cpu,
        start.elapsed(),
        rss1.saturating_sub(rss0),
        n,
        note,
    );
    drop(accepted);
    drop(socks);
}

/// The same with a kcp-go 5.6.1 listener (`peers/session echo-server`, which runs one
/// echo goroutine per session, as a kcp-go server does).
async fn kcp_go_idle(n: usize, secs: u64) {
    let s = idle_settings(n);
    let peer = kcp_testkit::go_process::session_peer();
    let args = [
        "echo-server",
        "-listen",
        "127.0.0.1:0",
        "-crypt",
        "null",
        "-datashard",
        "0",
        "-parityshard",
        "0",
        "-mode",
        "fast",
        "-timeout",
        "3600",
    ];
    let server = kcp_testkit::go_process::GoServer::start(&peer, &args);
    let pid = Pid::Other(server.pid());
    let rss0 = proc_stat::rss(pid);
    let socks = idle_peers(server.addr(), n, &s, |k| {
        let server = &server;
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while server.accepted_count() < k && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    })
    .await;
    assert_eq!(
        server.accepted_count(),
        n,
        "kcp-go accepted only part of the sessions"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu0, rss1) = (proc_stat::cpu_time(pid), proc_stat::rss(pid));
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu1 = proc_stat::cpu_time(pid);
    let name = format!("kcp-go {n} idle sessions");
    report_idle(
        &name,
        cpu1 - cpu0,
        start.elapsed(),
        rss1.saturating_sub(rss0),
        n,
        "server process only",
    );
    drop(socks);
}

/// `n` sessions on one sans-io `Endpoint`, opened by one datagram each from `n` addresses
/// (no sockets, so 100,000 fit in one process), then a driver loop that sleeps until the
/// endpoint's next deadline (at most 100 ms) and runs its timers, as the tokio driver
/// does: memory per session, and the CPU share of that loop while the sessions idle.
fn ours_endpoint_idle(n: usize, secs: u64) {
    let mut c = Config::default();
    c.accept_backlog = n;
    c.max_sessions = n;
    let s = c.build().unwrap();
    // Each peer opens its own conversation: a listener takes a conversation id that is
    // live elsewhere for a replay.
    let hello = |conv: u32| {
        let mut out = Vec::new();
        let mut peer = Session::new(conv, &s, 0, [7; 32]);
        peer.send(0, b"hello").unwrap();
        peer.poll(0, |d| out.push(d.to_vec()));
        out.swap_remove(0)
    };
    let clock = Instant::now();
    let now = || clock.elapsed().as_millis() as u32;
    let rss0 = rss();
    let mut ep = kcp_session::Endpoint::new(&s, [7; 32]);
    ep.listen(true);
    for i in 0..n {
        let from = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 4000));
        let mut buf = hello(i as u32 + 1);
        ep.handle(now(), from, &mut buf);
        while ep.accept().is_some() {}
        while ep.poll_transmit(now()).is_some() {}
        while ep.poll_event().is_some() {}
    }
    assert_eq!(ep.len(), n, "every datagram opened a session");
    let rss1 = rss();
    let (start, cpu) = (Instant::now(), cpu_time());
    while start.elapsed() < Duration::from_secs(secs) {
        let wait = ep
            .poll_timeout()
            .map_or(100, |t| t.wrapping_sub(now()).min(100));
        std::thread::sleep(Duration::from_millis(u64::from(wait.max(1))));
        ep.handle_timeout(now());
        while ep.poll_transmit(now()).is_some() {}
        while ep.poll_event().is_some() {}
    }
    report_idle(
        &format!("kcp-rs endpoint {n} idle"),
        cpu_time() - cpu,
        start.elapsed(),
        rss1.saturating_sub(rss0),
        n,
        "sans-io, no sockets",
    );
}

fn main() {
    // `cargo bench` passes `--bench`; everything else names a benchmark.
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // A row runs when any argument is part of its name ("sink", "kcp-rs", "tokio_kcp echo").
    let want = |row: &str| which.is_empty() || which.iter().any(|w| row.contains(w.as_str()));
    let sink = env_usize("KCP_BENCH_SINK_MIB", 256) << 20;
    let echo = env_usize("KCP_BENCH_ECHO_MIB", 64) << 20;
    let idle = env_usize("KCP_BENCH_IDLE_SESSIONS", 10_000);
    let idle_secs = env_usize("KCP_BENCH_IDLE_SECS", 10) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if want("kcp-rs sink") {
            ours_sink(sink).await;
        }
        if want("tokio_kcp sink") {
            tokio_kcp_sink(sink).await;
        }
        let wake_mib = env_usize("KCP_BENCH_WAKEUP_MIB", 64) << 20;
        if want("kcp-rs wakeups sink") {
            ours_wakeups("kcp-rs wakeups sink", wake_mib, None).await;
        }
        if want("kcp-rs wakeups paced sink") {
            // 16 MB/s: the writer waits on the window, the reader on data.
            ours_wakeups("kcp-rs wakeups paced sink", wake_mib / 4, Some(16_000_000)).await;
        }
        if want("kcp-rs echo salsa20 fec") {
            ours_echo(echo).await;
        }
        if want("kcp-rs echo kcptun") {
            ours_echo_kcptun(echo).await;
        }
        if want("tokio_kcp echo") {
            tokio_kcp_echo(echo).await;
        }
        if want("kcp-rs idle") {
            ours_idle(idle, idle_secs).await;
        }
        if want("kcp-go idle") {
            kcp_go_idle(idle, idle_secs).await;
        }
    });
    if want("kcp-rs endpoint idle") {
        ours_endpoint_idle(env_usize("KCP_BENCH_ENDPOINT_SESSIONS", 100_000), idle_secs);
    }
}
