//! `KcpStream`: one session as a tokio byte stream, and its split halves.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::vec::Vec;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UdpSocket, lookup_host};

use crate::config::Settings;
use crate::endpoint::Handle;
use crate::session::{DatagramError, DeadReason, RecvError, SendError, State};
use crate::snmp::Snmp;

use super::bind;
use super::driver::Shared;

/// One KCP session over UDP as an async byte stream, wire-compatible with kcp-go's
/// `UDPSession`. Get one from [`KcpStream::connect`] or [`KcpListener::accept`].
///
/// - Reads return bytes as they arrive in order. KCP carries no FIN, so a read never
///   returns `Ok(0)` (end of stream) while the stream exists: mark the end of your data
///   in the application protocol. A vanished peer makes reads and writes fail with
///   [`io::ErrorKind::TimedOut`] (nothing received for [`Config::idle_timeout`]) or, with
///   [`Config::dead_link`] set, [`io::ErrorKind::ConnectionAborted`]; a peer that
///   reconnected from the same address with a new conversation ends this one with
///   [`io::ErrorKind::ConnectionReset`]. The error carries the session's [`State`]
///   (with its [`DeadReason`](crate::DeadReason)): match it with
///   `err.get_ref().and_then(|e| e.downcast_ref::<State>())`. If the socket's driver
///   stops (a socket error), every operation fails with that error instead of waiting.
/// - Writes take what the send window holds and are pending while it is full:
///   back-pressure, never an unbounded queue. Each write is flushed at once unless
///   [`Config::write_delay`] is set.
/// - `shutdown` waits until everything written has been acknowledged (or the session
///   ended); further writes fail with [`io::ErrorKind::BrokenPipe`]. Reading goes on.
/// - Dropping the stream (both halves, if split) closes the session: what was written
///   keeps being retransmitted for up to [`Config::linger`], then the session is
///   forgotten. The peer is not told (kcp-go behaves the same).
///
/// Beside the bytes, a stream carries whole messages in message mode
/// (`send_message`/`recv_message`) and, with FEC on, unreliable datagrams
/// (`send_datagram`/`recv_datagram`, kcp-go's out-of-band wire): for a game, state as
/// datagrams and events on the stream.
///
/// ```no_run
/// use kcp_session::{Config, KcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # async fn game() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = Config::kcptun().build()?; // FEC 10/3: datagrams work
/// let (mut read, mut write) = KcpStream::connect("127.0.0.1:4000", &settings)
///     .await?
///     .into_split();
/// write.write_all(b"join\n").await?; // reliable, in order
/// write.send_datagram(b"position 1 2")?; // at once, never resent
/// let mut buf = [0u8; 1024];
/// loop {
///     // The datagram future borrows nothing and is cancel-safe: it waits beside a read.
///     let datagram = read.recv_datagram();
///     tokio::select! {
///         n = read.read(&mut buf) => println!("event bytes: {:?}", &buf[..n?]),
///         d = datagram => println!("state: {:?}", d?),
///     }
/// }
/// # }
/// ```
///
/// [`KcpListener::accept`]: crate::KcpListener::accept
/// [`State`]: crate::State
/// [`Config::idle_timeout`]: crate::Config::idle_timeout
/// [`Config::dead_link`]: crate::Config::dead_link
/// [`Config::write_delay`]: crate::Config::write_delay
/// [`Config::linger`]: crate::Config::linger
#[derive(Debug)]
pub struct KcpStream {
    pub(super) handle: StreamHandle,
    write_shut: bool,
}

/// The reading half of a [`KcpStream`], from [`KcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    handle: StreamHandle,
}

/// The writing half of a [`KcpStream`], from [`KcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    handle: StreamHandle,
    write_shut: bool,
}

/// A counted reference to one session of a socket; the last one to go releases it.
#[derive(Debug)]
pub(crate) struct StreamHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) session: Handle,
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.shared.release(self.session);
    }
}

impl StreamHandle {
    fn duplicate(&self) -> StreamHandle {
        self.shared.duplicate(self.session);
        StreamHandle {
            shared: Arc::clone(&self.shared),
            session: self.session,
        }
    }

    /// Runs `f` on the session's read-outs.
    fn inspect<R>(&self, f: impl FnOnce(&crate::Session) -> R) -> Option<R> {
        let st = self.shared.lock();
        st.endpoint.session(self.session).map(f)
    }
}

