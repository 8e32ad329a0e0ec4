//! kcptun 20210922's command line and JSON configuration, and what they turn into: a
//! [`kcp_session::Config`] for the KCP sessions and a [`MuxConfig`] for smux.
//!
//! `kcp-tunnel client` takes `kcptun-client`'s flags and `kcp-tunnel server` takes
//! `kcptun-server`'s, with the same names, short names, defaults and `KCPTUN_KEY`. As in
//! kcptun, `-c file.json` is read after the flags and every key it has overrides them (keys
//! match case-insensitively, as Go's `encoding/json` does; unknown keys are ignored), and a
//! named `--mode` overrides `--nodelay --interval --resend --nc`.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kcp_crypt::CipherKind;
use kcp_session::{Config, Mode};
use serde::Deserialize;

use super::smux::MuxConfig;
use crate::cli::parse_bool;

/// Which end of the tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts TCP connections and carries them to the server over KCP.
    Client,
    /// Accepts KCP sessions and connects each stream to the target.
    Server,
}

/// `kcp-tunnel`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "kcp-tunnel",
    version,
    disable_version_flag = true,
    about = "A kcptun-compatible tunnel: TCP over smux over KCP, interoperating with kcptun \
             20210922 (kcptun-client, kcptun-server) and usable as a shadowsocks SIP003 plugin"
)]
pub struct Cli {
    /// The end to run.
    #[command(subcommand)]
    pub role: RoleArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum RoleArgs {
    /// The local end (kcptun-client): listen on TCP, tunnel to a kcptun server
    Client(ClientArgs),
    /// The remote end (kcptun-server): listen on UDP, forward each stream to a target
    Server(ServerArgs),
}

/// `kcptun-client`'s own flags.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Local listen address
    #[arg(
        short = 'l',
        long = "localaddr",
        value_name = "ADDR",
        default_value = ":12948"
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
    /// Send window (packets)
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub sndwnd: u32,
    /// Receive window (packets)
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub rcvwnd: u32,
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
    /// Send window (packets)
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub sndwnd: u32,
    /// Receive window (packets)
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub rcvwnd: u32,
    /// Accepted for kcptun compatibility; no profiling server is started
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub pprof: bool,
    /// Flags both ends share.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The flags `kcptun-client` and `kcptun-server` share.
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Pre-shared secret between client and server
    #[arg(long, env = "KCPTUN_KEY", value_name = "KEY", allow_hyphen_values = true,
          default_value = kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE)]
    pub key: String,
    /// aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea, xtea, xor, sm4,
    /// none, null, aes-128-gcm (unknown names mean aes, as in kcptun)
    #[arg(long, value_name = "NAME", default_value = "aes")]
    pub crypt: String,
    /// Profiles: fast3, fast2, fast, normal, manual
    #[arg(long, value_name = "NAME", default_value = "fast")]
    pub mode: String,
    /// Maximum transmission unit for UDP packets
    #[arg(long, value_name = "BYTES", default_value_t = 1350)]
    pub mtu: usize,
    /// Reed-Solomon erasure coding: data shards
    #[arg(long, visible_alias = "ds", value_name = "N", default_value_t = 10)]
    pub datashard: usize,
    /// Reed-Solomon erasure coding: parity shards
    #[arg(long, visible_alias = "ps", value_name = "N", default_value_t = 3)]
    pub parityshard: usize,
    /// DSCP (6 bits)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub dscp: u8,
    /// Disable compression
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub nocomp: bool,
    /// Flush ACKs as soon as a packet arrives
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub acknodelay: bool,
    /// --mode manual: nodelay (0, 1, 2)
    #[arg(long, hide = true, default_value_t = 0)]
    pub nodelay: u32,
    /// --mode manual: update interval (ms)
    #[arg(long, hide = true, default_value_t = 50)]
    pub interval: u32,
    /// --mode manual: fast resend
    #[arg(long, hide = true, default_value_t = 0)]
    pub resend: u32,
    /// --mode manual: 1 disables congestion control
    #[arg(long, hide = true, default_value_t = 0)]
    pub nc: u32,
    /// Per-socket buffer in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 4_194_304)]
    pub sockbuf: usize,
    /// smux version, 1 or 2
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub smuxver: u8,
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

