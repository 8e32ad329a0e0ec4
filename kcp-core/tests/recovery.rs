//! The opt-ins beyond ikcp (window recovery, linear back-off) and the idle-skipping
//! helpers (`is_idle`, `advance_idle`), on hand-made segments with a virtual clock. With the
//! opt-ins off, the differential test holds kcp-core to ikcp byte for byte.

use kcp_core::{Command, Header, Kcp, OVERHEAD};

const CONV: u32 = 7;

/// A datagram of one segment from the peer.
fn segment(cmd: Command, sn: u32, una: u32, wnd: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; OVERHEAD + payload.len()];
    Header {
        conv: CONV,
        cmd: cmd as u8,
        frg: 0,
        wnd,
        ts: 0,
        sn,
        una,
        len: payload.len() as u32,
    }
    .emit(&mut d);
    d[OVERHEAD..].copy_from_slice(payload);
    d
}

/// The commands of the segments in `datagrams`.
fn commands(datagrams: &[Vec<u8>]) -> Vec<u8> {
    let mut cmds = Vec::new();
    for d in datagrams {
        let mut rest = &d[..];
        while let Some(h) = Header::parse(rest) {
            cmds.push(h.cmd);
            rest = &rest[OVERHEAD + h.len as usize..];
        }
    }
    cmds
}

/// Runs `update` every millisecond from `from` to `to`, returning (time, datagram).
fn run(kcp: &mut Kcp, from: u32, to: u32) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut t = from;
    while t != to {
        kcp.update(t, |d: &mut [u8]| out.push((t, d.to_vec())));
        t = t.wrapping_add(1);
    }
    out
}

fn count(out: &[(u32, Vec<u8>)], cmd: Command) -> Vec<u32> {
    out.iter()
        .filter(|(_, d)| commands(std::slice::from_ref(d)).contains(&(cmd as u8)))
        .map(|(t, _)| *t)
        .collect()
}

/// A receiver whose window of 128 segments is full of in-order data, after a flush that
/// advertised the zero window.
fn full_receiver(recovery: bool, start: u32) -> Kcp {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(1, 10, 2, true);
    kcp.set_window_recovery(recovery);
    kcp.update(start, |_: &mut [u8]| {});
    for sn in 0..128 {
        kcp.input(&segment(Command::Push, sn, 0, 128, b"data"))
            .unwrap();
    }
    assert_eq!(kcp.rcv_queue_len(), 128);
    let mut wnds = Vec::new();
    kcp.flush(|d: &mut [u8]| wnds.push(Header::parse(d).unwrap().wnd));
    assert!(
        !wnds.is_empty() && wnds.iter().all(|&w| w == 0),
        "the acknowledgements advertise a zero window: {wnds:?}"
    );
    kcp
}

#[test]
fn a_reopened_window_is_announced_again_at_rto_pace_until_new_data_arrives() {
    let start = u32::MAX - 500; // the clock wraps
    for recovery in [false, true] {
        let mut kcp = full_receiver(recovery, start);
        let mut buf = [0u8; 64];
        kcp.recv(&mut buf).unwrap();
        let out = run(&mut kcp, start.wrapping_add(1), start.wrapping_add(20_000));
        let tells = count(&out, Command::WindowTell);
        if !recovery {
            assert_eq!(tells.len(), 1, "ikcp announces once: {tells:?}");
            continue;
        }
        // The first announcement, then 8 more, each wait ×1.5 from one RTO (200 ms).
        assert_eq!(tells.len(), 9, "{tells:?}");
        let waits: Vec<u32> = tells.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        assert!((200..=210).contains(&waits[0]), "{waits:?}");
        for w in waits.windows(2) {
            let ratio = f64::from(w[1]) / f64::from(w[0]);
            assert!((1.4..1.6).contains(&ratio), "{waits:?}");
        }
        assert!(kcp.is_idle(), "the repeats ran out");
    }
}

#[test]
fn new_data_from_the_peer_ends_the_announcements() {
    let start = 1000;
    let mut kcp = full_receiver(true, start);
    kcp.recv(&mut [0u8; 64]).unwrap();
    let out = run(&mut kcp, start + 1, start + 300);
    assert_eq!(
        count(&out, Command::WindowTell).len(),
        2,
        "first and one repeat"
    );
    assert!(!kcp.is_idle(), "more repeats are pending");
    // A retransmission of something already received shows nothing.
    kcp.input(&segment(Command::Push, 5, 0, 128, b"data"))
        .unwrap();
    run(&mut kcp, start + 300, start + 301);
    assert!(!kcp.is_idle());
    // Data the peer had not sent before: it heard the window reopen.
    kcp.input(&segment(Command::Push, 128, 0, 128, b"new!"))
        .unwrap();
    let out = run(&mut kcp, start + 301, start + 20_000);
    assert!(count(&out, Command::WindowTell).is_empty());
    assert!(kcp.is_idle());
}

