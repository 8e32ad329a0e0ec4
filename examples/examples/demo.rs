//! The kcp-rs demo: KCP sessions over real UDP sockets on 127.0.0.1, through an
//! in-process relay that drops, delays and reorders datagrams, for a few kcptun settings
//! side by side.
//!
//! For each configuration, one process runs a sink server and an echo server (the
//! protocols of the `sink` and `echo` examples), each behind its own relay (`--loss` each
//! way, `--delay-ms` plus up to `--jitter-ms` one way), and two clients: one sends `--mib`
//! MiB to the sink and waits for its reply (throughput), the other sends an 8-byte ping
//! every 5 ms on a second session during the transfer and times each echo (round-trip
//! percentiles as an application sees them, retransmissions and head-of-line blocking
//! included; pinging goes on for at least 2 s). Retransmissions and FEC recoveries are
//! kcp-go's SNMP counters summed over both sessions, both sides.
//!
//! ```text
//! cargo run --release -p kcp-examples --example demo -- [--loss P] [--delay-ms MS]
//!     [--jitter-ms MS] [--reorder P] [--mib N] [--seed N]
//! ```
//!
//! The `sim` example runs kcp-core alone over a simulated link on a virtual clock.

use std::io;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kcp_crypt::CipherKind;
use kcp_session::{Config, KcpListener, KcpStream, Mode, Settings, snmp};
use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;
use kcp_testkit::stats::quantile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use kcp_examples as common;

use common::wire::{self, Counts, Proto};

/// How often the pinger sends.
const PING_EVERY: Duration = Duration::from_millis(5);
/// Pinging lasts at least this long, so every row has enough samples for its p99.
const PING_AT_LEAST: Duration = Duration::from_secs(2);
/// One configuration may take this long before the demo gives up.
const ROW_LIMIT: Duration = Duration::from_secs(120);

/// KCP over real UDP on 127.0.0.1 through a lossy in-process relay, several kcptun
/// settings side by side (throughput, ping round trips, retransmissions, FEC recoveries)
#[derive(clap::Parser, Debug)]
#[command(name = "demo")]
struct Options {
    /// Probability that the relay drops a datagram, each way, in [0, 0.9)
    #[arg(long, value_name = "P", default_value_t = 0.05, value_parser = loss)]
    loss: f64,
    /// One-way delay the relay adds
    #[arg(long = "delay-ms", value_name = "MS", default_value = "20", value_parser = millis)]
    delay: Duration,
    /// Extra one-way delay, uniform in 0..=MS; keeps order
    #[arg(long = "jitter-ms", value_name = "MS", default_value = "5", value_parser = millis)]
    jitter: Duration,
    /// Probability that a datagram leaves the queue order, in [0, 1]
    #[arg(long, value_name = "P", default_value_t = 0.01, value_parser = reorder)]
    reorder: f64,
    /// MiB sent per configuration
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    mib: u64,
    /// Seed of the relay's decisions
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

fn probability(s: &str, range: impl std::ops::RangeBounds<f64>, what: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if range.contains(&p) {
        Ok(p)
    } else {
        Err(format!("must be in {what}"))
    }
}

fn loss(s: &str) -> Result<f64, String> {
    probability(s, 0.0..0.9, "[0, 0.9)")
}

fn reorder(s: &str) -> Result<f64, String> {
    probability(s, 0.0..=1.0, "[0, 1]")
}

fn millis(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_millis)
        .map_err(|e| format!("{e}"))
}

/// The configurations compared, each used by both sides.
fn setups() -> Vec<(&'static str, Config)> {
    let plain = |mode, fec: usize| {
        let mut c = Config::kcptun();
        c.mode = mode;
        c.crypt = CipherKind::Null;
        c.data_shards = fec;
        c.parity_shards = if fec == 0 { 0 } else { 3 };
        c
    };
    vec![
        ("fast, no FEC", plain(Mode::Fast, 0)),
        ("fast3, no FEC", plain(Mode::Fast3, 0)),
        ("fast, FEC 10/3", plain(Mode::Fast, 10)),
        ("fast3, FEC 10/3", plain(Mode::Fast3, 10)),
        ("kcptun default: fast, FEC 10/3, aes", Config::kcptun()),
    ]
}

