//! The listener under hostile traffic and kcp-go 5.6.1's address/conversation rules,
//! over real UDP on 127.0.0.1. The tests wait on the listener's own counters (datagrams
//! received, dropped, sessions held), never on sleeps; the memory a flood may take is
//! measured without sockets, with the counting allocator, in `tests/endpoint.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kcp_crypt::CipherKind;
use kcp_session::{Config, KcpListener, KcpStream, Session, Settings};
use kcp_testkit::sim::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// Sends `total` random datagrams (20 to 1400 bytes) to `to` from `sources` sockets.
/// With `plausible`, each carries a random conv and sn in a KCP-sized frame.
async fn flood(to: SocketAddr, sources: usize, total: usize, plausible: bool) {
    let mut socks = Vec::new();
    for _ in 0..sources {
        socks.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    let mut rng = Rng::new(42);
    let mut buf = vec![0u8; 1400];
    for i in 0..total {
        let len = rng.range_usize(if plausible { 24 } else { 0 }, 1400);
        rng.fill(&mut buf[..len]);
        // Pace a little so the kernel's receive buffer does not drop most of it.
        if i % 256 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = socks[i % sources].send_to(&buf[..len], to).await;
    }
}

/// Waits until `done()` holds, checking every 10 ms, for at most `limit`.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Waits until the listener has taken every datagram the kernel delivered: its count
/// stops moving for 200 ms.
async fn settled(listener: &KcpListener) {
    let mut last = listener.datagrams();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = listener.datagrams();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Echo round trip of `data` on a fresh session: the listener still serves real peers.
async fn still_serves(listener: &KcpListener, settings: &Settings) {
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn({
        let settings = settings.clone();
        async move {
            let mut s = KcpStream::connect(addr, &settings).await.unwrap();
            s.write_all(b"still here").await.unwrap();
            let mut buf = [0u8; 10];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still here");
        }
    });
    let (mut s, _) = timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("no session for a real peer after the flood")
        .unwrap();
    let mut buf = [0u8; 10];
    s.read_exact(&mut buf).await.unwrap();
    s.write_all(&buf).await.unwrap();
    timeout(Duration::from_secs(10), client)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_a_listener_with_a_cipher_opens_nothing() {
    let settings = Config::kcptun().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    flood(addr, 500, 100_000, true).await;
    settled(&listener).await;
    let (received, rejected) = (listener.datagrams(), listener.crypt_errors());
    assert!(
        received > 50_000,
        "only {received} datagrams reached the listener"
    );
    assert_eq!(
        rejected, received,
        "every random datagram failed the cipher"
    );
    assert_eq!(listener.sessions(), 0, "random datagrams opened sessions");
    still_serves(&listener, &settings).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cipher_sessions_stay_within_the_limit() {
    let mut cfg = Config::default();
    cfg.max_sessions = 40;
    cfg.accept_backlog = 1000;
    cfg.idle_timeout = Some(Duration::from_secs(3));
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    flood(addr, 200, 20_000, true).await;
    settled(&listener).await;
    assert_eq!(
        listener.sessions(),
        40,
        "sessions opened by 200 flooding ports"
    );
    assert!(listener.dropped() > 0);
    let mut accepted = Vec::new();
    for _ in 0..40 {
        accepted.push(listener.accept().await.unwrap());
    }
    // Once the flood's sessions are released, real peers get in again.
    drop(accepted);
    assert!(
        until(Duration::from_secs(30), || listener.sessions() == 0).await,
        "{} flood sessions outlived their idle timeout",
        listener.sessions()
    );
    still_serves(&listener, &settings).await;
}

/// Datagrams a sans-io session with `conv` produces for `messages`, none yet acknowledged.
fn datagrams(settings: &Settings, conv: u32, messages: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut s = Session::new(conv, settings, 0, [7; 32]);
    let mut out = Vec::new();
    for m in messages {
        s.send(0, m).unwrap();
        s.poll(0, |d| out.push(d.to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_conversation_from_a_known_address_replaces_only_at_sn_zero() {
    let mut cfg = Config::default();
    cfg.crypt = CipherKind::Xor;
    cfg.key = b"k".to_vec();
    cfg.stream = false;
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    let first = datagrams(&settings, 1, &[b"one"]);
    peer.send_to(&first[0], addr).await.unwrap();
    let (mut a, from) = listener.accept().await.unwrap();
    assert_eq!((a.conv(), from), (1, peer.local_addr().unwrap()));
    let mut buf = [0u8; 16];
    let n = a.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"one");

    // Conversation 2 starting mid-stream (sn 1): dropped, session 1 untouched.
    let second = datagrams(&settings, 2, &[b"x", b"two"]);
    peer.send_to(&second[1], addr).await.unwrap();
    assert!(until(Duration::from_secs(5), || listener.dropped() == 1).await);
    assert_eq!(listener.sessions(), 1);
    // Conversation 3 from sn 0: the peer restarted; session 1 ends with a reset.
    let third = datagrams(&settings, 3, &[b"three"]);
    peer.send_to(&third[0], addr).await.unwrap();
    let (mut b, _) = timeout(Duration::from_secs(5), listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.conv(), 3);
    let n = b.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"three");
    let err = a.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(listener.dropped(), 1);
}
