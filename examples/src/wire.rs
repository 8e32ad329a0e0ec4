//! The echo and sink protocols, byte for byte those of the kcp-go peer `peers/session`, so
//! either side of ours pairs with either side of kcp-go's.
//!
//! - echo: the server copies everything it reads back to the sender; the client writes
//!   its bytes while it reads the echo back and checks every byte.
//! - sink: the client sends an 8-byte big-endian length L, then L bytes; the server reads
//!   exactly L bytes, replies with the 8-byte big-endian count it read, and waits for the
//!   next request on the same session.
//!
//! The payload of client session i is a splitmix64 stream seeded with `seed + i`, each
//! output word written little-endian (the same bytes as the Go peer's).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kcp_session::{KcpListener, KcpStream, Settings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

/// Bytes per read.
const READ_BUF: usize = 65_536;

/// Which protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// Everything read is written back.
    Echo,
    /// Length-prefixed requests answered with the count.
    Sink,
}

// ------------------------------------------------------------------------------ payload

pub use kcp_testkit::payload::SplitMix;

/// Writes `n` bytes of `payload` to `w` in writes of at most `chunk` bytes.
pub async fn write_stream(
    w: &mut (impl AsyncWrite + Unpin),
    payload: &mut SplitMix,
    n: u64,
    chunk: usize,
) -> io::Result<()> {
    let mut buf = vec![0u8; chunk.min(usize::try_from(n).unwrap_or(usize::MAX)).max(1)];
    let mut left = n;
    while left > 0 {
        let m = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        payload.fill(&mut buf[..m]);
        w.write_all(&buf[..m]).await?;
        left -= m as u64;
    }
    w.flush().await
}

// ------------------------------------------------------------------------------ clients

/// Echo client session: writes `n` bytes while reading the echo back and checking it.
/// Returns the stream for its read-outs.
pub async fn echo_session(
    stream: KcpStream,
    n: u64,
    seed: u64,
    chunk: usize,
) -> Result<KcpStream, String> {
    let (mut r, mut w) = tokio::io::split(stream);
    let writer = async {
        write_stream(&mut w, &mut SplitMix::new(seed), n, chunk)
            .await
            .map_err(|e| format!("write: {e}"))
    };
    let reader = async {
        let mut want = SplitMix::new(seed);
        let mut buf = vec![0u8; READ_BUF];
        let mut exp = vec![0u8; READ_BUF];
        let mut got = 0u64;
        while got < n {
            let m = match r.read(&mut buf).await {
                Ok(0) => return Err(format!("echo ended after {got} of {n} bytes")),
                Ok(m) => m,
                Err(e) => return Err(format!("read after {got} of {n} bytes: {e}")),
            };
            if m as u64 > n - got {
                return Err(format!("echo longer than sent: {} bytes", got + m as u64));
            }
            want.fill(&mut exp[..m]);
            if let Some(i) = (0..m).find(|&i| buf[i] != exp[i]) {
                return Err(format!(
                    "echo differs at offset {}: got {:#04x}, want {:#04x}",
                    got + i as u64,
                    buf[i],
                    exp[i]
                ));
            }
            got += m as u64;
        }
        Ok(())
    };
    tokio::try_join!(reader, writer)?;
    Ok(r.unsplit(w))
}

/// Sink client session: sends the length header and `n` bytes, then checks the reply.
pub async fn sink_session(
    mut stream: KcpStream,
    n: u64,
    seed: u64,
    chunk: usize,
) -> Result<KcpStream, String> {
    stream
        .write_all(&n.to_be_bytes())
        .await
        .map_err(|e| format!("write header: {e}"))?;
    write_stream(&mut stream, &mut SplitMix::new(seed), n, chunk)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = [0u8; 8];
    stream
        .read_exact(&mut reply)
        .await
        .map_err(|e| format!("read reply: {e}"))?;
    let got = u64::from_be_bytes(reply);
    if got != n {
        return Err(format!("server counted {got} bytes, sent {n}"));
    }
    Ok(stream)
}

/// What a client run asks for.
#[derive(Clone, Debug)]
pub struct ClientRun {
    /// The server's address.
    pub remote: String,
    /// Bytes per session (per direction for echo).
    pub bytes: u64,
    /// Concurrent sessions.
    pub conns: usize,
    /// Payload seed of session 0; session i uses `seed + i`.
    pub seed: u64,
    /// Bytes per write call.
    pub chunk: usize,
}

