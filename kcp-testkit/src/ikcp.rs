//! The real C ikcp 1.7.1 as a test oracle.
//!
//! [`CKcp`] is a thin safe wrapper over one `ikcpcb` from the `ikcp.c` that the `kcp-sys`
//! crate bundles (byte-identical to the upstream 1.7.1 release, `IKCP_FASTACK_CONSERVE`
//! on). Use it when a test or benchmark needs the reference behaviour: differential tests
//! drive a [`CKcp`] and a `kcp_core::Kcp` with the same calls and compare what comes out;
//! side-by-side examples and benchmarks run both on the same simulated link.
//!
//! Every method maps to one C function or one field of `struct IKCPCB` and returns the C
//! result unchanged (negative `i32` codes included), so a caller sees exactly what a C user
//! would. Output datagrams are copied, in order, into a queue owned by the wrapper; take
//! them with [`CKcp::take_output`] or [`CKcp::drain_output`].
//!
//! `kcp-sys` keeps its generated bindings private, so the few functions used here are
//! declared by hand, together with a `#[repr(C)]` mirror of `struct IKCPCB` (checked
//! against the C defaults by the unit tests below) that lets the wrapper read and poke the
//! fields ikcp users set directly (`stream`, `rx_minrto`, `fastlimit`, `current`, ...).
//!
//! Some C corners are undefined or non-deterministic and the wrapper does not hide them;
//! see the per-method notes ([`CKcp::set_mtu`] and [`CKcp::input`] in particular).

#![allow(unsafe_code)]

// Links libkcp.a (ikcp.c 1.7.1), which kcp-sys compiles and bundles.
use kcp_sys as _;

use core::ffi::{c_char, c_int, c_long, c_void};

/// `struct IQUEUEHEAD`: the intrusive doubly linked list node of ikcp.
#[repr(C)]
struct QueueHead {
    next: *mut QueueHead,
    prev: *mut QueueHead,
}

/// `struct IKCPSEG`: one segment; `node` is its first field, so a list node pointer is
/// also a segment pointer.
#[repr(C)]
struct Segment {
    node: QueueHead,
    conv: u32,
    cmd: u32,
    frg: u32,
    wnd: u32,
    ts: u32,
    sn: u32,
    una: u32,
    len: u32,
    resendts: u32,
    rto: u32,
    fastack: u32,
    xmit: u32,
    // `char data[1]` follows; never read through this mirror.
}

type OutputFn = unsafe extern "C" fn(
    buf: *const c_char,
    len: c_int,
    kcp: *mut Ikcpcb,
    user: *mut c_void,
) -> c_int;
type WritelogFn = unsafe extern "C" fn(log: *const c_char, kcp: *mut Ikcpcb, user: *mut c_void);

/// `struct IKCPCB` of ikcp 1.7.1, field for field (`IUINT32` = `u32`, `IINT32` = `i32`,
/// `int` = `c_int`).
#[repr(C)]
struct Ikcpcb {
    conv: u32,
    mtu: u32,
    mss: u32,
    state: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    ts_recent: u32,
    ts_lastack: u32,
    ssthresh: u32,
    rx_rttval: i32,
    rx_srtt: i32,
    rx_rto: i32,
    rx_minrto: i32,
    snd_wnd: u32,
    rcv_wnd: u32,
    rmt_wnd: u32,
    cwnd: u32,
    probe: u32,
    current: u32,
    interval: u32,
    ts_flush: u32,
    xmit: u32,
    nrcv_buf: u32,
    nsnd_buf: u32,
    nrcv_que: u32,
    nsnd_que: u32,
    nodelay: u32,
    updated: u32,
    ts_probe: u32,
    probe_wait: u32,
    dead_link: u32,
    incr: u32,
    snd_queue: QueueHead,
    rcv_queue: QueueHead,
    snd_buf: QueueHead,
    rcv_buf: QueueHead,
    acklist: *mut u32,
    ackcount: u32,
    ackblock: u32,
    user: *mut c_void,
    buffer: *mut c_char,
    fastresend: c_int,
    fastlimit: c_int,
    nocwnd: c_int,
    stream: c_int,
    logmask: c_int,
    output: Option<OutputFn>,
    writelog: Option<WritelogFn>,
}

