//! Unreliable datagrams against the real kcp-go 5.6.60 (the first release with `SendOOB`
//! and `SetOOBHandler`; the Go peer in `peers/oob`, a module of its own) over UDP on
//! 127.0.0.1, both directions and both roles, every byte checked on the receiving side:
//! kcp-go's handler checks each of our datagrams against the payload pattern and echoes it
//! with `SendOOB`; we check its echo, and the largest datagram kcp-go sends. Loopback
//! loses no datagram, so each one is expected. Fails, never skips, when Go or kcp-go
//! 5.6.60 is missing (scripts/setup.sh downloads it).

use std::time::Duration;

use kcp_session::{Config, KcpListener, KcpStream, Settings};
use kcp_testkit::go_process::{self, GoServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const KEY: &str = "oob key";

/// The payload pattern both sides check: byte i of a datagram of n bytes is i*7 + n.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + n) as u8).collect()
}

fn settings(crypt: kcp_crypt::CipherKind) -> Settings {
    let mut cfg = Config::kcptun();
    cfg.crypt = crypt;
    cfg.key = KEY.as_bytes().to_vec();
    cfg.build().unwrap()
}

fn peer() -> std::path::PathBuf {
    kcp_testkit::go_peer::build("oob")
}

const CASES: [(&str, kcp_crypt::CipherKind); 3] = [
    ("aes", kcp_crypt::CipherKind::Aes256),
    ("salsa20", kcp_crypt::CipherKind::Salsa20),
    ("null", kcp_crypt::CipherKind::Null),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_datagrams_reach_kcp_go_handler_and_its_come_back() {
    for (name, kind) in CASES {
        let server = GoServer::start(&peer(), &["server", "-crypt", name, "-key", KEY]);
        let settings = settings(kind);
        let mut s = KcpStream::connect(server.addr(), &settings).await.unwrap();
        s.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        timeout(Duration::from_secs(10), s.read_exact(&mut buf))
            .await
            .expect("stream echo timed out")
            .unwrap();
        let max = s.max_datagram_size();
        for n in [0, 1, 100, 700, max] {
            s.send_datagram(&pattern(n)).unwrap();
            let echo = timeout(Duration::from_secs(10), s.recv_datagram())
                .await
                .unwrap_or_else(|_| panic!("{name}: no echo of {n} bytes"))
                .unwrap();
            assert!(echo == pattern(n), "{name}: echo of {n} bytes differs");
            let line = format!("oob n={n} ok=true");
            assert!(
                server
                    .wait_for_line(Duration::from_secs(5), |l| l == line)
                    .is_some(),
                "{name}: kcp-go's handler did not get {n} intact bytes: {:?}",
                server.lines()
            );
        }
        // kcp-go's largest datagram (GetOOBMaxSize: its KCP MTU less the conv) is ours.
        s.write_all(b"max\n").await.unwrap();
        let big = timeout(Duration::from_secs(10), s.recv_datagram())
            .await
            .expect("no datagram of kcp-go's largest size")
            .unwrap();
        assert_eq!(big.len(), max, "{name}");
        assert!(
            big == pattern(big.len()),
            "{name}: kcp-go's largest differs"
        );
        let stats = s.datagram_stats();
        assert_eq!((stats.sent, stats.received, stats.invalid), (5, 6, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcp_go_datagrams_are_echoed_by_our_listener() {
    for (name, kind) in CASES {
        let settings = settings(kind);
        let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 5];
            s.read_exact(&mut hello).await.unwrap();
            s.write_all(&hello).await.unwrap();
            let mut echoed = 0u64;
            while let Ok(d) = s.recv_datagram().await {
                // Before the client's address is proven, each echo fits the
                // amplification budget its own datagram added.
                s.send_datagram(&d).unwrap();
                echoed += 1;
                if echoed == 300 {
                    break;
                }
            }
            s.datagram_stats()
        });
        let max = settings_max(&settings).to_string();
        let args = [
            "client",
            "-remote",
            &addr.to_string(),
            "-crypt",
            name,
            "-key",
            KEY,
            "-count",
            "300",
            "-max-size",
            &max,
        ]
        .map(String::from);
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            go_process::run_client(&peer(), &args, Duration::from_secs(60))
        })
        .await
        .unwrap();
        assert!(out.success, "{name}: kcp-go client failed: {out:?}");
        assert!(
            out.stdout.contains("oob-summary sent=300 echoed=300"),
            "{out:?}"
        );
        let stats = timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((stats.received, stats.sent, stats.dropped), (300, 300, 0));
    }
}

/// Our largest datagram for `settings` (kcp-go's client sends sizes up to it).
fn settings_max(settings: &Settings) -> usize {
    settings.kcp_mtu() - 4
}
