//! The sending side: FEC headers written in place, parity accumulated shard by shard.

use alloc::vec;
use alloc::vec::Vec;

use crate::codec::Codec;
use crate::error::{ConfigError, EncodeError};
use crate::fold::Fold;
use crate::gf::{Gf, Kernel};
use crate::packet::{
    DATA_HEADER_LEN, HEADER_LEN, MAX_UDP_PAYLOAD, MTU_LIMIT, TYPE_DATA, TYPE_PARITY, write_header,
};
use crate::shards::Shards;

/// The idle gap after which kcp-go 5.6.10+ sends no parity for a group
/// (`maxFECEncodeLatency`); a value for [`EncoderConfig::parity_idle_limit_ms`].
pub const KCP_GO_PARITY_IDLE_LIMIT_MS: u32 = 500;

/// How an [`Encoder`] lays out datagrams. Build it with [`EncoderConfig::new`] and adjust
/// the public fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderConfig {
    /// Shard counts (kcptun default 10 data + 3 parity).
    pub shards: Shards,
    /// Bytes in front of the FEC header that belong to the crypto layer: 0 without a
    /// cipher, 20 for kcp-go's nonce + CRC32 framing, 12 for AES-GCM. Default 0.
    pub offset: usize,
    /// Spare bytes kept after the end of each parity datagram, for a cipher that appends
    /// a tag in place (16 for AES-GCM). Default 0.
    pub tailroom: usize,
    /// The longest datagram (crypto header included, tag excluded) the encoder accepts;
    /// parity datagrams are never longer than the longest data datagram of their group.
    /// Default [`MTU_LIMIT`] (1500), which kcp-go never exceeds.
    pub max_datagram: usize,
    /// `None` (default): parity after every group, as kcp-go 5.6.1. `Some(ms)`: no parity
    /// for a group whose last data datagram comes `ms` or more after the data datagram
    /// before it (kcp-go 5.6.10+ with [`KCP_GO_PARITY_IDLE_LIMIT_MS`]); the parity seqids
    /// are still consumed, as in kcp-go 5.6.17+, so groups stay aligned.
    pub parity_idle_limit_ms: Option<u32>,
    /// The GF(2^8) kernel. `None` (default): [`Kernel::best`], the fastest this CPU runs.
    /// Every kernel produces the same parity; name one to compare them or to test a
    /// slower path ([`Encoder::new`] refuses one the CPU cannot run).
    pub kernel: Option<Kernel>,
}

impl EncoderConfig {
    /// kcp-go 5.6.1's encoder for `shards` with no crypto header: offset 0, no tailroom,
    /// datagrams up to 1500 bytes, parity always, the fastest kernel.
    pub const fn new(shards: Shards) -> Self {
        EncoderConfig {
            shards,
            offset: 0,
            tailroom: 0,
            max_datagram: MTU_LIMIT,
            parity_idle_limit_ms: None,
            kernel: None,
        }
    }
}

/// What an [`Encoder`] has done since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncoderStats {
    /// Data datagrams framed.
    pub data: u64,
    /// Parity datagrams handed out.
    pub parity: u64,
    /// Groups whose parity was suppressed after an idle gap.
    pub suppressed_groups: u64,
    /// Groups whose parity was dropped because `encode_data` came again before
    /// `flush_parity`.
    pub dropped_parity: u64,
}

/// One parity datagram, lent to the callback of [`Encoder::encode`]. The encoder owns and
/// reuses its buffer: encrypt it in place and send it (or copy it) before returning.
///
/// Layout: `offset` bytes left for the crypto layer (their content is unspecified), seqid,
/// type 0xF2, then the parity shard, as long as the longest data datagram of the group;
/// after that, `tailroom` spare bytes.
#[derive(Debug)]
pub struct ParityDatagram<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl ParityDatagram<'_> {
    /// Length of the datagram (crypto header included, tailroom excluded).
    pub fn datagram_len(&self) -> usize {
        self.len
    }

    /// The datagram, to encrypt in place and send.
    pub fn datagram(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// The datagram, read-only.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The datagram followed by the configured tailroom, for a cipher that appends a tag:
    /// the first [`datagram_len`](Self::datagram_len) bytes are the datagram.
    pub fn with_tailroom(&mut self) -> &mut [u8] {
        self.buf
    }
}

