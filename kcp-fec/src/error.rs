//! Typed errors of configuration, encoding and decoding.

use core::fmt;

/// Why a shard count or an encoder/decoder configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// `data_shards` or `parity_shards` is 0. kcp-go turns FEC off in that case; so should
    /// the caller (no encoder, and a decoder only once FEC packets arrive).
    ZeroShards,
    /// `data_shards + parity_shards` exceeds [`MAX_TOTAL_SHARDS`](crate::MAX_TOTAL_SHARDS),
    /// the limit of a Reed-Solomon code over GF(2^8), or
    /// [`DecoderConfig::auto_tune_max_total`](crate::DecoderConfig::auto_tune_max_total) is
    /// outside 2..=256.
    TooManyShards,
    /// The datagram size limit cannot hold the headers, or lets the size field overflow.
    BadSizeLimit,
    /// The decoder was asked to keep no group, or more than
    /// [`MAX_GROUPS`](crate::MAX_GROUPS).
    BadGroupCount,
    /// The configuration names a GF(2^8) [`Kernel`](crate::Kernel) this CPU or build
    /// cannot run (see [`Kernel::is_available`](crate::Kernel::is_available)).
    KernelUnavailable,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroShards => "data and parity shard counts must both be at least 1",
            ConfigError::TooManyShards => "more than 256 shards in a Reed-Solomon group",
            ConfigError::BadSizeLimit => {
                "datagram size limit too small for the headers or too large for the size field"
            }
            ConfigError::BadGroupCount => "decoder group count out of range",
            ConfigError::KernelUnavailable => "the chosen GF(2^8) kernel cannot run on this CPU",
        })
    }
}

impl core::error::Error for ConfigError {}

/// Why [`Encoder::encode`](crate::Encoder::encode) refused a datagram. Nothing was written
/// and no sequence id was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The datagram is shorter than the crypto header plus the 8-byte FEC header.
    TooShort {
        /// Length of the refused datagram.
        len: usize,
    },
    /// The datagram is longer than the encoder's `max_datagram`.
    TooLong {
        /// Length of the refused datagram.
        len: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooShort { len } => {
                write!(f, "datagram of {len} bytes has no room for the FEC header")
            }
            EncodeError::TooLong { len } => {
                write!(f, "datagram of {len} bytes exceeds the FEC size limit")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why [`Decoder::decode`](crate::Decoder::decode) or
/// [`FecPacket::new_checked`](crate::FecPacket::new_checked) refused a packet. The caller
/// drops it; kcp-go counts the first two as `InErrs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet is not FEC-framed: its type field is neither 0xF1 nor 0xF2 (or it is
    /// shorter than 6 bytes). [`classify`](crate::classify) first to avoid this.
    NotFec,
    /// An FEC packet shorter than the 8 bytes of seqid, type and size.
    Truncated {
        /// Length of the refused packet.
        len: usize,
    },
    /// A packet longer than the decoder's `max_packet` (kcp-go never reads more than 1500
    /// bytes of a datagram).
    TooLong {
        /// Length of the refused packet.
        len: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotFec => f.write_str("packet is not FEC-framed"),
            DecodeError::Truncated { len } => {
                write!(
                    f,
                    "FEC packet of {len} bytes is shorter than its 8-byte header"
                )
            }
            DecodeError::TooLong { len } => {
                write!(f, "FEC packet of {len} bytes exceeds the size limit")
            }
        }
    }
}

impl core::error::Error for DecodeError {}
