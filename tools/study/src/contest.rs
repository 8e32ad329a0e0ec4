//! The contestants and how one of them runs one workload over one emulated path.
//!
//! Every measurement gets a fresh [`Emulator`] (two namespaces, a forwarder), so nothing
//! of an earlier run (lingering retransmissions, TCP's cached metrics) leaks into it. The
//! server runs in side B, the client in side A; ours and TCP run in this process (their
//! sockets are created inside the namespaces), kcp-go runs as the `peers/session`
//! programs started inside them.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_netem::{ADDR_A, ADDR_B, Emulator, Stats};
use kcp_session::{Config, Congestion, KcpListener, KcpStream, Mode, Settings};
use kcp_testkit::go_process::{self, GoServer};
use kcp_testkit::sim::{GilbertElliott, LinkConfig, Rng};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use crate::proto::{self, Stream};

/// Whose implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Impl {
    /// kcp-rs sessions (`KcpListener` / `KcpStream`).
    Ours,
    /// kcp-go 5.6.1 through the Go peer.
    KcpGo,
    /// Linux TCP through tokio, Nagle off, the kernel's default congestion control.
    Tcp,
    /// The same with CUBIC congestion control on both ends (where the default is
    /// something else, such as BBR).
    TcpCubic,
}

/// One contestant: an implementation and, for KCP, its mode and FEC setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Contestant {
    pub(crate) imp: Impl,
    pub(crate) mode: Mode,
    /// FEC 10/3 (otherwise off).
    pub(crate) fec: bool,
    /// Ours with `Config::congestion = Bbr` (otherwise off, as kcp-go).
    pub(crate) bbr: bool,
}

const MODES: [(Mode, &str); 4] = [
    (Mode::Normal, "normal"),
    (Mode::Fast, "fast"),
    (Mode::Fast2, "fast2"),
    (Mode::Fast3, "fast3"),
];

fn mode_name(mode: Mode) -> &'static str {
    MODES
        .iter()
        .find(|(m, _)| *m == mode)
        .map_or("manual", |(_, n)| n)
}

impl Contestant {
    /// TCP (the mode and FEC fields are unused).
    pub(crate) const TCP: Contestant = Contestant {
        imp: Impl::Tcp,
        mode: Mode::Fast,
        fec: false,
        bbr: false,
    };

    /// Every contestant: ours and kcp-go in each mode with FEC off and 10/3, and TCP.
    pub(crate) fn all() -> Vec<Contestant> {
        let mut v = Vec::new();
        for imp in [Impl::Ours, Impl::KcpGo] {
            for fec in [false, true] {
                for (mode, _) in MODES {
                    v.push(Contestant {
                        imp,
                        mode,
                        fec,
                        bbr: false,
                    });
                }
            }
        }
        v.push(Contestant::TCP);
        v.push(Contestant {
            imp: Impl::TcpCubic,
            ..Contestant::TCP
        });
        v
    }

    /// The KCP session configuration both ends use: kcptun's server defaults (MTU 1350,
    /// windows 1024/1024, stream mode) without encryption, in this mode, FEC 10/3 or off.
    pub(crate) fn config(&self) -> Config {
        let (data, parity) = if self.fec { (10, 3) } else { (0, 0) };
        let mut c = Config::default();
        c.crypt = CipherKind::Null;
        c.mode = self.mode;
        c.data_shards = data;
        c.parity_shards = parity;
        if self.bbr {
            c.congestion = Congestion::Bbr;
        }
        c
    }

    /// The same settings as flags of the Go peer.
    fn go_flags(&self) -> Vec<String> {
        let c = self.config();
        [
            "-crypt",
            "null",
            "-mode",
            mode_name(self.mode),
            "-datashard",
            &c.data_shards.to_string(),
            "-parityshard",
            &c.parity_shards.to_string(),
            "-mtu",
            &c.mtu.to_string(),
            "-sndwnd",
            &c.snd_wnd.to_string(),
            "-rcvwnd",
            &c.rcv_wnd.to_string(),
        ]
        .map(String::from)
        .to_vec()
    }
}