unsafe extern "C" {
    fn ikcp_create(conv: u32, user: *mut c_void) -> *mut Ikcpcb;
    fn ikcp_release(kcp: *mut Ikcpcb);
    fn ikcp_setoutput(kcp: *mut Ikcpcb, output: Option<OutputFn>);
    fn ikcp_recv(kcp: *mut Ikcpcb, buffer: *mut c_char, len: c_int) -> c_int;
    fn ikcp_send(kcp: *mut Ikcpcb, buffer: *const c_char, len: c_int) -> c_int;
    fn ikcp_update(kcp: *mut Ikcpcb, current: u32);
    fn ikcp_check(kcp: *const Ikcpcb, current: u32) -> u32;
    fn ikcp_input(kcp: *mut Ikcpcb, data: *const c_char, size: c_long) -> c_int;
    fn ikcp_flush(kcp: *mut Ikcpcb);
    fn ikcp_peeksize(kcp: *const Ikcpcb) -> c_int;
    fn ikcp_setmtu(kcp: *mut Ikcpcb, mtu: c_int) -> c_int;
    fn ikcp_wndsize(kcp: *mut Ikcpcb, sndwnd: c_int, rcvwnd: c_int) -> c_int;
    fn ikcp_waitsnd(kcp: *const Ikcpcb) -> c_int;
    fn ikcp_nodelay(
        kcp: *mut Ikcpcb,
        nodelay: c_int,
        interval: c_int,
        resend: c_int,
        nc: c_int,
    ) -> c_int;
    fn ikcp_getconv(ptr: *const c_void) -> u32;
}

/// The output callback installed on every control block: appends a copy of the datagram
/// to the queue that `user` points at.
///
/// # Safety
///
/// `user` must be the queue pointer [`CKcp::new`] registered, and `buf` must be valid for
/// `len` bytes; ikcp guarantees the latter (it passes its scratch buffer and only calls
/// with `len > 0`).
unsafe extern "C" fn capture_output(
    buf: *const c_char,
    len: c_int,
    _kcp: *mut Ikcpcb,
    user: *mut c_void,
) -> c_int {
    let len = usize::try_from(len).unwrap_or(0);
    let bytes = if len == 0 {
        Vec::new()
    } else {
        // SAFETY: ikcp hands over its scratch buffer with `len` initialised bytes.
        unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec()
    };
    // SAFETY: `user` is the `Box::into_raw` pointer owned by the `CKcp` whose control block
    // is calling us; it stays valid until that `CKcp` is dropped, and no Rust reference to
    // the queue is alive while a C function runs.
    let queue = unsafe { &mut *user.cast::<Vec<Vec<u8>>>() };
    queue.push(bytes);
    0
}

/// One C ikcp 1.7.1 control block (`ikcpcb`) with captured output.
///
/// Create it with [`CKcp::new`], configure it with the setters, then drive it exactly as a
/// C program would. Dropping it calls `ikcp_release`.
pub struct CKcp {
    kcp: *mut Ikcpcb,
    /// The output queue; owned here (created by `Box::into_raw`), shared with C as `user`.
    out: *mut Vec<Vec<u8>>,
}

impl core::fmt::Debug for CKcp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CKcp")
            .field("conv", &self.conv())
            .field("snd_una", &self.snd_una())
            .field("snd_nxt", &self.snd_nxt())
            .field("rcv_nxt", &self.rcv_nxt())
            .finish_non_exhaustive()
    }
}

impl Drop for CKcp {
    fn drop(&mut self) {
        // SAFETY: `kcp` came from `ikcp_create` and is released exactly once, here.
        unsafe { ikcp_release(self.kcp) };
        // SAFETY: `out` came from `Box::into_raw` in `new` and C no longer uses it.
        drop(unsafe { Box::from_raw(self.out) });
    }
}

fn len_to_c(len: usize) -> c_int {
    c_int::try_from(len).expect("buffer length does not fit a C int")
}

impl CKcp {
    /// `ikcp_create(conv, user)` plus `ikcp_setoutput`: a control block with the C
    /// defaults whose datagrams land in this wrapper's output queue.
    pub fn new(conv: u32) -> Self {
        let out = Box::into_raw(Box::new(Vec::<Vec<u8>>::new()));
        // SAFETY: plain constructor call; `out` outlives the control block (see Drop).
        let kcp = unsafe { ikcp_create(conv, out.cast::<c_void>()) };
        assert!(!kcp.is_null(), "ikcp_create failed to allocate");
        // SAFETY: `kcp` is a live control block; the callback matches the C signature.
        unsafe { ikcp_setoutput(kcp, Some(capture_output)) };
        CKcp { kcp, out }
    }