impl KcpStream {
    /// Dials `addr` (kcp-go's `DialWithOptions`): binds an ephemeral UDP port, picks a
    /// random conversation id and returns at once; KCP has no handshake, so an unreachable
    /// peer shows up later as a timeout on reads and writes. Needs a tokio runtime; a
    /// driver task serves the session until it is closed.
    pub async fn connect(
        addr: impl tokio::net::ToSocketAddrs,
        settings: &Settings,
    ) -> io::Result<KcpStream> {
        let remote = lookup_host(addr).await?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        })?;
        let local: SocketAddr = if remote.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = bind::bind(local, settings, false)?;
        Self::dial(socket, settings, |endpoint, now| {
            endpoint
                .connect(now, remote)
                .expect("a new endpoint has no sessions")
        })
    }

    /// Dials `remote` over `socket` with conversation id `conv` (kcp-go's `NewConn3`). The
    /// socket then belongs to the session.
    pub fn connect_with(
        socket: UdpSocket,
        remote: SocketAddr,
        conv: u32,
        settings: &Settings,
    ) -> io::Result<KcpStream> {
        Self::dial(socket, settings, |endpoint, now| {
            endpoint
                .connect_with_conv(now, remote, conv)
                .expect("a new endpoint has no sessions")
        })
    }

    fn dial(
        socket: UdpSocket,
        settings: &Settings,
        connect: impl FnOnce(&mut crate::Endpoint, u32) -> Handle,
    ) -> io::Result<KcpStream> {
        let (shared, h) = Shared::spawn(socket, settings, |endpoint, now| {
            Some(connect(endpoint, now))
        })?;
        let session = h.expect("dialing opens a session");
        Ok(KcpStream::new(shared, session))
    }

    /// A stream over session `session`, whose first handle the caller adopted.
    pub(crate) fn new(shared: Arc<Shared>, session: Handle) -> KcpStream {
        KcpStream {
            handle: StreamHandle { shared, session },
            write_shut: false,
        }
    }

    /// Splits the stream into halves that can move to different tasks. The session
    /// closes when both are dropped.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let read = OwnedReadHalf {
            handle: self.handle.duplicate(),
        };
        let write = OwnedWriteHalf {
            handle: self.handle,
            write_shut: self.write_shut,
        };
        (read, write)
    }
}

/// The read-outs every handle on a session has: the stream and both halves.
macro_rules! accessors {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The conversation id (random for a dialed session, the peer's for an
            /// accepted one).
            pub fn conv(&self) -> u32 {
                self.info().conv
            }

            /// The local address of the UDP socket (shared with the listener for
            /// accepted sessions). One system call.
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.handle.shared.udp.socket.local_addr()
            }

            /// RTT and window read-outs of the session's KCP state; takes the socket's
            /// lock for a moment.
            pub fn info(&self) -> SessionInfo {
                info(&self.handle)
            }

            /// The largest message `send_message` takes; 0 in stream mode.
            pub fn max_message_size(&self) -> usize {
                self.handle
                    .inspect(crate::Session::max_message_size)
                    .unwrap_or(0)
            }

            /// The largest payload `send_datagram` takes (see
            /// [`Session::max_datagram_size`](crate::Session::max_datagram_size)); 0
            /// without FEC.
            pub fn max_datagram_size(&self) -> usize {
                self.handle
                    .inspect(crate::Session::max_datagram_size)
                    .unwrap_or(0)
            }

            /// Sends `data` as one unreliable datagram beside the stream, on kcp-go's
            /// out-of-band wire (kcp-go 5.6.60+ `SetOOBHandler` receives it): sent at
            /// once, never retransmitted, never waiting behind lost stream data; lost or
            /// reordered on a bad link. For state the next update supersedes. Costs one
            /// allocation, one seal and one system call.
            ///
            /// Fails, never drops silently: [`io::ErrorKind::Unsupported`] without FEC
            /// (kcp-go frames datagrams only with FEC on),
            /// [`io::ErrorKind::InvalidInput`] beyond `max_datagram_size`,
            /// [`io::ErrorKind::WouldBlock`] while an accepted session's peer has not
            /// proven its address and the amplification budget is spent; the inner
            /// error is the [`DatagramError`](crate::DatagramError). Once the session
            /// ended, as `write` does.
            pub fn send_datagram(&self, data: &[u8]) -> io::Result<()> {
                send_datagram(&self.handle, data)
            }

            /// Waits for the next unreliable datagram from the peer (sent with
            /// `send_datagram` or kcp-go's `SendOOB`). The future borrows nothing, so
            /// it can wait in a `select!` beside a `read` of the same handle, and is
            /// cancel-safe: a datagram leaves the queue only when it returns. Datagrams
            /// not taken wait in a queue of
            /// [`Config::datagram_queue`](crate::Config::datagram_queue), the oldest
            /// dropped (and counted in `datagram_stats`) when it is full. Fails once the
            /// session ended and no datagram remains.
            pub fn recv_datagram(
                &self,
            ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + Send + 'static {
                let (shared, session) = (Arc::clone(&self.handle.shared), self.handle.session);
                async move {
                    std::future::poll_fn(|cx| poll_recv_datagram(&shared, session, cx)).await
                }
            }

            /// This session's datagram counters (sent, received, dropped).
            pub fn datagram_stats(&self) -> crate::DatagramStats {
                self.handle
                    .inspect(crate::Session::datagram_stats)
                    .unwrap_or_default()
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> SocketAddr {
                peer_addr(&self.handle)
            }

            /// This session's counters in kcp-go's SNMP set.
            pub fn snmp(&self) -> Snmp {
                snmp(&self.handle)
            }
        }
    )*};
}

