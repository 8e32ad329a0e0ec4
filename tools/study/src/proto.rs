//! The study's three workloads over any byte stream (our `KcpStream`, tokio's
//! `TcpStream`), byte for byte those of the kcp-go peer's `game-*`, `reply-server` /
//! `request-client` and `sink-server` / `bulk-client` subcommands (`peers/session`), so
//! kcp-go runs exactly the same traffic.
//!
//! - game: both ends send a 32-byte PING at 50 Hz and answer the other's PINGs with a
//!   PONG; each records the round trips of its own pings; at the end the server reports
//!   its round trips to the client.
//! - request/response: the client asks for `size` bytes (an 8-byte big-endian length) and
//!   reads them, one request at a time, timing each.
//! - bulk: the sink protocol, pipelined: requests of one block each, written without
//!   waiting; each 8-byte reply confirms a block.
//!
//! Every client takes a time limit; at the limit it returns what it has, plus how long
//! the unanswered pings or the open request had waited (censored samples).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::sync::oneshot;

use kcp_examples::wire::{self, SplitMix};

/// Bytes per game frame.
const FRAME: usize = 32;
const PING: u8 = 1;
const PONG: u8 = 2;
const STOP: u8 = 3;
const REPORT: u8 = 4;
const END: u8 = 5;
/// Round trips per REPORT frame.
const REPORT_SAMPLES: usize = 6;

/// A stream the workloads can run over.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for S {}

/// What the game workload measured: round trips in microseconds.
#[derive(Debug, Default)]
pub(crate) struct GameOutcome {
    /// The client's pings.
    pub(crate) client: Vec<u32>,
    /// The server's pings, as it reported them.
    pub(crate) server: Vec<u32>,
    /// Pings unanswered at the time limit: how long they had waited (lower bounds).
    pub(crate) pending: Vec<u32>,
    /// Why the run did not finish normally, if it did not.
    pub(crate) failure: Option<String>,
}

/// What the request/response workload measured: completion times in microseconds.
#[derive(Debug, Default)]
pub(crate) struct RequestOutcome {
    /// Completed requests.
    pub(crate) times: Vec<u32>,
    /// The request open at the time limit: how long it had waited.
    pub(crate) pending: Vec<u32>,
    /// Why the run did not finish normally, if it did not.
    pub(crate) failure: Option<String>,
}

/// What the bulk workload measured.
#[derive(Debug, Default)]
pub(crate) struct BulkOutcome {
    /// Bytes the server confirmed.
    pub(crate) confirmed: u64,
    /// Seconds from the start to the last confirmation.
    pub(crate) secs: f64,
    /// Why the run did not finish normally, if it did not.
    pub(crate) failure: Option<String>,
}

// ------------------------------------------------------------------------------ game

/// One end of the game workload: its pings in flight and its round trips.
struct Side {
    start: Instant,
    state: Mutex<SideState>,
}

#[derive(Default)]
struct SideState {
    seq: u32,
    /// Sequence number to stamp of each unanswered ping.
    pending: HashMap<u32, u64>,
    rtts: Vec<u32>,
}

fn frame(kind: u8, n: u32, stamp: u64) -> [u8; FRAME] {
    let mut f = [0u8; FRAME];
    f[0] = kind;
    f[4..8].copy_from_slice(&n.to_be_bytes());
    f[8..16].copy_from_slice(&stamp.to_be_bytes());
    f
}

type Writer<S> = Arc<tokio::sync::Mutex<WriteHalf<S>>>;

async fn send<S: Stream>(w: &Writer<S>, f: &[u8]) -> io::Result<()> {
    let mut w = w.lock().await;
    w.write_all(f).await?;
    w.flush().await
}