/// Runs `run.conns` client sessions of `proto` at once and returns the one-line summary:
///
/// `ok conns=K bytes=T secs=S mibps=M retrans=R fecrecovered=F srttms=X`
///
/// as the Go peer prints it (bytes in total per direction, seconds from the first dial to
/// the last session's completion, retransmitted segments and FEC-recovered shards of the
/// whole process), plus the sessions' mean smoothed RTT in ms at the end. Fails on the
/// first session error, or when `timeout` passes first.
pub async fn run_clients(
    proto: Proto,
    run: &ClientRun,
    settings: &Settings,
    timeout: Option<Duration>,
) -> Result<String, String> {
    let start = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for i in 0..run.conns {
        let (run, settings, done) = (run.clone(), settings.clone(), Arc::clone(&done));
        set.spawn(async move {
            let stream = KcpStream::connect(run.remote.as_str(), &settings)
                .await
                .map_err(|e| format!("dial {}: {e}", run.remote))?;
            let conv = stream.conv();
            let seed = run.seed.wrapping_add(i as u64);
            let result = match proto {
                Proto::Echo => echo_session(stream, run.bytes, seed, run.chunk).await,
                Proto::Sink => sink_session(stream, run.bytes, seed, run.chunk).await,
            };
            let stream = result.map_err(|e| format!("session {i} (conv={conv}): {e}"))?;
            done.fetch_add(1, Ordering::Relaxed);
            Ok::<i32, String>(stream.info().srtt)
        });
    }
    let all = async {
        let mut srtt_sum = 0i64;
        while let Some(joined) = set.join_next().await {
            let srtt = joined.map_err(|e| format!("session task failed: {e}"))??;
            srtt_sum += i64::from(srtt);
        }
        Ok::<i64, String>(srtt_sum)
    };
    let srtt_sum = match timeout {
        Some(t) => tokio::time::timeout(t, all).await.map_err(|_| {
            format!(
                "timeout after {}s: {} of {} sessions done",
                t.as_secs_f64(),
                done.load(Ordering::Relaxed),
                run.conns
            )
        })??,
        None => all.await?,
    };
    let secs = start.elapsed().as_secs_f64();
    let total = run.bytes * run.conns as u64;
    let snmp = kcp_session::snmp::global();
    Ok(format!(
        "ok conns={} bytes={total} secs={secs:.3} mibps={:.2} retrans={} fecrecovered={} \
         srttms={:.1}",
        run.conns,
        total as f64 / secs / f64::from(1 << 20),
        snmp.retrans_segs,
        snmp.fec_recovered,
        srtt_sum as f64 / run.conns as f64,
    ))
}

// ------------------------------------------------------------------------------ servers

/// Byte counts of a served session.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Bytes read from the client.
    pub read: u64,
    /// Bytes written to the client.
    pub written: u64,
}

/// Echoes until the session fails; returns why it ended.
pub async fn handle_echo(stream: &mut KcpStream, counts: &mut Counts) -> io::Error {
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return io::ErrorKind::UnexpectedEof.into(),
            Ok(n) => n,
            Err(e) => return e,
        };
        counts.read += n as u64;
        if let Err(e) = stream.write_all(&buf[..n]).await {
            return e;
        }
        counts.written += n as u64;
    }
}

/// Serves sink requests until the session fails; calls `served` with each request's
/// length; returns why it ended.
pub async fn handle_sink(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    counts: &mut Counts,
    mut served: impl FnMut(u64),
) -> io::Error {
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let mut header = [0u8; 8];
        if let Err(e) = read_counted(stream, &mut header, counts).await {
            return e;
        }
        let want = u64::from_be_bytes(header);
        let mut got = 0u64;
        while got < want {
            let m = buf
                .len()
                .min(usize::try_from(want - got).unwrap_or(usize::MAX));
            match stream.read(&mut buf[..m]).await {
                Ok(0) => return io::ErrorKind::UnexpectedEof.into(),
                Ok(n) => got += n as u64,
                Err(e) => return e,
            }
        }
        counts.read += got;
        if let Err(e) = stream.write_all(&got.to_be_bytes()).await {
            return e;
        }
        counts.written += 8;
        served(got);
    }
}

async fn read_counted(
    r: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
    counts: &mut Counts,
) -> io::Result<()> {
    r.read_exact(buf).await?;
    counts.read += buf.len() as u64;
    Ok(())
}

/// Accepts sessions forever and serves each with `proto`, at most `limit` at once,
/// printing one line per event on stdout, as the Go peer does:
///
/// ```text
/// accepted <remote> conv=<conv>
/// sunk <remote> conv=<conv> bytes=<L>                 (sink: one request served)
/// closed <remote> conv=<conv> in=<n> out=<n> err=<e>  (the session ended)
/// refused <remote> conv=<conv> active=<n> refused=<total>   (over the limit)
/// ```
///
/// A session over the limit is closed at once and counted; the first ten refusals and
/// then every thousandth are printed.
pub async fn serve(listener: KcpListener, proto: Proto, limit: usize) -> io::Error {
    let active = Arc::new(AtomicUsize::new(0));
    let mut refused = 0u64;
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => return e,
        };
        let tag = format!("{peer} conv={}", stream.conv());
        let now = active.load(Ordering::Relaxed);
        if now >= limit {
            refused += 1;
            if refused <= 10 || refused.is_multiple_of(1000) {
                println!("refused {tag} active={now} refused={refused}");
            }
            drop(stream);
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        println!("accepted {tag}");
        let active = Arc::clone(&active);
        tokio::spawn(async move {
            let mut counts = Counts::default();
            let err = match proto {
                Proto::Echo => handle_echo(&mut stream, &mut counts).await,
                Proto::Sink => {
                    handle_sink(&mut stream, &mut counts, |n| {
                        println!("sunk {tag} bytes={n}");
                    })
                    .await
                }
            };
            drop(stream);
            active.fetch_sub(1, Ordering::Relaxed);
            println!(
                "closed {tag} in={} out={} err={err}",
                counts.read, counts.written
            );
        });
    }
}

/// Binds `listen` and prints `listening <addr>` (the bound address, so port 0 works).
pub async fn bind(listen: &str, settings: &Settings) -> Result<KcpListener, String> {
    let listener = KcpListener::bind(listen, settings)
        .await
        .map_err(|e| format!("listen {listen}: {e}"))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| format!("listen {listen}: {e}"))?;
    println!("listening {addr}");
    Ok(listener)
}