/// What one configuration measured.
struct Row {
    mibps: f64,
    /// Ping round trips, sorted, in ms.
    rtts: Vec<f64>,
    retrans: u64,
    fec_recovered: u64,
    /// Datagrams the relays dropped on purpose.
    dropped: u64,
    /// Datagrams the kernel dropped for a full receive buffer, machine-wide (Linux only).
    overflowed: Option<u64>,
}

fn main() -> ExitCode {
    let opts: Options = common::parse_args("demo");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return common::error(format_args!("tokio runtime: {e}")),
    };
    // The relays get their own thread, so that they read bursts of datagrams as they come.
    let relay_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("relay")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return common::error(format_args!("tokio runtime: {e}")),
    };
    println!(
        "kcp-rs demo: {} MiB per configuration over UDP on 127.0.0.1 through a relay with \
         {:.0}% loss each way, {}-{} ms one-way delay and {:.0}% reordering",
        opts.mib,
        opts.loss * 100.0,
        opts.delay.as_millis(),
        (opts.delay + opts.jitter).as_millis(),
        opts.reorder * 100.0,
    );
    println!(
        "ping: an 8-byte echo every {} ms on a second session during the transfer \
         (round trips as the application sees them)\n",
        PING_EVERY.as_millis()
    );
    println!(
        "{:<36} {:>6} {:>8} {:>5} {:>6} {:>7} {:>7} {:>7} {:>9}",
        "configuration",
        "MiB/s",
        "ping p50",
        "p90",
        "p99 ms",
        "retrans",
        "FEC rec",
        "dropped",
        "overflows"
    );
    let wall = Instant::now();
    for (i, (name, config)) in setups().into_iter().enumerate() {
        let settings = match config.build() {
            Ok(s) => s,
            Err(e) => return common::error(format_args!("{name}: {e}")),
        };
        let seed = opts.seed.wrapping_add(2 * i as u64);
        let row = runtime.block_on(async {
            tokio::time::timeout(
                ROW_LIMIT,
                measure(&settings, &opts, seed, relay_rt.handle()),
            )
            .await
            .unwrap_or_else(|_| Err(io::Error::other("no result within the time limit")))
        });
        let row = match row {
            Ok(row) => row,
            Err(e) => return common::error(format_args!("{name}: {e}")),
        };
        println!(
            "{name:<36} {:>6.2} {:>8.0} {:>5.0} {:>6.0} {:>7} {:>7} {:>7} {:>9}",
            row.mibps,
            quantile(&row.rtts, 0.50),
            quantile(&row.rtts, 0.90),
            quantile(&row.rtts, 0.99),
            row.retrans,
            row.fec_recovered,
            row.dropped,
            row.overflowed
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        );
    }
    println!(
        "\nretrans: KCP segments sent again (on timeout or fast resend). FEC rec: lost datagrams \
         rebuilt\nfrom parity instead. dropped: datagrams the relay lost on purpose. overflows: \
         datagrams the\nkernel dropped because a socket's receive buffer was full (the whole \
         machine's UDP\nRcvbufErrors; should be 0)."
    );
    println!("total time {:.1} s", wall.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

/// Runs one configuration: servers, relays, the bulk transfer and the pinger.
async fn measure(
    settings: &Settings,
    opts: &Options,
    seed: u64,
    relays: &tokio::runtime::Handle,
) -> io::Result<Row> {
    let (delay, jitter) = (
        opts.delay.as_millis() as u32,
        opts.jitter.as_millis() as u32,
    );
    let link = LinkConfig::new()
        .loss(opts.loss)
        .delay(delay, delay + jitter)
        .reorder(opts.reorder, jitter);
    let sink = KcpListener::bind("127.0.0.1:0", settings).await?;
    let echo = KcpListener::bind("127.0.0.1:0", settings).await?;
    let start_relay = |upstream, seed| {
        let link = link.clone();
        async move {
            relays
                .spawn(Relay::start(upstream, link, seed))
                .await
                .map_err(io::Error::other)?
        }
    };
    let sink_relay = start_relay(sink.local_addr()?, seed).await?;
    let echo_relay = start_relay(echo.local_addr()?, seed.wrapping_add(1)).await?;
    // Dropping the set at the end aborts the servers and their sessions.
    let mut servers = JoinSet::new();
    servers.spawn(serve_quietly(sink, Proto::Sink));
    servers.spawn(serve_quietly(echo, Proto::Echo));

    let before = snmp::global();
    let overflows_before = rcvbuf_errors();
    let pings = Pinger::start(echo_relay.addr(), settings).await?;
    let bytes = opts.mib << 20;
    let start = Instant::now();
    let bulk = KcpStream::connect(sink_relay.addr(), settings).await?;
    let bulk = wire::sink_session(bulk, bytes, seed, 32_768)
        .await
        .map_err(io::Error::other)?;
    let secs = start.elapsed().as_secs_f64();
    let rtts = pings.finish(start + PING_AT_LEAST).await?;
    let after = snmp::global();
    let overflows_after = rcvbuf_errors();
    drop(bulk);

    let dropped = |r: &Relay| r.stats().lost.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Row {
        mibps: bytes as f64 / secs / f64::from(1 << 20),
        rtts,
        retrans: after.retrans_segs - before.retrans_segs,
        fec_recovered: after.fec_recovered - before.fec_recovered,
        dropped: dropped(&sink_relay) + dropped(&echo_relay),
        overflowed: overflows_before
            .zip(overflows_after)
            .map(|(b, a)| a.saturating_sub(b)),
    })
}

