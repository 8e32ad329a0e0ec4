//! The sans-io session: one KCP conversation with its FEC and cipher, fed datagrams and
//! clock ticks, drained of datagrams to send. No sockets, no runtime.

use core::fmt;

use kcp_core::Kcp;
use kcp_crypt::{NonceRng, OpenError, PacketCipher};
use kcp_fec::{Decoder, DecoderConfig, Encoder, EncoderConfig, PacketKind, Shards};
use rand_core::SeedableRng;

use crate::config::Settings;
use crate::snmp::Snmp;

/// Where a session stands. Only [`State::Open`] sessions accept writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Exchanging data.
    Open,
    /// Closed locally; still retransmitting what was written, for up to the linger time.
    Closing,
    /// Closed: everything written was acknowledged, or the linger time ran out.
    Closed,
    /// The peer is gone: nothing was received for the idle timeout, or a segment was
    /// transmitted the dead-link number of times unacknowledged.
    Dead(DeadReason),
}

/// Why a session was declared dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadReason {
    /// Nothing arrived from the peer for the configured idle timeout.
    IdleTimeout,
    /// A segment reached the dead-link transmission count without an acknowledgement.
    DeadLink,
}

/// Why [`Session::send`] took nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// The send window is full: wait for acknowledgements (drive the session) and retry.
    WouldBlock,
    /// A message-mode message needs more than 127 segments.
    TooLarge,
    /// The session was closed locally.
    Closed,
    /// The peer is gone (see [`DeadReason`]).
    Dead(DeadReason),
}

/// Why [`Session::recv`] returned no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing complete has arrived yet.
    WouldBlock,
    /// Closed locally, nothing buffered.
    Closed,
    /// The peer is gone and nothing buffered remains (see [`DeadReason`]).
    Dead(DeadReason),
}

/// Why [`Session::input`] dropped a datagram; each reason is also counted in
/// [`Session::snmp`]. Hostile or stray datagrams are expected on the Internet: log at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputError {
    /// The crypto layer rejected it (too short, bad CRC32, AEAD failure).
    Crypt(OpenError),
    /// Too short to carry an FEC header or a KCP segment.
    Truncated,
    /// The FEC layer rejected it.
    Fec(kcp_fec::DecodeError),
    /// KCP rejected it (another conversation, bad length, unknown command).
    Kcp(kcp_core::InputError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::WouldBlock => f.write_str("send window full"),
            SendError::TooLarge => f.write_str("message needs more than 127 segments"),
            SendError::Closed => f.write_str("session closed"),
            SendError::Dead(r) => write!(f, "peer gone: {r}"),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::WouldBlock => f.write_str("nothing received yet"),
            RecvError::Closed => f.write_str("session closed"),
            RecvError::Dead(r) => write!(f, "peer gone: {r}"),
        }
    }
}

impl fmt::Display for DeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadReason::IdleTimeout => f.write_str("nothing received within the idle timeout"),
            DeadReason::DeadLink => f.write_str("retransmissions unacknowledged (dead link)"),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Crypt(e) => write!(f, "crypto: {e}"),
            InputError::Truncated => f.write_str("datagram too short"),
            InputError::Fec(e) => write!(f, "fec: {e}"),
            InputError::Kcp(e) => write!(f, "kcp: {e}"),
        }
    }
}

impl std::error::Error for SendError {}
impl std::error::Error for RecvError {}
impl std::error::Error for InputError {}

