//! `KcpListener`: sessions accepted on one UDP socket, by kcp-go 5.6.1's rules.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::{ToSocketAddrs, UdpSocket, lookup_host};
use tokio::sync::{Mutex, mpsc};

use crate::config::Settings;

use super::endpoint::{self, Accepting, Endpoint};
use super::socket;
use super::stream::KcpStream;

/// Accepts KCP sessions on one UDP socket, like kcp-go 5.6.1's `Listener`.
///
/// One driver task serves the socket and all of its sessions. Datagrams are matched to
/// sessions by the sender's address. From an unknown address, a datagram that decrypts
/// and carries a conversation id opens a session (queued for [`accept`](Self::accept);
/// when [`Config::accept_backlog`] sessions wait, or [`Config::max_sessions`] are open,
/// it is dropped). From a known address, a datagram with another conversation id
/// replaces the session only if its sequence number is 0 (the peer restarted); anything
/// else is dropped and counted in [`dropped`](Self::dropped).
///
/// Dropping the listener stops accepting; sessions already accepted go on until they
/// are closed, as in kcp-go.
///
/// [`Config::accept_backlog`]: crate::Config::accept_backlog
/// [`Config::max_sessions`]: crate::Config::max_sessions
#[derive(Debug)]
pub struct KcpListener {
    endpoint: Arc<Endpoint>,
    queue: Mutex<mpsc::Receiver<(KcpStream, SocketAddr)>>,
}

impl KcpListener {
    /// Binds a UDP socket at `addr` and starts serving it (kcp-go's `ListenWithOptions`).
    /// Needs a tokio runtime.
    pub async fn bind(addr: impl ToSocketAddrs, settings: &Settings) -> io::Result<KcpListener> {
        let addr = lookup_host(addr)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        Self::serve(socket::bind(addr, settings)?, settings)
    }

    /// Serves an already bound socket (kcp-go's `ServeConn`).
    pub fn serve(socket: UdpSocket, settings: &Settings) -> io::Result<KcpListener> {
        let cfg = settings.config();
        let (tx, rx) = mpsc::channel(cfg.accept_backlog.max(1));
        let accepting = Accepting {
            queue: tx,
            max_sessions: cfg.max_sessions,
        };
        Ok(KcpListener {
            endpoint: endpoint::spawn(socket, settings.clone(), Some(accepting))?,
            queue: Mutex::new(rx),
        })
    }

    /// Waits for the next session and returns it with the peer's address.
    pub async fn accept(&self) -> io::Result<(KcpStream, SocketAddr)> {
        self.queue.lock().await.recv().await.ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the listener's socket failed")
        })
    }

    /// The local address of the UDP socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint.udp.socket.local_addr()
    }

    /// Datagrams dropped by the listener rules since it was bound: from an unknown
    /// address without a conversation id, over the backlog or session limit, or a
    /// conversation change with a sequence number other than 0. Datagrams failing
    /// decryption are counted in [`snmp::global`](crate::snmp::global)'s `in_csum_errors`.
    pub fn dropped(&self) -> u64 {
        self.endpoint.counters.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for KcpListener {
    fn drop(&mut self) {
        endpoint::stop_accepting(&self.endpoint);
    }
}