    fn cb(&self) -> &Ikcpcb {
        // SAFETY: `kcp` is live for `self`'s lifetime and C only touches it during calls
        // made through `&mut self`, so no C write races this shared borrow.
        unsafe { &*self.kcp }
    }

    fn cb_mut(&mut self) -> &mut Ikcpcb {
        // SAFETY: as in `cb`; `&mut self` makes this the only Rust reference.
        unsafe { &mut *self.kcp }
    }

    /// `ikcp_send(kcp, data, len)`: queues a message (never with a NULL buffer). Returns the
    /// bytes queued, `-1` or `-2`.
    pub fn send(&mut self, data: &[u8]) -> i32 {
        // SAFETY: `data.as_ptr()` is non-null and valid for `data.len()` bytes; C only reads.
        unsafe {
            ikcp_send(
                self.kcp,
                data.as_ptr().cast::<c_char>(),
                len_to_c(data.len()),
            )
        }
    }

    /// `ikcp_recv(kcp, buf, buf.len())`: takes the next complete message. Returns its size,
    /// `-1` (nothing queued), `-2` (incomplete) or `-3` (buffer too small).
    pub fn recv(&mut self, buf: &mut [u8]) -> i32 {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; ikcp writes at most
        // `peeksize <= len` bytes.
        unsafe {
            ikcp_recv(
                self.kcp,
                buf.as_mut_ptr().cast::<c_char>(),
                len_to_c(buf.len()),
            )
        }
    }

    /// `ikcp_recv(kcp, buf, -buf.len())`: copies the next message without removing it.
    ///
    /// C has no way to peek into an empty buffer (`-0` is `0`, a plain receive), so an
    /// empty `buf` panics instead of silently consuming a zero-length message.
    pub fn peek(&mut self, buf: &mut [u8]) -> i32 {
        assert!(
            !buf.is_empty(),
            "ikcp cannot peek with a zero-length buffer"
        );
        let len = -len_to_c(buf.len());
        // SAFETY: as in `recv`; a negative length only selects peek mode.
        unsafe { ikcp_recv(self.kcp, buf.as_mut_ptr().cast::<c_char>(), len) }
    }

    /// `ikcp_peeksize`: the size of the next complete message, or `-1`.
    pub fn peek_size(&self) -> i32 {
        // SAFETY: `kcp` is live; the call only reads.
        unsafe { ikcp_peeksize(self.kcp) }
    }

    /// `ikcp_input(kcp, data, len)`: feeds one datagram. Returns `0`, `-1`, `-2` or `-3`.
    ///
    /// Beware of ACKs whose echoed `ts` is far from `current`: the C RTT estimator then
    /// overflows signed integers, which is undefined behaviour.
    pub fn input(&mut self, data: &[u8]) -> i32 {
        let len = c_long::try_from(data.len()).expect("datagram length does not fit a C long");
        // SAFETY: `data` is valid for `len` bytes and non-null; ikcp checks the length
        // before reading and may call the output-free parts of the block only.
        unsafe { ikcp_input(self.kcp, data.as_ptr().cast::<c_char>(), len) }
    }

    /// `ikcp_update(kcp, now)`: stores the clock and flushes when the flush timer is due.
    pub fn update(&mut self, now: u32) {
        // SAFETY: `kcp` is live; output goes to `capture_output` with our queue.
        unsafe { ikcp_update(self.kcp, now) }
    }

    /// `ikcp_flush(kcp)`: emits pending ACKs, probes and data now (no-op before the first
    /// [`update`](Self::update)).
    pub fn flush(&mut self) {
        // SAFETY: as in `update`.
        unsafe { ikcp_flush(self.kcp) }
    }

    /// `ikcp_check(kcp, now)`: the absolute time at which `update` should next run.
    pub fn check(&self, now: u32) -> u32 {
        // SAFETY: `kcp` is live; the call only reads.
        unsafe { ikcp_check(self.kcp, now) }
    }

    /// `ikcp_setmtu(kcp, mtu)`: `0`, or `-1` when `mtu < 50`.
    ///
    /// Shrinking the MTU while segments longer than `3 * (mtu + 24) - 24` bytes are still
    /// queued makes the next C flush overflow its scratch buffer; check
    /// [`max_queued_segment_len`](Self::max_queued_segment_len) first.
    pub fn set_mtu(&mut self, mtu: i32) -> i32 {
        // SAFETY: `kcp` is live.
        unsafe { ikcp_setmtu(self.kcp, mtu) }
    }

