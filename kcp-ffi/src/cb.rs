//! `struct IKCPCB` of ikcp.h 1.7.1, field for field, and the types around it.

use core::ffi::{c_char, c_int, c_void};

/// `struct IQUEUEHEAD`: ikcp's intrusive list head. kcp-ffi keeps its queues on the Rust
/// side; the four heads in [`IKCPCB`] always point at themselves (empty lists).
#[repr(C)]
#[derive(Debug)]
pub struct IQUEUEHEAD {
    /// The next node (the head itself when the list is empty).
    pub next: *mut IQUEUEHEAD,
    /// The previous node (the head itself when the list is empty).
    pub prev: *mut IQUEUEHEAD,
}

/// Declares the two callback types with the ABI string given: `C-unwind` on hosted
/// targets, so that a C++ exception thrown from a callback aborts the process at the
/// library boundary instead of being undefined behaviour; plain `C` on bare-metal targets,
/// which have no unwinder (and no personality routine to link).
macro_rules! callbacks {
    ($abi:literal) => {
        /// The output callback: `int output(const char *buf, int len, ikcpcb *kcp, void
        /// *user)`. It gets every datagram to transmit; its return value is ignored, as in
        /// ikcp.
        pub type OutputFn = unsafe extern $abi fn(
            buf: *const c_char,
            len: c_int,
            kcp: *mut IKCPCB,
            user: *mut c_void,
        ) -> c_int;

        /// The log callback: `void writelog(const char *log, ikcpcb *kcp, void *user)`,
        /// called with a NUL-terminated line for each event whose bit is set in `logmask`.
        pub type WritelogFn =
            unsafe extern $abi fn(log: *const c_char, kcp: *mut IKCPCB, user: *mut c_void);
    };
}
#[cfg(not(target_os = "none"))]
callbacks!("C-unwind");
#[cfg(target_os = "none")]
callbacks!("C");

/// `struct IKCPCB`: the control block as C programs see it, with ikcp 1.7.1's layout.
///
/// [`ikcp_create`](crate::ikcp_create) returns a pointer to one; the protocol state lives
/// next to it on the Rust side. The settings C programs write directly (`rx_minrto`,
/// `fastresend`, `fastlimit`, `nocwnd`, `stream`, `dead_link`, `nodelay`, `interval`,
/// `current`, `snd_wnd`, `rcv_wnd`, and before any traffic `snd_nxt`/`rcv_nxt`) are taken
/// over by the API functions that use them, on entry; the fields a function changes are
/// written back when it returns (all of them after update, flush and configuration).
/// `output`, `writelog`, `user` and `logmask` are read at the moment they are used. The
/// crate README lists the rules field by field.
#[repr(C)]
#[allow(non_camel_case_types, reason = "the C name")]
#[derive(Debug)]
pub struct IKCPCB {
    /// Conversation id (read-only).
    pub conv: u32,
    /// MTU (read-only; set it with `ikcp_setmtu`).
    pub mtu: u32,
    /// Maximum segment payload, `mtu - 24` (read-only).
    pub mss: u32,
    /// 0, or `0xFFFFFFFF` once the link is dead (read-only).
    pub state: u32,
    /// Oldest unacknowledged sequence number (read-only).
    pub snd_una: u32,
    /// Next sequence number to send (writable before any traffic).
    pub snd_nxt: u32,
    /// Next sequence number expected (writable before any traffic).
    pub rcv_nxt: u32,
    /// Unused by ikcp 1.7.1; always 0.
    pub ts_recent: u32,
    /// Unused by ikcp 1.7.1; always 0.
    pub ts_lastack: u32,
    /// Slow-start threshold (read-only).
    pub ssthresh: u32,
    /// RTT variation, ms (read-only).
    pub rx_rttval: i32,
    /// Smoothed RTT, ms (read-only).
    pub rx_srtt: i32,
    /// Retransmission timeout, ms (read-only).
    pub rx_rto: i32,
    /// Minimum RTO, ms (writable).
    pub rx_minrto: i32,
    /// Send window (writable; 0 is ignored).
    pub snd_wnd: u32,
    /// Receive window (writable; raised to 128, at most 65535).
    pub rcv_wnd: u32,
    /// The peer's advertised window (read-only).
    pub rmt_wnd: u32,
    /// Congestion window (read-only).
    pub cwnd: u32,
    /// Pending window probe flags (read-only).
    pub probe: u32,
    /// The clock of the last update (writable: input takes RTT samples against it).
    pub current: u32,
    /// Flush interval, ms (writable; clamped to 10..=5000).
    pub interval: u32,
    /// Next flush time (read-only).
    pub ts_flush: u32,
    /// Retransmissions after a timeout, in total (read-only).
    pub xmit: u32,
    /// Segments in the receive buffer (read-only).
    pub nrcv_buf: u32,
    /// Segments in flight (read-only).
    pub nsnd_buf: u32,
    /// Segments in the receive queue (read-only).
    pub nrcv_que: u32,
    /// Segments in the send queue (read-only).
    pub nsnd_que: u32,
    /// No-delay mode 0/1/2 (writable; unlike `ikcp_nodelay`, keeps `rx_minrto`).
    pub nodelay: u32,
    /// 1 once `ikcp_update` ran (read-only).
    pub updated: u32,
    /// Next zero-window probe time (read-only).
    pub ts_probe: u32,
    /// Current zero-window probe wait (read-only).
    pub probe_wait: u32,
    /// Transmissions of one segment that declare the link dead (writable).
    pub dead_link: u32,
    /// Congestion-avoidance counter (read-only).
    pub incr: u32,
    /// Always an empty list.
    pub snd_queue: IQUEUEHEAD,
    /// Always an empty list.
    pub rcv_queue: IQUEUEHEAD,
    /// Always an empty list.
    pub snd_buf: IQUEUEHEAD,
    /// Always an empty list.
    pub rcv_buf: IQUEUEHEAD,
    /// Always NULL (the acknowledgement list lives on the Rust side).
    pub acklist: *mut u32,
    /// Acknowledgements waiting for the next flush (read-only).
    pub ackcount: u32,
    /// The capacity ikcp would have given its acknowledgement list (read-only).
    pub ackblock: u32,
    /// Handed to `output` and `writelog` (writable).
    pub user: *mut c_void,
    /// Always NULL (the output buffer lives on the Rust side).
    pub buffer: *mut c_char,
    /// Fast retransmission threshold, 0 = off (writable).
    pub fastresend: c_int,
    /// Fast retransmission limit (writable).
    pub fastlimit: c_int,
    /// Non-zero ignores the congestion window (writable).
    pub nocwnd: c_int,
    /// Non-zero is stream mode (writable).
    pub stream: c_int,
    /// Which `IKCP_LOG_*` events reach `writelog` (writable).
    pub logmask: c_int,
    /// The output callback (writable).
    pub output: Option<OutputFn>,
    /// The log callback (writable).
    pub writelog: Option<WritelogFn>,
}

