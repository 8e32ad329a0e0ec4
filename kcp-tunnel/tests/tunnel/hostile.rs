//! Our server against hostile use: a target that never answers connection attempts while
//! streams keep opening, and the options that must not be open on a public address
//! (no encryption, log files at attacker-chosen paths).

use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::bad_input::{our_client, our_server, read_to_close};
use crate::harness::{Proc, tunnel_bin};

/// A TCP listener whose accept queue is full: the kernel drops further connection
/// attempts, which then hang in SYN_SENT as with a target behind a black hole. Returns the
/// listener and the connections that fill it (kept open).
fn black_hole() -> (StdListener, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    s.listen(0).unwrap();
    let l: StdListener = s.into();
    let addr = l.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(c) => fillers.push(c),
            Err(_) => return (l, fillers),
        }
    }
    panic!("the accept queue of a listen(0) socket never filled");
}

/// Sockets of this host in SYN_SENT towards `port` (from /proc/net/tcp).
fn syn_sent_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() > 3
                && f[3] == "02"
                && f[2]
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| u16::from_str_radix(p, 16) == Ok(port))
        })
        .count()
}

/// Streams opened faster than the target answers: at most `--max-dials` connection
/// attempts at once, and each stream ends within `--dial-timeout` (plus its wait for a
/// slot) instead of the kernel's two minutes of SYN retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_dials_are_capped_and_time_out() {
    let (hole, _fillers) = black_hole();
    let port = hole.local_addr().unwrap().port();
    let target = format!("127.0.0.1:{port}");
    let flags = ["--key", "k", "--dial-timeout", "3", "--max-dials", "2"];
    let (_server, udp) = our_server(&target, &flags);
    let (_client, local) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    let mut conns = Vec::new();
    for _ in 0..6 {
        let mut c = TcpStream::connect(("127.0.0.1", local)).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        conns.push(c);
    }
    // Watch the attempts for two seconds (within the dial timeout).
    let mut most = 0;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        most = most.max(syn_sent_to(port));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(most >= 1, "no connection attempt seen");
    assert!(
        most <= 2,
        "{most} connection attempts at once, --max-dials 2"
    );
    let started = Instant::now();
    for c in &mut conns {
        // Every stream gives up within its timeout; 20 s is far from the kernel's 127 s.
        read_to_close(c, Duration::from_secs(20)).await.unwrap();
    }
    println!(
        "6 streams to a black hole closed after {:?}",
        started.elapsed()
    );
}

/// `--crypt null`, `--crypt none` and `--raw` on a public address: the server refuses to
/// start and says how to proceed; `--insecure-no-crypt` or a loopback address starts it.
#[test]
fn no_encryption_is_refused_on_a_public_address() {
    for flags in [
        &["--crypt", "null"][..],
        &["--crypt", "none"][..],
        &["--raw"][..],
    ] {
        let mut args = vec![
            "server",
            "-l",
            "0.0.0.0:0",
            "-t",
            "127.0.0.1:9",
            "--key",
            "k",
        ];
        args.extend(flags);
        let mut p = Proc::start(tunnel_bin(), &args, &[]);
        assert_eq!(p.wait_exit(Duration::from_secs(20)), Some(1), "{flags:?}");
        let out = p.output();
        assert!(
            out.contains("refusing to serve on 0.0.0.0:0") && out.contains("--insecure-no-crypt"),
            "{flags:?}: {out}"
        );
        args.push("--insecure-no-crypt");
        let mut p = Proc::start(tunnel_bin(), &args, &[]);
        p.wait_for("listening on: 0.0.0.0:", Duration::from_secs(20));
        assert!(p.running());
        let mut args = vec![
            "server",
            "-l",
            "127.0.0.1:0",
            "-t",
            "127.0.0.1:9",
            "--key",
            "k",
        ];
        args.extend(flags);
        let mut p = Proc::start(tunnel_bin(), &args, &[]);
        p.wait_for("listening on: 127.0.0.1:", Duration::from_secs(20));
    }
}