impl Side {
    fn new() -> Arc<Side> {
        Arc::new(Side {
            start: Instant::now(),
            state: Mutex::new(SideState::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SideState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    async fn ping<S: Stream>(&self, w: &Writer<S>) -> io::Result<()> {
        let f = {
            let mut st = self.lock();
            let (seq, stamp) = (st.seq, self.micros());
            st.seq += 1;
            st.pending.insert(seq, stamp);
            frame(PING, seq, stamp)
        };
        send(w, &f).await
    }

    /// Answers a PING or records a PONG; returns the frame's kind.
    async fn handle<S: Stream>(&self, f: &[u8; FRAME], w: &Writer<S>) -> io::Result<u8> {
        let seq = u32::from_be_bytes(f[4..8].try_into().expect("4 bytes"));
        let stamp = u64::from_be_bytes(f[8..16].try_into().expect("8 bytes"));
        match f[0] {
            PING => send(w, &frame(PONG, seq, stamp)).await?,
            PONG => {
                let now = self.micros();
                let mut st = self.lock();
                if st.pending.remove(&seq).is_none() {
                    return Err(io::Error::other(format!("pong for unknown ping {seq}")));
                }
                st.rtts.push(now.saturating_sub(stamp) as u32);
            }
            _ => {}
        }
        Ok(f[0])
    }

    fn outstanding(&self) -> usize {
        self.lock().pending.len()
    }

    /// How long each unanswered ping has waited, in microseconds.
    fn waits(&self) -> Vec<u32> {
        let now = self.micros();
        self.lock()
            .pending
            .values()
            .map(|&s| now.saturating_sub(s) as u32)
            .collect()
    }

    fn rtts(&self) -> Vec<u32> {
        self.lock().rtts.clone()
    }
}

fn period(hz: u32) -> Duration {
    Duration::from_secs(1) / hz.max(1)
}

/// Serves one game session: pings at `hz` until STOP, then reports its round trips;
/// returns when the session ends.
pub(crate) async fn game_server<S: Stream>(stream: S, hz: u32) -> io::Result<()> {
    let (mut r, w) = tokio::io::split(stream);
    let w: Writer<S> = Arc::new(tokio::sync::Mutex::new(w));
    let side = Side::new();
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let reader = {
        let (side, w) = (Arc::clone(&side), Arc::clone(&w));
        tokio::spawn(async move {
            let mut stop = Some(stop_tx);
            let mut f = [0u8; FRAME];
            loop {
                r.read_exact(&mut f).await?;
                if side.handle(&f, &w).await? == STOP
                    && let Some(tx) = stop.take()
                {
                    let _ = tx.send(());
                }
            }
        })
    };
    let mut tick = tokio::time::interval(period(hz));
    loop {
        tokio::select! {
            _ = tick.tick() => side.ping(&w).await?,
            _ = &mut stop_rx => break,
        }
    }
    while side.outstanding() > 0 {
        if reader.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rtts = side.rtts();
    for chunk in rtts.chunks(REPORT_SAMPLES) {
        let mut f = [0u8; FRAME];
        f[0] = REPORT;
        f[4..8].copy_from_slice(&(chunk.len() as u32).to_be_bytes());
        for (j, v) in chunk.iter().enumerate() {
            f[8 + 4 * j..12 + 4 * j].copy_from_slice(&v.to_be_bytes());
        }
        send(&w, &f).await?;
    }
    send(&w, &frame(END, rtts.len() as u32, 0)).await?;
    reader.await.map_err(io::Error::other)?
}

/// Runs the client side of the game for `secs` at `hz`, then collects the server's round
/// trips; gives up at `limit` after the start with what it has.
pub(crate) async fn game_client<S: Stream>(
    stream: S,
    secs: Duration,
    hz: u32,
    limit: Duration,
) -> GameOutcome {
    let side = Side::new();
    let server = Arc::new(Mutex::new(Vec::new()));
    let run = game_client_run(stream, secs, hz, Arc::clone(&side), Arc::clone(&server));
    let failure = match tokio::time::timeout(limit, run).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("time limit of {} s", limit.as_secs_f64())),
    };
    let server = std::mem::take(&mut *server.lock().unwrap_or_else(|e| e.into_inner()));
    GameOutcome {
        client: side.rtts(),
        server,
        pending: side.waits(),
        failure,
    }
}

async fn game_client_run<S: Stream>(
    stream: S,
    secs: Duration,
    hz: u32,
    side: Arc<Side>,
    server: Arc<Mutex<Vec<u32>>>,
) -> io::Result<()> {
    let (mut r, w) = tokio::io::split(stream);
    let w: Writer<S> = Arc::new(tokio::sync::Mutex::new(w));
    let reader = {
        let (side, w) = (Arc::clone(&side), Arc::clone(&w));
        async move {
            let mut f = [0u8; FRAME];
            loop {
                r.read_exact(&mut f).await?;
                match side.handle(&f, &w).await? {
                    REPORT => {
                        let n = u32::from_be_bytes(f[4..8].try_into().expect("4 bytes")) as usize;
                        if n > REPORT_SAMPLES {
                            return Err(io::Error::other(format!("report of {n} samples")));
                        }
                        let mut s = server.lock().unwrap_or_else(|e| e.into_inner());
                        for j in 0..n {
                            let b = &f[8 + 4 * j..12 + 4 * j];
                            s.push(u32::from_be_bytes(b.try_into().expect("4 bytes")));
                        }
                    }
                    END => {
                        let total = u32::from_be_bytes(f[4..8].try_into().expect("4 bytes"));
                        let got = server.lock().unwrap_or_else(|e| e.into_inner()).len();
                        if got != total as usize {
                            return Err(io::Error::other(format!(
                                "server reported {got} of {total} round trips"
                            )));
                        }
                        return Ok::<_, io::Error>(());
                    }
                    _ => {}
                }
            }
        }
    };
    let pinger = async {
        let deadline = tokio::time::Instant::now() + secs;
        let mut tick = tokio::time::interval(period(hz));
        while tokio::time::Instant::now() < deadline {
            tick.tick().await;
            side.ping(&w).await?;
        }
        send(&w, &frame(STOP, 0, 0)).await
    };
    tokio::try_join!(reader, pinger)?;
    match side.outstanding() {
        0 => Ok(()),
        n => Err(io::Error::other(format!("{n} pings unanswered at the end"))),
    }
}

// ------------------------------------------------------------------ request/response

/// Answers requests until the session ends: request `i` of the session gets `n` bytes of
/// splitmix64 stream `i`.
pub(crate) async fn reply_server<S: Stream>(mut stream: S) -> io::Result<()> {
    for i in 0u64.. {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).await?;
        let n = u64::from_be_bytes(header);
        if n > 1 << 30 {
            return Err(io::Error::other(format!("request for {n} bytes")));
        }
        wire::write_stream(&mut stream, &mut SplitMix::new(i), n, 65_536).await?;
    }
    Ok(())
}

/// Sends `requests` requests for `size` bytes one at a time and times each; gives up at
/// `limit` after the start.
pub(crate) async fn request_client<S: Stream>(
    mut stream: S,
    requests: usize,
    size: usize,
    limit: Duration,
) -> RequestOutcome {
    let mut out = RequestOutcome::default();
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = vec![0u8; size];
    let mut expect = vec![0u8; size];
    for i in 0..requests {
        let started = Instant::now();
        let one = async {
            stream.write_all(&(size as u64).to_be_bytes()).await?;
            stream.flush().await?;
            stream.read_exact(&mut buf).await?;
            Ok::<_, io::Error>(())
        };
        match tokio::time::timeout_at(deadline, one).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                out.failure = Some(format!("request {i}: {e}"));
                return out;
            }
            Err(_) => {
                out.pending.push(started.elapsed().as_micros() as u32);
                out.failure = Some(format!(
                    "time limit of {} s in request {i}",
                    limit.as_secs_f64()
                ));
                return out;
            }
        }
        out.times.push(started.elapsed().as_micros() as u32);
        SplitMix::new(i as u64).fill(&mut expect);
        if buf != expect {
            out.failure = Some(format!("response {i} differs from what was asked"));
            return out;
        }
    }
    out
}

