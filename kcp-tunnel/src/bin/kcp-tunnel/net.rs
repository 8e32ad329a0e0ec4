//! Sockets: dialing KCP sessions (with the plugin's outbound bind options) and
//! connecting to the target (TCP or a unix socket).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kcp_session::{KcpStream, OwnedWriteHalf, Settings};
use kcp_tunnel::config::Options;
use kcp_tunnel::smux::Session;
use kcp_tunnel::snappy::SnappyReader;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// Dials a KCP session to `addr`. Without outbound options this is kcp-go's
/// `DialWithOptions`; with them, the UDP socket is bound to `outbound_bind_addr`, the
/// interface, and the firewall mark first.
pub(crate) async fn dial(addr: &str, o: &Options, settings: &Settings) -> io::Result<KcpStream> {
    if o.bind_addr.is_none() && o.bind_interface.is_none() && o.fwmark.is_none() {
        return KcpStream::connect(addr, settings).await;
    }
    let remote = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to dial"))?;
    let socket = outbound_socket(remote, o)?;
    let mut conv = [0u8; 4];
    getrandom::fill(&mut conv).map_err(io::Error::other)?;
    KcpStream::connect_with(socket, remote, u32::from_le_bytes(conv), settings)
}

fn outbound_socket(remote: SocketAddr, o: &Options) -> io::Result<tokio::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if remote.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(mark) = o.fwmark {
            socket.set_mark(mark)?;
        }
        if let Some(iface) = &o.bind_interface {
            socket.bind_device(Some(iface.as_bytes()))?;
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if o.fwmark.is_some() || o.bind_interface.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "outbound_fwmark and outbound_bind_interface need Linux",
        ));
    }
    let local: SocketAddr = match (o.bind_addr, remote) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        (None, SocketAddr::V6(_)) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    socket.bind(&local.into())?;
    // As kcptun: a failed buffer size is not fatal.
    let _ = socket.set_send_buffer_size(o.kcp.sockbuf);
    let _ = socket.set_recv_buffer_size(o.kcp.sockbuf);
    socket.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(socket.into())
}

/// A KCP session's write half that notes, at each write (a NOP at least every keepalive
/// interval), how many KCP segments the session has received: the smux session's
/// liveness probe for when it cannot read frames ([`Session::set_liveness`]).
///
/// [`Session::set_liveness`]: kcp_tunnel::smux::Session::set_liveness
pub(crate) struct Watched {
    inner: OwnedWriteHalf,
    heard: Arc<AtomicU64>,
}

impl Watched {
    /// Wraps `inner`; returns the count it keeps.
    pub(crate) fn new(inner: OwnedWriteHalf) -> (Watched, Arc<AtomicU64>) {
        let heard = Arc::new(AtomicU64::new(inner.snmp().in_segs));
        let w = Watched {
            inner,
            heard: Arc::clone(&heard),
        };
        (w, heard)
    }

    fn note(&self) {
        self.heard
            .store(self.inner.snmp().in_segs, Ordering::Relaxed);
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        me.note();
        Pin::new(&mut me.inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Starts the smux session of one KCP session (`server` for the server's end), with
/// kcptun's snappy framing unless `--nocomp`, and the liveness probe.
pub(crate) fn mux_session(kcp: KcpStream, o: &Options, server: bool) -> Session {
    let (r, w) = kcp.into_split();
    let (w, heard) = Watched::new(w);
    let start = if server {
        Session::server::<_, Watched>
    } else {
        Session::client::<_, Watched>
    };
    let session = if o.nocomp {
        start(Box::new(r) as Reader, w, o.mux_config(), false)
    } else {
        start(Box::new(SnappyReader::new(r)), w, o.mux_config(), true)
    };
    session.set_liveness(move || heard.load(Ordering::Relaxed));
    session
}

type Reader = Box<dyn AsyncRead + Unpin + Send>;

/// A connection to the target: TCP, or a unix socket when the target is not host:port
/// (as kcptun decides with `net.SplitHostPort`).
pub(crate) enum Target {
    /// TCP.
    Tcp(TcpStream),
    /// A unix socket.
    Unix(UnixStream),
}

impl Target {
    /// Connects to `target`.
    pub(crate) async fn connect(target: &str) -> io::Result<Target> {
        let tcp = target
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && !port.contains('/'));
        if tcp {
            let s = TcpStream::connect(target).await?;
            let _ = s.set_nodelay(true);
            Ok(Target::Tcp(s))
        } else {
            Ok(Target::Unix(UnixStream::connect(target).await?))
        }
    }

    /// The peer, for log lines.
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::Tcp(s) => s.peer_addr().map_or_else(|_| "?".into(), |a| a.to_string()),
            Target::Unix(s) => s
                .peer_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "unix".into()),
        }
    }
}

impl AsyncRead for Target {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Target::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Target::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Target {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Target::Tcp(s) => Pin::new(s).poll_write(cx, data),
            Target::Unix(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Target::Tcp(s) => Pin::new(s).poll_flush(cx),
            Target::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Target::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Target::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
