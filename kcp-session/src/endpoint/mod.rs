//! The sans-io endpoint: every session on one UDP socket, kcp-go 5.6.1's listener rules,
//! one deadline queue, and the datagrams to send. No sockets, no runtime.

mod messages;
mod progress;
mod replay;
mod roaming;
mod transmit;

use alloc::collections::{BTreeMap, BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use kcp_crypt::{NonceRng, PacketCipher};
use rand_core::{RngCore, SeedableRng};

use crate::config::{MTU_LIMIT, Settings, millis};
use crate::session::{InputError, RecvError, SendError, Session, conv_and_sn};
use crate::snmp::Snmp;

use replay::ReplayCache;
pub use transmit::{Transmit, TransmitQueue};

/// Names one session of an [`Endpoint`]. Handles of freed sessions are never reused for
/// another session: operations on them report the session as closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    index: u32,
    generation: u32,
}

impl Handle {
    /// A number unique among the sessions an endpoint holds at one time (a slot index),
    /// for indexing per-session data of your own.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// What [`Endpoint::handle`] did with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramEvent {
    /// It opened a new session, which waits for [`Endpoint::accept`].
    Incoming(Handle),
    /// It went to this session.
    Session(Handle),
    /// It was dropped, and counted in [`Endpoint::stats`].
    Dropped(DropReason),
}

/// Why an [`Endpoint`] dropped a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Longer than [`MTU_LIMIT`]: dropped before any work.
    Oversized,
    /// It failed the CRC32 or AEAD check (noise, or another key).
    Crypt,
    /// From an unknown address but carrying no conversation id (an FEC parity packet, or
    /// too short).
    NoConversation,
    /// From an unknown address, and the endpoint is not listening.
    NotListening,
    /// [`Config::accept_backlog`](crate::Config::accept_backlog) sessions already wait.
    BacklogFull,
    /// [`Config::max_sessions`](crate::Config::max_sessions) sessions are open.
    SessionLimit,
    /// From a known address with another conversation id whose sequence number is not 0
    /// (kcp-go replaces a session only when its peer restarts at 0).
    ConversationMismatch,
    /// Its conversation opened a session within
    /// [`Config::replay_window`](crate::Config::replay_window): a replay.
    Replayed,
    /// [`Config::max_sessions_per_ip`](crate::Config::max_sessions_per_ip) sessions are
    /// open for that IP address.
    AddressLimit,
    /// The sessions hold [`Config::memory_budget`](crate::Config::memory_budget) bytes.
    MemoryBudget,
    /// The session rejected it (see [`InputError`]).
    Invalid(InputError),
}

/// Something the application may want to act on; see [`Endpoint::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A peer opened a session: it waits for [`Endpoint::accept`].
    Incoming(Handle),
    /// Input or timers changed what the application can do with the session: data
    /// arrived in order (read it), acknowledgements freed send window or acknowledged
    /// everything written (write more), or the peer answered a
    /// [`confirm`](Endpoint::confirm). Nothing is reported when nothing changed (a
    /// retransmission, a replayed datagram, a window probe), and one event stands for
    /// every change until [`poll_event`](Endpoint::poll_event) hands it out.
    Progress(Handle),
    /// The session ended (see [`Session::state`]): closed, dead or replaced.
    Ended(Handle),
}

/// Counts of what an [`Endpoint`] did, for logs and tests. The sessions' own counters are
/// in [`Session::snmp`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// Datagrams given to [`Endpoint::handle`].
    pub datagrams: u64,
    /// Dropped for being longer than [`MTU_LIMIT`].
    pub oversized: u64,
    /// Dropped by the CRC32 or AEAD check.
    pub crypt_errors: u64,
    /// Dropped by the listener rules: no conversation id, not listening, backlog full,
    /// session limit, or a conversation change with a sequence number other than 0.
    pub refused: u64,
    /// Dropped by the session they were for (see [`DropReason::Invalid`]).
    pub invalid: u64,
    /// Sessions opened by peers.
    pub accepted: u64,
    /// Sessions replaced by a new conversation from the same address.
    pub replaced: u64,
    /// Sessions opened with [`Endpoint::connect`].
    pub connected: u64,
    /// Datagrams dropped as replays (counted in `refused` too).
    pub replays: u64,
    /// Sessions ended for the memory budget.
    pub shed: u64,
    /// Challenges sent to a new address of a session's peer (see
    /// [`Config::roaming`](crate::Config::roaming)).
    pub challenges: u64,
    /// Sessions that followed their peer to a new address after it answered a challenge.
    pub roamed: u64,
}

