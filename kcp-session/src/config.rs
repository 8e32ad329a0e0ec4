//! Session configuration, mirroring kcp-go's setters and kcptun's flags.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;
use core::time::Duration;

use kcp_crypt::{CipherKind, Crypt};
use kcp_fec::Shards;

/// The congestion controller of a session ([`Config::congestion`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Congestion {
    /// No controller: the session sends what KCP's windows allow, as kcp-go and kcptun
    /// do (with `nc` set by every kcptun mode, a whole send window per flush). Through a
    /// bottleneck with a queue this overflows the queue and sends much of the data twice;
    /// on a path whose limit is the CPU it is the fastest. Byte for byte ikcp's sending.
    #[default]
    Off,
    /// A BBR-style controller: delivery-rate samples from the peer's acknowledgements, a
    /// windowed maximum of the bandwidth and a windowed minimum of the round trip; the
    /// session is paced at a gain times the bandwidth and keeps about two
    /// bandwidth-delay products in flight (through `kcp_core::Kcp::set_inflight_cap`).
    /// Random loss does not slow it down. Use it for bulk transfers over real paths and
    /// beside interactive traffic; it costs a pacer wake-up per burst (about one per
    /// millisecond at high rates) and a little arithmetic per poll. It turns ikcp's own
    /// congestion window off (`nc`), since its halving on every loss is what it replaces.
    Bbr,
}

/// The largest datagram kcp-go accepts; larger ones are truncated by its reader (the one
/// definition is kcp-core's, shared with kcp-crypt and kcp-fec).
pub use kcp_core::MTU_LIMIT;

/// KCP's latency profile: kcptun's `--mode` names, or the four knobs set by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// nodelay 0, interval 40 ms, resend 2, no congestion window.
    Normal,
    /// nodelay 0, interval 30 ms, resend 2, no congestion window (kcptun's default).
    Fast,
    /// nodelay 1, interval 20 ms, resend 2, no congestion window.
    Fast2,
    /// nodelay 1, interval 10 ms, resend 2, no congestion window.
    Fast3,
    /// kcptun's `--mode manual` with `--nodelay --interval --resend --nc`.
    Manual {
        /// 0 normal, 1 no-delay (RTO ×1.5), 2 no-delay with linear RTO back-off.
        nodelay: u32,
        /// Flush interval in ms (10..=5000).
        interval: u32,
        /// Fast retransmission after this many skipping acknowledgements; 0 = off.
        resend: u32,
        /// Ignore the congestion window.
        nc: bool,
    },
}

/// The four KCP settings a [`Mode`] stands for, as ikcp's `ikcp_nodelay` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knobs {
    /// 0 normal, 1 no-delay (RTO ×1.5), 2 no-delay with linear RTO back-off.
    pub nodelay: u32,
    /// Flush interval in ms.
    pub interval: u32,
    /// Fast retransmission after this many skipping acknowledgements; 0 = off.
    pub resend: u32,
    /// Ignore the congestion window.
    pub nc: bool,
}

impl From<Knobs> for Mode {
    /// `--mode manual` with these settings.
    fn from(k: Knobs) -> Mode {
        Mode::Manual {
            nodelay: k.nodelay,
            interval: k.interval,
            resend: k.resend,
            nc: k.nc,
        }
    }
}

impl Mode {
    /// The KCP settings this mode stands for: to log them, or to start a
    /// [`Mode::Manual`] from a named mode and change one of them.
    pub const fn knobs(self) -> Knobs {
        let (nodelay, interval, resend, nc) = match self {
            Mode::Normal => (0, 40, 2, true),
            Mode::Fast => (0, 30, 2, true),
            Mode::Fast2 => (1, 20, 2, true),
            Mode::Fast3 => (1, 10, 2, true),
            Mode::Manual {
                nodelay,
                interval,
                resend,
                nc,
            } => (nodelay, interval, resend, nc),
        };
        Knobs {
            nodelay,
            interval,
            resend,
            nc,
        }
    }