    /// `ikcp_wndsize(kcp, snd, rcv)`: values `<= 0` leave a window unchanged; the receive
    /// window is floored at 128. Always `0`.
    pub fn set_window_size(&mut self, snd: i32, rcv: i32) -> i32 {
        // SAFETY: `kcp` is live.
        unsafe { ikcp_wndsize(self.kcp, snd, rcv) }
    }

    /// `ikcp_waitsnd`: segments queued or in flight.
    pub fn wait_snd(&self) -> i32 {
        // SAFETY: `kcp` is live; the call only reads.
        unsafe { ikcp_waitsnd(self.kcp) }
    }

    /// `ikcp_nodelay(kcp, nodelay, interval, resend, nc)`; a negative argument leaves that
    /// setting unchanged. Always `0`.
    pub fn set_nodelay(&mut self, nodelay: i32, interval: i32, resend: i32, nc: i32) -> i32 {
        // SAFETY: `kcp` is live.
        unsafe { ikcp_nodelay(self.kcp, nodelay, interval, resend, nc) }
    }

    /// Sets `kcp->stream` (stream mode when true).
    pub fn set_stream(&mut self, stream: bool) {
        self.cb_mut().stream = c_int::from(stream);
    }

    /// Sets `kcp->rx_minrto`.
    pub fn set_min_rto(&mut self, ms: i32) {
        self.cb_mut().rx_minrto = ms;
    }

    /// Sets `kcp->fastresend`.
    pub fn set_fast_resend(&mut self, n: i32) {
        self.cb_mut().fastresend = n;
    }

    /// Sets `kcp->fastlimit` (`<= 0` means unlimited).
    pub fn set_fast_limit(&mut self, n: i32) {
        self.cb_mut().fastlimit = n;
    }

    /// Sets `kcp->nocwnd`.
    pub fn set_nocwnd(&mut self, nc: bool) {
        self.cb_mut().nocwnd = c_int::from(nc);
    }

    /// Sets `kcp->dead_link`.
    pub fn set_dead_link(&mut self, n: u32) {
        self.cb_mut().dead_link = n;
    }

    /// Sets `kcp->current`, as the ikcp maintainer advises before `ikcp_input` so RTT
    /// samples use a fresh clock.
    pub fn set_current(&mut self, now: u32) {
        self.cb_mut().current = now;
    }

    /// Starts the sequence spaces elsewhere than 0: `snd_una = snd_nxt = snd`,
    /// `rcv_nxt = rcv`. Call before any traffic.
    pub fn set_initial_sequence(&mut self, snd: u32, rcv: u32) {
        let cb = self.cb_mut();
        cb.snd_una = snd;
        cb.snd_nxt = snd;
        cb.rcv_nxt = rcv;
    }

    /// The datagrams emitted so far and not yet taken, oldest first.
    pub fn output(&self) -> &[Vec<u8>] {
        // SAFETY: `out` is live for `self`'s lifetime; C writes it only during calls that
        // take `&mut self`, which cannot overlap this borrow.
        unsafe { &*self.out }
    }

    /// Takes every emitted datagram, oldest first.
    pub fn take_output(&mut self) -> Vec<Vec<u8>> {
        // SAFETY: as in `output`, with exclusive access through `&mut self`.
        core::mem::take(unsafe { &mut *self.out })
    }

    /// Moves every emitted datagram into `dst`, oldest first (keeps `dst`'s allocation).
    pub fn drain_output(&mut self, dst: &mut Vec<Vec<u8>>) {
        // SAFETY: as in `take_output`.
        dst.append(unsafe { &mut *self.out });
    }

    /// The longest payload among segments not yet acknowledged (`snd_queue` and
    /// `snd_buf`): what a flush may copy into the scratch buffer in one piece.
    pub fn max_queued_segment_len(&self) -> u32 {
        let cb = self.cb();
        let mut max = 0;
        for head in [&cb.snd_queue, &cb.snd_buf] {
            let end: *const QueueHead = head;
            let mut p = head.next.cast_const();
            while p != end {
                // SAFETY: every node on these lists is the first field of a live
                // `IKCPSEG` owned by the control block; the list is circular and
                // terminates at its head.
                let seg = unsafe { &*p.cast::<Segment>() };
                max = max.max(seg.len);
                p = seg.node.next.cast_const();
            }
        }
        max
    }