/// [`Endpoint::connect_with_conv`] found a session for that address already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressInUse;

impl fmt::Display for AddressInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session for this address exists already")
    }
}

impl core::error::Error for AddressInUse {}

/// One session and its bookkeeping.
#[derive(Debug)]
struct Entry {
    session: Session,
    remote: SocketAddr,
    /// Opened by a peer (listener rules apply to its address), not by `connect`.
    passive: bool,
    /// The live deadline in the heap, if any (older entries are stale).
    scheduled: Option<u64>,
    /// Waits in `dirty` for its next poll.
    dirty: bool,
    /// A `Progress` event for it waits in `events`.
    progress_pending: bool,
    /// Ended and accounted for (`note_ended` ran).
    finished: bool,
    /// The application will not use the handle again: free it once the session ends.
    released: bool,
    /// What the session held at its last poll ([`Session::buffered_bytes`]).
    held: usize,
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// Extends the caller's wrapping `u32` millisecond clock to a `u64` that never wraps, so
/// deadlines order correctly in one heap.
#[derive(Debug, Default)]
struct Clock {
    last: Option<u32>,
    now: u64,
}

impl Clock {
    fn extend(&mut self, now: u32) -> u64 {
        if let Some(last) = self.last {
            let ahead = now.wrapping_sub(last) as i32;
            if ahead <= 0 {
                return self.now; // time stood still or went back a little: keep ours
            }
            self.now += ahead as u64;
        }
        self.last = Some(now);
        self.now
    }

    /// A session deadline (on the `u32` clock) on the extended clock; past ones are now.
    fn deadline(&self, t: u32) -> u64 {
        let last = self.last.unwrap_or(t);
        self.now + (t.wrapping_sub(last) as i32).max(0) as u64
    }