    /// The flush interval in ms.
    pub const fn interval(self) -> u32 {
        self.knobs().interval
    }
}

/// `--mode` names other than normal, fast, fast2, fast3 and manual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownModeError;

impl fmt::Display for UnknownModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown mode (expected normal, fast, fast2, fast3 or manual)")
    }
}

impl core::error::Error for UnknownModeError {}

impl FromStr for Mode {
    type Err = UnknownModeError;

    /// Parses kcptun's mode names. `manual` gives kcptun's manual defaults
    /// (nodelay 0, interval 50, resend 0, nc off); set the knobs afterwards.
    fn from_str(s: &str) -> Result<Mode, UnknownModeError> {
        Ok(match s {
            "normal" => Mode::Normal,
            "fast" => Mode::Fast,
            "fast2" => Mode::Fast2,
            "fast3" => Mode::Fast3,
            "manual" => Mode::Manual {
                nodelay: 0,
                interval: 50,
                resend: 0,
                nc: false,
            },
            _ => return Err(UnknownModeError),
        })
    }
}

/// A congestion controller name other than `off` and `bbr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCongestionError;

impl fmt::Display for UnknownCongestionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown congestion controller (expected off or bbr)")
    }
}

impl core::error::Error for UnknownCongestionError {}

impl FromStr for Congestion {
    type Err = UnknownCongestionError;

    /// `off` or `bbr`, as a command line spells them.
    fn from_str(s: &str) -> Result<Congestion, UnknownCongestionError> {
        match s {
            "off" => Ok(Congestion::Off),
            "bbr" => Ok(Congestion::Bbr),
            _ => Err(UnknownCongestionError),
        }
    }
}

