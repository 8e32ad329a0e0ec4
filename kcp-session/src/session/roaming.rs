//! The session's half of roaming: the challenge a new address must answer before the
//! session follows its peer there, and the test of the answer.
//!
//! The challenge is one KCP data segment that carries nothing: sequence number
//! `snd_una - 1`, which the peer has received already, so every KCP peer (ikcp, kcp-go,
//! ours) acknowledges it, echoing its `ts`, and delivers nothing. Its `ts` is a fresh
//! random value, sent to the new address only, so an acknowledgement echoing it proves
//! that whoever is there receives (and, with a cipher, holds the key). The value lies
//! 2^30 to 2^31 ms ahead of KCP's clock, so the echo never makes an RTT sample. It goes
//! as a raw KCP frame under the cipher, outside any FEC group (kcp-go reads both).

use alloc::vec;
use alloc::vec::Vec;

use kcp_core::{Kcp, OVERHEAD};
use kcp_crypt::{NonceRng, PacketCipher};
use rand_core::RngCore;

use super::proof;
use crate::config::Settings;

/// KCP's data and acknowledgement commands.
const CMD_PUSH: u8 = 81;
const CMD_ACK: u8 = 82;

/// How many challenges are remembered: an answer may come after a newer challenge went.
const REMEMBERED: usize = 4;

/// The `ts` values of the challenges sent lately.
#[derive(Debug, Default)]
pub(super) struct Challenges {
    ts: [u32; REMEMBERED],
    len: usize,
    next: usize,
}

impl Challenges {
    /// A sealed challenge datagram for the current state of `kcp`, remembered.
    pub(super) fn make(
        &mut self,
        kcp: &Kcp,
        kcp_now: u32,
        settings: &Settings,
        rng: &mut NonceRng,
    ) -> Vec<u8> {
        let ts = kcp_now
            .wrapping_add(1 << 30)
            .wrapping_add(rng.next_u32() >> 2);
        self.ts[self.next] = ts;
        self.next = (self.next + 1) % REMEMBERED;
        self.len = (self.len + 1).min(REMEMBERED);
        let crypt = settings.crypt();
        let head = crypt.header_len();
        let mut buf = vec![0u8; head + OVERHEAD + crypt.trailer_len()];
        let wnd = kcp.rcv_wnd().saturating_sub(kcp.rcv_queue_len() as u32);
        let seg = &mut buf[head..head + OVERHEAD];
        seg[0..4].copy_from_slice(&kcp.conv().to_le_bytes());
        seg[4] = CMD_PUSH;
        seg[5] = 0;
        seg[6..8].copy_from_slice(&(wnd.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        seg[8..12].copy_from_slice(&ts.to_le_bytes());
        seg[12..16].copy_from_slice(&kcp.snd_una().wrapping_sub(1).to_le_bytes());
        seg[16..20].copy_from_slice(&kcp.rcv_nxt().to_le_bytes());
        // len 0: bytes 20..24 stay zero.
        let n = crypt
            .seal(&mut buf, OVERHEAD, rng)
            .expect("the buffer has the cipher's header and trailer room");
        buf.truncate(n);
        buf
    }

    /// Whether the opened payload `payload` acknowledges one of the challenges sent.
    pub(super) fn answered_by(&self, payload: &[u8], conv: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let frame = match kcp_fec::classify(payload) {
            kcp_fec::PacketKind::Kcp => Some(payload),
            _ => kcp_fec::FecPacket::new_checked(payload)
                .ok()
                .and_then(|p| p.frame()),
        };
        frame.is_some_and(|f| {
            proof::segments(f).any(|(c, cmd, ts)| {
                c == conv && cmd == CMD_ACK && self.ts[..self.len].contains(&ts)
            })
        })
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}