    /// An extended time back on the `u32` clock.
    fn wrap(&self, t: u64) -> u32 {
        self.last
            .unwrap_or(0)
            .wrapping_add(t.wrapping_sub(self.now) as u32)
    }
}

/// Every KCP session on one UDP socket, with kcp-go 5.6.1's listener rules, one deadline
/// queue over all of them, and the datagrams they want sent. Sans-io: you own the socket,
/// the clock and the loop; [`KcpListener`](crate::KcpListener) and
/// [`KcpStream`](crate::KcpStream) are a thin tokio driver over it.
///
/// Drive it like this (see the crate docs for a complete loop over a
/// `std::net::UdpSocket`):
///
/// - give every received datagram to [`handle`](Endpoint::handle), with its source;
/// - call [`handle_timeout`](Endpoint::handle_timeout) when
///   [`poll_timeout`](Endpoint::poll_timeout) comes;
/// - send what [`poll_transmit`](Endpoint::poll_transmit) hands out, after each of the
///   above and after your own [`send`](Endpoint::send), [`recv`](Endpoint::recv) and
///   [`close`](Endpoint::close) calls (the acknowledgements of a burst of datagrams go
///   out together this way);
/// - take new sessions with [`accept`](Endpoint::accept) and act on
///   [`poll_event`](Endpoint::poll_event).
///
/// Time is a `u32` millisecond clock of your choosing that never goes backwards (it may
/// wrap). Sessions are found by the sender's address, as kcp-go does: from an unknown
/// address, a datagram that decrypts and carries a conversation id opens a session while
/// [`listen`](Endpoint::listen)ing, up to [`Config::accept_backlog`] waiting and
/// [`Config::max_sessions`] open; from a known address, a datagram with another
/// conversation id replaces the session only if its sequence number is 0 (the peer
/// restarted). Everything else is dropped and counted, before any session sees it.
///
/// Beyond kcp-go, a listening endpoint is safe to expose (see `docs/security.md`): a
/// session sends an address that has not proven it receives there at most
/// [`Config::amplification_limit`] times what it received; a conversation id that opened
/// a session lately opens or replaces nothing ([`Config::replay_window`]); and
/// [`Config::max_sessions_per_ip`] and [`Config::memory_budget`] bound what peers can make
/// it hold.
///
/// An idle session keeps only its idle-timeout deadline in the timer queue, not KCP's
/// flush interval, so a hundred thousand of them cost nothing between datagrams.
///
/// [`Config::accept_backlog`]: crate::Config::accept_backlog
/// [`Config::max_sessions`]: crate::Config::max_sessions
/// [`Config::amplification_limit`]: crate::Config::amplification_limit
/// [`Config::replay_window`]: crate::Config::replay_window
/// [`Config::max_sessions_per_ip`]: crate::Config::max_sessions_per_ip
/// [`Config::memory_budget`]: crate::Config::memory_budget
#[derive(Debug)]
pub struct Endpoint {
    settings: Settings,
    listening: bool,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_addr: BTreeMap<SocketAddr, Handle>,
    accept_queue: VecDeque<Handle>,
    timers: BinaryHeap<Reverse<(u64, Handle)>>,
    /// Heap length after the last compaction.
    compacted_len: usize,
    dirty: Vec<Handle>,
    events: VecDeque<Event>,
    out: TransmitQueue,
    clock: Clock,
    /// Seeds each session's nonce generator and clock offset, and picks dialed conversation
    /// ids.
    rng: NonceRng,
    /// Sessions not yet ended.
    open: usize,
    /// Conversation ids of sessions that ended lately or opened lately.
    replay: ReplayCache,
    /// Conversation ids of the sessions peers opened that have not ended (with a count:
    /// peers at different addresses may pick the same id).
    live_convs: BTreeMap<u32, u32>,
    /// Sessions peers opened and that have not ended, per IP address.
    per_ip: BTreeMap<IpAddr, usize>,
    /// The sum of `Entry::held` over the sessions held.
    held: usize,
    /// `held` after the last pass of `shed` that found nothing to shed (0 after one
    /// that did): the next pass waits until the sessions grew by a sixteenth of the
    /// budget, so that proven sessions over the budget do not cost a pass per datagram.
    shed_floor: usize,
    stats: EndpointStats,
    /// Sessions by conversation id and their peers' unproven new addresses, with
    /// [`Config::roaming`](crate::Config::roaming).
    roaming: roaming::Roaming,
    /// This endpoint's SNMP counters (see [`snmp`](Endpoint::snmp)).
    totals: Snmp,
}

impl Endpoint {
    /// An endpoint whose sessions run with `settings`, not listening (see
    /// [`listen`](Endpoint::listen)), grouping no datagrams (see
    /// [`set_max_segments`](Endpoint::set_max_segments)). `seed` is 32 bytes from a
    /// cryptographic random source (the tokio front takes them from the operating
    /// system): the sessions' nonces, the secret clock offsets that prove a peer's
    /// address (see [`Config::amplification_limit`](crate::Config::amplification_limit))
    /// and dialed conversation ids derive from it. Fixed bytes make tests reproducible.
    pub fn new(settings: &Settings, seed: [u8; 32]) -> Endpoint {
        Endpoint {
            settings: settings.clone(),
            listening: false,
            slots: Vec::new(),
            free: Vec::new(),
            by_addr: BTreeMap::new(),
            accept_queue: VecDeque::new(),
            timers: BinaryHeap::new(),
            compacted_len: 0,
            dirty: Vec::new(),
            events: VecDeque::new(),
            out: TransmitQueue::new(1),
            clock: Clock::default(),
            rng: NonceRng::from_seed(seed),
            open: 0,
            replay: ReplayCache::default(),
            live_convs: BTreeMap::new(),
            per_ip: BTreeMap::new(),
            held: 0,
            shed_floor: 0,
            stats: EndpointStats::default(),
            roaming: roaming::Roaming::default(),
            totals: Snmp::default(),
        }
    }

    /// Starts (or stops) opening sessions for datagrams from unknown addresses, as a
    /// kcp-go listener does. Sessions already open are not affected by stopping.
    pub fn listen(&mut self, on: bool) {
        self.listening = on;
    }

    /// Whether the endpoint opens sessions for new peers.
    pub fn is_listening(&self) -> bool {
        self.listening
    }

    /// The settings every session of this endpoint runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Lets [`poll_transmit`](Endpoint::poll_transmit) group up to `n` equal-sized
    /// datagrams for one destination into one [`Transmit`], for sockets with segmentation
    /// offload (`quinn-udp`'s `max_gso_segments`). 1, the default, hands out one datagram
    /// at a time.
    pub fn set_max_segments(&mut self, n: usize) {
        self.out.set_max_segments(n);
    }

    /// What the endpoint did so far.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// This endpoint's counters in kcp-go's SNMP set: every session's counters summed
    /// (ended and freed ones included), the datagrams no session took (`in_errs`,
    /// `in_csum_errors`, `bytes_received`), and the connection gauges (`curr_estab`,
    /// `max_conn`, `active_opens`, `passive_opens`). Its own: another endpoint in the
    /// process never adds to it (the tokio front sums its sockets' into
    /// [`snmp::global`](crate::snmp::global)). Current up to each session's last poll;
    /// costs a copy.
    pub fn snmp(&self) -> Snmp {
        self.totals
    }

