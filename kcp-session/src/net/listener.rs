//! `KcpListener`: sessions accepted on one UDP socket, by kcp-go 5.6.1's rules.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{ToSocketAddrs, UdpSocket, lookup_host};

use crate::config::Settings;

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
/// [`Config::accept_backlog`]: crate::Config::accept_backlog
/// [`Config::max_sessions`]: crate::Config::max_sessions
#[derive(Debug)]
pub struct KcpListener {
    shared: Arc<Shared>,
}

impl KcpListener {
    /// Binds a UDP socket at `addr` and starts serving it (kcp-go's `ListenWithOptions`).
    /// Needs a tokio runtime.
    pub async fn bind(addr: impl ToSocketAddrs, settings: &Settings) -> io::Result<KcpListener> {
        let addr = lookup_host(addr)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        Self::serve(bind::bind(addr, settings)?, settings)
    }

    /// Serves an already bound socket (kcp-go's `ServeConn`).
    pub fn serve(socket: UdpSocket, settings: &Settings) -> io::Result<KcpListener> {
        let (shared, _) = Shared::spawn(socket, settings, |endpoint, _| {
            endpoint.listen(true);
            None
        })?;
        Ok(KcpListener { shared })
    }

    /// Waits for the next session and returns it with the peer's address. Fails once
    /// the socket's driver stopped (a socket error).
    pub async fn accept(&self) -> io::Result<(KcpStream, SocketAddr)> {
        loop {
            let notified = self.shared.incoming.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.shared.lock();
                if let Some(h) = st.endpoint.accept() {
                    st.adopt(h);
                    let remote = st.endpoint.remote(h).expect("accepted sessions are live");
                    drop(st);
                    return Ok((KcpStream::new(Arc::clone(&self.shared), h), remote));
                }
                if let Some(kind) = st.failed {
                    return Err(io::Error::new(kind, "the listener's socket failed"));
                }
            }
            notified.await;
        }
    }

    /// The local address of the UDP socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.udp.socket.local_addr()
    }

    /// Datagrams dropped by the listener rules since it was bound: from an unknown
    /// address without a conversation id, over the backlog or session limit, or a
    /// conversation change with a sequence number other than 0. Datagrams failing
    /// decryption are counted in [`crypt_errors`](Self::crypt_errors).
    pub fn dropped(&self) -> u64 {
        self.shared.lock().endpoint.stats().refused
    }

    /// Sessions the listener's socket holds now: open, waiting for `accept`, or ending
    /// (closing, or ended but not yet dropped by their stream). For monitoring, and to
    /// see a flood bounded by [`Config::max_sessions`](crate::Config::max_sessions).
    pub fn sessions(&self) -> usize {
        self.shared.lock().endpoint.len()
    }

    /// Datagrams the listener's socket received so far (every one, dropped or not).
    pub fn datagrams(&self) -> u64 {
        self.shared.lock().endpoint.stats().datagrams
    }

    /// Datagrams that failed the CRC32 or AEAD check since the listener was bound.
    pub fn crypt_errors(&self) -> u64 {
        self.shared.lock().endpoint.stats().crypt_errors
    }
}

impl Drop for KcpListener {
    fn drop(&mut self) {
        self.shared.stop_listening();
    }
}
