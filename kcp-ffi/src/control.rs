//! The allocation behind an `ikcpcb *`: the C-visible struct first, the Rust state after
//! it, and the two copies kept in step at the boundary of every API call.

use alloc::boxed::Box;
use core::ffi::{c_int, c_void};
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicBool, Ordering};

use kcp_core::{Kcp, MAX_RCV_WND};

use crate::cb::{IKCPCB, IQUEUEHEAD};

/// One control block. `cb` must stay the first field: the `*mut IKCPCB` handed to C is a
/// pointer to the whole `Control`.
#[repr(C)]
pub(crate) struct Control {
    cb: IKCPCB,
    kcp: Kcp,
    /// A call that changes the block is running (a callback re-entering must not touch
    /// `kcp`). Atomic because the read-only calls ([`query`]) read it from any number of
    /// threads at once, as ikcp.c allows for its `const` functions; only the calls that
    /// change the block write it, and those are never concurrent with any other call on
    /// the block (ikcp.h's rule), so plain loads and stores suffice: no read-modify-write
    /// is paid on the hot path.
    busy: AtomicBool,
    /// `ikcp_release` was called from inside a callback: free when the outer call returns.
    /// Only touched by the thread running a changing call.
    release_pending: bool,
}

/// Allocates a control block with ikcp's defaults and returns the pointer C sees.
pub(crate) fn create(conv: u32, user: *mut c_void) -> *mut IKCPCB {
    let control = Box::new(Control {
        cb: IKCPCB {
            conv,
            mtu: 0,
            mss: 0,
            state: 0,
            snd_una: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            ts_recent: 0,
            ts_lastack: 0,
            ssthresh: 0,
            rx_rttval: 0,
            rx_srtt: 0,
            rx_rto: 0,
            rx_minrto: 0,
            snd_wnd: 0,
            rcv_wnd: 0,
            rmt_wnd: 0,
            cwnd: 0,
            probe: 0,
            current: 0,
            interval: 0,
            ts_flush: 0,
            xmit: 0,
            nrcv_buf: 0,
            nsnd_buf: 0,
            nrcv_que: 0,
            nsnd_que: 0,
            nodelay: 0,
            updated: 0,
            ts_probe: 0,
            probe_wait: 0,
            dead_link: 0,
            incr: 0,
            snd_queue: empty_head(),
            rcv_queue: empty_head(),
            snd_buf: empty_head(),
            rcv_buf: empty_head(),
            acklist: ptr::null_mut(),
            ackcount: 0,
            ackblock: 0,
            user,
            buffer: ptr::null_mut(),
            fastresend: 0,
            fastlimit: 0,
            nocwnd: 0,
            stream: 0,
            logmask: 0,
            output: None,
            writelog: None,
        },
        kcp: Kcp::new(conv),
        busy: AtomicBool::new(false),
        release_pending: false,
    });
    let control = Box::into_raw(control);
    // SAFETY: `control` is a fresh, exclusively owned allocation; the list heads are made
    // to point at themselves now that their address is final, and the mirror is filled in.
    unsafe {
        let cb = addr_of_mut!((*control).cb);
        for head in [
            addr_of_mut!((*cb).snd_queue),
            addr_of_mut!((*cb).rcv_queue),
            addr_of_mut!((*cb).snd_buf),
            addr_of_mut!((*cb).rcv_buf),
        ] {
            head.write(IQUEUEHEAD {
                next: head,
                prev: head,
            });
        }
        publish(&mut *cb, &(*control).kcp);
    }
    control.cast()
}

fn empty_head() -> IQUEUEHEAD {
    IQUEUEHEAD {
        next: ptr::null_mut(),
        prev: ptr::null_mut(),
    }
}

/// Frees a control block, or defers that to the end of the running call when a callback
/// asks for it.
///
/// # Safety
/// `cb` is NULL or a pointer from [`create`] that was not released yet.
pub(crate) unsafe fn release(cb: *mut IKCPCB) {
    if cb.is_null() {
        return;
    }
    let control = cb.cast::<Control>();
    // SAFETY: per the contract, `control` is a live `Control` from `Box::into_raw`; no
    // reference to it exists here (a running call only holds one to the `kcp` field).
    unsafe {
        if (*control).busy.load(Ordering::Relaxed) {
            (*control).release_pending = true;
        } else {
            drop(Box::from_raw(control));
        }
    }
}