    /// Counts a session opened.
    fn opened(&mut self, passive: bool) {
        let t = &mut self.totals;
        t.curr_estab += 1;
        t.max_conn = t.max_conn.max(t.curr_estab);
        if passive {
            t.passive_opens += 1;
        } else {
            t.active_opens += 1;
        }
    }

    /// Counts a datagram no session took.
    fn unclaimed(&mut self, len: usize, csum: bool) {
        self.totals.bytes_received += len as u64;
        if csum {
            self.totals.in_csum_errors += 1;
        } else {
            self.totals.in_errs += 1;
        }
    }

    /// Sessions held: open, ending, or ended but not yet [`release`](Endpoint::release)d.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether the endpoint holds no session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens a session to `remote` with a random conversation id (kcp-go's dialer), drawn
    /// from the endpoint's seed. KCP has no handshake: the session is live at once, and
    /// an unreachable peer shows up later as the idle timeout. Fails if a session for
    /// that address exists: sessions are found by address.
    pub fn connect(&mut self, now: u32, remote: SocketAddr) -> Result<Handle, AddressInUse> {
        let conv = self.rng.next_u32();
        self.connect_with_conv(now, remote, conv)
    }

    /// Opens a session to `remote` with conversation id `conv` (kcp-go's `NewConn3`).
    /// Fails if a session for that address exists: sessions are found by address.
    pub fn connect_with_conv(
        &mut self,
        now: u32,
        remote: SocketAddr,
        conv: u32,
    ) -> Result<Handle, AddressInUse> {
        let in_use = if self.settings.config().roaming {
            self.roaming.by_conv.contains_key(&conv)
        } else {
            self.by_addr.contains_key(&remote)
        };
        if in_use {
            return Err(AddressInUse);
        }
        let h = self.insert(now, remote, conv, false);
        self.stats.connected += 1;
        self.opened(false);
        Ok(h)
    }

    /// Takes one datagram received from `remote`, decrypting it in place, and routes it
    /// by kcp-go's rules (see the type's docs). What it makes due goes out at the next
    /// [`poll_transmit`](Endpoint::poll_transmit).
    pub fn handle(&mut self, now: u32, remote: SocketAddr, datagram: &mut [u8]) -> DatagramEvent {
        self.clock.extend(now);
        self.stats.datagrams += 1;
        let len = datagram.len();
        if len > MTU_LIMIT {
            self.stats.oversized += 1;
            self.unclaimed(len, false);
            return DatagramEvent::Dropped(DropReason::Oversized);
        }
        let Ok(range) = self.settings.crypt().open(datagram) else {
            self.stats.crypt_errors += 1;
            self.unclaimed(len, true);
            return DatagramEvent::Dropped(DropReason::Crypt);
        };
        let payload = &datagram[range];
        let (h, incoming) = match self.route(now, remote, payload) {
            Ok(routed) => routed,
            Err(reason) => {
                self.stats.refused += 1;
                if reason == DropReason::Replayed {
                    self.stats.replays += 1;
                }
                self.unclaimed(len, false);
                return DatagramEvent::Dropped(reason);
            }
        };
        let entry = self.entry_mut(h).expect("routed to a live session");
        let before = progress::mark(&entry.session);
        let result = if entry.remote == remote {
            entry.session.input_opened(now, len, payload)
        } else {
            // Roaming: its conversation, from another address.
            self.input_elsewhere(now, h, remote, len, payload)
        };
        self.mark_dirty(h);
        if self
            .entry(h)
            .is_some_and(|e| progress::mark(&e.session) != before)
        {
            self.touch_progress(h);
        }
        match result {
            Err(e) => {
                self.stats.invalid += 1;
                DatagramEvent::Dropped(DropReason::Invalid(e))
            }
            Ok(()) if incoming => DatagramEvent::Incoming(h),
            Ok(()) => DatagramEvent::Session(h),
        }
    }

    /// Finds the session for a payload from `remote` by the listener rules, opening or
    /// replacing one if they say so; whether it is new.
    fn route(
        &mut self,
        now: u32,
        remote: SocketAddr,
        payload: &[u8],
    ) -> Result<(Handle, bool), DropReason> {
        if self.settings.config().roaming {
            return self.route_roaming(now, remote, payload);
        }
        let ids = conv_and_sn(payload);
        if let Some(&h) = self.by_addr.get(&remote) {
            let entry = self.entry(h).expect("mapped sessions are live");
            let (passive, known) = (entry.passive, entry.session.conv());
            return match ids {
                Some((conv, sn)) if passive && conv != known => {
                    if sn != 0 {
                        return Err(DropReason::ConversationMismatch);
                    }
                    // The peer restarted: its old session ends, a new one takes its place.
                    // Unless that conversation was seen lately: a recorded first datagram
                    // replayed to kill the live session.
                    self.check_replay(conv)?;
                    self.admit(remote, 1)?;
                    self.replace(h);
                    Ok((self.open_incoming(now, remote, conv), true))
                }
                _ => Ok((h, false)),
            };
        }
        let (conv, _) = ids.ok_or(DropReason::NoConversation)?;
        self.check_replay(conv)?;
        self.admit(remote, 0)?;
        Ok((self.open_incoming(now, remote, conv), true))
    }

