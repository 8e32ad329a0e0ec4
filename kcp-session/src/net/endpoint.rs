//! One UDP socket and the driver task that serves every session on it.
//!
//! The driver owns the socket's receive side, the address → session map of a listener and
//! a min-heap of session deadlines. Streams share each session with the driver through
//! one mutex per session, held only for the length of a `Session` call; writes transmit
//! straight from the writer's task. An idle session has no deadline in the heap (see
//! [`Session::next_timeout`]), so it costs no wake-ups.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::udp::{LISTENER_SLOTS, Udp};

use kcp_crypt::PacketCipher;

use crate::config::Settings;
use crate::session::{Session, State, conv_and_sn};
use crate::snmp::global_counters;

use super::stream::KcpStream;

/// Datagrams read per wake-up of the driver before it looks at timers and commands.
const RECV_BURST: usize = 256;

/// A millisecond clock shared by the sessions of one socket.
#[derive(Debug)]
pub(crate) struct Clock(Instant);

impl Clock {
    fn new() -> Clock {
        Clock(Instant::now())
    }

    /// Milliseconds since the socket was opened.
    pub(crate) fn now64(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }

    fn instant(&self, at: u64) -> Instant {
        self.0 + std::time::Duration::from_millis(at)
    }
}

/// The session clock is the low 32 bits of [`Clock::now64`]; turn a session deadline back
/// into the 64-bit scale (a deadline in the past is due now).
fn deadline64(now64: u64, deadline: u32) -> u64 {
    let ahead = deadline.wrapping_sub(now64 as u32) as i32;
    now64 + ahead.max(0) as u64
}

/// What the listener side of an endpoint does with datagrams from unknown addresses.
#[derive(Debug)]
pub(crate) struct Accepting {
    pub(crate) queue: mpsc::Sender<(KcpStream, SocketAddr)>,
    pub(crate) max_sessions: usize,
}

/// Counters of one socket that belong to no session.
#[derive(Debug, Default)]
pub(crate) struct EndpointCounters {
    /// Datagrams dropped by the listener rules (no conv, conv change with sn ≠ 0, accept
    /// queue full, session limit reached) or from a stranger to a dialed session.
    pub(crate) dropped: AtomicU64,
    /// Datagrams the kernel would not take (socket buffer full): lost like on the wire.
    pub(crate) send_dropped: AtomicU64,
}

/// A UDP socket shared by the sessions on it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) udp: Udp,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    commands: mpsc::UnboundedSender<Command>,
    pub(crate) counters: EndpointCounters,
}

enum Command {
    /// Run this session's timers by this time (its `scheduled` field says if still wanted).
    Schedule(Arc<Conn>, u64),
    /// A dialed session to serve (the only one of its socket).
    Dialed(Arc<Conn>),
    /// The listener handle is gone: accept no more sessions.
    StopAccepting,
}

/// The state of one session shared by its stream handles and the driver.
#[derive(Debug)]
pub(crate) struct ConnState {
    pub(crate) session: Session,
    pub(crate) read_waker: Option<Waker>,
    pub(crate) write_waker: Option<Waker>,
    /// The deadline the driver's heap holds for this session, if any.
    scheduled: Option<u64>,
    /// Stream handles alive (a stream, or its two halves); at 0 the session closes.
    pub(crate) handles: usize,
    /// The listener replaced this session (its peer restarted with a new conv).
    pub(crate) replaced: bool,
    /// The socket failed: every operation reports this.
    pub(crate) socket_error: Option<io::ErrorKind>,
}

/// One session on an endpoint.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) remote: SocketAddr,
    state: Mutex<ConnState>,
}

