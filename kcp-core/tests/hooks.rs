//! The hooks for a congestion controller and a pacer outside kcp-core
//! (`set_inflight_cap`, `set_send_quota`, the `delivered_*` and `first_sends` counters),
//! on hand-made segments with a virtual clock. Unset, they change nothing: the differential test holds
//! the default to ikcp byte for byte.

use kcp_core::{Command, Header, Kcp, OVERHEAD};

const CONV: u32 = 0xC0DE;
const PAYLOAD: usize = 1000;

/// An ACK of `sn` (and `una`) from the peer, advertising a window of 128.
fn ack(sn: u32, una: u32) -> Vec<u8> {
    let mut d = vec![0u8; OVERHEAD];
    Header {
        conv: CONV,
        cmd: Command::Ack as u8,
        frg: 0,
        wnd: 128,
        ts: 0,
        sn,
        una,
        len: 0,
    }
    .emit(&mut d);
    d
}

/// The sequence numbers of the data segments in one flush at `t`.
fn flush_sns(kcp: &mut Kcp, t: u32) -> Vec<u32> {
    let mut sns = Vec::new();
    kcp.update(t, |d: &mut [u8]| {
        let mut rest = &d[..];
        while let Some(h) = Header::parse(rest) {
            if h.cmd == Command::Push as u8 {
                sns.push(h.sn);
            }
            rest = &rest[OVERHEAD + h.len as usize..];
        }
    });
    sns
}

/// A sender without a congestion window (kcptun's `nc`), windows of 32, with `n`
/// single-segment messages queued.
fn sender(n: usize) -> Kcp {
    let mut kcp = Kcp::new(CONV);
    kcp.set_nodelay(1, 10, 2, true);
    kcp.set_window_size(32, 32).unwrap();
    for _ in 0..n {
        kcp.send(&[0x42; PAYLOAD]).unwrap();
    }
    kcp
}

#[test]
fn the_inflight_cap_holds_new_segments_back_until_acks_make_room() {
    let mut free = sender(20);
    assert_eq!(free.inflight_cap(), None);
    assert_eq!(flush_sns(&mut free, 0), (0..20).collect::<Vec<_>>());

    let mut capped = sender(20);
    capped.set_inflight_cap(Some(4));
    assert_eq!(capped.inflight_cap(), Some(4));
    assert_eq!(flush_sns(&mut capped, 0), [0, 1, 2, 3]);
    assert_eq!(capped.snd_buf_len(), 4);
    // Nothing new while the cap is reached (and nothing is due for retransmission yet).
    assert_eq!(flush_sns(&mut capped, 10), [] as [u32; 0]);
    // Two segments acknowledged in order: two new ones go.
    capped.input(&ack(1, 2)).unwrap();
    assert_eq!(flush_sns(&mut capped, 20), [4, 5]);
    // The controller lowers the cap below what is in flight: nothing new, nothing lost.
    capped.set_inflight_cap(Some(0));
    assert_eq!(capped.inflight_cap(), Some(1), "0 counts as 1");
    capped.input(&ack(3, 4)).unwrap();
    assert_eq!(flush_sns(&mut capped, 30), [] as [u32; 0]);
    // Lifted: the rest of the window goes.
    capped.set_inflight_cap(None);
    assert_eq!(flush_sns(&mut capped, 40), (6..20).collect::<Vec<_>>());
}

#[test]
fn the_send_quota_paces_data_oldest_first_and_keeps_the_rest_for_later() {
    let wire = OVERHEAD + PAYLOAD;
    let mut kcp = sender(10);
    assert_eq!(kcp.send_quota(), None);
    // Two and a half segments of budget: three go (a segment goes while any is left).
    kcp.set_send_quota(Some(2 * wire + wire / 2));
    assert_eq!(flush_sns(&mut kcp, 0), [0, 1, 2]);
    assert_eq!(kcp.send_quota(), Some(0));
    // Spent: the next flush sends no data, but still acknowledges what arrives.
    let mut peer = Kcp::new(CONV);
    peer.set_nocwnd(true);
    peer.send(b"x").unwrap();
    peer.update(0, |d: &mut [u8]| kcp.input(d).unwrap());
    let mut acks = 0;
    kcp.update(10, |d: &mut [u8]| {
        let h = Header::parse(d).unwrap();
        assert_eq!(h.cmd, Command::Ack as u8, "only the ACK goes");
        acks += 1;
    });
    assert_eq!(acks, 1);
    // One more segment's worth: the oldest waiting one (sn 3) and no other.
    kcp.set_send_quota(Some(wire));
    assert_eq!(flush_sns(&mut kcp, 20), [3]);
    assert_eq!(kcp.send_quota(), Some(0));
    // Segment 0 is lost: the ACKs of 1, 2 and 3 skip it, and its fast retransmission
    // comes before new data.
    kcp.input(&ack(1, 0)).unwrap();
    kcp.input(&ack(2, 0)).unwrap();
    kcp.input(&ack(3, 0)).unwrap();
    kcp.set_send_quota(Some(2 * wire));
    let sns = flush_sns(&mut kcp, 30);
    assert_eq!(sns, [0, 4], "the fast retransmission first");
    // Without a quota, everything else goes at once.
    kcp.set_send_quota(None);
    assert_eq!(flush_sns(&mut kcp, 40), (5..10).collect::<Vec<_>>());
}

#[test]
fn delivered_counters_count_each_acknowledged_segment_once() {
    let mut kcp = sender(6);
    flush_sns(&mut kcp, 0);
    // Out of order, repeated, then cumulative through una.
    kcp.input(&ack(3, 0)).unwrap();
    kcp.input(&ack(3, 0)).unwrap();
    assert_eq!(kcp.stats().delivered_segs, 1);
    kcp.input(&ack(0, 5)).unwrap();
    let s = kcp.stats();
    assert_eq!(s.delivered_segs, 5, "0..5 once each, 3 not twice");
    assert_eq!(s.delivered_bytes, 5 * PAYLOAD as u64);
    // An ACK beyond what was sent, or below una, counts nothing.
    kcp.input(&ack(9, 5)).unwrap();
    kcp.input(&ack(1, 5)).unwrap();
    assert_eq!(kcp.stats().delivered_segs, 5);
}

#[test]
fn first_sends_count_what_left_not_what_was_admitted() {
    let mut kcp = sender(6);
    let wire = OVERHEAD + PAYLOAD;
    // All six are admitted into flight, but the budget lets two go.
    kcp.set_send_quota(Some(2 * wire));
    assert_eq!(flush_sns(&mut kcp, 0), [0, 1]);
    assert_eq!(kcp.snd_nxt(), 6);
    assert_eq!(kcp.stats().first_sends, 2);
    // The rest go later, and a retransmission is not a first send.
    kcp.set_send_quota(None);
    assert_eq!(flush_sns(&mut kcp, 10), [2, 3, 4, 5]);
    assert_eq!(kcp.stats().first_sends, 6);
    flush_sns(&mut kcp, 5_000);
    let s = kcp.stats();
    assert!(s.retransmits > 0);
    assert_eq!(s.first_sends, 6);
}
