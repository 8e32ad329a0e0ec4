//! `kcp-tunnel`: a kcptun-compatible tunnel (TCP over smux over KCP) and shadowsocks
//! SIP003 plugin.
//!
//! ```text
//! kcp-tunnel client -l :12948 -r SERVER:29900 --key SECRET [kcptun-client flags]
//! kcp-tunnel server -l :29900 -t 127.0.0.1:8388 --key SECRET [kcptun-server flags]
//! ```
//!
//! The flags, defaults, `KCPTUN_KEY` and `-c file.json` are kcptun 20210922's, and the wire
//! format is too: a `kcp-tunnel client` works with a `kcptun-server` and a `kcptun-client`
//! with a `kcp-tunnel server`. Installed as (or linked to) `kcptun-client` or
//! `kcptun-server`, the program takes that role without the subcommand.
//!
//! Run by shadowsocks as a plugin (the `SS_REMOTE_HOST`, `SS_REMOTE_PORT`, `SS_LOCAL_HOST`
//! and `SS_LOCAL_PORT` variables set), it reads its options from `SS_PLUGIN_OPTIONS`; add
//! `server` on the server's side. See the crate's README.
//!
//! Exit status: 0 on a signal, 1 when the tunnel cannot start or fails, 2 for a usage
//! error.

mod client;
mod log;
mod net;
mod server;
mod snmp;

use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitCode;

use clap::CommandFactory;
use kcp_session::Settings;
use kcp_tunnel::config::{Cli, JsonConfig, Options, Role};
use kcp_tunnel::plugin::{self, PluginEnv, Secondary};
use tokio::net::TcpListener;

