//! What a hostile peer (or a forger who knows the conversation id and the sequence range)
//! can make a [`Kcp`] do, on the virtual clock: a message of more fragments than the
//! receive window can ever hold.

use kcp_core::{Command, Header, InputError, Kcp, OVERHEAD, RecvError};

const CONV: u32 = 0x0BAD_AC75;

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
