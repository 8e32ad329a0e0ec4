//! The functions of ikcp.h 1.7.1, exported under their C names.
//!
//! Each one checks its pointers and lengths the way ikcp does where ikcp does (returning
//! ikcp's codes), and where ikcp would crash or read garbage returns a documented error
//! instead. None of them can unwind: they are `extern "C"` (a panic would abort), and no
//! argument can reach a panic in the first place (tested with hostile calls).

use alloc::vec;
use core::ffi::{c_char, c_int, c_long, c_void};
use core::slice;

use kcp_core::{Kcp, MAX_RCV_WND, MIN_MTU, OVERHEAD};

use crate::cb::{IKCP_LOG_RECV, IKCPCB, OutputFn};
use crate::control::{self, Scope, query, with};
use crate::log;

/// Hands one datagram to the struct's output callback (and its `[RO]` line to the log).
///
/// # Safety
/// `cb` is a live control block; no Rust reference to its `IKCPCB` is alive.
unsafe fn emit(cb: *mut IKCPCB, datagram: &mut [u8]) {
    // SAFETY: `cb` is valid (contract). The callback and `user` are read at the moment of
    // use, as ikcp does, since C may change them at any time (even from a callback).
    // ikcp would call a NULL `output` and crash; the datagram is dropped instead.
    unsafe {
        log::output(cb, datagram.len());
        if let Some(output) = (*cb).output {
            output(
                datagram.as_ptr().cast::<c_char>(),
                datagram.len() as c_int,
                cb,
                (*cb).user,
            );
        }
    }
}

/// Runs `update(current)` (or `flush` for `None`) with the datagrams going to `emit`.
///
/// ikcp logs `[RO] 0 bytes` when the first segment of a flush is larger than the MTU
/// (possible after the MTU shrank): it "outputs" its empty buffer before that segment.
/// kcp-core does not, so the line is added here: that happens exactly when the first
/// datagram of a flush exceeds the MTU.
///
/// # Safety
/// As [`emit`].
unsafe fn transmit(k: &mut Kcp, cb: *mut IKCPCB, update: Option<u32>) {
    let mtu = k.mtu();
    let mut first = true;
    let out = |d: &mut [u8]| {
        // SAFETY: forwarded contract.
        unsafe {
            if first && d.len() > mtu {
                log::output(cb, 0);
            }
            first = false;
            emit(cb, d);
        }
    };
    match update {
        Some(current) => k.update(current, out),
        None => k.flush(out),
    }
}

/// Creates a control block (`ikcp_create`): ikcp's defaults, `user` handed to the
/// callbacks. Set `output` (field or [`ikcp_setoutput`]) before the first update.
/// Returns NULL on a bare-metal target where no allocator was installed with
/// [`ikcp_allocator`](crate::ikcp_allocator).
///
/// # Safety
/// Always safe to call; `user` is only passed back to the callbacks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_create(conv: u32, user: *mut c_void) -> *mut IKCPCB {
    if !crate::runtime::can_allocate() {
        return core::ptr::null_mut();
    }
    control::create(conv, user)
}

/// Frees a control block and all it holds (`ikcp_release`). NULL is ignored. Called from
/// inside a callback of the same block, the block is freed when the running call returns.
///
/// # Safety
/// `kcp` is NULL or from [`ikcp_create`] and not yet released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_release(kcp: *mut IKCPCB) {
    // SAFETY: forwarded contract.
    unsafe { control::release(kcp) }
}

/// Sets the output callback (`ikcp_setoutput`); the same as writing `kcp->output`.
///
/// # Safety
/// `kcp` is NULL (ignored) or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_setoutput(kcp: *mut IKCPCB, output: Option<OutputFn>) {
    if !kcp.is_null() {
        // SAFETY: a live control block (contract); a plain field write, as in C.
        unsafe { (*kcp).output = output };
    }
}

