//! Roaming through real UDP sockets on 127.0.0.1: a client reaches a roaming listener
//! through a relay that plays its NAT, and the relay rebinds to a new port in the middle
//! of a 4 MiB echo (the old port closes, as a NAT mapping that expired). The echo
//! completes byte-exact, and the server's stream now names the new port as its peer. The
//! same with the real kcp-go 5.6.1 as the client, which knows nothing of roaming: it
//! acknowledges the challenge like any duplicate segment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kcp_session::{Config, KcpListener, KcpStream, Settings};
use kcp_testkit::sim::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

mod common;

use common::kcp_go;

const BYTES: usize = 4 << 20;
const REBIND_AFTER: u64 = 1 << 20;

fn settings(roaming: bool) -> Settings {
    let mut c = Config::kcptun();
    c.key = b"roaming over udp".to_vec();
    c.mode = "fast3".parse().unwrap();
    c.roaming = roaming;
    c.idle_timeout = Some(Duration::from_secs(5));
    c.build().unwrap()
}

/// A NAT for one client: datagrams from the client go to `server` from the relay's
/// current upstream port; replies go back. After `REBIND_AFTER` bytes came back from the
/// server, the upstream port is closed and a new one opened. Returns the relay's address
/// and the old and new upstream addresses once known.
async fn nat(
    server: SocketAddr,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Receiver<(SocketAddr, SocketAddr)>,
) {
    let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = front.local_addr().unwrap();
    let (tell, told) = tokio::sync::oneshot::channel();
    let back = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        let mut up = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let first = up.local_addr().unwrap();
        let mut tell = Some(tell);
        let mut client: Option<SocketAddr> = None;
        let (mut a, mut b) = (vec![0u8; 2048], vec![0u8; 2048]);
        loop {
            tokio::select! {
                r = front.recv_from(&mut a) => {
                    let (n, from) = r.unwrap();
                    client = Some(from);
                    let _ = up.send_to(&a[..n], server).await;
                }
                r = up.recv_from(&mut b) => {
                    let Ok((n, _)) = r else { continue };
                    if let Some(c) = client {
                        let _ = front.send_to(&b[..n], c).await;
                    }
                    let total = back.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                    if total >= REBIND_AFTER && let Some(t) = tell.take() {
                        // The mapping expires: a new port, the old one closed.
                        up = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                        let _ = t.send((first, up.local_addr().unwrap()));
                    }
                }
            }
        }
    });
    (addr, told)
}

async fn echo_through_rebinding_nat(roaming: bool) -> Result<(), String> {
    let s = settings(roaming);
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let server_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = stream.into_split();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while total < BYTES {
            let Ok(n) = r.read(&mut buf).await else {
                break;
            };
            if w.write_all(&buf[..n]).await.is_err() {
                break;
            }
            total += n;
        }
        let peer = w.peer_addr();
        (total, peer, listener, r.reunite(w).unwrap())
    });
    let (relay, rebound) = nat(server_addr).await;
    let stream = KcpStream::connect(relay, &s).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let data = Rng::new(9).bytes(BYTES);
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        for chunk in data.chunks(32 * 1024) {
            if w.write_all(chunk).await.is_err() {
                break;
            }
        }
        w
    });
    let mut got = vec![0u8; BYTES];
    let read = timeout(Duration::from_secs(30), r.read_exact(&mut got)).await;
    match read {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(format!("read failed: {e}")),
        Err(_) => return Err("timed out".into()),
    }
    let bad = got.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(bad.is_none(), "echo differs from byte {bad:?}");
    let (old, new) = rebound.await.expect("the relay rebound mid-transfer");
    let (total, peer, _listener, _s) = server.await.unwrap();
    assert_eq!(total, BYTES);
    assert_ne!(old, new);
    assert_eq!(peer, new, "the server's session follows the new port");
    drop(writer);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_survives_a_nat_rebinding_with_roaming() {
    echo_through_rebinding_nat(true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_roaming_the_same_rebinding_breaks_the_echo() {
    assert!(echo_through_rebinding_nat(false).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kcp_go_client_is_followed_through_its_nat_rebinding() {
    let mut c = Config::default();
    c.crypt = "aes".parse().unwrap();
    c.key = b"roaming kcp-go".to_vec();
    c.data_shards = 10;
    c.parity_shards = 3;
    c.mode = "fast3".parse().unwrap();
    c.roaming = true;
    let s = c.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let server_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = stream.into_split();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while total < BYTES {
            let Ok(n) = r.read(&mut buf).await else {
                break;
            };
            if w.write_all(&buf[..n]).await.is_err() {
                break;
            }
            total += n;
        }
        (total, w.peer_addr(), listener)
    });
    let (relay, rebound) = nat(server_addr).await;
    let flags = kcp_go::flags("aes", "roaming kcp-go", "fast3", (10, 3));
    let args = kcp_go::echo_client_args(relay, BYTES, &flags);
    let out = kcp_go::run_async(args, Duration::from_secs(60)).await;
    assert!(
        out.success,
        "kcp-go echo-client through a rebinding NAT: {out:?}"
    );
    let (_old, new) = rebound.await.expect("the relay rebound mid-transfer");
    let (total, peer, _listener) = server.await.unwrap();
    assert_eq!(total, BYTES);
    assert_eq!(peer, new);
}
