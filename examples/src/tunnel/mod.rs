//! The pieces of `kcp-tunnel`, a kcptun-compatible tunnel: smux framing and sessions,
//! kcptun's snappy compression layer, its configuration (flags and JSON), and SIP003
//! plugin options.

pub mod config;
pub mod frame;
pub mod pipe;
pub mod plugin;
pub mod smux;
pub mod snappy;
