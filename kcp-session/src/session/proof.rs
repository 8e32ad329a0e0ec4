//! Anti-amplification: what a session may send to a peer that has not yet shown it
//! receives at its address, and how it shows it.
//!
//! KCP echoes the `ts` of every data segment in the acknowledgement of it. A session that
//! must see proof runs KCP on its caller's clock plus a random 32-bit offset, so the `ts`
//! values it sends cannot be guessed by anyone who did not receive them; an
//! acknowledgement echoing one of them proves that the peer receives at its address. Until
//! then the session sends at most [`Config::amplification_limit`] times the bytes it
//! received (QUIC's anti-amplification rule, RFC 9000 section 8.1).
//!
//! [`Config::amplification_limit`]: crate::Config::amplification_limit

use kcp_core::OVERHEAD;

/// KCP's data and acknowledgement commands.
const CMD_PUSH: u8 = 81;
const CMD_ACK: u8 = 82;

/// How many send times are remembered: the `ts` of the data segments a session sent in
/// its most recent flushes with data. Before proof few such flushes happen (the budget
/// allows a few datagrams), so the echo of any of them matches.
const REMEMBERED: usize = 16;

/// The byte budget and the send times of a session whose peer has not shown yet that it
/// receives at its address.
#[derive(Debug)]
pub(super) struct Proof {
    limit: u64,
    received: u64,
    sent: u64,
    times: [u32; REMEMBERED],
    len: usize,
    next: usize,
}

impl Proof {
    pub(super) fn new(limit: u32) -> Proof {
        Proof {
            limit: u64::from(limit),
            received: 0,
            sent: 0,
            times: [0; REMEMBERED],
            len: 0,
            next: 0,
        }
    }

    /// Counts a datagram of `n` bytes from the peer's address.
    pub(super) fn received(&mut self, n: usize) {
        self.received += n as u64;
    }

    /// Bytes the budget still allows.
    pub(super) fn room(&self) -> u64 {
        self.received
            .saturating_mul(self.limit)
            .saturating_sub(self.sent)
    }

    /// Whether a datagram of `n` bytes may go out now; counts it if so.
    pub(super) fn take(&mut self, n: usize) -> bool {
        if (n as u64) > self.room() {
            return false;
        }
        self.sent += n as u64;
        true
    }

    /// Remembers that data segments went out stamped `ts` (KCP's clock at a flush).
    pub(super) fn sent_at(&mut self, ts: u32) {
        if self.len > 0 && self.times[(self.next + REMEMBERED - 1) % REMEMBERED] == ts {
            return;
        }
        self.times[self.next] = ts;
        self.next = (self.next + 1) % REMEMBERED;
        self.len = (self.len + 1).min(REMEMBERED);
    }

    /// Whether the KCP frame `frame` of conversation `conv` acknowledges a data segment
    /// this session sent: the proof.
    pub(super) fn is_echoed_in(&self, frame: &[u8], conv: u32) -> bool {
        segments(frame).any(|(seg_conv, cmd, ts)| {
            cmd == CMD_ACK && seg_conv == conv && self.times[..self.len].contains(&ts)
        })
    }
}

/// Whether the KCP frame `frame` carries a data segment.
pub(super) fn carries_data(frame: &[u8]) -> bool {
    segments(frame).any(|(_, cmd, _)| cmd == CMD_PUSH)
}

/// The `(conv, cmd, ts)` of each whole segment header in a KCP frame.
pub(super) fn segments(frame: &[u8]) -> impl Iterator<Item = (u32, u8, u32)> + '_ {
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut at = 0usize;
    core::iter::from_fn(move || {
        let seg = frame.get(at..at + OVERHEAD)?;
        let len = u32_at(seg, 20) as usize;
        at = at.saturating_add(OVERHEAD).saturating_add(len);
        Some((u32_at(seg, 0), seg[4], u32_at(seg, 8)))
    })
}