    /// Refuses a conversation that a live session has, or that opened or ended a session
    /// within the replay window.
    fn check_replay(&mut self, conv: u32) -> Result<(), DropReason> {
        let Some(window) = self.settings.config().replay_window else {
            return Ok(());
        };
        if self.live_convs.contains_key(&conv)
            || self
                .replay
                .contains(conv, self.clock.now, millis(window).into())
        {
            return Err(DropReason::Replayed);
        }
        Ok(())
    }

    /// Whether the listener may open one more session for `remote`, `ending` of the open
    /// ones (from the same address) about to end.
    fn admit(&mut self, remote: SocketAddr, ending: usize) -> Result<(), DropReason> {
        let cfg = self.settings.config();
        if !self.listening {
            return Err(DropReason::NotListening);
        }
        if self.accept_queue.len() >= cfg.accept_backlog.max(1) {
            return Err(DropReason::BacklogFull);
        }
        if self.open - ending >= cfg.max_sessions {
            return Err(DropReason::SessionLimit);
        }
        let from_ip = self.per_ip.get(&remote.ip()).copied().unwrap_or(0);
        if from_ip.saturating_sub(ending) >= cfg.max_sessions_per_ip {
            return Err(DropReason::AddressLimit);
        }
        if let Some(budget) = cfg.memory_budget
            && self.held >= budget
        {
            self.shed(budget);
            if self.held >= budget {
                return Err(DropReason::MemoryBudget);
            }
        }
        Ok(())
    }

    /// Ends sessions whose peers have not shown that they receive at their address, the
    /// least recently active first, until the sessions hold less than seven eighths of
    /// `budget`. Proven sessions are kept. A pass over every session, only when the
    /// budget is exceeded, and after a pass that found nothing to shed only once the
    /// sessions grew by a sixteenth of the budget.
    fn shed(&mut self, budget: usize) {
        if self.shed_floor > 0 && self.held < self.shed_floor.saturating_add(budget / 16) {
            return;
        }
        let target = budget - budget / 8;
        let now = self.clock.wrap(self.clock.now);
        let mut victims: Vec<(i32, Handle)> = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(e) = &slot.entry
                && e.passive
                && !e.finished
                && !e.session.is_proven()
            {
                let age = now.wrapping_sub(e.session.last_progress()) as i32;
                let h = Handle {
                    index: index as u32,
                    generation: slot.generation,
                };
                victims.push((age, h));
            }
        }
        self.shed_floor = if victims.is_empty() { self.held } else { 0 };
        // Oldest progress first.
        victims.sort_unstable_by_key(|v| Reverse(v.0));
        for (_, h) in victims {
            if self.held < target {
                break;
            }
            let Some(entry) = self.entry_mut(h) else {
                continue;
            };
            entry.session.shed();
            let freed = core::mem::replace(&mut entry.held, 0);
            self.held -= freed;
            self.stats.shed += 1;
            self.note_ended(h);
        }
    }

    fn open_incoming(&mut self, now: u32, remote: SocketAddr, conv: u32) -> Handle {
        self.remember(conv);
        *self.live_convs.entry(conv).or_default() += 1;
        *self.per_ip.entry(remote.ip()).or_default() += 1;
        let h = self.insert(now, remote, conv, true);
        self.accept_queue.push_back(h);
        self.events.push_back(Event::Incoming(h));
        self.stats.accepted += 1;
        self.opened(true);
        h
    }

    /// Puts `conv` in the replay cache, for the replay window from now.
    fn remember(&mut self, conv: u32) {
        let cfg = self.settings.config();
        if let Some(window) = cfg.replay_window {
            let now64 = self.clock.now;
            self.replay
                .insert(conv, now64, millis(window).into(), cfg.replay_cache);
        }
    }

    /// Ends a session whose peer started a new conversation: it sends nothing more.
    fn replace(&mut self, h: Handle) {
        if let Some(entry) = self.entry_mut(h) {
            entry.session.replace();
            self.stats.replaced += 1;
            self.note_ended(h);
        }
    }

