//! A `no_std`, clock-injected, byte-exact port of ikcp 1.7.1, the KCP ARQ protocol.
//!
//! KCP turns an unreliable datagram channel (usually UDP) into a reliable, ordered stream of
//! messages with low latency: selective acknowledgements, fast retransmission, an RTO that
//! backs off gently, and optional no-delay and no-congestion-window modes. This crate is the
//! protocol state machine only: it never reads a clock, never touches a socket and never
//! allocates per packet once warmed up. It is what a game loop, an embedded firmware or a
//! session layer (such as `kcp-session`) drives.
//!
//! Given the same calls with the same clock values and the same input datagrams, [`Kcp`]
//! emits byte-identical datagrams and returns the same results as ikcp 1.7.1 (with
//! `IKCP_FASTACK_CONSERVE`, as that release ships). A differential test against the real C
//! code enforces this.
//!
//! # Driving a [`Kcp`]
//!
//! - Time is a `u32` count of milliseconds chosen by the caller (any origin; it may wrap).
//! - [`Kcp::send`] queues a message, [`Kcp::recv`] takes a complete one out.
//! - [`Kcp::input`] takes each datagram received from the peer.
//! - [`Kcp::update`] runs the flush timer: call it when [`Kcp::check`] says so (or every
//!   interval). Every datagram to transmit is handed to the output callback you pass to
//!   `update` (or [`Kcp::flush`]) as a mutable slice, with [`Kcp::set_reserved`] bytes of
//!   headroom at its front for the headers of lower layers.
//!
//! ```
//! use kcp_core::Kcp;
//!
//! let mut a = Kcp::new(0x1234_5678);
//! let mut b = Kcp::new(0x1234_5678);
//! a.set_nodelay(1, 10, 2, true);
//! b.set_nodelay(1, 10, 2, true);
//! a.send(b"hello").unwrap();
//!
//! let mut wire = Vec::new();
//! let mut now = 0u32;
//! let mut buf = [0u8; 64];
//! loop {
//!     a.update(now, |d: &mut [u8]| wire.push(d.to_vec()));
//!     for d in wire.drain(..) {
//!         b.input(&d).unwrap();
//!     }
//!     b.update(now, |_: &mut [u8]| {});
//!     if let Ok(n) = b.recv(&mut buf) {
//!         assert_eq!(&buf[..n], b"hello");
//!         break;
//!     }
//!     now += 10;
//! }
//! ```
//!
//! # Opt-ins beyond ikcp
//!
//! Everything ikcp does not do is off by default, so a fresh [`Kcp`] stays byte-identical
//! to ikcp 1.7.1. Each is one setter, changes nothing on the wire that an ikcp or kcp-go
//! peer could notice, and costs at most a comparison or a short scan per segment;
//! `kcp-session` turns them all on. Turn them on when the peer may be hostile (anything
//! reachable from an open network) or the link lossy:
//!
//! - [`Kcp::set_ack_limit`]: bounds the acknowledgements queued between two flushes, so a
//!   flood of tiny segments cannot grow memory without limit.
//! - [`Kcp::set_strict_acks`]: only ACKs that newly acknowledge a segment count toward
//!   fast retransmission, and one flush resends at most one segment per segment newly
//!   acknowledged. A flood of repeated or forged ACKs then gets out at most a small
//!   constant times its own bytes (ikcp: hundreds of times, up to its fast-resend limit).
//! - [`Kcp::set_strict_input`]: refuses a message of more fragments than the receive
//!   window holds ([`InputError::TooManyFragments`]), which with a window below 256 would
//!   otherwise wedge reads for good.
//! - [`Kcp::set_early_retransmit`]: resends a segment a later ACK skipped when a flush has
//!   nothing new to send (kcp-go's early retransmission, bounded like fast retransmission).
//! - [`Kcp::set_window_recovery`] and [`Kcp::set_linear_backoff`]: recover from a lost
//!   window update in one RTO instead of 7 s, and back the RTO off linearly as kcp-go does.
//!
//! For a congestion controller or a pacer of your own, [`Kcp::set_inflight_cap`] caps the
//! segments in flight, [`Kcp::set_send_quota`] gives flushes a budget of bytes to send,
//! [`Stats::delivered_bytes`] counts what the peer acknowledged, to sample the
//! delivery rate from, and [`Stats::first_sends`] what really left (not only entered
//! flight). Unset, they cost one comparison per flush or segment sent.
#![no_std]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

mod error;
mod flush;
mod input;
mod kcp;
mod segment;
mod send_recv;
mod stats;
mod time;

pub use error::{ConfigError, InputError, RecvError, SendError};
pub use kcp::Kcp;
pub use segment::{Command, Header, conv_of};
pub use stats::Stats;

/// Size of the KCP segment header in bytes (`IKCP_OVERHEAD`).
pub const OVERHEAD: usize = 24;
/// The longest datagram kcp-go 5.6.1 sends or reads (its `mtuLimit`; its reader truncates
/// longer ones). ikcp has no such limit and [`Kcp`] does not check it: it is the bound the
/// layers around a KCP frame (kcp-fec, kcp-crypt, kcp-session) share, defined once here
/// because all of them depend on this crate.
pub const MTU_LIMIT: usize = 1500;
/// Default MTU: the largest KCP frame [`Kcp`] emits, headroom not included (`IKCP_MTU_DEF`).
pub const DEFAULT_MTU: usize = 1400;
/// Smallest MTU [`Kcp::set_mtu`] accepts.
pub const MIN_MTU: usize = 50;
/// Messages are split into at most this many fragments minus one (`IKCP_WND_RCV`); it is
/// also the default and the minimum receive window.
pub const MAX_FRAGMENTS: usize = 128;
/// Largest receive window: the window travels in a 16-bit header field.
pub const MAX_RCV_WND: u32 = 0xFFFF;
/// Default send window in segments (`IKCP_WND_SND`).
pub const DEFAULT_SND_WND: u32 = 32;
/// Default receive window in segments (`IKCP_WND_RCV`).
pub const DEFAULT_RCV_WND: u32 = 128;
/// Default flush interval in milliseconds (`IKCP_INTERVAL`).
pub const DEFAULT_INTERVAL: u32 = 100;
/// Default number of transmissions of one segment after which the link is declared dead.
pub const DEFAULT_DEAD_LINK: u32 = 20;
/// Default limit on fast retransmissions of one segment (`IKCP_FASTACK_LIMIT`).
pub const DEFAULT_FAST_LIMIT: i32 = 5;
/// Minimum RTO in normal mode, milliseconds (`IKCP_RTO_MIN`).
pub const RTO_MIN: u32 = 100;
/// Minimum RTO in no-delay mode, milliseconds (`IKCP_RTO_NDL`).
pub const RTO_NODELAY: u32 = 30;
/// Initial RTO, milliseconds (`IKCP_RTO_DEF`).
pub const RTO_DEFAULT: u32 = 200;
/// Upper bound of the smoothed RTO, milliseconds (`IKCP_RTO_MAX`).
pub const RTO_MAX: u32 = 60_000;