/// kcptun's JSON keys (client and server together); absent keys leave the flag's value.
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct JsonConfig {
    /// Client: local listen address.
    pub localaddr: Option<String>,
    /// Client: server address.
    pub remoteaddr: Option<String>,
    /// Server: listen address.
    pub listen: Option<String>,
    /// Server: target address.
    pub target: Option<String>,
    /// Pre-shared secret.
    pub key: Option<String>,
    /// Cipher name.
    pub crypt: Option<String>,
    /// Profile name.
    pub mode: Option<String>,
    /// Client: sessions.
    pub conn: Option<u32>,
    /// Client: session expiry (s).
    pub autoexpire: Option<u64>,
    /// Client: expired session lifetime (s).
    pub scavengettl: Option<u64>,
    /// MTU.
    pub mtu: Option<usize>,
    /// Send window.
    pub sndwnd: Option<u32>,
    /// Receive window.
    pub rcvwnd: Option<u32>,
    /// FEC data shards.
    pub datashard: Option<usize>,
    /// FEC parity shards.
    pub parityshard: Option<usize>,
    /// DSCP.
    pub dscp: Option<u8>,
    /// No compression.
    pub nocomp: Option<bool>,
    /// ACK no delay.
    pub acknodelay: Option<bool>,
    /// Manual nodelay.
    pub nodelay: Option<u32>,
    /// Manual interval.
    pub interval: Option<u32>,
    /// Manual resend.
    pub resend: Option<u32>,
    /// Manual nc.
    pub nc: Option<u32>,
    /// Socket buffer.
    pub sockbuf: Option<usize>,
    /// smux version.
    pub smuxver: Option<u8>,
    /// smux session buffer.
    pub smuxbuf: Option<usize>,
    /// smux stream buffer.
    pub streambuf: Option<usize>,
    /// Keepalive seconds.
    pub keepalive: Option<u64>,
    /// Log file.
    pub log: Option<String>,
    /// SNMP log file.
    pub snmplog: Option<String>,
    /// SNMP period.
    pub snmpperiod: Option<u64>,
    /// Quiet.
    pub quiet: Option<bool>,
    /// TCP emulation.
    pub tcp: Option<bool>,
    /// Server: pprof.
    pub pprof: Option<bool>,
    /// Raw KCP mode (ours).
    pub raw: Option<bool>,
}

impl JsonConfig {
    /// Parses kcptun's JSON: an object whose keys match case-insensitively.
    pub fn parse(text: &str) -> Result<JsonConfig, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(map) = value else {
            return Err("the configuration must be a JSON object".into());
        };
        let lower: serde_json::Map<String, serde_json::Value> = map
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        serde_json::from_value(serde_json::Value::Object(lower)).map_err(|e| e.to_string())
    }
}

/// Everything one end runs with, after flags, environment and JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Which end.
    pub role: Role,
    /// Client: TCP listen address (`-l`). Server: UDP listen address (`-l`).
    pub listen: String,
    /// Client: the server's UDP address (`-r`). Server: the target (`-t`).
    pub remote: String,
    /// `--key`.
    pub key: String,
    /// `--crypt`.
    pub crypt: String,
    /// `--mode`.
    pub mode: String,
    /// `--conn`.
    pub conn: u32,
    /// `--autoexpire` (s).
    pub autoexpire: u64,
    /// `--scavengettl` (s).
    pub scavengettl: u64,
    /// `--mtu`.
    pub mtu: usize,
    /// `--sndwnd`.
    pub sndwnd: u32,
    /// `--rcvwnd`.
    pub rcvwnd: u32,
    /// `--datashard`.
    pub datashard: usize,
    /// `--parityshard`.
    pub parityshard: usize,
    /// `--dscp`.
    pub dscp: u8,
    /// `--nocomp`.
    pub nocomp: bool,
    /// `--acknodelay`.
    pub acknodelay: bool,
    /// `--nodelay`.
    pub nodelay: u32,
    /// `--interval`.
    pub interval: u32,
    /// `--resend`.
    pub resend: u32,
    /// `--nc`.
    pub nc: u32,
    /// `--sockbuf`.
    pub sockbuf: usize,
    /// `--smuxver`.
    pub smuxver: u8,
    /// `--smuxbuf`.
    pub smuxbuf: usize,
    /// `--streambuf`.
    pub streambuf: usize,
    /// `--keepalive` (s).
    pub keepalive: u64,
    /// `--log` ("" = stderr).
    pub log: String,
    /// `--snmplog` ("" = off).
    pub snmplog: String,
    /// `--snmpperiod` (s).
    pub snmpperiod: u64,
    /// `--quiet`.
    pub quiet: bool,
    /// `--tcp` (refused).
    pub tcp: bool,
    /// `--pprof` (ignored).
    pub pprof: bool,
    /// `--raw`.
    pub raw: bool,
    /// `--allow-default-key`.
    pub allow_default_key: bool,
    /// Plugin option `outbound_bind_addr`: the local address of the client's UDP sockets.
    pub bind_addr: Option<IpAddr>,
    /// Plugin option `outbound_bind_interface` (Linux `SO_BINDTODEVICE`).
    pub bind_interface: Option<String>,
    /// Plugin option `outbound_fwmark` (Linux `SO_MARK`).
    pub fwmark: Option<u32>,
}