/// Everything a session needs to know, as plain fields with documented defaults.
///
/// Build one, adjust the fields, then call [`Config::build`] once: it checks the
/// combination and derives the key (PBKDF2, a few milliseconds), giving [`Settings`] that
/// every session of a listener or client shares.
///
/// The defaults are kcptun's session settings (mode `fast`, MTU 1350, windows 1024/1024,
/// stream mode) with no encryption (`null`) and no FEC. A kcptun server by default adds
/// `aes` under its well-known key and FEC 10/3: for a kcptun peer use [`Config::kcptun`].
///
/// New knobs may be added in minor releases, so a `Config` is made by changing the fields
/// of [`Config::default`] or [`Config::kcptun`], not by a struct expression:
///
/// ```
/// let mut cfg = kcp_session::Config::kcptun();
/// cfg.mode = kcp_session::Mode::Fast3;
/// cfg.key = b"a real secret".to_vec();
/// let settings = cfg.build()?;
/// # Ok::<(), kcp_session::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The packet cipher (kcptun `--crypt`). Default [`CipherKind::Null`]: no crypto layer.
    pub crypt: CipherKind,
    /// The passphrase, stretched with kcptun's PBKDF2 (kcptun `--key`). Ignored for
    /// `null` and `none`; must not be empty for a cipher that encrypts.
    pub key: Vec<u8>,
    /// Data shards per FEC group (kcptun `--datashard`); 0 with `parity_shards` 0 turns
    /// FEC off. Default 0.
    pub data_shards: usize,
    /// Parity shards per FEC group (kcptun `--parityshard`). Default 0.
    pub parity_shards: usize,
    /// The largest datagram on the wire, all headers included (kcptun `--mtu`), at most
    /// [`MTU_LIMIT`]. Default 1350.
    pub mtu: usize,
    /// Send window in segments (kcptun `--sndwnd`). Default 1024.
    pub snd_wnd: u32,
    /// Receive window in segments (kcptun `--rcvwnd`), 128..=65535. Default 1024.
    pub rcv_wnd: u32,
    /// The latency profile (kcptun `--mode`). Default [`Mode::Fast`].
    pub mode: Mode,
    /// Byte-stream mode: sends are coalesced into full segments (kcptun sets it). Default on.
    pub stream: bool,
    /// Acknowledge received data at once (kcptun `--acknodelay`): at the next
    /// [`Session::poll`](crate::Session::poll), which the tokio driver runs after each
    /// receive burst and a loop that polls after every datagram runs per datagram, as
    /// kcp-go does. Default off.
    pub ack_nodelay: bool,
    /// Acknowledge what a burst of received datagrams carried at the next poll, as soon
    /// as the burst is processed, instead of at the next flush interval. The sender's
    /// window frees up sooner, which raises throughput on fast paths, for a few more ack
    /// datagrams (one per burst). With `ack_nodelay` on too this changes nothing; with
    /// both off acknowledgements wait for the flush interval, ikcp's and kcp-go's timing
    /// exactly. Default on.
    pub batch_acks: bool,
    /// Recover from a zero receive window at retransmission-timeout pace: probe a peer's
    /// closed window after one RTO instead of 7 s, and repeat the announcement of our own
    /// reopened window until the peer resumes (see `kcp_core::Kcp::set_window_recovery`).
    /// Without it, one lost window update stalls a transfer for 7 s, against ikcp and
    /// kcp-go 5.6.1 peers alike. Wire-compatible with both. Off gives ikcp's and kcp-go's
    /// behaviour exactly. Default on.
    pub window_recovery: bool,
    /// Back a segment's retransmission timeout off linearly, as kcp-go does, instead of
    /// ikcp's doubling (see `kcp_core::Kcp::set_linear_backoff`): on a link losing 20%
    /// each way, ikcp's back-off leaves single segments waiting several seconds. Local
    /// policy, invisible on the wire. Off gives ikcp's timing exactly. Default on.
    pub linear_backoff: bool,
    /// Retransmit early, as kcp-go does (see `kcp_core::Kcp::set_early_retransmit`): when
    /// a flush sends nothing new, a segment that a later acknowledgement skipped goes out
    /// again at once rather than after its timeout. Shortens the tail of transfers through
    /// loss for a few duplicate segments; invisible on the wire. Off gives ikcp's timing
    /// exactly. Default on.
    pub early_retransmit: bool,
    /// Count only acknowledgements that acknowledge something new toward fast
    /// retransmission, and retransmit at most one segment per newly acknowledged one at
    /// each flush (see `kcp_core::Kcp::set_strict_acks`). A flood of repeated or forged
    /// ACKs then triggers at most one retransmission per segment it reports delivered,
    /// where ikcp and kcp-go resend everything below the acknowledged segment, up to five
    /// times. Recovery from a burst of losses follows the ACKs. Invisible on the wire.
    /// Off gives ikcp's and kcp-go's fast retransmission exactly. Default on.
    pub strict_acks: bool,
    /// Hold written data until the next scheduled flush instead of flushing on every
    /// write (kcp-go `SetWriteDelay`). Default off, as kcptun.
    pub write_delay: bool,
    /// Pace sending to at most this many bytes per second on the wire, every datagram of
    /// the session counted (kcptun's `--ratelimit`, per session). Datagrams then leave
    /// spread over time in bursts of at most
    /// [`Settings::pacing_burst`](crate::Settings::pacing_burst) bytes, instead of a
    /// window's worth at each flush: use it when the path (or the provider) punishes
    /// bursts, or to share a link, since a bulk transfer at a rate the bottleneck carries
    /// fills no queue. It costs a wake-up of the session per burst (about one per
    /// millisecond at high rates), and data waits in the send queue while the rate is
    /// spent. A rate above about 56 MB/s is not reached when the session is polled once
    /// per millisecond. Acknowledgements always go out, and are charged. Must not be 0.
    /// Default `None`: no pacing, KCP's datagrams exactly as without it.
    pub rate_limit: Option<u32>,
    /// How the session fits its sending to the path: [`Congestion::Off`] (the default)
    /// sends what the windows and [`mode`](Config::mode) allow, as kcp-go does;
    /// [`Congestion::Bbr`] measures the path's bandwidth and round trip and paces at
    /// what it carries. Only the sending side changes: the wire format stays KCP's, so
    /// every peer works unchanged. With [`rate_limit`](Config::rate_limit) set too, the
    /// lower of the two rates applies.
    pub congestion: Congestion,
    /// DSCP value for outgoing datagrams (kcptun `--dscp`), 0..=63. Default 0.
    pub dscp: u8,
    /// Socket send and receive buffer size in bytes (kcptun `--sockbuf`). Default 4 MiB.
    pub sockbuf: usize,
    /// A session that has received nothing that moved the conversation (new data, or an
    /// acknowledgement of new data, or the proof of the peer's address) for this long is
    /// dead: reads and writes fail with a timeout. Replayed or repeated datagrams, which
    /// anyone who saw them can send, do not keep a session alive; nor do window probes,
    /// so a session whose application stops reading for this long ends too. `None` never times out; durations past 24.8 days (2^31 - 1 ms, the
    /// reach of KCP's wrapping clock) saturate there. Default 60 s.
    pub idle_timeout: Option<Duration>,
    /// Keep an idle session alive, and find a vanished peer, with window probes: a session
    /// that has heard nothing from its peer for this interval `K` sends a window probe
    /// (a 24-byte WASK segment, which every ikcp, kcp-go and kcptun peer answers with a
    /// window announcement at its next flush, delivering nothing to its application),
    /// again at `2K`, and is dead ([`DeadReason::Unanswered`](crate::DeadReason)) after
    /// `3K` of silence, unless the idle timeout came first. An answer counts as hearing
    /// from the peer, so it also resets the idle timeout: with a keepalive shorter than
    /// [`idle_timeout`](Config::idle_timeout) an idle session lives as long as its peer
    /// answers. Costs an idle session a wake-up and at most one probe each way per `K`;
    /// a session that receives traffic sends none. Must be shorter than `idle_timeout`
    /// (checked by [`build`](Config::build)). Default `None`: no probes, kcp-go's
    /// behaviour exactly.
    pub keepalive: Option<Duration>,
    /// Let a session follow its peer to a new address (a NAT rebinding, a phone moving
    /// networks), but only once the new address has shown that it receives there: by
    /// acknowledging data the session sent to it, with the echo of a secret clock
    /// offset, the proof of [`amplification_limit`](Config::amplification_limit). A
    /// forger who replays or forges datagrams from another address can neither move nor
    /// kill the session. Sessions are then found by conversation id as well as by
    /// address, so one address may hold several sessions. Costs a lookup by
    /// conversation id for datagrams from unknown addresses, and up to
    /// `amplification_limit` times their size in datagrams sent to the new address before
    /// the proof. Beyond kcp-go (whose listener keys sessions by address only): a kcp-go
    /// client that rebinds is followed, a kcp-go listener does not follow us. Default off.
    pub roaming: bool,
    /// Declare the peer gone once a segment was sent this many times unacknowledged
    /// (KCP's dead link, ikcp's default 20). Default `None`: as with kcp-go, unanswered
    /// retransmissions alone end nothing, and [`idle_timeout`](Config::idle_timeout)
    /// decides when a silent peer is gone. With the linear back-off, 20 transmissions
    /// take about 3.5 s in mode fast3 and 40 s in mode fast, so a count is a poor clock:
    /// a short outage would end a session that was about to recover.
    pub dead_link: Option<u32>,
    /// How long closing a session keeps retransmitting what was written before it gives
    /// up (saturating at 2^31 - 1 ms, like `idle_timeout`). Default 10 s.
    pub linger: Duration,
    /// Listener: new sessions waiting for `accept` before more are dropped (kcp-go's
    /// accept backlog, 128).
    pub accept_backlog: usize,
    /// Listener: the most sessions open at once; datagrams that would open more are
    /// dropped. Bounds how many sessions an address-spoofing flood can open without a
    /// cipher; [`memory_budget`](Config::memory_budget) bounds the bytes they hold.
    /// Default 65,536.
    pub max_sessions: usize,
    /// Listener: until a peer has shown that it receives at its address (by acknowledging
    /// data a session sent it), the session sends it at most this many times the bytes it
    /// received from it, as QUIC does (RFC 9000 section 8.1). Without it, one forged or
    /// replayed datagram makes a listener send a whole reply to an address that never
    /// asked. The proof is an acknowledgement echoing a timestamp that only the receiver
    /// of our data can know (see `Session::new_incoming`); it works with unchanged kcp-go
    /// and kcptun peers, and costs a reply larger than the limit allows one round trip.
    /// In message mode a first message larger than the budget waits for more bytes from
    /// the peer. `None` sends without limit, as kcp-go; `Some(0)` is refused by
    /// [`build`](Config::build). Default `Some(3)`.
    pub amplification_limit: Option<u32>,
    /// Accept FEC from a peer while this side's FEC is off, with a decoder that tunes
    /// itself to the peer's shard counts, as kcp-go does. Costs a decoder (up to about
    /// 1.6 MB and matrix inversions a peer can choose) in every session that receives an
    /// FEC packet. Off, a session without FEC reads the KCP frame an FEC data packet
    /// carries and drops parity: the data flows, without recovery. Default off.
    pub fec_auto_tune: bool,
    /// Listener: while a session of a conversation id lives, and for this long after it
    /// opened and after it ended, a datagram of that conversation opens no other session,
    /// from any address, and does not replace a session (a replayed first datagram,
    /// recorded by an eavesdropper, would otherwise open a second session and deliver the
    /// client's first request again). Conversation
    /// ids are random 32-bit numbers, so real clients do not collide; a client that
    /// reuses a fixed id from a new port waits this long. `None` turns it off. Default
    /// 120 s.
    pub replay_window: Option<Duration>,
    /// Listener: how many conversation ids of ended sessions the replay cache holds (about
    /// 40 bytes each). When full, the oldest is forgotten early. Behind a cipher only sessions
    /// that open fill it, so a replayer cannot flush it. Default 16,384.
    pub replay_cache: usize,
    /// Listener: the most sessions opened by peers at one IP address (all ports);
    /// datagrams that would open more are dropped. Bounds what one host, or a forger of
    /// one address, takes of `max_sessions` and of the memory budget. Default 64; raise it
    /// for a server whose clients share an address (a NAT, a relay, tests on 127.0.0.1).
    pub max_sessions_per_ip: usize,
    /// Listener: the bytes every session together may hold (KCP's queues and windows,
    /// FEC recovery state, partly read messages), measured after each burst of input.
    /// Past it, no new session opens, and sessions whose peer has not shown that it
    /// receives at its address are ended, the least recently active first, until the
    /// total is under the budget again. A session holds at most about its windows'
    /// worth (1024 segments of MTU size each way, about 3 MB with FEC for the defaults),
    /// so proven sessions together may still exceed it. `None` sets no budget. Default
    /// 1 GiB.
    pub memory_budget: Option<usize>,
    /// How many unreliable datagrams (see
    /// [`Session::send_datagram`](crate::Session::send_datagram)) a session queues each
    /// way: received ones waiting for the application (past it the oldest is dropped
    /// and counted), and sent ones waiting for the next poll (past it sending fails).
    /// Received datagrams cost their size in memory until read, counted in the memory
    /// budget. 0 drops every received datagram (counted), as kcp-go does without an
    /// OOB handler. Default 64.
    pub datagram_queue: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            crypt: CipherKind::Null,
            key: Vec::new(),
            data_shards: 0,
            parity_shards: 0,
            mtu: 1350,
            snd_wnd: 1024,
            rcv_wnd: 1024,
            mode: Mode::Fast,
            stream: true,
            ack_nodelay: false,
            batch_acks: true,
            window_recovery: true,
            linear_backoff: true,
            early_retransmit: true,
            strict_acks: true,
            write_delay: false,
            rate_limit: None,
            congestion: Congestion::Off,
            dscp: 0,
            sockbuf: 4 << 20,
            idle_timeout: Some(Duration::from_secs(60)),
            keepalive: None,
            roaming: false,
            dead_link: None,
            linger: Duration::from_secs(10),
            accept_backlog: 128,
            max_sessions: 65_536,
            amplification_limit: Some(3),
            fec_auto_tune: false,
            replay_window: Some(Duration::from_secs(120)),
            replay_cache: 16_384,
            max_sessions_per_ip: 64,
            memory_budget: Some(1 << 30),
            datagram_queue: 64,
        }
    }
}