    fn insert(&mut self, now: u32, remote: SocketAddr, conv: u32, passive: bool) -> Handle {
        self.clock.extend(now);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let session = if passive {
            Session::new_incoming(conv, &self.settings, now, seed)
        } else {
            Session::new(conv, &self.settings, now, seed)
        };
        let entry = Entry {
            session,
            remote,
            passive,
            scheduled: None,
            dirty: false,
            progress_pending: false,
            finished: false,
            released: false,
            held: 0,
        };
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some(entry);
        let h = Handle {
            index,
            generation: slot.generation,
        };
        self.by_addr.insert(remote, h);
        if self.settings.config().roaming {
            self.note_roaming(h, conv, remote);
        }
        self.open += 1;
        // Its first deadline: the idle timeout.
        self.reschedule(h, now);
        h
    }

    fn entry(&self, h: Handle) -> Option<&Entry> {
        let slot = self.slots.get(h.index as usize)?;
        (slot.generation == h.generation)
            .then_some(slot.entry.as_ref())
            .flatten()
    }

    fn entry_mut(&mut self, h: Handle) -> Option<&mut Entry> {
        slot_entry(&mut self.slots, h)
    }

    /// Takes the next session a peer opened, in arrival order. Sessions that ended while
    /// waiting are skipped (and freed).
    pub fn accept(&mut self) -> Option<Handle> {
        while let Some(h) = self.accept_queue.pop_front() {
            match self.entry(h) {
                Some(e) if !e.session.state().is_ended() => return Some(h),
                Some(_) => self.release_ended(h),
                None => {}
            }
        }
        None
    }

    /// The session behind `h`, for read-outs (state, counters, KCP's RTT and windows);
    /// `None` once it was freed.
    pub fn session(&self, h: Handle) -> Option<&Session> {
        self.entry(h).map(|e| &e.session)
    }

    /// The peer's address of session `h`.
    pub fn remote(&self, h: Handle) -> Option<SocketAddr> {
        self.entry(h).map(|e| e.remote)
    }

    /// [`Session::send`] on session `h`; a freed handle reports [`SendError::Closed`].
    pub fn send(&mut self, now: u32, h: Handle, data: &[u8]) -> Result<usize, SendError> {
        self.clock.extend(now);
        let entry = self.entry_mut(h).ok_or(SendError::Closed)?;
        let r = entry.session.send(now, data);
        self.mark_dirty(h);
        r
    }

    /// [`Session::recv`] on session `h`; a freed handle reports [`RecvError::Closed`].
    pub fn recv(&mut self, h: Handle, buf: &mut [u8]) -> Result<usize, RecvError> {
        let entry = self.entry_mut(h).ok_or(RecvError::Closed)?;
        let r = entry.session.recv(buf);
        // A read changes the timers only when it reopens the window, which makes a
        // poll due.
        if entry.session.poll_due() {
            self.mark_dirty(h);
        }
        r
    }

    /// [`Session::confirm`] on session `h`: probes the peer until it answers (then
    /// [`Session::is_confirmed`], and a [`Event::Progress`]), or ends the session with
    /// [`DeadReason::Unanswered`](crate::DeadReason::Unanswered) after `timeout`
    /// ([`Event::Ended`]). Use it right after [`connect`](Endpoint::connect).
    pub fn confirm(&mut self, now: u32, h: Handle, timeout: core::time::Duration) {
        self.clock.extend(now);
        if let Some(entry) = self.entry_mut(h) {
            entry.session.confirm(now, timeout);
            self.mark_dirty(h);
        }
    }

    /// [`Session::flush`] on session `h`: what is queued goes out at the next
    /// [`poll_transmit`](Endpoint::poll_transmit), even with `write_delay`.
    pub fn flush(&mut self, now: u32, h: Handle) {
        self.clock.extend(now);
        if let Some(entry) = self.entry_mut(h) {
            entry.session.flush();
            self.mark_dirty(h);
        }
    }

    /// [`Session::close`] on session `h`: no more writes; what was written is still
    /// delivered, for up to the linger time.
    pub fn close(&mut self, now: u32, h: Handle) {
        self.clock.extend(now);
        if let Some(entry) = self.entry_mut(h) {
            entry.session.close(now);
            self.mark_dirty(h);
        }
    }

