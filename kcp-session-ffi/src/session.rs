//! Session calls of kcp_session.h: send, receive, close, release, read-outs. Each takes
//! the endpoint and a session handle; a handle that names no live session of the
//! endpoint gets `KCPS_E_CLOSED`.

use core::ffi::{c_int, c_void};

use kcp_session::Handle;

use crate::addr::KcpsAddr;
use crate::endpoint::{Entered, KcpsEndpoint, code, enter, plausible_len};
use crate::error::{KCPS_E_CLOSED, KCPS_E_INVALID, KCPS_E_NULL, KCPS_OK, recv_error, send_error};

/// The endpoint and the [`Handle`] behind a C handle, or the error code to return.
///
/// # Safety
/// As [`enter`].
pub(crate) unsafe fn resolve<'a>(
    endpoint: *mut KcpsEndpoint,
    session: u64,
) -> Result<(Entered<'a>, Handle), c_int> {
    // SAFETY: forwarded contract.
    let ep = unsafe { enter(endpoint) }?;
    let h = ep.handle(session).ok_or(KCPS_E_CLOSED)?;
    Ok((ep, h))
}

/// Queues bytes for sending (`kcps_send`): how many were taken, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live thread; `data` is NULL or valid for
/// `len` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_send(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    session: u64,
    data: *const c_void,
    len: usize,
) -> i64 {
    if data.is_null() && len != 0 {
        return KCPS_E_NULL.into();
    }
    if !plausible_len(len) {
        return KCPS_E_INVALID.into();
    }
    // SAFETY: forwarded contract.
    let (mut ep, h) = match unsafe { resolve(endpoint, session) } {
        Ok(found) => found,
        Err(e) => return e.into(),
    };
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: `len` readable bytes (the contract).
        unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) }
    };
    match ep.endpoint.send(now, h, data) {
        Ok(n) => n as i64,
        Err(e) => send_error(e).into(),
    }
}

/// Reads received bytes (`kcps_recv`): how many, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live thread; `buf` is NULL or valid for
/// `cap` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_recv(
    endpoint: *mut KcpsEndpoint,
    session: u64,
    buf: *mut c_void,
    cap: usize,
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
    let buf: &mut [u8] = if cap == 0 {
        &mut []
    } else {
        // SAFETY: `cap` writable bytes (the contract). Rust never reads them before
        // writing, so uninitialised memory is fine.
        unsafe {
            core::ptr::write_bytes(buf.cast::<u8>(), 0, cap);
            core::slice::from_raw_parts_mut(buf.cast::<u8>(), cap)
        }
    };
    match ep.endpoint.recv(h, buf) {
        Ok(n) => n as i64,
        Err(e) => recv_error(e).into(),
    }
}

/// Bytes `kcps_send` takes now (`kcps_send_capacity`), or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_send_capacity(endpoint: *const KcpsEndpoint, session: u64) -> i64 {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e.into(),
    };
    ep.handle(session)
        .and_then(|h| ep.endpoint.session(h))
        .map_or(KCPS_E_CLOSED.into(), |s| s.send_capacity() as i64)
}

/// Closes a session (`kcps_close`): no more sends; the rest is still delivered.
///
/// # Safety
/// `endpoint` is NULL or live thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_close(endpoint: *mut KcpsEndpoint, now: u32, session: u64) -> c_int {
    // SAFETY: forwarded contract.
    code(unsafe { resolve(endpoint, session) }.map(|(mut ep, h)| {
        ep.endpoint.close(now, h);
        KCPS_OK
    }))
}

/// Gives up a handle (`kcps_release`): closes the session and frees it once it ends.
///
/// # Safety
/// `endpoint` is NULL or live thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_release(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    session: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    code(unsafe { resolve(endpoint, session) }.map(|(mut ep, h)| {
        ep.endpoint.release(now, h);
        KCPS_OK
    }))
}

/// The peer's address of a session (`kcps_remote`).
///
/// # Safety
/// `endpoint` is NULL or live; `remote` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_remote(
    endpoint: *const KcpsEndpoint,
    session: u64,
    remote: *mut KcpsAddr,
) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    if remote.is_null() {
        return KCPS_E_NULL;
    }
    match ep.handle(session).and_then(|h| ep.endpoint.remote(h)) {
        Some(addr) => {
            // SAFETY: writable (the contract).
            unsafe { remote.write(KcpsAddr::from_socket_addr(addr)) };
            KCPS_OK
        }
        None => KCPS_E_CLOSED,
    }
}

/// Probes the peer until it answers, or ends the session after `timeout_ms`
/// (`kcps_confirm`).
///
/// # Safety
/// `endpoint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_confirm(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    session: u64,
    timeout_ms: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    code(unsafe { resolve(endpoint, session) }.map(|(mut ep, h)| {
        let timeout = core::time::Duration::from_millis(timeout_ms.into());
        ep.endpoint.confirm(now, h, timeout);
        KCPS_OK
    }))
}

/// Whether the peer of a session has been heard (`kcps_is_confirmed`): 1, 0, or a
/// negative error.
///
/// # Safety
/// `endpoint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_is_confirmed(endpoint: *const KcpsEndpoint, session: u64) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    ep.handle(session)
        .and_then(|h| ep.endpoint.session(h))
        .map_or(KCPS_E_CLOSED, |s| c_int::from(s.is_confirmed()))
}
