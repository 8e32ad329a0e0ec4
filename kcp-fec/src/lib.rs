//! kcp-go compatible forward error correction for KCP datagrams, `no_std` + `alloc`.
//!
//! kcp-go (and kcptun, `--datashard 10 --parityshard 3`) protects its UDP datagrams with a
//! Reed-Solomon code: every `data` datagrams form a group, followed by `parity` parity
//! datagrams, and a receiver that gets any `data` of a group's `data + parity` datagrams
//! rebuilds the lost ones without waiting for a retransmission. This crate speaks that
//! format byte for byte (kcp-go 5.6.1, and the later senders that skip parity after idle
//! gaps):
//!
//! ```text
//! [crypto header: 0, 12 or 20 bytes] seqid u32 | type u16 (0xF1 data, 0xF2 parity) | size u16 | KCP frame
//! ```
//!
//! - [`Encoder`] writes the FEC header into each outgoing datagram in place (the layer above
//!   leaves [`Encoder::header_len`] bytes of headroom) and lends out the parity datagrams of
//!   each completed group for in-place encryption.
//! - [`classify`] tells a decrypted payload's kind; [`Decoder`] returns each data packet's
//!   KCP frame at once and calls back with rebuilt frames as soon as a group can be solved.
//!   Its memory is fixed by its configuration, whatever seqids arrive, and it auto-tunes to
//!   a peer whose shard counts differ from ours.
//!
//! The generator matrix is klauspost/reedsolomon's Vandermonde-derived matrix, computed
//! here, so parity bytes equal kcp-go's (known-answer vectors from kcp-go and a test
//! against a live kcp-go peer check it); the crate depends on nothing but `cpufeatures`
//! and kcp-core (for [`MTU_LIMIT`]). The GF(2^8) arithmetic runs on the fastest
//! [`Kernel`] the CPU has, chosen at run time with no feature to enable and no C compiler:
//! AVX2 or SSSE3 on x86_64, NEON on aarch64, and a portable table-driven kernel everywhere
//! else (`no_std` targets included). Steady-state encoding and decoding allocate nothing.
//!
//! # Performance
//!
//! `scripts/bench-fec.sh` measures encoding and decoding against kcp-go 5.6.1's own
//! `BenchmarkFECEncode` / `BenchmarkFECDecode` in one run; the figures, the spread over
//! runs and the cost of a hostile peer are in the repository's `docs/fec.md`.
//!
//! # Decoder rules, and where they differ from kcp-go 5.6.1
//!
//! - **Groups, not a list.** kcp-go 5.6.1 keeps one seqid-ordered list of up to
//!   `3 x (data + parity)` packets; kcp-go 5.6.22+ keeps one set per group and drops those
//!   more than three groups behind the newest. Here a fixed number of group slots
//!   ([`DecoderConfig::groups`], default 4) is recycled: a new group takes a free slot or
//!   evicts the least recently touched group, so one packet with a far-away seqid costs
//!   one slot for a moment, never the whole window. Recently finished group ids are
//!   remembered, so stragglers (parity after a complete group) take no slot. Groups idle
//!   for 60 s are dropped as in 5.6.1.
//! - **Bounded memory.** [`DecoderConfig::memory_bound`] is a hard ceiling on the heap a
//!   decoder holds whatever it is fed (a test feeds 100,000 random-seqid packets), and
//!   [`Decoder::retained_bytes`] what it holds now: shard buffers grow to the shards they
//!   hold (kcp-go reserves an MTU per shard), so 8-byte shards take bytes, not kilobytes.
//! - **Bounded work.** Auto-tune follows a peer to at most
//!   [`DecoderConfig::auto_tune_max_total`] shards per group (32 unless the configured
//!   counts are larger; kcp-go follows to 256), and recovery spends at most
//!   [`DecoderConfig::work_per_byte`] of work per byte received: a group whose solve the
//!   received bytes did not pay for is dropped and counted
//!   ([`FecStats::over_budget`]). A peer sending groups of tiny parity shards built to
//!   force large matrix inversions costs a few times an honest datagram, not hundreds.
//! - **No double recovery.** kcp-go 5.6.1 frees a complete group and then "recovers" its
//!   data again from the parity shards arriving afterwards when there are at least as
//!   many parity as data shards (every group of a 1/1 stream). Here a finished group stays
//!   finished, so each lost frame is rebuilt once.
//! - **Auto-tune**, robust variant: when a packet's type disagrees with its position,
//!   FEC decoding pauses (as kcp-go 5.6.4+, since mislabelled shards would corrupt
//!   recovery) while the shard counts are re-detected from the last 258 packets sorted by
//!   seqid (5.6.54+); a run counts only when bounded by the other type on both sides with
//!   no gap, and the last two runs of each type must agree, so neither losses nor one
//!   stray packet can fake a period. The pause ends on any successful detection (5.6.64;
//!   earlier versions could stay paused for good) or after a long streak of packets that
//!   agree with the current counts. Groups whose shards went by during the pause are
//!   closed rather than solved, so a frame already handed on is never rebuilt again.
//! - Packets with a seqid at or beyond `paws` are kept out of FEC (kcp-go 5.6.57+).
//!
//! ```
//! use kcp_fec::{classify, Decoder, DecoderConfig, Encoder, EncoderConfig, PacketKind, Shards};
//!
//! let shards = Shards::new(2, 1)?;
//! let mut enc = Encoder::new(EncoderConfig::new(shards))?;
//! let mut dec = Decoder::new(DecoderConfig::new(shards))?;
//!
//! // Two KCP frames behind 8 bytes of headroom; the second datagram completes a group.
//! let (mut data, mut parity) = (Vec::new(), Vec::new());
//! for frame in [&b"first frame"[..], b"second"] {
//!     let mut datagram = vec![0u8; enc.header_len()];
//!     datagram.extend_from_slice(frame);
//!     enc.encode(&mut datagram, 0, |mut p| parity.push(p.datagram().to_vec()))?;
//!     data.push(datagram);
//! }
//! // Lose data 0: only data 1 and the parity arrive.
//! let mut got = Vec::new();
//! for packet in [&data[1], &parity[0]] {
//!     assert_ne!(classify(packet), PacketKind::Kcp);
//!     if let Some(frame) = dec.decode(packet, 0, |r| got.push(r.to_vec()))? {
//!         got.push(frame.to_vec());
//!     }
//! }
//! assert_eq!(got, [b"second".to_vec(), b"first frame".to_vec()]);
//! assert_eq!(dec.stats().recovered, 1);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
#![no_std]
// Unsafe code is allowed only in the SIMD kernels (`gf::x86`, `gf::neon`) and at the one
// place that calls them after the CPU check (`gf::Gf`).
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

mod autotune;
mod codec;
mod decoder;
mod encoder;
mod error;
mod fold;
mod gf;
mod matrix;
mod packet;
mod shards;

pub use decoder::{
    DEFAULT_AUTO_TUNE_MAX_TOTAL, DEFAULT_EXPIRE_MS, DEFAULT_GROUPS, DEFAULT_WORK_PER_BYTE, Decoder,
    DecoderConfig, FecStats, MAX_GROUPS,
};
pub use encoder::{
    Encoder, EncoderConfig, EncoderStats, KCP_GO_PARITY_IDLE_LIMIT_MS, ParityDatagram,
};
pub use error::{ConfigError, DecodeError, EncodeError};
pub use gf::Kernel;
pub use packet::{
    DATA_HEADER_LEN, FecPacket, HEADER_LEN, MAX_UDP_PAYLOAD, MTU_LIMIT, PacketKind, TYPE_DATA,
    TYPE_PARITY, classify,
};
pub use shards::{MAX_TOTAL_SHARDS, Shards};
