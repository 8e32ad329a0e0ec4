//! What a hostile peer (or a forger who knows the conversation id and the sequence range)
//! can make a [`Kcp`] do, on the virtual clock: ACK floods against a sender with a full
//! window, and a message of more fragments than the receive window can ever hold.
//!
//! The ACK floods measure the retransmissions the ACKs trigger (fast and early) and the
//! bytes they make the sender put out, against the bytes of ACKs sent in. The bounds the
//! hardened sender keeps (early retransmission plus [`Kcp::set_strict_acks`], as
//! `kcp-session` configures it):
//! - ACKs that acknowledge nothing new (repeats of one sequence number) trigger nothing:
//!   the triggered retransmission bytes stay at most 4x the ACK bytes in;
//! - ACKs that do acknowledge something (random sequence numbers in flight) trigger at
//!   most one retransmission each (packet conservation): a 24-byte ACK that reports one
//!   delivered segment releases at most one segment, the ratio of any ACK clock, and the
//!   sender's total output stays within 4x the ACK bytes of what it sends to a peer that
//!   never answers (each ACK takes a segment out of the timer's work).
//!
//! Before these bounds, early retransmission counted every ACK in flight: 8,256 bytes of
//! one repeated ACK over 10 s made the sender resend 239 MB (about 29,000x). ikcp's fast
//! retransmission alone, bounded by its fast-resend limit, resends 3.6 MB (434x), and
//! still does by default; with strict ACKs, nothing.

use kcp_core::{Command, Header, InputError, Kcp, OVERHEAD, RecvError};
use kcp_testkit::sim::Rng;

const CONV: u32 = 0x0BAD_AC75;
/// kcptun's server window.
const WINDOW: u32 = 1024;
/// The flood: one ACK every 29 ms for 10 s, about 8 KB of ACKs (the measurement that
/// reported this: 8 KB of ACKs over 10 s).
const FLOOD_EVERY: u32 = 29;
const FLOOD_FOR: u32 = 10_000;

/// A datagram of one segment from the peer.
#[allow(clippy::too_many_arguments)]
fn segment(cmd: Command, frg: u8, wnd: u16, ts: u32, sn: u32, una: u32, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; OVERHEAD + payload.len()];
    Header {
        conv: CONV,
        cmd: cmd as u8,
        frg,
        wnd,
        ts,
        sn,
        una,
        len: payload.len() as u32,
    }
    .emit(&mut d);
    d[OVERHEAD..].copy_from_slice(payload);
    d
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flood {
    /// The first ACK of `Repeat` alone.
    Single,
    /// The same ACK over and over: only the first acknowledges anything.
    Repeat,
    /// ACKs of random sequence numbers in flight.
    Random,
}

#[derive(Debug)]
struct Outcome {
    /// KCP bytes the sender put out after its first burst.
    out_bytes: u64,
    /// ACK bytes the flood sent in.
    in_bytes: u64,
    acks_in: u64,
    /// Retransmissions triggered by ACKs (fast and early), and their bytes.
    triggered: u64,
    triggered_bytes: u64,
}

/// Which of the opt-ins the attacked sender runs.
#[derive(Clone, Copy, Debug)]
enum Sender {
    /// ikcp 1.7.1's behaviour (fast retransmission counts every ACK).
    Ikcp,
    /// Early retransmission, fast retransmission as ikcp's.
    Early,
    /// Early retransmission and strict ACKs, as `kcp-session` runs it.
    Hardened,
}