/// kcp-go's `fecEncoder`: frames every outgoing KCP datagram as an FEC data packet and,
/// after every `data` of them, produces `parity` parity datagrams.
///
/// Create one per session (kcp-go starts every session's seqids at 0). Nothing is copied
/// out of the caller's datagrams: each data shard is folded into the parity as it passes,
/// so the encoder keeps `parity` buffers of `max_datagram + tailroom` bytes (with the
/// portable kernel, also about as much again in accumulators, plus 1 KB of tables per
/// data shard and four parity shards) and allocates nothing after [`Encoder::new`].
#[derive(Debug)]
pub struct Encoder {
    config: EncoderConfig,
    codec: Codec,
    fold: Fold,
    paws: u32,
    next: u32,
    /// Data shards folded into the current group.
    collected: usize,
    /// Length of the parity accumulated so far (the longest shard of the group).
    shard_len: usize,
    parity: Vec<Vec<u8>>,
    last_data_ms: Option<u32>,
    /// First seqid of the parity that `flush_parity` has yet to hand out.
    ready: Option<u32>,
    stats: EncoderStats,
}

impl Encoder {
    /// Builds an encoder. Fails if `max_datagram` cannot hold `offset` plus the 8-byte
    /// header, if `max_datagram` or `tailroom` exceeds 65,535 (a UDP payload), or if the
    /// configured kernel cannot run on this CPU. Allocates the parity buffers.
    pub fn new(config: EncoderConfig) -> Result<Encoder, ConfigError> {
        // A datagram never exceeds a UDP payload; the caps keep the sums below in range.
        if config.max_datagram > MAX_UDP_PAYLOAD
            || config.tailroom > MAX_UDP_PAYLOAD
            || config
                .offset
                .checked_add(DATA_HEADER_LEN)
                .is_none_or(|min| min > config.max_datagram)
        {
            return Err(ConfigError::BadSizeLimit);
        }
        let gf = Gf::choose(config.kernel).ok_or(ConfigError::KernelUnavailable)?;
        let max_shard = config.max_datagram - config.offset - HEADER_LEN;
        let codec = Codec::new(config.shards, gf);
        Ok(Encoder {
            fold: Fold::new(&codec, max_shard),
            codec,
            paws: config.shards.paws(),
            next: 0,
            collected: 0,
            shard_len: 0,
            parity: vec![vec![0u8; config.max_datagram + config.tailroom]; config.shards.parity()],
            last_data_ms: None,
            ready: None,
            stats: EncoderStats::default(),
            config,
        })
    }

    /// The configuration this encoder was built with.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The GF(2^8) kernel this encoder runs.
    pub fn kernel(&self) -> Kernel {
        self.codec.gf().kernel()
    }

    /// Headroom the layer above must leave in front of each KCP frame: the crypto header
    /// plus seqid, type and size.
    pub fn header_len(&self) -> usize {
        self.config.offset + DATA_HEADER_LEN
    }

    /// The seqid the next datagram (data or parity) will carry.
    pub fn next_seqid(&self) -> u32 {
        self.next
    }

    /// Data datagrams already in the current, incomplete group. Incomplete groups are
    /// never flushed: their parity follows the group's last data datagram, however late.
    pub fn pending_data(&self) -> usize {
        self.collected
    }

    /// Moves the sequence to `seqid` rounded down to a group boundary (modulo `paws`) and
    /// drops the current incomplete group. kcp-go always starts at 0; this exists for tests
    /// of the wrap-around, which otherwise takes four billion datagrams.
    pub fn set_next_seqid(&mut self, seqid: u32) {
        let n = self.config.shards.total() as u32;
        self.next = seqid % self.paws / n * n;
        self.collected = 0;
        self.shard_len = 0;
        self.ready = None;
    }

    /// What the encoder has done so far.
    pub fn stats(&self) -> EncoderStats {
        self.stats
    }