/// Which fields a call uses and changes: the settings it takes over from the struct and
/// the fields it publishes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Anything (update, flush, input, configuration).
    All,
    /// `ikcp_send`: uses `stream`, changes the send queue.
    Send,
    /// `ikcp_recv`: uses `rcv_wnd`, changes the receive queue and buffer, `rcv_nxt` and
    /// `probe`.
    Receive,
    /// `ikcp_input`: uses `current`, `rx_minrto`, `interval` and `rcv_wnd`; changes the
    /// acknowledgement, RTT, window and queue state, not the settings.
    Input,
}

/// Runs `f` on the Rust state of `cb`: takes over the fields C may have written, runs
/// `f`, publishes the fields it may have changed. Returns `null` for a NULL pointer and
/// `reentered` when called from inside a callback of a call already running on this
/// block.
///
/// `f` gets the `Kcp` and the C pointer (to hand to callbacks); it must not create a
/// reference to the `IKCPCB` while it calls back into C.
///
/// # Safety
/// `cb` is NULL or a live pointer from [`create`], and no other thread uses it (ikcp.h's
/// rule for the functions that change a block).
#[inline(always)]
pub(crate) unsafe fn with<R>(
    cb: *mut IKCPCB,
    scope: Scope,
    null: R,
    reentered: R,
    f: impl FnOnce(&mut Kcp, *mut IKCPCB) -> R,
) -> R {
    if cb.is_null() {
        return null;
    }
    let control = cb.cast::<Control>();
    // SAFETY: `control` is live (contract). `busy` guarantees this is the only `&mut Kcp`;
    // the `IKCPCB` is only borrowed while no C code runs (`adopt`, `publish`), so C code
    // called from `f` may read and write it through `cb`.
    unsafe {
        let busy = &(*control).busy;
        if busy.load(Ordering::Relaxed) {
            return reentered;
        }
        busy.store(true, Ordering::Relaxed);
        let kcp = &mut *addr_of_mut!((*control).kcp);
        // The frequent calls take over and publish only the fields they use and change,
        // which leaves other settings written by C in place for the next full call.
        let result = match scope {
            Scope::All => {
                adopt(&*cb, kcp);
                let result = f(kcp, cb);
                publish(&mut *cb, kcp);
                result
            }
            Scope::Send => {
                adopt_stream(&*cb, kcp);
                adopt_sequence(&*cb, kcp);
                let result = f(kcp, cb);
                let cb = &mut *cb;
                cb.nsnd_que = kcp.snd_queue_len() as u32;
                publish_stream(cb, kcp);
                publish_sequence(cb, kcp);
                result
            }
            Scope::Receive => {
                adopt_rcv_wnd(&*cb, kcp);
                adopt_sequence(&*cb, kcp);
                let result = f(kcp, cb);
                let cb = &mut *cb;
                cb.nrcv_que = kcp.rcv_queue_len() as u32;
                cb.nrcv_buf = kcp.rcv_buf_len() as u32;
                cb.probe = kcp.probe();
                cb.rcv_wnd = kcp.rcv_wnd();
                publish_sequence(cb, kcp);
                result
            }
            Scope::Input => {
                let c = &*cb;
                if c.current != kcp.current() {
                    kcp.set_current(c.current);
                }
                if c.rx_minrto != kcp.min_rto() {
                    kcp.set_min_rto(c.rx_minrto as u32);
                }
                adopt_interval(c, kcp);
                adopt_rcv_wnd(c, kcp);
                adopt_sequence(c, kcp);
                let result = f(kcp, cb);
                let cb = &mut *cb;
                publish_sequence(cb, kcp);
                cb.rcv_wnd = kcp.rcv_wnd();
                cb.interval = kcp.interval();
                cb.rx_minrto = kcp.min_rto();
                cb.current = kcp.current();
                cb.rmt_wnd = kcp.rmt_wnd();
                cb.cwnd = kcp.cwnd();
                cb.incr = kcp.incr();
                cb.rx_rttval = kcp.rttvar();
                cb.rx_srtt = kcp.srtt();
                cb.rx_rto = kcp.rto();
                cb.probe = kcp.probe();
                cb.nrcv_buf = kcp.rcv_buf_len() as u32;
                cb.nsnd_buf = kcp.snd_buf_len() as u32;
                cb.nrcv_que = kcp.rcv_queue_len() as u32;
                publish_acks(cb, kcp);
                result
            }
        };
        (*control).busy.store(false, Ordering::Relaxed);
        if (*control).release_pending {
            drop(Box::from_raw(control));
        }
        result
    }
}

