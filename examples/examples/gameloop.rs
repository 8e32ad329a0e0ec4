//! A game server loop around a sans-io `kcp_session::Endpoint`: no async runtime, one
//! non-blocking `std::net::UdpSocket`, a fixed 60 Hz game tick, and the network pumped
//! every millisecond in between.
//!
//! `--clients` clients (default 64, each with its own socket, all run by one thread the
//! same way) send their input every tick as an unreliable datagram (`send_datagram`, on
//! kcp-go's out-of-band wire), and every server tick answers each client with a state
//! datagram that echoes its newest input: state that the next tick supersedes, so a lost
//! one is not resent. A few times a second a client also sends an event (a message on the
//! reliable stream, `send_message`), which the server acknowledges on the stream at its
//! next tick: what must arrive, retransmitted until it does. Everything crosses an
//! in-process relay that drops, delays and jitters datagrams. At the end the program
//! prints both application-level round trips (server tick wait included): states over
//! datagrams and events over the stream, then retransmissions, what the relay dropped,
//! and the server thread's CPU time per tick.
//!
//! ```text
//! cargo run --release -p kcp-examples --example gameloop -- [--clients N] [--seconds S]
//!     [--hz N] [--loss P] [--delay-ms MS] [--jitter-ms MS] [--mode NAME] [--seed N]
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kcp_session::{Config, Endpoint, Event, Handle, Mode, Settings};
use kcp_testkit::relay::Relay;
use kcp_testkit::stats::quantile;
use kcp_tunnel::cli::parse_mode;

use kcp_examples as common;

/// A game server on a sans-io Endpoint and a plain UDP socket, ticking at 60 Hz, serving
/// clients through a lossy relay (round trips, retransmissions, CPU per tick)
#[derive(clap::Parser, Debug)]
#[command(name = "gameloop")]
struct Options {
    /// Clients, each with its own socket and session
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = common::at_least_one)]
    clients: usize,
    /// How long the clients play
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,
    /// Game ticks per second, on the server and on every client
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
    hz: u32,
    /// The relay between clients and server.
    #[command(flatten)]
    relay: common::RelayFlags,
    /// KCP mode (kcptun's names)
    #[arg(long, value_name = "NAME", default_value = "fast3", value_parser = parse_mode)]
    mode: Mode,
    /// Seed of the relay's decisions
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

/// Input datagrams: tag, the client's sequence number, its send time in µs since start.
const INPUT: u8 = 1;
const INPUT_LEN: usize = 24;
/// State datagrams: tag, the echoed sequence number and send time, the server tick.
const STATE: u8 = 2;
const STATE_LEN: usize = 128;
/// Event messages (stream): tag, the event's number, its send time; the server sends the
/// same bytes back tagged `EVENT_ACK`.
const EVENT: u8 = 3;
const EVENT_ACK: u8 = 4;
const EVENT_LEN: usize = 32;
/// The server's first message on the stream, which the client acknowledges: that proves
/// the client's address, so state datagrams are not held to the amplification budget.
const WELCOME: u8 = 5;
/// Events per second from each client.
const EVENTS_HZ: u32 = 4;

/// The game's session settings: message mode, no cipher, FEC on (kcp-go frames datagrams
/// only with FEC; parity also repairs lost stream segments without a retransmission).
fn settings(mode: Mode) -> Settings {
    let mut c = Config::default();
    c.mode = mode;
    c.stream = false;
    c.data_shards = 10;
    c.parity_shards = 3;
    c.snd_wnd = 256;
    c.rcv_wnd = 256;
    c.idle_timeout = Some(Duration::from_secs(10));
    // Every client reaches the server through the relay, from one address: a public
    // server keeps the per-address cap, this one lifts it to the session cap.
    c.max_sessions_per_ip = c.max_sessions;
    c.build().expect("valid settings")
}

