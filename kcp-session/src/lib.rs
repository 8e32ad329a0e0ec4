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
//! Besides the byte stream, each layer carries whole messages in message mode
//! ([`Session::send_message`], [`Session::recv_message`]) and unreliable datagrams beside
//! the stream on kcp-go 5.6.60's out-of-band wire ([`Session::send_datagram`],
//! [`Session::recv_datagram`]), with the same methods on [`Endpoint`] and the tokio
//! streams.
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
//! # Liveness and roaming
//!
//! KCP has no handshake: [`KcpStream::connect`] returns before anything is heard from the
//! server. [`KcpStream::connect_confirmed`] (or [`Endpoint::confirm`]) waits until the
//! server answers a window probe, which every KCP peer answers without telling its
//! application, and fails with a typed timeout otherwise. [`Config::keepalive`] keeps an
//! idle session alive and finds a vanished peer within three intervals;
//! [`Config::roaming`] lets a session follow its peer to a new address once that address
//! has proved it receives. All three are off by default and invisible to kcp-go and
//! kcptun peers (`docs/liveness.md`).
//!
//! # `no_std`
//!
//! Without default features the crate is `#![no_std]` with `alloc`: [`Config`],
//! [`Session`] and [`Endpoint`] build for microcontrollers (CI builds
//! `thumbv7em-none-eabihf`), so firmware can speak kcp-go's framing, FEC and ciphers to a
//! kcp-go or kcptun server. The sans-io layer reads no random source: give
//! [`Endpoint::new`] (or [`Session::new`]) a 32-byte seed from your hardware random
//! number generator; nonces, the secret clock offsets that prove a peer's address, and
//! dialed conversation ids derive from it. Each [`Endpoint`] keeps its own counters
//! ([`Endpoint::snmp`]); the process-wide [`snmp::global`] sums the tokio front's.
//!
//! # Memory
//!
//! The heap one client [`Session`] takes, by MTU, windows, FEC and cipher (`aes` is
//! AES-256, kcp-go's `aes`), in stream mode with [`Mode::Fast`] and the rest of
//! [`Config::default`]. Measured by the test `tests/ram.rs`, which fails when a figure
//! here is more than 15% off: the session sends four send windows of data through a link
//! that loses 5% of the datagrams each way (so its send and out-of-order receive buffers
//! fill) to a peer that echoes it, and reads the echo as it arrives.
//!
//! | MTU | windows (send/receive) | FEC | cipher | at creation (KiB) | peak (KiB) | held at rest (KiB) |
//! |----:|-----------------------:|-----|--------|------------------:|-----------:|-------------------:|
//! | 512 | 8/128 | off | none | 4.2 | 14.2 | 14.2 |
//! | 512 | 8/128 | 10/3 | aes | 10.6 | 26.0 | 26.0 |
//! | 512 | 32/128 | off | none | 4.2 | 41.6 | 41.6 |
//! | 1400 | 8/128 | off | none | 4.2 | 28.1 | 28.1 |
//! | 1400 | 32/128 | off | none | 4.2 | 91.9 | 91.9 |
//! | 1400 | 32/128 | 10/3 | aes | 13.2 | 99.9 | 99.9 |
//! | 1400 | 128/128 | off | none | 4.2 | 364.3 | 364.3 |
//! | 1400 | 128/128 | 10/3 | none | 13.2 | 374.5 | 374.5 |
//! | 1400 | 128/128 | 10/3 | aes | 13.2 | 369.7 | 369.7 |
//! | 1400 | 1024/1024 | off | none | 4.2 | 2994.5 | 2994.5 |
//! | 1400 | 1024/1024 | 10/3 | aes | 13.2 | 3064.6 | 3064.6 |
//!
//! [`Session::new`] allocates little (FEC's shard buffers and the cipher's state are the
//! difference); the session then grows with the data in flight and out of order, up to
//! about MTU × windows, keeps what it grew to (held at rest equals the peak, so a fixed
//! heap sized for the peak does not fragment later), and frees everything when dropped.
//! The send window is the knob for a small heap; the receive window cannot go below 128
//! (one message of 127 fragments must fit), but a peer that sends with a small window of
//! its own never fills it.
//!
//! Measured on a 64-bit x86-64 host, where FEC runs its AVX2 kernel. On a 32-bit
//! microcontroller pointers and collection headers are half the size, but FEC runs its
//! portable kernel, whose encoder keeps precomputed tables: the firmware example
//! (`examples/firmware`, run on an emulated Cortex-M4F) measures a client session of
//! its row (MTU 512, 8/128, FEC 10/3, AES) at 23.3 KiB at creation, against 10.6 KiB
//! here (without FEC, 4.2 KiB on both): add the difference to the table's figures when
//! sizing a heap for FEC on a microcontroller. Not included: the `Session` value itself, wherever the caller keeps it, and the
//! allocator's own overhead per block.
//!
//! # Features
//!
//! - `std` (default): `std::error::Error` for the errors, `From<ConfigError> for
//!   io::Error`.
//! - `tokio` (default, implies `std`): [`KcpStream`], [`KcpListener`]. On Linux they send a
//!   run of datagrams to one peer with one GSO system call and receive with `recvmmsg`
//!   and GRO (through `quinn-udp`); elsewhere one call per datagram.
//!
//! FEC runs the fastest GF(2^8) kernel the CPU has (AVX2, SSSE3, NEON or portable),
//! chosen at run time: nothing to opt into.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

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

pub use config::{
    Config, ConfigError, Congestion, Knobs, MTU_LIMIT, Mode, Settings, UnknownCongestionError,
    UnknownModeError,
};
pub use endpoint::{
    AddressInUse, DatagramEvent, DropReason, Endpoint, EndpointStats, Event, Handle, Transmit,
    TransmitQueue,
};
pub use session::{
    DatagramError, DatagramStats, DeadReason, InputError, RecvError, SendError, Session, State,
    conv_and_sn,
};
pub use snmp::Snmp;

/// The packet ciphers (kcptun's `--crypt` names parse into it), re-exported so that
/// choosing one needs no direct `kcp-crypt` dependency; [`OpenError`] is what
/// [`InputError::Crypt`] carries.
pub use kcp_crypt::{CipherKind, OpenError, UnknownCipherError};