/// Serves `proto` on every accepted session, printing nothing.
async fn serve_quietly(listener: KcpListener, proto: Proto) {
    let mut sessions = JoinSet::new();
    while let Ok((mut stream, _)) = listener.accept().await {
        sessions.spawn(async move {
            let mut counts = Counts::default();
            match proto {
                Proto::Echo => wire::handle_echo(&mut stream, &mut counts).await,
                Proto::Sink => wire::handle_sink(&mut stream, &mut counts, |_| {}).await,
            }
        });
    }
}

/// Sends an 8-byte ping (its send time) every [`PING_EVERY`] and times each echo.
struct Pinger {
    sender: tokio::task::JoinHandle<io::Result<u64>>,
    receiver: tokio::task::JoinHandle<io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<Instant>,
    rtts: Arc<Mutex<Vec<f64>>>,
}

impl Pinger {
    async fn start(addr: std::net::SocketAddr, settings: &Settings) -> io::Result<Pinger> {
        let (mut r, mut w) = KcpStream::connect(addr, settings).await?.into_split();
        let base = Instant::now();
        let (stop, mut stop_rx) = tokio::sync::oneshot::channel::<Instant>();
        let sender = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PING_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sent = 0u64;
            let mut until = None;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    at = &mut stop_rx, if until.is_none() => {
                        until = Some(at.unwrap_or_else(|_| Instant::now()));
                        continue;
                    }
                }
                if until.is_some_and(|u| Instant::now() >= u) {
                    return Ok(sent);
                }
                let t = base.elapsed().as_micros() as u64;
                w.write_all(&t.to_be_bytes()).await?;
                sent += 1;
            }
        });
        let rtts = Arc::new(Mutex::new(Vec::new()));
        let samples = Arc::clone(&rtts);
        let receiver = tokio::spawn(async move {
            let mut echo = [0u8; 8];
            loop {
                r.read_exact(&mut echo).await?;
                let sent = Duration::from_micros(u64::from_be_bytes(echo));
                let rtt = base.elapsed().saturating_sub(sent);
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(rtt.as_secs_f64() * 1000.0);
            }
        });
        Ok(Pinger {
            sender,
            receiver,
            stop,
            rtts,
        })
    }

    /// Stops pinging at `not_before` (or now, if later), waits for the outstanding echoes
    /// and returns the round trips in ms, sorted.
    async fn finish(self, not_before: Instant) -> io::Result<Vec<f64>> {
        let _ = self.stop.send(not_before);
        let sent = self.sender.await.map_err(io::Error::other)??;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.rtts.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
            if got >= sent {
                break;
            }
            if self.receiver.is_finished() || Instant::now() >= deadline {
                self.receiver.abort();
                return Err(io::Error::other(format!(
                    "only {got} of {sent} pings came back"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.receiver.abort();
        let mut rtts = std::mem::take(&mut *self.rtts.lock().unwrap_or_else(|e| e.into_inner()));
        rtts.sort_by(f64::total_cmp);
        Ok(rtts)
    }
}

/// The kernel's count of UDP datagrams dropped for a full receive buffer (Linux's
/// `/proc/net/snmp`), if readable.
fn rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let i = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(i)?.parse().ok()
}
