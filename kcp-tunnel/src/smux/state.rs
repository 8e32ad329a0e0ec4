//! What a session's handles and tasks share: the streams' buffers and flow-control
//! counters, the queue of frames for the transport, and the wakers of whoever waits.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::Bytes;

use super::config::{FRAME_COST, INITIAL_PEER_WINDOW, MuxConfig};
use super::frame::{Cmd, Header};

pub(super) struct StreamState {
    /// Received data not yet read.
    pub(super) recv: VecDeque<Bytes>,
    /// The peer sent FIN.
    pub(super) fin_received: bool,
    pub(super) read_waker: Option<Waker>,
    pub(super) write_waker: Option<Waker>,
    /// v2 flow control (wrapping counters, as in smux).
    pub(super) num_read: u32,
    pub(super) incr: u32,
    pub(super) num_written: u32,
    pub(super) peer_consumed: u32,
    pub(super) peer_window: u32,
}

impl StreamState {
    pub(super) fn new() -> StreamState {
        StreamState {
            recv: VecDeque::new(),
            fin_received: false,
            read_waker: None,
            write_waker: None,
            num_read: 0,
            incr: 0,
            num_written: 0,
            peer_consumed: 0,
            peer_window: INITIAL_PEER_WINDOW,
        }
    }

    pub(super) fn wake(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }
}

pub(super) struct State {
    pub(super) streams: HashMap<u32, StreamState>,
    pub(super) next_id: u32,
    /// Receive tokens left: `max_receive_buffer` minus what the frames waiting in streams
    /// cost (payload plus `FRAME_COST` each).
    pub(super) bucket: i64,
    /// Frames waiting for the writer task.
    pub(super) queue: Vec<u8>,
    /// Streams waiting for room in `queue`.
    pub(super) queue_waiters: Vec<Waker>,
    pub(super) writer_waker: Option<Waker>,
    pub(super) reader_waker: Option<Waker>,
    pub(super) accepts: VecDeque<u32>,
    pub(super) accept_waker: Option<Waker>,
    /// Tasks waiting for the session to end.
    pub(super) close_waiters: Vec<Waker>,
    /// Why the session ended, once it has.
    pub(super) closed: Option<(io::ErrorKind, String)>,
    /// Something arrived since the last keepalive check.
    pub(super) data_ready: bool,
    /// [`Session::set_liveness`](super::Session::set_liveness)'s probe and its last value.
    pub(super) liveness: Option<(Liveness, u64)>,
}

/// A count that grows while the transport hears from the peer.
pub(super) type Liveness = Box<dyn Fn() -> u64 + Send>;

pub(super) struct Shared {
    pub(super) config: MuxConfig,
    pub(super) state: Mutex<State>,
    /// The protocol version in use: `config.version`, or with
    /// [`MuxConfig::detect_version`] the version of the peer's first frame.
    pub(super) version: std::sync::atomic::AtomicU8,
    /// The version is known: not detecting, or the peer's first frame arrived.
    pub(super) version_known: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn version(&self) -> u8 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(super) fn version_known(&self) -> bool {
        self.version_known
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Takes the peer's version from its first frame, when detecting.
    pub(super) fn learn_version(&self, v: u8) {
        if !self.version_known() && (1..=2).contains(&v) {
            self.version.store(v, std::sync::atomic::Ordering::Release);
            self.version_known
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

impl State {
    pub(super) fn error(&self) -> Option<io::Error> {
        self.closed
            .as_ref()
            .map(|(kind, why)| io::Error::new(*kind, why.clone()))
    }

    /// Ends the session (the first reason sticks) and wakes everyone.
    pub(super) fn close(&mut self, kind: io::ErrorKind, why: impl Into<String>) {
        if self.closed.is_none() {
            self.closed = Some((kind, why.into()));
        }
        for s in self.streams.values_mut() {
            s.wake();
        }
        for w in self
            .queue_waiters
            .drain(..)
            .chain(self.close_waiters.drain(..))
        {
            w.wake();
        }
        for w in [
            self.writer_waker.take(),
            self.reader_waker.take(),
            self.accept_waker.take(),
        ]
        .into_iter()
        .flatten()
        {
            w.wake();
        }
    }

    /// Queues a frame without payload (SYN, FIN, NOP), whatever the queue holds.
    pub(super) fn push_control(&mut self, version: u8, cmd: Cmd, sid: u32) {
        Header::emit(&mut self.queue, version, cmd, 0, sid);
        self.wake_writer();
    }

    pub(super) fn wake_writer(&mut self) {
        if let Some(w) = self.writer_waker.take() {
            w.wake();
        }
    }

    /// Returns `n` receive tokens; wakes the reader if it was waiting for them.
    pub(super) fn return_tokens(&mut self, n: usize) {
        let was_empty = self.bucket <= 0;
        self.bucket += n as i64;
        if was_empty
            && self.bucket > 0
            && let Some(w) = self.reader_waker.take()
        {
            w.wake();
        }
    }

    /// Forgets stream `sid`, returning the tokens of what it never read.
    pub(super) fn remove_stream(&mut self, sid: u32) {
        if let Some(s) = self.streams.remove(&sid) {
            let unread: usize = s.recv.iter().map(Bytes::len).sum();
            self.return_tokens(unread + s.recv.len() * FRAME_COST);
        }
    }
}

/// Resolves once the session has ended, with why.
pub(super) async fn wait_closed(shared: &Shared) -> io::Error {
    poll_fn(|cx| {
        let mut st = shared.lock();
        if let Some(e) = st.error() {
            return Poll::Ready(e);
        }
        // Each task registers once, however often it polls.
        if !st.close_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.close_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    })
    .await
}
