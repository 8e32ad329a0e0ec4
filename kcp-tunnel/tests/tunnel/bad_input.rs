//! Bad input to our tunnel: a wrong key, a peer speaking garbage smux, a target that
//! refuses connections, a client that connects and sends nothing, a target that closes
//! mid-stream, a port range, and a reader too slow for the writer. Each bad stream or
//! session ends with a log line and a clean close of its own; the tunnel keeps serving
//! the others, and its buffers stay bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kcp_session::{Config, KcpStream};
use kcp_tunnel::snappy::Compressor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{
    Echo, Proc, echo_check, echo_many, free_tcp_port, free_udp_port, tunnel_bin, wait_udp_bound,
};

/// Our server on a free UDP port; returns it and the port.
pub(crate) fn our_server(target: &str, flags: &[&str]) -> (Proc, u16) {
    let udp = free_udp_port();
    let listen = format!("127.0.0.1:{udp}");
    let mut args = vec!["server", "-l", &listen, "-t", target];
    args.extend(flags);
    let p = Proc::start(tunnel_bin(), &args, &[]);
    wait_udp_bound(udp, Duration::from_secs(20));
    (p, udp)
}

/// Our client to `remote` on a free TCP port.
pub(crate) fn our_client(remote: &str, flags: &[&str]) -> (Proc, u16) {
    let port = free_tcp_port();
    let local = format!("127.0.0.1:{port}");
    let mut args = vec!["client", "-l", &local, "-r", remote];
    args.extend(flags);
    let mut p = Proc::start(tunnel_bin(), &args, &[]);
    p.wait_for(&format!("listening on: {local}"), Duration::from_secs(20));
    (p, port)
}

/// Reads until EOF or an error; true for a clean EOF.
pub(crate) async fn read_to_close(s: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    match tokio::time::timeout(limit, s.read_to_end(&mut got)).await {
        Ok(Ok(_)) => Ok(got),
        Ok(Err(e)) => Err(format!("read failed: {e}")),
        Err(_) => Err(format!("not closed within {limit:?}")),
    }
}

/// A client with the wrong key is never served (its datagrams fail the checksum) and
/// gives up when smux's keepalive times out; a client with the right key is served
/// meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key() {
    let echo = Echo::start().await;
    let (server, udp) = our_server(&echo.addr.to_string(), &["--key", "right"]);
    let remote = format!("127.0.0.1:{udp}");
    let (mut bad, bad_port) = our_client(&remote, &["--key", "wrong"]);
    let (_good, good_port) = our_client(&remote, &["--key", "right"]);
    let mut s = TcpStream::connect(("127.0.0.1", bad_port)).await.unwrap();
    s.write_all(b"hello?").await.unwrap();
    echo_many(good_port, 2, 1 << 20, Duration::from_secs(60)).await;
    // Nothing came back; the connection closes when the session is declared dead.
    let got = read_to_close(&mut s, Duration::from_secs(70)).await;
    assert!(
        matches!(&got, Ok(v) if v.is_empty()) || got.is_err(),
        "{got:?}"
    );
    assert!(
        got.is_ok(),
        "expected a clean close: {got:?}\n{}",
        bad.output()
    );
    bad.wait_for("ended: smux keepalive timeout", Duration::from_secs(10));
    assert_eq!(
        echo.accepted.load(Ordering::Relaxed),
        2,
        "{}",
        server.output()
    );
}

/// A KCP peer with the right key that speaks garbage instead of smux: its session ends
/// with a log line; other clients are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_smux() {
    let echo = Echo::start().await;
    let (mut server, udp) = our_server(&echo.addr.to_string(), &["--key", "k"]);
    let remote = format!("127.0.0.1:{udp}");
    let settings = {
        let mut c = Config::kcptun();
        c.key = b"k".to_vec();
        c
    }
    .build()
    .unwrap();
    // Not snappy at all; snappy around bytes that are not smux; snappy around a smux
    // version that does not exist (the server speaks v1 or v2, as the first frame says).
    let framed = |inner: &[u8]| Compressor::new().compress(inner).unwrap().to_vec();
    let cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "snappy"),
        (
            framed(&[2, 7, 0, 0, 3, 0, 0, 0]),
            "invalid protocol: smux command 7",
        ),
        (
            framed(&[3, 0, 0, 0, 3, 0, 0, 0]),
            "invalid protocol: smux version 3",
        ),
    ];
    for (garbage, why) in cases {
        let mut k = KcpStream::connect(remote.as_str(), &settings)
            .await
            .unwrap();
        k.write_all(&garbage).await.unwrap();
        // Keep the session open until the server has judged it.
        server.wait_for(why, Duration::from_secs(20));
        drop(k);
    }
    let (_client, port) = our_client(&remote, &["--key", "k"]);
    echo_many(port, 2, 1 << 20, Duration::from_secs(60)).await;
    let out = server.output();
    assert!(out.matches("ended").count() >= 3, "{out}");
}

