//! A session's settings and limits: kcptun's `--smuxver --smuxbuf --streambuf --keepalive`
//! and the bounds every session keeps.

use std::time::Duration;

/// Bytes of frames queued for the transport before stream writes wait.
pub const WRITE_QUEUE: usize = 64 << 10;
/// smux's default largest PSH payload (kcptun 20210922 keeps it).
pub const MAX_FRAME: usize = 32_768;
/// The window a v2 writer assumes until the peer's first UPD (smux's `initialPeerWindow`).
pub(super) const INITIAL_PEER_WINDOW: u32 = 262_144;
/// Streams opened by the peer and not yet accepted; SYNs beyond it are answered with FIN.
pub(super) const ACCEPT_BACKLOG: usize = 1024;
/// The default [`MuxConfig::max_streams`]: streams open in one session at most; further
/// SYNs are answered with FIN. Bounds what a peer that opens streams and never closes them
/// can make us hold (on a server, one connection to the target each).
pub const MAX_STREAMS: usize = 4096;
/// Receive-budget tokens each held PSH frame costs on top of its payload: what holding it
/// costs in memory (its allocation and its slot in the stream's queue, with the
/// allocator's rounding and the queue's growth), so that frames of 1 byte cannot hold many
/// times the budget.
pub(super) const FRAME_COST: usize = 128;
/// Bytes of frames queued for the transport past which the reader stops reading the peer:
/// the stream writes' [`WRITE_QUEUE`], a frame, and 64 KiB of control frames (FINs of
/// refused SYNs, UPDs, NOPs). A peer that sends SYNs and does not read our answers meets
/// back-pressure instead of growing the queue.
pub(super) const QUEUE_LIMIT: usize = WRITE_QUEUE + MAX_FRAME + 8 + (64 << 10);

/// A session's settings: kcptun's `--smuxver --smuxbuf --streambuf --keepalive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuxConfig {
    /// Protocol version, 1 or 2; both ends must agree.
    pub version: u8,
    /// Received bytes the whole session may hold before it stops reading (`--smuxbuf`).
    pub max_receive_buffer: usize,
    /// v2: the window each stream offers its peer (`--streambuf`).
    pub max_stream_buffer: usize,
    /// Largest PSH payload sent.
    pub max_frame: usize,
    /// A NOP is sent this often (`--keepalive`).
    pub keepalive_interval: Duration,
    /// The session closes when nothing arrived for this long.
    pub keepalive_timeout: Duration,
    /// Streams open at once in this session at most (both ends' together); a SYN past it
    /// is answered with a FIN, as one past the accept backlog is.
    pub max_streams: usize,
    /// Speak the version of the peer's first frame instead of `version` (which stays the
    /// version until that frame arrives): for a server that serves smux v1 and v2 clients
    /// alike, kcptun 20210922's and its last release's defaults. Keepalives wait for the
    /// first frame. Off by default, as in smux.
    pub detect_version: bool,
}

impl Default for MuxConfig {
    /// kcptun 20210922's: version 1, 4 MiB session buffer, 2 MiB stream buffer, keepalive
    /// every 10 s, timeout 30 s; and at most [`MAX_STREAMS`] streams.
    fn default() -> MuxConfig {
        MuxConfig {
            version: 1,
            max_receive_buffer: 4 << 20,
            max_stream_buffer: 2 << 20,
            max_frame: MAX_FRAME,
            keepalive_interval: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
            max_streams: MAX_STREAMS,
            detect_version: false,
        }
    }
}

impl MuxConfig {
    /// Checks the settings as smux's `VerifyConfig` does.
    pub fn verify(&self) -> Result<(), String> {
        if !(1..=2).contains(&self.version) {
            return Err(format!("unsupported smux version {}", self.version));
        }
        if self.keepalive_interval.is_zero() {
            return Err("keep-alive interval must be positive".into());
        }
        if self.keepalive_timeout < self.keepalive_interval {
            return Err("keep-alive timeout must be larger than keep-alive interval".into());
        }
        if self.max_frame == 0 || self.max_frame > 65_535 {
            return Err("max frame size must be in 1..=65535".into());
        }
        if self.max_streams == 0 {
            return Err("max streams must be positive".into());
        }
        if self.max_receive_buffer == 0 || self.max_stream_buffer == 0 {
            return Err("smux buffers must be positive".into());
        }
        if self.max_stream_buffer > self.max_receive_buffer {
            return Err("max stream buffer must not be larger than max receive buffer".into());
        }
        if self.max_stream_buffer > i32::MAX as usize {
            return Err("max stream buffer cannot be larger than 2147483647".into());
        }
        Ok(())
    }
}
