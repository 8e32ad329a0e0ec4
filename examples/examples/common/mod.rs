//! What the echo, sink and demo examples share: a small command-line parser, kcptun's
//! session flags turned into a [`kcp_session::Config`], and (in [`wire`]) the echo and sink
//! protocols of the kcp-go peer `peers/session`.
//!
//! Flags are written `--flag value` or `--flag=value` (a single dash works too, as with
//! Go's and kcptun's parsers); a switch such as `--acknodelay` takes no value, or
//! `=true`/`=false`. `--help` prints the usage and exits 0; an unknown flag or a bad value
//! prints an error and exits 2.

// Each example includes this module and uses only part of it.
#![allow(dead_code)]

pub(crate) mod wire;

use std::collections::VecDeque;
use std::fmt::Display;
use std::process::{self, ExitCode};
use std::str::FromStr;
use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::{Config, Mode, Settings};

/// The usage text of the kcptun flags, for each example's `--help`.
pub(crate) const KCPTUN_FLAGS: &str = "\
session flags (named as kcptun's, with kcptun's defaults; both sides must agree):
  --key STRING         pre-shared secret, stretched with PBKDF2 (default \"it's a secrect\")
  --crypt NAME         aes aes-128 aes-192 salsa20 blowfish twofish cast5 3des tea xtea
                       xor sm4 none null aes-128-gcm (default aes); null: no crypto layer
  --mode NAME          fast3 fast2 fast normal manual (default fast)
  --nodelay N          --mode manual only: 0, 1 or 2 (default 0)
  --interval MS        --mode manual only: flush interval, 10..=5000 (default 50)
  --resend N           --mode manual only: fast resend after N skipping ACKs (default 0)
  --nc N               --mode manual only: 1 turns the congestion window off (default 0)
  --mtu BYTES          largest datagram, headers included (default 1350)
  --sndwnd N           send window in segments (default 1024)
  --rcvwnd N           receive window in segments (default 1024)
  --datashard N        FEC data shards; 0 with --parityshard 0 turns FEC off (default 10)
  --parityshard N      FEC parity shards (default 3)
  --acknodelay         flush acknowledgements at once
  --dscp N             DSCP of outgoing datagrams, 0..=63 (default 0)
  --sockbuf BYTES      socket send and receive buffer (default 4194304)
  --timeout SECONDS    clients: limit for the whole run; servers: a session that hears
                       nothing this long is closed; 0 = none (default 60)";

/// The command line being parsed: the words left, and the program's name and usage for
/// messages.
pub(crate) struct Cli {
    program: &'static str,
    usage: String,
    args: VecDeque<String>,
}

/// One flag as written: its name without dashes, and the value after `=`, if any.
pub(crate) struct Flag {
    /// The name without the leading dashes.
    pub(crate) name: String,
    inline: Option<String>,
}

impl Cli {
    /// The process's arguments; `usage` is printed by `--help`.
    pub(crate) fn new(program: &'static str, usage: impl Into<String>) -> Cli {
        Cli::from_args(program, usage, std::env::args().skip(1))
    }

    /// Arguments from anywhere (for tests of the parser).
    pub(crate) fn from_args(
        program: &'static str,
        usage: impl Into<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Cli {
        let cli = Cli {
            program,
            usage: usage.into(),
            args: args.into_iter().collect(),
        };
        if cli
            .args
            .iter()
            .any(|a| matches!(a.as_str(), "--help" | "-help" | "-h"))
        {
            println!("{}", cli.usage);
            process::exit(0);
        }
        cli
    }

    /// Takes the subcommand, which must be one of `choices`.
    pub(crate) fn subcommand(&mut self, choices: &[&str]) -> String {
        match self.args.pop_front() {
            Some(word) if choices.contains(&word.as_str()) => word,
            Some(word) => self.fail(format_args!(
                "unknown subcommand {word:?} (expected {})",
                choices.join(" or ")
            )),
            None => self.fail(format_args!(
                "missing subcommand (expected {})",
                choices.join(" or ")
            )),
        }
    }

    /// The next flag, or `None` at the end. A word that is not a flag is an error.
    pub(crate) fn next_flag(&mut self) -> Option<Flag> {
        let word = self.args.pop_front()?;
        let Some(body) = word
            .strip_prefix("--")
            .or_else(|| word.strip_prefix('-'))
            .filter(|b| !b.is_empty() && !b.starts_with('-'))
        else {
            self.fail(format_args!("unexpected argument {word:?}"))
        };
        Some(match body.split_once('=') {
            Some((name, value)) => Flag {
                name: name.to_owned(),
                inline: Some(value.to_owned()),
            },
            None => Flag {
                name: body.to_owned(),
                inline: None,
            },
        })
    }

    /// The flag's value as written: after `=`, or the next word.
    pub(crate) fn raw(&mut self, flag: &Flag) -> String {
        if let Some(v) = &flag.inline {
            return v.clone();
        }
        match self.args.pop_front() {
            Some(v) => v,
            None => self.fail(format_args!("--{} needs a value", flag.name)),
        }
    }

    /// The flag's value, parsed.
    pub(crate) fn value<T: FromStr>(&mut self, flag: &Flag) -> T
    where
        T::Err: Display,
    {
        let raw = self.raw(flag);
        match raw.parse() {
            Ok(v) => v,
            Err(e) => self.bad(flag, &raw, e),
        }
    }

    /// A byte count: a plain number, or one with a binary suffix (`64K`, `4M`, `4MiB`, `1G`).
    pub(crate) fn size(&mut self, flag: &Flag) -> u64 {
        let raw = self.raw(flag);
        match parse_size(&raw) {
            Ok(v) => v,
            Err(e) => self.bad(flag, &raw, e),
        }
    }

    /// Seconds as a decimal number, at least 0; 0 means no limit (`None`).
    pub(crate) fn seconds(&mut self, flag: &Flag) -> Option<Duration> {
        let raw = self.raw(flag);
        match raw.parse::<f64>() {
            Ok(0.0) => None,
            Ok(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
            Ok(_) => self.bad(flag, &raw, "must be a number of seconds, at least 0"),
            Err(e) => self.bad(flag, &raw, e),
        }
    }

    /// A switch: on when given without a value, or `=true` / `=false`.
    pub(crate) fn switch(&mut self, flag: &Flag) -> bool {
        match flag.inline.as_deref() {
            None => true,
            Some(v) => match v.parse() {
                Ok(b) => b,
                Err(e) => self.bad(flag, v, e),
            },
        }
    }

    /// Fails on a flag this program does not know.
    pub(crate) fn unknown(&self, flag: &Flag) -> ! {
        self.fail(format_args!("unknown flag --{}", flag.name))
    }

    /// Fails on a bad value.
    pub(crate) fn bad(&self, flag: &Flag, raw: &str, why: impl Display) -> ! {
        self.fail(format_args!("bad value {raw:?} for --{}: {why}", flag.name))
    }

    /// Prints `program: message` and a hint on stderr, and exits 2 (a usage error).
    pub(crate) fn fail(&self, message: impl Display) -> ! {
        eprintln!(
            "{}: {message}\nrun `{} --help` for the usage",
            self.program, self.program
        );
        process::exit(2)
    }
}

/// Parses a byte count: digits with an optional K/M/G suffix (powers of 1024; `KiB`,
/// `MiB`, `GiB` and a trailing `B` are accepted too).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &s[digits.len()..];
    let shift = match suffix {
        "" | "B" => 0,
        "K" | "KB" | "KiB" | "k" => 10,
        "M" | "MB" | "MiB" => 20,
        "G" | "GB" | "GiB" => 30,
        _ => return Err(format!("unknown suffix {suffix:?} (use K, M or G)")),
    };
    let n: u64 = digits.parse().map_err(|e| format!("{e}"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| "too large".to_owned())
}

/// kcptun's session flags plus `--timeout`, as parsed; [`Kcptun::settings`] builds them.
#[derive(Clone, Debug)]
pub(crate) struct Kcptun {
    /// Every field but the mode's manual knobs and the idle timeout, from kcptun's defaults.
    pub(crate) config: Config,
    /// `--mode` (manual knobs applied in [`Kcptun::settings`]).
    pub(crate) mode: Mode,
    /// `--nodelay --interval --resend --nc`, used with `--mode manual`.
    pub(crate) manual: (u32, u32, u32, u32),
    /// `--timeout`: `None` for 0.
    pub(crate) timeout: Option<Duration>,
}

impl Default for Kcptun {
    fn default() -> Kcptun {
        Kcptun {
            config: Config::kcptun(),
            mode: Mode::Fast,
            manual: (0, 50, 0, 0),
            timeout: Some(Duration::from_secs(60)),
        }
    }
}

impl Kcptun {
    /// Takes `flag` (and its value) if it is one of kcptun's; false if it is not.
    pub(crate) fn take(&mut self, cli: &mut Cli, flag: &Flag) -> bool {
        let c = &mut self.config;
        match flag.name.as_str() {
            "key" => c.key = cli.raw(flag).into_bytes(),
            "crypt" => {
                let raw = cli.raw(flag);
                match raw.parse::<CipherKind>() {
                    Ok(k) => c.crypt = k,
                    Err(_) => {
                        let names: Vec<_> = CipherKind::ALL.iter().map(|k| k.name()).collect();
                        cli.bad(
                            flag,
                            &raw,
                            format_args!("expected one of {}", names.join(" ")),
                        );
                    }
                }
            }
            "mode" => self.mode = cli.value(flag),
            "nodelay" => self.manual.0 = cli.value(flag),
            "interval" => self.manual.1 = cli.value(flag),
            "resend" => self.manual.2 = cli.value(flag),
            "nc" => self.manual.3 = cli.value(flag),
            "mtu" => c.mtu = cli.value(flag),
            "sndwnd" => c.snd_wnd = cli.value(flag),
            "rcvwnd" => c.rcv_wnd = cli.value(flag),
            "datashard" | "ds" => c.data_shards = cli.value(flag),
            "parityshard" | "ps" => c.parity_shards = cli.value(flag),
            "acknodelay" => c.ack_nodelay = cli.switch(flag),
            "dscp" => c.dscp = cli.value(flag),
            "sockbuf" => c.sockbuf = cli.value(flag),
            "timeout" => self.timeout = cli.seconds(flag),
            _ => return false,
        }
        true
    }

    /// The [`Config`] these flags describe: `--mode manual` takes its knobs from
    /// `--nodelay --interval --resend --nc` (ignored for the named modes, as kcptun does),
    /// and `--timeout` is the idle timeout.
    pub(crate) fn config(&self) -> Config {
        let mode = match self.mode {
            Mode::Manual { .. } => {
                let (nodelay, interval, resend, nc) = self.manual;
                Mode::Manual {
                    nodelay,
                    interval,
                    resend,
                    nc: nc != 0,
                }
            }
            named => named,
        };
        let mut c = self.config.clone();
        c.mode = mode;
        c.idle_timeout = self.timeout;
        c
    }

    /// Checks the combination and derives the key; a bad combination is a usage error.
    pub(crate) fn settings(&self, cli: &Cli) -> Settings {
        match self.config().build() {
            Ok(s) => s,
            Err(e) => cli.fail(format_args!("invalid session flags: {e}")),
        }
    }
}

/// The whole program of the `echo` and `sink` examples (they differ only in `proto`):
/// `NAME server --listen ADDR [flags]` or `NAME client --remote ADDR --bytes N [flags]`.
pub(crate) fn tool_main(name: &'static str, about: &str, proto: wire::Proto) -> ExitCode {
    let usage = format!(
        "{about}

usage:
  {name} server [--listen ADDR] [session flags]
  {name} client --remote ADDR [--bytes N] [--conns K] [session flags]

server flags:
  --listen ADDR        UDP address to listen on; port 0 picks one (default 127.0.0.1:0).
                       Prints `listening <addr>` first, then one line per event.

client flags:
  --remote ADDR        the server's UDP address (required)
  --bytes N            bytes to send on each session; K, M, G suffixes (default 1M)
  --conns K            sessions at once, each sending --bytes (default 1)
  --seed N             payload seed of session 0; session i uses N+i (default 1)
  --chunk BYTES        bytes per write call (default 32768)
  On success prints one line:
    ok conns=K bytes=TOTAL secs=S mibps=M retrans=R fecrecovered=F srttms=X
  and exits 0; on a mismatch, an error or after --timeout, prints `error: ...` on
  stderr and exits 1.

{KCPTUN_FLAGS}"
    );
    let mut cli = Cli::new(name, usage);
    let role = cli.subcommand(&["server", "client"]);
    let mut kcptun = Kcptun::default();
    let mut listen = "127.0.0.1:0".to_owned();
    let mut run = wire::ClientRun {
        remote: String::new(),
        bytes: 1 << 20,
        conns: 1,
        seed: 1,
        chunk: 32_768,
    };
    let server = role == "server";
    while let Some(flag) = cli.next_flag() {
        if kcptun.take(&mut cli, &flag) {
            continue;
        }
        match flag.name.as_str() {
            "listen" if server => listen = cli.raw(&flag),
            "remote" if !server => run.remote = cli.raw(&flag),
            "bytes" if !server => run.bytes = cli.size(&flag),
            "conns" if !server => run.conns = cli.value(&flag),
            "seed" if !server => run.seed = cli.value(&flag),
            "chunk" if !server => run.chunk = cli.size(&flag) as usize,
            _ => cli.unknown(&flag),
        }
    }
    if !server && run.remote.is_empty() {
        cli.fail("client: --remote is required");
    }
    if run.conns == 0 || run.chunk == 0 {
        cli.fail("--conns and --chunk must be at least 1");
    }
    let settings = kcptun.settings(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return error(format_args!("tokio runtime: {e}")),
    };
    runtime.block_on(async {
        if server {
            let listener = match wire::bind(&listen, &settings).await {
                Ok(l) => l,
                Err(e) => return error(e),
            };
            let e = wire::serve(listener, proto).await;
            error(format_args!("accept: {e}"))
        } else {
            match wire::run_clients(proto, &run, &settings, kcptun.timeout).await {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => error(e),
            }
        }
    })
}

/// Prints `error: ...` on stderr; the exit code of a failed run.
pub(crate) fn error(message: impl Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
