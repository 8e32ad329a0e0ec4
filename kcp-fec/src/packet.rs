//! The FEC header (kcp-go `fec.go`): constants, classification and a checked view.
//!
//! ```text
//! offset 0      4      6      8
//!        seqid  type   size   KCP frame ...          (data,   type 0xF1)
//!        seqid  type   parity bytes ...              (parity, type 0xF2)
//! ```
//! All fields little-endian; `size` is the KCP frame length plus 2 and is itself part of
//! the Reed-Solomon coded region (the shard is everything from offset 6).

use crate::error::DecodeError;

/// Bytes of seqid (u32) and type (u16) in front of every FEC shard.
pub const HEADER_LEN: usize = 6;
/// Bytes in front of the KCP frame in a data packet: [`HEADER_LEN`] plus the u16 size field.
/// Reserve this much (after the crypto header) in front of every KCP frame when FEC is on.
pub const DATA_HEADER_LEN: usize = HEADER_LEN + 2;
/// Type field of a data packet.
pub const TYPE_DATA: u16 = 0xF1;
/// Type field of a parity packet.
pub const TYPE_PARITY: u16 = 0xF2;
/// kcp-go's `mtuLimit`: it never sends, and never reads, more than this many bytes per
/// datagram. The default size limit of [`Encoder`](crate::Encoder) and
/// [`Decoder`](crate::Decoder). The same constant as kcp-core's, re-exported.
pub use kcp_core::MTU_LIMIT;

/// The largest datagram size the encoder and decoder can be configured for (UDP's limit,
/// which also keeps the u16 size field from overflowing).
pub const MAX_UDP_PAYLOAD: usize = 65_535;

/// What a decrypted payload is, judged as kcp-go does from the u16 at offset 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// FEC data packet: hand it to [`Decoder::decode`](crate::Decoder::decode), which
    /// returns its KCP frame.
    Data,
    /// FEC parity packet: hand it to [`Decoder::decode`](crate::Decoder::decode).
    Parity,
    /// Anything else is a raw KCP frame (byte 4 of a KCP segment is its `cmd`, 0x51..0x54,
    /// so it can never look like 0xF1/0xF2). This includes payloads shorter than 6 bytes
    /// and kcp-go 5.6.60+'s 0xF3 OOB packets, which kcp-go 5.6.1 also treats as KCP.
    Kcp,
}

/// Classifies a payload (the bytes after the crypto header) in a few instructions: call it
/// on every received datagram to choose between the FEC decoder and KCP input.
///
/// ```
/// use kcp_fec::{classify, PacketKind};
/// assert_eq!(classify(&[0, 0, 0, 0, 0xF1, 0, 7, 0]), PacketKind::Data);
/// assert_eq!(classify(&[0, 0, 0, 0, 0xF2, 0, 1, 2]), PacketKind::Parity);
/// assert_eq!(classify(&[0x44, 0x33, 0x22, 0x11, 0x51, 0, 0, 1]), PacketKind::Kcp);
/// ```
#[inline]
pub fn classify(payload: &[u8]) -> PacketKind {
    match payload.get(4..6) {
        Some(&[0xF1, 0]) => PacketKind::Data,
        Some(&[0xF2, 0]) => PacketKind::Parity,
        _ => PacketKind::Kcp,
    }
}

/// A checked view of one FEC packet: at least [`DATA_HEADER_LEN`] bytes with type 0xF1 or
/// 0xF2. Use it where a packet must be looked into without decoding it (a listener reading
/// the conv of the KCP frame in a data packet, a test inspecting the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FecPacket<'a> {
    bytes: &'a [u8],
    kind: PacketKind,
}

impl<'a> FecPacket<'a> {
    /// Checks the type field and the minimum length (kcp-go drops FEC packets shorter than
    /// 8 bytes and counts them as `InErrs`).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let kind = classify(bytes);
        if kind == PacketKind::Kcp {
            return Err(DecodeError::NotFec);
        }
        if bytes.len() < DATA_HEADER_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        Ok(FecPacket { bytes, kind })
    }

    /// The sequence id: shard `seqid % n` of group `seqid / n`, `n` = data + parity shards.
    pub fn seqid(&self) -> u32 {
        u32::from_le_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    /// [`PacketKind::Data`] or [`PacketKind::Parity`].
    pub fn kind(&self) -> PacketKind {
        self.kind
    }

    /// The Reed-Solomon shard: everything after seqid and type (for data packets this
    /// starts with the size field).
    pub fn shard(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// The KCP frame of a data packet: everything after the size field, as kcp-go feeds
    /// it to KCP (the size field is not consulted). `None` for parity packets.
    pub fn frame(&self) -> Option<&'a [u8]> {
        match self.kind {
            PacketKind::Data => Some(&self.bytes[DATA_HEADER_LEN..]),
            _ => None,
        }
    }

    /// The whole packet.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Writes seqid and type at the front of `header` (at least [`HEADER_LEN`] bytes).
#[inline]
pub(crate) fn write_header(header: &mut [u8], seqid: u32, kind: u16) {
    header[..4].copy_from_slice(&seqid.to_le_bytes());
    header[4..6].copy_from_slice(&kind.to_le_bytes());
}
