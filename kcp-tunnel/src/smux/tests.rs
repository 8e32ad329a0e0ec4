//! Tests of the smux session over in-memory pipes.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

use super::config::INITIAL_PEER_WINDOW;
use super::frame::{Cmd, Header};
use super::*;

/// A client and a server session over an in-memory pipe of `pipe` bytes each way.
fn pair(config: MuxConfig, compress: bool, pipe: usize) -> (Session, Session) {
    let (a, b) = duplex(pipe);
    let (ar, aw) = tokio::io::split(a);
    let (br, bw) = tokio::io::split(b);
    if compress {
        use crate::snappy::SnappyReader;
        (
            Session::client(SnappyReader::new(ar), aw, config, true),
            Session::server(SnappyReader::new(br), bw, config, true),
        )
    } else {
        (
            Session::client(ar, aw, config, false),
            Session::server(br, bw, config, false),
        )
    }
}

fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

/// Four streams echo 1 MiB each at once, for both versions, with and without snappy.
#[tokio::test]
async fn streams_echo_in_parallel() {
    for (version, compress) in [(1, false), (2, false), (1, true), (2, true)] {
        let config = MuxConfig {
            version,
            max_stream_buffer: 128 << 10,
            ..MuxConfig::default()
        };
        let (client, server) = pair(config, compress, 64 << 10);
        let echo = tokio::spawn(async move {
            for _ in 0..4 {
                let mut s = server.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 10_000];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                    s.shutdown().await.unwrap();
                });
            }
            server
        });
        let mut jobs = Vec::new();
        for i in 0..4u8 {
            let s = client.open().unwrap();
            assert_eq!(s.id(), 3 + 2 * u32::from(i));
            jobs.push(tokio::spawn(async move {
                let data = pattern(i, 1 << 20);
                let (mut r, mut w) = tokio::io::split(s);
                let sent = data.clone();
                let writer = tokio::spawn(async move {
                    w.write_all(&sent).await.unwrap();
                    w.shutdown().await.unwrap();
                    w
                });
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                assert!(got == data, "stream {i}: echo differs");
                drop(writer.await.unwrap());
            }));
        }
        for j in jobs {
            j.await.unwrap();
        }
        let server = echo.await.unwrap();
        assert!(!client.is_closed() && !server.is_closed());
        client.close();
        assert!(server.closed().await.kind() == io::ErrorKind::UnexpectedEof);
    }
}

/// Writes to `s` until a write stays pending for a (virtual) second; returns the bytes
/// accepted.
async fn write_until_stuck(s: &mut Stream) -> usize {
    let chunk = vec![7u8; 16 << 10];
    let mut total = 0;
    while let Ok(r) = tokio::time::timeout(Duration::from_secs(1), s.write(&chunk)).await {
        total += r.unwrap();
        assert!(total < 64 << 20, "writes never stopped");
    }
    total
}

/// v1: a stream nobody reads fills the session's receive buffer, then the reader stops
/// and the writer waits: memory stays bounded, and reading lets everything through.
#[tokio::test(start_paused = true)]
async fn v1_back_pressure_bounds_the_session() {
    let config = MuxConfig {
        max_receive_buffer: 1 << 20,
        max_stream_buffer: 1 << 20,
        ..MuxConfig::default()
    };
    let (client, server) = pair(config, false, 64 << 10);
    let mut s = client.open().unwrap();
    let mut peer = server.accept().await.unwrap();
    let accepted = write_until_stuck(&mut s).await;
    // Session buffer + what the reader read ahead + pipe + write queue + one write.
    let bound = (1 << 20) + (192 << 10) + (64 << 10) + WRITE_QUEUE + (16 << 10);
    assert!(accepted >= 1 << 20, "stalled early: {accepted}");
    assert!(
        accepted <= bound,
        "{accepted} bytes accepted, bound {bound}"
    );
    let mut got = vec![0u8; accepted];
    peer.read_exact(&mut got).await.unwrap();
    assert!(got.iter().all(|&b| b == 7));
    // The buffer drained: the writer goes on.
    assert_eq!(s.write(&[1, 2, 3]).await.unwrap(), 3);
    let mut three = [0u8; 3];
    peer.read_exact(&mut three).await.unwrap();
    assert_eq!(three, [1, 2, 3]);
}

/// v2: each stream honours the peer's window (256 KiB until its first read), so one
/// stalled stream does not stop another.
#[tokio::test(start_paused = true)]
async fn v2_window_per_stream() {
    let config = MuxConfig {
        version: 2,
        max_receive_buffer: 4 << 20,
        max_stream_buffer: 512 << 10,
        ..MuxConfig::default()
    };
    let (client, server) = pair(config, false, 64 << 10);
    let mut stuck = client.open().unwrap();
    let _stuck_peer = server.accept().await.unwrap();
    let accepted = write_until_stuck(&mut stuck).await;
    assert_eq!(accepted, INITIAL_PEER_WINDOW as usize);
    let mut other = client.open().unwrap();
    let mut other_peer = server.accept().await.unwrap();
    let mut got = vec![0u8; 300_000];
    let sent = pattern(3, 300_000);
    let (w, r) = tokio::join!(other.write_all(&sent), other_peer.read_exact(&mut got));
    w.unwrap();
    r.unwrap();
    assert!(got == pattern(3, 300_000));
    // After reads, the window is the peer's streambuf.
    let more = write_until_stuck(&mut other).await;
    assert!(more <= 512 << 10, "{more} bytes past a 512 KiB window");
    assert!(more >= 256 << 10, "window did not grow: {more}");
}

