//! smux, the stream multiplexer kcptun runs over each KCP session (xtaci/smux 1.5.x,
//! protocol versions 1 and 2), on tokio.
//!
//! A [`Session`] owns a byte transport (a `KcpStream`, with or without kcptun's snappy
//! framing) through two tasks: a reader that parses frames and hands data to the streams,
//! and a writer that sends what the streams queued. A third task sends a NOP every
//! keepalive interval and closes the session when nothing at all arrived for a keepalive
//! timeout (30 s, as smux's default that kcptun keeps).
//!
//! Memory is bounded as in Go's smux:
//! - received data waits in its stream until read; the whole session holds at most
//!   `max_receive_buffer` (kcptun `--smuxbuf`) bytes of it, and the reader stops reading
//!   the transport (so KCP's window closes) while it is full;
//! - with version 2, each stream also honours the peer's window: a writer sends while
//!   `peer window - (written - peer consumed)` is positive, and a reader reports what it
//!   consumed with UPD frames (on its first read and then every `max_stream_buffer / 2`);
//! - writes wait while more than [`WRITE_QUEUE`] bytes are queued for the transport.
//!
//! A malformed frame (wrong version, unknown command, a length that does not fit the
//! command) ends the session with an [`io::ErrorKind::InvalidData`] error; every stream
//! then reads and writes that error.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::frame::{self, Cmd, HEADER_LEN, Header, UPD_LEN};
use super::snappy::Compressor;

/// Bytes of frames queued for the transport before stream writes wait.
pub const WRITE_QUEUE: usize = 64 << 10;
/// smux's default largest PSH payload (kcptun 20210922 keeps it).
pub const MAX_FRAME: usize = 32_768;
/// The window a v2 writer assumes until the peer's first UPD (smux's `initialPeerWindow`).
const INITIAL_PEER_WINDOW: u32 = 262_144;
/// Streams opened by the peer and not yet accepted; SYNs beyond it are answered with FIN.
const ACCEPT_BACKLOG: usize = 1024;
/// Streams open in one session at most; further SYNs are answered with FIN. Bounds what
/// a peer that opens streams and never closes them can make us hold.
pub const MAX_STREAMS: usize = 65_536;

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
}

