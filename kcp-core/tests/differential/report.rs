//! Read-outs of both implementations and readable descriptions of differences.

use std::fmt::Write as _;

use kcp_core::Kcp;
use kcp_testkit::ikcp::CKcp;

pub(crate) fn usize_code<E>(r: &Result<usize, E>, err: impl Fn(&E) -> i32) -> i64 {
    match r {
        Ok(v) => *v as i64,
        Err(e) => i64::from(err(e)),
    }
}

/// Everything readable from outside, in one comparable record.
#[derive(Debug, PartialEq, Eq, Clone)]
pub(crate) struct Readout {
    conv: u32,
    mtu: u64,
    mss: u64,
    pub(crate) state: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    cwnd: u32,
    ssthresh: u32,
    rto: i32,
    srtt: i32,
    rttvar: i32,
    min_rto: i32,
    rmt_wnd: u32,
    snd_wnd: u32,
    rcv_wnd: u32,
    interval: u32,
    nodelay: u32,
    stream: bool,
    current: u32,
    snd_queue: u64,
    snd_buf: u64,
    rcv_queue: u64,
    rcv_buf: u64,
    acks: u64,
    wait_snd: i64,
    peek_size: i64,
    rto_retransmits: u64,
    check: [u32; 5],
}

pub(crate) fn check_times(now: u32, interval: u32) -> [u32; 5] {
    [
        now,
        now.wrapping_add(1),
        now.wrapping_add(interval / 2),
        now.wrapping_add(20_000),
        now.wrapping_sub(5),
    ]
}

pub(crate) fn readout_c(k: &CKcp, now: u32) -> Readout {
    Readout {
        conv: k.conv(),
        mtu: u64::from(k.mtu()),
        mss: u64::from(k.mss()),
        state: k.state(),
        snd_una: k.snd_una(),
        snd_nxt: k.snd_nxt(),
        rcv_nxt: k.rcv_nxt(),
        cwnd: k.cwnd(),
        ssthresh: k.ssthresh(),
        rto: k.rto(),
        srtt: k.srtt(),
        rttvar: k.rttvar(),
        min_rto: k.min_rto(),
        rmt_wnd: k.rmt_wnd(),
        snd_wnd: k.snd_wnd(),
        rcv_wnd: k.rcv_wnd(),
        interval: k.interval(),
        nodelay: k.nodelay(),
        stream: k.stream(),
        current: k.current(),
        snd_queue: u64::from(k.snd_queue_len()),
        snd_buf: u64::from(k.snd_buf_len()),
        rcv_queue: u64::from(k.rcv_queue_len()),
        rcv_buf: u64::from(k.rcv_buf_len()),
        acks: u64::from(k.ack_pending()),
        wait_snd: i64::from(k.wait_snd()),
        peek_size: i64::from(k.peek_size()),
        rto_retransmits: u64::from(k.xmit()),
        check: check_times(now, k.interval()).map(|t| k.check(t)),
    }
}

pub(crate) fn readout_r(k: &Kcp, now: u32) -> Readout {
    Readout {
        conv: k.conv(),
        mtu: k.mtu() as u64,
        mss: k.mss() as u64,
        state: k.state(),
        snd_una: k.snd_una(),
        snd_nxt: k.snd_nxt(),
        rcv_nxt: k.rcv_nxt(),
        cwnd: k.cwnd(),
        ssthresh: k.ssthresh(),
        rto: k.rto(),
        srtt: k.srtt(),
        rttvar: k.rttvar(),
        min_rto: k.min_rto(),
        rmt_wnd: k.rmt_wnd(),
        snd_wnd: k.snd_wnd(),
        rcv_wnd: k.rcv_wnd(),
        interval: k.interval(),
        nodelay: k.nodelay(),
        stream: k.is_stream(),
        current: k.current(),
        snd_queue: k.snd_queue_len() as u64,
        snd_buf: k.snd_buf_len() as u64,
        rcv_queue: k.rcv_queue_len() as u64,
        rcv_buf: k.rcv_buf_len() as u64,
        acks: k.ack_pending() as u64,
        wait_snd: k.wait_snd() as i64,
        // ikcp_peeksize reports both "empty" and "incomplete" as -1.
        peek_size: k.peek_size().map_or(-1, |n| n as i64),
        rto_retransmits: k.stats().lost_segs,
        check: check_times(now, k.interval()).map(|t| k.check(t)),
    }
}

/// A field-by-field list of what differs between two read-outs.
pub(crate) fn readout_diff(c: &Readout, r: &Readout) -> String {
    let c = format!("{c:#?}");
    let r = format!("{r:#?}");
    let mut out = String::new();
    for (lc, lr) in c.lines().zip(r.lines()) {
        if lc != lr {
            let _ = writeln!(out, "  C   {}\n  Rust{}", lc.trim_end(), lr.trim_end());
        }
    }
    out
}

/// A short description of the segments in a datagram (for failure reports).
pub(crate) fn describe(d: &[u8]) -> String {
    let mut out = String::new();
    let mut p = d;
    while p.len() >= 24 {
        let u32_at = |i: usize| u32::from_le_bytes(p[i..i + 4].try_into().unwrap());
        let len = u32_at(20) as usize;
        let _ = write!(
            out,
            "[conv={:#x} cmd={} frg={} wnd={} ts={} sn={} una={} len={}] ",
            u32_at(0),
            p[4],
            p[5],
            u16::from_le_bytes([p[6], p[7]]),
            u32_at(8),
            u32_at(12),
            u32_at(16),
            len
        );
        if len > p.len() - 24 {
            out.push_str("<bad length>");
            break;
        }
        p = &p[24 + len..];
    }
    if !p.is_empty() {
        let _ = write!(out, "+{} trailing bytes", p.len());
    }
    out
}

/// The offsets of the segment headers in a well-formed datagram (at least one).
pub(crate) fn segment_starts(d: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while d.len() - at >= 24 {
        starts.push(at);
        let len = u32::from_le_bytes(d[at + 20..at + 24].try_into().unwrap()) as usize;
        at += 24 + len.min(d.len() - at - 24);
    }
    assert!(!starts.is_empty(), "datagrams on the wire hold a segment");
    starts
}

pub(crate) fn datagrams_diff(c: &[Vec<u8>], r: &[Vec<u8>]) -> Option<String> {
    if c == r {
        return None;
    }
    let mut out = format!("C emitted {} datagrams, Rust {}\n", c.len(), r.len());
    for i in 0..c.len().max(r.len()) {
        match (c.get(i), r.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                let _ = writeln!(out, "first difference at datagram {i}:");
                if let Some(a) = a {
                    let _ = writeln!(out, "  C    ({} bytes) {}", a.len(), describe(a));
                }
                if let Some(b) = b {
                    let _ = writeln!(out, "  Rust ({} bytes) {}", b.len(), describe(b));
                }
                if let (Some(a), Some(b)) = (a, b) {
                    let at = a.iter().zip(b.iter()).position(|(x, y)| x != y);
                    let _ = writeln!(out, "  first differing byte: {at:?}");
                }
                break;
            }
        }
    }
    Some(out)
}
