//! ikcp's log lines: formatted on the stack, handed to `writelog` when `logmask` asks.

use core::ffi::{c_char, c_int};
use core::fmt::{self, Write};

use kcp_core::{Command, Header, Kcp, OVERHEAD, RTO_MAX};

use crate::cb::{
    IKCP_LOG_IN_ACK, IKCP_LOG_IN_DATA, IKCP_LOG_IN_PROBE, IKCP_LOG_IN_WINS, IKCP_LOG_INPUT,
    IKCP_LOG_OUTPUT, IKCP_LOG_RECV, IKCPCB,
};

/// A log line: ikcp's longest is about 60 bytes; longer text is cut, never overflowed.
struct Line {
    bytes: [u8; 128],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.bytes.len() - 1 - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Whether events of `mask` reach a log callback on `cb` (ikcp's `ikcp_canlog`).
///
/// # Safety
/// `cb` points to a live control block and no Rust reference to it is alive.
pub(crate) unsafe fn enabled(cb: *const IKCPCB, mask: c_int) -> bool {
    // SAFETY: reads two fields through the caller's valid pointer.
    unsafe { (*cb).logmask & mask != 0 && (*cb).writelog.is_some() }
}

/// Formats `args` and hands the line to `writelog` if `mask` is enabled.
///
/// # Safety
/// As [`enabled`]; the callback may run arbitrary C code on `cb`.
pub(crate) unsafe fn write(cb: *mut IKCPCB, mask: c_int, args: fmt::Arguments<'_>) {
    // SAFETY: the caller's pointer is valid; the fields are read, not borrowed, so that
    // the callback may change them.
    unsafe {
        if (*cb).logmask & mask == 0 {
            return;
        }
        let Some(writelog) = (*cb).writelog else {
            return;
        };
        let mut line = Line {
            bytes: [0; 128],
            len: 0,
        };
        let _ = line.write_fmt(args);
        line.bytes[line.len] = 0;
        writelog(line.bytes.as_ptr().cast::<c_char>(), cb, (*cb).user);
    }
}

/// `[RO] N bytes`, before a datagram goes to `output`.
///
/// # Safety
/// As [`write`].
pub(crate) unsafe fn output(cb: *mut IKCPCB, len: usize) {
    // SAFETY: forwarded contract.
    unsafe { write(cb, IKCP_LOG_OUTPUT, format_args!("[RO] {len} bytes")) }
}

/// `[RI] N bytes`, on entry to `ikcp_input` (before its argument checks, as ikcp).
///
/// # Safety
/// As [`write`].
pub(crate) unsafe fn input(cb: *mut IKCPCB, size: c_int) {
    // SAFETY: forwarded contract.
    unsafe { write(cb, IKCP_LOG_INPUT, format_args!("[RI] {size} bytes")) }
}

/// The per-segment lines of an input datagram, in ikcp's order, for the segments ikcp
/// accepts before it stops at a bad one. Run before `Kcp::input` on the same state: the
/// RTO after each acknowledgement is replayed from the state at entry.
///
/// # Safety
/// As [`write`].
pub(crate) unsafe fn input_segments(cb: *mut IKCPCB, kcp: &Kcp, mut data: &[u8]) {
    let wanted = IKCP_LOG_IN_DATA | IKCP_LOG_IN_ACK | IKCP_LOG_IN_PROBE | IKCP_LOG_IN_WINS;
    // SAFETY: `cb` is valid (contract).
    if !unsafe { enabled(cb, wanted) } {
        return;
    }
    let mut rtt = Estimator {
        srtt: kcp.srtt(),
        rttval: kcp.rttvar(),
        rto: kcp.rto(),
        interval: kcp.interval(),
        min_rto: kcp.min_rto(),
    };
    let current = kcp.current();
    while let Some(h) = Header::parse(data) {
        let rest = &data[OVERHEAD..];
        if h.conv != kcp.conv() || rest.len() < h.len as usize || (h.len as i32) < 0 {
            return;
        }
        let Some(cmd) = Command::from_u8(h.cmd) else {
            return;
        };
        data = &rest[h.len as usize..];
        let (sn, ts, wnd) = (h.sn, h.ts, h.wnd);
        let sample = current.wrapping_sub(ts) as i32;
        if cmd == Command::Ack && sample >= 0 {
            rtt.sample(sample);
        }
        let rto = rtt.rto;
        let (mask, line) = match cmd {
            Command::Ack => (
                IKCP_LOG_IN_ACK,
                format_args!("input ack: sn={sn} rtt={sample} rto={rto}"),
            ),
            Command::Push => (IKCP_LOG_IN_DATA, format_args!("input psh: sn={sn} ts={ts}")),
            Command::WindowAsk => (IKCP_LOG_IN_PROBE, format_args!("input probe")),
            Command::WindowTell => (IKCP_LOG_IN_WINS, format_args!("input wins: {wnd}")),
        };
        // SAFETY: `cb` is valid (contract).
        unsafe { write(cb, mask, line) };
    }
}

/// `recv sn=N` for each of `count` segments from `first_sn` that a receive takes.
///
/// # Safety
/// As [`write`].
pub(crate) unsafe fn recv(cb: *mut IKCPCB, first_sn: u32, count: usize) {
    for i in 0..count as u32 {
        let sn = first_sn.wrapping_add(i);
        // SAFETY: forwarded contract.
        unsafe { write(cb, IKCP_LOG_RECV, format_args!("recv sn={sn}")) }
    }
}

/// ikcp's RTT estimator (`ikcp_update_ack`), replayed for the `rto=` of each ACK line:
/// the same integer arithmetic as kcp-core, which does not expose intermediate values.
struct Estimator {
    srtt: i32,
    rttval: i32,
    rto: i32,
    interval: u32,
    min_rto: i32,
}

impl Estimator {
    fn sample(&mut self, rtt: i32) {
        if self.srtt == 0 {
            self.srtt = rtt;
            self.rttval = rtt / 2;
        } else {
            let delta = i64::from(rtt.wrapping_sub(self.srtt)).abs();
            self.rttval = ((i64::from(self.rttval.wrapping_mul(3)) + delta) / 4) as i32;
            self.srtt = self.srtt.wrapping_mul(7).wrapping_add(rtt) / 8;
            if self.srtt < 1 {
                self.srtt = 1;
            }
        }
        let var = (self.rttval.wrapping_mul(4) as u32).max(self.interval);
        let rto = (self.srtt as u32).wrapping_add(var);
        self.rto = rto.max(self.min_rto as u32).min(RTO_MAX) as i32;
    }
}
