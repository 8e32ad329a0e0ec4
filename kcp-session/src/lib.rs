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
//! shared [`Settings`] once. Over a real path with a bottleneck, set
//! [`Config::congestion`] to [`Congestion::Bbr`]: the session then measures the path and
//! paces its sending to it, instead of sending whole windows as kcp-go does (through a
//! 10 Mbit/s bottleneck, about 1.2 bytes on the wire per byte delivered instead of 3.5;
//! `docs/congestion.md` in the repository has the figures).
//!
//! # A server loop without a runtime
//!
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::{Duration, Instant};
//! use kcp_session::{Config, Endpoint, Event};
//!
//! let socket = UdpSocket::bind("0.0.0.0:4000")?;
//! // The endpoint's secrets derive from 32 bytes of a cryptographic random source.
//! let mut seed = [0u8; 32];
//! getrandom::fill(&mut seed)?;
//! let mut endpoint = Endpoint::new(&Config::kcptun().build()?, seed);
//! endpoint.listen(true);
//! let start = Instant::now();
//! let now = || start.elapsed().as_millis() as u32;
//! let (mut buf, mut data) = ([0u8; 1500], [0u8; 4096]);
//! loop {
//!     // 1. Wait for datagrams, at most until the next timer; feed a bounded burst.
//!     let wait = endpoint.poll_timeout().map_or(10, |t| t.wrapping_sub(now()).clamp(1, 10));
//!     socket.set_read_timeout(Some(Duration::from_millis(wait.into())))?;
//!     for _ in 0..256 {
//!         let Ok((n, from)) = socket.recv_from(&mut buf) else { break };
//!         endpoint.handle(now(), from, &mut buf[..n]);
//!         socket.set_read_timeout(Some(Duration::from_micros(1)))?;
//!     }
//!     endpoint.handle_timeout(now());
//!     // 2. Your application: new sessions, and sessions that made progress.
//!     while endpoint.accept().is_some() {}
//!     while let Some(event) = endpoint.poll_event() {
//!         match event {
//!             // Echo what the send window has room for; the rest comes with the
//!             // next event, when acknowledgements have made room.
//!             Event::Progress(h) => loop {
//!                 let room = endpoint.session(h).map_or(0, |s| s.send_capacity());
//!                 match endpoint.recv(h, &mut data[..room.min(4096)]) {
//!                     Ok(n) if n > 0 => endpoint.send(now(), h, &data[..n])?,
//!                     _ => break,
//!                 };
//!             },
//!             Event::Ended(h) => endpoint.release(now(), h),
//!             Event::Incoming(_) => {}
//!         }
//!     }
//!     // 3. Send what is due; acknowledgements of the whole burst go out together.
//!     while let Some(t) = endpoint.poll_transmit(now()) {
//!         for datagram in t.datagrams() {
//!             socket.send_to(datagram, t.destination)?;
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
//! kcp-go or kcptun server. The sans-io layer reads no random source: give
//! [`Endpoint::new`] (or [`Session::new`]) a 32-byte seed from your hardware random
//! number generator; nonces, the secret clock offsets that prove a peer's address, and
//! dialed conversation ids derive from it. The process-wide [`snmp::global`] counters need
//! `std`.
//!
//! # Features
//!
//! - `std` (default): `std::error::Error` for the errors, the process-wide counters.
//! - `tokio` (default, implies `std`): [`KcpStream`], [`KcpListener`]. On Linux they send a
//!   run of datagrams to one peer with one GSO system call and receive with `recvmmsg`
//!   and GRO (through `quinn-udp`); elsewhere one call per datagram.
//!
//! FEC runs the fastest GF(2^8) kernel the CPU has (AVX2, SSSE3, NEON or portable),
//! chosen at run time: nothing to opt into.

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

pub use config::{Config, ConfigError, Congestion, MTU_LIMIT, Mode, Settings, UnknownModeError};
pub use endpoint::{
    AddressInUse, DatagramEvent, DropReason, Endpoint, EndpointStats, Event, Handle, Transmit,
    TransmitQueue,
};
pub use session::{DeadReason, InputError, RecvError, SendError, Session, State, conv_and_sn};
pub use snmp::Snmp;
