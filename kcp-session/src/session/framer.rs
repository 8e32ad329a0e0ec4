//! The output side of a session: kcp-go's framing applied in place to each datagram KCP
//! emits (FEC, then the cipher), and the demultiplexing ids of an opened payload.

use kcp_crypt::{NonceRng, PacketCipher};
use kcp_fec::{Encoder, PacketKind};

use super::proof::Proof;
use crate::config::Settings;
use crate::snmp::Snmp;

/// Transmits datagrams for the session's output: FEC, then the cipher, in place.
pub(super) struct Framer<'a, T> {
    pub(super) settings: &'a Settings,
    pub(super) encoder: &'a mut Option<Encoder>,
    pub(super) rng: &'a mut NonceRng,
    pub(super) counters: &'a mut Snmp,
    /// The amplification budget, while the peer is not proven: datagrams beyond it are
    /// dropped (KCP retransmits them once the proof lets them out).
    pub(super) proof: Option<&'a mut Proof>,
    pub(super) now: u32,
    pub(super) transmit: T,
}

impl<T: FnMut(&[u8])> Framer<'_, T> {
    /// `datagram` is crypto header, FEC header (if on), the KCP frame, then the trailer.
    pub(super) fn output(&mut self, datagram: &mut [u8]) {
        let crypt = self.settings.crypt();
        let trailer = crypt.trailer_len();
        let payload_len = datagram.len() - crypt.header_len() - trailer;
        let mut group_done = false;
        if let Some(encoder) = self.encoder.as_mut() {
            let data = &mut datagram[..crypt.header_len() + payload_len];
            // The KCP frame always fits: the MTU given to KCP leaves room for the headers.
            group_done = encoder.encode_data(data, self.now).unwrap_or(false);
        }
        self.seal_and_send(datagram, payload_len);
        if group_done && let Some(encoder) = self.encoder.as_mut() {
            let (settings, rng, counters, transmit) = (
                self.settings,
                &mut *self.rng,
                &mut *self.counters,
                &mut self.transmit,
            );
            let mut proof = self.proof.as_deref_mut();
            encoder.flush_parity(|mut parity| {
                let len = parity.datagram_len();
                let crypt = settings.crypt();
                let buf = parity.with_tailroom();
                if let Ok(n) = crypt.seal(buf, len - crypt.header_len(), rng)
                    && proof.as_deref_mut().is_none_or(|p| p.take(n))
                {
                    counters.out_pkts += 1;
                    counters.bytes_sent += n as u64;
                    transmit(&buf[..n]);
                }
            });
        }
    }

    fn seal_and_send(&mut self, datagram: &mut [u8], payload_len: usize) {
        // `datagram` was sized by KCP with exactly the header and trailer room `seal` needs.
        if let Ok(n) = self.settings.crypt().seal(datagram, payload_len, self.rng)
            && self.proof.as_deref_mut().is_none_or(|p| p.take(n))
        {
            self.counters.out_pkts += 1;
            self.counters.bytes_sent += n as u64;
            (self.transmit)(&datagram[..n]);
        }
    }
}

/// The conversation id and sequence number a decrypted payload carries, found the way
/// kcp-go's listener finds them: a raw KCP frame has them at offsets 0 and 12; an FEC data
/// packet of at least 8 + 24 bytes at 8 and 20; parity packets carry none. Nor, here, do
/// out-of-band datagrams (type 0xF3): kcp-go's listener reads their conv and lets one
/// open or replace a session, but an unreliable datagram is no request to open one, and
/// one carries no sequence number to tell a restart from a replay.
pub fn conv_and_sn(payload: &[u8]) -> Option<(u32, u32)> {
    if super::oob::is_oob(payload) {
        return None;
    }
    let at = |i: usize| {
        payload
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let base = match kcp_fec::classify(payload) {
        PacketKind::Data if payload.len() >= kcp_fec::DATA_HEADER_LEN + kcp_core::OVERHEAD => {
            kcp_fec::DATA_HEADER_LEN
        }
        PacketKind::Data | PacketKind::Parity => return None,
        _ if payload.len() >= kcp_core::OVERHEAD => 0,
        _ => return None,
    };
    Some((at(base)?, at(base + 12)?))
}