accessors!(KcpStream, OwnedReadHalf, OwnedWriteHalf);

/// Read-outs of a session's KCP state at one moment, from [`KcpStream::info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Conversation id.
    pub conv: u32,
    /// Smoothed RTT, ms.
    pub srtt: i32,
    /// RTT variation, ms.
    pub rttvar: i32,
    /// Current retransmission timeout, ms.
    pub rto: i32,
    /// Segments queued or in flight, not yet acknowledged.
    pub wait_snd: usize,
    /// The peer's advertised receive window.
    pub rmt_wnd: u32,
    /// Congestion window (not applied with `nc`).
    pub cwnd: u32,
}

fn info(h: &StreamHandle) -> SessionInfo {
    h.inspect(|s| {
        let k = s.kcp();
        SessionInfo {
            conv: k.conv(),
            srtt: k.srtt(),
            rttvar: k.rttvar(),
            rto: k.rto(),
            wait_snd: k.wait_snd(),
            rmt_wnd: k.rmt_wnd(),
            cwnd: k.cwnd(),
        }
    })
    .expect("a stream's session lives until the stream is dropped")
}

fn snmp(h: &StreamHandle) -> Snmp {
    h.inspect(crate::Session::snmp)
        .expect("a stream's session lives until the stream is dropped")
}

fn peer_addr(h: &StreamHandle) -> SocketAddr {
    h.shared
        .lock()
        .endpoint
        .remote(h.session)
        .expect("a stream's session lives until the stream is dropped")
}

impl OwnedReadHalf {
    /// Joins the halves of one stream again; hands them back if they belong to different
    /// streams.
    pub fn reunite(self, write: OwnedWriteHalf) -> Result<KcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.handle.shared, &write.handle.shared)
            || self.handle.session != write.handle.session
        {
            return Err(ReuniteError(self, write));
        }
        // Dropping the read half's handle cannot close the session: the write half holds one.
        drop(self);
        Ok(KcpStream {
            handle: write.handle,
            write_shut: write.write_shut,
        })
    }
}

/// Two halves of different streams passed to [`OwnedReadHalf::reunite`], handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the halves belong to different streams")
    }
}

impl std::error::Error for ReuniteError {}

/// The error of an operation on a session that ended: `kind` for matching, and the
/// [`State`] itself as the inner error, reachable through [`io::Error::get_ref`] and
/// `downcast` (its [`DeadReason`] inside).
pub(crate) fn ended(state: State) -> io::Error {
    let kind = match state {
        State::Dead(DeadReason::IdleTimeout | DeadReason::Unanswered) => io::ErrorKind::TimedOut,
        State::Dead(_) => io::ErrorKind::ConnectionAborted,
        State::Replaced => io::ErrorKind::ConnectionReset,
        State::Open | State::Closing | State::Closed => io::ErrorKind::BrokenPipe,
    };
    io::Error::new(kind, state)
}