    /// Gives up handle `h`: the session is closed if it was open (what was written is
    /// still delivered, for up to the linger time) and freed once it ends; the handle is
    /// not valid afterwards.
    pub fn release(&mut self, now: u32, h: Handle) {
        self.close(now, h);
        let Some(entry) = self.entry_mut(h) else {
            return;
        };
        entry.released = true;
        if entry.finished {
            self.release_ended(h);
        }
    }

    /// Frees the slot of an ended session.
    fn release_ended(&mut self, h: Handle) {
        self.note_ended(h);
        let slot = &mut self.slots[h.index as usize];
        if slot.generation == h.generation
            && let Some(entry) = slot.entry.take()
        {
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(h.index);
            self.held -= entry.held;
        }
    }

    /// Accounts for a session that ended, once: it leaves the address map (a new datagram
    /// from that address opens a new session) and the gauges.
    fn note_ended(&mut self, h: Handle) {
        let Some(entry) = slot_entry(&mut self.slots, h) else {
            return;
        };
        if entry.finished {
            return;
        }
        entry.finished = true;
        entry.session.collect(&mut self.totals);
        let (remote, passive, conv) = (entry.remote, entry.passive, entry.session.conv());
        if self.by_addr.get(&remote) == Some(&h) {
            self.by_addr.remove(&remote);
        }
        self.forget_roaming(h, conv, remote);
        if passive {
            decrement(&mut self.per_ip, &remote.ip());
            decrement(&mut self.live_convs, &conv);
            // Its datagrams stay replays for the window after it ended too.
            self.remember(conv);
        }
        self.open -= 1;
        self.events.push_back(Event::Ended(h));
        self.totals.curr_estab -= 1;
    }

    /// Queues `h` for the next poll, after an operation that may have changed its deadline.
    fn mark_dirty(&mut self, h: Handle) {
        if let Some(entry) = self.entry_mut(h)
            && !entry.dirty
        {
            entry.dirty = true;
            self.dirty.push(h);
        }
    }

    /// Polls session `h` into the transmit queue, then updates its deadline and, if it
    /// ended, the bookkeeping.
    fn poll_session(&mut self, now: u32, h: Handle) {
        let Some(entry) = slot_entry(&mut self.slots, h) else {
            return;
        };
        entry.dirty = false;
        let remote = entry.remote;
        let out = &mut self.out;
        entry.session.poll(now, |d| out.push(remote, d));
        entry.session.collect(&mut self.totals);
        // What the burst of input and the poll left it holding, for the memory budget.
        let held = entry.session.buffered_bytes();
        self.held = self.held - core::mem::replace(&mut entry.held, held) + held;
        if entry.session.state().is_ended() {
            let released = entry.released;
            if released {
                self.release_ended(h);
            } else {
                self.note_ended(h);
            }
        } else {
            // A session just polled has nothing more due this millisecond: a deadline of
            // "now" would run it again and again in `handle_timeout`.
            let floor = self.clock.deadline(now) + 1;
            self.reschedule_after(h, now, floor);
        }
    }

    /// Puts session `h`'s next deadline in the heap if it is earlier than the one there.
    fn reschedule(&mut self, h: Handle, now: u32) {
        self.reschedule_after(h, now, 0);
    }

    /// As `reschedule`, with the deadline no earlier than `floor` (extended clock).
    fn reschedule_after(&mut self, h: Handle, now: u32, floor: u64) {
        let Some(entry) = self.entry(h) else {
            return;
        };
        let Some(next) = entry.session.next_timeout(now) else {
            return;
        };
        let at = self.clock.deadline(next).max(floor);
        let entry = self.entry_mut(h).expect("checked above");
        if entry.scheduled.is_none_or(|s| at < s) {
            entry.scheduled = Some(at);
            self.timers.push(Reverse((at, h)));
            self.compact_timers();
        }
    }

    /// Drops superseded deadlines once they outnumber the sessions. A session holds one
    /// live deadline, but every time it moves its deadline earlier (an idle session that
    /// sends again) the later entry stays in the heap until it comes due, which for the
    /// idle timeout is far off. Costs one pass over the heap, at most once per `len`
    /// pushes.
    fn compact_timers(&mut self) {
        if self.timers.len() > (4 * self.open + 1024).max(self.compacted_len * 2) {
            let slots = &self.slots;
            self.timers.retain(|Reverse((at, h))| {
                slots.get(h.index as usize).is_some_and(|s| {
                    s.generation == h.generation
                        && s.entry.as_ref().is_some_and(|e| e.scheduled == Some(*at))
                })
            });
            self.compacted_len = self.timers.len();
        }
    }

