//! The thin tokio driver over an [`Endpoint`]: one task per UDP socket that receives
//! datagrams, runs the endpoint's timer, sends what the endpoint queues and wakes the
//! tasks that can make progress. Streams and listeners share the endpoint with it through
//! one mutex, held only for endpoint calls: sending happens after the lock is released.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::vec::Vec;

use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::Settings;
use crate::endpoint::{Endpoint, Event, Handle, TransmitQueue};
use crate::session::{Session, State};
use crate::snmp::Snmp;

use super::batch::{LISTENER_SLOTS, Udp};

/// Datagrams read per wake-up of the driver before it runs timers and sends again.
const RECV_BURST: usize = 256;

/// What a socket's driver, streams and listener share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<EndpointState>,
    /// Wakes the driver: deadlines moved earlier, or a handle went away.
    driver: Notify,
    /// Wakes `accept` callers when a peer opened a session.
    pub(crate) incoming: Notify,
    pub(crate) udp: Udp,
    /// The session clock's origin (tokio's clock, so tests can pause time).
    epoch: Instant,
}

/// The endpoint and the tasks waiting on its sessions.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    /// Per session (by handle index): its waiting reader and writer, and its handles.
    sessions: Vec<Waiters>,
    /// The driver stopped (a socket error, a panic, or nothing left to serve): every
    /// operation reports this.
    pub(crate) failed: Option<io::ErrorKind>,
    /// The deadline the driver sleeps until, if any.
    driver_deadline: Option<u32>,
    /// Datagrams the kernel would not take (socket buffer full): lost like on the wire.
    pub(crate) send_dropped: u64,
    /// The endpoint's counters as last added to the process-wide ones.
    reported: Snmp,
}

#[derive(Debug, Default)]
struct Waiters {
    read: Option<Waker>,
    write: Option<Waker>,
    /// A task waiting for an unreliable datagram.
    datagram: Option<Waker>,
    /// Stream handles alive (a stream, or its two halves); at 0 the session is released.
    handles: usize,
}

std::thread_local! {
    /// The transmit queue a stream task swaps out of the endpoint to send without the
    /// lock; reused, so sending allocates nothing per datagram.
    static SPARE: RefCell<TransmitQueue> = RefCell::new(TransmitQueue::default());
}