pub(super) fn dead(reason: DeadReason) -> io::Error {
    ended(State::Dead(reason))
}

fn replaced() -> io::Error {
    ended(State::Replaced)
}

pub(super) fn driver_failed(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, "the UDP socket's driver stopped")
}

fn poll_read(
    h: &StreamHandle,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let mut st = h.shared.lock();
    let dst = buf.initialize_unfilled();
    let received = st.endpoint.recv(h.session, dst);
    match received {
        Ok(n) => {
            buf.advance(n);
            // A read that reopened a full window has a window update to send.
            h.shared.send_and_unlock(st);
            Poll::Ready(Ok(()))
        }
        Err(RecvError::Closed) => Poll::Ready(Ok(())),
        Err(RecvError::Dead(r)) => Poll::Ready(Err(dead(r))),
        Err(RecvError::Replaced) => Poll::Ready(Err(replaced())),
        Err(_) => {
            if let Some(kind) = st.failed {
                return Poll::Ready(Err(driver_failed(kind)));
            }
            st.wait_read(h.session, cx.waker());
            Poll::Pending
        }
    }
}

fn poll_write(
    h: &StreamHandle,
    shut: bool,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    poll_send(h, shut, cx, |endpoint, now| {
        endpoint.send(now, h.session, data)
    })
}

/// A send on the session (`op`), parking the writer while the send window is full.
fn poll_send<T>(
    h: &StreamHandle,
    shut: bool,
    cx: &mut Context<'_>,
    op: impl FnOnce(&mut crate::Endpoint, u32) -> Result<T, SendError>,
) -> Poll<io::Result<T>> {
    if shut {
        return Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "write half shut down",
        )));
    }
    let mut st = h.shared.lock();
    if let Some(kind) = st.failed {
        return Poll::Ready(Err(driver_failed(kind)));
    }
    let now = h.shared.now();
    match op(&mut st.endpoint, now) {
        Ok(v) => {
            h.shared.send_and_unlock(st);
            Poll::Ready(Ok(v))
        }
        Err(SendError::WouldBlock) => {
            st.wait_write(h.session, cx.waker());
            Poll::Pending
        }
        Err(SendError::Dead(r)) => Poll::Ready(Err(dead(r))),
        Err(SendError::Replaced) => Poll::Ready(Err(replaced())),
        Err(e @ SendError::Closed) => {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, e)))
        }
        Err(e @ SendError::NotMessageMode) => {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::Unsupported, e)))
        }
        Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidInput, e))),
    }
}

fn poll_recv_message(h: &StreamHandle, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
    let mut st = h.shared.lock();
    match st.endpoint.recv_message(h.session) {
        Ok(message) => {
            // A read that reopened a full window has a window update to send.
            h.shared.send_and_unlock(st);
            Poll::Ready(Ok(message))
        }
        Err(RecvError::WouldBlock) => {
            if let Some(kind) = st.failed {
                return Poll::Ready(Err(driver_failed(kind)));
            }
            st.wait_read(h.session, cx.waker());
            Poll::Pending
        }
        Err(RecvError::Dead(r)) => Poll::Ready(Err(dead(r))),
        Err(RecvError::Replaced) => Poll::Ready(Err(replaced())),
        Err(e @ RecvError::NotMessageMode) => {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::Unsupported, e)))
        }
        Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, e))),
    }
}