impl fmt::Display for Contestant {
    /// `ours fast3`, `kcp-go fast fec`, `tcp`: the name in tables, CSV and plots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.imp {
            Impl::Ours => "ours",
            Impl::KcpGo => "kcp-go",
            Impl::Tcp => return f.write_str("tcp"),
            Impl::TcpCubic => return f.write_str("tcp cubic"),
        };
        write!(f, "{who} {}", mode_name(self.mode))?;
        if self.fec {
            f.write_str(" fec")?;
        }
        if self.bbr {
            f.write_str(" bbr")?;
        }
        Ok(())
    }
}

impl FromStr for Contestant {
    type Err = String;

    /// Parses the [`Display`](fmt::Display) form, with `-` or `:` allowed for spaces.
    fn from_str(s: &str) -> Result<Contestant, String> {
        let words: Vec<&str> = s.split([' ', '-', ':']).filter(|w| !w.is_empty()).collect();
        let bad =
            || format!("unknown contestant {s:?} (like `ours:fast3`, `kcp-go:fast:fec`, `tcp`)");
        let (imp, rest) = match words.as_slice() {
            ["tcp"] => return Ok(Contestant::TCP),
            ["tcp", "cubic"] => {
                return Ok(Contestant {
                    imp: Impl::TcpCubic,
                    ..Contestant::TCP
                });
            }
            ["ours", rest @ ..] => (Impl::Ours, rest),
            ["kcp", "go", rest @ ..] | ["kcpgo", rest @ ..] => (Impl::KcpGo, rest),
            _ => return Err(bad()),
        };
        let (rest, bbr) = match rest {
            [rest @ .., "bbr"] if imp == Impl::Ours => (rest, true),
            _ => (rest, false),
        };
        let (mode, fec) = match rest {
            [m] => (*m, false),
            [m, "fec"] => (*m, true),
            _ => return Err(bad()),
        };
        let mode = MODES.iter().find(|(_, n)| *n == mode).ok_or_else(bad)?.0;
        Ok(Contestant {
            imp,
            mode,
            fec,
            bbr,
        })
    }
}

/// What traffic runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Workload {
    /// Small messages at 50 Hz both ways; round trips.
    Game,
    /// One large transfer; goodput and bytes on the wire.
    Bulk,
    /// 64 KiB responses one at a time; completion times.
    Request,
}

impl Workload {
    pub(crate) const ALL: [Workload; 3] = [Workload::Game, Workload::Bulk, Workload::Request];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Game => "game",
            Workload::Bulk => "bulk",
            Workload::Request => "request",
        }
    }
}

impl FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Workload, String> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("unknown workload {s:?} (game, bulk, request)"))
    }
}

/// The emulated path, the same both ways.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PathShape {
    /// Mean loss probability each way.
    pub(crate) loss: f64,
    /// Losses come in bursts of this mean length (Gilbert-Elliott); `None`: independent.
    pub(crate) burst: Option<f64>,
    /// One-way delay, ms.
    pub(crate) delay_ms: u32,
    /// Extra one-way delay, uniform in `0..=jitter_ms` (order kept).
    pub(crate) jitter_ms: u32,
    /// Bandwidth cap each way, Mbit/s.
    pub(crate) rate_mbit: u32,
    /// Queue in front of the cap, in ms of transmission at the cap.
    pub(crate) buffer_ms: u32,
}

impl PathShape {
    pub(crate) fn link(&self) -> LinkConfig {
        let bytes_per_sec = u64::from(self.rate_mbit) * 1_000_000 / 8;
        let mut link = LinkConfig::new()
            .delay(self.delay_ms, self.delay_ms + self.jitter_ms)
            .loss(self.loss)
            .bandwidth(bytes_per_sec)
            .buffer((bytes_per_sec * u64::from(self.buffer_ms) / 1000).max(3_000));
        if let Some(b) = self.burst {
            link = link.burst_loss(GilbertElliott::bursts(self.loss, b));
        }
        link
    }