/// Runs a query on the Rust state of `cb` without taking over or publishing fields:
/// `f` gets the `Kcp` and the struct, both shared. Returns `null` for a NULL pointer;
/// called from inside a callback (when the state is borrowed), returns
/// `reentered(&IKCPCB)`, an answer from the published fields.
///
/// Nothing is written, so any number of threads may query a block at once (ikcp.h's
/// `const` functions), as long as none changes it meanwhile.
///
/// # Safety
/// `cb` is NULL or a live pointer from [`create`], and no other thread runs a call that
/// changes it ([`with`]) or writes the struct meanwhile.
pub(crate) unsafe fn query<R>(
    cb: *const IKCPCB,
    null: R,
    reentered: impl FnOnce(&IKCPCB) -> R,
    f: impl FnOnce(&Kcp, &IKCPCB) -> R,
) -> R {
    if cb.is_null() {
        return null;
    }
    let control = cb.cast::<Control>();
    // SAFETY: `control` is live (contract); while not `busy` nothing borrows `kcp`
    // mutably, and while `busy` only the C-side struct is read (no Rust reference to it
    // is alive during a callback).
    unsafe {
        if (*control).busy.load(Ordering::Relaxed) {
            return reentered(&*cb);
        }
        f(&*ptr::addr_of!((*control).kcp), &*cb)
    }
}

/// Takes over the settings a C program may have written into the struct since the last
/// call. A field equal to the Rust value was not written; a different one was.
fn adopt(cb: &IKCPCB, kcp: &mut Kcp) {
    if cb.nodelay != kcp.nodelay() {
        // A direct write of `nodelay` leaves `rx_minrto` alone (ikcp_nodelay would not).
        let min_rto = kcp.min_rto();
        kcp.set_nodelay_mode(cb.nodelay);
        kcp.set_min_rto(min_rto as u32);
    }
    if cb.rx_minrto != kcp.min_rto() {
        kcp.set_min_rto(cb.rx_minrto as u32);
    }
    adopt_interval(cb, kcp);
    if cb.fastresend as u32 != kcp.fast_resend() {
        kcp.set_fast_resend(cb.fastresend as u32);
    }
    if cb.fastlimit != kcp.fast_limit() {
        kcp.set_fast_limit(cb.fastlimit);
    }
    if (cb.nocwnd != 0) != kcp.is_nocwnd() {
        kcp.set_nocwnd(cb.nocwnd != 0);
    }
    adopt_stream(cb, kcp);
    if cb.dead_link != kcp.dead_link() {
        kcp.set_dead_link(cb.dead_link);
    }
    if cb.current != kcp.current() {
        kcp.set_current(cb.current);
    }
    if cb.snd_wnd != kcp.snd_wnd() && cb.snd_wnd != 0 {
        // Cannot fail: only the receive window has a bound.
        let _ = kcp.set_window_size(cb.snd_wnd, 0);
    }
    adopt_rcv_wnd(cb, kcp);
    adopt_sequence(cb, kcp);
}

#[inline(always)]
fn adopt_interval(cb: &IKCPCB, kcp: &mut Kcp) {
    if cb.interval != kcp.interval() {
        kcp.set_interval(cb.interval);
    }
}