/// Takes the next complete message (`ikcp_recv`): returns its size, -1 when nothing was
/// received, -2 when the next message is incomplete, -3 when `len` is too small. A
/// negative `len` peeks (copies without consuming) into `-len` bytes; a NULL `buffer`
/// consumes the message without copying it, as in ikcp.
///
/// # Safety
/// `kcp` is NULL (returns -1) or a live control block; a non-NULL `buffer` is writable for
/// `|len|` bytes (only the message's bytes are written).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_recv(kcp: *mut IKCPCB, buffer: *mut c_char, len: c_int) -> c_int {
    // SAFETY: forwarded contract; the callbacks get `cb`, no reference is alive.
    unsafe {
        with(kcp, Scope::Receive, -1, -1, |k, cb| {
            if k.rcv_queue_len() == 0 {
                return -1;
            }
            let peek = len < 0;
            // ikcp negates a negative length; i32::MIN stays negative there, and then
            // no message fits.
            let capacity = if peek { len.wrapping_neg() } else { len };
            let Ok(size) = k.peek_size() else {
                return -2;
            };
            if capacity < 0 || size > capacity as usize {
                return -3;
            }
            // What ikcp logs ("recv sn=N" per segment taken), found out before taking.
            let logged = log::enabled(cb, IKCP_LOG_RECV).then(|| {
                let first_sn = k.rcv_nxt().wrapping_sub(k.rcv_queue_len() as u32);
                (first_sn, k.peek_segments().unwrap_or(0))
            });
            let result = if buffer.is_null() || size == 0 {
                let mut discard = vec![0u8; size];
                take(k, &mut discard, peek)
            } else {
                // `size <= |len|` bytes: within what the caller vouched for.
                take(
                    k,
                    slice::from_raw_parts_mut(buffer.cast::<u8>(), size),
                    peek,
                )
            };
            if let Some((first_sn, segments)) = logged {
                log::recv(cb, first_sn, segments);
            }
            result
        })
    }
}

fn take(k: &mut Kcp, buf: &mut [u8], peek: bool) -> c_int {
    let result = if peek { k.peek(buf) } else { k.recv(buf) };
    match result {
        Ok(n) => n as c_int,
        Err(e) => e.code(),
    }
}

/// Queues a message (`ikcp_send`): returns the bytes queued, -1 for a negative `len`, -2
/// for a message that needs 128 or more segments (in stream mode: what fitted). A NULL
/// `buffer` with `len > 0` returns -1 (ikcp would queue uninitialised bytes).
///
/// # Safety
/// `kcp` is NULL (returns -1) or a live control block; a non-NULL `buffer` is readable for
/// `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_send(kcp: *mut IKCPCB, buffer: *const c_char, len: c_int) -> c_int {
    if len < 0 || (buffer.is_null() && len > 0) {
        return -1;
    }
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: non-NULL and readable for `len` bytes (contract).
        unsafe { slice::from_raw_parts(buffer.cast::<u8>(), len as usize) }
    };
    // SAFETY: forwarded contract.
    unsafe {
        with(kcp, Scope::Send, -1, -1, |k, _| match k.send(data) {
            Ok(n) => n as c_int,
            Err(e) => e.code(),
        })
    }
}

/// Advances the clock and flushes when due (`ikcp_update`); datagrams go to `output`.
///
/// # Safety
/// `kcp` is NULL (ignored) or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_update(kcp: *mut IKCPCB, current: u32) {
    // SAFETY: forwarded contract; `emit` gets `cb` with no reference alive.
    unsafe {
        with(kcp, Scope::All, (), (), |k, cb| {
            transmit(k, cb, Some(current));
        });
    }
}

/// When to call [`ikcp_update`] next (`ikcp_check`), as a clock value. Returns `current`
/// for NULL, and from inside a callback of the same block. An `interval` written into the
/// struct counts (clamped to 10..=5000), as in ikcp. It writes nothing, so several
/// threads may call it (and [`ikcp_peeksize`], [`ikcp_waitsnd`]) on one block at once.
///
/// # Safety
/// `kcp` is NULL or a live control block that no other thread changes meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_check(kcp: *const IKCPCB, current: u32) -> u32 {
    // SAFETY: forwarded contract.
    unsafe {
        query(
            kcp,
            current,
            |_| current,
            |k, cb| k.check_with_interval(current, cb.interval),
        )
    }
}

/// Feeds a datagram from the peer (`ikcp_input`): 0, or -1 (NULL, shorter than 24 bytes,
/// other conversation), -2 (a length field past the end), -3 (unknown command). The
/// segments before a bad one stay applied, as in ikcp.
///
/// # Safety
/// `kcp` is NULL (returns -1) or a live control block; a non-NULL `data` is readable for
/// `size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_input(kcp: *mut IKCPCB, data: *const c_char, size: c_long) -> c_int {
    // SAFETY: forwarded contract; log callbacks get `cb` with no reference alive.
    unsafe {
        with(kcp, Scope::Input, -1, -1, |k, cb| {
            log::input(cb, size as c_int);
            if data.is_null() || (size as c_int) < OVERHEAD as c_int {
                return -1;
            }
            // ikcp checks the length truncated to int, then loops on the long: a
            // negative long that passed the check reads nothing and succeeds.
            let Ok(len) = usize::try_from(size) else {
                return 0;
            };
            let bytes = slice::from_raw_parts(data.cast::<u8>(), len);
            log::input_segments(cb, k, bytes);
            match k.input(bytes) {
                Ok(()) => 0,
                Err(e) => e.code(),
            }
        })
    }
}