/// A target that refuses: the stream closes cleanly with a log line; once the target is
/// up, the same tunnel serves new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_refuses() {
    let target_port = free_tcp_port();
    let target = format!("127.0.0.1:{target_port}");
    let (mut server, udp) = our_server(&target, &["--key", "k"]);
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    for _ in 0..3 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = s.write_all(b"anyone?").await;
        let got = read_to_close(&mut s, Duration::from_secs(20)).await;
        assert_eq!(got, Ok(Vec::new()));
    }
    server.wait_for("refused", Duration::from_secs(10));
    let l = TcpListener::bind(&target).await.unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    echo_many(port, 2, 1 << 20, Duration::from_secs(60)).await;
}

/// A client that connects and sends nothing holds its stream without disturbing others;
/// it still works when it finally speaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client() {
    let echo = Echo::start().await;
    let (_server, udp) = our_server(&echo.addr.to_string(), &["--key", "k"]);
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    let silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    echo_many(port, 4, 2 << 20, Duration::from_secs(60)).await;
    echo_check(silent, 1000, 5).await.unwrap();
}

/// A target that closes after 1000 bytes: that connection ends cleanly after exactly
/// what the target sent; a parallel transfer completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_closes_mid_stream() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2];
                if s.read_exact(&mut buf).await.is_err() {
                    return;
                }
                if &buf == b"ec" {
                    // An echo for the parallel transfer.
                    let (mut r, mut w) = s.into_split();
                    let _ = w.write_all(b"ec").await;
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                } else {
                    let _ = s.write_all(&[9u8; 1000]).await;
                    // Dropped: closed mid-stream.
                }
            });
        }
    });
    let (_server, udp) = our_server(&addr.to_string(), &["--key", "k"]);
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    let busy = tokio::spawn(async move {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"ec").await.unwrap();
        let mut two = [0u8; 2];
        s.read_exact(&mut two).await.unwrap();
        echo_check(s, 4 << 20, 11).await
    });
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"xx").await.unwrap();
    let got = read_to_close(&mut s, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got, vec![9u8; 1000]);
    tokio::time::timeout(Duration::from_secs(60), busy)
        .await
        .expect("parallel transfer in time")
        .unwrap()
        .unwrap();
}

/// `-r host:min-max` spreads `--conn` sessions over the server's ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_range() {
    let echo = Echo::start().await;
    // Four consecutive free UDP ports.
    let base = loop {
        let p = free_udp_port();
        if p < 65_000 && (1..4).all(|i| std::net::UdpSocket::bind(("127.0.0.1", p + i)).is_ok()) {
            break p;
        }
    };
    let range = format!("127.0.0.1:{base}-{}", base + 3);
    let target = echo.addr.to_string();
    let mut server = Proc::start(
        tunnel_bin(),
        &["server", "-l", &range, "-t", &target, "--key", "k"],
        &[],
    );
    for i in 0..4 {
        wait_udp_bound(base + i, Duration::from_secs(20));
    }
    let (_client, port) = our_client(&range, &["--key", "k", "--conn", "4"]);
    echo_many(port, 8, 1 << 20, Duration::from_secs(60)).await;
    let out = server.wait_for("remote address", Duration::from_secs(5));
    let ports: std::collections::HashSet<&str> = out
        .lines()
        .filter(|l| l.contains("remote address"))
        .filter_map(|l| l.rsplit(" on ").next())
        .collect();
    assert_eq!(ports.len(), 4, "sessions on {ports:?}\n{out}");
}

/// A reader that stops reading: the target's writes stall after a bounded amount (the
/// tunnel does not buffer without bound), and everything arrives once reading resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_is_back_pressure() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&written);
    const TOTAL: u64 = 256 << 20;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        // Read what the client sent, or closing would reset the connection.
        let mut go = [0u8; 2];
        s.read_exact(&mut go).await.unwrap();
        let buf = vec![5u8; 64 << 10];
        while count.load(Ordering::Relaxed) < TOTAL {
            if s.write_all(&buf).await.is_err() {
                return;
            }
            count.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
    });
    let (_server, udp) = our_server(&addr.to_string(), &["--key", "k", "--nocomp"]);
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k", "--nocomp"]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"go").await.unwrap();
    // Wait until the writer has stopped moving.
    let mut last = 0;
    let mut still = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = written.load(Ordering::Relaxed);
        if now == last && now > 0 {
            still += 1;
            if still == 4 {
                break;
            }
        } else {
            still = 0;
        }
        last = now;
    }
    assert_eq!(still, 4, "the target kept writing: {last} bytes");
    // Kernel buffers on both TCP legs, smux's 4 MiB, KCP windows, queues: well under this.
    assert!(last < 64 << 20, "{last} bytes buffered in the tunnel");
    // Now read everything.
    let mut got = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let drain = async {
        while got < TOTAL {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {got} bytes");
            assert!(buf[..n].iter().all(|&b| b == 5));
            got += n as u64;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), drain)
        .await
        .expect("the stalled stream resumes");
}