impl Config {
    /// kcptun 20210922's defaults: `--key "it's a secrect" --crypt aes --mode fast
    /// --mtu 1350 --sndwnd 1024 --rcvwnd 1024 --datashard 10 --parityshard 3`, stream
    /// mode, no ack-no-delay.
    pub fn kcptun() -> Config {
        Config {
            crypt: CipherKind::Aes256,
            key: kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE.as_bytes().to_vec(),
            data_shards: 10,
            parity_shards: 3,
            ..Config::default()
        }
    }

    /// Checks the combination and derives the key; the result is cheap to clone and share.
    pub fn build(&self) -> Result<Settings, ConfigError> {
        if self.key.is_empty() && !matches!(self.crypt, CipherKind::Null | CipherKind::None) {
            return Err(ConfigError::EmptyKey);
        }
        if self.mtu > MTU_LIMIT {
            return Err(ConfigError::MtuTooLarge(self.mtu));
        }
        let fec = match (self.data_shards, self.parity_shards) {
            (0, 0) => None,
            (d, p) => Some(Shards::new(d, p).map_err(|_| ConfigError::Shards(d, p))?),
        };
        // "null" and "none" use no key: they skip kcptun's 4096 PBKDF2 iterations.
        let crypt = match self.crypt {
            CipherKind::Null | CipherKind::None => Crypt::new(self.crypt, &[])
                .unwrap_or_else(|_| Crypt::from_passphrase(self.crypt, &self.key)),
            kind => Crypt::from_passphrase(kind, &self.key),
        };
        let header = crypt.header_len()
            + if fec.is_some() {
                kcp_fec::DATA_HEADER_LEN
            } else {
                0
            };
        let overhead = header + crypt.trailer_len();
        // KCP needs room for its 24-byte header and some payload in every datagram.
        let kcp_mtu = self
            .mtu
            .checked_sub(overhead)
            .filter(|m| *m >= kcp_core::MIN_MTU)
            .ok_or(ConfigError::MtuTooSmall(self.mtu))?;
        if self.rcv_wnd < kcp_core::MAX_FRAGMENTS as u32 || self.rcv_wnd > kcp_core::MAX_RCV_WND {
            return Err(ConfigError::Window(self.rcv_wnd));
        }
        if self.snd_wnd == 0 {
            return Err(ConfigError::Window(0));
        }
        let Knobs {
            nodelay,
            interval,
            resend,
            ..
        } = self.mode.knobs();
        if nodelay > 2 || !(10..=5000).contains(&interval) || resend > 255 {
            return Err(ConfigError::Mode(self.mode));
        }
        if self.dscp > 63 {
            return Err(ConfigError::Dscp(self.dscp));
        }
        if self.dead_link == Some(0) {
            return Err(ConfigError::DeadLink);
        }
        if self.rate_limit == Some(0) {
            return Err(ConfigError::RateLimit);
        }
        if self.amplification_limit == Some(0) {
            return Err(ConfigError::AmplificationLimit);
        }
        if let Some(k) = self.keepalive
            && (k.as_millis() == 0 || self.idle_timeout.is_some_and(|t| k >= t))
        {
            return Err(ConfigError::Keepalive);
        }
        Ok(Settings(Arc::new(Inner {
            config: self.clone(),
            crypt,
            fec,
            header,
            kcp_mtu,
        })))
    }
}

