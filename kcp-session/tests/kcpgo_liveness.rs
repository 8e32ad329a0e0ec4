//! Liveness against the real kcp-go 5.6.1 (the Go peer in `peers/session`), which knows
//! nothing of it: `connect_confirmed` resolves against a live kcp-go listener (kcp-go
//! answers our window probe) and fails with a typed timeout against a port where nothing
//! answers; keepalive keeps our session with a kcp-go server alive past our idle timeout,
//! where the same session without keepalive dies. Fails, never skips, when Go or kcp-go is
//! missing.

use std::time::Duration;

use kcp_session::{Config, DeadReason, KcpStream, Settings, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod common;

use common::kcp_go;

const KEY: &str = "liveness key";

fn settings(crypt: &str, shards: (usize, usize), keepalive: Option<Duration>) -> Settings {
    let mut c = Config::default();
    c.crypt = crypt.parse().unwrap();
    c.key = KEY.as_bytes().to_vec();
    c.data_shards = shards.0;
    c.parity_shards = shards.1;
    c.mode = "fast3".parse().unwrap();
    c.idle_timeout = Some(Duration::from_secs(2));
    c.keepalive = keepalive;
    c.build().unwrap()
}

/// kcp-go's echo server, closing sessions idle for 60 s (longer than any test here).
fn server(crypt: &str, shards: (usize, usize)) -> kcp_testkit::go_process::GoServer {
    let mut flags = kcp_go::flags(crypt, KEY, "fast3", shards);
    flags.extend(["-timeout".into(), "60".into()]);
    kcp_go::echo_server(&flags)
}

async fn echo(stream: &mut KcpStream, data: &[u8]) -> std::io::Result<()> {
    stream.write_all(data).await?;
    let mut got = vec![0u8; data.len()];
    stream.read_exact(&mut got).await?;
    assert_eq!(got, data);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_confirmed_resolves_against_a_live_kcp_go_listener() {
    for (crypt, shards) in [("aes", (10, 3)), ("null", (0, 0))] {
        let server = server(crypt, shards);
        let s = settings(crypt, shards, None);
        let mut stream = timeout(
            Duration::from_secs(10),
            KcpStream::connect_confirmed(server.addr(), &s, Duration::from_secs(5)),
        )
        .await
        .expect("bounded")
        .unwrap_or_else(|e| panic!("{crypt}: {e}; kcp-go stderr: {}", server.stderr()));
        // kcp-go opened a session for the probe; its application read nothing yet.
        assert!(
            server.wait_accepted(1, Duration::from_secs(5)),
            "{:?}",
            server.lines()
        );
        assert_eq!(stream.snmp().kcp_in_errors, 0);
        echo(&mut stream, b"confirmed").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_confirmed_fails_in_bounded_time_against_a_dead_port() {
    // A bound socket that never answers: no ICMP, nothing at all comes back.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let s = settings("aes", (10, 3), None);
    let err = timeout(
        Duration::from_secs(10),
        KcpStream::connect_confirmed(silent.local_addr().unwrap(), &s, Duration::from_secs(1)),
    )
    .await
    .expect("bounded by the confirmation timeout, not the idle timeout")
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let state = err.get_ref().and_then(|e| e.downcast_ref::<State>());
    assert_eq!(state, Some(&State::Dead(DeadReason::Unanswered)));
    // The probes did reach the port: 24-byte KCP segments in kcp-go's framing.
    let mut buf = [0u8; 1500];
    silent.set_nonblocking(true).unwrap();
    assert!(silent.recv_from(&mut buf).is_ok());
}

/// Echoes, stays idle for three of our idle timeouts, echoes again.
async fn idle_echo(keepalive: Option<Duration>) -> std::io::Result<()> {
    let server = server("aes", (10, 3));
    let s = settings("aes", (10, 3), keepalive);
    let mut stream = KcpStream::connect(server.addr(), &s).await?;
    echo(&mut stream, b"before").await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let r = timeout(
        Duration::from_secs(10),
        echo(&mut stream, b"after the idle period"),
    )
    .await
    .expect("bounded");
    assert!(
        !server.lines().iter().any(|l| l.starts_with("closed")),
        "{:?}",
        server.lines()
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_keeps_a_session_with_kcp_go_past_the_idle_timeout() {
    idle_echo(Some(Duration::from_millis(500))).await.unwrap();
    // The control: the same idle period without keepalive ends the session.
    let err = idle_echo(None).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let state = err.get_ref().and_then(|e| e.downcast_ref::<State>());
    assert_eq!(state, Some(&State::Dead(DeadReason::IdleTimeout)));
}