impl Shared {
    /// Opens `socket` as the endpoint's socket and spawns the driver on the current
    /// runtime. `setup` opens the first session (a dial) or starts listening, before the
    /// driver runs.
    pub(crate) fn spawn(
        socket: UdpSocket,
        settings: &Settings,
        setup: impl FnOnce(&mut Endpoint, u32) -> Option<Handle>,
    ) -> io::Result<(Arc<Shared>, Option<Handle>)> {
        let udp = Udp::new(socket)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(io::Error::other)?;
        let mut endpoint = Endpoint::new(settings, seed);
        endpoint.set_max_segments(udp.max_segments());
        let shared = Arc::new(Shared {
            state: Mutex::new(EndpointState {
                endpoint,
                sessions: Vec::new(),
                failed: None,
                driver_deadline: None,
                send_dropped: 0,
                reported: Snmp::default(),
            }),
            driver: Notify::new(),
            incoming: Notify::new(),
            udp,
            epoch: Instant::now(),
        });
        let handle = {
            let mut st = shared.lock();
            let now = shared.now();
            let h = setup(&mut st.endpoint, now);
            if let Some(h) = h {
                st.adopt(h);
            }
            h
        };
        tokio::spawn(Driver::new(Arc::clone(&shared)).run());
        Ok((shared, handle))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, EndpointState> {
        // Endpoint calls leave it consistent even if one panicked: keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since the socket was opened, on the session clock.
    pub(crate) fn now(&self) -> u32 {
        self.epoch.elapsed().as_millis() as u32
    }

    /// After an operation on the endpoint: takes what it queued, releases the lock, sends
    /// it, and tells the driver if a deadline moved before the one it sleeps until.
    pub(crate) fn send_and_unlock(&self, mut st: MutexGuard<'_, EndpointState>) {
        let now = self.now();
        SPARE.with(|cell| {
            let mut fresh = TransmitQueue::default();
            // Never re-entered on one thread; if it ever were, use a fresh queue.
            let mut spare = cell.try_borrow_mut();
            let queue = match spare.as_deref_mut() {
                Ok(q) => q,
                Err(_) => &mut fresh,
            };
            st.endpoint.take_transmits(now, queue);
            let earlier = match (st.endpoint.poll_timeout(), st.driver_deadline) {
                (Some(t), Some(d)) => (t.wrapping_sub(d) as i32) < 0,
                (Some(_), None) => true,
                (None, _) => false,
            };
            st.report();
            drop(st);
            if earlier {
                self.driver.notify_one();
            }
            let dropped = self.udp.send(queue);
            if dropped > 0 {
                self.lock().send_dropped += dropped;
            }
        });
    }

    /// One more handle for session `h` (a split half).
    pub(crate) fn duplicate(&self, h: Handle) {
        self.lock().waiters(h).handles += 1;
    }

    /// A handle for session `h` is gone; the last one releases the session (what was
    /// written is still delivered, for up to the linger time).
    pub(crate) fn release(&self, h: Handle) {
        let mut st = self.lock();
        let w = st.waiters(h);
        w.handles -= 1;
        if w.handles > 0 {
            return;
        }
        *w = Waiters::default();
        let now = self.now();
        st.endpoint.release(now, h);
        self.send_and_unlock(st);
        // The driver may have nothing left to serve.
        self.driver.notify_one();
    }

    /// Stops accepting; sessions that waited for `accept` are released.
    pub(crate) fn stop_listening(&self) {
        let mut st = self.lock();
        st.endpoint.listen(false);
        let now = self.now();
        while let Some(h) = st.endpoint.accept() {
            st.endpoint.release(now, h);
        }
        self.send_and_unlock(st);
        self.driver.notify_one();
    }
}

impl EndpointState {
    /// Adds what the endpoint counted since the last call to the process-wide counters.
    fn report(&mut self) {
        let now = self.endpoint.snmp();
        crate::snmp::report(&mut self.reported, &now);
    }

    /// The waiters of session `h`.
    fn waiters(&mut self, h: Handle) -> &mut Waiters {
        let i = h.index();
        if self.sessions.len() <= i {
            self.sessions.resize_with(i + 1, Waiters::default);
        }
        &mut self.sessions[i]
    }

    /// Starts tracking session `h` for its first stream handle.
    pub(crate) fn adopt(&mut self, h: Handle) {
        *self.waiters(h) = Waiters {
            handles: 1,
            ..Waiters::default()
        };
    }

    /// Parks the reader of session `h` until it may progress.
    pub(crate) fn wait_read(&mut self, h: Handle, waker: &Waker) {
        self.waiters(h).read = Some(waker.clone());
    }

    /// Parks a task waiting for a datagram of session `h` until it may progress.
    pub(crate) fn wait_datagram(&mut self, h: Handle, waker: &Waker) {
        self.waiters(h).datagram = Some(waker.clone());
    }

    /// Parks the writer of session `h` until it may progress.
    pub(crate) fn wait_write(&mut self, h: Handle, waker: &Waker) {
        self.waiters(h).write = Some(waker.clone());
    }

    /// Collects the wakers of the tasks the endpoint's events concern, and whether a peer
    /// opened a session.
    fn take_wakers(&mut self, wake: &mut Vec<Waker>) -> bool {
        let mut incoming = false;
        while let Some(event) = self.endpoint.poll_event() {
            let (h, read, write, datagram) = match event {
                Event::Incoming(_) => {
                    incoming = true;
                    continue;
                }
                Event::Progress(h) => match self.endpoint.session(h) {
                    Some(s) => (h, readable(s), writable(s), datagram_ready(s)),
                    None => (h, true, true, true),
                },
                Event::Ended(h) => (h, true, true, true),
            };
            if let Some(w) = self.sessions.get_mut(h.index()) {
                if read {
                    wake.extend(w.read.take());
                }
                if write {
                    wake.extend(w.write.take());
                }
                if datagram {
                    wake.extend(w.datagram.take());
                }
            }
        }
        incoming
    }
}

/// Whether a task waiting for a datagram on session `s` can progress: one is queued, or
/// the session ended.
fn datagram_ready(s: &Session) -> bool {
    s.can_recv_datagram() || s.state().is_ended()
}

/// Whether a reader waiting on session `s` can progress: data to read, or the end.
fn readable(s: &Session) -> bool {
    s.can_recv() || s.state().is_ended()
}

/// Whether a writer waiting on session `s` can progress: a quarter of the send window free
/// (so a bulk writer wakes once per quarter window, not per acknowledgement), everything
/// acknowledged (what `shutdown` and `connect_confirmed` wait for), an answer from the
/// peer, or the session no longer open.
fn writable(s: &Session) -> bool {
    let k = s.kcp();
    let free = (k.snd_wnd() as usize).saturating_sub(k.wait_snd());
    s.state() != State::Open || k.wait_snd() == 0 || free >= (k.snd_wnd() as usize / 4).max(1)
}

/// The task that serves one socket.
struct Driver {
    shared: Arc<Shared>,
    queue: TransmitQueue,
    wake: Vec<Waker>,
}

/// Marks the endpoint failed and wakes every waiting task when the driver ends, however it
/// ends (a socket error, nothing left to serve, or a panic unwinding through it), so no
/// stream or listener waits on a dead driver.
struct Failed(Arc<Shared>, io::ErrorKind);

impl Drop for Failed {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.failed.get_or_insert(self.1);
        st.report();
        let mut wake = Vec::new();
        for w in &mut st.sessions {
            wake.extend(w.read.take());
            wake.extend(w.write.take());
            wake.extend(w.datagram.take());
        }
        drop(st);
        self.0.incoming.notify_waiters();
        for w in wake {
            w.wake();
        }
    }
}

impl Driver {
    fn new(shared: Arc<Shared>) -> Driver {
        Driver {
            shared,
            queue: TransmitQueue::default(),
            wake: Vec::new(),
        }
    }

