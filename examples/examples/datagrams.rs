//! Unreliable datagrams beside a reliable stream on tokio: a client sends its state as a
//! datagram every tick and a small record on the stream a few times a second, through a
//! relay that drops, delays and jitters datagrams, to a server that echoes both; it
//! prints the round trips of each. The datagrams use kcp-go's out-of-band wire, so the
//! server can be kcp-go 5.6.60's `SendOOB`/`SetOOBHandler` (the Go peer in `peers/oob`):
//!
//! ```text
//! cargo run --release -p kcp-examples --example datagrams -- [--seconds S] [--hz N]
//!     [--loss P] [--delay-ms MS] [--jitter-ms MS] [--server ADDR]
//! # against kcp-go: build and start its echo server, then point --server at it
//! $(scripts/go-peer.sh oob) server -listen 127.0.0.1:4000 &
//! cargo run --release -p kcp-examples --example datagrams -- --server 127.0.0.1:4000
//! ```
//!
//! Without `--server` it runs its own echo server, on a `KcpListener` in this process.
//! Both sides use kcptun's defaults (AES, `it's a secrect`, FEC 10/3, mode fast).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kcp_session::{Config, KcpListener, KcpStream};
use kcp_testkit::relay::Relay;
use kcp_testkit::stats::quantile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use kcp_examples as common;

/// Datagram and stream round trips through a lossy relay, to our server or kcp-go's
#[derive(clap::Parser, Debug)]
#[command(name = "datagrams")]
struct Options {
    /// How long the client sends
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,
    /// Datagrams per second
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(4..=1000))]
    hz: u32,
    /// The relay between clients and server.
    #[command(flatten)]
    relay: common::RelayFlags,
    /// An echo server to use instead of our own (kcp-go's `peers/oob server`)
    #[arg(long, value_name = "ADDR")]
    server: Option<SocketAddr>,
}

/// Bytes of each datagram: a sequence number, the send time in µs, padding.
const DATAGRAM_LEN: usize = 64;
/// Bytes of each stream record: the send time in µs, a sequence number.
const RECORD_LEN: usize = 16;

/// Echoes every session's stream and datagrams until the process ends.
async fn serve(listener: KcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let (mut read, mut write) = stream.into_split();
            let mut buf = vec![0u8; 4096];
            loop {
                // The datagram future borrows nothing: it waits beside a read of the
                // same half.
                let datagram = read.recv_datagram();
                tokio::select! {
                    n = read.read(&mut buf) => match n {
                        Ok(n) if n > 0 => {
                            if write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        _ => break,
                    },
                    d = datagram => match d {
                        // A datagram the session refuses is the sender's loss, as on the wire.
                        Ok(d) => drop(write.send_datagram(&d)),
                        Err(_) => break,
                    },
                }
            }
        });
    }
}

fn us(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts: Options = common::parse_args("datagrams");
    let settings = match Config::kcptun().build() {
        Ok(s) => s,
        Err(e) => return common::error(e),
    };
    let server = match opts.server {
        Some(addr) => addr,
        None => {
            let listener = match KcpListener::bind("127.0.0.1:0", &settings).await {
                Ok(l) => l,
                Err(e) => return common::error(format_args!("listen: {e}")),
            };
            let addr = listener.local_addr().expect("bound");
            tokio::spawn(serve(listener));
            addr
        }
    };
    let relay = match Relay::start(server, opts.relay.link(), 1).await {
        Ok(r) => r,
        Err(e) => return common::error(format_args!("relay: {e}")),
    };
    let stream = match KcpStream::connect(relay.addr(), &settings).await {
        Ok(s) => s,
        Err(e) => return common::error(format_args!("connect: {e}")),
    };
    let (mut read, mut write) = stream.into_split();
    let start = Instant::now();
    let rtts = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let reader = {
        let rtts = Arc::clone(&rtts);
        tokio::spawn(async move {
            let (mut buf, mut pending) = ([0u8; 1024], Vec::new());
            loop {
                let datagram = read.recv_datagram();
                // Both branches are cancel-safe: `read` (unlike `read_exact`) loses
                // nothing when the datagram wins.
                tokio::select! {
                    n = read.read(&mut buf) => {
                        let Ok(n @ 1..) = n else { break };
                        pending.extend_from_slice(&buf[..n]);
                        let now = us(start);
                        for record in pending.chunks_exact(RECORD_LEN) {
                            let sent = u64::from_le_bytes(record[..8].try_into().unwrap());
                            rtts.lock().unwrap().1.push(now.saturating_sub(sent));
                        }
                        pending.drain(..pending.len() / RECORD_LEN * RECORD_LEN);
                    }
                    d = datagram => match d {
                        Ok(d) if d.len() == DATAGRAM_LEN => {
                            let sent = u64::from_le_bytes(d[4..12].try_into().unwrap());
                            rtts.lock().unwrap().0.push(us(start).saturating_sub(sent));
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    },
                }
            }
        })
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1) / opts.hz);
    let (mut datagrams, mut records) = (0u64, 0u64);
    let ticks = opts.seconds * u64::from(opts.hz);
    for seq in 0..ticks {
        tick.tick().await;
        let mut d = [0u8; DATAGRAM_LEN];
        d[..4].copy_from_slice(&(seq as u32).to_le_bytes());
        d[4..12].copy_from_slice(&us(start).to_le_bytes());
        match write.send_datagram(&d) {
            Ok(()) => datagrams += 1,
            Err(e) => return common::error(format_args!("send_datagram: {e}")),
        }
        // A stream record four times a second.
        if seq % u64::from(opts.hz / 4) == 0 {
            let mut r = [0u8; RECORD_LEN];
            r[..8].copy_from_slice(&us(start).to_le_bytes());
            r[8..].copy_from_slice(&seq.to_le_bytes());
            if let Err(e) = write.write_all(&r).await {
                return common::error(format_args!("write: {e}"));
            }
            records += 1;
        }
    }
    // Let the last echoes come back.
    tokio::time::sleep(Duration::from_millis(
        4 * u64::from(opts.relay.delay_ms) + 500,
    ))
    .await;
    reader.abort();
    let (dg, st) = {
        let rtts = rtts.lock().unwrap();
        let ms = |v: &[u64]| {
            let mut ms: Vec<f64> = v.iter().map(|&us| us as f64 / 1000.0).collect();
            ms.sort_by(f64::total_cmp);
            ms
        };
        (ms(&rtts.0), ms(&rtts.1))
    };
    let line = |ms: &[f64]| {
        format!(
            "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            quantile(ms, 0.5),
            quantile(ms, 0.9),
            quantile(ms, 0.99),
            quantile(ms, 1.0)
        )
    };
    println!(
        "datagrams: server {}, {} Hz for {} s, {}",
        opts.server.map_or("ours".to_owned(), |a| format!("{a}")),
        opts.hz,
        opts.seconds,
        opts.relay
    );
    println!(
        "datagram round trip ms: {}  ({} echoed of {datagrams})",
        line(&dg),
        dg.len()
    );
    println!(
        "stream round trip ms: {}  ({} echoed of {records})",
        line(&st),
        st.len()
    );
    if dg.is_empty() || st.is_empty() {
        return common::error(format_args!("no echo came back"));
    }
    ExitCode::SUCCESS
}