/// `ikcpcb`, the typedef C programs use.
#[allow(non_camel_case_types, reason = "the C name")]
pub type ikcpcb = IKCPCB;

/// `logmask` bit: each datagram handed to `output` (`[RO] N bytes`).
pub const IKCP_LOG_OUTPUT: c_int = 1;
/// `logmask` bit: each `ikcp_input` call (`[RI] N bytes`).
pub const IKCP_LOG_INPUT: c_int = 2;
/// `logmask` bit: defined by ikcp, never logged.
pub const IKCP_LOG_SEND: c_int = 4;
/// `logmask` bit: each segment `ikcp_recv` takes (`recv sn=N`).
pub const IKCP_LOG_RECV: c_int = 8;
/// `logmask` bit: each data segment input (`input psh: sn=N ts=N`).
pub const IKCP_LOG_IN_DATA: c_int = 16;
/// `logmask` bit: each acknowledgement input (`input ack: sn=N rtt=N rto=N`).
pub const IKCP_LOG_IN_ACK: c_int = 32;
/// `logmask` bit: each window probe input (`input probe`).
pub const IKCP_LOG_IN_PROBE: c_int = 64;
/// `logmask` bit: each window announcement input (`input wins: N`).
pub const IKCP_LOG_IN_WINS: c_int = 128;
/// `logmask` bit: defined by ikcp, never logged.
pub const IKCP_LOG_OUT_DATA: c_int = 256;
/// `logmask` bit: defined by ikcp, never logged.
pub const IKCP_LOG_OUT_ACK: c_int = 512;
/// `logmask` bit: defined by ikcp, never logged.
pub const IKCP_LOG_OUT_PROBE: c_int = 1024;
/// `logmask` bit: defined by ikcp, never logged.
pub const IKCP_LOG_OUT_WINS: c_int = 2048;

// The layout C compilers give ikcp.h 1.7.1's struct: 33 32-bit fields, four list heads of
// two pointers, then pointers and ints as declared.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<IKCPCB>() == 272);
    assert!(core::mem::offset_of!(IKCPCB, snd_queue) == 136);
    assert!(core::mem::offset_of!(IKCPCB, acklist) == 200);
    assert!(core::mem::offset_of!(IKCPCB, user) == 216);
    assert!(core::mem::offset_of!(IKCPCB, fastresend) == 232);
    assert!(core::mem::offset_of!(IKCPCB, output) == 256);
};
#[cfg(target_pointer_width = "32")]
const _: () = {
    assert!(size_of::<IKCPCB>() == 212);
    assert!(core::mem::offset_of!(IKCPCB, snd_queue) == 132);
    assert!(core::mem::offset_of!(IKCPCB, acklist) == 164);
    assert!(core::mem::offset_of!(IKCPCB, user) == 176);
    assert!(core::mem::offset_of!(IKCPCB, fastresend) == 184);
    assert!(core::mem::offset_of!(IKCPCB, output) == 204);
};
