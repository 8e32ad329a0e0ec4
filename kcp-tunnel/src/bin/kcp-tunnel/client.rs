//! The local end (kcptun-client): accepts TCP connections and carries each over a smux
//! stream of one of `--conn` KCP sessions, round robin; `--raw` gives each connection its
//! own KCP conversation instead.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kcp_session::Settings;
use kcp_tunnel::config::{Options, host_port, port_range};
use kcp_tunnel::pipe::{pipe, pipe_with};
use kcp_tunnel::qpp::{Pads, QppStream};
use kcp_tunnel::smux::Session;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::log::{log, log_stream};
use crate::net;

/// One of the `--conn` sessions and when it stops taking new connections.
struct Slot {
    session: Session,
    expires: Option<Instant>,
}

/// The remote addresses to dial, one per port of `-r host:min-max`, in turn.
struct Remotes {
    addrs: Vec<String>,
    next: AtomicUsize,
}

impl Remotes {
    fn new(spec: &str) -> Result<Remotes, String> {
        let (host, ports) = port_range(spec)?;
        Ok(Remotes {
            addrs: ports.into_iter().map(|p| host_port(&host, p)).collect(),
            next: AtomicUsize::new(0),
        })
    }

    fn pick(&self) -> &str {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.addrs[i % self.addrs.len()]
    }
}

/// Runs the client on `listener` until it fails.
pub(crate) async fn run(o: Options, settings: Settings, listener: TcpListener) -> io::Result<()> {
    let remotes = Arc::new(Remotes::new(&o.remote).map_err(io::Error::other)?);
    log!("listening on: {}", listener.local_addr()?);
    log!("remote address: {}", o.remote);
    let o = Arc::new(o);
    if o.raw {
        loop {
            let (tcp, peer) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let (o, settings, remotes) = (Arc::clone(&o), settings.clone(), Arc::clone(&remotes));
            tokio::spawn(async move {
                let addr = remotes.pick();
                let kcp = match net::dial(addr, &o, &settings).await {
                    Ok(k) => k,
                    Err(e) => {
                        log!("dial {addr}: {e}");
                        return;
                    }
                };
                let conv = kcp.conv();
                log_stream!("stream opened in: {peer} out: {addr} (conv {conv})");
                let (up, down, err) = pipe(tcp, kcp).await;
                log_stream!(
                    "stream closed in: {peer} out: {addr} (conv {conv}) up={up} down={down}{}",
                    err.map(|e| format!(" err={e}")).unwrap_or_default()
                );
            });
        }
    }
    let scavenger = (o.autoexpire > 0).then(|| {
        let (tx, rx) = mpsc::channel(128);
        tokio::spawn(scavenge(rx));
        tx
    });
    let pads = o
        .qpp
        .then(|| Arc::new(Pads::new(o.kcp.key.as_bytes(), o.qpp_count)));
    let mut slots: Vec<Option<Slot>> = (0..o.conn).map(|_| None).collect();
    let mut rr = 0usize;
    loop {
        let (tcp, peer) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let idx = rr % slots.len();
        rr = rr.wrapping_add(1);
        let stale = match &slots[idx] {
            None => true,
            Some(s) => s.session.is_closed() || s.expires.is_some_and(|t| Instant::now() >= t),
        };
        if stale {
            let session = connect(&o, &settings, &remotes).await;
            let expires =
                (o.autoexpire > 0).then(|| Instant::now() + Duration::from_secs(o.autoexpire));
            if let (Some(tx), Some(t)) = (&scavenger, expires) {
                let until = t + Duration::from_secs(o.scavengettl);
                let _ = tx.try_send((session.clone(), until));
            }
            slots[idx] = Some(Slot { session, expires });
        }
        let Some(slot) = &slots[idx] else { continue };
        let session = slot.session.clone();
        tokio::spawn(handle(session, tcp, peer, Arc::clone(&o), pads.clone()));
    }
}

/// Dials a session (kcptun's `waitConn`: retry every second until one is up).
async fn connect(o: &Options, settings: &Settings, remotes: &Remotes) -> Session {
    loop {
        let addr = remotes.pick();
        match net::dial(addr, o, settings).await {
            Ok(kcp) => {
                log!(
                    "smux version: {} on connection: {} -> {}",
                    o.smuxver,
                    kcp.local_addr()
                        .map_or_else(|_| "?".into(), |a| a.to_string()),
                    kcp.peer_addr()
                );
                let session = net::mux_session(kcp, o, false);
                let watched = session.clone();
                let addr = addr.to_owned();
                tokio::spawn(async move {
                    let e = watched.closed().await;
                    let hint = if e.to_string().contains("smux version") {
                        " (the server speaks another smux version: set --smuxver to match it)"
                    } else {
                        ""
                    };
                    log!("session to {addr} ended: {e}{hint}");
                });
                return session;
            }
            Err(e) => {
                log!("re-connecting: {addr}: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn handle(
    session: Session,
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    o: Arc<Options>,
    pads: Option<Arc<Pads>>,
) {
    let stream = match session.open() {
        Ok(s) => s,
        Err(e) => {
            log!("open stream for {peer}: {e}");
            return;
        }
    };
    let sid = stream.id();
    log_stream!("stream opened in: {peer} out: ({sid})");
    let close_wait = Duration::from_secs(o.closewait);
    let (up, down, err) = match pads {
        Some(pads) => {
            let stream = QppStream::new(stream, pads, o.kcp.key.as_bytes());
            pipe_with(tcp, stream, None, close_wait).await
        }
        None => pipe_with(tcp, stream, None, close_wait).await,
    };
    log_stream!(
        "stream closed in: {peer} out: ({sid}) up={up} down={down}{}",
        err.map(|e| format!(" err={e}")).unwrap_or_default()
    );
}

/// Closes expired sessions `--scavengettl` seconds after they expired (or forgets them
/// when they closed by themselves).
async fn scavenge(mut rx: mpsc::Receiver<(Session, Instant)>) {
    let mut list: Vec<(Session, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => list.push(item),
                None => return,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                list.retain(|(s, until)| {
                    if s.is_closed() {
                        log!("scavenger: session normally closed");
                        false
                    } else if now >= *until {
                        s.close();
                        log!("scavenger: session closed due to ttl");
                        false
                    } else {
                        true
                    }
                });
            }
        }
    }
}
