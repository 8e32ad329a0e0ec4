//! `KcpListener`: sessions accepted on one UDP socket, or on several sharing a port
//! (SO_REUSEPORT), by kcp-go 5.6.1's rules.

use std::boxed::Box;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::vec;
use std::vec::Vec;

use tokio::net::{ToSocketAddrs, UdpSocket, lookup_host};

use crate::config::Settings;
use crate::endpoint::EndpointStats;

use super::bind;
use super::driver::Shared;
use super::stream::KcpStream;

/// Accepts KCP sessions on one UDP socket, like kcp-go 5.6.1's `Listener`.
///
/// One driver task serves the socket and all of its sessions, with the rules of
/// [`Endpoint`](crate::Endpoint): datagrams are matched to sessions by the sender's
/// address. From an unknown address, a datagram that decrypts and carries a conversation
/// id opens a session (queued for [`accept`](Self::accept); when
/// [`Config::accept_backlog`] sessions wait, or [`Config::max_sessions`] are open, it is
/// dropped). From a known address, a datagram with another conversation id replaces the
/// session only if its sequence number is 0 (the peer restarted); anything else is
/// dropped and counted in [`dropped`](Self::dropped).
///
/// Dropping the listener stops accepting (sessions still waiting for `accept` are
/// released); sessions already accepted go on until they are closed, as in kcp-go.
///
/// One socket is served by one driver task, so one listener uses about one core. To use
/// more, [`bind_sharded`](Self::bind_sharded) opens several sockets on the same port,
/// each with its own driver and endpoint, and the kernel spreads peers over them.
///
/// [`Config::accept_backlog`]: crate::Config::accept_backlog
/// [`Config::max_sessions`]: crate::Config::max_sessions
#[derive(Debug)]
pub struct KcpListener {
    /// One per socket; never empty.
    shards: Vec<Arc<Shared>>,
    /// The shard the next `accept` looks at first.
    next: std::sync::atomic::AtomicUsize,
}

impl KcpListener {
    /// Binds a UDP socket at `addr` and starts serving it (kcp-go's `ListenWithOptions`).
    /// Needs a tokio runtime.
    pub async fn bind(addr: impl ToSocketAddrs, settings: &Settings) -> io::Result<KcpListener> {
        let addr = lookup_host(addr)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        Self::serve(bind::bind(addr, settings, false)?, settings)
    }