use crate::log::log;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let hint = match argv.get(1).and_then(|a| a.to_str()) {
        Some("client") => Some(Role::Client),
        Some("server") => Some(Role::Server),
        _ => None,
    };
    let plugin_mode = std::env::var_os("SS_REMOTE_HOST").is_some();
    let (options, secondary) = match PluginEnv::from_env() {
        Some(env) => match env.and_then(|env| plugin::setup(&env, hint)) {
            Ok(setup) => {
                for note in &setup.notes {
                    eprintln!("kcp-tunnel: {note}");
                }
                (setup.options, setup.secondary)
            }
            Err(e) => return fail(format_args!("plugin mode: {e}")),
        },
        None => match from_command_line(argv) {
            Ok(o) => (o, None),
            Err(e) => return fail(e),
        },
    };
    if let Err(e) = log::init(&options.log, options.quiet) {
        return fail(format_args!("--log {}: {e}", options.log));
    }
    if let Err(e) = options.check() {
        return fail(e);
    }
    let settings = match options.session_config().build() {
        Ok(s) => s,
        Err(e) => return fail(format_args!("invalid session settings: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format_args!("tokio runtime: {e}")),
    };
    match runtime.block_on(run(options, settings, secondary, plugin_mode)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Prints `kcp-tunnel: message` on stderr; exit status 1.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("kcp-tunnel: {message}");
    ExitCode::FAILURE
}

/// Flags, then `-c file.json` over them.
fn from_command_line(mut argv: Vec<OsString>) -> Result<Options, String> {
    // Called as kcptun-client or kcptun-server: that role.
    let name = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_owned();
    for (prefix, role) in [("kcptun-client", "client"), ("kcptun-server", "server")] {
        if name.starts_with(prefix) && argv.get(1).and_then(|a| a.to_str()) != Some(role) {
            argv.insert(1, role.into());
        }
    }
    let cli: Cli = kcp_tunnel::cli::parse_go_style(Cli::command(), argv);
    let (mut o, json) = Options::from_cli(cli);
    if let Some(path) = json {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("-c {path}: {e}"))?;
        o.apply_json(JsonConfig::parse(&text).map_err(|e| format!("-c {path}: {e}"))?);
    }
    Ok(o)
}

async fn run(
    o: Options,
    settings: Settings,
    secondary: Option<Secondary>,
    plugin_mode: bool,
) -> io::Result<()> {
    log!("version: kcp-tunnel {}", env!("CARGO_PKG_VERSION"));
    let (crypt, note) = o.cipher();
    if let Some(note) = note {
        log!("{note}");
    }
    log!("smux version: {}", o.smuxver);
    log!(
        "encryption: {}",
        if o.raw { "null (raw)" } else { crypt.name() }
    );
    let kcp_session::Knobs {
        nodelay,
        interval,
        resend,
        nc,
    } = settings.config().mode.knobs();
    log!(
        "nodelay parameters: {nodelay} {interval} {resend} {}",
        u8::from(nc)
    );
    log!("sndwnd: {} rcvwnd: {}", o.kcp.sndwnd, o.kcp.rcvwnd);
    log!("compression: {}", !o.nocomp && !o.raw);
    log!("mtu: {}", o.kcp.mtu);
    log!(
        "datashard: {} parityshard: {}",
        settings.config().data_shards,
        settings.config().parity_shards
    );
    log!("acknodelay: {}", o.kcp.acknodelay);
    log!(
        "dscp: {} sockbuf: {} smuxbuf: {} streambuf: {} keepalive: {}",
        o.kcp.dscp,
        o.kcp.sockbuf,
        o.smuxbuf,
        o.streambuf,
        o.keepalive
    );
    if o.role == Role::Client {
        log!(
            "conn: {} autoexpire: {} scavengettl: {}",
            o.conn,
            o.autoexpire,
            o.scavengettl
        );
    }
    log!("framesize: {} closewait: {}", o.framesize, o.closewait);
    log!("QPP: {} QPP count: {}", o.qpp, o.qpp_count);
    if o.qpp {
        for warning in kcp_tunnel::qpp::warnings(o.qpp_count, o.kcp.key.as_bytes()) {
            log!("{warning}");
        }
    }
    if o.pprof {
        log!("pprof: not available in kcp-tunnel; ignored");
    }
    if o.kcp.key == kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE {
        log!("warning: using kcptun's public default key; pass --key for a private tunnel");
    }
    tokio::spawn(snmp::run(o.snmplog.clone(), o.snmpperiod));
    #[cfg(unix)]
    tokio::spawn(snmp::on_sigusr1());

    let mut o = o;
    let mut child = None;
    let tunnel: Pin<Box<dyn Future<Output = io::Result<()>>>> = match o.role {
        Role::Client => {
            let listen = match &secondary {
                // The secondary plugin listens where shadowsocks connects and dials us.
                Some(_) => "127.0.0.1:0".to_owned(),
                None => bind_addr(&o.listen),
            };
            let listener = TcpListener::bind(&listen)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("listen {listen}: {e}")))?;
            if let Some(s) = &secondary {
                let port = listener.local_addr()?.port();
                child = Some(start_secondary(s, &o.listen, port)?);
            }
            Box::pin(client::run(o, settings, listener))
        }
        Role::Server => {
            if let Some(s) = &secondary {
                // We forward to the secondary plugin, which forwards to shadowsocks.
                let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
                child = Some(start_secondary(s, &o.remote, port)?);
                o.remote = format!("127.0.0.1:{port}");
            }
            let listeners = server::bind(&o, &settings).await?;
            Box::pin(server::run(o, listeners))
        }
    };
    let child_exit = async {
        match child.as_mut() {
            Some(c) => c.wait().await,
            None => std::future::pending().await,
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // A plugin ends with the shadowsocks process that started it, even when that one was
    // killed without a chance to stop its plugin.
    let orphaned = async {
        if !plugin_mode {
            return std::future::pending().await;
        }
        let parent = std::os::unix::process::parent_id();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if std::os::unix::process::parent_id() != parent {
                log!("shadowsocks exited; stopping");
                return;
            }
        }
    };
    tokio::select! {
        _ = orphaned => Ok(()),
        r = tunnel => r,
        status = child_exit => Err(io::Error::other(format!("secondary plugin exited: {}", status.map_or_else(|e| e.to_string(), |s| s.to_string())))),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
    // Dropping the child kills it.
}

/// kcptun's `:port` (every interface) in a form tokio binds.
fn bind_addr(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_owned(),
    }
}

/// Starts the secondary plugin with shadowsocks' address `ss` on its local side and
/// 127.0.0.1:`port` on its remote side: the program itself, with no shell between.
fn start_secondary(s: &Secondary, ss: &str, port: u16) -> io::Result<tokio::process::Child> {
    let (host, ss_port) = ss
        .rsplit_once(':')
        .ok_or_else(|| io::Error::other(format!("bad address {ss}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    log!(
        "starting secondary plugin: {} ({}) between {ss} and 127.0.0.1:{port}",
        s.command,
        s.options
    );
    let argv = s.argv().map_err(io::Error::other)?;
    tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env("SS_LOCAL_HOST", host)
        .env("SS_LOCAL_PORT", ss_port)
        .env("SS_REMOTE_HOST", "127.0.0.1")
        .env("SS_REMOTE_PORT", port.to_string())
        .env("SS_PLUGIN_OPTIONS", &s.options)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("start {}: {e}", s.command)))
}
