//! A hostile smux peer against a server session, memory measured with the counting
//! allocator: 1-byte PSH frames for a stream nobody reads, and SYN floods from a peer that
//! never reads what it is sent. Each must cost bounded memory whatever the frame sizes.
//!
//! Everything runs on one thread (a current-thread runtime with paused time), so the
//! counting allocator sees every allocation of the session's tasks.

use std::time::Duration;

use kcp_testkit::counting_alloc::{self, Counting};
use kcp_tunnel::smux::frame::{Cmd, Header};
use kcp_tunnel::smux::{MuxConfig, Session, counters};
use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` on a current-thread runtime with paused time.
fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(f)
}

/// A server session over an in-memory pipe; returns the peer's end.
fn server(config: MuxConfig) -> (Session, DuplexStream) {
    let (a, b) = duplex(64 << 10);
    let (ar, aw) = tokio::io::split(a);
    (Session::server(ar, aw, config, false), b)
}

/// Writes `frames` of `frame` repeated, in chunks, until a write stays pending for a
/// virtual second (the session stopped reading) or all are written. Returns frames written.
async fn flood(peer: &mut DuplexStream, frame: &[u8], frames: usize) -> usize {
    const PER_CHUNK: usize = 4096;
    let chunk: Vec<u8> = frame.repeat(PER_CHUNK);
    let mut sent = 0;
    while sent < frames {
        let w = tokio::time::timeout(Duration::from_secs(1), peer.write_all(&chunk)).await;
        match w {
            Ok(r) => r.unwrap(),
            Err(_) => break,
        }
        sent += PER_CHUNK;
    }
    sent
}

/// 1-byte PSH frames for a stream that is never read: the session stops reading at its
/// receive budget, and what it holds is at most 1.25x that budget (plus the fixed buffers
/// of the pipe and the session), not 9 bytes of wire or 30-80x the payload per frame.
#[test]
fn one_byte_frames_cost_at_most_the_budget() {
    assert!(counting_alloc::installed());
    const BUDGET: usize = 1 << 20;
    let config = MuxConfig {
        max_receive_buffer: BUDGET,
        max_stream_buffer: BUDGET,
        ..MuxConfig::default()
    };
    let (sent, usage) = counting_alloc::measure(|| {
        run(async {
            let (session, mut peer) = server(config);
            let mut syn = Vec::new();
            Header::emit(&mut syn, 1, Cmd::Syn, 0, 3);
            peer.write_all(&syn).await.unwrap();
            let mut psh = Vec::new();
            Header::emit(&mut psh, 1, Cmd::Psh, 1, 3);
            psh.push(b'x');
            // Up to 40 MB of wire: far past the budget, whichever way it is counted.
            let sent = flood(&mut peer, &psh, 4_500_000).await;
            assert!(!session.is_closed(), "{:?}", session.error());
            let held = session.buffered_bytes();
            assert!(held <= BUDGET + (256 << 10), "{held} bytes buffered");
            session.close();
            sent
        })
    });
    let fixed = 1 << 20; // pipe, read buffer, write queue, runtime
    let bound = (BUDGET + BUDGET / 4 + fixed) as i64;
    println!(
        "1-byte frames: {sent} sent, peak {} bytes for a {BUDGET}-byte budget",
        usage.peak_bytes
    );
    assert!(sent < 4_500_000, "the session never stopped reading");
    assert!(
        usage.peak_bytes <= bound,
        "{sent} 1-byte frames: peak {} bytes > bound {bound}",
        usage.peak_bytes
    );
}

/// A SYN flood from a peer that never reads: every SYN past the accept backlog is refused
/// with a FIN, and those FINs queue for a transport that does not take them. The queue is
/// bounded: the session stops reading the peer instead of growing it.
#[test]
fn syn_flood_control_queue_is_bounded() {
    assert!(counting_alloc::installed());
    let refused_before = counters()
        .refused_streams
        .load(std::sync::atomic::Ordering::Relaxed);
    let (sent, usage) = counting_alloc::measure(|| {
        run(async {
            let (session, mut peer) = server(MuxConfig::default());
            // Distinct odd stream ids, 4096 per chunk; 8 bytes each.
            let mut sent = 0usize;
            let mut sid = 1u32;
            while sent < 1_000_000 {
                let mut chunk = Vec::with_capacity(8 * 4096);
                for _ in 0..4096 {
                    sid += 2;
                    Header::emit(&mut chunk, 1, Cmd::Syn, 0, sid);
                }
                let w = tokio::time::timeout(Duration::from_secs(1), peer.write_all(&chunk));
                match w.await {
                    Ok(r) => r.unwrap(),
                    Err(_) => break,
                }
                sent += 4096;
            }
            assert!(!session.is_closed(), "{:?}", session.error());
            session.close();
            sent
        })
    });
    let refused = counters()
        .refused_streams
        .load(std::sync::atomic::Ordering::Relaxed)
        - refused_before;
    println!(
        "SYN flood: {sent} SYNs sent, {refused} refused, peak {} bytes",
        usage.peak_bytes
    );
    assert!(refused > 0, "no SYN was refused");
    assert!(sent < 1_000_000, "the session never stopped reading");
    assert!(
        usage.peak_bytes <= 2 << 20,
        "{sent} SYNs: peak {} bytes",
        usage.peak_bytes
    );
}

/// A peer may open at most `max_streams` streams at once; the next SYN is answered with a
/// FIN at once (the peer reads EOF on that stream), as when the accept backlog is full.
#[test]
fn streams_per_session_are_capped() {
    run(async {
        let config = MuxConfig {
            max_streams: 4,
            ..MuxConfig::default()
        };
        let (session, mut peer) = server(config);
        let mut wire = Vec::new();
        for sid in [3u32, 5, 7, 9, 11] {
            Header::emit(&mut wire, 1, Cmd::Syn, 0, sid);
        }
        peer.write_all(&wire).await.unwrap();
        let mut accepted = Vec::new();
        for _ in 0..4 {
            accepted.push(session.accept().await.unwrap());
        }
        let mut fin = [0u8; 8];
        tokio::io::AsyncReadExt::read_exact(&mut peer, &mut fin)
            .await
            .unwrap();
        assert_eq!(fin, [1, 1, 0, 0, 11, 0, 0, 0], "FIN for stream 11");
        assert_eq!(session.num_streams(), 4);
        // Closing one makes room for another.
        drop(accepted.pop());
        tokio::io::AsyncReadExt::read_exact(&mut peer, &mut fin)
            .await
            .unwrap();
        assert_eq!(fin, [1, 1, 0, 0, 9, 0, 0, 0]);
        let mut syn = Vec::new();
        Header::emit(&mut syn, 1, Cmd::Syn, 0, 13);
        peer.write_all(&syn).await.unwrap();
        assert_eq!(session.accept().await.unwrap().id(), 13);
    });
}

/// NOP and UPD floods (for a stream that exists and for ones that do not) hold nothing:
/// the session reads them all at a constant cost per frame and stays within its fixed
/// buffers. (This held before the limits above too; it guards the per-frame path.)
#[test]
fn nop_and_upd_floods_hold_nothing() {
    assert!(counting_alloc::installed());
    let (sent, usage) = counting_alloc::measure(|| {
        run(async {
            let config = MuxConfig {
                version: 2,
                ..MuxConfig::default()
            };
            let (session, mut peer) = server(config);
            let mut syn = Vec::new();
            Header::emit(&mut syn, 2, Cmd::Syn, 0, 3);
            peer.write_all(&syn).await.unwrap();
            let mut frames = Vec::new();
            Header::emit(&mut frames, 2, Cmd::Nop, 0, 0);
            kcp_tunnel::smux::frame::emit_upd(&mut frames, 2, 3, 0, 1 << 20);
            kcp_tunnel::smux::frame::emit_upd(&mut frames, 2, 99, 7, 7);
            // 1.2M frames, 20 MB.
            let sent = flood(&mut peer, &frames, 400_000).await;
            assert!(!session.is_closed(), "{:?}", session.error());
            assert_eq!(session.buffered_bytes(), 0);
            session.close();
            sent
        })
    });
    println!(
        "NOP/UPD flood: {} frames, peak {} bytes",
        sent * 3,
        usage.peak_bytes
    );
    assert!(sent >= 400_000, "the session stopped reading NOPs and UPDs");
    assert!(
        usage.peak_bytes <= 1 << 20,
        "peak {} bytes",
        usage.peak_bytes
    );
}