    /// Frames one outgoing datagram in place and folds it into the current group, then,
    /// when the datagram completes a group, calls `parity` once per parity datagram in
    /// seqid order: [`encode_data`](Self::encode_data) followed by
    /// [`flush_parity`](Self::flush_parity).
    ///
    /// `datagram` is the whole datagram: `offset` bytes of crypto header space, 8 bytes
    /// of FEC header space, then the KCP frame. The encoder writes seqid, type 0xF1 and
    /// size (`frame length + 2`) into the header space. The parity datagrams go out after
    /// `datagram`; to send `datagram` before they are even computed into their final
    /// buffers (kcp-go's order on the wire), call the two halves yourself.
    pub fn encode<F>(
        &mut self,
        datagram: &mut [u8],
        now_ms: u32,
        parity: F,
    ) -> Result<(), EncodeError>
    where
        F: FnMut(ParityDatagram<'_>),
    {
        self.encode_data(datagram, now_ms)?;
        self.flush_parity(parity);
        Ok(())
    }

    /// Frames one outgoing datagram in place (see [`encode`](Self::encode) for the layout)
    /// and folds it into the current group. Returns `true` when it completed a group whose
    /// parity is ready: send `datagram`, then call [`flush_parity`](Self::flush_parity)
    /// before the next `encode_data`, which otherwise drops that parity (its seqids stay
    /// consumed, so the peer sees only lost parity).
    ///
    /// `now_ms` (any origin, may wrap) matters only with
    /// [`parity_idle_limit_ms`](EncoderConfig::parity_idle_limit_ms). Cost: `parity` GF(2^8)
    /// multiply-adds per shard byte, in one pass over the shard per four parity shards; no
    /// allocation.
    pub fn encode_data(&mut self, datagram: &mut [u8], now_ms: u32) -> Result<bool, EncodeError> {
        let len = datagram.len();
        let offset = self.config.offset;
        if len < offset + DATA_HEADER_LEN {
            return Err(EncodeError::TooShort { len });
        }
        if len > self.config.max_datagram {
            return Err(EncodeError::TooLong { len });
        }
        if self.ready.take().is_some() {
            self.stats.dropped_parity += 1;
        }
        write_header(&mut datagram[offset..], self.next, TYPE_DATA);
        self.next = self.advance(self.next, 1);
        let shard = &mut datagram[offset + HEADER_LEN..];
        let shard_len = shard.len();
        // `shard_len <= max_datagram - offset - 6 <= u16::MAX`, checked in `new`.
        shard[..2].copy_from_slice(&(shard_len as u16).to_le_bytes());
        let shard = &*shard;

        let i = self.collected;
        let start = offset + HEADER_LEN;
        self.fold.add(
            &self.codec,
            i,
            shard,
            self.shard_len,
            &mut self.parity,
            start,
        );
        self.shard_len = if i == 0 {
            shard_len
        } else {
            self.shard_len.max(shard_len)
        };
        self.collected += 1;
        self.stats.data += 1;

        let idle = match (self.config.parity_idle_limit_ms, self.last_data_ms) {
            (Some(limit), Some(prev)) => {
                let gap = now_ms.wrapping_sub(prev);
                gap < 1 << 31 && gap >= limit
            }
            _ => false,
        };
        self.last_data_ms = Some(now_ms);
        if self.collected < self.config.shards.data() {
            return Ok(false);
        }
        self.collected = 0;
        // The parity seqids are taken now, whether or not the parity is ever sent.
        let first = self.next;
        self.next = self.advance(self.next, self.config.shards.parity() as u32);
        if idle {
            self.stats.suppressed_groups += 1;
            return Ok(false);
        }
        self.ready = Some(first);
        Ok(true)
    }

    /// Hands out the parity datagrams of the group the last
    /// [`encode_data`](Self::encode_data) completed, in seqid order; does nothing when no
    /// parity is pending. Encrypt each in place and send it (or copy it) in the callback.
    pub fn flush_parity<F>(&mut self, mut parity: F)
    where
        F: FnMut(ParityDatagram<'_>),
    {
        let Some(first) = self.ready.take() else {
            return;
        };
        let offset = self.config.offset;
        let start = offset + HEADER_LEN;
        let dlen = start + self.shard_len;
        self.fold.finish(&mut self.parity, start, self.shard_len);
        let mut seqid = first;
        for q in 0..self.config.shards.parity() {
            let this = seqid;
            seqid = self.advance(seqid, 1);
            let buf = &mut self.parity[q];
            write_header(&mut buf[offset..], this, TYPE_PARITY);
            self.stats.parity += 1;
            parity(ParityDatagram {
                buf: &mut buf[..dlen + self.config.tailroom],
                len: dlen,
            });
        }
    }

    /// `(seqid + by) mod paws`, for `seqid < paws` and `by <= 256` (far below `paws`).
    #[inline]
    fn advance(&self, seqid: u32, by: u32) -> u32 {
        let next = u64::from(seqid) + u64::from(by);
        let paws = u64::from(self.paws);
        (if next >= paws { next - paws } else { next }) as u32
    }
}
