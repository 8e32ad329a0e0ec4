//! The UDP relay applies the simulator's link model on real sockets: seeded loss each
//! way, never a datagram sooner than its delay, and a bandwidth cap that spaces datagrams.

use std::net::SocketAddr;
use std::time::Duration;

use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;
use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout};

/// A UDP echo server on 127.0.0.1; returns its address.
async fn echo() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(&buf[..n], from).await;
        }
    });
    addr
}

#[tokio::test]
async fn loss_is_applied_each_way_and_nothing_comes_back_early() {
    let relay = Relay::start(echo().await, LinkConfig::new().loss(0.2).delay(20, 30), 7)
        .await
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sent = 400u32;
    let mut sent_at = Vec::new();
    for i in 0..sent {
        client
            .send_to(&i.to_le_bytes(), relay.addr())
            .await
            .unwrap();
        sent_at.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut back = 0u32;
    let mut buf = [0u8; 16];
    while let Ok(Ok((n, _))) = timeout(Duration::from_millis(500), client.recv_from(&mut buf)).await
    {
        assert_eq!(n, 4);
        let i = u32::from_le_bytes(buf[..4].try_into().unwrap());
        let rtt = sent_at[i as usize].elapsed();
        assert!(
            rtt >= Duration::from_millis(40),
            "datagram {i} back after {rtt:?}"
        );
        back += 1;
    }
    let stats = relay.stats();
    let lost = stats.lost.load(std::sync::atomic::Ordering::Relaxed);
    // 20% each way: 64% of round trips survive.
    assert!((200..=300).contains(&back), "{back} of {sent} came back");
    assert!(
        lost >= u64::from(sent - back),
        "{lost} lost but {} missing",
        sent - back
    );
}

#[tokio::test]
async fn a_bandwidth_cap_spaces_the_datagrams() {
    // 100 kB/s: 50 datagrams of 1,000 bytes take at least 0.5 s to pass towards the server.
    let to_server = LinkConfig::new().bandwidth(100_000);
    let relay = Relay::start_asymmetric(echo().await, to_server, LinkConfig::new(), 1)
        .await
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let start = Instant::now();
    for _ in 0..50 {
        client.send_to(&[7u8; 1000], relay.addr()).await.unwrap();
    }
    let mut buf = [0u8; 2048];
    for _ in 0..50 {
        timeout(Duration::from_secs(10), client.recv_from(&mut buf))
            .await
            .expect("every datagram comes back")
            .unwrap();
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(490),
        "50 kB through 100 kB/s in {took:?}"
    );
}
