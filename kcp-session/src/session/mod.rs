//! The sans-io session: one KCP conversation with its FEC and cipher, fed datagrams and
//! clock ticks, polled for datagrams to send. No sockets, no runtime.

mod congestion;
mod framer;
mod keepalive;
mod message;
mod oob;
mod pacer;
mod proof;
mod roaming;
mod state;

use alloc::vec::Vec;
use core::fmt;

use kcp_core::Kcp;
use kcp_crypt::{NonceRng, PacketCipher};
use kcp_fec::{Decoder, DecoderConfig, Encoder, EncoderConfig, FecPacket, PacketKind, Shards};
use rand_core::{RngCore, SeedableRng};

use crate::config::{MTU_LIMIT, Settings, millis};
use crate::snmp::Snmp;

use congestion::Controller;
use framer::Framer;
pub use framer::conv_and_sn;
use keepalive::{Due, Liveness};
pub use oob::{DatagramError, DatagramStats};
use pacer::Pacer;
use proof::Proof;
pub use state::{DeadReason, InputError, RecvError, SendError, State};

/// One KCP conversation with kcp-go's framing: FEC and cipher applied in place in the
/// headroom KCP reserves, so a datagram's payload is never copied between layers.
///
/// It owns no socket and reads no clock: the caller (a game loop, firmware, a custom event
/// loop, or [`Endpoint`](crate::Endpoint), which serves many sessions on one socket) drives
/// it. Time is a `u32` millisecond clock of the caller's choosing that never goes
/// backwards (it may wrap).
///
/// - [`input`](Session::input) every datagram from the peer (decrypted in place);
/// - [`send`](Session::send) and [`recv`](Session::recv) application data;
/// - then [`poll`](Session::poll), which transmits what those operations and the timers
///   made due, through a `transmit` callback, in order;
/// - and [`poll`](Session::poll) again when [`next_timeout`](Session::next_timeout) comes.
///
/// Nothing is transmitted before `poll`, so the acknowledgements of a burst of input go
/// out together (and the window freed by a burst of acknowledgements is filled once): feed
/// everything the socket has, then poll. A loop that polls after every datagram gets
/// kcp-go's per-datagram behaviour.
pub struct Session {
    kcp: Kcp,
    settings: Settings,
    encoder: Option<Encoder>,
    decoder: Option<Decoder>,
    rng: NonceRng,
    /// Added to the caller's clock for KCP, so the `ts` the peer echoes is unguessable
    /// (0 for sessions that need no proof of receipt).
    clock_offset: u32,
    /// The send budget until the peer shows it receives at its address; `None` once it
    /// has, or for sessions that need no proof.
    proof: Option<Proof>,
    /// KCP's counters when the session was shed (its KCP was replaced by an empty one).
    shed_stats: Option<kcp_core::Stats>,
    state: State,
    /// When the last datagram that showed progress arrived (see `input_opened`).
    last_recv: u32,
    /// When `close` was called.
    closing_since: u32,
    /// Part of a message that did not fit the caller's buffer, and how much was read.
    leftover: Vec<u8>,
    leftover_pos: usize,
    /// Counters this layer keeps; KCP's and FEC's are merged in by `snmp`.
    counters: Snmp,
    /// Unreliable datagrams received and waiting to be sent.
    datagrams: oob::Datagrams,
    /// An operation since the last poll wants a flush: acknowledgements to send, data
    /// that may go out, a reopened window to announce.
    flush_wanted: bool,
    /// KCP was idle when the last operation ended, so the flush timer was skipped since
    /// (see `begin`).
    kcp_idle: bool,
    /// The token bucket of [`Config::rate_limit`](crate::Config::rate_limit), if set.
    pacer: Option<Pacer>,
    /// The controller of [`Congestion::Bbr`](crate::Congestion::Bbr), which sets the
    /// pacer's rate and KCP's in-flight cap.
    congestion: Option<Controller>,
    /// Connect confirmation and keepalive probes (see `keepalive.rs`).
    liveness: Liveness,
    /// Challenges sent to a new address of the peer (see `roaming.rs`).
    challenges: roaming::Challenges,
    /// What was last added to the endpoint's counters (see `collect`).
    reported: Snmp,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("conv", &self.kcp.conv())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Creates the session of conversation `conv` at time `now`, for a peer this side
    /// chose to talk to (a dialer, which picks a random `conv`). `seed` seeds the nonce
    /// generator of the cipher: 32 bytes from a cryptographic random source (an
    /// [`Endpoint`](crate::Endpoint) derives them from its own seed; fixed bytes give
    /// reproducible datagrams in tests). Nothing here reads a random source, so nothing
    /// can fail.
    pub fn new(conv: u32, settings: &Settings, now: u32, seed: [u8; 32]) -> Session {
        Session::build(conv, settings, now, seed, false)
    }

