//! ikcp.h's C API over [`kcp_core`]: C and C++ programs link `libkcp_ffi.a` (or
//! `libkcp_ffi.so`) instead of compiling `ikcp.c`, keep their `#include "ikcp.h"` (the
//! crate ships one in `include/`), and get the same protocol, byte for byte.
//!
//! Every function of ikcp 1.7.1 is exported under its C name with its C signature and
//! return codes; the output callback is called as `output(buf, len, kcp, user)`. The
//! `ikcpcb *` points to a struct with ikcp's exact layout, so programs that write
//! settings into it (`kcp->rx_minrto = 10`, `kcp->stream = 1`, `kcp->output = f`) or read
//! state from it (`kcp->state`, `kcp->rx_srtt`, `kcp->nsnd_que`) keep working: the
//! settings a call uses are taken over on entry and the fields it changes are written
//! back on return. The crate README lists which fields are honoured and the few places where the
//! library answers with an error code where ikcp would crash.
//!
//! From Rust, use [`kcp_core`] directly; this crate's Rust items exist for its tests and
//! for Rust code that must share an `ikcpcb *` with C.
//!
//! # Panics and unwinding
//! No call can unwind into C: every exported function is `extern "C"`, so a panic would
//! abort the process, and no argument value reaches a panic in the first place (NULL
//! pointers, negative lengths, garbage datagrams and garbage written into the struct are
//! all tested). A C++ exception thrown from a callback aborts at the library boundary.
//!
//! # Memory
//! With the default `runtime` feature the library's global allocator goes through
//! [`ikcp_allocator`]'s functions when installed, else `malloc`/`free`. For bare-metal
//! targets (`thumbv7em-none-eabihf`, ...) the crate is `no_std`: the firmware installs its
//! allocator with `ikcp_allocator` before `ikcp_create` (which returns NULL until then),
//! and the crate brings a panic handler.
#![cfg_attr(target_os = "none", no_std)]
#![allow(
    unsafe_code,
    reason = "a C ABI: raw pointers in, callbacks out; each block says why it is sound"
)]
#![warn(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

mod api;
mod cb;
mod control;
mod log;
mod runtime;

pub use api::{
    MAX_MTU, ikcp_check, ikcp_create, ikcp_flush, ikcp_getconv, ikcp_input, ikcp_nodelay,
    ikcp_peeksize, ikcp_recv, ikcp_release, ikcp_send, ikcp_setmtu, ikcp_setoutput, ikcp_update,
    ikcp_waitsnd, ikcp_wndsize,
};
pub use cb::{
    IKCP_LOG_IN_ACK, IKCP_LOG_IN_DATA, IKCP_LOG_IN_PROBE, IKCP_LOG_IN_WINS, IKCP_LOG_INPUT,
    IKCP_LOG_OUT_ACK, IKCP_LOG_OUT_DATA, IKCP_LOG_OUT_PROBE, IKCP_LOG_OUT_WINS, IKCP_LOG_OUTPUT,
    IKCP_LOG_RECV, IKCP_LOG_SEND, IKCPCB, IQUEUEHEAD, OutputFn, WritelogFn, ikcpcb,
};
#[cfg(feature = "runtime")]
pub use runtime::HookAllocator;

#[cfg(not(target_os = "none"))]
unsafe extern "C" {
    /// Formats `fmt` with the arguments (`printf` style, cut at 1023 bytes) and hands the
    /// line to `kcp->writelog` if `mask` has a bit of `kcp->logmask` (`ikcp_log`). NULL
    /// `kcp` or `fmt` is ignored. It is variadic, so the library implements it in C
    /// (`c/ikcp_log.c`); bare-metal builds leave it to the firmware.
    pub fn ikcp_log(kcp: *mut IKCPCB, mask: core::ffi::c_int, fmt: *const core::ffi::c_char, ...);
}
pub use runtime::ikcp_allocator;
