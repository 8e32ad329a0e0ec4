//! Unreliable datagrams (kcp-go 5.6.60's out-of-band packets) and whole messages of
//! kcp_session.h: `kcps_send_datagram`, `kcps_recv_datagram`, `kcps_max_datagram_size`
//! and `kcps_recv_message`. A datagram or message that does not fit the caller's buffer
//! is kept in the handle's slot for the next call, and the size it needs reported.

use core::ffi::{c_int, c_void};

use kcp_session::State;

use crate::endpoint::{KcpsEndpoint, enter, plausible_len};
use crate::error::{
    KCPS_E_BUFFER_TOO_SMALL, KCPS_E_CLOSED, KCPS_E_DEAD, KCPS_E_INVALID, KCPS_E_NULL,
    KCPS_E_REPLACED, KCPS_E_WOULD_BLOCK, KCPS_OK, datagram_error, recv_error,
};
use crate::session::resolve;

/// Sends one unreliable datagram (`kcps_send_datagram`): `KCPS_OK` or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live; `data` is NULL or valid for `len` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_send_datagram(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    session: u64,
    data: *const c_void,
    len: usize,
) -> c_int {
    if data.is_null() && len != 0 {
        return KCPS_E_NULL;
    }
    if !plausible_len(len) {
        return KCPS_E_INVALID;
    }
    // SAFETY: forwarded contract.
    let (mut ep, h) = match unsafe { resolve(endpoint, session) } {
        Ok(found) => found,
        Err(e) => return e,
    };
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: `len` readable bytes (the contract).
        unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) }
    };
    match ep.endpoint.send_datagram(now, h, data) {
        Ok(()) => KCPS_OK,
        Err(e) => datagram_error(e),
    }
}

/// The largest datagram `kcps_send_datagram` takes on a session
/// (`kcps_max_datagram_size`): 0 without FEC, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_max_datagram_size(
    endpoint: *const KcpsEndpoint,
    session: u64,
) -> i64 {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e.into(),
    };
    ep.handle(session)
        .and_then(|h| ep.endpoint.session(h))
        .map_or(KCPS_E_CLOSED.into(), |s| s.max_datagram_size() as i64)
}

/// Which queue of a session a receive takes from.
#[derive(Clone, Copy)]
enum Queue {
    Datagram,
    Message,
}

/// Takes the next datagram or whole message of a session into the caller's buffer: its
/// length, or `KCPS_E_BUFFER_TOO_SMALL` with the size written to `needed` (the item is
/// kept for the next call), or another negative error.
///
/// # Safety
/// `endpoint` is NULL or live; `buf` is NULL or valid for `cap` bytes of writes;
/// `needed` is NULL or writable.
unsafe fn recv_whole(
    endpoint: *mut KcpsEndpoint,
    session: u64,
    buf: *mut c_void,
    cap: usize,
    needed: *mut usize,
    queue: Queue,
) -> i64 {
    if buf.is_null() && cap != 0 {
        return KCPS_E_NULL.into();
    }
    if !plausible_len(cap) {
        return KCPS_E_INVALID.into();
    }
    // SAFETY: forwarded contract.
    let (mut ep, h) = match unsafe { resolve(endpoint, session) } {
        Ok(found) => found,
        Err(e) => return e.into(),
    };
    let kept = ep.slot(h).and_then(|s| match queue {
        Queue::Datagram => s.kept_datagram.take(),
        Queue::Message => s.kept_message.take(),
    });
    let item = match (kept, queue) {
        (Some(item), _) => item,
        (None, Queue::Datagram) => match ep.endpoint.recv_datagram(h) {
            Some(d) => d,
            None => {
                // Nothing waits: say whether something may still come.
                let state = ep.endpoint.session(h).map(|s| s.state());
                return match state {
                    Some(State::Open | State::Closing) => KCPS_E_WOULD_BLOCK,
                    Some(State::Dead(_)) => KCPS_E_DEAD,
                    Some(State::Replaced) => KCPS_E_REPLACED,
                    _ => KCPS_E_CLOSED,
                }
                .into();
            }
        },
        (None, Queue::Message) => match ep.endpoint.recv_message(h) {
            Ok(m) => m,
            Err(e) => return recv_error(e).into(),
        },
    };
    if item.len() > cap {
        if !needed.is_null() {
            // SAFETY: writable (the contract).
            unsafe { needed.write(item.len()) };
        }
        if let Some(slot) = ep.slot(h) {
            match queue {
                Queue::Datagram => slot.kept_datagram = Some(item),
                Queue::Message => slot.kept_message = Some(item),
            }
        }
        return KCPS_E_BUFFER_TOO_SMALL.into();
    }
    if !item.is_empty() {
        // SAFETY: `cap >= item.len()` writable bytes (the contract), not overlapping the
        // library's vector.
        unsafe { core::ptr::copy_nonoverlapping(item.as_ptr(), buf.cast::<u8>(), item.len()) };
    }
    item.len() as i64
}

/// Takes the oldest datagram received on a session (`kcps_recv_datagram`): its length,
/// `KCPS_E_WOULD_BLOCK` when none waits, `KCPS_E_BUFFER_TOO_SMALL` (size in `needed`,
/// the datagram kept), or another negative error.
///
/// # Safety
/// `endpoint` is NULL or live; `buf` is NULL or valid for `cap` bytes of writes;
/// `needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_recv_datagram(
    endpoint: *mut KcpsEndpoint,
    session: u64,
    buf: *mut c_void,
    cap: usize,
    needed: *mut usize,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { recv_whole(endpoint, session, buf, cap, needed, Queue::Datagram) }
}

/// Takes the next whole message of a message-mode session (`kcps_recv_message`): its
/// length, `KCPS_E_WOULD_BLOCK` until one has arrived whole, `KCPS_E_BUFFER_TOO_SMALL`
/// (size in `needed`, the message kept), `KCPS_E_UNSUPPORTED` in stream mode, or the
/// session's end.
///
/// # Safety
/// `endpoint` is NULL or live; `buf` is NULL or valid for `cap` bytes of writes;
/// `needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_recv_message(
    endpoint: *mut KcpsEndpoint,
    session: u64,
    buf: *mut c_void,
    cap: usize,
    needed: *mut usize,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { recv_whole(endpoint, session, buf, cap, needed, Queue::Message) }
}