/// `--autoexpire`: a session older than that takes no new connections (a new session
/// does), and `--scavengettl` later the old one is closed with the connections it still
/// carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoexpire_and_scavenger() {
    let echo = Echo::start().await;
    let (mut server, udp) = our_server(&echo.addr.to_string(), &["--key", "k"]);
    let (mut client, port) = our_client(
        &format!("127.0.0.1:{udp}"),
        &["--key", "k", "--autoexpire", "1", "--scavengettl", "2"],
    );
    let mut old = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    old.write_all(b"old").await.unwrap();
    let mut three = [0u8; 3];
    old.read_exact(&mut three).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Expired: this connection gets a second session.
    let new = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    echo_check(new, 10_000, 3).await.unwrap();
    let out = server.wait_for("remote address", Duration::from_secs(5));
    // Then the scavenger closes the first session, and the connection on it ends.
    client.wait_for("session closed due to ttl", Duration::from_secs(10));
    let got = read_to_close(&mut old, Duration::from_secs(10)).await;
    assert!(got.is_ok(), "{got:?}");
    let sessions = server.output().matches("remote address").count();
    assert_eq!(sessions, 2, "{out}");
}

/// `SIGUSR1` makes the server log kcp-go's SNMP counters in one line, as kcptun does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_logs_the_snmp_counters() {
    let echo = Echo::start().await;
    let (mut server, udp) = our_server(&echo.addr.to_string(), &["--key", "k"]);
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    echo_many(port, 1, 64 << 10, Duration::from_secs(60)).await;
    let kill = std::process::Command::new("kill")
        .args(["-USR1", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let out = server.wait_for("KCP SNMP:&{BytesSent:", Duration::from_secs(20));
    let line = out.lines().find(|l| l.contains("KCP SNMP:")).unwrap();
    let received: u64 = line
        .split("BytesReceived:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no BytesReceived in {line}"));
    assert!(received >= 64 << 10, "{line}");
    assert!(server.running(), "SIGUSR1 ended the server");
}

/// `--log FILE` takes the log lines and `--snmplog FILE --snmpperiod 1` writes kcptun's
/// CSV: a header row of kcp-go's counter names, then rows whose byte counters grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_snmplog_files() {
    let echo = Echo::start().await;
    let dir = crate::harness::scratch();
    let udp = free_udp_port();
    let log = dir.join(format!("server-{udp}.log"));
    // The file name is a Go time layout, so the port's digits ("01", "02", ...) stay out of
    // it: a directory of its own keeps this test's file apart from the others'.
    let snmp_dir = dir.join(format!("snmp-{udp}"));
    std::fs::create_dir_all(&snmp_dir).unwrap();
    let snmp = snmp_dir.join("snmp-20060102.csv");
    let _server = Proc::start(
        tunnel_bin(),
        &[
            "server",
            "-l",
            &format!("127.0.0.1:{udp}"),
            "-t",
            &echo.addr.to_string(),
            "--key",
            "k",
            "--log",
            log.to_str().unwrap(),
            "--snmplog",
            snmp.to_str().unwrap(),
            "--snmpperiod",
            "1",
        ],
        &[],
    );
    wait_udp_bound(udp, Duration::from_secs(20));
    let (_client, port) = our_client(&format!("127.0.0.1:{udp}"), &["--key", "k"]);
    echo_many(port, 2, 1 << 20, Duration::from_secs(60)).await;
    // Wait for the files to say it (the snmplog is written once a period), not a guess of
    // how long that takes on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("stream opened") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.contains("listening on: 127.0.0.1:"), "{text}");
    assert!(text.contains("stream opened"), "{text}");
    // The file name carries today's date in place of Go's 20060102; its last row counts the
    // 2 MiB the server received.
    let received = |row: &str| row.split(',').nth(2).and_then(|v| v.parse::<u64>().ok());
    let rows: Vec<String> = loop {
        let csv = std::fs::read_dir(&snmp_dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("snmp-") && !name.contains("20060102")
            });
        let rows: Vec<String> = csv
            .and_then(|csv| std::fs::read_to_string(csv).ok())
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let done = rows.len() >= 2 && rows.last().and_then(|r| received(r)) >= Some(2 << 20);
        if done || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        rows.len() >= 2,
        "an snmplog file named by the date, with rows: {rows:?}"
    );
    let header: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(&header[..3], ["Unix", "BytesSent", "BytesReceived"]);
    let last: Vec<u64> = rows[rows.len() - 1]
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(last.len(), header.len());
    assert!(last[2] >= 2 << 20, "BytesReceived {} after 2 MiB", last[2]);
}
