//! The result codes of kcp_session.h and their names.

use core::ffi::{c_char, c_int};

use kcp_session::{DatagramError, RecvError, SendError, State};

/// Success.
pub const KCPS_OK: c_int = 0;
/// A required pointer argument is NULL.
pub const KCPS_E_NULL: c_int = -1;
/// A value is out of range or unknown (config name or value, address family).
pub const KCPS_E_INVALID: c_int = -2;
/// Nothing to read yet, or the send window is full.
pub const KCPS_E_WOULD_BLOCK: c_int = -3;
/// Closed locally, or the handle names no session of this endpoint.
pub const KCPS_E_CLOSED: c_int = -4;
/// The peer is gone (idle timeout or dead link).
pub const KCPS_E_DEAD: c_int = -5;
/// The peer started a new conversation from the same address.
pub const KCPS_E_REPLACED: c_int = -6;
/// A message-mode message needs more than 127 segments.
pub const KCPS_E_TOO_LARGE: c_int = -7;
/// `kcps_connect`: a session for that address exists already.
pub const KCPS_E_ADDRESS_IN_USE: c_int = -8;
/// The operating system's random source failed.
pub const KCPS_E_RANDOM: c_int = -9;
/// A call is running on the endpoint on another thread (the header forbids that).
pub const KCPS_E_BUSY: c_int = -10;
/// The buffer is too small for the datagram or message waiting; it is kept, and the size
/// it needs was written to the caller's `needed`.
pub const KCPS_E_BUFFER_TOO_SMALL: c_int = -11;
/// Not in this configuration: datagrams need FEC on, whole messages need message mode.
pub const KCPS_E_UNSUPPORTED: c_int = -12;
/// A listener's session may not send more until the peer has shown that it receives at
/// its address (the amplification limit); reliable data it acknowledges brings the proof.
pub const KCPS_E_UNPROVEN: c_int = -13;
/// The operating system refused a socket call (`kcps_udp_*`); the message says why.
pub const KCPS_E_IO: c_int = -14;

/// The name of a result code, as a static NUL-terminated string (`kcps_strerror`).
#[unsafe(no_mangle)]
pub extern "C" fn kcps_strerror(code: c_int) -> *const c_char {
    let name: &'static core::ffi::CStr = match code {
        KCPS_OK => c"ok",
        KCPS_E_NULL => c"a required pointer is NULL",
        KCPS_E_INVALID => c"invalid value",
        KCPS_E_WOULD_BLOCK => c"would block",
        KCPS_E_CLOSED => c"session closed or unknown",
        KCPS_E_DEAD => c"peer gone",
        KCPS_E_REPLACED => c"session replaced by a new conversation",
        KCPS_E_TOO_LARGE => c"message too large",
        KCPS_E_ADDRESS_IN_USE => c"a session for this address exists",
        KCPS_E_RANDOM => c"random source failed",
        KCPS_E_BUSY => c"endpoint in use by another thread",
        KCPS_E_BUFFER_TOO_SMALL => c"buffer too small",
        KCPS_E_UNSUPPORTED => c"not supported by this configuration",
        KCPS_E_UNPROVEN => c"peer address not yet proven",
        KCPS_E_IO => c"socket error",
        _ => c"unknown",
    };
    name.as_ptr()
}

pub(crate) fn send_error(e: SendError) -> c_int {
    match e {
        SendError::WouldBlock => KCPS_E_WOULD_BLOCK,
        SendError::TooLarge => KCPS_E_TOO_LARGE,
        SendError::Dead(_) => KCPS_E_DEAD,
        SendError::Replaced => KCPS_E_REPLACED,
        _ => KCPS_E_CLOSED,
    }
}

pub(crate) fn recv_error(e: RecvError) -> c_int {
    match e {
        RecvError::WouldBlock => KCPS_E_WOULD_BLOCK,
        RecvError::Dead(_) => KCPS_E_DEAD,
        RecvError::Replaced => KCPS_E_REPLACED,
        RecvError::NotMessageMode => KCPS_E_UNSUPPORTED,
        _ => KCPS_E_CLOSED,
    }
}

pub(crate) fn datagram_error(e: DatagramError) -> c_int {
    match e {
        DatagramError::Unsupported => KCPS_E_UNSUPPORTED,
        DatagramError::TooLarge => KCPS_E_TOO_LARGE,
        DatagramError::QueueFull => KCPS_E_WOULD_BLOCK,
        DatagramError::Unproven => KCPS_E_UNPROVEN,
        DatagramError::Ended(State::Dead(_)) => KCPS_E_DEAD,
        DatagramError::Ended(State::Replaced) => KCPS_E_REPLACED,
        _ => KCPS_E_CLOSED,
    }
}

/// Writes `text` into the caller's message buffer, truncated and NUL-terminated; nothing
/// for a NULL buffer or a zero length.
///
/// # Safety
/// `msg` is NULL or valid for `len` bytes of writes.
pub(crate) unsafe fn write_message(msg: *mut c_char, len: usize, text: &str) {
    if msg.is_null() || len == 0 {
        return;
    }
    let n = text.len().min(len - 1);
    // SAFETY: `n + 1 <= len` bytes of `msg` are writable (the contract); `text` holds `n`.
    unsafe {
        core::ptr::copy_nonoverlapping(text.as_ptr(), msg.cast::<u8>(), n);
        msg.add(n).write(0);
    }
}