    async fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let mut failed = Failed(Arc::clone(&shared), io::ErrorKind::BrokenPipe);
        let slots = if shared.lock().endpoint.is_listening() {
            LISTENER_SLOTS
        } else {
            1
        };
        let mut bufs = shared.udp.recv_buffers(slots);
        loop {
            let deadline = {
                let mut st = shared.lock();
                let d = st.endpoint.poll_timeout();
                st.driver_deadline = d;
                d
            };
            let sleep = async {
                match deadline {
                    Some(t) => {
                        let ahead = t.wrapping_sub(shared.now()) as i32;
                        let ms = ahead.max(0) as u64;
                        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = shared.driver.notified() => {}
                r = shared.udp.readable() => {
                    if let Err(e) = r.and_then(|()| self.receive(&mut bufs)) {
                        failed.1 = e.kind();
                        return;
                    }
                }
                () = sleep => {}
            }
            if self.step() {
                return;
            }
        }
    }

    /// Reads what the socket holds (bounded), handing every datagram to the endpoint.
    /// Errors that only report an earlier send's ICMP are not fatal.
    fn receive(&mut self, bufs: &mut super::batch::RecvBuffers) -> io::Result<()> {
        let shared = &self.shared;
        let mut got = 0;
        while got < RECV_BURST {
            match shared.udp.try_recv(bufs) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e),
            }
            let now = shared.now();
            let mut st = shared.lock();
            got += bufs
                .datagrams(|d, from: SocketAddr| {
                    st.endpoint.handle(now, from, d);
                })
                .max(1);
        }
        Ok(())
    }

    /// Runs due timers, sends what is queued and wakes whoever can progress; returns
    /// whether the driver is done (not listening and no session left).
    fn step(&mut self) -> bool {
        let shared = &self.shared;
        let now = shared.now();
        let mut st = shared.lock();
        st.endpoint.handle_timeout(now);
        st.endpoint.take_transmits(now, &mut self.queue);
        let incoming = st.take_wakers(&mut self.wake);
        let done = !st.endpoint.is_listening() && st.endpoint.is_empty();
        st.report();
        drop(st);
        if incoming {
            shared.incoming.notify_waiters();
        }
        for w in self.wake.drain(..) {
            w.wake();
        }
        let dropped = shared.udp.send(&mut self.queue);
        if dropped > 0 {
            shared.lock().send_dropped += dropped;
        }
        done
    }
}

/// Receive errors that report an ICMP message about an earlier send, on some systems.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}
