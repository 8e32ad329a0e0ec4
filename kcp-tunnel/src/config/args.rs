//! `kcp-tunnel`'s command line: `kcptun-client`'s flags under `client` and
//! `kcptun-server`'s under `server`, with kcptun's names, short names and defaults.

use clap::{Args, Parser, Subcommand};

use super::KcpFlags;
use crate::cli::parse_bool;

/// `kcp-tunnel`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "kcp-tunnel",
    version,
    disable_version_flag = true,
    propagate_version = true,
    about = "A kcptun-compatible tunnel: TCP over smux over KCP, interoperating with kcptun \
             20210922 (kcptun-client, kcptun-server) and usable as a shadowsocks SIP003 plugin"
)]
pub struct Cli {
    /// The end to run.
    #[command(subcommand)]
    pub role: RoleArgs,
    /// Print the version (kcptun's -v; packagers and front ends read it)
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version, global = true)]
    version: Option<bool>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum RoleArgs {
    /// The local end (kcptun-client): listen on TCP, tunnel to a kcptun server
    Client(ClientArgs),
    /// The remote end (kcptun-server): listen on UDP, forward each stream to a target
    Server(ServerArgs),
}

/// `kcptun-client`'s own flags; its windows default to kcptun-client's 128 and 512.
#[derive(Args, Debug)]
#[command(
    mut_arg("sndwnd", |a| a.default_value("128")),
    mut_arg("rcvwnd", |a| a.default_value("512"))
)]
pub struct ClientArgs {
    /// Local listen address. Loopback by default: anyone who reaches this port reaches the
    /// server's target (kcptun listens on every interface; say `-l :12948` for that)
    #[arg(
        short = 'l',
        long = "localaddr",
        value_name = "ADDR",
        default_value = "127.0.0.1:12948"
    )]
    pub localaddr: String,
    /// kcp server address; host:min-max spreads the sessions over a port range
    #[arg(
        short = 'r',
        long = "remoteaddr",
        value_name = "ADDR",
        default_value = "vps:29900"
    )]
    pub remoteaddr: String,
    /// Number of UDP sessions to the server, used round robin
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub conn: u32,
    /// Seconds after which a session takes no new connections; 0 disables
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub autoexpire: u64,
    /// Seconds an expired session may live on for the connections it carries
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub scavengettl: u64,
    /// Flags both ends share.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `kcptun-server`'s own flags.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// kcp server listen address; host:min-max listens on every port of a range
    #[arg(
        short = 'l',
        long = "listen",
        value_name = "ADDR",
        default_value = ":29900"
    )]
    pub listen: String,
    /// Target server address, or the path of a unix socket
    #[arg(
        short = 't',
        long = "target",
        value_name = "ADDR",
        default_value = "127.0.0.1:12948"
    )]
    pub target: String,
    /// Accepted for kcptun compatibility; no profiling server is started
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub pprof: bool,
    /// Serve without encryption (--crypt null or none, or --raw) on an address that is
    /// not loopback: anyone on the path reads the traffic, and anyone can open streams to
    /// the target and reflect datagrams off this server with forged sources
    #[arg(long = "insecure-no-crypt", num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub insecure_no_crypt: bool,
    /// Seconds a stream waits to connect to the target (a dial slot included) before it
    /// is closed
    #[arg(long = "dial-timeout", value_name = "SECONDS", default_value_t = 10)]
    pub dial_timeout: u64,
    /// Connections to the target being set up at once, across all sessions; further
    /// streams wait for a slot (within --dial-timeout)
    #[arg(long = "max-dials", value_name = "N", default_value_t = 256)]
    pub max_dials: usize,
    /// Until a client has shown that it receives at its address, its session sends that
    /// address at most N times the bytes it received from it, so forged or replayed
    /// datagrams cannot turn the server into an amplifier; a first reply larger than that
    /// waits about one round trip for the proof. 0 turns the limit off (kcptun's behaviour)
    #[arg(long = "amplification-limit", value_name = "N", default_value_t = 3)]
    pub amplification_limit: u32,
    /// Megabytes all sessions together may hold in KCP's queues, windows and FEC state;
    /// past it no new session opens, and sessions that have not proven their address are
    /// shed, the least recently active first. 0 sets no budget
    #[arg(long = "memory-budget", value_name = "MB", default_value_t = 1024)]
    pub memory_budget: usize,
    /// smux streams open at once in one session (a connection to the target each); a
    /// stream opened past it is closed at once. Must be positive
    #[arg(long = "max-streams", value_name = "N", default_value_t = crate::smux::MAX_STREAMS)]
    pub max_streams: usize,
    /// Seconds a stream may carry nothing either way before it is closed; 0 (the
    /// default, as kcptun) keeps idle streams, such as an idle ssh session, for ever
    #[arg(long = "stream-idle", value_name = "SECONDS", default_value_t = 0)]
    pub stream_idle: u64,
    /// Flags both ends share.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The flags `kcptun-client` and `kcptun-server` share.
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// The KCP session's flags.
    #[command(flatten)]
    pub kcp: KcpFlags,
    /// Disable compression
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub nocomp: bool,
    /// smux version, 1 or 2; kcptun's last release defaults to 2, kcptun 20210922 and
    /// older to 1 (pass --smuxver 1 with them)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub smuxver: u8,
    /// Largest smux frame sent, in bytes (kcptun's last release)
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub framesize: usize,
    /// Seconds a connection lingers after one direction ended, before both close
    /// (kcptun's last release)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub closewait: u64,
    /// Quantum Permutation Pads on every stream (kcptun's last release): obfuscation
    /// under the key, on top of the cipher
    #[arg(long = "QPP", num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub qpp: bool,
    /// The number of pads for --QPP (a prime; 256 bytes each)
    #[arg(long = "QPPCount", value_name = "N", default_value_t = 61)]
    pub qpp_count: u16,
    /// The overall de-mux buffer in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 4_194_304)]
    pub smuxbuf: usize,
    /// Per-stream receive buffer in bytes (smux v2)
    #[arg(long, value_name = "BYTES", default_value_t = 2_097_152)]
    pub streambuf: usize,
    /// Seconds between heartbeats
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub keepalive: u64,
    /// Collect SNMP counters to this CSV file; Go time layout in the name, like
    /// ./snmp-20060102.log
    #[arg(long, value_name = "PATH", default_value = "")]
    pub snmplog: String,
    /// SNMP collect period in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub snmpperiod: u64,
    /// Append the log to this file instead of stderr
    #[arg(long, value_name = "PATH", default_value = "")]
    pub log: String,
    /// Suppress the 'stream open/close' messages
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub quiet: bool,
    /// TCP emulation over raw sockets (refused: not supported)
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub tcp: bool,
    /// Config from a JSON file, which overrides the flags
    #[arg(short = 'c', value_name = "FILE")]
    pub c: Option<String>,
    /// Plain KCP, one conversation per TCP connection: no smux, compression, cipher or
    /// FEC (the tokio_kcp wire format)
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub raw: bool,
    /// Serve on a non-loopback address with the public default key
    #[arg(long = "allow-default-key", num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub allow_default_key: bool,
}