impl Options {
    /// kcptun's defaults for `role`.
    pub fn defaults(role: Role) -> Options {
        let (listen, remote, wnd) = match role {
            Role::Client => (":12948", "vps:29900", (128, 512)),
            Role::Server => (":29900", "127.0.0.1:12948", (1024, 1024)),
        };
        Options {
            role,
            listen: listen.into(),
            remote: remote.into(),
            key: kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE.into(),
            crypt: "aes".into(),
            mode: "fast".into(),
            conn: 1,
            autoexpire: 0,
            scavengettl: 600,
            mtu: 1350,
            sndwnd: wnd.0,
            rcvwnd: wnd.1,
            datashard: 10,
            parityshard: 3,
            dscp: 0,
            nocomp: false,
            acknodelay: false,
            nodelay: 0,
            interval: 50,
            resend: 0,
            nc: 0,
            sockbuf: 4 << 20,
            smuxver: 1,
            smuxbuf: 4 << 20,
            streambuf: 2 << 20,
            keepalive: 10,
            log: String::new(),
            snmplog: String::new(),
            snmpperiod: 60,
            quiet: false,
            tcp: false,
            pprof: false,
            raw: false,
            allow_default_key: false,
            bind_addr: None,
            bind_interface: None,
            fwmark: None,
        }
    }

    /// The options the command line gives, before `-c`; returns the JSON path too.
    pub fn from_cli(cli: Cli) -> (Options, Option<String>) {
        let (mut o, common) = match cli.role {
            RoleArgs::Client(a) => {
                let mut o = Options::defaults(Role::Client);
                o.listen = a.localaddr;
                o.remote = a.remoteaddr;
                o.conn = a.conn;
                o.autoexpire = a.autoexpire;
                o.scavengettl = a.scavengettl;
                o.sndwnd = a.sndwnd;
                o.rcvwnd = a.rcvwnd;
                (o, a.common)
            }
            RoleArgs::Server(a) => {
                let mut o = Options::defaults(Role::Server);
                o.listen = a.listen;
                o.remote = a.target;
                o.sndwnd = a.sndwnd;
                o.rcvwnd = a.rcvwnd;
                o.pprof = a.pprof;
                (o, a.common)
            }
        };
        let c = common;
        o.key = c.key;
        o.crypt = c.crypt;
        o.mode = c.mode;
        o.mtu = c.mtu;
        o.datashard = c.datashard;
        o.parityshard = c.parityshard;
        o.dscp = c.dscp;
        o.nocomp = c.nocomp;
        o.acknodelay = c.acknodelay;
        o.nodelay = c.nodelay;
        o.interval = c.interval;
        o.resend = c.resend;
        o.nc = c.nc;
        o.sockbuf = c.sockbuf;
        o.smuxver = c.smuxver;
        o.smuxbuf = c.smuxbuf;
        o.streambuf = c.streambuf;
        o.keepalive = c.keepalive;
        o.log = c.log;
        o.snmplog = c.snmplog;
        o.snmpperiod = c.snmpperiod;
        o.quiet = c.quiet;
        o.tcp = c.tcp;
        o.raw = c.raw;
        o.allow_default_key = c.allow_default_key;
        (o, c.c)
    }