/// Milliseconds on the sessions' clock, and microseconds for the messages.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn ms(self) -> u32 {
        self.0.elapsed().as_millis() as u32
    }

    fn us(self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// Pumps the network once: a bounded burst of what the socket holds into the endpoint,
/// its timers, and what it has to send. This is all an application adds to its loop.
fn pump(socket: &UdpSocket, ep: &mut Endpoint, clock: Clock, buf: &mut [u8]) {
    for _ in 0..256 {
        match socket.recv_from(buf) {
            Ok((n, from)) => {
                ep.handle(clock.ms(), from, &mut buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => break,
        }
    }
    ep.handle_timeout(clock.ms());
    while let Some(t) = ep.poll_transmit(clock.ms()) {
        for d in t.datagrams() {
            // A full socket buffer drops the datagram, as the wire would: KCP resends.
            let _ = socket.send_to(d, t.destination);
        }
    }
}

/// Runs `tick` every 1/hz s until `stop`, pumping the network every millisecond between.
fn tick_loop(
    hz: u32,
    stop: &AtomicBool,
    mut pump_once: impl FnMut(),
    mut tick: impl FnMut(u64),
) -> u64 {
    let period = Duration::from_secs(1) / hz;
    let start = Instant::now();
    let mut ticks = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick(ticks);
        ticks += 1;
        let next = start + period * ticks as u32;
        loop {
            pump_once();
            let now = Instant::now();
            if now >= next {
                break;
            }
            thread::sleep((next - now).min(Duration::from_millis(1)));
        }
    }
    ticks
}

/// The server's CPU time so far (Linux: this thread's scheduler statistics).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// What the server measured.
struct ServerReport {
    ticks: u64,
    cpu: Option<Duration>,
    retrans: u64,
    clients: usize,
    /// State datagrams refused before the client's address was proven.
    held: u64,
}

fn server(
    socket: UdpSocket,
    settings: Settings,
    hz: u32,
    clock: Clock,
    stop: Arc<AtomicBool>,
) -> ServerReport {
    let mut ep = Endpoint::new(&settings, os_seed());
    ep.listen(true);
    let mut buf = vec![0u8; 1500];
    // Per client: its newest input not yet answered (sequence number, send time).
    let mut clients: HashMap<Handle, Option<(u32, u64)>> = HashMap::new();
    let mut retrans = 0;
    let mut held = 0;
    let cpu0 = thread_cpu();
    let cell = std::cell::RefCell::new(&mut ep);
    let ticks = tick_loop(
        hz,
        &stop,
        || pump(&socket, &mut cell.borrow_mut(), clock, &mut buf),
        |tick| {
            let mut ep = cell.borrow_mut();
            while let Some(h) = ep.accept() {
                clients.insert(h, None);
                let _ = ep.send_message(clock.ms(), h, &[WELCOME]);
            }
            while let Some(event) = ep.poll_event() {
                if let Event::Ended(h) = event
                    && let Some(s) = ep.session(h)
                {
                    retrans += s.snmp().retrans_segs;
                    clients.remove(&h);
                    ep.release(clock.ms(), h);
                }
            }
            // The game logic: apply every event and the newest input, then send every
            // client its state.
            for (h, newest) in &mut clients {
                while let Ok(mut event) = ep.recv_message(*h) {
                    if event.len() == EVENT_LEN && event[0] == EVENT {
                        event[0] = EVENT_ACK;
                        let _ = ep.send_message(clock.ms(), *h, &event);
                    }
                }
                while let Some(input) = ep.recv_datagram(*h) {
                    if input.len() == INPUT_LEN && input[0] == INPUT {
                        let seq = u32::from_le_bytes(input[1..5].try_into().unwrap());
                        let sent = u64::from_le_bytes(input[5..13].try_into().unwrap());
                        // Datagrams may arrive out of order: keep the newest.
                        if newest.is_none_or(|(s, _)| seq > s) {
                            *newest = Some((seq, sent));
                        }
                    }
                }
                if let Some((seq, sent)) = newest.take() {
                    let mut state = [0u8; STATE_LEN];
                    state[0] = STATE;
                    state[1..5].copy_from_slice(&seq.to_le_bytes());
                    state[5..13].copy_from_slice(&sent.to_le_bytes());
                    state[13..17].copy_from_slice(&(tick as u32).to_le_bytes());
                    if ep.send_datagram(clock.ms(), *h, &state).is_err() {
                        held += 1;
                    }
                }
            }
        },
    );
    retrans += clients
        .keys()
        .filter_map(|h| cell.borrow().session(*h).map(|s| s.snmp().retrans_segs))
        .sum::<u64>();
    ServerReport {
        ticks,
        cpu: thread_cpu().zip(cpu0).map(|(b, a)| b - a),
        retrans,
        clients: clients.len(),
        held,
    }
}

/// One client: its socket, endpoint and session.
struct Client {
    socket: UdpSocket,
    ep: Endpoint,
    session: Handle,
    seq: u32,
}

/// What the clients measured.
struct ClientReport {
    /// Input datagram sent to the state datagram that echoes it.
    rtts_us: Vec<u64>,
    inputs: u64,
    /// Event message sent to its acknowledgement on the stream.
    event_rtts_us: Vec<u64>,
    events: u64,
    retrans: u64,
}

fn clients(
    n: usize,
    server: SocketAddr,
    settings: Settings,
    hz: u32,
    clock: Clock,
    stop: Arc<AtomicBool>,
) -> io::Result<ClientReport> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let mut ep = Endpoint::new(&settings, os_seed());
        let session = ep.connect(clock.ms(), server).unwrap();
        all.push(Client {
            socket,
            ep,
            session,
            seq: 0,
        });
    }
    let mut buf = vec![0u8; 1500];
    let mut rtts_us = Vec::new();
    let mut inputs = 0;
    let mut event_rtts_us = Vec::new();
    let mut events = 0;
    let event_every = u64::from((hz / EVENTS_HZ).max(1));
    let cell = std::cell::RefCell::new(&mut all);
    tick_loop(
        hz,
        &stop,
        || {
            for c in cell.borrow_mut().iter_mut() {
                pump(&c.socket, &mut c.ep, clock, &mut buf);
                while let Some(state) = c.ep.recv_datagram(c.session) {
                    if state.len() == STATE_LEN && state[0] == STATE {
                        let sent = u64::from_le_bytes(state[5..13].try_into().unwrap());
                        rtts_us.push(clock.us().saturating_sub(sent));
                    }
                }
                while let Ok(m) = c.ep.recv_message(c.session) {
                    if m.len() == EVENT_LEN && m[0] == EVENT_ACK {
                        let sent = u64::from_le_bytes(m[5..13].try_into().unwrap());
                        event_rtts_us.push(clock.us().saturating_sub(sent));
                    }
                }
            }
        },
        |tick| {
            for c in cell.borrow_mut().iter_mut() {
                let mut input = [0u8; INPUT_LEN];
                input[0] = INPUT;
                input[1..5].copy_from_slice(&c.seq.to_le_bytes());
                input[5..13].copy_from_slice(&clock.us().to_le_bytes());
                if c.ep.send_datagram(clock.ms(), c.session, &input).is_ok() {
                    c.seq += 1;
                    inputs += 1;
                }
                if tick % event_every == 0 {
                    let mut event = [0u8; EVENT_LEN];
                    event[0] = EVENT;
                    event[1..5].copy_from_slice(&(events as u32).to_le_bytes());
                    event[5..13].copy_from_slice(&clock.us().to_le_bytes());
                    if c.ep.send_message(clock.ms(), c.session, &event).is_ok() {
                        events += 1;
                    }
                }
            }
        },
    );
    let retrans = all
        .iter()
        .filter_map(|c| c.ep.session(c.session).map(|s| s.snmp().retrans_segs))
        .sum();
    Ok(ClientReport {
        rtts_us,
        inputs,
        event_rtts_us,
        events,
        retrans,
    })
}