    /// Binds `shards` UDP sockets to the same address with `SO_REUSEPORT` and serves each
    /// with its own driver task and [`Endpoint`](crate::Endpoint), behind this one
    /// listener: for a server that should use more than one core. Linux and Android only
    /// (elsewhere a `shards` above 1 is [`io::ErrorKind::Unsupported`]); with `shards` 1
    /// it is [`bind`](Self::bind).
    ///
    /// The kernel picks a socket by a hash of the peer's address and port, so each peer
    /// stays on one shard, and a peer whose address changes lands on any shard (so
    /// [`Config::roaming`](crate::Config::roaming) cannot follow it across shards). What the
    /// configuration bounds per listener ([`Config::max_sessions`],
    /// [`Config::memory_budget`], the backlog) it bounds per shard, so the listener's total
    /// is `shards` times as much. A port bound with `SO_REUSEPORT` can be joined by any
    /// other socket of the same user that sets it too: run the server under its own user.
    /// With port 0 the first socket picks the port and the others join it.
    ///
    /// [`Config::max_sessions`]: crate::Config::max_sessions
    /// [`Config::memory_budget`]: crate::Config::memory_budget
    pub async fn bind_sharded(
        addr: impl ToSocketAddrs,
        settings: &Settings,
        shards: usize,
    ) -> io::Result<KcpListener> {
        if shards <= 1 {
            return Self::bind(addr, settings).await;
        }
        if !cfg!(any(target_os = "linux", target_os = "android")) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "sharded listeners need SO_REUSEPORT's load balancing (Linux, Android)",
            ));
        }
        let mut addr = lookup_host(addr)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        let mut sockets = Vec::with_capacity(shards);
        for _ in 0..shards {
            let socket = bind::bind(addr, settings, true)?;
            addr = socket.local_addr()?;
            sockets.push(socket);
        }
        let shards = sockets
            .into_iter()
            .map(|socket| Self::spawn(socket, settings))
            .collect::<io::Result<_>>()?;
        Ok(KcpListener {
            shards,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Serves an already bound socket (kcp-go's `ServeConn`).
    pub fn serve(socket: UdpSocket, settings: &Settings) -> io::Result<KcpListener> {
        Ok(KcpListener {
            shards: vec![Self::spawn(socket, settings)?],
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn spawn(socket: UdpSocket, settings: &Settings) -> io::Result<Arc<Shared>> {
        let (shared, _) = Shared::spawn(socket, settings, |endpoint, _| {
            endpoint.listen(true);
            None
        })?;
        Ok(shared)
    }

    /// Waits for the next session and returns it with the peer's address. Fails once
    /// a socket's driver stopped (a socket error). With several shards, each call starts
    /// its search at the next shard, so a busy shard cannot starve the others.
    pub async fn accept(&self) -> io::Result<(KcpStream, SocketAddr)> {
        let n = self.shards.len();
        loop {
            let first = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
            let mut waits: Vec<_> = self
                .shards
                .iter()
                .map(|shard| Box::pin(shard.incoming.notified()))
                .collect();
            for w in &mut waits {
                w.as_mut().enable();
            }
            for i in 0..n {
                let shard = &self.shards[(first + i) % n];
                let mut st = shard.lock();
                if let Some(h) = st.endpoint.accept() {
                    st.adopt(h);
                    let remote = st.endpoint.remote(h).expect("accepted sessions are live");
                    drop(st);
                    return Ok((KcpStream::new(Arc::clone(shard), h), remote));
                }
                if let Some(kind) = st.failed {
                    return Err(io::Error::new(kind, "the listener's socket failed"));
                }
            }
            // Whichever shard signals first.
            std::future::poll_fn(|cx| {
                match waits
                    .iter_mut()
                    .position(|w| w.as_mut().poll(cx).is_ready())
                {
                    Some(i) => Poll::Ready(i),
                    None => Poll::Pending,
                }
            })
            .await;
        }
    }

    /// The local address of the UDP socket (all shards share it).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shards[0].udp.socket.local_addr()
    }

    /// How many sockets serve this listener (1 unless made by
    /// [`bind_sharded`](Self::bind_sharded)).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Each shard's counters, in shard order (`accepted` shows how the kernel spread the
    /// peers); the listener's other counters are their sums.
    pub fn shard_stats(&self) -> Vec<EndpointStats> {
        self.shards
            .iter()
            .map(|s| s.lock().endpoint.stats())
            .collect()
    }

    fn sum(&self, f: impl Fn(&EndpointStats) -> u64) -> u64 {
        self.shard_stats().iter().map(f).sum()
    }

    /// Datagrams dropped by the listener rules since it was bound: from an unknown
    /// address without a conversation id, over the backlog or session limit, or a
    /// conversation change with a sequence number other than 0. Datagrams failing
    /// decryption are counted in [`crypt_errors`](Self::crypt_errors).
    pub fn dropped(&self) -> u64 {
        self.sum(|s| s.refused)
    }

    /// Sessions the listener's socket holds now: open, waiting for `accept`, or ending
    /// (closing, or ended but not yet dropped by their stream). For monitoring, and to
    /// see a flood bounded by [`Config::max_sessions`](crate::Config::max_sessions).
    pub fn sessions(&self) -> usize {
        self.shards.iter().map(|s| s.lock().endpoint.len()).sum()
    }

    /// Datagrams the listener's socket received so far (every one, dropped or not).
    pub fn datagrams(&self) -> u64 {
        self.sum(|s| s.datagrams)
    }

    /// Datagrams that failed the CRC32 or AEAD check since the listener was bound.
    pub fn crypt_errors(&self) -> u64 {
        self.sum(|s| s.crypt_errors)
    }
}

impl Drop for KcpListener {
    fn drop(&mut self) {
        for shard in &self.shards {
            shard.stop_listening();
        }
    }
}