impl Conn {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnState> {
        // A panic while holding the lock leaves a consistent `Session` (its methods do not
        // unwind half-way through in any way that matters here): keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `op` on the session with a transmit function for its output, then brings the
    /// driver's deadline for it up to date.
    pub(crate) fn with<R>(
        self: &Arc<Self>,
        st: &mut ConnState,
        op: impl FnOnce(&mut Session, u32, &mut dyn FnMut(&[u8])) -> R,
    ) -> R {
        let ep = &self.endpoint;
        let now64 = ep.clock.now64();
        let remote = self.remote;
        // A busy session's deadline is its next flush, which no operation moves earlier;
        // an idle one may have none, or only the idle timeout.
        let was_idle = st.session.kcp().is_idle();
        let session = &mut st.session;
        let (r, dropped) = ep.udp.transmit(remote, |tx| op(session, now64 as u32, tx));
        if dropped > 0 {
            ep.counters
                .send_dropped
                .fetch_add(dropped, Ordering::Relaxed);
        }
        if was_idle || st.scheduled.is_none() {
            self.reschedule(st, now64);
        }
        r
    }

    /// Tells the driver when the session next needs its timers, if sooner than it knows.
    fn reschedule(self: &Arc<Self>, st: &mut ConnState, now64: u64) {
        let Some(next) = st.session.next_timeout(now64 as u32) else {
            return;
        };
        let next = deadline64(now64, next);
        if st.scheduled.is_none_or(|s| next < s) {
            st.scheduled = Some(next);
            let _ = self
                .endpoint
                .commands
                .send(Command::Schedule(Arc::clone(self), next));
        }
    }

    /// Wakes the stream tasks that can make progress now.
    fn wake(st: &mut ConnState) {
        let s = &st.session;
        let ended = !matches!(s.state(), State::Open) || st.replaced || st.socket_error.is_some();
        if st.read_waker.is_some()
            && (ended || s.can_recv())
            && let Some(w) = st.read_waker.take()
        {
            w.wake();
        }
        if st.write_waker.is_some()
            && (ended || s.can_send() || s.kcp().wait_snd() == 0)
            && let Some(w) = st.write_waker.take()
        {
            w.wake();
        }
    }

    /// A stream handle is gone; the last one closes the session (what was written is
    /// still delivered, for up to the linger time).
    pub(crate) fn release(self: &Arc<Self>) {
        let mut st = self.lock();
        st.handles -= 1;
        if st.handles == 0 {
            self.with(&mut st, |s, now, tx| s.close(now, tx));
            // Let the driver forget a session that closed at once.
            let now64 = self.endpoint.clock.now64();
            st.scheduled = Some(now64);
            let _ = self
                .endpoint
                .commands
                .send(Command::Schedule(Arc::clone(self), now64));
        }
    }
}

/// Min-heap entry: a session's deadline.
struct Timer {
    at: u64,
    conn: Arc<Conn>,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && Arc::ptr_eq(&self.conn, &other.conn)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.at.cmp(&other.at).then_with(|| {
            Arc::as_ptr(&self.conn)
                .cast::<u8>()
                .cmp(&Arc::as_ptr(&other.conn).cast::<u8>())
        })
    }
}

/// How the driver finds the session for a datagram.
enum Role {
    /// A dialed session: datagrams only from its remote address.
    Dialer(Option<Arc<Conn>>),
    /// A listener: sessions by remote address, new ones per kcp-go 5.6.1's rules.
    Listener {
        sessions: HashMap<SocketAddr, Arc<Conn>>,
        accepting: Option<Accepting>,
    },
}

/// Opens the endpoint on `socket` and spawns its driver task on the current runtime.
pub(crate) fn spawn(
    socket: UdpSocket,
    settings: Settings,
    accepting: Option<Accepting>,
) -> io::Result<Arc<Endpoint>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = Arc::new(Endpoint {
        udp: Udp::new(socket)?,
        clock: Clock::new(),
        settings,
        commands: tx,
        counters: EndpointCounters::default(),
    });
    let role = match accepting {
        Some(accepting) => Role::Listener {
            sessions: HashMap::new(),
            accepting: Some(accepting),
        },
        None => Role::Dialer(None),
    };
    let driver = Driver {
        endpoint: Arc::clone(&endpoint),
        commands: rx,
        timers: BinaryHeap::new(),
        role,
        touched: Vec::new(),
        compacted_len: 0,
        served: false,
    };
    tokio::spawn(driver.run());
    Ok(endpoint)
}

