//! Shard counts and the sequence-id arithmetic that follows from them.

use crate::error::ConfigError;

/// The most shards (data + parity) one group may have: Reed-Solomon over GF(2^8).
pub const MAX_TOTAL_SHARDS: usize = 256;

/// A validated pair of shard counts: `data` data packets are followed by `parity` parity
/// packets, forming a group of `data + parity` consecutive sequence ids. kcptun's defaults
/// are 10 and 3 (`--datashard 10 --parityshard 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shards {
    data: u16,
    parity: u16,
}

impl Shards {
    /// Checks `data >= 1`, `parity >= 1` and `data + parity <= 256`.
    pub const fn new(data: usize, parity: usize) -> Result<Self, ConfigError> {
        if data == 0 || parity == 0 {
            return Err(ConfigError::ZeroShards);
        }
        if data > MAX_TOTAL_SHARDS || parity > MAX_TOTAL_SHARDS || data + parity > MAX_TOTAL_SHARDS
        {
            return Err(ConfigError::TooManyShards);
        }
        Ok(Shards {
            data: data as u16,
            parity: parity as u16,
        })
    }

    /// Data shards per group.
    pub const fn data(self) -> usize {
        self.data as usize
    }

    /// Parity shards per group.
    pub const fn parity(self) -> usize {
        self.parity as usize
    }

    /// Shards per group (`data + parity`), kcp-go's `shardSize`.
    pub const fn total(self) -> usize {
        self.data as usize + self.parity as usize
    }

    /// kcp-go's `paws`: sequence ids live in `0..paws` and wrap to 0, so that groups stay
    /// aligned to multiples of [`total`](Self::total) across the wrap.
    /// `paws = floor(0xFFFF_FFFF / total) * total`.
    pub const fn paws(self) -> u32 {
        let n = self.total() as u32;
        u32::MAX / n * n
    }
}
