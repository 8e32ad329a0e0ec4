//! What the echo, sink and demo examples share: kcptun's session flags (on `clap`, with
//! Go-style single-dash spellings accepted) turned into a [`kcp_session::Config`], and (in
//! [`wire`]) the echo and sink protocols of the kcp-go peer `peers/session`.
//!
//! Flags are written `--flag value` or `--flag=value` (a single dash works too, as with
//! Go's and kcptun's parsers); a switch such as `--acknodelay` takes no value, or
//! `=true`/`=false`. `--help` prints the usage and exits 0; an unknown flag or a bad value
//! prints an error and exits 2.

pub mod wire;

use std::fmt::{self, Display};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use kcp_session::{Config, Settings};
use kcp_tunnel::KcpFlags;
use kcp_tunnel::cli::{Limit, go_style, parse_limit, parse_size};
use kcp_tunnel::config::is_loopback;

/// Parses the process's arguments into `T` (Go-style flags rewritten first) under the
/// program name `name`; a usage error exits 2, `--help` exits 0.
pub fn parse_args<T: CommandFactory + FromArgMatches>(name: &'static str) -> T {
    parse_args_with(T::command().name(name))
}

/// [`parse_args`] with a command adjusted by the caller (usage, about text).
pub fn parse_args_with<T: FromArgMatches>(cmd: clap::Command) -> T {
    let args = go_style(&cmd, std::env::args_os());

    // Go's flag package lets a later flag override an earlier one.
    let mut cmd = cmd.args_override_self(true);
    let matches = cmd.clone().get_matches_from(args);
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

/// A count that must be at least 1.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// kcptun's session flags ([`KcpFlags`], the tunnel's own, so both read them alike) plus
/// `--timeout`; both sides must agree on them. [`Kcptun::settings`] builds them.
#[derive(Args, Clone, Debug)]
pub struct Kcptun {
    /// The KCP session flags, with kcptun's names and defaults.
    #[command(flatten)]
    pub kcp: KcpFlags,
    /// Clients: limit for the whole run; servers: a session that hears nothing this long is
    /// closed; 0 = none
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_limit)]
    pub timeout: Limit,
}

impl Kcptun {
    /// The [`Config`] these flags describe ([`KcpFlags::config`]), with `--timeout` as the
    /// idle timeout.
    pub fn config(&self) -> Config {
        let mut c = self.kcp.config();
        c.idle_timeout = self.timeout.0;
        c
    }

    /// Refuses a `--crypt` or `--mode` name kcptun does not know, checks the combination
    /// and derives the key; a bad flag is a usage error (exit 2).
    pub fn settings(&self, program: &str) -> Settings {
        if let Err(e) = self.kcp.check_names() {
            usage_error(program, e);
        }
        match self.config().build() {
            Ok(s) => s,
            Err(e) => usage_error(program, format_args!("invalid session flags: {e}")),
        }
    }
}

/// Prints `program: message` and a hint on stderr, and exits 2 (a usage error).
pub fn usage_error(program: &str, message: impl Display) -> ! {
    eprintln!("{program}: {message}\nrun `{program} --help` for the usage");
    std::process::exit(2)
}

/// The command line of the `echo` and `sink` examples.
#[derive(Parser, Debug)]
struct ToolCli {
    #[command(subcommand)]
    role: Role,
    #[command(flatten)]
    kcptun: Kcptun,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Serve sessions until killed. Prints `listening <addr>` first, then one line per event.
    Server {
        /// UDP address to listen on; port 0 picks one
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: String,
        /// Sessions served at once; sessions over it are closed and counted
        #[arg(long = "max-sessions", value_name = "N", default_value = "1024", value_parser = at_least_one)]
        max_sessions: usize,
        /// Serve on a non-loopback address with kcptun's public default key
        #[arg(long = "allow-default-key")]
        allow_default_key: bool,
    },
    /// Run sessions against a server. On success prints one line,
    /// `ok conns=K bytes=TOTAL secs=S mibps=M retrans=R fecrecovered=F srttms=X`, and exits
    /// 0; on a mismatch, an error or after --timeout, prints `error: ...` on stderr and
    /// exits 1.
    Client {
        /// The server's UDP address
        #[arg(long, value_name = "ADDR")]
        remote: String,
        /// Bytes to send on each session; K, M, G suffixes
        #[arg(long, value_name = "N", default_value = "1M", value_parser = parse_size)]
        bytes: u64,
        /// Sessions at once, each sending --bytes
        #[arg(long, value_name = "K", default_value = "1", value_parser = at_least_one)]
        conns: usize,
        /// Payload seed of session 0; session i uses N+i
        #[arg(long, value_name = "N", default_value_t = 1)]
        seed: u64,
        /// Bytes per write call
        #[arg(long, value_name = "BYTES", default_value = "32768", value_parser = chunk)]
        chunk: usize,
    },
}