/// The conversation id and sequence number a decrypted payload carries, found the way
/// kcp-go's listener finds them: a raw KCP frame has them at offsets 0 and 12; an FEC data
/// packet of at least 8 + 24 bytes at 8 and 20; parity packets carry none.
pub fn conv_and_sn(payload: &[u8]) -> Option<(u32, u32)> {
    let at = |i: usize| {
        payload
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let base = match kcp_fec::classify(payload) {
        PacketKind::Data if payload.len() >= kcp_fec::DATA_HEADER_LEN + kcp_core::OVERHEAD => {
            kcp_fec::DATA_HEADER_LEN
        }
        PacketKind::Data | PacketKind::Parity => return None,
        _ if payload.len() >= kcp_core::OVERHEAD => 0,
        _ => return None,
    };
    Some((at(base)?, at(base + 12)?))
}

/// One KCP conversation with kcp-go's framing: FEC and cipher applied in place in the
/// headroom KCP reserves, so a datagram's payload is never copied between layers.
///
/// It owns no socket and reads no clock. The caller (a game loop, a custom event loop or
/// this crate's tokio driver) feeds it:
/// - [`input`](Session::input) with every datagram from the peer (decrypted in place);
/// - [`handle_timeout`](Session::handle_timeout) when [`next_timeout`](Session::next_timeout)
///   comes;
/// - [`send`](Session::send) and [`recv`](Session::recv) for application data;
///
/// and each of these hands the datagrams to transmit to a `transmit` callback, in order.
/// Time is a `u32` millisecond clock of the caller's choosing that never goes backwards.
pub struct Session {
    kcp: Kcp,
    settings: Settings,
    encoder: Option<Encoder>,
    decoder: Option<Decoder>,
    rng: NonceRng,
    state: State,
    /// When the last valid datagram arrived.
    last_recv: u32,
    /// When `close` was called.
    closing_since: u32,
    /// Part of a message that did not fit the caller's buffer, and how much was read.
    leftover: Vec<u8>,
    leftover_pos: usize,
    /// Counters this layer keeps; KCP's and FEC's are merged in by `snmp`.
    counters: Snmp,
    /// A `recv` reopened a receive window that was full: the peer, stalled on a zero
    /// window, should hear of it now rather than at the next flush interval.
    window_reopened: bool,
    /// KCP was idle when the last operation ended, so the flush timer was skipped since
    /// (see `begin`).
    kcp_idle: bool,
    /// What was last added to the process-wide counters.
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

/// Transmits datagrams for the session's output: FEC, then the cipher, in place.
struct Framer<'a, T> {
    settings: &'a Settings,
    encoder: &'a mut Option<Encoder>,
    rng: &'a mut NonceRng,
    counters: &'a mut Snmp,
    now: u32,
    transmit: T,
}

impl<T: FnMut(&[u8])> Framer<'_, T> {
    /// `datagram` is crypto header, FEC header (if on), the KCP frame, then the trailer.
    fn output(&mut self, datagram: &mut [u8]) {
        let crypt = self.settings.crypt();
        let trailer = crypt.trailer_len();
        let payload_len = datagram.len() - crypt.header_len() - trailer;
        let mut group_done = false;
        if let Some(encoder) = self.encoder.as_mut() {
            let data = &mut datagram[..crypt.header_len() + payload_len];
            // The KCP frame always fits: the MTU given to KCP leaves room for the headers.
            group_done = encoder.encode_data(data, self.now).unwrap_or(false);
        }
        self.seal_and_send(datagram, payload_len);
        if group_done && let Some(encoder) = self.encoder.as_mut() {
            let (settings, rng, counters, transmit) = (
                self.settings,
                &mut *self.rng,
                &mut *self.counters,
                &mut self.transmit,
            );
            encoder.flush_parity(|mut parity| {
                let len = parity.datagram_len();
                let crypt = settings.crypt();
                let buf = parity.with_tailroom();
                if let Ok(n) = crypt.seal(buf, len - crypt.header_len(), rng) {
                    counters.out_pkts += 1;
                    counters.bytes_sent += n as u64;
                    transmit(&buf[..n]);
                }
            });
        }
    }

    fn seal_and_send(&mut self, datagram: &mut [u8], payload_len: usize) {
        // `datagram` was sized by KCP with exactly the header and trailer room `seal` needs.
        if let Ok(n) = self.settings.crypt().seal(datagram, payload_len, self.rng) {
            self.counters.out_pkts += 1;
            self.counters.bytes_sent += n as u64;
            (self.transmit)(&datagram[..n]);
        }
    }
}

