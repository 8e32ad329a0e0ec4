//! How the encoder folds each data shard into the parity of its group as it passes.
//!
//! - With a SIMD kernel, straight into the parity datagram buffers: one multiply-XOR pass
//!   over the shard per four parity shards.
//! - With the portable kernel, into interleaved lanes ([`crate::gf::lanes_mul`]): one table
//!   lookup per data byte yields its products for up to four parity shards, where
//!   separate passes would cost a lookup per parity shard. The lanes are split into the
//!   parity datagrams once the group is complete.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use crate::codec::Codec;
use crate::gf::{Kernel, LaneTable, lanes_mul, lanes_split, lanes_words};

/// Lane tables (1 KB each, one per data shard and group of four parity shards) are built
/// once per encoder up to this many; larger codes build each one when it is used.
const CACHED_TABLES: usize = 64;

/// Runs `$body` with `$outs` bound to the 1 to 4 buffers of the slice `$bufs`, each cut
/// to `$range`, as an array: the kernels take `[&mut [u8]; N]` and serve all of them in
/// one pass.
macro_rules! with_slices {
    ($bufs:expr, $range:expr, |$outs:ident| $body:expr) => {{
        let r = $range;
        match $bufs {
            [a] => {
                let $outs = [&mut a[r]];
                $body
            }
            [a, b] => {
                let $outs = [&mut a[r.clone()], &mut b[r]];
                $body
            }
            [a, b, c] => {
                let $outs = [&mut a[r.clone()], &mut b[r.clone()], &mut c[r]];
                $body
            }
            [a, b, c, d] => {
                let $outs = [
                    &mut a[r.clone()],
                    &mut b[r.clone()],
                    &mut c[r.clone()],
                    &mut d[r],
                ];
                $body
            }
            // `chunks_mut(4)` never yields an empty or longer chunk.
            _ => {}
        }
    }};
}

/// Parity accumulation for one encoder.
#[derive(Debug)]
pub(crate) enum Fold {
    /// In place, in the parity datagram buffers.
    Planar,
    /// In interleaved lanes, for the portable kernel.
    Lanes(Box<Lanes>),
}

#[derive(Debug)]
pub(crate) struct Lanes {
    /// One accumulator per group of four parity shards, `lanes_words(max_shard)` words.
    acc: Vec<Vec<u64>>,
    /// The table of data shard `i` and lane group `g` at `i * acc.len() + g`, or empty if
    /// the code needs more than [`CACHED_TABLES`].
    tables: Vec<LaneTable>,
    /// Where an uncached table is built.
    scratch: LaneTable,
}

impl Fold {
    /// The accumulation that suits `codec`'s kernel, for shards up to `max_shard` bytes.
    /// Allocates.
    pub(crate) fn new(codec: &Codec, max_shard: usize) -> Fold {
        if codec.gf().kernel() != Kernel::Portable {
            return Fold::Planar;
        }
        let shards = codec.shards();
        let (k, groups) = (shards.data(), shards.parity().div_ceil(4));
        let tables = if k * groups <= CACHED_TABLES {
            (0..k * groups)
                .map(|t| LaneTable::new(&coefficients(codec, t / groups, t % groups)))
                .collect()
        } else {
            Vec::new()
        };
        Fold::Lanes(Box::new(Lanes {
            acc: vec![vec![0u64; lanes_words(max_shard)]; groups],
            tables,
            scratch: LaneTable::new(&[]),
        }))
    }

    /// Folds data shard `i` of the current group into the parity. `prev_len` is the
    /// longest shard folded into this group so far (ignored for `i == 0`); shorter shards
    /// count as zero-padded. Planar parity goes to `parity[q][start..]`.
    pub(crate) fn add(
        &mut self,
        codec: &Codec,
        i: usize,
        shard: &[u8],
        prev_len: usize,
        parity: &mut [Vec<u8>],
        start: usize,
    ) {
        let len = shard.len();
        match self {
            Fold::Planar => {
                let gf = codec.gf();
                for (g, bufs) in parity.chunks_mut(4).enumerate() {
                    if i > 0 && len > prev_len {
                        for b in bufs.iter_mut() {
                            b[start + prev_len..start + len].fill(0);
                        }
                    }
                    with_slices!(bufs, start..start + len, |outs| {
                        let c = core::array::from_fn(|k| codec.coefficient(4 * g + k, i));
                        gf.mul_many(i > 0, c, shard, outs);
                    });
                }
            }
            Fold::Lanes(l) => {
                let groups = l.acc.len();
                let words = lanes_words(len);
                for (g, acc) in l.acc.iter_mut().enumerate() {
                    let table = match l.tables.get(i * groups + g) {
                        Some(t) => t,
                        None => {
                            l.scratch = LaneTable::new(&coefficients(codec, i, g));
                            &l.scratch
                        }
                    };
                    if i == 0 {
                        lanes_mul::<false>(table, shard, &mut acc[..words]);
                        continue;
                    }
                    if len > prev_len {
                        // Positions prev_len.. were never written in this group.
                        if prev_len % 2 == 1 {
                            acc[prev_len / 2] &= 0xFFFF_FFFF;
                        }
                        acc[prev_len.div_ceil(2)..words].fill(0);
                    }
                    lanes_mul::<true>(table, shard, &mut acc[..words]);
                }
            }
        }
    }

    /// Makes the parity of a complete group final in `parity[q][start..start + len]`
    /// (`len`: the group's longest shard). Planar parity is final already.
    pub(crate) fn finish(&self, parity: &mut [Vec<u8>], start: usize, len: usize) {
        let Fold::Lanes(l) = self else {
            return;
        };
        for (acc, bufs) in l.acc.iter().zip(parity.chunks_mut(4)) {
            with_slices!(bufs, start..start + len, |outs| lanes_split(acc, outs));
        }
    }
}

/// The coefficients of data shard `i` in parity shards `4 g .. 4 g + 4` (0 past the last).
fn coefficients(codec: &Codec, i: usize, g: usize) -> [u8; 4] {
    let m = codec.shards().parity();
    core::array::from_fn(|lane| {
        let q = 4 * g + lane;
        if q < m { codec.coefficient(q, i) } else { 0 }
    })
}