/// Creates a session on `endpoint` for `remote`, counted in the connection gauges.
pub(crate) fn new_conn(endpoint: &Arc<Endpoint>, remote: SocketAddr, conv: u32) -> Arc<Conn> {
    let now = endpoint.clock.now64() as u32;
    let session = Session::new(conv, &endpoint.settings, now, Session::os_seed());
    let g = global_counters();
    let open = g.curr_estab.fetch_add(1, Ordering::Relaxed) + 1;
    g.max_conn.fetch_max(open, Ordering::Relaxed);
    Arc::new(Conn {
        endpoint: Arc::clone(endpoint),
        remote,
        state: Mutex::new(ConnState {
            session,
            read_waker: None,
            write_waker: None,
            scheduled: None,
            handles: 1,
            replaced: false,
            socket_error: None,
        }),
    })
}

/// Hands a dialed session to its endpoint's driver.
pub(crate) fn serve_dialed(conn: &Arc<Conn>) {
    let _ = conn
        .endpoint
        .commands
        .send(Command::Dialed(Arc::clone(conn)));
}

/// Tells a listener's driver to stop accepting.
pub(crate) fn stop_accepting(endpoint: &Endpoint) {
    let _ = endpoint.commands.send(Command::StopAccepting);
}

impl Drop for Conn {
    fn drop(&mut self) {
        global_counters().curr_estab.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Driver {
    endpoint: Arc<Endpoint>,
    commands: mpsc::UnboundedReceiver<Command>,
    timers: BinaryHeap<Reverse<Timer>>,
    role: Role,
    /// Sessions that received datagrams in the current receive burst.
    touched: Vec<Arc<Conn>>,
    /// Heap length after the last compaction (see `compact_timers`).
    compacted_len: usize,
    /// A dialer's session has arrived (until then, an empty slot is not the end).
    served: bool,
}

impl Driver {
    async fn run(mut self) {
        let endpoint = Arc::clone(&self.endpoint);
        let slots = match self.role {
            Role::Dialer(_) => 1,
            Role::Listener { .. } => LISTENER_SLOTS,
        };
        let mut bufs = endpoint.udp.recv_buffers(slots);
        loop {
            let next = self.timers.peek().map(|t| endpoint.clock.instant(t.0.at));
            let sleep = async move {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                cmd = self.commands.recv() => {
                    let Some(cmd) = cmd else { return };
                    self.command(cmd);
                    while let Ok(cmd) = self.commands.try_recv() {
                        self.command(cmd);
                    }
                }
                r = endpoint.udp.readable() => {
                    if let Err(e) = r {
                        if self.socket_failed(e) {
                            return;
                        }
                        continue;
                    }
                    // Drain what is queued (bounded) before looking at timers again.
                    let mut got = 0;
                    while got < RECV_BURST {
                        match endpoint.udp.try_recv(&mut bufs, |d, from| self.datagram(d, from)) {
                            Ok(n) => got += n.max(1),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                if self.socket_failed(e) {
                                    return;
                                }
                                break;
                            }
                        }
                    }
                    self.end_burst();
                }
                () = sleep => {}
            }
            self.run_timers();
            if self.finished() {
                return;
            }
        }
    }

    /// Whether nothing is left to serve: a dialed session ended, or a listener no longer
    /// accepting with no sessions left. The driver then ends and, once the streams are
    /// gone too, the socket closes.
    fn finished(&self) -> bool {
        match &self.role {
            // Deadlines left in the heap belong to forgotten sessions: nothing to do.
            Role::Dialer(conn) => self.served && conn.is_none(),
            Role::Listener {
                sessions,
                accepting,
            } => accepting.is_none() && sessions.is_empty(),
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Schedule(conn, at) => {
                self.timers.push(Reverse(Timer { at, conn }));
                self.compact_timers();
            }
            Command::Dialed(conn) => {
                if let Role::Dialer(slot) = &mut self.role {
                    *slot = Some(conn);
                    self.served = true;
                }
            }
            Command::StopAccepting => {
                if let Role::Listener { accepting, .. } = &mut self.role {
                    *accepting = None;
                }
            }
        }
    }

    /// Drops superseded deadlines once they outnumber the sessions. A session holds one
    /// live deadline, but every time it moves its deadline earlier (an idle session that
    /// sends again) the later entry stays in the heap until it comes due, which for the
    /// idle timeout is far off: a session sending every 100 ms would pile up hundreds.
    /// Compaction costs one pass over the heap, at most once per `len` pushes.
    fn compact_timers(&mut self) {
        let sessions = match &self.role {
            Role::Dialer(_) => 1,
            Role::Listener { sessions, .. } => sessions.len(),
        };
        if self.timers.len() > (4 * sessions + 1024).max(self.compacted_len * 2) {
            self.timers
                .retain(|t| t.0.conn.lock().scheduled == Some(t.0.at));
            self.compacted_len = self.timers.len();
        }
    }

    /// Reports a failed socket to every session; returns whether the driver must stop.
    fn socket_failed(&mut self, e: io::Error) -> bool {
        // ICMP errors from an earlier send surface here on some systems: not fatal.
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::Interrupted
        ) {
            return false;
        }
        let conns: Vec<Arc<Conn>> = match &mut self.role {
            Role::Dialer(conn) => conn.take().into_iter().collect(),
            Role::Listener { sessions, .. } => sessions.drain().map(|(_, c)| c).collect(),
        };
        for conn in conns {
            let mut st = conn.lock();
            st.socket_error = Some(e.kind());
            Conn::wake(&mut st);
        }
        true
    }