fn chunk(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        0 => Err("must be at least 1".to_owned()),
        n => usize::try_from(n).map_err(|e| e.to_string()),
    }
}

/// The whole program of the `echo` and `sink` examples (they differ only in `proto`):
/// `NAME server --listen ADDR [flags]` or `NAME client --remote ADDR --bytes N [flags]`.
pub fn tool_main(name: &'static str, about: &'static str, proto: wire::Proto) -> ExitCode {
    let usage = format!(
        "{name} server [--listen ADDR] [session flags]\n       \
         {name} client --remote ADDR [--bytes N] [--conns K] [session flags]"
    );
    let cli: ToolCli = parse_args_with(
        ToolCli::command()
            // The session flags may come before or after the subcommand, and the manual
            // mode's knobs, hidden in the tunnel, are listed.
            .mut_args(|a| a.global(true).hide(false))
            // Here an unknown cipher name is refused, not taken for aes.
            .mut_arg("crypt", |a| {
                a.help(
                    "aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea, \
                     xtea, xor, sm4, none, null, aes-128-gcm",
                )
            })
            .name(name)
            .about(about)
            .override_usage(usage),
    );
    let settings = cli.kcptun.settings(name);
    if let Role::Server {
        listen,
        allow_default_key: false,
        ..
    } = &cli.role
        && cli.kcptun.kcp.key == kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE
        && !is_loopback(listen)
    {
        usage_error(
            name,
            format_args!(
                "refusing to serve on {listen} with kcptun's public default key: pass \
                 --key, listen on a loopback address, or pass --allow-default-key"
            ),
        );
    }
    let timeout = cli.kcptun.timeout.0;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return error(format_args!("tokio runtime: {e}")),
    };
    runtime.block_on(async {
        match cli.role {
            Role::Server {
                listen,
                max_sessions,
                allow_default_key: _,
            } => {
                let listener = match wire::bind(&listen, &settings).await {
                    Ok(l) => l,
                    Err(e) => return error(e),
                };
                let e = wire::serve(listener, proto, max_sessions).await;
                error(format_args!("accept: {e}"))
            }
            Role::Client {
                remote,
                bytes,
                conns,
                seed,
                chunk,
            } => {
                let run = wire::ClientRun {
                    remote,
                    bytes,
                    conns,
                    seed,
                    chunk,
                };
                match wire::run_clients(proto, &run, &settings, timeout).await {
                    Ok(summary) => {
                        println!("{summary}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => error(e),
                }
            }
        }
    })
}

/// Prints `error: ...` on stderr; the exit code of a failed run.
pub fn error(message: impl Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// The lossy relay's flags, for the examples that run their traffic through one
/// (`kcp_testkit::relay`): loss, delay and jitter each way.
#[derive(Args, Clone, Debug)]
pub struct RelayFlags {
    /// Probability that the relay drops a datagram, each way (0 to 0.9)
    #[arg(long, value_name = "P", default_value_t = 0.05, value_parser = parse_loss)]
    pub loss: f64,
    /// One-way delay the relay adds, ms
    #[arg(long = "delay-ms", value_name = "MS", default_value_t = 20)]
    pub delay_ms: u32,
    /// Extra one-way delay, uniform in 0..=MS (keeps order)
    #[arg(long = "jitter-ms", value_name = "MS", default_value_t = 5)]
    pub jitter_ms: u32,
}

/// A loss probability in `[0, 0.9)`.
fn parse_loss(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..0.9).contains(&p) => Ok(p),
        _ => Err("must be a probability in [0, 0.9)".to_owned()),
    }
}

impl RelayFlags {
    /// The relay's treatment of each direction.
    pub fn link(&self) -> kcp_testkit::sim::LinkConfig {
        kcp_testkit::sim::LinkConfig::new()
            .loss(self.loss)
            .delay(self.delay_ms, self.delay_ms.saturating_add(self.jitter_ms))
    }
}

impl Display for RelayFlags {
    /// `5% loss and 20+0..5 ms each way`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0}% loss and {}+0..{} ms each way",
            self.loss * 100.0,
            self.delay_ms,
            self.jitter_ms
        )
    }
}