/// Transmits what is due now (`ikcp_flush`); nothing before the first update.
///
/// # Safety
/// `kcp` is NULL (ignored) or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_flush(kcp: *mut IKCPCB) {
    // SAFETY: forwarded contract; `emit` gets `cb` with no reference alive.
    unsafe {
        with(kcp, Scope::All, (), (), |k, cb| transmit(k, cb, None));
    }
}

/// The size of the next complete message, or -1 (`ikcp_peeksize`; also for NULL and from
/// inside a callback of the same block). Writes nothing: several threads may call it at
/// once, as [`ikcp_check`].
///
/// # Safety
/// `kcp` is NULL or a live control block that no other thread changes meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_peeksize(kcp: *const IKCPCB) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        query(
            kcp,
            -1,
            |_| -1,
            |k, _| k.peek_size().map_or(-1, |n| n as c_int),
        )
    }
}

/// The largest MTU [`ikcp_setmtu`] accepts. ikcp would try to allocate three times any
/// MTU for its output buffer (and overflow `int` doing so above ~700 MB); a larger value
/// gets ikcp's "allocation failed" code, -2, instead.
pub const MAX_MTU: c_int = 1 << 20;

/// Sets the MTU (`ikcp_setmtu`): 0, or -1 below 50 (and for NULL), or -2 above
/// [`MAX_MTU`] (1 MiB; ikcp's code for a failed allocation).
///
/// # Safety
/// `kcp` is NULL or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_setmtu(kcp: *mut IKCPCB, mtu: c_int) -> c_int {
    if mtu < MIN_MTU as c_int {
        return -1;
    }
    if mtu > MAX_MTU {
        return -2;
    }
    // SAFETY: forwarded contract.
    unsafe {
        with(kcp, Scope::All, -1, -1, |k, _| {
            match k.set_mtu(mtu as usize) {
                Ok(()) => 0,
                Err(_) => -1,
            }
        })
    }
}

/// Sets the windows (`ikcp_wndsize`): values of 0 or less keep a window; the receive
/// window is at least 128 and at most 65535 (ikcp would take more and then advertise a
/// truncated 16-bit window). Returns 0, as ikcp, also for NULL.
///
/// # Safety
/// `kcp` is NULL or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_wndsize(kcp: *mut IKCPCB, sndwnd: c_int, rcvwnd: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(kcp, Scope::All, 0, -1, |k, _| {
            if sndwnd > 0 {
                let _ = k.set_window_size(sndwnd as u32, 0);
            }
            if rcvwnd > 0 {
                let _ = k.set_window_size(0, (rcvwnd as u32).min(MAX_RCV_WND));
            }
            0
        })
    }
}

/// Segments queued or in flight (`ikcp_waitsnd`); -1 for NULL. From inside a callback of
/// the same block: the count as of the running call's start. Writes nothing: several
/// threads may call it at once, as [`ikcp_check`].
///
/// # Safety
/// `kcp` is NULL or a live control block that no other thread changes meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_waitsnd(kcp: *const IKCPCB) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        query(
            kcp,
            -1,
            |cb| cb.nsnd_buf.wrapping_add(cb.nsnd_que) as c_int,
            |k, _| k.wait_snd() as c_int,
        )
    }
}

/// Sets the latency knobs (`ikcp_nodelay`); a negative argument keeps its setting. The
/// interval is clamped to 10..=5000 ms. Returns 0, or -1 for NULL.
///
/// # Safety
/// `kcp` is NULL or a live control block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_nodelay(
    kcp: *mut IKCPCB,
    nodelay: c_int,
    interval: c_int,
    resend: c_int,
    nc: c_int,
) -> c_int {
    // SAFETY: forwarded contract; `cb.nocwnd` is written through the pointer, with no
    // reference to the struct alive.
    unsafe {
        with(kcp, Scope::All, -1, -1, |k, cb| {
            if nodelay >= 0 {
                k.set_nodelay_mode(nodelay as u32);
            }
            if interval >= 0 {
                k.set_interval(interval as u32);
            }
            if resend >= 0 {
                k.set_fast_resend(resend as u32);
            }
            if nc >= 0 {
                k.set_nocwnd(nc != 0);
                // The struct keeps the exact value, as ikcp's does.
                (*cb).nocwnd = nc;
            }
            0
        })
    }
}

/// The conversation id in a datagram's first four bytes (`ikcp_getconv`); 0 for NULL.
///
/// # Safety
/// `ptr` is NULL or readable for 4 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_getconv(ptr: *const c_void) -> u32 {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: readable for 4 bytes (contract); no alignment is assumed.
    let bytes = unsafe { ptr.cast::<[u8; 4]>().read_unaligned() };
    u32::from_le_bytes(bytes)
}
