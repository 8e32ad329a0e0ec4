//! KCP sessions over UDP, wire-compatible with kcp-go and kcptun.
//!
//! [`Session`] is one conversation with kcp-go's framing (FEC from `kcp-fec`, the cipher
//! from `kcp-crypt`, applied in place in the headroom `kcp-core` reserves), driven by the
//! caller: no sockets, no runtime. Embed it in a game loop or an event loop you own.
//!
//! Configure with [`Config`] (kcptun's flags and defaults), then [`Config::build`] the
//! shared [`Settings`] once.

mod config;
mod session;
pub mod snmp;

pub use config::{Config, ConfigError, MTU_LIMIT, Mode, Settings, UnknownModeError};
pub use session::{DeadReason, InputError, RecvError, SendError, Session, State, conv_and_sn};
pub use snmp::Snmp;
