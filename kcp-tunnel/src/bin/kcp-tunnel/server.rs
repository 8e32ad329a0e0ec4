//! The remote end (kcptun-server): accepts KCP sessions on every port of `-l` and
//! connects each smux stream (or, with `--raw`, each session) to the target.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use kcp_session::{KcpListener, KcpStream, Settings};
use kcp_tunnel::config::{Options, host_port, port_range};
use kcp_tunnel::pipe::{pipe_idle, pipe_with};
use kcp_tunnel::qpp::{Pads, QppStream};
use kcp_tunnel::smux::Stream;
use tokio::sync::Semaphore;

use crate::log::{log, log_stream};
use crate::net::{self, Target};

/// Binds every listen port; the listeners are served by [`run`].
pub(crate) async fn bind(o: &Options, settings: &Settings) -> io::Result<Vec<KcpListener>> {
    let (host, ports) = port_range(&o.listen).map_err(io::Error::other)?;
    let mut listeners = Vec::with_capacity(ports.len());
    for port in ports {
        let addr = host_port(&host, port);
        let l = KcpListener::bind(addr.as_str(), settings)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("listen {addr}: {e}")))?;
        log!("listening on: {}", l.local_addr()?);
        listeners.push(l);
    }
    Ok(listeners)
}

/// What every session of the server shares: the options, the dial slots and the QPP pads.
struct Server {
    o: Options,
    /// One permit per connection to the target being set up (`--max-dials`).
    dials: Semaphore,
    /// `--QPP`: the pads of the key, built once.
    pads: Option<Arc<Pads>>,
}

/// Serves the listeners until one fails.
pub(crate) async fn run(o: Options, listeners: Vec<KcpListener>) -> io::Result<()> {
    log!("target: {}", o.remote);
    log!(
        "dial timeout: {}s max dials: {} stream idle: {}s",
        o.dial_timeout.as_secs(),
        o.max_dials,
        o.stream_idle.map_or(0, |d| d.as_secs())
    );
    log!(
        "amplification limit: {} max streams: {} memory budget: {}MB",
        o.amplification_limit.unwrap_or(0),
        o.max_streams,
        o.memory_budget.map_or(0, |b| b >> 20)
    );
    let dials = Semaphore::new(o.max_dials);
    let pads = o
        .qpp
        .then(|| Arc::new(Pads::new(o.kcp.key.as_bytes(), o.qpp_count)));
    let o = Arc::new(Server { o, dials, pads });
    let mut set = tokio::task::JoinSet::new();
    for l in listeners {
        set.spawn(serve(l, Arc::clone(&o)));
    }
    match set.join_next().await {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(io::Error::other(e)),
        None => Ok(()),
    }
}

async fn serve(listener: KcpListener, o: Arc<Server>) -> io::Result<()> {
    let local = listener.local_addr()?;
    loop {
        let (kcp, peer) = listener.accept().await?;
        log!("remote address: {peer} (conv {}) on {local}", kcp.conv());
        let o = Arc::clone(&o);
        if o.o.raw {
            tokio::spawn(raw(kcp, peer, o));
        } else {
            tokio::spawn(mux(kcp, peer, o));
        }
    }
}

/// One KCP session carrying smux: each accepted stream goes to the target.
async fn mux(kcp: KcpStream, peer: SocketAddr, o: Arc<Server>) {
    log!("smux version: the client's (1 or 2) on connection: {peer}");
    let session = net::mux_session(kcp, &o.o, true);
    loop {
        match session.accept().await {
            Ok(stream) => {
                tokio::spawn(forward(stream, peer, Arc::clone(&o)));
            }
            Err(e) => {
                log!("session {peer} ended: {e}");
                session.close();
                return;
            }
        }
    }
}

async fn forward(stream: Stream, peer: SocketAddr, o: Arc<Server>) {
    let sid = stream.id();
    let target = match dial(&o).await {
        Ok(t) => t,
        Err(e) => {
            // Dropping the stream sends FIN: only this stream ends.
            log!("stream {peer}({sid}): connect {}: {e}", o.o.remote);
            return;
        }
    };
    let out = target.describe();
    log_stream!("stream opened in: {peer}({sid}) out: {out}");
    let close_wait = std::time::Duration::from_secs(o.o.closewait);
    let (up, down, err) = match &o.pads {
        Some(pads) => {
            let stream = QppStream::new(stream, Arc::clone(pads), o.o.kcp.key.as_bytes());
            pipe_with(stream, target, o.o.stream_idle, close_wait).await
        }
        None => pipe_with(stream, target, o.o.stream_idle, close_wait).await,
    };
    log_stream!(
        "stream closed in: {peer}({sid}) out: {out} up={up} down={down}{}",
        err.map(|e| format!(" err={e}")).unwrap_or_default()
    );
}

/// `--raw`: the whole KCP session is one connection to the target.
async fn raw(kcp: KcpStream, peer: SocketAddr, o: Arc<Server>) {
    let conv = kcp.conv();
    let target = match dial(&o).await {
        Ok(t) => t,
        Err(e) => {
            log!("session {peer} (conv {conv}): connect {}: {e}", o.o.remote);
            return;
        }
    };
    let out = target.describe();
    log_stream!("stream opened in: {peer} (conv {conv}) out: {out}");
    let (up, down, err) = pipe_idle(kcp, target, o.o.stream_idle).await;
    log_stream!(
        "stream closed in: {peer} (conv {conv}) out: {out} up={up} down={down}{}",
        err.map(|e| format!(" err={e}")).unwrap_or_default()
    );
}

/// Connects to the target within `--dial-timeout`, waiting for one of the `--max-dials`
/// slots first: streams opened faster than the target answers (a SYN flood, or a target
/// that drops connection attempts) cannot make the server hold more than that many
/// connection attempts, each for at most the timeout.
async fn dial(s: &Server) -> io::Result<Target> {
    let attempt = async {
        let _slot = s
            .dials
            .acquire()
            .await
            .map_err(|_| io::Error::other("dial slots closed"))?;
        Target::connect(&s.o.remote).await
    };
    match tokio::time::timeout(s.o.dial_timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no connection within --dial-timeout {}s",
                s.o.dial_timeout.as_secs()
            ),
        )),
    }
}
