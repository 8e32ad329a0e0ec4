//! Reflection through the tokio listener over real UDP on 127.0.0.1: a recorded first
//! datagram of a client, sent from a "victim" socket that never answers, to a listener
//! whose application replies with 1 MiB. The victim counts what reaches it until the
//! session ends in its idle timeout (the application's write fails then): at most three
//! times what it sent.

use std::time::Duration;

use kcp_session::{Config, KcpListener, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_sends_a_silent_victim_at_most_three_times_what_it_sent() {
    let mut c = Config::kcptun();
    c.key = b"reflection".to_vec();
    c.idle_timeout = Some(Duration::from_secs(2));
    let settings = c.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let server_addr = listener.local_addr().unwrap();
    // The application: read the request, reply with 1 MiB until the session ends.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 5];
        stream.read_exact(&mut request).await.unwrap();
        let written = stream.write_all(&vec![0xAB; 1 << 20]).await;
        assert!(written.is_err(), "the whole reply went out to the victim");
        listener
    });
    // What an eavesdropper recorded of a real client's first request.
    let mut client = Session::new(0x0102_0304, &settings, 0, [3; 32]);
    client.send(0, b"hello").unwrap();
    let mut recorded = Vec::new();
    client.poll(0, |d| recorded.push(d.to_vec()));
    let victim = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    victim.send_to(&recorded[0], server_addr).await.unwrap();
    let sent = recorded[0].len();
    // The session ends in its idle timeout: nothing is sent after.
    let listener = timeout(Duration::from_secs(30), server)
        .await
        .expect("the session did not end")
        .unwrap();
    let mut received = 0;
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = victim.try_recv_from(&mut buf) {
        received += n;
    }
    println!("victim sent {sent} bytes, received {received}");
    assert!(received > 0, "the listener answered nothing at all");
    assert!(received <= 3 * sent, "{received} bytes for {sent}");
    drop(listener);
}