    /// `kcp->conv`.
    pub fn conv(&self) -> u32 {
        self.cb().conv
    }
    /// `kcp->mtu`.
    pub fn mtu(&self) -> u32 {
        self.cb().mtu
    }
    /// `kcp->mss` (`mtu - 24`).
    pub fn mss(&self) -> u32 {
        self.cb().mss
    }
    /// `kcp->state`: `0`, or `0xFFFF_FFFF` once a segment reached `dead_link`
    /// transmissions.
    pub fn state(&self) -> u32 {
        self.cb().state
    }
    /// `kcp->snd_una`: the oldest unacknowledged sequence number.
    pub fn snd_una(&self) -> u32 {
        self.cb().snd_una
    }
    /// `kcp->snd_nxt`: the next sequence number to assign.
    pub fn snd_nxt(&self) -> u32 {
        self.cb().snd_nxt
    }
    /// `kcp->rcv_nxt`: the next sequence number expected in order.
    pub fn rcv_nxt(&self) -> u32 {
        self.cb().rcv_nxt
    }
    /// `kcp->ssthresh`.
    pub fn ssthresh(&self) -> u32 {
        self.cb().ssthresh
    }
    /// `kcp->rx_rttval`: smoothed RTT deviation.
    pub fn rttvar(&self) -> i32 {
        self.cb().rx_rttval
    }
    /// `kcp->rx_srtt`: smoothed RTT.
    pub fn srtt(&self) -> i32 {
        self.cb().rx_srtt
    }
    /// `kcp->rx_rto`: current retransmission timeout.
    pub fn rto(&self) -> i32 {
        self.cb().rx_rto
    }
    /// `kcp->rx_minrto`.
    pub fn min_rto(&self) -> i32 {
        self.cb().rx_minrto
    }
    /// `kcp->snd_wnd`.
    pub fn snd_wnd(&self) -> u32 {
        self.cb().snd_wnd
    }
    /// `kcp->rcv_wnd`.
    pub fn rcv_wnd(&self) -> u32 {
        self.cb().rcv_wnd
    }
    /// `kcp->rmt_wnd`: the window last announced by the peer.
    pub fn rmt_wnd(&self) -> u32 {
        self.cb().rmt_wnd
    }
    /// `kcp->cwnd`: congestion window in segments.
    pub fn cwnd(&self) -> u32 {
        self.cb().cwnd
    }
    /// `kcp->incr`: congestion-avoidance byte counter.
    pub fn incr(&self) -> u32 {
        self.cb().incr
    }
    /// `kcp->probe`: pending WASK (1) / WINS (2) flags.
    pub fn probe(&self) -> u32 {
        self.cb().probe
    }
    /// `kcp->ts_probe`: when the next window probe is due.
    pub fn ts_probe(&self) -> u32 {
        self.cb().ts_probe
    }
    /// `kcp->probe_wait`: the current window-probe backoff.
    pub fn probe_wait(&self) -> u32 {
        self.cb().probe_wait
    }
    /// `kcp->current`: the clock of the last update (or `set_current`).
    pub fn current(&self) -> u32 {
        self.cb().current
    }
    /// `kcp->interval`: the flush interval.
    pub fn interval(&self) -> u32 {
        self.cb().interval
    }
    /// `kcp->ts_flush`: when the flush timer fires next.
    pub fn ts_flush(&self) -> u32 {
        self.cb().ts_flush
    }
    /// `kcp->updated`: whether `update` ran at least once.
    pub fn updated(&self) -> bool {
        self.cb().updated != 0
    }
    /// `kcp->xmit`: RTO-timeout retransmissions so far.
    pub fn xmit(&self) -> u32 {
        self.cb().xmit
    }
    /// `kcp->nrcv_buf`: out-of-order segments held.
    pub fn rcv_buf_len(&self) -> u32 {
        self.cb().nrcv_buf
    }
    /// `kcp->nsnd_buf`: segments in flight.
    pub fn snd_buf_len(&self) -> u32 {
        self.cb().nsnd_buf
    }
    /// `kcp->nrcv_que`: in-order segments ready for `recv`.
    pub fn rcv_queue_len(&self) -> u32 {
        self.cb().nrcv_que
    }
    /// `kcp->nsnd_que`: segments not yet given a sequence number.
    pub fn snd_queue_len(&self) -> u32 {
        self.cb().nsnd_que
    }
    /// `kcp->nodelay`.
    pub fn nodelay(&self) -> u32 {
        self.cb().nodelay
    }
    /// `kcp->dead_link`.
    pub fn dead_link(&self) -> u32 {
        self.cb().dead_link
    }
    /// `kcp->ackcount`: ACKs waiting for the next flush.
    pub fn ack_pending(&self) -> u32 {
        self.cb().ackcount
    }
    /// `kcp->fastresend`.
    pub fn fast_resend(&self) -> i32 {
        self.cb().fastresend
    }
    /// `kcp->fastlimit`.
    pub fn fast_limit(&self) -> i32 {
        self.cb().fastlimit
    }
    /// `kcp->nocwnd`.
    pub fn nocwnd(&self) -> bool {
        self.cb().nocwnd != 0
    }
    /// `kcp->stream`.
    pub fn stream(&self) -> bool {
        self.cb().stream != 0
    }
}