/// A sender with queued data whose peer advertised a zero window.
fn blocked_sender(recovery: bool) -> Kcp {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(0, 30, 2, true);
    kcp.set_window_recovery(recovery);
    kcp.update(0, |_: &mut [u8]| {});
    kcp.input(&segment(Command::WindowTell, 0, 0, 0, &[]))
        .unwrap();
    kcp.send(b"waiting for a window").unwrap();
    kcp
}

#[test]
fn a_closed_peer_window_is_probed_after_one_rto_instead_of_seven_seconds() {
    // The timer starts at the first flush (by 30 ms) and fires at a flush (every 30 ms).
    for (recovery, first) in [(false, 7000..7061), (true, 200..261)] {
        let mut kcp = blocked_sender(recovery);
        let out = run(&mut kcp, 1, 20_000);
        let asks = count(&out, Command::WindowAsk);
        assert!(first.contains(&asks[0]), "recovery {recovery}: {asks:?}");
        assert!(
            count(&out, Command::Push).is_empty(),
            "nothing fits the window"
        );
    }
}

#[test]
fn a_reopened_peer_window_keeps_the_conversation_busy_until_the_next_flush() {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(0, 30, 2, true);
    kcp.update(0, |_: &mut [u8]| {});
    kcp.send(b"x").unwrap();
    run(&mut kcp, 1, 100);
    // Everything is acknowledged, and the peer's window is closed.
    kcp.input(&segment(Command::Ack, 0, 1, 0, &[])).unwrap();
    let out = run(&mut kcp, 100, 8000);
    assert_eq!(
        count(&out, Command::WindowAsk).len(),
        1,
        "one probe, after 7 s"
    );
    kcp.input(&segment(Command::WindowTell, 0, 1, 128, &[]))
        .unwrap();
    assert!(
        !kcp.is_idle(),
        "the probe timer still runs: skipping the next flush would leave it armed"
    );
    run(&mut kcp, 8000, 8031);
    assert!(kcp.is_idle());
    // A later zero window starts a fresh 7 s wait, as with ikcp.
    kcp.input(&segment(Command::WindowTell, 0, 1, 0, &[]))
        .unwrap();
    let out = run(&mut kcp, 8031, 30_000);
    let asks = count(&out, Command::WindowAsk);
    assert!((15_031..15_092).contains(&asks[0]), "{asks:?}");
}

#[test]
fn linear_backoff_grows_the_rto_by_a_constant_step() {
    for (nodelay, linear) in [(0, false), (0, true), (1, false), (1, true)] {
        let mut kcp = Kcp::new(CONV);
        kcp.set_nodelay(nodelay, 10, 0, true);
        kcp.set_linear_backoff(linear);
        kcp.set_dead_link(100);
        kcp.update(0, |_: &mut [u8]| {});
        kcp.send(b"never acknowledged").unwrap();
        let out = run(&mut kcp, 0, 200_000);
        let sends = count(&out, Command::Push);
        let gaps: Vec<u32> = sends.windows(2).map(|w| w[1] - w[0]).collect();
        let steps: Vec<i64> = gaps
            .windows(2)
            .map(|w| i64::from(w[1]) - i64::from(w[0]))
            .collect();
        // The RTO is 200 ms without samples; flushes every 10 ms round it up, and the
        // first wait of nodelay 0 has ikcp's extra RTO/8.
        let rto = 200i64;
        let step = if nodelay == 0 { rto } else { rto / 2 };
        if linear {
            assert!(
                steps[1..7]
                    .iter()
                    .all(|s| (step - 10..=step + 10).contains(s)),
                "nodelay {nodelay}: {gaps:?}"
            );
        } else {
            // ikcp: doubling (nodelay 0) or ×1.5 (nodelay 1): the steps themselves grow.
            assert!(steps[4] > 2 * step, "nodelay {nodelay}: {gaps:?}");
        }
    }
}

#[test]
fn advance_idle_puts_the_flush_timer_where_regular_updates_keep_it() {
    for (start, idle) in [(0u32, 35u32), (5, 12_345), (u32::MAX - 20_000, 37_777)] {
        let mut every = Kcp::new(CONV);
        let mut skipping = Kcp::new(CONV);
        for k in [&mut every, &mut skipping] {
            k.set_interval(30);
            k.update(start, |_: &mut [u8]| {});
        }
        let resume = start.wrapping_add(idle);
        run(&mut every, start.wrapping_add(1), resume);
        skipping.advance_idle(resume);
        assert_eq!(every.current(), resume.wrapping_sub(1));
        assert_eq!(skipping.current(), resume);
        for k in [&mut every, &mut skipping] {
            k.send(b"after the gap").unwrap();
        }
        // Both flush at the same grid points from here on.
        let a = run(&mut every, resume, resume.wrapping_add(500));
        let b = run(&mut skipping, resume, resume.wrapping_add(500));
        assert!(!a.is_empty());
        assert_eq!(a, b, "start {start}, idle {idle} ms");
    }
}