    /// `random` or `bursty`.
    pub(crate) fn loss_model(&self) -> &'static str {
        if self.burst.is_some() {
            "bursty"
        } else {
            "random"
        }
    }
}

/// How much of each workload to run.
#[derive(Clone, Debug)]
pub(crate) struct Sizes {
    pub(crate) game_secs: f64,
    pub(crate) game_hz: u32,
    pub(crate) bulk_bytes: u64,
    pub(crate) requests: usize,
    pub(crate) response_bytes: usize,
    /// Longest a client may run, the game's pinging included.
    pub(crate) limit: Duration,
}

/// One measurement of the grid.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub(crate) who: Contestant,
    pub(crate) path: PathShape,
    pub(crate) workload: Workload,
    /// Seed of the emulated link: the same for every contestant on the same path and
    /// workload, so they face the same stream of random decisions.
    pub(crate) seed: u64,
}

/// What one measurement gave.
#[derive(Clone, Debug, Default)]
pub(crate) struct Measured {
    /// Round trips (game) or completion times (request), in ms, censored ones included.
    pub(crate) samples: Vec<f64>,
    /// How many of `samples` are lower bounds (unanswered at the time limit).
    pub(crate) censored: usize,
    /// Application bytes delivered (bulk: confirmed by the server).
    pub(crate) payload: u64,
    /// Seconds the bulk transfer took (to the last confirmation, or the limit).
    pub(crate) bulk_secs: f64,
    /// What the emulator saw during the measurement.
    pub(crate) wire: Stats,
    /// Why the client did not finish normally.
    pub(crate) failure: Option<String>,
}

/// A derived seed for `parts`.
pub(crate) fn mix(seed: u64, parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(Rng::new(seed).next_u64(), |h, p| Rng::new(h ^ p).next_u64())
}

/// Runs one cell: a fresh emulator, the server in B, the client in A.
pub(crate) fn run_cell(cell: &Cell, sizes: &Sizes, rt: &Runtime, go_peer: &Path) -> Measured {
    let emu = match Emulator::symmetric(cell.path.link(), cell.seed) {
        Ok(e) => e,
        Err(e) => {
            return Measured {
                failure: Some(format!("emulator: {e}")),
                ..Measured::default()
            };
        }
    };
    let before = emu.stats();
    let mut m = match cell.who.imp {
        Impl::Ours => rt.block_on(run_ours(&emu, cell, sizes)),
        Impl::Tcp | Impl::TcpCubic => rt.block_on(run_tcp(&emu, cell, sizes)),
        Impl::KcpGo => run_kcpgo(&emu, cell, sizes, go_peer),
    }
    .unwrap_or_else(|e| Measured {
        failure: Some(e.to_string()),
        ..Measured::default()
    });
    m.wire = emu.stats().since(&before);
    if let Err(e) = emu.stop() {
        m.failure.get_or_insert(format!("emulator: {e}"));
    }
    m
}

/// Runs the client workload of `cell` over `stream` and fills in the measurement.
async fn client<S: Stream>(stream: S, cell: &Cell, sizes: &Sizes) -> Measured {
    let ms = |v: &[u32]| {
        v.iter()
            .map(|&us| f64::from(us) / 1000.0)
            .collect::<Vec<_>>()
    };
    match cell.workload {
        Workload::Game => {
            let secs = Duration::from_secs_f64(sizes.game_secs);
            let out = proto::game_client(stream, secs, sizes.game_hz, sizes.limit).await;
            let mut samples = ms(&out.client);
            samples.extend(ms(&out.server));
            samples.extend(ms(&out.pending));
            Measured {
                payload: (out.client.len() + out.server.len()) as u64 * 64,
                censored: out.pending.len(),
                samples,
                failure: out.failure,
                ..Measured::default()
            }
        }
        Workload::Request => {
            let out =
                proto::request_client(stream, sizes.requests, sizes.response_bytes, sizes.limit)
                    .await;
            let mut samples = ms(&out.times);
            samples.extend(ms(&out.pending));
            Measured {
                payload: (out.times.len() * sizes.response_bytes) as u64,
                censored: out.pending.len(),
                samples,
                failure: out.failure,
                ..Measured::default()
            }
        }
        Workload::Bulk => {
            let out = proto::bulk_client(stream, sizes.bulk_bytes, 65_536, sizes.limit).await;
            Measured {
                payload: out.confirmed,
                bulk_secs: out.secs,
                failure: out.failure,
                ..Measured::default()
            }
        }
    }
}