    /// When [`handle_timeout`](Endpoint::handle_timeout) should run next, on the caller's
    /// clock; `None` while there is no session (an idle one still has its idle timeout). Datagrams
    /// queued by operations since the last [`poll_transmit`](Endpoint::poll_transmit) are
    /// not timers: poll after every batch of operations.
    pub fn poll_timeout(&self) -> Option<u32> {
        self.timers
            .peek()
            .map(|Reverse((at, _))| self.clock.wrap(*at))
    }

    /// Runs every session timer due at `now`: retransmissions, flushes, idle timeouts,
    /// the end of closes. Their datagrams wait for [`poll_transmit`](Endpoint::poll_transmit).
    pub fn handle_timeout(&mut self, now: u32) {
        let now64 = self.clock.extend(now);
        while let Some(&Reverse((at, h))) = self.timers.peek() {
            if at > now64 {
                break;
            }
            self.timers.pop();
            let Some(entry) = self.entry_mut(h) else {
                continue;
            };
            if entry.scheduled != Some(at) {
                continue; // superseded by an earlier deadline
            }
            entry.scheduled = None;
            let before = progress::mark(&entry.session);
            self.poll_session(now, h);
            // Retransmissions and flushes change nothing the application acts on: only a
            // change (the end of a close shows as `Ended`) is reported.
            if self
                .entry(h)
                .is_some_and(|e| !e.finished && progress::mark(&e.session) != before)
            {
                self.touch_progress(h);
            }
        }
    }

    /// Reports progress for `h` without marking it dirty.
    fn touch_progress(&mut self, h: Handle) {
        if let Some(entry) = self.entry_mut(h)
            && !entry.progress_pending
        {
            entry.progress_pending = true;
            self.events.push_back(Event::Progress(h));
        }
    }

    /// Runs the sessions that operations made due since the last call, then hands out the
    /// next run of datagrams to send, in order; `None` when nothing waits. Call it until
    /// `None` after every batch of [`handle`](Endpoint::handle) calls, after
    /// [`handle_timeout`](Endpoint::handle_timeout), and after your own operations. A
    /// datagram the socket will not take may be dropped: KCP retransmits.
    pub fn poll_transmit(&mut self, now: u32) -> Option<Transmit<'_>> {
        self.run_dirty(now);
        self.out.pop()
    }

    /// As [`poll_transmit`](Endpoint::poll_transmit), but moves every waiting datagram
    /// into `queue` at once (its memory swapped with the endpoint's, nothing copied), for
    /// a driver that sends without holding the endpoint. `queue` should be empty.
    pub fn take_transmits(&mut self, now: u32, queue: &mut TransmitQueue) {
        self.run_dirty(now);
        queue.clear();
        queue.set_max_segments(self.out.max_segments());
        core::mem::swap(&mut self.out, queue);
    }

    fn run_dirty(&mut self, now: u32) {
        self.clock.extend(now);
        let mut i = 0;
        // Polling may not add dirty sessions, but index anyway: no borrow across it.
        while i < self.dirty.len() {
            let h = self.dirty[i];
            self.poll_session(now, h);
            i += 1;
        }
        self.dirty.clear();
        match self.settings.config().memory_budget {
            Some(budget) if self.held > budget => self.shed(budget),
            _ => self.shed_floor = 0,
        }
    }

    /// Heap bytes the sessions held at their last poll (see [`Session::buffered_bytes`]),
    /// the figure [`Config::memory_budget`](crate::Config::memory_budget) bounds.
    pub fn buffered_bytes(&self) -> usize {
        self.held
    }

    /// Conversation ids the replay cache holds (see
    /// [`Config::replay_window`](crate::Config::replay_window)).
    pub fn replay_cache_len(&self) -> usize {
        self.replay.len()
    }

    /// The next event, in order; see [`Event`].
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Event::Progress(h) = event
            && let Some(entry) = self.entry_mut(h)
        {
            entry.progress_pending = false;
        }
        Some(event)
    }
}

/// Counts one less of `key`, forgetting it at zero.
fn decrement<K: Ord, N: PartialEq + core::ops::SubAssign + From<u8>>(
    map: &mut BTreeMap<K, N>,
    key: &K,
) {
    if let Some(n) = map.get_mut(key) {
        *n -= N::from(1);
        if *n == N::from(0) {
            map.remove(key);
        }
    }
}

/// The entry of handle `h` in `slots`, if it is live (a free function, so that other
/// fields of the endpoint stay borrowable beside it).
fn slot_entry(slots: &mut [Slot], h: Handle) -> Option<&mut Entry> {
    let slot = slots.get_mut(h.index as usize)?;
    (slot.generation == h.generation)
        .then_some(slot.entry.as_mut())
        .flatten()
}