#[test]
fn early_retransmit_resends_a_skipped_tail_segment_at_the_next_flush() {
    for early in [false, true] {
        let mut kcp = Kcp::new(CONV);
        kcp.set_nodelay(0, 30, 2, true);
        kcp.set_early_retransmit(early);
        kcp.update(0, |_: &mut [u8]| {});
        // Three segments go out; the peer acknowledges the last one only: the first two
        // were skipped once, fewer times than fast retransmission waits for.
        for _ in 0..3 {
            kcp.send(&[7; 100]).unwrap();
        }
        let first = run(&mut kcp, 1, 31);
        assert_eq!(
            count(&first, Command::Push).len(),
            1,
            "one datagram with all three"
        );
        let mut ack = segment(Command::Ack, 2, 0, 128, &[]);
        // The acknowledgement echoes the time the segment was sent (30).
        ack[8..12].copy_from_slice(&30u32.to_le_bytes());
        kcp.set_current(35);
        kcp.input(&ack).unwrap();
        if !early {
            // ikcp waits for the timeout: RTO 200 ms plus RTO/8 after the first send.
            let resent = count(&run(&mut kcp, 36, 400), Command::Push);
            assert!(resent.first().is_some_and(|&t| t >= 225), "{resent:?}");
            assert_eq!(kcp.stats().early_retransmits, 0);
            continue;
        }
        // One ACK reported one segment delivered: one segment goes again at the next
        // flush, the oldest (packet conservation).
        let out = run(&mut kcp, 36, 70);
        assert_eq!(count(&out, Command::Push), [60], "at the next flush");
        assert_eq!(kcp.stats().early_retransmits, 1);
        assert_eq!(sns(&out), [0]);
        // Its ACK releases the other skipped one at the next flush.
        let mut ack = segment(Command::Ack, 0, 0, 128, &[]);
        ack[8..12].copy_from_slice(&60u32.to_le_bytes());
        kcp.set_current(70);
        kcp.input(&ack).unwrap();
        let out = run(&mut kcp, 70, 100);
        assert_eq!(count(&out, Command::Push), [90]);
        assert_eq!(sns(&out), [1]);
        assert_eq!(kcp.stats().early_retransmits, 2);
    }
}

/// The sequence numbers of the data segments in `out`.
fn sns(out: &[(u32, Vec<u8>)]) -> Vec<u32> {
    let mut sns = Vec::new();
    for (_, d) in out {
        let mut rest = &d[..];
        while let Some(h) = Header::parse(rest) {
            if h.cmd == Command::Push as u8 {
                sns.push(h.sn);
            }
            rest = &rest[OVERHEAD + h.len as usize..];
        }
    }
    sns
}

#[test]
fn strict_acks_resend_a_burst_of_losses_at_the_pace_acks_arrive() {
    for strict in [false, true] {
        let mut kcp = Kcp::new(CONV);
        kcp.set_nodelay(1, 10, 2, true);
        kcp.set_strict_acks(strict);
        kcp.update(0, |_: &mut [u8]| {});
        for _ in 0..12 {
            kcp.send(&[7; 1000]).unwrap();
        }
        run(&mut kcp, 1, 11);
        assert_eq!(kcp.snd_buf_len(), 12);
        // Segments 0..10 are lost; 10 and 11 arrive, each acknowledged in a datagram of
        // its own, and the ACK of 11 is repeated.
        kcp.set_current(15);
        for sn in [10, 11, 11, 11] {
            let mut ack = segment(Command::Ack, sn, 0, 128, &[]);
            ack[8..12].copy_from_slice(&10u32.to_le_bytes());
            kcp.input(&ack).unwrap();
        }
        let out = run(&mut kcp, 15, 25);
        if strict {
            // Two segments newly acknowledged: two resent, the oldest.
            assert_eq!(sns(&out), [0, 1]);
        } else {
            // ikcp: every ACK counts; all ten reached the resend threshold.
            assert_eq!(sns(&out), (0..10).collect::<Vec<_>>());
        }
        // With strict ACKs the repeats did not count: segments 0..10 were skipped twice,
        // by the ACKs of 10 and 11; the two resent ones start over.
        if strict {
            let mut ack = segment(Command::Ack, 0, 0, 128, &[]);
            ack[8..12].copy_from_slice(&20u32.to_le_bytes());
            kcp.set_current(25);
            kcp.input(&ack).unwrap();
            let out = run(&mut kcp, 25, 35);
            assert_eq!(sns(&out), [2], "one more ACK, one more resend");
        }
    }
}