/// Serves `workload` on one accepted stream.
async fn serve<S: Stream>(stream: S, workload: Workload, hz: u32) {
    let _ = match workload {
        Workload::Game => proto::game_server(stream, hz).await,
        Workload::Request => proto::reply_server(stream).await,
        Workload::Bulk => proto::sink_server(stream).await,
    };
}

/// A UDP socket bound in a namespace, with the session's buffer sizes, registered with
/// the current runtime.
fn udp_in(
    ns: &kcp_netem::NetNs,
    addr: SocketAddr,
    settings: &Settings,
) -> io::Result<tokio::net::UdpSocket> {
    let sock = ns.run(|| UdpSocket::bind(addr))??;
    let r = socket2::SockRef::from(&sock);
    let _ = r.set_recv_buffer_size(settings.config().sockbuf);
    let _ = r.set_send_buffer_size(settings.config().sockbuf);
    sock.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(sock)
}

/// Starts our server for `workload` in side B; dropping the set stops it.
async fn ours_server(
    emu: &Emulator,
    workload: Workload,
    hz: u32,
    settings: &Settings,
) -> io::Result<(JoinSet<()>, SocketAddr)> {
    let listener = KcpListener::serve(udp_in(emu.b(), (ADDR_B, 0).into(), settings)?, settings)?;
    let addr = listener.local_addr()?;
    let mut servers = JoinSet::new();
    servers.spawn(async move {
        let mut sessions = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            sessions.spawn(serve(stream, workload, hz));
        }
    });
    Ok((servers, addr))
}

/// Runs our client of `cell` in side A against `server`.
async fn ours_client(
    emu: &Emulator,
    server: SocketAddr,
    cell: &Cell,
    sizes: &Sizes,
    settings: &Settings,
) -> io::Result<Measured> {
    let socket = udp_in(emu.a(), (ADDR_A, 0).into(), settings)?;
    let conv = Rng::new(cell.seed).next_u32();
    let stream = KcpStream::connect_with(socket, server, conv, settings)?;
    Ok(client(stream, cell, sizes).await)
}

fn settings(who: &Contestant) -> io::Result<Settings> {
    who.config()
        .build()
        .map_err(|e| io::Error::other(format!("config: {e}")))
}

async fn run_ours(emu: &Emulator, cell: &Cell, sizes: &Sizes) -> io::Result<Measured> {
    let settings = settings(&cell.who)?;
    let (servers, addr) = ours_server(emu, cell.workload, sizes.game_hz, &settings).await?;
    let m = ours_client(emu, addr, cell, sizes, &settings).await;
    // Dropping the set aborts the server and its sessions.
    drop(servers);
    m
}

/// A TCP socket of side `ns`, with CUBIC congestion control when `cubic`.
fn tcp_socket(cubic: bool) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if cubic {
        s.set_tcp_congestion(b"cubic")?;
    }
    Ok(s)
}