/// A kcptun-style server sender (mode fast, windows 1024, `kcp-session`'s recovery
/// opt-ins as `sender` says) with twice its window of full segments queued, attacked by
/// `flood` for 10 s. The flood's ACKs carry the sender's clock as `ts` (the strongest
/// forger: the echo passes every check) and an `una` that releases nothing.
fn attack(sender: Sender, flood: Flood) -> Outcome {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(0, 30, 2, true);
    kcp.set_window_size(WINDOW, WINDOW).unwrap();
    kcp.set_linear_backoff(true);
    kcp.set_window_recovery(true);
    kcp.set_early_retransmit(!matches!(sender, Sender::Ikcp));
    kcp.set_strict_acks(matches!(sender, Sender::Hardened));
    let mss = kcp.mss();
    let segment_bytes = (mss + OVERHEAD) as u64;
    for _ in 0..2 * WINDOW {
        kcp.send(&vec![0x5a; mss]).unwrap();
    }
    // The peer's request announced its window.
    kcp.input(&segment(
        Command::WindowTell,
        0,
        WINDOW as u16,
        0,
        0,
        0,
        &[],
    ))
    .unwrap();
    kcp.update(0, |_: &mut [u8]| {});
    assert_eq!(
        kcp.snd_buf_len(),
        WINDOW as usize,
        "a full window in flight"
    );

    let mut rng = Rng::new(0x5eed);
    let mut out_bytes = 0u64;
    let mut acks_in = 0u64;
    for t in 1..=FLOOD_FOR {
        let due = match flood {
            Flood::Single => t == FLOOD_EVERY,
            _ => t % FLOOD_EVERY == 0,
        };
        if due {
            let sn = match flood {
                Flood::Repeat | Flood::Single => WINDOW / 2,
                _ => {
                    let span = kcp.snd_nxt().wrapping_sub(kcp.snd_una());
                    kcp.snd_una()
                        .wrapping_add(rng.below(u64::from(span)) as u32)
                }
            };
            kcp.set_current(t);
            kcp.input(&segment(Command::Ack, 0, WINDOW as u16, t, sn, 0, &[]))
                .unwrap();
            acks_in += 1;
        }
        kcp.update(t, |d: &mut [u8]| out_bytes += d.len() as u64);
    }
    let s = kcp.stats();
    let triggered = s.fast_retransmits + s.early_retransmits;
    Outcome {
        out_bytes,
        in_bytes: acks_in * OVERHEAD as u64,
        acks_in,
        triggered,
        triggered_bytes: triggered * segment_bytes,
    }
}

/// Prints what the flood cost: everything out beyond what the first ACK alone causes
/// (that one ACK claims a 0 ms round trip, which pulls the retransmission timeout from
/// its initial 200 ms to its 100 ms floor: any peer's ACK does that), and the
/// retransmissions the ACKs triggered.
fn report(label: &str, o: &Outcome, single: &Outcome) -> i64 {
    let excess = o.out_bytes as i64 - single.out_bytes as i64;
    println!(
        "{label}: {} ACKs ({} B) in; {} B out, {} B beyond one ACK's {} B ({:.2}x the ACK \
         bytes); {} retransmissions triggered by ACKs ({} B, {:.2}x the ACK bytes)",
        o.acks_in,
        o.in_bytes,
        o.out_bytes,
        excess,
        single.out_bytes,
        excess as f64 / o.in_bytes as f64,
        o.triggered,
        o.triggered_bytes,
        o.triggered_bytes as f64 / o.in_bytes as f64,
    );
    excess
}

#[test]
fn a_flood_of_repeated_acks_triggers_no_retransmissions() {
    let single = attack(Sender::Hardened, Flood::Single);
    let o = attack(Sender::Hardened, Flood::Repeat);
    let excess = report("repeated ACK flood", &o, &single);
    assert!(o.acks_in >= 300, "about 8 KB of ACKs: {o:?}");
    assert!(
        o.triggered_bytes <= 4 * o.in_bytes,
        "ACK-triggered retransmissions at most 4x the ACK bytes: {o:?}"
    );
    assert!(
        excess <= 4 * o.in_bytes as i64,
        "all bytes out beyond one ACK's at most 4x the ACK bytes: {o:?}"
    );
}

#[test]
fn a_flood_of_in_flight_acks_triggers_at_most_one_retransmission_per_ack() {
    let single = attack(Sender::Hardened, Flood::Single);
    let o = attack(Sender::Hardened, Flood::Random);
    let excess = report("in-flight ACK flood", &o, &single);
    assert!(o.acks_in >= 300, "about 8 KB of ACKs: {o:?}");
    assert!(
        o.triggered <= o.acks_in,
        "at most one retransmission per ACK: {o:?}"
    );
    // Each ACK takes a segment out of the timer's work, so the total stays below what
    // one ACK causes plus the triggered retransmissions, and within a small constant of
    // the ACK bytes.
    assert!(excess <= o.triggered_bytes as i64, "{o:?}");
    assert!(excess <= 4 * o.in_bytes as i64, "{o:?}");
}

