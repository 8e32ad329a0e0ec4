//! A C ABI over [`kcp_session`]'s sans-io [`Endpoint`](kcp_session::Endpoint): C and C++
//! programs get kcp-go 5.6.1's whole session (framing, ciphers, FEC, listener rules)
//! without a runtime, by linking `libkcp_session_ffi.a` (or `.so`) and including
//! `include/kcp_session.h`.
//!
//! The program owns the socket and the clock: it feeds received datagrams to
//! `kcps_handle`, sends what `kcps_poll_transmit` hands out, runs `kcps_handle_timeout`
//! when `kcps_poll_timeout` says, and reads and writes sessions with `kcps_recv` and
//! `kcps_send`. Beside the stream: whole messages (`kcps_recv_message`), kcp-go 5.6.60's
//! unreliable datagrams (`kcps_send_datagram`, `kcps_recv_datagram`) and confirmed
//! connects (`kcps_confirm`). A program without an event loop can let the library own the
//! socket instead (`kcps_udp_dial`, `kcps_udp_listen`, `kcps_udp_update`). The header
//! documents each function; the crate README shows a client loop.
//!
//! This is a separate library from `kcp-ffi` (ikcp.h): that one is a `no_std` drop-in
//! for `ikcp.c` whose exports are exactly ikcp.h's, while sessions need the ciphers, FEC,
//! a random source and `std`.
//!
//! # Panics and unwinding
//! Every exported function is `extern "C"`: a panic would abort the process rather than
//! unwind into C, and no argument value reaches one (NULL pointers, stale handles, bad
//! addresses and config values are errors, tested in `tests/api.rs`).
//!
//! From Rust, use [`kcp_session`] directly; the Rust items here exist for the tests.
#![allow(
    unsafe_code,
    reason = "a C ABI: raw pointers in and out; each block says why it is sound"
)]

mod addr;
mod config;
mod counters;
mod datagram;
mod endpoint;
mod error;
mod session;
mod udp;

pub use addr::{KCPS_AF_INET, KCPS_AF_INET6, KcpsAddr};
pub use config::{
    KcpsConfig, kcps_config_free, kcps_config_new, kcps_config_new_kcptun, kcps_config_set,
};
pub use counters::{
    KCPS_STATE_CLOSED, KCPS_STATE_CLOSING, KCPS_STATE_DEAD, KCPS_STATE_OPEN, KCPS_STATE_REPLACED,
    kcps_endpoint_stats, kcps_endpoint_stats_count, kcps_endpoint_stats_name, kcps_session_snmp,
    kcps_session_state, kcps_snmp_count, kcps_snmp_name,
};
pub use datagram::{
    kcps_max_datagram_size, kcps_recv_datagram, kcps_recv_message, kcps_send_datagram,
};
pub use endpoint::{
    KCPS_DATAGRAM_DROPPED, KCPS_DATAGRAM_INCOMING, KCPS_DATAGRAM_SESSION, KCPS_EVENT_ENDED,
    KCPS_EVENT_INCOMING, KCPS_EVENT_PROGRESS, KcpsEndpoint, KcpsEvent, KcpsTransmit, kcps_accept,
    kcps_connect, kcps_endpoint_free, kcps_endpoint_new, kcps_handle, kcps_handle_timeout,
    kcps_listen, kcps_poll_event, kcps_poll_timeout, kcps_poll_transmit,
};
pub use error::*;
pub use session::{
    kcps_close, kcps_confirm, kcps_is_confirmed, kcps_recv, kcps_release, kcps_remote, kcps_send,
    kcps_send_capacity,
};
pub use udp::{
    KCPS_UDP_READS_PER_UPDATE, KcpsUdp, kcps_udp_accept, kcps_udp_close, kcps_udp_dial,
    kcps_udp_endpoint, kcps_udp_fd, kcps_udp_listen, kcps_udp_read, kcps_udp_update,
    kcps_udp_write,
};