impl Session {
    /// Creates the session of conversation `conv` at time `now`. Dialing picks a random
    /// `conv`; a listener takes it from the first datagram. `seed` seeds the nonce
    /// generator: take it from the OS (see [`Session::os_seed`]) unless you are testing.
    pub fn new(conv: u32, settings: &Settings, now: u32, seed: [u8; 32]) -> Session {
        let cfg = settings.config();
        let mut kcp = Kcp::new(conv);
        kcp.set_mtu(settings.kcp_mtu())
            .expect("Config::build checked the MTU");
        kcp.set_reserved(settings.header_len());
        kcp.set_tailroom(settings.trailer_len());
        kcp.set_window_size(cfg.snd_wnd, cfg.rcv_wnd)
            .expect("Config::build checked the windows");
        let (nodelay, interval, resend, nc) = cfg.mode.knobs();
        kcp.set_nodelay(nodelay, interval, resend, nc);
        kcp.set_stream(cfg.stream);
        kcp.set_dead_link(cfg.dead_link.unwrap_or(u32::MAX));
        kcp.set_window_recovery(cfg.window_recovery);
        kcp.set_linear_backoff(cfg.linear_backoff);
        // The first update starts the flush timer; nothing is queued yet, so nothing goes out.
        kcp.update(now, |_: &mut [u8]| {});

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
            rng: NonceRng::from_seed(seed),
            state: State::Open,
            last_recv: now,
            closing_since: now,
            leftover: Vec::new(),
            leftover_pos: 0,
            counters: Snmp::default(),
            window_reopened: false,
            kcp_idle: true,
            reported: Snmp::default(),
        }
    }

    /// 32 bytes from the operating system, to seed a session's nonce generator.
    pub fn os_seed() -> [u8; 32] {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        seed
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

    /// Feeds one datagram from the peer, decrypting it in place, and transmits what it
    /// triggers (acknowledgements with ack-no-delay; new data when the window opened).
    /// A rejected datagram changes nothing but a counter.
    pub fn input(
        &mut self,
        now: u32,
        datagram: &mut [u8],
        transmit: impl FnMut(&[u8]),
    ) -> Result<(), InputError> {
        self.counters.bytes_received += datagram.len() as u64;
        let range = match self.settings.crypt().open(datagram) {
            Ok(r) => r,
            Err(e) => {
                self.counters.in_csum_errors += 1;
                return Err(InputError::Crypt(e));
            }
        };
        self.input_payload(now, &datagram[range], transmit)
    }

    /// Counts `bytes` received from the socket for a datagram whose crypto layer the
    /// caller removed itself before [`input_payload`](Session::input_payload) (the
    /// listener does, to find the conversation id).
    pub(crate) fn count_received(&mut self, bytes: usize) {
        self.counters.bytes_received += bytes as u64;
    }

    /// Feeds a payload already stripped of its crypto layer (a listener decrypts first to
    /// learn the conversation id). See [`input`](Session::input).
    pub fn input_payload(
        &mut self,
        now: u32,
        payload: &[u8],
        transmit: impl FnMut(&[u8]),
    ) -> Result<(), InputError> {
        self.counters.in_pkts += 1;
        self.counters.in_bytes += payload.len() as u64;
        let una = self.kcp.snd_una();
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
        if result.is_ok() {
            self.last_recv = now;
        }
        // Flush right away when the window moved (new data may go out) or acks are wanted.
        let cfg = self.settings.config();
        if self.kcp.snd_una() != una || (cfg.ack_nodelay && self.kcp.ack_pending() > 0) {
            self.flush(now, transmit);
        }
        self.end();
        result
    }

    fn input_fec(&mut self, now: u32, payload: &[u8]) -> Result<(), InputError> {
        if payload.len() < kcp_fec::DATA_HEADER_LEN {
            self.counters.in_errs += 1;
            return Err(InputError::Truncated);
        }
        // Like kcp-go, accept FEC from a peer even when we send without it: start at 1/1
        // and let the decoder tune itself to the peer's shard counts.
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

    /// Queues application data and, unless write delay is on, transmits at once.
    ///
    /// Nothing is taken ([`SendError::WouldBlock`]) while [`Kcp::wait_snd`] is at the send
    /// window: that is the back-pressure. In stream mode it takes as many bytes as the
    /// free part of the send window holds (at least one segment's worth) and returns how
    /// many, so one huge write cannot queue without bound; call again with the rest. In
    /// message mode `data` is one message (at most 127 segments), taken whole.
    pub fn send(
        &mut self,
        now: u32,
        data: &[u8],
        transmit: impl FnMut(&[u8]),
    ) -> Result<usize, SendError> {
        match self.state {
            State::Open => {}
            State::Closing | State::Closed => return Err(SendError::Closed),
            State::Dead(r) => return Err(SendError::Dead(r)),
        }
        if !self.can_send() {
            return Err(SendError::WouldBlock);
        }
        self.begin(now);
        let taken = if self.kcp.is_stream() {
            let mss = self.kcp.mss();
            let free = self.kcp.snd_wnd() as usize - self.kcp.wait_snd();
            let data = &data[..data.len().min(free.max(1) * mss)];
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
            self.flush(now, transmit);
        }
        self.end();
        Ok(taken)
    }

    /// Whether [`send`](Session::send) would accept data now.
    pub fn can_send(&self) -> bool {
        self.state == State::Open && self.kcp.wait_snd() < self.kcp.snd_wnd() as usize
    }

    /// Reads received bytes into `buf`. In stream mode it fills `buf` with as much as has
    /// arrived in order; in message mode it returns one message, and a message larger
    /// than `buf` over several calls (the rest is kept). Empty messages are skipped, so
    /// `Ok(0)` means only that `buf` was empty.
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
        let mut result = self.recv_message(buf);
        while result == Ok(0) {
            result = self.recv_message(buf);
        }
        // A byte stream has no message boundaries to keep: fill the buffer.
        if self.kcp.is_stream()
            && let Ok(mut n) = result
        {
            while n < buf.len()
                && self.leftover_pos >= self.leftover.len()
                && let Ok(m) = self.recv_message(&mut buf[n..])
            {
                n += m;
            }
            result = Ok(n);
        }
        if was_full && self.kcp.rcv_queue_len() < self.kcp.rcv_wnd() as usize {
            self.window_reopened = true;
        }
        result
    }

    fn recv_message(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
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
            Err(_) => Err(match self.state {
                State::Open | State::Closing => RecvError::WouldBlock,
                State::Closed => RecvError::Closed,
                State::Dead(r) => RecvError::Dead(r),
            }),
        }
    }

    /// Whether a [`recv`](Session::recv) reopened a receive window that was full, so a
    /// flush now would tell the stalled peer at once ([`next_timeout`](Session::next_timeout)
    /// is then due immediately; [`flush`](Session::flush) clears it).
    pub fn window_reopened(&self) -> bool {
        self.window_reopened
    }

    /// Whether [`recv`](Session::recv) would return data now.
    pub fn can_recv(&self) -> bool {
        self.leftover_pos < self.leftover.len() || self.kcp.peek_size().is_ok()
    }

    /// When [`handle_timeout`](Session::handle_timeout) should run next (absolute, same
    /// clock as `now`): KCP's `check`, or the idle or linger deadline if earlier.
    ///
    /// While KCP is idle (nothing queued, in flight or to acknowledge) only the idle
    /// deadline counts, so an idle session costs no wake-ups: `None` then means nothing
    /// is due until the next `input`, `send` or `recv`; ask again after each of those.
    /// Always `None` once closed or dead.
    pub fn next_timeout(&self, now: u32) -> Option<u32> {
        let cfg = self.settings.config();
        let deadline = match self.state {
            State::Open => cfg
                .idle_timeout
                .map(|t| self.last_recv.wrapping_add(millis(t))),
            // Everything acknowledged: the close completes at once.
            State::Closing if self.kcp.wait_snd() == 0 => Some(now),
            State::Closing => Some(self.closing_since.wrapping_add(millis(cfg.linger))),
            State::Closed | State::Dead(_) => return None,
        };
        if self.window_reopened {
            return Some(now);
        }
        if self.kcp.is_idle() {
            return deadline;
        }
        let kcp = self.kcp.check(now);
        Some(match deadline {
            Some(d) if (d.wrapping_sub(now) as i32) < (kcp.wrapping_sub(now) as i32) => d,
            _ => kcp,
        })
    }

    /// Runs the timers at `now`: KCP's flush timer (retransmissions, acks, probes), the
    /// idle timeout and dead-link detection, and the end of a close.
    pub fn handle_timeout(&mut self, now: u32, transmit: impl FnMut(&[u8])) {
        if matches!(self.state, State::Closed | State::Dead(_)) {
            return;
        }
        let reopened = core::mem::take(&mut self.window_reopened);
        self.begin(now);
        self.framed(now, transmit, |kcp, output| {
            if reopened {
                kcp.flush(&mut *output);
            }
            kcp.update(now, output);
        });
        self.end();
        let cfg = self.settings.config();
        let since = |t: u32| now.wrapping_sub(t) as i32;
        match self.state {
            State::Open => {
                if cfg
                    .idle_timeout
                    .is_some_and(|t| since(self.last_recv) >= millis(t) as i32)
                {
                    self.state = State::Dead(DeadReason::IdleTimeout);
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
            State::Closed | State::Dead(_) => {}
        }
        self.report_global();
    }

    /// Adds what this session did since the last report to [`snmp::global`](crate::snmp::global).
    /// Runs on every [`handle_timeout`](Session::handle_timeout) and when the session is
    /// dropped, so the process-wide counters lag by at most one flush interval.
    fn report_global(&mut self) {
        let now = self.snmp();
        crate::snmp::global_counters().add_delta(&self.reported, &now);
        self.reported = now;
    }

    /// Flushes KCP now: pending acknowledgements, new data the windows allow, due
    /// retransmissions.
    pub fn flush(&mut self, now: u32, transmit: impl FnMut(&[u8])) {
        self.window_reopened = false;
        self.begin(now);
        self.framed(now, transmit, |kcp, output| kcp.flush(output));
        self.end();
    }

    /// Brings KCP's clock to `now` before an operation. While KCP is idle the session
    /// runs no flush timer (see [`next_timeout`](Session::next_timeout)); the flushes it
    /// skipped would have sent nothing, and [`Kcp::advance_idle`] puts the timer back on
    /// the grid those flushes kept, so the datagrams are exactly those of ikcp updated
    /// every interval.
    fn begin(&mut self, now: u32) {
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

    /// Runs `run` with KCP and an output function that frames each datagram (FEC, then
    /// the cipher, in place) and hands it to `transmit`.
    fn framed(
        &mut self,
        now: u32,
        transmit: impl FnMut(&[u8]),
        run: impl FnOnce(&mut Kcp, &mut dyn FnMut(&mut [u8])),
    ) {
        let mut framer = Framer {
            settings: &self.settings,
            encoder: &mut self.encoder,
            rng: &mut self.rng,
            counters: &mut self.counters,
            now,
            transmit,
        };
        run(&mut self.kcp, &mut |d| framer.output(d));
    }

    /// Sends the acknowledgements waiting for the next flush, if any (with a full flush,
    /// as ikcp has no ack-only one). Call it after feeding a burst of datagrams to
    /// acknowledge them together: the peer's window opens one flush interval sooner.
    pub fn flush_acks(&mut self, now: u32, transmit: impl FnMut(&[u8])) {
        if self.kcp.ack_pending() > 0 && matches!(self.state, State::Open | State::Closing) {
            self.flush(now, transmit);
        }
    }

    /// Closes the session: no more writes; what was written keeps being (re)transmitted
    /// until acknowledged or the linger time runs out, then the state becomes
    /// [`State::Closed`]. KCP has no FIN: the peer is not told (as with kcp-go).
    pub fn close(&mut self, now: u32, transmit: impl FnMut(&[u8])) {
        if self.state != State::Open {
            return;
        }
        self.flush(now, transmit);
        self.closing_since = now;
        self.state = if self.kcp.wait_snd() == 0 {
            State::Closed
        } else {
            State::Closing
        };
    }

    /// This session's counters in kcp-go's SNMP set.
    pub fn snmp(&self) -> Snmp {
        let mut s = self.counters;
        let k = self.kcp.stats();
        s.in_segs = k.in_segs;
        s.out_segs = k.out_segs;
        s.out_bytes = k.out_bytes;
        s.retrans_segs = k.retransmits;
        s.fast_retrans_segs = k.fast_retransmits;
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

impl Drop for Session {
    fn drop(&mut self) {
        self.report_global();
    }
}

fn new_decoder(shards: Shards) -> Decoder {
    Decoder::new(DecoderConfig::new(shards)).expect("valid shard counts give a valid decoder")
}

fn millis(d: core::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX / 4)
}
