//! KCP sessions over UDP, wire-compatible with kcp-go and kcptun.
//!
//! [`Session`] is one conversation with kcp-go's framing (FEC from `kcp-fec`, the cipher
//! from `kcp-crypt`, applied in place in the headroom `kcp-core` reserves), driven by the
//! caller: no sockets, no runtime. Embed it in a game loop or an event loop you own.
//!
//! With the `tokio` feature (on by default), [`KcpStream`] and [`KcpListener`] run
//! sessions over real UDP sockets as async byte streams, wire-compatible with kcp-go's
//! `DialWithOptions` and `ListenWithOptions`: one driver task per socket serves all of its
//! sessions.
//!
//! Configure with [`Config`] (kcptun's flags and defaults), then [`Config::build`] the
//! shared [`Settings`] once.
//!
//! On Linux the tokio front sends a run of datagrams to one peer with one GSO system call
//! and receives with `recvmmsg` and GRO (through `quinn-udp`); elsewhere it uses one call
//! per datagram. FEC runs the fastest GF(2^8) kernel the CPU has (AVX2, SSSE3, NEON or
//! portable), chosen at run time.

mod config;
#[cfg(feature = "tokio")]
mod net;
mod session;
pub mod snmp;

#[cfg(feature = "tokio")]
pub use net::{KcpListener, KcpStream, OwnedReadHalf, OwnedWriteHalf, ReuniteError, SessionInfo};

pub use config::{Config, ConfigError, MTU_LIMIT, Mode, Settings, UnknownModeError};
pub use session::{DeadReason, InputError, RecvError, SendError, Session, State, conv_and_sn};
pub use snmp::Snmp;