impl Default for MuxConfig {
    /// kcptun 20210922's: version 1, 4 MiB session buffer, 2 MiB stream buffer, keepalive
    /// every 10 s, timeout 30 s.
    fn default() -> MuxConfig {
        MuxConfig {
            version: 1,
            max_receive_buffer: 4 << 20,
            max_stream_buffer: 2 << 20,
            max_frame: MAX_FRAME,
            keepalive_interval: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
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

struct StreamState {
    /// Received data not yet read.
    recv: VecDeque<Bytes>,
    /// The peer sent FIN.
    fin_received: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// v2 flow control (wrapping counters, as in smux).
    num_read: u32,
    incr: u32,
    num_written: u32,
    peer_consumed: u32,
    peer_window: u32,
}

impl StreamState {
    fn new() -> StreamState {
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

    fn wake(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }
}

struct State {
    streams: HashMap<u32, StreamState>,
    next_id: u32,
    /// Receive tokens left: `max_receive_buffer` minus the bytes waiting in streams.
    bucket: i64,
    /// Frames waiting for the writer task.
    queue: Vec<u8>,
    /// Streams waiting for room in `queue`.
    queue_waiters: Vec<Waker>,
    writer_waker: Option<Waker>,
    reader_waker: Option<Waker>,
    accepts: VecDeque<u32>,
    accept_waker: Option<Waker>,
    /// Tasks waiting for the session to end.
    close_waiters: Vec<Waker>,
    /// Why the session ended, once it has.
    closed: Option<(io::ErrorKind, String)>,
    /// Something arrived since the last keepalive check.
    data_ready: bool,
}

struct Shared {
    config: MuxConfig,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn version(&self) -> u8 {
        self.config.version
    }
}

impl State {
    fn error(&self) -> Option<io::Error> {
        self.closed
            .as_ref()
            .map(|(kind, why)| io::Error::new(*kind, why.clone()))
    }

    /// Ends the session (the first reason sticks) and wakes everyone.
    fn close(&mut self, kind: io::ErrorKind, why: impl Into<String>) {
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
    fn push_control(&mut self, version: u8, cmd: Cmd, sid: u32) {
        Header::emit(&mut self.queue, version, cmd, 0, sid);
        self.wake_writer();
    }

    fn wake_writer(&mut self) {
        if let Some(w) = self.writer_waker.take() {
            w.wake();
        }
    }

    /// Returns `n` receive tokens; wakes the reader if it was waiting for them.
    fn return_tokens(&mut self, n: usize) {
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
    fn remove_stream(&mut self, sid: u32) {
        if let Some(s) = self.streams.remove(&sid) {
            let unread: usize = s.recv.iter().map(Bytes::len).sum();
            self.return_tokens(unread);
        }
    }
}

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
    /// decoded (wrap it in [`SnappyReader`](super::snappy::SnappyReader)). Spawns the
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

    /// Streams open now.
    pub fn num_streams(&self) -> usize {
        self.shared.lock().streams.len()
    }

    /// Waits until the session has ended and returns why.
    pub async fn closed(&self) -> io::Error {
        wait_closed(&self.shared).await
    }
}

/// One multiplexed stream: [`AsyncRead`] + [`AsyncWrite`].
///
/// `shutdown` sends FIN (the peer reads EOF); reading goes on until the peer's FIN.
/// Dropping the stream sends FIN if it was not sent and forgets the stream: data the
/// peer still sends for it is discarded, as in Go's smux.
pub struct Stream {
    shared: Arc<Shared>,
    sid: u32,
    fin_sent: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("sid", &self.sid).finish()
    }
}

impl Stream {
    fn new(shared: Arc<Shared>, sid: u32) -> Stream {
        Stream {
            shared,
            sid,
            fin_sent: false,
        }
    }

    /// The stream id (odd for streams the client opened).
    pub fn id(&self) -> u32 {
        self.sid
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let version = self.shared.version();
        let mut st = self.shared.lock();
        if !self.fin_sent && st.closed.is_none() {
            st.push_control(version, Cmd::Fin, self.sid);
        }
        st.remove_stream(self.sid);
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let config = shared.config;
        let mut st = shared.lock();
        let st = &mut *st;
        let Some(s) = st.streams.get_mut(&self.sid) else {
            return Poll::Ready(Err(st.error().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")
            })));
        };
        let mut n = 0;
        while buf.remaining() > 0 {
            let Some(front) = s.recv.front_mut() else {
                break;
            };
            let m = front.len().min(buf.remaining());
            buf.put_slice(&front[..m]);
            front.advance(m);
            if front.is_empty() {
                s.recv.pop_front();
            }
            n += m;
        }
        if n > 0 {
            let mut upd = None;
            if config.version == 2 {
                s.num_read = s.num_read.wrapping_add(n as u32);
                s.incr = s.incr.wrapping_add(n as u32);
                if s.incr as usize >= config.max_stream_buffer / 2 || s.num_read == n as u32 {
                    upd = Some(s.num_read);
                    s.incr = 0;
                }
            }
            st.return_tokens(n);
            if let Some(consumed) = upd
                && st.closed.is_none()
            {
                frame::emit_upd(
                    &mut st.queue,
                    config.version,
                    self.sid,
                    consumed,
                    config.max_stream_buffer as u32,
                );
                st.wake_writer();
            }
            return Poll::Ready(Ok(()));
        }
        if s.fin_received {
            return Poll::Ready(Ok(()));
        }
        s.read_waker = Some(cx.waker().clone());
        match st.error() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.fin_sent {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream shut down",
            )));
        }
        let config = self.shared.config;
        let mut st = self.shared.lock();
        let st = &mut *st;
        if let Some(e) = st.error() {
            return Poll::Ready(Err(e));
        }
        if st.queue.len() >= WRITE_QUEUE {
            st.queue_waiters.push(cx.waker().clone());
            return Poll::Pending;
        }
        let Some(s) = st.streams.get_mut(&self.sid) else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream closed",
            )));
        };
        let mut n = data.len().min(config.max_frame);
        if config.version == 2 {
            let inflight = s.num_written.wrapping_sub(s.peer_consumed) as i32;
            if inflight < 0 {
                st.close(
                    io::ErrorKind::InvalidData,
                    "invalid protocol: peer consumed more than sent",
                );
                return Poll::Ready(Err(st
                    .error()
                    .unwrap_or_else(|| io::ErrorKind::InvalidData.into())));
            }
            let window = i64::from(s.peer_window) - i64::from(inflight);
            if window <= 0 {
                // A peer that sent FIN may still read and update the window (smux 1.5.16
                // gives up here; waiting is what a half-closed peer needs).
                s.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            n = n.min(window as usize);
            s.num_written = s.num_written.wrapping_add(n as u32);
        }
        Header::emit(&mut st.queue, config.version, Cmd::Psh, n as u16, self.sid);
        st.queue.extend_from_slice(&data[..n]);
        st.wake_writer();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.fin_sent {
            self.fin_sent = true;
            let version = self.shared.version();
            let mut st = self.shared.lock();
            if st.closed.is_none() {
                st.push_control(version, Cmd::Fin, self.sid);
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Resolves once the session has ended, with why.
async fn wait_closed(shared: &Shared) -> io::Error {
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

/// Sends what the streams queue, in batches, until the session ends or the transport
/// fails.
async fn write_loop<W: AsyncWrite + Unpin>(
    shared: Arc<Shared>,
    mut transport: W,
    mut compressor: Option<Compressor>,
) {
    let mut batch: Vec<u8> = Vec::with_capacity(WRITE_QUEUE + HEADER_LEN + MAX_FRAME);
    loop {
        let more = poll_fn(|cx| {
            let mut st = shared.lock();
            if st.closed.is_some() {
                return Poll::Ready(false);
            }
            if st.queue.is_empty() {
                st.writer_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut st.queue, &mut batch);
            for w in st.queue_waiters.drain(..) {
                w.wake();
            }
            Poll::Ready(true)
        })
        .await;
        if !more {
            break;
        }
        let write = async {
            match compressor.as_mut() {
                Some(c) => match c.compress(&batch) {
                    Ok(chunks) => transport.write_all(chunks).await,
                    Err(e) => Err(e),
                },
                None => transport.write_all(&batch).await,
            }
        };
        // A write blocked on a full KCP window must not outlive the session.
        let result = tokio::select! {
            r = write => r,
            _ = wait_closed(&shared) => break,
        };
        batch.clear();
        if let Err(e) = result {
            shared
                .lock()
                .close(e.kind(), format!("transport write failed: {e}"));
            break;
        }
    }
    let _ = transport.shutdown().await;
}

/// Reads frames and dispatches them until the session ends or the transport fails.
async fn read_loop<R: AsyncRead + Unpin>(shared: Arc<Shared>, mut transport: R) {
    let mut buf = BytesMut::with_capacity(128 << 10);
    let version = shared.version();
    let why = loop {
        // Wait for receive tokens, as smux's recvLoop does.
        let open = poll_fn(|cx| {
            let mut st = shared.lock();
            if st.closed.is_some() {
                return Poll::Ready(false);
            }
            if st.bucket > 0 {
                return Poll::Ready(true);
            }
            st.reader_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if !open {
            return;
        }
        if buf.capacity() - buf.len() < 32 << 10 {
            buf.reserve(64 << 10);
        }
        let read = tokio::select! {
            r = transport.read_buf(&mut buf) => r,
            _ = wait_closed(&shared) => return,
        };
        match read {
            Ok(0) => break (io::ErrorKind::UnexpectedEof, "transport ended".to_owned()),
            Ok(_) => {}
            Err(e) => break (e.kind(), format!("transport read failed: {e}")),
        }
        if let Err(e) = dispatch(&shared, &mut buf, version) {
            counters().protocol_errors.fetch_add(1, Ordering::Relaxed);
            break (io::ErrorKind::InvalidData, e.to_string());
        }
    };
    shared.lock().close(why.0, why.1);
}

/// Handles every whole frame at the front of `buf`.
fn dispatch(shared: &Shared, buf: &mut BytesMut, version: u8) -> Result<(), frame::FrameError> {
    let mut st = shared.lock();
    st.data_ready = true;
    loop {
        let Some(head) = buf.get(..HEADER_LEN) else {
            return Ok(());
        };
        let head: &[u8; HEADER_LEN] = head.try_into().unwrap_or(&[0; HEADER_LEN]);
        let h = Header::parse(head, version)?;
        let len = usize::from(h.len);
        if buf.len() < HEADER_LEN + len {
            return Ok(());
        }
        buf.advance(HEADER_LEN);
        let payload = buf.split_to(len).freeze();
        match h.cmd {
            Cmd::Nop => {}
            Cmd::Syn => {
                if !st.streams.contains_key(&h.sid) {
                    if st.accepts.len() >= ACCEPT_BACKLOG || st.streams.len() >= MAX_STREAMS {
                        counters().refused_streams.fetch_add(1, Ordering::Relaxed);
                        st.push_control(version, Cmd::Fin, h.sid);
                    } else {
                        st.streams.insert(h.sid, StreamState::new());
                        st.accepts.push_back(h.sid);
                        if let Some(w) = st.accept_waker.take() {
                            w.wake();
                        }
                    }
                }
            }
            Cmd::Fin => {
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    s.fin_received = true;
                    s.wake();
                }
            }
            Cmd::Psh => {
                if len == 0 {
                    continue;
                }
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    s.recv.push_back(payload);
                    if let Some(w) = s.read_waker.take() {
                        w.wake();
                    }
                    st.bucket -= len as i64;
                } else {
                    counters()
                        .discarded_bytes
                        .fetch_add(len as u64, Ordering::Relaxed);
                }
            }
            Cmd::Upd => {
                let upd: &[u8; UPD_LEN] = payload[..].try_into().unwrap_or(&[0; UPD_LEN]);
                let (consumed, window) = frame::parse_upd(upd);
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    s.peer_consumed = consumed;
                    s.peer_window = window;
                    if let Some(w) = s.write_waker.take() {
                        w.wake();
                    }
                }
            }
        }
    }
}

/// Sends a NOP every keepalive interval; closes the session when no frame arrived for a
/// keepalive timeout while it had room to receive (smux's rule).
async fn keepalive(shared: Arc<Shared>) {
    let config = shared.config;
    let start = tokio::time::Instant::now();
    let mut ping =
        tokio::time::interval_at(start + config.keepalive_interval, config.keepalive_interval);
    let mut check =
        tokio::time::interval_at(start + config.keepalive_timeout, config.keepalive_timeout);
    loop {
        tokio::select! {
            _ = ping.tick() => {
                let mut st = shared.lock();
                if st.closed.is_some() {
                    return;
                }
                st.push_control(config.version, Cmd::Nop, 0);
            }
            _ = wait_closed(&shared) => return,
            _ = check.tick() => {
                let mut st = shared.lock();
                if st.closed.is_some() {
                    return;
                }
                if !std::mem::take(&mut st.data_ready) && st.bucket > 0 {
                    counters().keepalive_timeouts.fetch_add(1, Ordering::Relaxed);
                    st.close(io::ErrorKind::TimedOut, "smux keepalive timeout");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
