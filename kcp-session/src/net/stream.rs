//! `KcpStream`: one session as a tokio byte stream, and its split halves.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UdpSocket, lookup_host};

use crate::config::Settings;
use crate::session::{DeadReason, RecvError, SendError, State};
use crate::snmp::{Snmp, global_counters};

use super::endpoint::{self, Conn, ConnState};
use super::socket;

/// One KCP session over UDP as an async byte stream, wire-compatible with kcp-go's
/// `UDPSession`. Get one from [`KcpStream::connect`] or [`KcpListener::accept`].
///
/// - Reads return bytes as they arrive in order. KCP carries no FIN, so a read never
///   returns `Ok(0)` (end of stream) while the stream exists: mark the end of your data
///   in the application protocol. A vanished peer makes reads and writes fail with
///   [`io::ErrorKind::TimedOut`]
///   (nothing received for [`Config::idle_timeout`]) or
///   [`io::ErrorKind::ConnectionAborted`] (dead link); a peer that reconnected from the
///   same address with a new conversation ends this one with
///   [`io::ErrorKind::ConnectionReset`].
/// - Writes take the whole buffer when the send window has room and are pending while it
///   is full: back-pressure, never an unbounded queue. Each write is flushed at once
///   unless [`Config::write_delay`] is set.
/// - `shutdown` waits until everything written has been acknowledged (or the session
///   ended); further writes fail with [`io::ErrorKind::BrokenPipe`]. Reading goes on.
/// - Dropping the stream (both halves, if split) closes the session: what was written
///   keeps being retransmitted for up to [`Config::linger`], then the session is
///   forgotten. The peer is not told (kcp-go behaves the same).
///
/// [`KcpListener::accept`]: crate::KcpListener::accept
/// [`Config::idle_timeout`]: crate::Config::idle_timeout
/// [`Config::write_delay`]: crate::Config::write_delay
/// [`Config::linger`]: crate::Config::linger
#[derive(Debug)]
pub struct KcpStream {
    handle: Handle,
    write_shut: bool,
}

/// The reading half of a [`KcpStream`], from [`KcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    handle: Handle,
}

/// The writing half of a [`KcpStream`], from [`KcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    handle: Handle,
    write_shut: bool,
}