/// `ikcp_getconv`: the conversation id in the first four bytes of a datagram, or `None`
/// when it is shorter than that (C would read past the end).
pub fn conv_of(datagram: &[u8]) -> Option<u32> {
    if datagram.len() < 4 {
        return None;
    }
    // SAFETY: at least four readable bytes, which is all `ikcp_getconv` reads.
    Some(unsafe { ikcp_getconv(datagram.as_ptr().cast::<c_void>()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_matches_c_defaults() {
        let k = CKcp::new(0xDEAD_BEEF);
        assert_eq!(k.conv(), 0xDEAD_BEEF);
        assert_eq!((k.mtu(), k.mss(), k.state()), (1400, 1376, 0));
        assert_eq!(
            (k.snd_wnd(), k.rcv_wnd(), k.rmt_wnd(), k.cwnd()),
            (32, 128, 128, 0)
        );
        assert_eq!(
            (k.rto(), k.min_rto(), k.srtt(), k.rttvar()),
            (200, 100, 0, 0)
        );
        assert_eq!((k.interval(), k.ts_flush(), k.ssthresh()), (100, 100, 2));
        assert_eq!((k.dead_link(), k.fast_limit(), k.fast_resend()), (20, 5, 0));
        assert!(!k.nocwnd() && !k.stream() && !k.updated());
        // The last fields of the struct: `user` is our queue and `output` our callback.
        assert_eq!(k.cb().user, k.out.cast::<c_void>());
        assert_eq!(
            k.cb().output.map(|f| f as usize),
            Some(capture_output as OutputFn as usize)
        );
        assert!(k.cb().writelog.is_none());
    }

    #[test]
    fn mirror_sees_c_writes() {
        let mut k = CKcp::new(1);
        assert_eq!(k.set_nodelay(2, 7, 3, 1), 0);
        assert_eq!(
            (k.nodelay(), k.interval(), k.fast_resend(), k.min_rto()),
            (2, 10, 3, 30)
        );
        assert!(k.nocwnd());
        assert_eq!(k.set_window_size(5, 60), 0);
        assert_eq!((k.snd_wnd(), k.rcv_wnd()), (5, 128));
        assert_eq!(k.set_mtu(49), -1);
        assert_eq!(k.set_mtu(200), 0);
        assert_eq!((k.mtu(), k.mss()), (200, 176));
        assert_eq!(k.send(&[7; 500]), 500);
        assert_eq!((k.snd_queue_len(), k.wait_snd()), (3, 3));
        assert_eq!(k.max_queued_segment_len(), 176);
    }

    #[test]
    fn two_blocks_exchange_a_message() {
        let mut a = CKcp::new(42);
        let mut b = CKcp::new(42);
        a.set_nodelay(1, 10, 2, 1);
        b.set_nodelay(1, 10, 2, 1);
        a.set_stream(false);
        assert_eq!(a.send(b"ping"), 4);
        let mut buf = [0u8; 16];
        let mut got = None;
        for now in (0..1000).step_by(10) {
            a.update(now);
            for d in a.take_output() {
                assert_eq!(conv_of(&d), Some(42));
                assert_eq!(b.input(&d), 0);
            }
            b.update(now);
            for d in b.take_output() {
                assert_eq!(a.input(&d), 0);
            }
            let n = b.recv(&mut buf);
            if n >= 0 {
                got = Some(buf[..n as usize].to_vec());
                break;
            }
        }
        assert_eq!(got.as_deref(), Some(&b"ping"[..]));
        assert_eq!(b.peek_size(), -1);
        assert_eq!(conv_of(&[1, 2, 3]), None);
    }
}