/// Bytes that are not smux end the session with InvalidData; streams fail, nothing
/// panics.
#[tokio::test]
async fn garbage_ends_the_session() {
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[2, 2, 0, 0, 3, 0, 0, 0][..],
        &[1, 9, 0, 0, 0, 0, 0, 0][..],
        &[1, 0, 5, 0, 3, 0, 0, 0, 1, 2, 3, 4, 5][..],
    ] {
        let (a, mut b) = duplex(4096);
        let (ar, aw) = tokio::io::split(a);
        let session = Session::server(ar, aw, MuxConfig::default(), false);
        b.write_all(garbage).await.unwrap();
        let e = session.accept().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{garbage:?}: {e}");
        assert!(session.is_closed());
        assert!(session.open().is_err());
    }
}

/// PSH for a stream that is gone is discarded (and costs no receive buffer); UPD in a
/// v1 session is tolerated as in smux 1.5.16; a duplicate SYN is ignored.
#[tokio::test]
async fn stray_frames_are_tolerated() {
    let (a, mut b) = duplex(1 << 16);
    let (ar, aw) = tokio::io::split(a);
    let session = Session::server(ar, aw, MuxConfig::default(), false);
    let before = counters().discarded_bytes.load(Ordering::Relaxed);
    let mut wire = Vec::new();
    Header::emit(&mut wire, 1, Cmd::Psh, 4, 99);
    wire.extend_from_slice(b"lost");
    frame::emit_upd(&mut wire, 1, 99, 1, 2);
    Header::emit(&mut wire, 1, Cmd::Syn, 0, 3);
    Header::emit(&mut wire, 1, Cmd::Syn, 0, 3);
    Header::emit(&mut wire, 1, Cmd::Psh, 2, 3);
    wire.extend_from_slice(b"ok");
    Header::emit(&mut wire, 1, Cmd::Fin, 0, 3);
    b.write_all(&wire).await.unwrap();
    let mut s = session.accept().await.unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"ok");
    assert!(counters().discarded_bytes.load(Ordering::Relaxed) >= before + 4);
    assert_eq!(session.num_streams(), 1);
    drop(s);
    assert_eq!(session.num_streams(), 0);
    // Our FIN for stream 3 went out.
    let mut out = [0u8; 8];
    b.read_exact(&mut out).await.unwrap();
    assert_eq!(out, [1, 1, 0, 0, 3, 0, 0, 0]);
}

/// A session that hears nothing for the keepalive timeout closes; one that hears NOPs
/// stays up.
#[tokio::test(start_paused = true)]
async fn keepalive_timeout() {
    let (a, _b) = duplex(4096);
    let (ar, aw) = tokio::io::split(a);
    let lonely = Session::client(ar, aw, MuxConfig::default(), false);
    let (client, server) = pair(MuxConfig::default(), false, 4096);
    let e = lonely.closed().await;
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(!client.is_closed() && !server.is_closed());
}

/// Fills `server`'s receive budget through a stream it never reads.
async fn fill_budget(client: &Session, server: &Session) -> (Stream, Stream) {
    let mut s = client.open().unwrap();
    let peer = server.accept().await.unwrap();
    write_until_stuck(&mut s).await;
    (s, peer)
}

/// While its receive budget is full a session cannot read frames, so smux's keepalive
/// rule never fires there: a slow reader keeps sending NOPs (its peer stays up), and a
/// transport probe decides whether the peer is still heard from.
#[tokio::test(start_paused = true)]
async fn keepalive_with_a_full_receive_budget() {
    let config = MuxConfig {
        max_receive_buffer: 256 << 10,
        max_stream_buffer: 256 << 10,
        ..MuxConfig::default()
    };
    // A peer that is heard from: both ends stay up for two minutes.
    let (client, server) = pair(config, false, 64 << 10);
    let heard = std::sync::Arc::new(AtomicU64::new(0));
    let h = std::sync::Arc::clone(&heard);
    server.set_liveness(move || h.fetch_add(1, Ordering::Relaxed));
    let _streams = fill_budget(&client, &server).await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(!client.is_closed(), "{:?}", client.error());
    assert!(!server.is_closed(), "{:?}", server.error());
    // A peer that is gone (its transport hears nothing): the full session ends.
    let (client, server) = pair(config, false, 64 << 10);
    server.set_liveness(|| 7);
    let _streams = fill_budget(&client, &server).await;
    let before = counters().keepalive_timeouts.load(Ordering::Relaxed);
    let e = tokio::time::timeout(Duration::from_secs(65), server.closed())
        .await
        .expect("a full session whose peer is gone must end");
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert!(counters().keepalive_timeouts.load(Ordering::Relaxed) > before);
}
