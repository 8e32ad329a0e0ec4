//! [`Session`]: one smux session over a transport, and the tasks it runs.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::config::{MAX_FRAME, MuxConfig, WRITE_QUEUE};
use super::frame::{Cmd, HEADER_LEN};
use super::state::{Shared, State, StreamState, wait_closed};
use super::stream::Stream;
use super::tasks::{keepalive, read_loop, write_loop};
use crate::snappy::Compressor;

/// One smux session over a transport. Cheap to clone; the session lives until it is
/// closed (explicitly, by the peer's transport ending, a protocol error or a keepalive
/// timeout), not when the handles are dropped: drop the streams and call
/// [`Session::close`].
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("version", &self.shared.version())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// The client end (opens odd stream ids from 3, as Go's smux). `compress` puts
    /// kcptun's snappy framing on the write side; the read side is given already
    /// decoded (wrap it in [`SnappyReader`](crate::snappy::SnappyReader)). Spawns the
    /// session's tasks on the current tokio runtime.
    pub fn client<R, W>(reader: R, writer: W, config: MuxConfig, compress: bool) -> Session
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        Session::start(reader, writer, config, compress, 1)
    }

    /// The server end (opens even ids, accepts the client's).
    pub fn server<R, W>(reader: R, writer: W, config: MuxConfig, compress: bool) -> Session
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        Session::start(reader, writer, config, compress, 0)
    }

    fn start<R, W>(reader: R, writer: W, config: MuxConfig, compress: bool, first: u32) -> Session
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            config,
            version: std::sync::atomic::AtomicU8::new(config.version),
            version_known: std::sync::atomic::AtomicBool::new(!config.detect_version),
            state: Mutex::new(State {
                streams: HashMap::new(),
                next_id: first,
                bucket: config.max_receive_buffer as i64,
                queue: Vec::with_capacity(WRITE_QUEUE + HEADER_LEN + MAX_FRAME),
                queue_waiters: Vec::new(),
                writer_waker: None,
                reader_waker: None,
                accepts: VecDeque::new(),
                accept_waker: None,
                close_waiters: Vec::new(),
                closed: None,
                data_ready: false,
                liveness: None,
            }),
        });
        tokio::spawn(read_loop(Arc::clone(&shared), reader));
        tokio::spawn(write_loop(
            Arc::clone(&shared),
            writer,
            compress.then(Compressor::new),
        ));
        tokio::spawn(keepalive(Arc::clone(&shared)));
        Session { shared }
    }

    /// Opens a stream: queues its SYN and returns at once (smux has no handshake).
    pub fn open(&self) -> io::Result<Stream> {
        let mut st = self.shared.lock();
        if let Some(e) = st.error() {
            return Err(e);
        }
        let sid = st.next_id.wrapping_add(2);
        if sid < st.next_id {
            return Err(io::Error::other(
                "stream ids exhausted, start a new session",
            ));
        }
        st.next_id = sid;
        st.streams.insert(sid, StreamState::new());
        let version = self.shared.version();
        st.push_control(version, Cmd::Syn, sid);
        drop(st);
        Ok(Stream::new(Arc::clone(&self.shared), sid))
    }

    /// Waits for a stream the peer opened; fails once the session has ended.
    pub async fn accept(&self) -> io::Result<Stream> {
        poll_fn(|cx| {
            let mut st = self.shared.lock();
            if let Some(sid) = st.accepts.pop_front() {
                return Poll::Ready(Ok(Stream::new(Arc::clone(&self.shared), sid)));
            }
            if let Some(e) = st.error() {
                return Poll::Ready(Err(e));
            }
            st.accept_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Ends the session: its tasks stop, the transport is dropped, every stream fails.
    pub fn close(&self) {
        self.shared
            .lock()
            .close(io::ErrorKind::BrokenPipe, "smux session closed");
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed.is_some()
    }

    /// Why the session ended, if it has.
    pub fn error(&self) -> Option<io::Error> {
        self.shared.lock().error()
    }

    /// Gives the keepalive check a count that grows while the transport hears from the
    /// peer (for a `KcpStream`, the KCP segments it received). While the receive budget is
    /// full (or the queue for the transport is), the session reads no frames, so smux's
    /// rule cannot tell a slow local reader from a peer that is gone and keeps such a
    /// session forever; with this probe, it ends when the count did not move for a
    /// keepalive timeout. Costs one call per keepalive timeout.
    pub fn set_liveness(&self, arrivals: impl Fn() -> u64 + Send + 'static) {
        let first = arrivals();
        self.shared.lock().liveness = Some((Box::new(arrivals), first));
    }

    /// Bytes the session holds now: what the frames waiting in its streams cost against
    /// the receive budget (payload plus a fixed cost per frame), and the frames queued for
    /// the transport. Stays under `max_receive_buffer` plus about 230 KiB (one frame past
    /// the budget and the queue's limit), whatever the peer sends. Costs one lock.
    pub fn buffered_bytes(&self) -> usize {
        let st = self.shared.lock();
        let held = self.shared.config.max_receive_buffer as i64 - st.bucket;
        usize::try_from(held).unwrap_or(0) + st.queue.len()
    }

    /// Streams open now.
    pub fn num_streams(&self) -> usize {
        self.shared.lock().streams.len()
    }

    /// Waits until the session has ended and returns why.
    pub async fn closed(&self) -> io::Error {
        wait_closed(&self.shared).await
    }
}