    /// Creates the session of conversation `conv` at time `now` for a peer that spoke
    /// first (a listener takes `conv` from its first datagram), whose address nothing has
    /// proven yet: until the peer acknowledges data this session sent, it sends at most
    /// [`Config::amplification_limit`](crate::Config::amplification_limit) times the
    /// bytes it received, so a forged or replayed datagram cannot turn it against a
    /// third party. KCP runs on the caller's clock plus a random offset taken from
    /// `seed`, which makes the echo unguessable (invisible to the peer: KCP's timestamps
    /// are only echoed). Costs a scan of the segment headers of each datagram until the
    /// proof arrives, and at most one round trip before a large first reply.
    pub fn new_incoming(conv: u32, settings: &Settings, now: u32, seed: [u8; 32]) -> Session {
        Session::build(conv, settings, now, seed, true)
    }

    fn build(conv: u32, settings: &Settings, now: u32, seed: [u8; 32], incoming: bool) -> Session {
        let mut rng = NonceRng::from_seed(seed);
        let cfg = settings.config();
        let proof = cfg.amplification_limit.filter(|_| incoming).map(Proof::new);
        let clock_offset = if proof.is_some() { rng.next_u32() } else { 0 };
        let mut kcp = Kcp::new(conv);
        kcp.set_mtu(settings.kcp_mtu())
            .expect("Config::build checked the MTU");
        kcp.set_reserved(settings.header_len());
        kcp.set_tailroom(settings.trailer_len());
        kcp.set_window_size(cfg.snd_wnd, cfg.rcv_wnd)
            .expect("Config::build checked the windows");
        let k = cfg.mode.knobs();
        kcp.set_nodelay(k.nodelay, k.interval, k.resend, k.nc);
        kcp.set_stream(cfg.stream);
        kcp.set_dead_link(cfg.dead_link.unwrap_or(u32::MAX));
        kcp.set_window_recovery(cfg.window_recovery);
        kcp.set_linear_backoff(cfg.linear_backoff);
        kcp.set_early_retransmit(cfg.early_retransmit);
        kcp.set_strict_acks(cfg.strict_acks);
        // A message longer than the receive window would wedge reads for good: refuse it.
        kcp.set_strict_input(true);
        // Acknowledgements leave at every poll; more than two windows' worth between two
        // polls is a flood (see `Kcp::set_ack_limit`).
        kcp.set_ack_limit(Some(2 * cfg.rcv_wnd as usize));
        let congestion = (cfg.congestion == crate::Congestion::Bbr).then(|| {
            // ikcp's window halves on every loss: the controller replaces it.
            kcp.set_nocwnd(true);
            Controller::new(&kcp, cfg.mtu, now, conv)
        });
        // The first update starts the flush timer; nothing is queued yet, so nothing goes out.
        kcp.update(now.wrapping_add(clock_offset), |_: &mut [u8]| {});

        let max_datagram = settings.header_len() + settings.kcp_mtu();
        let encoder = settings.fec().map(|shards| {
            let mut c = EncoderConfig::new(shards);
            c.offset = settings.crypt().header_len();
            c.max_datagram = max_datagram;
            c.tailroom = settings.trailer_len();
            Encoder::new(c).expect("Config::build checked the shards")
        });
        let decoder = settings.fec().map(new_decoder);
        Session {
            kcp,
            settings: settings.clone(),
            encoder,
            decoder,
            rng,
            clock_offset,
            proof,
            shed_stats: None,
            state: State::Open,
            last_recv: now,
            closing_since: now,
            leftover: Vec::new(),
            leftover_pos: 0,
            counters: Snmp::default(),
            datagrams: oob::Datagrams::default(),
            flush_wanted: false,
            kcp_idle: true,
            pacer: cfg
                .rate_limit
                .or(congestion.as_ref().map(Controller::rate))
                .map(|rate| Pacer::new(rate, settings, now)),
            congestion,
            liveness: Liveness::new(settings, now),
            challenges: roaming::Challenges::default(),
            reported: Snmp::default(),
        }
    }

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.kcp.conv()
    }

    /// Where the session stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The KCP state machine, for read-outs (RTT, windows, queue lengths).
    pub fn kcp(&self) -> &Kcp {
        &self.kcp
    }

    /// The settings the session runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the peer has shown that it receives at its address (always true for a
    /// session made with [`new`](Session::new), or without an amplification limit). Until
    /// it has, the session sends it at most the amplification limit times what it
    /// received (see [`new_incoming`](Session::new_incoming)).
    pub fn is_proven(&self) -> bool {
        self.proof.is_none()
    }

    /// Heap bytes the session holds now: KCP's queues and windows
    /// ([`Kcp::buffered_bytes`]), the FEC decoder's recovery state, and a partly read
    /// message. Fixed per-session costs (the FEC encoder's group) are not counted. Costs a
    /// pass over the segments held: an [`Endpoint`](crate::Endpoint) reads it once per
    /// burst of input, for its memory budget.
    pub fn buffered_bytes(&self) -> usize {
        self.kcp.buffered_bytes()
            + self.decoder.as_ref().map_or(0, Decoder::retained_bytes)
            + self.leftover.capacity()
            + self.datagrams.buffered_bytes()
    }

    /// When the last datagram that moved the conversation arrived.
    pub(crate) fn last_progress(&self) -> u32 {
        self.last_recv
    }

    /// Ends the session for the memory budget and frees what it holds at once.
    pub(crate) fn shed(&mut self) {
        if self.state.is_ended() {
            return;
        }
        self.state = State::Dead(DeadReason::Shed);
        self.flush_wanted = false;
        let mut empty = Kcp::new(self.kcp.conv());
        // Keep the counters the session reports.
        core::mem::swap(&mut self.kcp, &mut empty);
        self.shed_stats = Some(empty.stats());
        self.decoder = None;
        self.leftover = Vec::new();
        self.leftover_pos = 0;
        self.datagrams.clear();
    }

    /// KCP's clock for the caller's `now`.
    fn kcp_now(&self, now: u32) -> u32 {
        now.wrapping_add(self.clock_offset)
    }

    /// Takes one datagram from the peer, decrypting it in place. What it makes due
    /// (acknowledgements, data the freed window lets out) goes out at the next
    /// [`poll`](Session::poll). A rejected datagram changes nothing but a counter;
    /// datagrams longer than [`MTU_LIMIT`] are rejected before any work.
    pub fn input(&mut self, now: u32, datagram: &mut [u8]) -> Result<(), InputError> {
        if self.state.is_ended() {
            return Err(InputError::Ended);
        }
        if datagram.len() > MTU_LIMIT {
            self.counters.in_errs += 1;
            self.counters.bytes_received += datagram.len() as u64;
            return Err(InputError::Oversized);
        }
        let range = match self.settings.crypt().open(datagram) {
            Ok(r) => r,
            Err(e) => {
                self.counters.in_csum_errors += 1;
                self.counters.bytes_received += datagram.len() as u64;
                return Err(InputError::Crypt(e));
            }
        };
        let len = datagram.len();
        self.input_opened(now, len, &datagram[range])
    }

    /// A challenge for a new address of the peer: a sealed datagram to send there, whose
    /// acknowledgement [`answers_challenge`](Session::answers_challenge) recognizes (see
    /// `roaming.rs`). 24 bytes of KCP under the cipher.
    pub(crate) fn roaming_challenge(&mut self, now: u32) -> Vec<u8> {
        let kcp_now = self.kcp_now(now);
        let d = self
            .challenges
            .make(&self.kcp, kcp_now, &self.settings, &mut self.rng);
        self.counters.out_pkts += 1;
        self.counters.bytes_sent += d.len() as u64;
        d
    }

    /// Whether the opened payload `payload` acknowledges a challenge of this session.
    pub(crate) fn answers_challenge(&self, payload: &[u8]) -> bool {
        self.challenges.answered_by(payload, self.kcp.conv())
    }

    /// Takes a datagram from an address the peer has not shown yet: as
    /// [`input_opened`](Session::input_opened), but it counts toward no proof of the
    /// current address.
    pub(crate) fn input_elsewhere(
        &mut self,
        now: u32,
        wire_len: usize,
        payload: &[u8],
    ) -> Result<(), InputError> {
        let proof = self.proof.take();
        let r = self.input_opened(now, wire_len, payload);
        self.proof = proof;
        r
    }

    /// The peer answered a challenge at a new address, where the session now sends: the
    /// address is proven.
    pub(crate) fn moved(&mut self) {
        self.challenges.clear();
        if self.proof.take().is_some() {
            self.flush_wanted = true;
        }
    }

    /// Takes a datagram of `wire_len` bytes whose crypto layer is already removed (an
    /// [`Endpoint`](crate::Endpoint) decrypts first to route by conversation id).
    pub(crate) fn input_opened(
        &mut self,
        now: u32,
        wire_len: usize,
        payload: &[u8],
    ) -> Result<(), InputError> {
        if self.state.is_ended() {
            return Err(InputError::Ended);
        }
        self.counters.bytes_received += wire_len as u64;
        self.counters.in_pkts += 1;
        self.counters.in_bytes += payload.len() as u64;
        if let Some(proof) = &mut self.proof {
            proof.received(wire_len);
            let frame = match kcp_fec::classify(payload) {
                PacketKind::Kcp => Some(payload),
                _ => FecPacket::new_checked(payload).ok().and_then(|p| p.frame()),
            };
            if frame.is_some_and(|f| proof.is_echoed_in(f, self.kcp.conv())) {
                self.proof = None;
                // What waited for the proof may go now.
                self.flush_wanted = true;
                self.last_recv = now;
            }
        }
        if oob::is_oob(payload) {
            return self.input_datagram(payload);
        }
        let una = self.kcp.snd_una();
        let (rcv_nxt, rcv_buf) = (self.kcp.rcv_nxt(), self.kcp.rcv_buf_len());
        // RTT samples are taken against this clock (the maintainer's advice for ikcp).
        self.begin(now);
        let result = match kcp_fec::classify(payload) {
            PacketKind::Data | PacketKind::Parity => self.input_fec(now, payload),
            _ if payload.len() < kcp_core::OVERHEAD => {
                self.counters.kcp_in_errors += 1;
                Err(InputError::Truncated)
            }
            _ => self.kcp.input(payload).map_err(|e| {
                self.counters.kcp_in_errors += 1;
                InputError::Kcp(e)
            }),
        };
        // Only a datagram that moved the conversation keeps the session alive: one that
        // acknowledged new data or brought new data. Replays of what was already
        // received, and anything else a third party can send, do not.
        // So does the answer to a liveness probe (see `keepalive.rs`).
        if result.is_ok()
            && (self.kcp.snd_una() != una
                || self.kcp.rcv_nxt() != rcv_nxt
                || self.kcp.rcv_buf_len() > rcv_buf
                || (self.liveness.awaits_answer() && Liveness::is_answer(payload, self.kcp.conv())))
        {
            self.last_recv = now;
            self.liveness.heard(now);
        }
        // Flush at the next poll when the window moved (new data may go out) or when
        // acknowledgements are waiting and the settings send them at once.
        let cfg = self.settings.config();
        let acks = self.kcp.ack_pending() > 0 && (cfg.ack_nodelay || cfg.batch_acks);
        if self.kcp.snd_una() != una || acks {
            self.flush_wanted = true;
        }
        self.end();
        result
    }

    fn input_fec(&mut self, now: u32, payload: &[u8]) -> Result<(), InputError> {
        if payload.len() < kcp_fec::DATA_HEADER_LEN {
            self.counters.in_errs += 1;
            return Err(InputError::Truncated);
        }
        if self.decoder.is_none() && !self.settings.config().fec_auto_tune {
            // FEC is off here: read the frame a data packet carries, without recovery,
            // and drop parity, at no cost in memory or decoding work.
            let Some(frame) = FecPacket::new_checked(payload).ok().and_then(|p| p.frame()) else {
                return Ok(());
            };
            if frame.len() < kcp_core::OVERHEAD {
                self.counters.kcp_in_errors += 1;
                return Err(InputError::Truncated);
            }
            return self.kcp.input(frame).map_err(|e| {
                self.counters.kcp_in_errors += 1;
                InputError::Kcp(e)
            });
        }
        // As kcp-go, with `fec_auto_tune`: accept FEC from a peer even when we send
        // without it: start at 1/1 and let the decoder tune itself to the peer's counts.
        let decoder = self.decoder.get_or_insert_with(|| {
            new_decoder(Shards::new(1, 1).expect("1/1 is a valid shard count"))
        });
        let (kcp, counters) = (&mut self.kcp, &mut self.counters);
        let data = decoder
            .decode(payload, now, |frame| {
                if kcp.input(frame).is_err() {
                    counters.kcp_in_errors += 1;
                }
            })
            .map_err(|e| {
                counters.in_errs += 1;
                InputError::Fec(e)
            })?;
        match data {
            Some(frame) if frame.len() >= kcp_core::OVERHEAD => {
                self.kcp.input(frame).map_err(|e| {
                    self.counters.kcp_in_errors += 1;
                    InputError::Kcp(e)
                })
            }
            Some(_) => {
                self.counters.kcp_in_errors += 1;
                Err(InputError::Truncated)
            }
            None => Ok(()),
        }
    }

    /// Queues application data; unless [`Config::write_delay`](crate::Config::write_delay)
    /// is set, it goes out at the next [`poll`](Session::poll) (else at the next flush
    /// interval).
    ///
    /// Nothing is taken ([`SendError::WouldBlock`]) while [`Kcp::wait_snd`] is at the send
    /// window: that is the back-pressure. In stream mode it takes as many bytes as the
    /// free part of the send window holds (at least one segment's worth) and returns how
    /// many, so one huge write cannot queue without bound; call again with the rest. In
    /// message mode `data` is one message (at most 127 segments), taken whole.
    pub fn send(&mut self, now: u32, data: &[u8]) -> Result<usize, SendError> {
        if let Some(e) = self.state.send_error() {
            return Err(e);
        }
        if !self.can_send() {
            return Err(SendError::WouldBlock);
        }
        let room = self.proof_room();
        if !self.kcp.is_stream() && data.len() > room {
            return Err(SendError::WouldBlock);
        }
        self.begin(now);
        let taken = if self.kcp.is_stream() {
            let mss = self.kcp.mss();
            let free = self.kcp.snd_wnd() as usize - self.kcp.wait_snd();
            let data = &data[..data.len().min(free.max(1) * mss).min(room)];
            // One KCP send takes at most 127 segments; feed large writes in pieces.
            for chunk in data.chunks((kcp_core::MAX_FRAGMENTS - 1) * mss) {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let n = self.kcp.send(rest).map_err(|_| SendError::TooLarge)?;
                    rest = &rest[n..];
                }
            }
            data.len()
        } else {
            self.kcp.send(data).map_err(|_| SendError::TooLarge)?;
            data.len()
        };
        if !self.settings.config().write_delay {
            self.flush_wanted = true;
        }
        self.end();
        Ok(taken)
    }

    /// Whether [`send`](Session::send) would accept data now.
    pub fn can_send(&self) -> bool {
        self.state == State::Open
            && self.kcp.wait_snd() < self.kcp.snd_wnd() as usize
            && self.proof_room() > 0
    }

    /// Payload bytes the amplification budget lets `send` take now: a share of what it
    /// allows, less what is queued (counted as full segments) and datagram headers for
    /// the acknowledgements; unbounded once the peer is proven. The budget is enforced on
    /// every datagram when it leaves; this keeps a first reply small enough to leave, so
    /// that the peer's acknowledgement of it can bring the proof.
    ///
    /// Nothing more while data waits for its acknowledgement: that acknowledgement is the
    /// proof, and what is left of the budget is for retransmitting the data if it or the
    /// acknowledgement is lost. (Taking a third of the rest at each send, as a writer that
    /// flushes between writes asks, would spend it, and a lost acknowledgement would then
    /// leave the session silent until the peer sent something else.)
    fn proof_room(&self) -> usize {
        let Some(proof) = &self.proof else {
            return usize::MAX;
        };
        if self.kcp.wait_snd() > 0 {
            return 0;
        }
        let per_datagram =
            (self.settings.header_len() + kcp_core::OVERHEAD + self.settings.trailer_len()) as u64;
        let queued = self.kcp.snd_queue_len() as u64 * (self.kcp.mss() as u64 + per_datagram);
        let avail = proof.room().saturating_sub(queued);
        // A third of it, so that the first bytes can be retransmitted twice if lost before
        // the proof; all but two datagrams' headers when a third is too little.
        let room = match (avail / 3).saturating_sub(per_datagram) {
            0 => avail.saturating_sub(2 * per_datagram),
            third => third,
        };
        room.try_into().unwrap_or(usize::MAX)
    }

    /// How many bytes [`send`](Session::send) would take now: 0 while it would refuse; in
    /// stream mode what the free part of the send window holds; in message mode the
    /// largest message (127 segments). A relay or echo reads at most this much, so that
    /// nothing it read has to wait.
    pub fn send_capacity(&self) -> usize {
        if !self.can_send() {
            return 0;
        }
        let mss = self.kcp.mss();
        let room = self.proof_room();
        if self.kcp.is_stream() {
            ((self.kcp.snd_wnd() as usize - self.kcp.wait_snd()) * mss).min(room)
        } else {
            ((kcp_core::MAX_FRAGMENTS - 1) * mss).min(room)
        }
    }

    /// Reads received bytes into `buf`. In stream mode it fills `buf` with as much as has
    /// arrived in order; in message mode it returns one message, and a message larger
    /// than `buf` over several calls (the rest is kept). Empty messages are skipped, so
    /// `Ok(0)` means only that `buf` was empty. A read that reopens a full receive window
    /// makes a [`poll`](Session::poll) due at once, to tell the stalled peer.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.leftover_pos < self.leftover.len() {
            let rest = &self.leftover[self.leftover_pos..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.leftover_pos += n;
            return Ok(n);
        }
        // ikcp's "fast recover": a recv from a full receive queue announces the window.
        let was_full = self.kcp.rcv_queue_len() >= self.kcp.rcv_wnd() as usize;
        // Empty messages carry nothing; returning 0 for one would read as end of stream.
        let mut result = self.recv_one(buf);
        while result == Ok(0) {
            result = self.recv_one(buf);
        }
        // A byte stream has no message boundaries to keep: fill the buffer.
        if self.kcp.is_stream()
            && let Ok(mut n) = result
        {
            while n < buf.len()
                && self.leftover_pos >= self.leftover.len()
                && let Ok(m) = self.recv_one(&mut buf[n..])
            {
                n += m;
            }
            result = Ok(n);
        }
        if was_full && self.kcp.rcv_queue_len() < self.kcp.rcv_wnd() as usize {
            self.flush_wanted = true;
        }
        result
    }

    fn recv_one(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        match self.kcp.peek_size() {
            Ok(size) if size <= buf.len() => Ok(self.kcp.recv(buf).unwrap_or(0)),
            Ok(size) => {
                self.leftover.resize(size, 0);
                let n = self.kcp.recv(&mut self.leftover).unwrap_or(0);
                self.leftover.truncate(n);
                let k = n.min(buf.len());
                buf[..k].copy_from_slice(&self.leftover[..k]);
                self.leftover_pos = k;
                Ok(k)
            }
            Err(_) => Err(self.state.recv_error()),
        }
    }

    /// Whether an operation since the last [`poll`](Session::poll) made one due now.
    pub(crate) fn poll_due(&self) -> bool {
        self.flush_wanted
    }

    /// Whether [`recv`](Session::recv) would return data now.
    pub fn can_recv(&self) -> bool {
        self.leftover_pos < self.leftover.len() || self.kcp.peek_size().is_ok()
    }

    /// When [`poll`](Session::poll) should run next (absolute, same clock as `now`): at
    /// once if an operation made a flush due, else KCP's `check`, or the idle or linger
    /// deadline if earlier. With [`Config::rate_limit`](crate::Config::rate_limit), data
    /// waiting for the rate wakes the session when the rate lets it go.
    ///
    /// While KCP is idle (nothing queued, in flight or to acknowledge) only the idle
    /// deadline counts, so an idle session costs no wake-ups: `None` then means nothing
    /// is due until the next `input`, `send` or `recv`; ask again after each of those.
    /// Always `None` once ended.
    pub fn next_timeout(&self, now: u32) -> Option<u32> {
        let cfg = self.settings.config();
        let deadline = match self.state {
            State::Open => {
                let idle = cfg
                    .idle_timeout
                    .map(|t| self.last_recv.wrapping_add(millis(t)));
                match (idle, self.liveness.deadline()) {
                    (Some(i), Some(l)) => Some(keepalive::earlier(now, i, l)),
                    (i, l) => i.or(l),
                }
            }
            // Everything acknowledged: the close completes at once.
            State::Closing if self.kcp.wait_snd() == 0 => Some(now),
            State::Closing => Some(self.closing_since.wrapping_add(millis(cfg.linger))),
            State::Closed | State::Dead(_) | State::Replaced => return None,
        };
        if self.flush_wanted {
            return Some(now);
        }
        if self.kcp.is_idle() {
            return deadline;
        }
        let off = self.clock_offset;
        let mut kcp = self.kcp.check(self.kcp_now(now)).wrapping_sub(off);
        // ikcp's check says "now" for an overdue retransmission, but only a flush at the
        // flush timer sends it: wait for that timer rather than waking again and again.
        let ts_flush = self.kcp.ts_flush().wrapping_sub(off);
        let flush_in = ts_flush.wrapping_sub(now) as i32;
        if kcp == now && (1..10_000).contains(&flush_in) {
            kcp = ts_flush;
        }
        // Data waiting for the pacer's tokens makes `check` say "now": the tokens decide.
        if let Some(wake) = self.pacer.as_ref().and_then(|p| p.wake(now)) {
            kcp = pacer::earlier(now, kcp, wake);
        }
        Some(match deadline {
            Some(d) if (d.wrapping_sub(now) as i32) < (kcp.wrapping_sub(now) as i32) => d,
            _ => kcp,
        })
    }

    /// Transmits what is due at `now`: what `input`, `send`, `recv` and `close` made due
    /// since the last poll (in one flush), then KCP's flush timer (retransmissions,
    /// acknowledgements, window probes); and runs the idle timeout, dead-link detection
    /// and the end of a close. Each datagram goes to `transmit`, framed, in order. Cheap
    /// when nothing is due. Does nothing once the session has ended.
    pub fn poll(&mut self, now: u32, mut transmit: impl FnMut(&[u8])) {
        if self.state.is_ended() {
            return;
        }
        // Datagrams were sealed (and counted) when sent: they leave first.
        self.datagrams.transmit(&mut transmit);
        let mut flush = core::mem::take(&mut self.flush_wanted);
        self.begin(now);
        let kcp_now = self.kcp_now(now);
        let (reserved, tailroom) = (self.settings.header_len(), self.settings.trailer_len());
        let checking = self.proof.is_some();
        let mut pushed = false;
        if let (Some(c), Some(p)) = (&mut self.congestion, &mut self.pacer) {
            c.before_flush(now, &mut self.kcp);
            let limit = self.settings.config().rate_limit.unwrap_or(u32::MAX);
            p.set_rate(now, c.rate().min(limit));
        }
        if let Some(p) = &mut self.pacer {
            flush |= p.before_flush(now, &mut self.kcp);
        }
        if let Some(c) = &self.congestion {
            c.set_cap(&mut self.kcp);
        }
        let unanswered = match self.liveness.poll(now) {
            Due::Probe if self.state == State::Open => {
                self.kcp.request_window_probe();
                flush = true;
                false
            }
            Due::Dead => self.state == State::Open,
            _ => false,
        };
        let sent_before = self.counters.bytes_sent;
        let mut framer = Framer {
            settings: &self.settings,
            encoder: &mut self.encoder,
            rng: &mut self.rng,
            counters: &mut self.counters,
            proof: self.proof.as_mut(),
            now,
            transmit,
        };
        let mut output = |d: &mut [u8]| {
            if checking && !pushed {
                pushed = proof::carries_data(&d[reserved..d.len() - tailroom]);
            }
            framer.output(d);
        };
        if flush {
            self.kcp.flush(&mut output);
        }
        self.kcp.update(kcp_now, &mut output);
        // Every data segment of this poll is stamped with KCP's clock now.
        if pushed && let Some(proof) = &mut self.proof {
            proof.sent_at(kcp_now);
        }
        if let Some(p) = &mut self.pacer {
            p.after_flush(&self.kcp, self.counters.bytes_sent - sent_before);
        }
        if let Some(c) = &mut self.congestion {
            c.after_flush(now, &self.kcp);
        }
        let cfg = self.settings.config();
        let since = |t: u32| now.wrapping_sub(t) as i32;
        match self.state {
            State::Open => {
                if cfg
                    .idle_timeout
                    .is_some_and(|t| since(self.last_recv) >= millis(t) as i32)
                {
                    self.state = State::Dead(DeadReason::IdleTimeout);
                } else if unanswered {
                    self.state = State::Dead(DeadReason::Unanswered);
                } else if cfg.dead_link.is_some() && self.kcp.is_dead_link() {
                    self.state = State::Dead(DeadReason::DeadLink);
                }
            }
            State::Closing => {
                if self.kcp.wait_snd() == 0
                    || since(self.closing_since) >= millis(cfg.linger) as i32
                {
                    self.state = State::Closed;
                }
            }
            State::Closed | State::Dead(_) | State::Replaced => {}
        }
        self.end();
    }

    /// Asks the peer to show that it is there: a window probe (WASK) goes at the next
    /// [`poll`](Session::poll) and every 250 ms until the peer is heard (its window
    /// announcement, or anything that moves the conversation), which
    /// [`is_confirmed`](Session::is_confirmed) then reports. Nothing heard within
    /// `timeout` (saturating at 2^31 - 1 ms) ends the session with
    /// [`DeadReason::Unanswered`]. KCP has no handshake: this is the closest thing, and
    /// every ikcp, kcp-go or kcptun peer answers it without telling its application.
    /// Use it after dialing, to learn within `timeout` that the server is not there
    /// rather than at the idle timeout. Costs a 24-byte segment per 250 ms, both ways.
    /// Does nothing once the peer was heard.
    pub fn confirm(&mut self, now: u32, timeout: core::time::Duration) {
        if self.state == State::Open && !self.liveness.is_heard() {
            self.liveness.confirm(now, millis(timeout));
            self.flush_wanted = true;
        }
    }

    /// Whether the peer has been heard: it sent something that moved the conversation
    /// (data, an acknowledgement of new data) or answered a probe (see
    /// [`confirm`](Session::confirm)). A session whose peer spoke first is heard at once.
    pub fn is_confirmed(&self) -> bool {
        self.liveness.is_heard()
    }

    /// Makes the next [`poll`](Session::poll) flush at once what is queued: with
    /// [`Config::write_delay`](crate::Config::write_delay), written data otherwise waits
    /// for the flush interval.
    pub fn flush(&mut self) {
        if !self.state.is_ended() {
            self.flush_wanted = true;
        }
    }

    /// Closes the session: no more writes; what was written keeps being (re)transmitted
    /// until acknowledged or the linger time runs out, then the state becomes
    /// [`State::Closed`]. Poll to let it finish. KCP has no FIN: the peer is not told (as
    /// with kcp-go).
    pub fn close(&mut self, now: u32) {
        if self.state != State::Open {
            return;
        }
        self.closing_since = now;
        self.state = State::Closing;
        self.flush_wanted = true;
    }

    /// Ends the session at once: it sends nothing more. An endpoint does this when the
    /// peer's address starts a new conversation.
    pub(crate) fn replace(&mut self) {
        if !self.state.is_ended() {
            self.state = State::Replaced;
            self.flush_wanted = false;
        }
    }

    /// Brings KCP's clock to `now` before an operation. While KCP is idle the session
    /// runs no flush timer (see [`next_timeout`](Session::next_timeout)); the flushes it
    /// skipped would have sent nothing, and [`Kcp::advance_idle`] puts the timer back on
    /// the grid those flushes kept, so the datagrams are exactly those of ikcp updated
    /// every interval.
    fn begin(&mut self, now: u32) {
        let now = self.kcp_now(now);
        if self.kcp_idle {
            self.kcp.advance_idle(now);
        } else {
            self.kcp.set_current(now);
        }
    }

    /// Notes after an operation whether KCP is idle (see [`begin`](Session::begin)).
    fn end(&mut self) {
        self.kcp_idle = self.kcp.is_idle();
    }

    /// Adds what this session counted since the last call to `into` (an endpoint's
    /// totals): after every poll, and once when it ends.
    pub(crate) fn collect(&mut self, into: &mut Snmp) {
        let now = self.snmp();
        into.add_delta(&self.reported, &now);
        self.reported = now;
    }

    /// This session's counters in kcp-go's SNMP set.
    pub fn snmp(&self) -> Snmp {
        let mut s = self.counters;
        let k = self.shed_stats.unwrap_or_else(|| self.kcp.stats());
        s.in_segs = k.in_segs;
        s.out_segs = k.out_segs;
        s.out_bytes = k.out_bytes;
        s.retrans_segs = k.retransmits;
        s.fast_retrans_segs = k.fast_retransmits;
        s.early_retrans_segs = k.early_retransmits;
        s.lost_segs = k.lost_segs;
        s.repeat_segs = k.repeat_segs;
        if let Some(d) = &self.decoder {
            let f = d.stats();
            s.fec_parity_shards = f.parity_shards;
            s.fec_errs = f.errors;
            s.fec_recovered = f.recovered;
            s.fec_short_shards = f.short_shards;
            s.fec_full_shard_set = f.full_groups;
        }
        s
    }
}

fn new_decoder(shards: Shards) -> Decoder {
    Decoder::new(DecoderConfig::new(shards)).expect("valid shard counts give a valid decoder")
}