fn main() -> ExitCode {
    let opts: Options = common::parse_args("gameloop");
    let settings = settings(opts.mode);
    let clock = Clock(Instant::now());
    let stop = Arc::new(AtomicBool::new(false));

    let socket = match UdpSocket::bind("127.0.0.1:0").and_then(|s| {
        s.set_nonblocking(true)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => return common::error(format_args!("server socket: {e}")),
    };
    let server_addr = socket.local_addr().expect("bound");
    // The lossy relay runs on a tokio runtime of its own; the game needs none.
    let relay_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return common::error(format_args!("relay runtime: {e}")),
    };
    let relay = match relay_rt.block_on(Relay::start(server_addr, opts.relay.link(), opts.seed)) {
        Ok(r) => r,
        Err(e) => return common::error(format_args!("relay: {e}")),
    };

    let server_thread = {
        let (settings, stop) = (settings.clone(), Arc::clone(&stop));
        thread::spawn(move || server(socket, settings, opts.hz, clock, stop))
    };
    let client_thread = {
        let (settings, stop, to) = (settings.clone(), Arc::clone(&stop), relay.addr());
        thread::spawn(move || clients(opts.clients, to, settings, opts.hz, clock, stop))
    };
    thread::sleep(Duration::from_secs(opts.seconds));
    stop.store(true, Ordering::Relaxed);
    let (Ok(s), Ok(Ok(c))) = (server_thread.join(), client_thread.join()) else {
        return common::error(format_args!("a game thread failed"));
    };
    let dropped = relay.stats().lost.load(Ordering::Relaxed);

    let sorted_ms = |us: &[u64]| {
        let mut ms: Vec<f64> = us.iter().map(|&us| us as f64 / 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let (rtts, event_rtts) = (sorted_ms(&c.rtts_us), sorted_ms(&c.event_rtts_us));
    println!(
        "gameloop: {} clients, {} Hz, {} s, {}, mode {:?}",
        opts.clients, opts.hz, opts.seconds, opts.relay, opts.mode
    );
    let quantiles = |ms: &[f64]| {
        format!(
            "p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            quantile(ms, 0.5),
            quantile(ms, 0.9),
            quantile(ms, 0.99),
            quantile(ms, 0.999),
            quantile(ms, 1.0)
        )
    };
    println!(
        "state round trip ms (datagrams): {}  ({} states for {} inputs)",
        quantiles(&rtts),
        rtts.len(),
        c.inputs
    );
    println!(
        "event round trip ms (stream): {}  ({} acks for {} events)",
        quantiles(&event_rtts),
        event_rtts.len(),
        c.events
    );
    println!(
        "retransmitted segments: server {}, clients {}; relay dropped {dropped} datagrams",
        s.retrans, c.retrans
    );
    match s.cpu {
        Some(cpu) => {
            let per_tick = cpu.as_secs_f64() * 1e6 / s.ticks.max(1) as f64;
            println!(
                "server: {} ticks for {} clients, CPU {per_tick:.0} µs per tick ({:.1}% of a core, network pumped every ms)",
                s.ticks,
                s.clients,
                per_tick * f64::from(opts.hz) / 1e4
            );
        }
        None => println!("server: {} ticks for {} clients", s.ticks, s.clients),
    }
    if s.held > 0 {
        println!(
            "server: {} state datagrams held back before their client's address was proven",
            s.held
        );
    }
    if rtts.is_empty() || event_rtts.is_empty() {
        return common::error(format_args!("no state datagram or no event came back"));
    }
    ExitCode::SUCCESS
}

/// 32 bytes from the operating system's random source: an endpoint's secrets (nonces,
/// the clock offset that proves a peer's address, dialed conversation ids) derive from them.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source failed");
    seed
}
