//! KCP sessions over UDP, wire-compatible with kcp-go and kcptun.
//!
//! Three layers, each usable on its own:
//!
//! - [`Session`] is one conversation with kcp-go's framing (FEC from `kcp-fec`, the cipher
//!   from `kcp-crypt`, applied in place in the headroom `kcp-core` reserves), driven by
//!   the caller: no sockets, no runtime.
//! - [`Endpoint`] is every session on one UDP socket: kcp-go 5.6.1's listener rules
//!   (sessions by address, replacement at sequence number 0, accept backlog, session
//!   limit), decryption before routing, one deadline queue, and the datagrams to send,
//!   grouped for segmentation offload. Still sans-io: embed it in a game loop or an event
//!   loop you own (the `gameloop` example serves 64 clients from a plain
//!   `std::net::UdpSocket` at 60 Hz).
//! - With the `tokio` feature (on by default), [`KcpStream`] and [`KcpListener`] run an
//!   [`Endpoint`] over a real UDP socket as async byte streams, wire-compatible with
//!   kcp-go's `DialWithOptions` and `ListenWithOptions`: one driver task per socket, which
//!   only moves datagrams, runs the timer and wakes tasks.
//!
//! Configure with [`Config`] (kcptun's flags and defaults), then [`Config::build`] the
//! shared [`Settings`] once.
//!
//! # A server loop without a runtime
//!
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::{Duration, Instant};
//! use kcp_session::{Config, DatagramEvent, Endpoint};
//!
//! let socket = UdpSocket::bind("0.0.0.0:4000")?;
//! let mut endpoint = Endpoint::new(&Config::kcptun().build()?);
//! endpoint.listen(true);
//! let start = Instant::now();
//! let now = || start.elapsed().as_millis() as u32;
//! let mut buf = [0u8; 1500];
//! loop {
//!     // Wait for a datagram, at most until the next timer.
//!     let wait = endpoint.poll_timeout().map_or(100, |t| t.wrapping_sub(now()).min(100));
//!     socket.set_read_timeout(Some(Duration::from_millis(u64::from(wait.max(1)))))?;
//!     if let Ok((n, from)) = socket.recv_from(&mut buf) {
//!         endpoint.handle(now(), from, &mut buf[..n]);
//!     }
//!     endpoint.handle_timeout(now());
//!     // Echo whatever arrived.
//!     while let Some(event) = endpoint.poll_event() {
//!         if let kcp_session::Event::Progress(h) = event {
//!             let mut data = [0u8; 4096];
//!             while let Ok(n) = endpoint.recv(h, &mut data) {
//!                 let _ = endpoint.send(now(), h, &data[..n]);
//!             }
//!         }
//!     }
//!     while endpoint.accept().is_some() {}
//!     while let Some(t) = endpoint.poll_transmit(now()) {
//!         for datagram in t.datagrams() {
//!             let _ = socket.send_to(datagram, t.destination);
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # `no_std`
//!
//! Without default features the crate is `#![no_std]` with `alloc`: [`Config`],
//! [`Session`] and [`Endpoint`] build for microcontrollers (CI builds
//! `thumbv7em-none-eabihf`), so firmware can speak kcp-go's framing, FEC and ciphers to a
//! kcp-go or kcptun server. Sessions take their nonce seeds and dialed conversation ids
//! from `getrandom`: on a target without an operating system, provide its custom backend
//! (`--cfg getrandom_backend="custom"` and a `__getrandom_v03_custom` function over your
//! hardware random number generator). The process-wide [`snmp::global`] counters need
//! `std`.
//!
//! # Features
//!
//! - `std` (default): `std::error::Error` for the errors, the process-wide counters.
//! - `tokio` (default, implies `std`): [`KcpStream`], [`KcpListener`]. On Linux they send a
//!   run of datagrams to one peer with one GSO system call and receive with `recvmmsg`
//!   and GRO (through `quinn-udp`); elsewhere one call per datagram.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
mod endpoint;
#[cfg(feature = "tokio")]
mod net;
mod session;
pub mod snmp;

#[cfg(feature = "tokio")]
pub use net::{KcpListener, KcpStream, OwnedReadHalf, OwnedWriteHalf, ReuniteError, SessionInfo};

pub use config::{Config, ConfigError, MTU_LIMIT, Mode, Settings, UnknownModeError};
pub use endpoint::{
    AddressInUse, DatagramEvent, DropReason, Endpoint, EndpointStats, Event, Handle, Transmit,
    TransmitQueue,
};
pub use session::{DeadReason, InputError, RecvError, SendError, Session, State, conv_and_sn};
pub use snmp::Snmp;
