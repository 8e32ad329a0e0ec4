//! Read-outs of kcp_session.h: a session's state and kcp-go's SNMP counters, and the
//! endpoint's own counts. Counters go out as arrays of `uint64_t` in the order of their
//! names, so new counters extend the arrays without changing a struct's layout.

use core::ffi::{c_char, c_int};
use std::ffi::CString;
use std::sync::OnceLock;

use kcp_session::{EndpointStats, Snmp, State};

use crate::endpoint::{KcpsEndpoint, enter};
use crate::error::{KCPS_E_CLOSED, KCPS_E_NULL};

/// `kcps_session_state`: exchanging data.
pub const KCPS_STATE_OPEN: c_int = 0;
/// `kcps_session_state`: closed locally, still delivering what was written.
pub const KCPS_STATE_CLOSING: c_int = 1;
/// `kcps_session_state`: closed, everything delivered or the linger time over.
pub const KCPS_STATE_CLOSED: c_int = 2;
/// `kcps_session_state`: the peer is gone.
pub const KCPS_STATE_DEAD: c_int = 3;
/// `kcps_session_state`: replaced by a new conversation from the same address.
pub const KCPS_STATE_REPLACED: c_int = 4;

/// The names of the endpoint counters, in `kcps_endpoint_stats` order.
const ENDPOINT_STATS: [&core::ffi::CStr; 8] = [
    c"datagrams",
    c"oversized",
    c"crypt_errors",
    c"refused",
    c"invalid",
    c"accepted",
    c"replaced",
    c"connected",
];

fn endpoint_values(s: &EndpointStats) -> [u64; 8] {
    [
        s.datagrams,
        s.oversized,
        s.crypt_errors,
        s.refused,
        s.invalid,
        s.accepted,
        s.replaced,
        s.connected,
    ]
}

/// Copies up to `n` of `values` into `out`; returns how many, or `KCPS_E_NULL`.
///
/// # Safety
/// `out` is NULL or valid for `n` writes.
unsafe fn copy_out(values: &[u64], out: *mut u64, n: usize) -> c_int {
    let n = n.min(values.len());
    if n > 0 && out.is_null() {
        return KCPS_E_NULL;
    }
    // SAFETY: `n` writable slots (the contract), `n <= values.len()`.
    unsafe { core::ptr::copy_nonoverlapping(values.as_ptr(), out, n) };
    n as c_int
}

/// A session's state (`kcps_session_state`): `KCPS_STATE_*`, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_session_state(endpoint: *const KcpsEndpoint, session: u64) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    let Some(s) = ep.handle(session).and_then(|h| ep.endpoint.session(h)) else {
        return KCPS_E_CLOSED;
    };
    match s.state() {
        State::Open => KCPS_STATE_OPEN,
        State::Closing => KCPS_STATE_CLOSING,
        State::Dead(_) => KCPS_STATE_DEAD,
        State::Replaced => KCPS_STATE_REPLACED,
        _ => KCPS_STATE_CLOSED,
    }
}

/// How many SNMP counters a session has (`kcps_snmp_count`).
#[unsafe(no_mangle)]
pub extern "C" fn kcps_snmp_count() -> usize {
    Snmp::header().len()
}

/// The name of SNMP counter `i` (`kcps_snmp_name`), as kcptun's snmplog column; NULL past
/// the end. The string is static.
#[unsafe(no_mangle)]
pub extern "C" fn kcps_snmp_name(i: usize) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Snmp::header()
            .iter()
            .map(|name| CString::new(*name).unwrap_or_default())
            .collect()
    });
    names.get(i).map_or(core::ptr::null(), |c| c.as_ptr())
}

/// A session's SNMP counters (`kcps_session_snmp`) into `values[0..n]`, in
/// `kcps_snmp_name` order: how many were written, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live; `values` is NULL or
/// valid for `n` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_session_snmp(
    endpoint: *const KcpsEndpoint,
    session: u64,
    values: *mut u64,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    let Some(s) = ep.handle(session).and_then(|h| ep.endpoint.session(h)) else {
        return KCPS_E_CLOSED;
    };
    // SAFETY: forwarded contract.
    unsafe { copy_out(&s.snmp().values(), values, n) }
}

/// How many endpoint counters there are (`kcps_endpoint_stats_count`).
#[unsafe(no_mangle)]
pub extern "C" fn kcps_endpoint_stats_count() -> usize {
    ENDPOINT_STATS.len()
}

/// The name of endpoint counter `i` (`kcps_endpoint_stats_name`); NULL past the end.
#[unsafe(no_mangle)]
pub extern "C" fn kcps_endpoint_stats_name(i: usize) -> *const c_char {
    ENDPOINT_STATS
        .get(i)
        .map_or(core::ptr::null(), |c| c.as_ptr())
}

/// The endpoint's counters (`kcps_endpoint_stats`) into `values[0..n]`, in
/// `kcps_endpoint_stats_name` order: how many were written, or a negative error.
///
/// # Safety
/// `endpoint` is NULL or live; `values` is NULL or
/// valid for `n` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_endpoint_stats(
    endpoint: *const KcpsEndpoint,
    values: *mut u64,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    // SAFETY: forwarded contract.
    unsafe { copy_out(&endpoint_values(&ep.endpoint.stats()), values, n) }
}