/// A counted reference to the session; the last one to go closes it.
#[derive(Debug)]
struct Handle(Arc<Conn>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Handle {
    fn duplicate(&self) -> Handle {
        self.0.lock().handles += 1;
        Handle(Arc::clone(&self.0))
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
        let socket = socket::bind(local, settings)?;
        let mut conv = [0u8; 4];
        getrandom::fill(&mut conv).map_err(io::Error::other)?;
        Self::dial_on(socket, remote, u32::from_le_bytes(conv), settings)
    }

    /// Dials `remote` over `socket` with conversation id `conv` (kcp-go's `NewConn3`). The
    /// socket then belongs to the session.
    pub fn connect_with(
        socket: UdpSocket,
        remote: SocketAddr,
        conv: u32,
        settings: &Settings,
    ) -> io::Result<KcpStream> {
        Self::dial_on(socket, remote, conv, settings)
    }

    fn dial_on(
        socket: UdpSocket,
        remote: SocketAddr,
        conv: u32,
        settings: &Settings,
    ) -> io::Result<KcpStream> {
        let ep = endpoint::spawn(socket, settings.clone(), None)?;
        let conn = endpoint::new_conn(&ep, remote, conv);
        endpoint::serve_dialed(&conn);
        global_counters()
            .active_opens
            .fetch_add(1, Ordering::Relaxed);
        Ok(KcpStream::from_conn(conn))
    }

    pub(crate) fn from_conn(conn: Arc<Conn>) -> KcpStream {
        {
            // Give the driver the session's first deadline (the idle timeout).
            let mut st = conn.lock();
            conn.with(&mut st, |_, _, _| ());
        }
        KcpStream {
            handle: Handle(conn),
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

    /// The conversation id (random for a dialed session, the peer's for an accepted one).
    pub fn conv(&self) -> u32 {
        info(&self.handle.0).conv
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.handle.0.remote
    }

    /// The local address of the UDP socket (shared with the listener for accepted
    /// sessions).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.handle.0.endpoint.udp.socket.local_addr()
    }

    /// This session's counters in kcp-go's SNMP set.
    pub fn snmp(&self) -> Snmp {
        self.handle.0.lock().session.snmp()
    }

    /// RTT and window read-outs of the session's KCP state.
    pub fn info(&self) -> SessionInfo {
        info(&self.handle.0)
    }
}

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

fn info(conn: &Conn) -> SessionInfo {
    let st = conn.lock();
    let k = st.session.kcp();
    SessionInfo {
        conv: k.conv(),
        srtt: k.srtt(),
        rttvar: k.rttvar(),
        rto: k.rto(),
        wait_snd: k.wait_snd(),
        rmt_wnd: k.rmt_wnd(),
        cwnd: k.cwnd(),
    }
}

impl OwnedReadHalf {
    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.handle.0.remote
    }

    /// The session's counters in kcp-go's SNMP set.
    pub fn snmp(&self) -> Snmp {
        self.handle.0.lock().session.snmp()
    }

    /// Joins the halves of one stream again; hands them back if they belong to different
    /// streams.
    pub fn reunite(self, write: OwnedWriteHalf) -> Result<KcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.handle.0, &write.handle.0) {
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

impl OwnedWriteHalf {
    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.handle.0.remote
    }

    /// The session's counters in kcp-go's SNMP set.
    pub fn snmp(&self) -> Snmp {
        self.handle.0.lock().session.snmp()
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

fn dead(reason: DeadReason) -> io::Error {
    let kind = match reason {
        DeadReason::IdleTimeout => io::ErrorKind::TimedOut,
        DeadReason::DeadLink => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, reason.to_string())
}

/// Why the session cannot go on, if it cannot, apart from its own state.
fn broken(st: &ConnState) -> Option<io::Error> {
    if let Some(kind) = st.socket_error {
        return Some(io::Error::new(kind, "the UDP socket failed"));
    }
    st.replaced.then(|| {
        io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the peer started a new conversation from the same address",
        )
    })
}

fn poll_read(
    conn: &Arc<Conn>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let mut st = conn.lock();
    let dst = buf.initialize_unfilled();
    let received = conn.with(&mut st, |s, now, tx| {
        let r = s.recv(dst);
        if s.window_reopened() {
            s.flush(now, tx);
        }
        r
    });
    match received {
        Ok(n) => {
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
        Err(RecvError::Closed) => Poll::Ready(Ok(())),
        Err(RecvError::Dead(r)) => Poll::Ready(Err(dead(r))),
        Err(_) => {
            if let Some(e) = broken(&st) {
                return Poll::Ready(Err(e));
            }
            st.read_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

fn poll_write(
    conn: &Arc<Conn>,
    shut: bool,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    if shut {
        return Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "write half shut down",
        )));
    }
    let mut st = conn.lock();
    if let Some(e) = broken(&st) {
        return Poll::Ready(Err(e));
    }
    match conn.with(&mut st, |s, now, tx| s.send(now, data, tx)) {
        Ok(n) => Poll::Ready(Ok(n)),
        Err(SendError::WouldBlock) => {
            st.write_waker = Some(cx.waker().clone());
            Poll::Pending
        }
        Err(SendError::Dead(r)) => Poll::Ready(Err(dead(r))),
        Err(SendError::Closed) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "session closed",
        ))),
        Err(e) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            e.to_string(),
        ))),
    }
}

fn poll_flush(conn: &Arc<Conn>) -> Poll<io::Result<()>> {
    let mut st = conn.lock();
    if st.session.settings().config().write_delay {
        conn.with(&mut st, |s, now, tx| s.flush(now, tx));
    }
    Poll::Ready(Ok(()))
}

/// Flushes and waits until the peer acknowledged everything written.
fn poll_shutdown(conn: &Arc<Conn>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let mut st = conn.lock();
    conn.with(&mut st, |s, now, tx| s.flush(now, tx));
    if let Some(e) = broken(&st) {
        return Poll::Ready(Err(e));
    }
    match st.session.state() {
        State::Dead(r) => return Poll::Ready(Err(dead(r))),
        State::Closing | State::Closed => return Poll::Ready(Ok(())),
        State::Open => {}
    }
    if st.session.kcp().wait_snd() == 0 {
        return Poll::Ready(Ok(()));
    }
    st.write_waker = Some(cx.waker().clone());
    Poll::Pending
}

impl AsyncRead for KcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read(&self.handle.0, cx, buf)
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read(&self.handle.0, cx, buf)
    }
}

impl AsyncWrite for KcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.handle.0, self.write_shut, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush(&self.handle.0)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_shut = true;
        poll_shutdown(&self.handle.0, cx)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.handle.0, self.write_shut, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush(&self.handle.0)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_shut = true;
        poll_shutdown(&self.handle.0, cx)
    }
}