    fn datagram(&mut self, datagram: &mut [u8], from: SocketAddr) {
        let endpoint = &self.endpoint;
        let g = global_counters();
        // A session counts the bytes it is given; the global counter gets the rest here.
        let len = datagram.len();
        match &mut self.role {
            Role::Dialer(conn) => {
                let Some(conn) = conn.as_ref().filter(|c| c.remote == from) else {
                    g.in_errs.fetch_add(1, Ordering::Relaxed);
                    return Self::unclaimed(endpoint, len);
                };
                let mut st = conn.lock();
                let _ = conn.with(&mut st, |s, now, tx| s.input(now, datagram, tx));
                Self::touch(&mut self.touched, conn);
            }
            Role::Listener {
                sessions,
                accepting,
            } => {
                let crypt = endpoint.settings.crypt();
                let Ok(range) = crypt.open(datagram) else {
                    g.in_csum_errors.fetch_add(1, Ordering::Relaxed);
                    g.bytes_received.fetch_add(len as u64, Ordering::Relaxed);
                    return;
                };
                let payload = &datagram[range];
                let ids = conv_and_sn(payload);
                let open = sessions.len();
                let conn = match sessions.entry(from) {
                    Entry::Occupied(mut e) => {
                        let known = e.get().lock().session.conv();
                        match ids {
                            None => Arc::clone(e.get()),
                            Some((conv, _)) if conv == known => Arc::clone(e.get()),
                            // The peer restarted with a new conversation: replace.
                            Some((conv, 0)) => {
                                let Some(conn) = Self::accept(endpoint, accepting, from, conv)
                                else {
                                    return Self::unclaimed(endpoint, len);
                                };
                                let old = e.insert(Arc::clone(&conn));
                                let mut st = old.lock();
                                st.replaced = true;
                                Conn::wake(&mut st);
                                conn
                            }
                            Some(_) => {
                                return Self::unclaimed(endpoint, len);
                            }
                        }
                    }
                    Entry::Vacant(v) => {
                        let room = accepting.as_ref().is_some_and(|a| open < a.max_sessions);
                        let conn = match ids {
                            Some((conv, _)) if room => {
                                Self::accept(endpoint, accepting, from, conv)
                            }
                            _ => None,
                        };
                        let Some(conn) = conn else {
                            return Self::unclaimed(endpoint, len);
                        };
                        v.insert(Arc::clone(&conn));
                        conn
                    }
                };
                let mut st = conn.lock();
                let _ = conn.with(&mut st, |s, now, tx| {
                    s.count_received(len);
                    s.input_payload(now, payload, tx)
                });
                drop(st);
                Self::touch(&mut self.touched, &conn);
            }
        }
    }

