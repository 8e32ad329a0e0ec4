//! Binding a UDP socket with the configured buffer sizes and DSCP (the batched I/O over it
//! is in `batch`).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::config::Settings;

/// Binds a non-blocking UDP socket at `addr` with [`Config::sockbuf`] buffers (the
/// kernel may cap them; that is not an error) and [`Config::dscp`], registered with the
/// current tokio runtime. With `reuse_port`, sets `SO_REUSEPORT` before binding, so that
/// other sockets that set it can share the address (Unix).
///
/// [`Config::sockbuf`]: crate::Config::sockbuf
/// [`Config::dscp`]: crate::Config::dscp
pub(crate) fn bind(
    addr: SocketAddr,
    settings: &Settings,
    reuse_port: bool,
) -> io::Result<UdpSocket> {
    let cfg = settings.config();
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_nonblocking(true)?;
    let _ = socket.set_recv_buffer_size(cfg.sockbuf);
    let _ = socket.set_send_buffer_size(cfg.sockbuf);
    if cfg.dscp != 0 {
        let tos = u32::from(cfg.dscp) << 2;
        if addr.is_ipv4() {
            socket.set_tos_v4(tos)?;
        } else {
            socket.set_tclass_v6(tos)?;
        }
    }
    if reuse_port {
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}
