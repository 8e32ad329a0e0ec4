//! The library behind the `kcp-tunnel` program, a kcptun-compatible tunnel: TCP over smux
//! over KCP, with kcptun 20210922's flags, JSON configuration and wire format.
//!
//! The program is the product (see the crate's README); the library holds the pieces it is
//! built from, for the program itself, its tests, its fuzz target and other programs that
//! speak kcptun's protocol or take its flags:
//!
//! - [`smux`]: the stream multiplexer kcptun runs over each KCP session (xtaci/smux v1 and
//!   v2), on tokio, with Go smux's memory bounds;
//! - [`snappy`]: kcptun's compression layer (the snappy framing format) between smux and
//!   KCP;
//! - [`config`]: kcptun's command line and JSON keys, resolved into one [`Options`] that
//!   gives the KCP session's [`kcp_session::Config`] and smux's
//!   [`MuxConfig`](smux::MuxConfig); [`KcpFlags`] is the session part alone, for other
//!   programs that take kcptun's session flags;
//! - [`logfile`]: opening `--log` and `--snmplog` files without following symlinks or
//!   appending to files that are not ours;
//! - [`plugin`]: the shadowsocks SIP003 plugin environment and `SS_PLUGIN_OPTIONS`;
//! - [`cli`]: Go-style single-dash flags on `clap`, and the value parsers kcptun's flags
//!   need;
//! - [`pipe`]: joining two byte streams the way kcptun does.
//!
//! ```
//! use clap::Parser;
//! use kcp_tunnel::{Cli, Options};
//!
//! let cli = Cli::parse_from(["kcp-tunnel", "server", "--key", "secret", "--nocomp"]);
//! let (options, _json) = Options::from_cli(cli);
//! assert_eq!(options.check(), Ok(()));
//! let config = options.session_config(); // kcptun's server: aes, FEC 10/3, mode fast
//! assert_eq!((config.data_shards, config.parity_shards), (10, 3));
//! ```

pub mod cli;
pub mod config;
pub mod logfile;
pub mod pipe;
pub mod plugin;
pub mod qpp;
pub mod smux;
pub mod snappy;

pub use config::{Cli, KcpFlags, Options, Role};