    /// Counts a datagram that no session took: dropped by the rules, global bytes only.
    fn unclaimed(endpoint: &Endpoint, len: usize) {
        endpoint.counters.dropped.fetch_add(1, Ordering::Relaxed);
        global_counters()
            .bytes_received
            .fetch_add(len as u64, Ordering::Relaxed);
    }

    /// Remembers a session that received datagrams in this burst.
    fn touch(touched: &mut Vec<Arc<Conn>>, conn: &Arc<Conn>) {
        if !touched.last().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            touched.push(Arc::clone(conn));
        }
    }

    /// Ends a receive burst: per session that received something, acknowledges what the
    /// burst carried (with `batch_acks`) and wakes its reader and writer once, rather
    /// than once per datagram while the driver still works on the burst.
    fn end_burst(&mut self) {
        for conn in self.touched.drain(..) {
            let mut st = conn.lock();
            if st.session.settings().config().batch_acks {
                conn.with(&mut st, |s, now, tx| s.flush_acks(now, tx));
            }
            Conn::wake(&mut st);
        }
    }

    /// Creates a session for a new peer and queues it for `accept`, unless the queue is
    /// full or the session limit is reached.
    fn accept(
        endpoint: &Arc<Endpoint>,
        accepting: &mut Option<Accepting>,
        from: SocketAddr,
        conv: u32,
    ) -> Option<Arc<Conn>> {
        let a = accepting.as_ref()?;
        let permit = a.queue.try_reserve().ok()?;
        let conn = new_conn(endpoint, from, conv);
        global_counters()
            .passive_opens
            .fetch_add(1, Ordering::Relaxed);
        permit.send((KcpStream::from_conn(Arc::clone(&conn)), from));
        Some(conn)
    }

    /// Runs every due session timer and forgets sessions that ended.
    fn run_timers(&mut self) {
        let now64 = self.endpoint.clock.now64();
        while self.timers.peek().is_some_and(|t| t.0.at <= now64) {
            let Some(Reverse(Timer { at, conn })) = self.timers.pop() else {
                break;
            };
            let mut st = conn.lock();
            if st.scheduled != Some(at) {
                continue; // superseded by an earlier deadline
            }
            st.scheduled = None;
            conn.with(&mut st, |s, now, tx| s.handle_timeout(now, tx));
            Conn::wake(&mut st);
            let ended = match st.session.state() {
                State::Open | State::Closing => st.replaced,
                State::Closed | State::Dead(_) => true,
            };
            drop(st);
            if ended {
                self.forget(&conn);
            }
        }
    }

    /// Removes an ended session from the endpoint (its handles keep reporting why).
    fn forget(&mut self, conn: &Arc<Conn>) {
        match &mut self.role {
            Role::Dialer(slot) => {
                if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                    *slot = None;
                }
            }
            Role::Listener { sessions, .. } => {
                if sessions
                    .get(&conn.remote)
                    .is_some_and(|c| Arc::ptr_eq(c, conn))
                {
                    sessions.remove(&conn.remote);
                }
            }
        }
    }
}