    /// Overrides the options with every key `json` has (kcptun reads `-c` after the flags).
    /// Keys of the other role (`listen` for a client, ...) are ignored, as kcptun does.
    pub fn apply_json(&mut self, j: JsonConfig) {
        fn set<T>(dst: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *dst = v;
            }
        }
        match self.role {
            Role::Client => {
                set(&mut self.listen, j.localaddr);
                set(&mut self.remote, j.remoteaddr);
                set(&mut self.conn, j.conn);
                set(&mut self.autoexpire, j.autoexpire);
                set(&mut self.scavengettl, j.scavengettl);
            }
            Role::Server => {
                set(&mut self.listen, j.listen);
                set(&mut self.remote, j.target);
                set(&mut self.pprof, j.pprof);
            }
        }
        set(&mut self.key, j.key);
        set(&mut self.crypt, j.crypt);
        set(&mut self.mode, j.mode);
        set(&mut self.mtu, j.mtu);
        set(&mut self.sndwnd, j.sndwnd);
        set(&mut self.rcvwnd, j.rcvwnd);
        set(&mut self.datashard, j.datashard);
        set(&mut self.parityshard, j.parityshard);
        set(&mut self.dscp, j.dscp);
        set(&mut self.nocomp, j.nocomp);
        set(&mut self.acknodelay, j.acknodelay);
        set(&mut self.nodelay, j.nodelay);
        set(&mut self.interval, j.interval);
        set(&mut self.resend, j.resend);
        set(&mut self.nc, j.nc);
        set(&mut self.sockbuf, j.sockbuf);
        set(&mut self.smuxver, j.smuxver);
        set(&mut self.smuxbuf, j.smuxbuf);
        set(&mut self.streambuf, j.streambuf);
        set(&mut self.keepalive, j.keepalive);
        set(&mut self.log, j.log);
        set(&mut self.snmplog, j.snmplog);
        set(&mut self.snmpperiod, j.snmpperiod);
        set(&mut self.quiet, j.quiet);
        set(&mut self.tcp, j.tcp);
        set(&mut self.raw, j.raw);
    }

    /// The cipher: kcptun's name, or aes for a name kcptun does not know (with a note).
    pub fn cipher(&self) -> (CipherKind, Option<String>) {
        match self.crypt.parse::<CipherKind>() {
            Ok(k) => (k, None),
            Err(_) => (
                CipherKind::Aes256,
                Some(format!(
                    "unknown crypt {:?}: using aes, as kcptun does",
                    self.crypt
                )),
            ),
        }
    }

    /// The KCP profile: a named mode, or (for `manual` and any other name, as kcptun)
    /// the `--nodelay --interval --resend --nc` knobs.
    pub fn kcp_mode(&self) -> Mode {
        match self.mode.as_str() {
            "normal" => Mode::Normal,
            "fast" => Mode::Fast,
            "fast2" => Mode::Fast2,
            "fast3" => Mode::Fast3,
            _ => Mode::Manual {
                nodelay: self.nodelay,
                interval: self.interval,
                resend: self.resend,
                nc: self.nc != 0,
            },
        }
    }

    /// The session configuration, as kcptun sets up its sessions: stream mode, no write
    /// delay, and (in smux mode) no idle timeout of its own, since smux's keepalive
    /// decides when a session is dead. `--raw` means no cipher and no FEC.
    pub fn session_config(&self) -> Config {
        let (crypt, _) = self.cipher();
        let mut c = Config::default();
        c.crypt = crypt;
        c.key = self.key.clone().into_bytes();
        c.data_shards = self.datashard;
        c.parity_shards = self.parityshard;
        c.mtu = self.mtu;
        c.snd_wnd = self.sndwnd;
        c.rcv_wnd = self.rcvwnd;
        c.mode = self.kcp_mode();
        c.stream = true;
        c.ack_nodelay = self.acknodelay;
        c.write_delay = false;
        c.dscp = self.dscp;
        c.sockbuf = self.sockbuf;
        c.idle_timeout = None;
        if self.raw {
            c.crypt = CipherKind::Null;
            c.data_shards = 0;
            c.parity_shards = 0;
            c.idle_timeout = Config::default().idle_timeout;
        }
        c
    }

    /// smux's settings.
    pub fn mux_config(&self) -> MuxConfig {
        MuxConfig {
            version: self.smuxver,
            max_receive_buffer: self.smuxbuf,
            max_stream_buffer: self.streambuf,
            keepalive_interval: Duration::from_secs(self.keepalive),
            ..MuxConfig::default()
        }
    }

    /// Checks what kcptun would refuse (and what this program does not do); the message
    /// says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.tcp {
            return Err("--tcp (TCP emulation over raw sockets) is not supported; \
                        run without it to use UDP"
                .into());
        }
        if self.role == Role::Client && !(1..=65_535).contains(&self.conn) {
            return Err(format!("--conn must be in 1..=65535, not {}", self.conn));
        }
        if !self.raw {
            self.mux_config().verify()?;
        }
        self.session_config()
            .build()
            .map(|_| ())
            .map_err(|e| format!("invalid session settings: {e}"))?;
        if self.role == Role::Server
            && self.key == kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE
            && !self.allow_default_key
            && !is_loopback(&self.listen)
        {
            return Err(format!(
                "refusing to serve on {} with kcptun's public default key: anyone could \
                 use or read this tunnel. Pass --key (or KCPTUN_KEY), listen on a loopback \
                 address, or pass --allow-default-key",
                self.listen
            ));
        }
        Ok(())
    }
}