fn poll_send_message(
    h: &StreamHandle,
    shut: bool,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<()>> {
    poll_send(h, shut, cx, |endpoint, now| {
        endpoint.send_message(now, h.session, data)
    })
}

fn send_datagram(h: &StreamHandle, data: &[u8]) -> io::Result<()> {
    let mut st = h.shared.lock();
    if let Some(kind) = st.failed {
        return Err(driver_failed(kind));
    }
    let now = h.shared.now();
    match st.endpoint.send_datagram(now, h.session, data) {
        Ok(()) => {
            h.shared.send_and_unlock(st);
            Ok(())
        }
        Err(DatagramError::Ended(state)) => Err(ended(state)),
        Err(e @ DatagramError::Unsupported) => Err(io::Error::new(io::ErrorKind::Unsupported, e)),
        Err(e @ DatagramError::TooLarge) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        Err(e) => Err(io::Error::new(io::ErrorKind::WouldBlock, e)),
    }
}

fn poll_recv_datagram(
    shared: &Shared,
    session: Handle,
    cx: &mut Context<'_>,
) -> Poll<io::Result<Vec<u8>>> {
    let mut st = shared.lock();
    if let Some(d) = st.endpoint.recv_datagram(session) {
        return Poll::Ready(Ok(d));
    }
    let state = st
        .endpoint
        .session(session)
        .map_or(State::Closed, crate::Session::state);
    if state.is_ended() {
        return Poll::Ready(Err(ended(state)));
    }
    if let Some(kind) = st.failed {
        return Poll::Ready(Err(driver_failed(kind)));
    }
    st.wait_datagram(session, cx.waker());
    Poll::Pending
}

/// Sends what a write left queued under [`Config::write_delay`](crate::Config::write_delay).
fn poll_flush(h: &StreamHandle) -> Poll<io::Result<()>> {
    let mut st = h.shared.lock();
    if st.endpoint.settings().config().write_delay {
        let now = h.shared.now();
        st.endpoint.flush(now, h.session);
        h.shared.send_and_unlock(st);
    }
    Poll::Ready(Ok(()))
}

/// Waits until the peer acknowledged everything written.
fn poll_shutdown(h: &StreamHandle, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let mut st = h.shared.lock();
    let (state, waiting) = st
        .endpoint
        .session(h.session)
        .map_or((State::Closed, 0), |s| (s.state(), s.kcp().wait_snd()));
    match state {
        State::Dead(r) => return Poll::Ready(Err(dead(r))),
        State::Replaced => return Poll::Ready(Err(replaced())),
        State::Closing | State::Closed => return Poll::Ready(Ok(())),
        State::Open => {}
    }
    if waiting == 0 {
        return Poll::Ready(Ok(()));
    }
    if let Some(kind) = st.failed {
        return Poll::Ready(Err(driver_failed(kind)));
    }
    st.wait_write(h.session, cx.waker());
    Poll::Pending
}

/// `AsyncRead` and whole messages for the handles that read: the stream and its read half.
macro_rules! reader {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Waits for the next whole message (message mode, [`Config::stream`] off)
            /// and returns it, however large: a message is never split across calls nor
            /// truncated, unlike `read` into a smaller buffer. Pairs with
            /// `send_message`, or with one `Write` of a kcp-go `UDPSession` in message
            /// mode. Costs one allocation of the message's size.
            ///
            /// Fails with [`io::ErrorKind::Unsupported`] in stream mode, and as `read`
            /// does once the session ended.
            ///
            /// [`Config::stream`]: crate::Config::stream
            pub async fn recv_message(&mut self) -> io::Result<Vec<u8>> {
                std::future::poll_fn(|cx| poll_recv_message(&self.handle, cx)).await
            }
        }

        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read(&self.handle, cx, buf)
            }
        }
    )*};
}

/// `AsyncWrite` and whole messages for the handles that write: the stream and its write
/// half.
macro_rules! writer {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Sends `data` as one message (message mode, [`Config::stream`] off),
            /// waiting while the send window is full; the peer's `recv_message` returns
            /// it whole. At most [`max_message_size`](Self::max_message_size) bytes
            /// (127 segments, about 170 KB at the default MTU). Costs what a `write` of
            /// the same bytes costs.
            ///
            /// Fails with [`io::ErrorKind::InvalidInput`] for a message too large,
            /// [`io::ErrorKind::Unsupported`] in stream mode (the inner error is the
            /// [`SendError`](crate::SendError)), and as `write` does once the session
            /// ended or after `shutdown`.
            ///
            /// [`Config::stream`]: crate::Config::stream
            pub async fn send_message(&mut self, data: &[u8]) -> io::Result<()> {
                let shut = self.write_shut;
                std::future::poll_fn(|cx| poll_send_message(&self.handle, shut, cx, data)).await
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                data: &[u8],
            ) -> Poll<io::Result<usize>> {
                poll_write(&self.handle, self.write_shut, cx, data)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                poll_flush(&self.handle)
            }

            fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.write_shut = true;
                poll_shutdown(&self.handle, cx)
            }
        }
    )*};
}

reader!(KcpStream, OwnedReadHalf);
writer!(KcpStream, OwnedWriteHalf);
