//! kcptun 20210922's command line and JSON configuration, and what they turn into: a
//! [`kcp_session::Config`] for the KCP sessions and a [`MuxConfig`] for smux.
//!
//! `kcp-tunnel client` takes `kcptun-client`'s flags and `kcp-tunnel server` takes
//! `kcptun-server`'s ([`Cli`]), with the same names, short names, defaults and
//! `KCPTUN_KEY`. As in kcptun, `-c file.json` ([`JsonConfig`]) is read after the flags and
//! every key it has overrides them (keys match case-insensitively, as Go's `encoding/json`
//! does; unknown keys are ignored), and a named `--mode` overrides `--nodelay --interval
//! --resend --nc`. [`Options`] is the result; [`KcpFlags`] is its KCP session part.

mod addr;
mod args;
mod flags;
mod json;

use std::net::IpAddr;
use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::Config;

pub use addr::{host_port, is_loopback, port_range};
pub use args::{Cli, ClientArgs, CommonArgs, RoleArgs, ServerArgs};
pub use flags::KcpFlags;
pub use json::JsonConfig;

use crate::smux::MuxConfig;

/// Which end of the tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts TCP connections and carries them to the server over KCP.
    Client,
    /// Accepts KCP sessions and connects each stream to the target.
    Server,
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
    /// The KCP session's flags.
    pub kcp: KcpFlags,
    /// `--conn`.
    pub conn: u32,
    /// `--autoexpire` (s).
    pub autoexpire: u64,
    /// `--scavengettl` (s).
    pub scavengettl: u64,
    /// `--nocomp`.
    pub nocomp: bool,
    /// `--smuxver`.
    pub smuxver: u8,
    /// `--framesize`: the largest smux frame sent.
    pub framesize: usize,
    /// `--closewait` (s): how long a connection lingers after one direction ended.
    pub closewait: u64,
    /// `--QPP`.
    pub qpp: bool,
    /// `--QPPCount`.
    pub qpp_count: u16,
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
    /// Server: `--insecure-no-crypt`.
    pub insecure_no_crypt: bool,
    /// Server: `--dial-timeout`: how long a stream may wait for its connection to the
    /// target, a dial slot included.
    pub dial_timeout: Duration,
    /// Server: `--max-dials`: connections to the target being set up at once.
    pub max_dials: usize,
    /// Server: `--amplification-limit`: [`Config::amplification_limit`]; `None` (0) is
    /// kcptun's behaviour, no limit.
    pub amplification_limit: Option<u32>,
    /// Server: `--max-streams`: [`MuxConfig::max_streams`].
    pub max_streams: usize,
    /// Server: `--memory-budget` in bytes: [`Config::memory_budget`]; `None` (0) sets no
    /// budget.
    pub memory_budget: Option<usize>,
    /// Server: `--stream-idle`: a stream that carried nothing either way for this long is
    /// closed; `None` (0) keeps it.
    pub stream_idle: Option<Duration>,
    /// Plugin option `outbound_bind_addr`: the local address of the client's UDP sockets.
    pub bind_addr: Option<IpAddr>,
    /// Plugin option `outbound_bind_interface` (Linux `SO_BINDTODEVICE`).
    pub bind_interface: Option<String>,
    /// Plugin option `outbound_fwmark` (Linux `SO_MARK`).
    pub fwmark: Option<u32>,
}