/// A [`Config`] that failed [`Config::build`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MTU exceeds 1500 bytes, which kcp-go would truncate.
    MtuTooLarge(usize),
    /// The MTU leaves no room for KCP after the crypto and FEC headers.
    MtuTooSmall(usize),
    /// The FEC shard counts are invalid (each side at least 1, 256 in total at most).
    Shards(usize, usize),
    /// A window is out of range (send ≥ 1, receive 128..=65535).
    Window(u32),
    /// The mode's knobs are out of range (nodelay 0..=2, interval 10..=5000, resend ≤ 255).
    Mode(Mode),
    /// DSCP is a 6-bit value.
    Dscp(u8),
    /// A dead-link threshold of 0 transmissions would declare every session dead.
    DeadLink,
    /// The cipher encrypts, but the key is empty: anyone could read and forge traffic.
    EmptyKey,
    /// A rate limit of 0 bytes per second would send nothing; `None` turns pacing off.
    RateLimit,
    /// An amplification limit of 0 would let no session answer a peer that spoke first.
    AmplificationLimit,
    /// The keepalive interval is under 1 ms, or not shorter than the idle timeout (the
    /// session would time out before its first probe).
    Keepalive,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MtuTooLarge(m) => write!(f, "mtu {m} exceeds {MTU_LIMIT} bytes"),
            ConfigError::MtuTooSmall(m) => {
                write!(
                    f,
                    "mtu {m} leaves no room for KCP after the crypto and FEC headers"
                )
            }
            ConfigError::Shards(d, p) => write!(f, "invalid FEC shard counts {d}/{p}"),
            ConfigError::Window(w) => write!(f, "window {w} out of range"),
            ConfigError::Mode(m) => write!(f, "mode knobs out of range: {m:?}"),
            ConfigError::Dscp(d) => write!(f, "dscp {d} is not a 6-bit value"),
            ConfigError::DeadLink => f.write_str("dead-link threshold must be at least 1"),
            ConfigError::Keepalive => {
                f.write_str("keepalive must be at least 1 ms and shorter than the idle timeout")
            }
            ConfigError::AmplificationLimit => {
                f.write_str("amplification limit must be at least 1")
            }
            ConfigError::EmptyKey => f.write_str("empty key for a cipher that encrypts"),
            ConfigError::RateLimit => f.write_str("rate limit must be at least 1 byte/s"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// So that `Config::build()?` works in a function returning `io::Result`: the error is
/// kept, reachable with `io::Error::get_ref`, under [`InvalidInput`](std::io::ErrorKind::InvalidInput).
#[cfg(feature = "std")]
impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

/// A checked [`Config`] with its derived cipher: build it once, share it among sessions
/// (cloning is a reference-count increment).
#[derive(Clone)]
pub struct Settings(Arc<Inner>);

struct Inner {
    config: Config,
    crypt: Crypt,
    fec: Option<Shards>,
    /// Crypto plus FEC header bytes in front of every KCP frame.
    header: usize,
    /// The MTU handed to KCP: the datagram MTU less every header and trailer.
    kcp_mtu: usize,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.0.config)
            .field("kcp_mtu", &self.0.kcp_mtu)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The configuration these settings were built from.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The packet cipher.
    pub fn crypt(&self) -> &Crypt {
        &self.0.crypt
    }

    /// The FEC shard counts this side sends with, if FEC is on.
    pub fn fec(&self) -> Option<Shards> {
        self.0.fec
    }

    /// Bytes of crypto and FEC header in front of each KCP frame.
    pub fn header_len(&self) -> usize {
        self.0.header
    }

    /// Bytes after each KCP frame (the AEAD tag, else 0).
    pub fn trailer_len(&self) -> usize {
        self.0.crypt.trailer_len()
    }

    /// The MTU KCP packs frames to: the datagram MTU less the headers and the trailer.
    pub fn kcp_mtu(&self) -> usize {
        self.0.kcp_mtu
    }
}

/// `d` in milliseconds for KCP's wrapping `u32` clock, whose comparisons reach 2^31 - 1 ms:
/// longer durations saturate there (about 24.8 days, as good as never for a timer).
pub(crate) fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).map_or(i32::MAX as u32, |ms| ms.min(i32::MAX as u32))
}