async fn run_tcp(emu: &Emulator, cell: &Cell, sizes: &Sizes) -> io::Result<Measured> {
    let cubic = cell.who.imp == Impl::TcpCubic;
    let listener = emu.b().run(|| -> io::Result<TcpListener> {
        let s = tcp_socket(cubic)?;
        s.set_reuse_address(true)?;
        s.bind(&SocketAddr::from((ADDR_B, 0)).into())?;
        s.listen(16)?;
        Ok(s.into())
    })??;
    let server = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut servers = JoinSet::new();
    let (workload, hz) = (cell.workload, sizes.game_hz);
    servers.spawn(async move {
        let mut sessions = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            sessions.spawn(serve(stream, workload, hz));
        }
    });
    // The handshake crosses the lossy path too; a lost SYN costs TCP a second or more,
    // which is not part of the measurement.
    let stream = emu.a().run(|| -> io::Result<TcpStream> {
        let s = tcp_socket(cubic)?;
        s.connect_timeout(&server.into(), sizes.limit)?;
        Ok(s.into())
    })??;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    let stream = tokio::net::TcpStream::from_std(stream)?;
    let m = client(stream, cell, sizes).await;
    drop(servers);
    Ok(m)
}

/// The kernel's default TCP congestion control (what `tcp` uses), for the record.
pub(crate) fn default_congestion_control() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn go_names(workload: Workload) -> (&'static str, &'static str) {
    match workload {
        Workload::Game => ("game-server", "game-client"),
        Workload::Request => ("reply-server", "request-client"),
        Workload::Bulk => ("sink-server", "bulk-client"),
    }
}

/// Starts the kcp-go server for `cell` in side B.
fn go_server(emu: &Emulator, cell: &Cell, sizes: &Sizes, peer: &Path) -> io::Result<GoServer> {
    let listen = format!("{ADDR_B}:0");
    // The server ends itself even if this process is killed.
    let lifetime = format!("{}", sizes.limit.as_secs() + 60);
    let hz = sizes.game_hz.to_string();
    let flags = cell.who.go_flags();
    let mut args: Vec<&str> = vec![
        go_names(cell.workload).0,
        "-listen",
        &listen,
        "-lifetime",
        &lifetime,
        "-hz",
        &hz,
    ];
    args.extend(flags.iter().map(String::as_str));
    emu.b().run(|| GoServer::start(peer, &args))
}

/// Runs the kcp-go client of `cell` in side A against `server`.
fn go_client(
    emu: &Emulator,
    server: SocketAddr,
    cell: &Cell,
    sizes: &Sizes,
    peer: &Path,
) -> io::Result<Measured> {
    let remote = server.to_string();
    let timeout = sizes.limit.as_secs().max(1).to_string();
    let (seconds, hz, requests, size, bytes) = (
        sizes.game_secs.to_string(),
        sizes.game_hz.to_string(),
        sizes.requests.to_string(),
        sizes.response_bytes.to_string(),
        sizes.bulk_bytes.to_string(),
    );
    let flags = cell.who.go_flags();
    let mut args: Vec<&str> = vec![
        go_names(cell.workload).1,
        "-remote",
        &remote,
        "-timeout",
        &timeout,
    ];
    args.extend(flags.iter().map(String::as_str));
    match cell.workload {
        Workload::Game => args.extend(["-seconds", &seconds, "-hz", &hz]),
        Workload::Request => args.extend(["-requests", &requests, "-size", &size]),
        Workload::Bulk => args.extend(["-bytes", &bytes, "-block", "65536"]),
    }
    let out = emu
        .a()
        .run(|| go_process::run_client(peer, &args, sizes.limit + Duration::from_secs(20)))?;
    Ok(parse_go(&out, cell.workload, sizes))
}

fn run_kcpgo(emu: &Emulator, cell: &Cell, sizes: &Sizes, peer: &Path) -> io::Result<Measured> {
    let server = go_server(emu, cell, sizes, peer)?;
    go_client(emu, server.addr(), cell, sizes, peer)
}

