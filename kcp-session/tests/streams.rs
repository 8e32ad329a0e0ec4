//! `KcpStream` and `KcpListener` over real UDP sockets on 127.0.0.1.

use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::{Config, KcpListener, KcpStream};
use kcp_testkit::sim::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_8_mib_with_aes_and_fec() {
    let settings = Config::kcptun().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = common::spawn_echo(listener, 1);
    let data = Rng::new(1).bytes(8 << 20);
    let (got, _) = timeout(
        Duration::from_secs(60),
        common::echo(&settings, addr, data.clone()),
    )
    .await
    .expect("echo timed out");
    assert!(got == data, "echo corrupted");
    drop(server.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sessions_on_one_listener() {
    let cfg = {
        let mut c = Config::default();
        c.crypt = CipherKind::Salsa20;
        c.key = b"k".to_vec();
        c
    };
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = common::spawn_echo(listener, 50);
    let mut clients = Vec::new();
    for i in 0..50 {
        let settings = settings.clone();
        clients.push(tokio::spawn(async move {
            let data = Rng::new(i).bytes(64 * 1024);
            let (got, _) = common::echo(&settings, addr, data.clone()).await;
            assert!(got == data, "session {i} corrupted");
        }));
    }
    for c in clients {
        timeout(Duration::from_secs(60), c)
            .await
            .expect("timed out")
            .unwrap();
    }
    drop(server.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_times_out_instead_of_hanging() {
    let cfg = {
        let mut c = Config::default();
        c.idle_timeout = Some(Duration::from_secs(2));
        c
    };
    let settings = cfg.build().unwrap();
    // Nobody listens at this address.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    drop(sock);
    let mut stream = KcpStream::connect(addr, &settings).await.unwrap();
    stream.write_all(b"hello?").await.unwrap();
    let mut buf = [0u8; 16];
    let err = timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("read hung past the idle timeout")
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let err = stream.write_all(b"more").await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_acknowledgement_and_drop_delivers() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = Rng::new(9).bytes(2 << 20);
    let expected = data.clone();
    let client = tokio::spawn({
        let settings = settings.clone();
        async move {
            let mut s = KcpStream::connect(addr, &settings).await.unwrap();
            s.write_all(&data).await.unwrap();
            s.shutdown().await.unwrap();
            assert_eq!(s.info().wait_snd, 0);
            assert!(s.write_all(b"x").await.is_err());
        }
    });
    let (mut s, _) = listener.accept().await.unwrap();
    let mut got = vec![0u8; expected.len()];
    timeout(Duration::from_secs(30), s.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(got == expected);
    // The listener decrypts before the session sees a datagram; the bytes still count.
    let snmp = s.snmp();
    assert!(snmp.bytes_received >= expected.len() as u64, "{snmp:?}");
    assert!(snmp.in_bytes >= expected.len() as u64, "{snmp:?}");
    client.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_client_gives_its_socket_back() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let mut client = KcpStream::connect(listener.local_addr().unwrap(), &settings)
        .await
        .unwrap();
    client.write_all(b"bye").await.unwrap();
    client.shutdown().await.unwrap();
    let port = client.local_addr().unwrap().port();
    drop(client);
    // The driver ends with the session and the socket closes with it, long before the
    // idle timeout (60 s) that an idle session's last deadline pointed at.
    let mut freed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok() {
            freed = true;
            break;
        }
    }
    assert!(freed, "port {port} still bound 2 s after the client closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_sessions_outlive_their_listener() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = KcpStream::connect(addr, &settings).await.unwrap();
    client.write_all(b"first").await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    // Like kcp-go: closing the listener stops accepting, not serving.
    drop(listener);
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"first");
    let data = Rng::new(3).bytes(256 * 1024);
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        server.write_all(&data).await.unwrap();
        server
    });
    let mut got = vec![0u8; expected.len()];
    timeout(Duration::from_secs(30), client.read_exact(&mut got))
        .await
        .expect("the session stopped with its listener")
        .unwrap();
    assert!(got == expected);
    drop(writer.await.unwrap());
}

/// A stream dropped right after its last write (no `shutdown`) still delivers: the
/// session lingers, retransmitting until the peer acknowledged everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_right_after_writing_still_delivers() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = Rng::new(11).bytes(1 << 20);
    {
        let mut s = KcpStream::connect(addr, &settings).await.unwrap();
        s.write_all(&data).await.unwrap();
    }
    let (mut s, _) = listener.accept().await.unwrap();
    let mut got = vec![0u8; data.len()];
    timeout(Duration::from_secs(30), s.read_exact(&mut got))
        .await
        .expect("the dropped stream's data never arrived")
        .unwrap();
    assert!(got == data);
}

/// Every acknowledgement and flush setting delivers end to end: ikcp's own ack timing
/// (`batch_acks` off), acks at once (`ack_nodelay`), and held writes (`write_delay`,
/// flushed by `flush()` or the interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ack_and_flush_setting_delivers() {
    for name in ["batch_acks off", "ack_nodelay", "write_delay"] {
        let mut cfg = Config::default();
        match name {
            "batch_acks off" => cfg.batch_acks = false,
            "ack_nodelay" => cfg.ack_nodelay = true,
            _ => cfg.write_delay = true,
        }
        let settings = cfg.build().unwrap();
        let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = common::spawn_echo(listener, 1);
        let data = Rng::new(12).bytes(1 << 20);
        let (got, _) = timeout(
            Duration::from_secs(60),
            common::echo(&settings, addr, data.clone()),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: echo timed out"));
        assert!(got == data, "{name}: echo corrupted");
        drop(server.await.unwrap());
    }
}

/// The sessions run on tokio's clock: with time paused, a 60 s idle timeout passes at
/// once, and the vanished peer is reported, not waited for.
#[tokio::test(start_paused = true)]
async fn the_idle_timeout_runs_on_tokios_clock() {
    let settings = Config::default().build().unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    drop(sock);
    let wall = std::time::Instant::now();
    let start = tokio::time::Instant::now();
    let mut stream = KcpStream::connect(addr, &settings).await.unwrap();
    stream.write_all(b"anyone?").await.unwrap();
    let err = stream.read(&mut [0u8; 8]).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(start.elapsed() >= Duration::from_secs(60));
    assert!(
        wall.elapsed() < Duration::from_secs(30),
        "time was not paused"
    );
}

/// A driver that ends (here: its runtime shut down) fails every stream of its socket with
/// an error, waking the ones waiting, instead of leaving them hanging.
#[test]
fn streams_fail_instead_of_hanging_when_their_driver_ends() {
    let settings = Config::default().build().unwrap();
    let owner = tokio::runtime::Runtime::new().unwrap();
    let (client, server) = owner.block_on(async {
        let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
        let mut client = KcpStream::connect(listener.local_addr().unwrap(), &settings)
            .await
            .unwrap();
        client.write_all(b"hi").await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    });
    let other = tokio::runtime::Runtime::new().unwrap();
    other.block_on(async move {
        let (mut r, _w) = server.into_split();
        // A read waiting for data when the drivers go away.
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 2];
            r.read_exact(&mut buf).await.unwrap();
            r.read(&mut buf).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        owner.shutdown_background();
        let err = timeout(Duration::from_secs(10), reader)
            .await
            .expect("a read waited on a dead driver")
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        let mut client = client;
        let err = client.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}
