//! smux, the stream multiplexer kcptun runs over each KCP session (xtaci/smux 1.5.x,
//! protocol versions 1 and 2), on tokio.
//!
//! A [`Session`] owns a byte transport (a `KcpStream`, with or without kcptun's snappy
//! framing) through two tasks: a reader that parses frames and hands data to the streams,
//! and a writer that sends what the streams queued. A third task sends a NOP every
//! keepalive interval and closes the session when nothing at all arrived for a keepalive
//! timeout (30 s, as smux's default that kcptun keeps); while the session cannot read
//! (its budget is full) a transport probe decides instead ([`Session::set_liveness`]).
//!
//! Memory is bounded as in Go's smux, and against peers that send tiny frames or open
//! streams they never use:
//! - received data waits in its stream until read; the whole session holds at most
//!   `max_receive_buffer` (kcptun `--smuxbuf`) of it, each frame counted as its payload
//!   plus a fixed cost (so 1-byte frames cannot hold many times the budget), and the
//!   reader stops reading the transport (so KCP's window closes) while it is full;
//! - the reader also stops while the frames queued for the transport pass a fixed limit
//!   (FINs refusing SYNs included), so a peer that does not read cannot grow the queue;
//! - at most [`MuxConfig::max_streams`] streams are open and 1,024 wait for `accept`; a
//!   SYN past either is answered with a FIN;
//! - with version 2, each stream also honours the peer's window: a writer sends while
//!   `peer window - (written - peer consumed)` is positive, and a reader reports what it
//!   consumed with UPD frames (on its first read and then every `max_stream_buffer / 2`);
//! - writes wait while more than [`WRITE_QUEUE`] bytes are queued for the transport.
//!
//! A malformed frame (wrong version, unknown command, a length that does not fit the
//! command) ends the session with an [`std::io::ErrorKind::InvalidData`] error; every stream
//! then reads and writes that error.

mod config;
pub mod frame;
mod session;
mod state;
mod stream;
mod tasks;

use std::sync::atomic::AtomicU64;

pub use config::{MAX_FRAME, MAX_STREAMS, MuxConfig, WRITE_QUEUE};
pub use session::Session;
pub use stream::Stream;

/// Counters of all sessions in this process, for logs and tests.
#[derive(Debug, Default)]
pub struct MuxCounters {
    /// Sessions ended by a malformed frame.
    pub protocol_errors: AtomicU64,
    /// Sessions closed because nothing arrived for a keepalive timeout.
    pub keepalive_timeouts: AtomicU64,
    /// PSH bytes for streams that no longer exist, discarded.
    pub discarded_bytes: AtomicU64,
    /// SYNs refused because the accept backlog or the stream limit was full.
    pub refused_streams: AtomicU64,
}

/// The process-wide [`MuxCounters`].
pub fn counters() -> &'static MuxCounters {
    static C: MuxCounters = MuxCounters {
        protocol_errors: AtomicU64::new(0),
        keepalive_timeouts: AtomicU64::new(0),
        discarded_bytes: AtomicU64::new(0),
        refused_streams: AtomicU64::new(0),
    };
    &C
}

#[cfg(test)]
mod tests;