/// A scratch directory of its own for one test.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = crate::harness::scratch().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--log` at a symlink planted by someone else, or at a file that is not a log of ours:
/// the program refuses to start rather than append to what the link points to.
#[test]
fn log_refuses_symlinks_and_foreign_files() {
    let dir = fresh_dir("log-symlink");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = dir.join("tunnel.log");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for path in [&link, &victim] {
        let args = [
            "server",
            "-l",
            "127.0.0.1:0",
            "-t",
            "127.0.0.1:9",
            "--key",
            "k",
            "--log",
            path.to_str().unwrap(),
        ];
        let mut p = Proc::start(tunnel_bin(), &args, &[]);
        assert_eq!(p.wait_exit(Duration::from_secs(10)), Some(1), "{path:?}");
        assert!(p.output().contains("--log"), "{}", p.output());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
    // A new path is created, and the same log is appended to on the next start.
    let log = dir.join("new.log");
    for run in 1..=2 {
        let args = [
            "server",
            "-l",
            "127.0.0.1:0",
            "-t",
            "127.0.0.1:9",
            "--key",
            "k",
            "--log",
            log.to_str().unwrap(),
        ];
        let mut p = Proc::start(tunnel_bin(), &args, &[]);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.matches("listening on: 127.0.0.1:").count() == run {
                break;
            }
            assert!(p.running(), "run {run}: {}\n{text}", p.output());
            assert!(Instant::now() < deadline, "run {run}: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIP003 `plugin=` runs the program itself, its arguments split on spaces, with no
/// shell: shell syntax in a plugin option (which SIP002 links carry) is not run.
#[test]
fn plugin_option_runs_no_shell() {
    let dir = fresh_dir("plugin-shell");
    let planted = dir.join("planted");
    let options = format!("key=k;plugin=true $(touch {})", planted.display());
    let env = [
        ("SS_REMOTE_HOST", "127.0.0.1"),
        ("SS_REMOTE_PORT", "1"),
        ("SS_LOCAL_HOST", "127.0.0.1"),
        ("SS_LOCAL_PORT", "0"),
        ("SS_PLUGIN_OPTIONS", options.as_str()),
    ];
    let mut p = Proc::start(tunnel_bin(), &[], &env);
    // `true` exits at once, so the tunnel stops: "secondary plugin exited".
    assert_eq!(
        p.wait_exit(Duration::from_secs(20)),
        Some(1),
        "{}",
        p.output()
    );
    assert!(
        !planted.exists(),
        "the plugin option went through a shell:\n{}",
        p.output()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--ratelimit` paces each session on the wire: 300 KiB echoed through a tunnel whose
/// ends send at most 100 kB/s each take at least 0.8 x 300 KiB / 100 kB/s (2.5 s; the
/// datagrams' headers and FEC parity only add to the bytes on the wire). A lower bound
/// on time cannot fail on a slow machine. The same transfer without the flag is timed
/// for the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratelimit_slows_a_transfer_to_the_limit() {
    const RATE: u64 = 100_000;
    const BYTES: u64 = 300 << 10;
    let echo = crate::harness::Echo::start().await;
    let mut took = Vec::new();
    for limit in [None, Some(RATE)] {
        let rate = limit.map(|r| r.to_string());
        let mut flags = vec!["--key", "k", "--nocomp"];
        if let Some(r) = &rate {
            flags.extend(["--ratelimit", r.as_str()]);
        }
        let (_server, udp) = our_server(&echo.addr.to_string(), &flags);
        let (_client, local) = our_client(&format!("127.0.0.1:{udp}"), &flags);
        let started = Instant::now();
        let s = TcpStream::connect(("127.0.0.1", local)).await.unwrap();
        crate::harness::echo_check(s, BYTES, 7).await.unwrap();
        took.push(started.elapsed());
    }
    println!(
        "{BYTES} bytes echoed: {:?} without a limit, {:?} at --ratelimit {RATE}",
        took[0], took[1]
    );
    let floor = Duration::from_secs_f64(0.8 * BYTES as f64 / RATE as f64);
    assert!(
        took[1] >= floor,
        "{BYTES} bytes at {RATE} B/s took {:?}, less than {floor:?}: not paced",
        took[1]
    );
}

/// A target that accepts and never reads, with a small receive window.
async fn sink_that_stops() -> std::net::SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

/// A peer fills the server's smux receive budget through a stream whose target stopped
/// reading, then goes away. With the budget full the session reads no frames, so smux's
/// keepalive rule alone keeps it for ever; the KCP session's received-segment count tells
/// that the peer is gone, and the server ends the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_ends_when_its_peer_is_gone() {
    use kcp_tunnel::smux::frame::{Cmd, Header};
    let target = sink_that_stops().await;
    let flags = [
        "--key",
        "k",
        "--nocomp",
        "--smuxbuf",
        "262144",
        "--streambuf",
        "262144",
    ];
    let (mut server, udp) = our_server(&target.to_string(), &flags);
    let settings = kcp_tunnel::KcpFlags {
        key: "k".into(),
        ..kcp_tunnel::KcpFlags::default()
    }
    .config()
    .build()
    .unwrap();
    let kcp = kcp_session::KcpStream::connect(&format!("127.0.0.1:{udp}"), &settings)
        .await
        .unwrap();
    let (r, mut w) = kcp.into_split();
    let mut open = Vec::new();
    Header::emit(&mut open, 1, Cmd::Syn, 0, 3);
    w.write_all(&open).await.unwrap();
    // 16 MiB of 32 KiB frames: far past the budget and what the target's socket takes.
    let mut frame = Vec::new();
    Header::emit(&mut frame, 1, Cmd::Psh, 32_768, 3);
    frame.resize(8 + 32_768, b'x');
    for _ in 0..512 {
        let wrote = tokio::time::timeout(Duration::from_secs(2), w.write_all(&frame)).await;
        if wrote.is_err() {
            break;
        }
    }
    server.wait_for("stream opened in:", Duration::from_secs(20));
    // The peer vanishes: no more datagrams from it.
    drop((r, w));
    // kcp-session's client lingers up to 10 s; then 30-60 s of silence end the session.
    server.wait_for("smux keepalive timeout", Duration::from_secs(150));
}