// ------------------------------------------------------------------------------ bulk

/// Serves sink requests until the session ends.
pub(crate) async fn sink_server<S: Stream>(mut stream: S) -> io::Result<()> {
    let mut counts = wire::Counts::default();
    Err(wire::handle_sink(&mut stream, &mut counts, |_| {}).await)
}

/// Delivers `total` bytes as pipelined sink requests of `block` bytes; gives up at
/// `limit` after the start.
pub(crate) async fn bulk_client<S: Stream>(
    stream: S,
    total: u64,
    block: u64,
    limit: Duration,
) -> BulkOutcome {
    let start = Instant::now();
    let (mut r, mut w) = tokio::io::split(stream);
    let progress = Arc::new(Mutex::new((0u64, 0.0f64)));
    let writer = async move {
        let mut payload = SplitMix::new(1);
        let mut left = total;
        while left > 0 {
            let n = left.min(block.max(1));
            w.write_all(&n.to_be_bytes()).await?;
            wire::write_stream(&mut w, &mut payload, n, n as usize).await?;
            left -= n;
        }
        // Keep the write half (and so the session) open until the reader is done.
        std::future::pending::<()>().await;
        Ok::<_, io::Error>(())
    };
    let reader = {
        let progress = Arc::clone(&progress);
        async move {
            let mut confirmed = 0;
            while confirmed < total {
                let mut reply = [0u8; 8];
                r.read_exact(&mut reply).await?;
                confirmed += u64::from_be_bytes(reply);
                *progress.lock().unwrap_or_else(|e| e.into_inner()) =
                    (confirmed, start.elapsed().as_secs_f64());
            }
            Ok::<_, io::Error>(())
        }
    };
    let both = async {
        tokio::select! {
            r = reader => r,
            w = writer => w,
        }
    };
    let failure = match tokio::time::timeout(limit, both).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("time limit of {} s", limit.as_secs_f64())),
    };
    let (confirmed, secs) = *progress.lock().unwrap_or_else(|e| e.into_inner());
    BulkOutcome {
        confirmed,
        secs: if failure.is_some() {
            limit.as_secs_f64()
        } else {
            secs
        },
        failure,
    }
}