impl Options {
    /// kcptun's defaults for `role`, except that the client listens on loopback: its port
    /// opens the server's target to whoever reaches it, so the LAN gets it only when asked.
    pub fn defaults(role: Role) -> Options {
        let (listen, remote, (sndwnd, rcvwnd)) = match role {
            Role::Client => ("127.0.0.1:12948", "vps:29900", (128, 512)),
            Role::Server => (":29900", "127.0.0.1:12948", (1024, 1024)),
        };
        Options {
            role,
            listen: listen.into(),
            remote: remote.into(),
            kcp: KcpFlags {
                sndwnd,
                rcvwnd,
                ..KcpFlags::default()
            },
            conn: 1,
            autoexpire: 0,
            scavengettl: 600,
            nocomp: false,
            smuxver: 2,
            framesize: 8192,
            closewait: 0,
            qpp: false,
            qpp_count: 61,
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
            insecure_no_crypt: false,
            dial_timeout: Duration::from_secs(10),
            max_dials: 256,
            amplification_limit: Config::default().amplification_limit,
            memory_budget: Config::default().memory_budget,
            max_streams: crate::smux::MAX_STREAMS,
            stream_idle: None,
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
                (o, a.common)
            }
            RoleArgs::Server(a) => {
                let mut o = Options::defaults(Role::Server);
                o.listen = a.listen;
                o.remote = a.target;
                o.pprof = a.pprof;
                o.insecure_no_crypt = a.insecure_no_crypt;
                o.dial_timeout = Duration::from_secs(a.dial_timeout);
                o.max_dials = a.max_dials;
                o.amplification_limit =
                    (a.amplification_limit > 0).then_some(a.amplification_limit);
                o.max_streams = a.max_streams;
                o.memory_budget =
                    (a.memory_budget > 0).then_some(a.memory_budget.saturating_mul(1 << 20));
                o.stream_idle = (a.stream_idle > 0).then(|| Duration::from_secs(a.stream_idle));
                (o, a.common)
            }
        };
        let c = common;
        o.kcp = c.kcp;
        o.nocomp = c.nocomp;
        o.smuxver = c.smuxver;
        o.framesize = c.framesize;
        o.closewait = c.closewait;
        o.qpp = c.qpp;
        o.qpp_count = c.qpp_count;
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
        set(&mut self.kcp.key, j.key);
        set(&mut self.kcp.crypt, j.crypt);
        set(&mut self.kcp.mode, j.mode);
        set(&mut self.kcp.mtu, j.mtu);
        set(&mut self.kcp.sndwnd, j.sndwnd);
        set(&mut self.kcp.rcvwnd, j.rcvwnd);
        set(&mut self.kcp.datashard, j.datashard);
        set(&mut self.kcp.parityshard, j.parityshard);
        set(&mut self.kcp.dscp, j.dscp);
        set(&mut self.nocomp, j.nocomp);
        set(&mut self.kcp.acknodelay, j.acknodelay);
        set(&mut self.kcp.nodelay, j.nodelay);
        set(&mut self.kcp.interval, j.interval);
        set(&mut self.kcp.resend, j.resend);
        set(&mut self.kcp.nc, j.nc);
        set(&mut self.kcp.sockbuf, j.sockbuf);
        set(&mut self.kcp.ratelimit, j.ratelimit);
        set(&mut self.smuxver, j.smuxver);
        set(&mut self.framesize, j.framesize);
        set(&mut self.closewait, j.closewait);
        set(&mut self.qpp, j.qpp);
        set(&mut self.qpp_count, j.qpp_count);
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
        self.kcp.cipher()
    }

    /// The session configuration, as kcptun sets up its sessions ([`KcpFlags::config`])
    /// with no idle timeout of its own in smux mode, since smux's keepalive decides when a
    /// session is dead. `--raw` means no cipher and no FEC, and the default idle timeout.
    pub fn session_config(&self) -> Config {
        let mut c = self.kcp.config();
        c.amplification_limit = self.amplification_limit;
        c.memory_budget = self.memory_budget;
        if self.raw {
            c.crypt = CipherKind::Null;
            c.data_shards = 0;
            c.parity_shards = 0;
        } else {
            c.idle_timeout = None;
        }
        c
    }

    /// smux's settings.
    pub fn mux_config(&self) -> MuxConfig {
        MuxConfig {
            version: self.smuxver,
            max_receive_buffer: self.smuxbuf,
            max_stream_buffer: self.streambuf,
            max_frame: self.framesize,
            keepalive_interval: Duration::from_secs(self.keepalive),
            max_streams: self.max_streams,
            // A server speaks whichever version each client speaks.
            detect_version: self.role == Role::Server,
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
        if self.max_streams == 0 {
            return Err("--max-streams must be positive".into());
        }
        if !self.raw {
            self.mux_config().verify()?;
        }
        self.session_config()
            .build()
            .map(|_| ())
            .map_err(|e| format!("invalid session settings: {e}"))?;
        if self.qpp && self.raw {
            return Err("--QPP works on smux streams; --raw has none".into());
        }
        if self.qpp && self.qpp_count == 0 {
            return Err("--QPPCount must be greater than 0 when --QPP is on".into());
        }
        if self.role == Role::Server && self.max_dials == 0 {
            return Err("--max-dials must be positive".into());
        }
        let unencrypted =
            self.raw || matches!(self.cipher().0, CipherKind::Null | CipherKind::None);
        if self.role == Role::Server
            && unencrypted
            && !self.insecure_no_crypt
            && !is_loopback(&self.listen)
        {
            let what = if self.raw {
                "--raw (no encryption)".to_owned()
            } else {
                format!("--crypt {}", self.kcp.crypt)
            };
            return Err(format!(
                "refusing to serve on {} with {what}: anyone on the path reads the \
                 traffic, anyone can open streams to the target, and forged datagrams \
                 open sessions that send to their victims. Pick a cipher (--crypt aes), \
                 listen on a loopback address, or pass --insecure-no-crypt",
                self.listen
            ));
        }
        if self.role == Role::Server
            && self.kcp.key == kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use kcp_session::Mode;

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
            ("127.0.0.1:12948", "vps:29900")
        );
        assert_eq!(
            (c.kcp.sndwnd, c.kcp.rcvwnd, c.conn, c.scavengettl),
            (128, 512, 1, 600)
        );
        let (s, _) = parse(&["kcp-tunnel", "server"]);
        assert_eq!(s, Options::defaults(Role::Server));
        assert_eq!((s.kcp.sndwnd, s.kcp.rcvwnd), (1024, 1024));
        assert_eq!(s.remote, "127.0.0.1:12948");
        let k = s.session_config();
        assert_eq!(k.crypt, CipherKind::Aes256);
        assert_eq!((k.data_shards, k.parity_shards, k.mtu), (10, 3, 1350));
        assert_eq!(k.mode, Mode::Fast);
        // kcptun's last release: smux v2 and 8 KiB frames; the rest is 20210922's.
        assert_eq!(
            s.mux_config(),
            MuxConfig {
                version: 2,
                max_frame: 8192,
                detect_version: true,
                ..MuxConfig::default()
            }
        );
        assert_eq!((s.qpp, s.qpp_count, s.closewait), (false, 61, 0));
    }

    /// kcptun's last release's flags and JSON keys: `--QPP --QPPCount --framesize
    /// --closewait`, and `"qpp" "qpp-count" "framesize" "closewait"` in `-c` (where they
    /// used to be ignored, so that `"QPP": true` silently broke the wire).
    #[test]
    fn last_release_flags_and_json_keys() {
        let (o, _) = parse(&[
            "kcp-tunnel",
            "client",
            "--QPP",
            "--QPPCount",
            "7",
            "--framesize",
            "4096",
            "--closewait",
            "3",
        ]);
        assert_eq!(
            (o.qpp, o.qpp_count, o.framesize, o.closewait),
            (true, 7, 4096, 3)
        );
        assert_eq!(o.mux_config().max_frame, 4096);
        assert_eq!(o.session_config().congestion, kcp_session::Congestion::Off);
        let (o, _) = parse(&["kcp-tunnel", "server", "--congestion", "bbr"]);
        assert_eq!(o.session_config().congestion, kcp_session::Congestion::Bbr);
        let mut o = Options::defaults(Role::Server);
        // kcptun's own JSON key is "qpp-count"; "QPPCount" is not one of its keys.
        let e = JsonConfig::parse(r#"{"QPPCount": 13}"#).unwrap_err();
        assert!(e.contains("\"qpp-count\""), "{e}");
        o.apply_json(
            JsonConfig::parse(r#"{"QPP": true, "framesize": 16384, "closewait": 5}"#).unwrap(),
        );
        assert_eq!((o.qpp, o.qpp_count), (true, 61));
        o.apply_json(JsonConfig::parse(r#"{"qpp-count": 13}"#).unwrap());
        assert_eq!((o.qpp_count, o.framesize, o.closewait), (13, 16384, 5));
        o.qpp_count = 0;
        o.listen = "127.0.0.1:1".into();
        assert!(o.check().unwrap_err().contains("QPPCount"));
        o.qpp_count = 13;
        o.framesize = 70_000;
        assert!(o.check().is_err());
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
        assert_eq!((o.kcp.datashard, o.kcp.parityshard), (4, 2));
        assert!(o.nocomp && o.kcp.acknodelay);
        assert_eq!(o.kcp.key, "-dash-");
        assert_eq!(json.as_deref(), Some("x.json"));
        assert_eq!(
            o.kcp.kcp_mode(),
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
        assert_eq!(o.kcp.kcp_mode(), Mode::Fast2);
        // So does any other name mean manual.
        let (o, _) = parse(&[
            "kcp-tunnel",
            "server",
            "--mode",
            "turbo",
            "--interval",
            "15",
        ]);
        assert!(matches!(
            o.kcp.kcp_mode(),
            Mode::Manual { interval: 15, .. }
        ));
    }

    #[test]
    fn json_overrides_flags_like_kcptun() {
        let text = r#"{"localaddr": ":2000", "RemoteAddr": "1.2.3.4:2000", "key": "PASSWORD",
            "crypt": "aes-128", "mode": "fast3", "mtu": 1400, "sndwnd": 128, "rcvwnd": 1024,
            "nocomp": true, "smuxbuf": 16777217, "autoexpire": 1800, "listen": ":9"}"#;
        let (mut o, _) = parse(&["kcp-tunnel", "client", "--key", "flag", "--mtu", "1200"]);
        o.apply_json(JsonConfig::parse(text).unwrap());
        assert_eq!(o.listen, ":2000");
        assert_eq!(o.remote, "1.2.3.4:2000");
        assert_eq!(o.kcp.key, "PASSWORD");
        assert_eq!((o.kcp.mtu, o.kcp.rcvwnd, o.autoexpire), (1400, 1024, 1800));
        assert!(o.nocomp);
        assert_eq!(o.cipher().0, CipherKind::Aes128);
        assert!(JsonConfig::parse("[1]").is_err());
        assert!(JsonConfig::parse(r#"{"mtu": "big"}"#).is_err());
        assert!(JsonConfig::parse(r#"{"dscp": -1}"#).is_err());
        assert!(JsonConfig::parse("{").is_err());
    }

    /// A key kcp-tunnel does not know is an error naming it, not a silent default: a
    /// misspelt `"qppcount"` would otherwise leave QPP's pad count at 61 without a word.
    #[test]
    fn unknown_json_keys_are_errors_naming_the_key() {
        let e = JsonConfig::parse(r#"{"mtu": 1350, "qppcount": 13}"#).unwrap_err();
        assert!(e.contains("`qppcount`"), "{e}");
        let e = JsonConfig::parse(r#"{"Unknown": [1, 2]}"#).unwrap_err();
        assert!(e.contains("`unknown`"), "{e}");
        // Every key of both kcptun releases is known (case-insensitively).
        let all = r#"{"LocalAddr": ":1", "RemoteAddr": "h:2", "Listen": ":3", "Target": "t:4",
            "Key": "k", "Crypt": "aes", "Mode": "fast", "Conn": 1, "AutoExpire": 0,
            "ScavengeTTL": 600, "MTU": 1350, "SndWnd": 128, "RcvWnd": 512, "DataShard": 10,
            "ParityShard": 3, "DSCP": 0, "NoComp": false, "AckNodelay": false, "NoDelay": 0,
            "Interval": 50, "Resend": 0, "NC": 0, "SockBuf": 4194304, "SmuxVer": 1,
            "SmuxBuf": 4194304, "StreamBuf": 2097152, "KeepAlive": 10, "Log": "",
            "SnmpLog": "", "SnmpPeriod": 60, "Quiet": false, "TCP": false, "Pprof": false,
            "RateLimit": 0, "FrameSize": 8192, "CloseWait": 0, "QPP": false,
            "QPP-Count": 61}"#;
        JsonConfig::parse(all).unwrap();
    }

    /// No encryption (`null`, `none`, `--raw`) is refused on a public address unless
    /// asked for; loopback is fine.
    #[test]
    fn no_encryption_needs_loopback_or_the_flag() {
        for (crypt, raw) in [("null", false), ("none", false), ("aes", true)] {
            let mut o = Options::defaults(Role::Server);
            o.kcp.key = "secret".into();
            o.kcp.crypt = crypt.into();
            o.raw = raw;
            let e = o.check().unwrap_err();
            assert!(
                e.contains("--insecure-no-crypt") && e.contains(":29900"),
                "{crypt} raw={raw}: {e}"
            );
            o.listen = "127.0.0.1:29900".into();
            assert_eq!(o.check(), Ok(()), "{crypt} raw={raw} on loopback");
            o.listen = "[::]:29900".into();
            assert!(o.check().is_err());
            let (mut o, _) = parse(&["kcp-tunnel", "server", "--key", "k", "--crypt", crypt]);
            o.raw = raw;
            assert!(o.check().is_err());
            let (mut o, _) = parse(&[
                "kcp-tunnel",
                "server",
                "--key",
                "k",
                "--crypt",
                crypt,
                "--insecure-no-crypt",
            ]);
            o.raw = raw;
            assert_eq!(o.check(), Ok(()), "{crypt} raw={raw} with the flag");
        }
        // A client has no such rule: it talks to the server it is given.
        let mut c = Options::defaults(Role::Client);
        c.kcp.crypt = "null".into();
        assert_eq!(c.check(), Ok(()));
    }

    /// `--ratelimit` (kcptun's last release) and the JSON key `ratelimit` pace each
    /// session: they reach `Config::rate_limit`; 0 means no limit, as in kcptun.
    #[test]
    fn ratelimit_reaches_the_session_config() {
        let (o, _) = parse(&["kcp-tunnel", "client"]);
        assert_eq!(o.session_config().rate_limit, None);
        let (o, _) = parse(&["kcp-tunnel", "server", "--stream-idle", "600"]);
        assert_eq!(o.stream_idle, Some(Duration::from_secs(600)));
        assert_eq!(Options::defaults(Role::Server).stream_idle, None);
        let (mut o, _) = parse(&["kcp-tunnel", "server", "--ratelimit", "1000000"]);
        assert_eq!(o.session_config().rate_limit, Some(1_000_000));
        o.apply_json(JsonConfig::parse(r#"{"RateLimit": 0}"#).unwrap());
        assert_eq!(o.session_config().rate_limit, None);
        o.apply_json(JsonConfig::parse(r#"{"ratelimit": 65536}"#).unwrap());
        assert_eq!(o.session_config().rate_limit, Some(65_536));
        o.raw = true;
        assert_eq!(o.session_config().rate_limit, Some(65_536));
    }

    /// `--amplification-limit` (0 = off, kcp-go's behaviour) reaches
    /// `Config::amplification_limit`, `--memory-budget` (MB, 0 = none)
    /// `Config::memory_budget`, and `--max-streams` reaches `MuxConfig::max_streams`; 0
    /// streams is refused by name.
    #[test]
    fn amplification_limit_and_max_streams_reach_the_configs() {
        let (o, _) = parse(&["kcp-tunnel", "server"]);
        assert_eq!(o.session_config().amplification_limit, Some(3));
        assert_eq!(o.mux_config().max_streams, MuxConfig::default().max_streams);
        let (o, _) = parse(&["kcp-tunnel", "server", "--amplification-limit", "0"]);
        assert_eq!(o.session_config().amplification_limit, None);
        let (mut o, _) = parse(&[
            "kcp-tunnel",
            "server",
            "--amplification-limit",
            "5",
            "--max-streams",
            "16",
            "--raw",
        ]);
        assert_eq!(o.session_config().amplification_limit, Some(5));
        assert_eq!(o.mux_config().max_streams, 16);
        assert_eq!(o.session_config().memory_budget, Some(1 << 30));
        let (b, _) = parse(&["kcp-tunnel", "server", "--memory-budget", "64"]);
        assert_eq!(b.session_config().memory_budget, Some(64 << 20));
        let (b, _) = parse(&["kcp-tunnel", "server", "--memory-budget", "0"]);
        assert_eq!(b.session_config().memory_budget, None);
        o.raw = false;
        let (mut o, _) = parse(&["kcp-tunnel", "server", "--max-streams", "0"]);
        o.listen = "127.0.0.1:1".into();
        assert!(o.check().unwrap_err().contains("--max-streams"));
    }

    #[test]
    fn checks_and_the_default_key_rule() {
        let mut o = Options::defaults(Role::Server);
        // kcptun's default :29900 is every interface: refused with the public key.
        assert!(o.check().unwrap_err().contains("--allow-default-key"));
        o.listen = "127.0.0.1:29900".into();
        assert_eq!(o.check(), Ok(()));
        o.listen = ":29900".into();
        o.kcp.key = "secret".into();
        assert_eq!(o.check(), Ok(()));
        o.kcp.key = kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE.into();
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
        o.kcp.mtu = 9000;
        assert!(o.check().is_err());
        o.kcp.mtu = 1350;
        o.kcp.crypt = "rot13".into();
        assert_eq!(o.cipher().0, CipherKind::Aes256);
        assert!(o.cipher().1.is_some());
        let mut c = Options::defaults(Role::Client);
        c.conn = 0;
        assert!(c.check().is_err());
    }
}