#[inline(always)]
fn adopt_stream(cb: &IKCPCB, kcp: &mut Kcp) {
    if (cb.stream != 0) != kcp.is_stream() {
        kcp.set_stream(cb.stream != 0);
    }
}

#[inline(always)]
fn adopt_rcv_wnd(cb: &IKCPCB, kcp: &mut Kcp) {
    if cb.rcv_wnd != kcp.rcv_wnd() && cb.rcv_wnd != 0 {
        let _ = kcp.set_window_size(0, cb.rcv_wnd.min(MAX_RCV_WND));
    }
}

/// `snd_nxt` and `rcv_nxt` are honoured only before any traffic (kcp-core refuses
/// otherwise; then the publication undoes the write).
#[inline(always)]
fn adopt_sequence(cb: &IKCPCB, kcp: &mut Kcp) {
    if cb.snd_nxt != kcp.snd_nxt() || cb.rcv_nxt != kcp.rcv_nxt() {
        let _ = kcp.set_initial_sequence(cb.snd_nxt, cb.rcv_nxt);
    }
}

/// Writes the Rust state into every field of the struct C reads.
fn publish(cb: &mut IKCPCB, kcp: &Kcp) {
    cb.conv = kcp.conv();
    cb.mtu = kcp.mtu() as u32;
    cb.mss = kcp.mss() as u32;
    cb.state = kcp.state();
    publish_sequence(cb, kcp);
    cb.ssthresh = kcp.ssthresh();
    cb.rx_rttval = kcp.rttvar();
    cb.rx_srtt = kcp.srtt();
    cb.rx_rto = kcp.rto();
    cb.rx_minrto = kcp.min_rto();
    cb.snd_wnd = kcp.snd_wnd();
    cb.rcv_wnd = kcp.rcv_wnd();
    cb.rmt_wnd = kcp.rmt_wnd();
    cb.cwnd = kcp.cwnd();
    cb.probe = kcp.probe();
    cb.current = kcp.current();
    cb.interval = kcp.interval();
    cb.ts_flush = kcp.ts_flush();
    cb.xmit = kcp.stats().lost_segs as u32;
    cb.nrcv_buf = kcp.rcv_buf_len() as u32;
    cb.nsnd_buf = kcp.snd_buf_len() as u32;
    cb.nrcv_que = kcp.rcv_queue_len() as u32;
    cb.nsnd_que = kcp.snd_queue_len() as u32;
    cb.nodelay = kcp.nodelay();
    cb.updated = u32::from(kcp.is_updated());
    cb.ts_probe = kcp.ts_probe();
    cb.probe_wait = kcp.probe_wait();
    cb.dead_link = kcp.dead_link();
    cb.incr = kcp.incr();
    publish_acks(cb, kcp);
    cb.fastresend = kcp.fast_resend() as c_int;
    cb.fastlimit = kcp.fast_limit();
    // Keep the exact non-zero value a program wrote; only the truth value matters.
    if (cb.nocwnd != 0) != kcp.is_nocwnd() {
        cb.nocwnd = c_int::from(kcp.is_nocwnd());
    }
    publish_stream(cb, kcp);
}

#[inline(always)]
fn publish_acks(cb: &mut IKCPCB, kcp: &Kcp) {
    let acks = kcp.ack_pending() as u32;
    cb.ackcount = acks;
    if acks > cb.ackblock {
        // ikcp grows its list to the next power of two, from 8, and never shrinks it.
        cb.ackblock = acks.checked_next_power_of_two().unwrap_or(u32::MAX).max(8);
    }
}

#[inline(always)]
fn publish_sequence(cb: &mut IKCPCB, kcp: &Kcp) {
    cb.snd_una = kcp.snd_una();
    cb.snd_nxt = kcp.snd_nxt();
    cb.rcv_nxt = kcp.rcv_nxt();
}

#[inline(always)]
fn publish_stream(cb: &mut IKCPCB, kcp: &Kcp) {
    if (cb.stream != 0) != kcp.is_stream() {
        cb.stream = c_int::from(kcp.is_stream());
    }
}