/// Checks that our implementation of the workloads and the Go peer's agree: each
/// workload with our client against the kcp-go server, then the kcp-go client against
/// ours, over a clean emulated link. Returns one line per check.
pub(crate) fn cross_check(rt: &Runtime, peer: &Path) -> Result<Vec<String>, String> {
    let sizes = Sizes {
        game_secs: 1.0,
        game_hz: 50,
        bulk_bytes: 300_000,
        requests: 3,
        response_bytes: 65_536,
        limit: Duration::from_secs(30),
    };
    let who = Contestant {
        imp: Impl::Ours,
        mode: Mode::Fast3,
        fec: true,
        bbr: false,
    };
    let path = PathShape {
        loss: 0.0,
        burst: None,
        delay_ms: 5,
        jitter_ms: 0,
        rate_mbit: 100,
        buffer_ms: 100,
    };
    let settings = settings(&who).map_err(|e| e.to_string())?;
    let mut report = Vec::new();
    for workload in Workload::ALL {
        let cell = Cell {
            who,
            path,
            workload,
            seed: 1,
        };
        for ours_is_client in [true, false] {
            let emu = Emulator::symmetric(path.link(), 1).map_err(|e| format!("emulator: {e}"))?;
            let m = if ours_is_client {
                let server = go_server(&emu, &cell, &sizes, peer).map_err(|e| e.to_string())?;
                rt.block_on(ours_client(&emu, server.addr(), &cell, &sizes, &settings))
            } else {
                let (servers, addr) = rt
                    .block_on(ours_server(&emu, workload, sizes.game_hz, &settings))
                    .map_err(|e| e.to_string())?;
                let m = go_client(&emu, addr, &cell, &sizes, peer);
                drop(servers);
                m
            }
            .map_err(|e| e.to_string())?;
            let what = format!(
                "{} with {} client and {} server",
                workload.name(),
                if ours_is_client { "our" } else { "the kcp-go" },
                if ours_is_client { "the kcp-go" } else { "our" },
            );
            let expected = match workload {
                Workload::Game => m.samples.len() >= 80,
                Workload::Request => m.samples.len() == sizes.requests,
                Workload::Bulk => m.payload == sizes.bulk_bytes,
            };
            if m.failure.is_some() || m.censored > 0 || !expected {
                return Err(format!(
                    "{what}: failure {:?}, {} samples ({} censored), {} bytes",
                    m.failure,
                    m.samples.len(),
                    m.censored,
                    m.payload
                ));
            }
            report.push(format!(
                "ok {what}: {} samples, {} bytes",
                m.samples.len(),
                m.payload
            ));
        }
    }
    Ok(report)
}

/// Reads the Go client's measurement lines.
fn parse_go(out: &go_process::ClientOutcome, workload: Workload, sizes: &Sizes) -> Measured {
    let mut m = Measured::default();
    let numbers = |rest: &str| -> Vec<f64> {
        rest.split_whitespace()
            .filter_map(|w| w.parse::<u32>().ok())
            .map(|us| f64::from(us) / 1000.0)
            .collect()
    };
    let mut finished = false;
    for line in out.stdout.lines() {
        if let Some(rest) = line
            .strip_prefix("rtt client")
            .or(line.strip_prefix("rtt server"))
        {
            let v = numbers(rest);
            m.payload += v.len() as u64 * 64;
            m.samples.extend(v);
        } else if let Some(rest) = line.strip_prefix("times") {
            m.samples.extend(numbers(rest));
        } else if let Some(rest) = line.strip_prefix("pending") {
            let v = numbers(rest);
            m.censored += v.len();
            m.samples.extend(v);
        } else if let Some(rest) = line.strip_prefix("bulk ") {
            for kv in rest.split_whitespace() {
                match kv.split_once('=') {
                    Some(("bytes", v)) => m.payload = v.parse().unwrap_or(0),
                    Some(("secs", v)) => m.bulk_secs = v.parse().unwrap_or(0.0),
                    _ => {}
                }
            }
        } else if line == "ok" {
            finished = true;
        }
    }
    if workload == Workload::Request {
        m.payload = ((m.samples.len() - m.censored) * sizes.response_bytes) as u64;
    }
    if !finished || !out.success {
        let why = out
            .stdout
            .lines()
            .find(|l| l.starts_with("incomplete"))
            .map(str::to_owned)
            .unwrap_or_else(|| out.stderr.trim().to_owned());
        m.failure = Some(format!("kcp-go client: {why}"));
        m.bulk_secs = sizes.limit.as_secs_f64();
    }
    m
}
