//! The handles' API beyond bytes: accessors on the split halves, typed errors, messages
//! and datagrams, over real UDP sockets on 127.0.0.1.

use std::io;
use std::time::Duration;

use kcp_session::{Config, DeadReason, KcpListener, KcpStream, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_answer_what_the_stream_answers() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = KcpStream::connect(addr, &settings).await.unwrap();
    let (conv, local, peer) = (
        client.conv(),
        client.local_addr().unwrap(),
        client.peer_addr(),
    );
    assert_eq!(peer, addr);
    let (read, mut write) = client.into_split();
    write.write_all(b"hi").await.unwrap();
    for (c, l, p, i) in [
        (
            read.conv(),
            read.local_addr().unwrap(),
            read.peer_addr(),
            read.info(),
        ),
        (
            write.conv(),
            write.local_addr().unwrap(),
            write.peer_addr(),
            write.info(),
        ),
    ] {
        assert_eq!((c, l, p, i.conv), (conv, local, peer, conv));
    }
    let (mut server, from) = listener.accept().await.unwrap();
    // The client's socket is bound to the unspecified address.
    assert_eq!(from.port(), local.port());
    let mut buf = [0u8; 2];
    server.read_exact(&mut buf).await.unwrap();
    let (sr, sw) = server.into_split();
    assert_eq!((sr.conv(), sw.conv()), (conv, conv));
    assert_eq!((sr.peer_addr(), sw.local_addr().unwrap()), (from, addr));
}

fn state_of(err: &io::Error) -> Option<State> {
    err.get_ref()?.downcast_ref::<State>().copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_session_reports_its_reason_as_a_typed_error() {
    let mut cfg = Config::default();
    cfg.idle_timeout = Some(Duration::from_secs(1));
    let settings = cfg.build().unwrap();
    // Nobody listens at this address.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    drop(sock);
    let (mut read, mut write) = KcpStream::connect(addr, &settings)
        .await
        .unwrap()
        .into_split();
    write.write_all(b"anyone?").await.unwrap();
    let mut buf = [0u8; 8];
    let err = timeout(Duration::from_secs(10), read.read(&mut buf))
        .await
        .expect("read hung past the idle timeout")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(state_of(&err), Some(State::Dead(DeadReason::IdleTimeout)));
    let err = write.write_all(b"more").await.unwrap_err();
    assert_eq!(state_of(&err), Some(State::Dead(DeadReason::IdleTimeout)));
    // The inner error converts into the io::Error's source chain as well.
    let inner = err.into_inner().unwrap().downcast::<State>().unwrap();
    assert_eq!(*inner, State::Dead(DeadReason::IdleTimeout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_send_and_receive_whole_messages() {
    let mut cfg = Config::default();
    cfg.stream = false;
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let (_, mut write) = KcpStream::connect(listener.local_addr().unwrap(), &settings)
        .await
        .unwrap()
        .into_split();
    let messages: Vec<Vec<u8>> = [5, 70_000, 0, write.max_message_size()]
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![i as u8 + 1; n])
        .collect();
    for m in &messages {
        write.send_message(m).await.unwrap();
    }
    let (server, _) = listener.accept().await.unwrap();
    let (mut read, _w) = server.into_split();
    for (i, m) in messages.iter().enumerate() {
        let got = timeout(Duration::from_secs(20), read.recv_message())
            .await
            .expect("message timed out")
            .unwrap();
        assert!(got == *m, "message {i} ({} B) differs", m.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_on_a_stream_mode_session_are_unsupported() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let mut s = KcpStream::connect(listener.local_addr().unwrap(), &settings)
        .await
        .unwrap();
    assert_eq!(s.max_message_size(), 0);
    let err = s.send_message(b"x").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert_eq!(
        err.get_ref()
            .unwrap()
            .downcast_ref::<kcp_session::SendError>(),
        Some(&kcp_session::SendError::NotMessageMode)
    );
    let err = s.recv_message().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_travel_beside_the_stream_both_ways() {
    let settings = Config::kcptun().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let mut client = KcpStream::connect(listener.local_addr().unwrap(), &settings)
        .await
        .unwrap();
    // The server proves the client's address by its first acknowledged reply.
    client.write_all(b"hello").await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).await.unwrap();
    server.write_all(b"world").await.unwrap();
    client.read_exact(&mut buf).await.unwrap();
    let max = client.max_datagram_size();
    assert_eq!(max, server.max_datagram_size());
    let wait = |f| async move {
        timeout(Duration::from_secs(10), f)
            .await
            .expect("datagram timed out")
    };
    // A datagram is unreliable: on loopback none is lost, so each one is checked.
    for n in [0, 1, 700, max] {
        let d: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
        client.send_datagram(&d).unwrap();
        assert_eq!(wait(server.recv_datagram()).await.unwrap(), d);
        server.send_datagram(&d).unwrap();
        assert_eq!(wait(client.recv_datagram()).await.unwrap(), d);
    }
    let err = client.send_datagram(&vec![0; max + 1]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(client.datagram_stats().sent, 4);
    assert_eq!(server.datagram_stats().received, 4);
    // A waiting recv_datagram ends with the session's end.
    let pending = server.recv_datagram();
    drop(server);
    assert!(wait(pending).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_without_fec_fail_instead_of_vanishing() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let s = KcpStream::connect(listener.local_addr().unwrap(), &settings)
        .await
        .unwrap();
    assert_eq!(s.max_datagram_size(), 0);
    let err = s.send_datagram(b"state").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert_eq!(
        err.get_ref()
            .unwrap()
            .downcast_ref::<kcp_session::DatagramError>(),
        Some(&kcp_session::DatagramError::Unsupported)
    );
}