#[test]
fn without_strict_acks_repeated_acks_are_bounded_by_the_fast_resend_limit() {
    // Early retransmission alone counts only ACKs that acknowledge something new, and
    // sends at most one segment per such ACK; fast retransmission keeps ikcp's counting
    // (every ACK above a segment counts), bounded by the fast-resend limit per segment.
    for sender in [Sender::Ikcp, Sender::Early] {
        let single = attack(sender, Flood::Single);
        let o = attack(sender, Flood::Repeat);
        report(&format!("repeated ACK flood, {sender:?}"), &o, &single);
        // 512 segments below the repeated sn, each fast-resent while it has been sent at
        // most 5 times (ikcp's limit), whatever the flood's length; one early resend.
        let early = u64::from(matches!(sender, Sender::Early));
        assert!(o.triggered <= 5 * u64::from(WINDOW / 2) + early, "{o:?}");
    }
}

/// A receiver with `rcv_wnd` segments of window, fed a message of 256 fragments (`frg`
/// 255 down to 0) in order, as far as its window lets the peer send.
fn oversized_message(strict: bool, rcv_wnd: u32) -> (Kcp, Vec<Result<(), InputError>>) {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(1, 10, 2, true);
    kcp.set_window_size(32, rcv_wnd).unwrap();
    kcp.set_strict_input(strict);
    kcp.update(0, |_: &mut [u8]| {});
    let mut results = Vec::new();
    for sn in 0..256u32 {
        let frg = (255 - sn) as u8;
        results.push(kcp.input(&segment(Command::Push, frg, 128, 0, sn, 0, b"frag")));
    }
    (kcp, results)
}

#[test]
fn a_message_longer_than_the_receive_window_wedges_ikcp_for_good() {
    // ikcp 1.7.1 (and so the default): the first fragments fill the receive queue up to
    // the window, the message can never complete, and the window stays shut.
    let (mut kcp, results) = oversized_message(false, 200);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(kcp.rcv_queue_len(), 200);
    assert_eq!(kcp.recv(&mut [0u8; 4096]), Err(RecvError::Incomplete));
    let mut wnds = Vec::new();
    kcp.update(10, |d: &mut [u8]| wnds.push(Header::parse(d).unwrap().wnd));
    assert!(wnds.iter().all(|&w| w == 0), "{wnds:?}");
    // Whatever arrives later, nothing can be read.
    for sn in 0..256u32 {
        let _ = kcp.input(&segment(Command::Push, 0, 128, 0, sn, 0, b"more"));
    }
    assert_eq!(kcp.recv(&mut [0u8; 4096]), Err(RecvError::Incomplete));
}

#[test]
fn strict_input_refuses_a_fragment_count_the_window_can_never_hold() {
    for rcv_wnd in [128u32, 200, 255] {
        let (mut kcp, results) = oversized_message(true, rcv_wnd);
        // Every fragment that announces more than the window holds is refused and counted.
        let refused = results
            .iter()
            .filter(|r| **r == Err(InputError::TooManyFragments))
            .count();
        let announcing_too_many = (0..256u32).filter(|sn| 255 - sn >= rcv_wnd).count();
        assert_eq!(refused, announcing_too_many, "rcv_wnd {rcv_wnd}");
        assert_eq!(kcp.stats().in_errors, refused as u64);
        // Nothing of them was kept or acknowledged, so the window stays open; the
        // fragments after them that lie within the window wait for the refused ones.
        let kept = (0..256u32)
            .filter(|sn| *sn < rcv_wnd && 255 - sn < rcv_wnd)
            .count();
        assert_eq!(kcp.rcv_queue_len(), 0);
        assert_eq!(kcp.rcv_buf_len(), kept);
        assert_eq!(kcp.ack_pending(), kept);
        let mut wnds = Vec::new();
        kcp.update(10, |d: &mut [u8]| wnds.push(Header::parse(d).unwrap().wnd));
        assert!(wnds.iter().all(|&w| u32::from(w) == rcv_wnd), "{wnds:?}");
        assert_eq!(kcp.recv(&mut [0u8; 4096]), Err(RecvError::Empty));
    }
    // A window of 256 or more holds any message: nothing is refused.
    let (_, results) = oversized_message(true, 256);
    assert!(results.iter().all(Result::is_ok));
}