/// True when `addr`'s host is a loopback address or `localhost` (an empty host, as in
/// `:29900`, means every interface).
pub fn is_loopback(addr: &str) -> bool {
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h,
        None => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits `host:port` or `host:min-max` (kcptun's port range) into the host and the
/// ports, in order. At most 1024 ports.
pub fn port_range(addr: &str) -> Result<(String, Vec<u16>), String> {
    let (host, ports) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr:?}: expected host:port or host:min-max"))?;
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{addr:?}: bad port {p:?}"))
    };
    let (min, max) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if min > max {
        return Err(format!("{addr:?}: port range {min}-{max} is empty"));
    }
    if usize::from(max - min) >= 1024 {
        return Err(format!("{addr:?}: at most 1024 ports in a range"));
    }
    Ok((host.to_owned(), (min..=max).collect()))
}

/// Joins a host (possibly empty, meaning every interface, or an IPv6 literal) and a port
/// into an address tokio can bind or connect to.
pub fn host_port(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        format!("0.0.0.0:{port}")
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> (Options, Option<String>) {
        let words = args.iter().map(std::ffi::OsString::from);
        let words = crate::cli::go_style(&Cli::command(), words);
        Options::from_cli(Cli::try_parse_from(words).unwrap())
    }

    #[test]
    fn kcptun_defaults_per_role() {
        let (c, json) = parse(&["kcp-tunnel", "client"]);
        assert_eq!(c, Options::defaults(Role::Client));
        assert_eq!(json, None);
        assert_eq!(
            (c.listen.as_str(), c.remote.as_str()),
            (":12948", "vps:29900")
        );
        assert_eq!(
            (c.sndwnd, c.rcvwnd, c.conn, c.scavengettl),
            (128, 512, 1, 600)
        );
        let (s, _) = parse(&["kcp-tunnel", "server"]);
        assert_eq!(s, Options::defaults(Role::Server));
        assert_eq!((s.sndwnd, s.rcvwnd), (1024, 1024));
        assert_eq!(s.remote, "127.0.0.1:12948");
        let k = s.session_config();
        assert_eq!(k.crypt, CipherKind::Aes256);
        assert_eq!((k.data_shards, k.parity_shards, k.mtu), (10, 3, 1350));
        assert_eq!(k.mode, Mode::Fast);
        assert_eq!(s.mux_config(), MuxConfig::default());
    }

    #[test]
    fn go_style_flags_short_names_and_manual_mode() {
        let (o, json) = parse(&[
            "kcp-tunnel",
            "client",
            "-l",
            ":1",
            "-r=h:2",
            "-ds",
            "4",
            "--ps=2",
            "-nocomp",
            "-mode",
            "manual",
            "-nodelay",
            "1",
            "-interval",
            "20",
            "-resend",
            "2",
            "-nc",
            "1",
            "-acknodelay",
            "--smuxver",
            "2",
            "-c",
            "x.json",
            "-key",
            "-dash-",
        ]);
        assert_eq!((o.listen.as_str(), o.remote.as_str()), (":1", "h:2"));
        assert_eq!((o.datashard, o.parityshard), (4, 2));
        assert!(o.nocomp && o.acknodelay);
        assert_eq!(o.key, "-dash-");
        assert_eq!(json.as_deref(), Some("x.json"));
        assert_eq!(
            o.kcp_mode(),
            Mode::Manual {
                nodelay: 1,
                interval: 20,
                resend: 2,
                nc: true
            }
        );
        assert_eq!(o.mux_config().version, 2);
        // A named mode wins over the knobs, as in kcptun.
        let (o, _) = parse(&["kcp-tunnel", "server", "--mode", "fast2", "--nodelay", "0"]);
        assert_eq!(o.kcp_mode(), Mode::Fast2);
        // So does any other name mean manual.
        let (o, _) = parse(&[
            "kcp-tunnel",
            "server",
            "--mode",
            "turbo",
            "--interval",
            "15",
        ]);
        assert!(matches!(o.kcp_mode(), Mode::Manual { interval: 15, .. }));
    }

    #[test]
    fn json_overrides_flags_like_kcptun() {
        let text = r#"{"localaddr": ":2000", "RemoteAddr": "1.2.3.4:2000", "key": "PASSWORD",
            "crypt": "aes-128", "mode": "fast3", "mtu": 1400, "sndwnd": 128, "rcvwnd": 1024,
            "nocomp": true, "smuxbuf": 16777217, "autoexpire": 1800, "listen": ":9",
            "unknown": [1, 2]}"#;
        let (mut o, _) = parse(&["kcp-tunnel", "client", "--key", "flag", "--mtu", "1200"]);
        o.apply_json(JsonConfig::parse(text).unwrap());
        assert_eq!(o.listen, ":2000");
        assert_eq!(o.remote, "1.2.3.4:2000");
        assert_eq!(o.key, "PASSWORD");
        assert_eq!((o.mtu, o.rcvwnd, o.autoexpire), (1400, 1024, 1800));
        assert!(o.nocomp);
        assert_eq!(o.cipher().0, CipherKind::Aes128);
        assert!(JsonConfig::parse("[1]").is_err());
        assert!(JsonConfig::parse(r#"{"mtu": "big"}"#).is_err());
        assert!(JsonConfig::parse(r#"{"dscp": -1}"#).is_err());
        assert!(JsonConfig::parse("{").is_err());
    }

    #[test]
    fn checks_and_the_default_key_rule() {
        let mut o = Options::defaults(Role::Server);
        // kcptun's default :29900 is every interface: refused with the public key.
        assert!(o.check().unwrap_err().contains("--allow-default-key"));
        o.listen = "127.0.0.1:29900".into();
        assert_eq!(o.check(), Ok(()));
        o.listen = ":29900".into();
        o.key = "secret".into();
        assert_eq!(o.check(), Ok(()));
        o.key = kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE.into();
        o.allow_default_key = true;
        assert_eq!(o.check(), Ok(()));
        o.tcp = true;
        assert!(o.check().unwrap_err().contains("--tcp"));
        o.tcp = false;
        o.smuxver = 3;
        assert!(o.check().is_err());
        o.smuxver = 2;
        o.keepalive = 31;
        assert!(o.check().unwrap_err().contains("keep-alive"));
        o.keepalive = 10;
        o.mtu = 9000;
        assert!(o.check().is_err());
        o.mtu = 1350;
        o.crypt = "rot13".into();
        assert_eq!(o.cipher().0, CipherKind::Aes256);
        assert!(o.cipher().1.is_some());
        let mut c = Options::defaults(Role::Client);
        c.conn = 0;
        assert!(c.check().is_err());
    }

    #[test]
    fn addresses() {
        for (a, lo) in [
            ("127.0.0.1:1", true),
            ("127.3.4.5:1", true),
            ("[::1]:1", true),
            ("localhost:1", true),
            (":1", false),
            ("0.0.0.0:1", false),
            ("10.0.0.1:1", false),
        ] {
            assert_eq!(is_loopback(a), lo, "{a}");
        }
        assert_eq!(port_range("h:5").unwrap(), ("h".into(), vec![5]));
        assert_eq!(port_range(":5-7").unwrap(), ("".into(), vec![5, 6, 7]));
        assert!(port_range("h:7-5").is_err());
        assert!(port_range("h:1-5000").is_err());
        assert!(port_range("h").is_err());
        assert_eq!(host_port("", 9), "0.0.0.0:9");
        assert_eq!(host_port("::1", 9), "[::1]:9");
        assert_eq!(host_port("[::1]", 9), "[::1]:9");
    }
}
