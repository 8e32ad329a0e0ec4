//! The Reed-Solomon code: kcp-go's generator matrix ([`crate::matrix`], so parity bytes
//! match kcp-go's) and our GF(2^8) kernels ([`crate::gf`], chosen at run time), driven
//! shard by shard without allocating.
//!
//! A general Reed-Solomon library encodes whole groups (every data shard copied and padded
//! first) and caches inverted matrices (allocating on every miss: a 10+3 group has 285
//! loss patterns). Here parity is accumulated as each data shard passes by, and a loss of
//! `r` data shards is solved with an `r x r` inversion in preallocated scratch space, which
//! costs less than a cache lookup for the usual `r <= 3`.

use alloc::vec;
use alloc::vec::Vec;

use crate::gf::Gf;
use crate::matrix::{self, Singular, gauss_jordan, mul};
use crate::shards::{MAX_TOTAL_SHARDS, Shards};

/// A set of shard indices in one group (at most [`MAX_TOTAL_SHARDS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ShardSet([u64; MAX_TOTAL_SHARDS / 64]);

impl ShardSet {
    #[inline]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    #[inline]
    pub(crate) fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.0 = [0; MAX_TOTAL_SHARDS / 64];
    }
}

/// Generator matrix rows plus the scratch space decoding needs.
#[derive(Debug)]
pub(crate) struct Codec {
    shards: Shards,
    gf: Gf,
    /// Parity rows of the systematic generator matrix, `parity x data`, row-major.
    rows: Vec<u8>,
    /// `[E | I]` for the Gauss-Jordan solve, `r x 2r` with `r <= min(data, parity)`.
    solve: Vec<u8>,
    /// Per missing data shard, its coefficient on each present data shard (`r x data`).
    coef: Vec<u8>,
    /// Missing data shard indices.
    missing: Vec<usize>,
    /// Parity shard indices (relative to the first parity shard) used by the solve.
    used_parity: Vec<usize>,
    /// Present data shard indices.
    present_data: Vec<usize>,
    /// The pivot row of the solve.
    pivot: Vec<u8>,
}

impl Codec {
    /// Builds the code for `shards`, run by the kernel `gf`. Allocates; call once per
    /// encoder/decoder (and again when the decoder retunes).
    pub(crate) fn new(shards: Shards, gf: Gf) -> Codec {
        let (k, m) = (shards.data(), shards.parity());
        let rows = matrix::parity_rows(shards, gf);
        let r = k.min(m);
        Codec {
            shards,
            gf,
            rows,
            solve: vec![0; r * 2 * r],
            coef: vec![0; r * k],
            missing: Vec::with_capacity(r),
            used_parity: Vec::with_capacity(r),
            present_data: Vec::with_capacity(k),
            pivot: Vec::with_capacity(2 * r),
        }
    }

    /// The shard counts of this code.
    pub(crate) fn shards(&self) -> Shards {
        self.shards
    }

    /// The kernel this code runs.
    pub(crate) fn gf(&self) -> Gf {
        self.gf
    }

    /// The generator coefficient of data shard `data` in parity shard `parity`.
    #[inline]
    pub(crate) fn coefficient(&self, parity: usize, data: usize) -> u8 {
        self.rows[parity * self.shards.data() + data]
    }

    /// Heap bytes this codec keeps.
    pub(crate) fn retained_bytes(&self) -> usize {
        self.rows.capacity()
            + self.solve.capacity()
            + self.coef.capacity()
            + self.pivot.capacity()
            + (self.missing.capacity() + self.used_parity.capacity() + self.present_data.capacity())
                * size_of::<usize>()
    }

    /// Rebuilds the missing data shards of a group from the present ones.
    ///
    /// `shards` has one buffer per shard index; every index in `present` holds exactly
    /// `len` bytes (shorter shards zero-padded by the caller); at least
    /// `data` shards are present. The missing data shards are written with `len` bytes each
    /// (their buffers are resized, which allocates only if one never held `len` bytes
    /// before). Parity shards are not rebuilt. Returns the number of data shards rebuilt.
    pub(crate) fn reconstruct(
        &mut self,
        shards: &mut [Vec<u8>],
        present: &ShardSet,
        len: usize,
    ) -> Result<usize, Singular> {
        let (k, m) = (self.shards.data(), self.shards.parity());
        self.missing.clear();
        self.present_data.clear();
        for j in 0..k {
            if present.contains(j) {
                self.present_data.push(j);
            } else {
                self.missing.push(j);
            }
        }
        let r = self.missing.len();
        if r == 0 {
            return Ok(0);
        }
        self.used_parity.clear();
        for q in 0..m {
            if self.used_parity.len() == r {
                break;
            }
            if present.contains(k + q) {
                self.used_parity.push(q);
            }
        }
        if self.used_parity.len() < r {
            return Err(Singular);
        }
        self.invert(r)?;
        self.combine_present_data(r);

        for t in 0..r {
            let j = self.missing[t];
            let mut out = core::mem::take(&mut shards[j]);
            reserve_exact_len(&mut out, len);
            out.resize(len, 0);
            let mut first = true;
            for s in 0..r {
                let c = self.solve[t * 2 * r + r + s];
                let input = &shards[k + self.used_parity[s]][..len];
                mul_into(self.gf, c, input, &mut out, &mut first);
            }
            for (idx, &a) in self.present_data.iter().enumerate() {
                let c = self.coef[t * k + idx];
                mul_into(self.gf, c, &shards[a][..len], &mut out, &mut first);
            }
            if first {
                out.fill(0);
            }
            shards[j] = out;
        }
        Ok(r)
    }

    /// Gauss-Jordan on `[E | I]` where `E[s][t]` is the coefficient of missing data shard
    /// `t` in used parity shard `s`; leaves `E^-1` in the right half of `solve`.
    fn invert(&mut self, r: usize) -> Result<(), Singular> {
        let w = 2 * r;
        let k = self.shards.data();
        let a = &mut self.solve[..r * w];
        for s in 0..r {
            let row = &self.rows[self.used_parity[s] * k..][..k];
            for t in 0..r {
                a[s * w + t] = row[self.missing[t]];
                a[s * w + r + t] = u8::from(s == t);
            }
        }
        gauss_jordan(self.gf, a, r, w, &mut self.pivot)
    }

    /// `coef[t][idx] = sum_s E^-1[t][s] * M[used_parity[s]][present_data[idx]]`: moving
    /// the known data shards' share of each parity shard to the other side.
    fn combine_present_data(&mut self, r: usize) {
        let k = self.shards.data();
        let w = 2 * r;
        for t in 0..r {
            for (idx, &a) in self.present_data.iter().enumerate() {
                let mut acc = 0u8;
                for s in 0..r {
                    let e = self.solve[t * w + r + s];
                    acc ^= mul(e, self.rows[self.used_parity[s] * k + a]);
                }
                self.coef[t * k + idx] = acc;
            }
        }
    }
}

/// Gives `buf` room for `len` bytes without the amortized doubling of `Vec`, so that a
/// shard buffer never holds more than the longest shard it has held.
#[inline]
pub(crate) fn reserve_exact_len(buf: &mut Vec<u8>, len: usize) {
    if buf.capacity() < len {
        buf.reserve_exact(len - buf.len());
    }
}

/// `out = c * input` for the first term, `out ^= c * input` after it; zero terms skipped.
/// Both slices have the same length.
#[inline]
pub(crate) fn mul_into(gf: Gf, c: u8, input: &[u8], out: &mut [u8], first: &mut bool) {
    if c == 0 || input.is_empty() {
        return;
    }
    if *first {
        gf.mul(c, input, out);
        *first = false;
    } else {
        gf.mul_xor(c, input, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parity of equal-length `data` shards, the way the encoder folds them in.
    fn encode(codec: &Codec, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let m = codec.shards().parity();
        let len = data[0].len();
        (0..m)
            .map(|q| {
                let mut out = vec![0u8; len];
                let mut first = true;
                for (i, d) in data.iter().enumerate() {
                    mul_into(codec.gf(), codec.coefficient(q, i), d, &mut out, &mut first);
                }
                out
            })
            .collect()
    }

    /// Every kernel this CPU runs.
    fn kernels() -> Vec<Gf> {
        crate::Kernel::available().filter_map(Gf::new).collect()
    }

    #[test]
    fn spec_vector_rs_3_2() {
        for gf in kernels() {
            let codec = Codec::new(Shards::new(3, 2).unwrap(), gf);
            let data = [
                hex::decode("0102030405060708").unwrap(),
                hex::decode("1112131415161718").unwrap(),
                hex::decode("2122232425262728").unwrap(),
            ];
            let parity = encode(&codec, &data);
            let want = [
                hex::decode("3132333435363738").unwrap(),
                hex::decode("4142434445464748").unwrap(),
            ];
            assert_eq!(parity, want, "{:?}", gf.kernel());
        }
    }

    #[test]
    fn spec_vector_rs_10_3() {
        for gf in kernels() {
            let codec = Codec::new(Shards::new(10, 3).unwrap(), gf);
            let data: Vec<Vec<u8>> = (0..10u8).map(|i| (4 * i..4 * i + 4).collect()).collect();
            let parity = encode(&codec, &data);
            let want = [
                hex::decode("28292a2b").unwrap(),
                hex::decode("2c2d2e2f").unwrap(),
                hex::decode("30313233").unwrap(),
            ];
            assert_eq!(parity, want, "{:?}", gf.kernel());
        }
    }

    #[test]
    fn parity_row_for_two_data_shards_is_not_xor() {
        let codec = Codec::new(
            Shards::new(2, 1).unwrap(),
            Gf::new(crate::Kernel::Portable).unwrap(),
        );
        assert_eq!((codec.coefficient(0, 0), codec.coefficient(0, 1)), (3, 2));
    }

    /// CRC-32 of the parity rows, row-major, for shapes from 1+1 to 256 shards in total:
    /// the digests of reed-solomon-erasure 6.0.0's matrix (klauspost/reedsolomon's, which
    /// kcp-go runs), recorded when this crate stopped depending on it (our rows then
    /// equalled its rows for every shape up to 48 shards and for the larger shapes below).
    #[test]
    fn generator_matrix_known_answers() {
        let known: [(usize, usize, u32); 11] = [
            (1, 1, 0xa505_df1b),
            (2, 1, 0x84fa_2010),
            (3, 2, 0xd5a4_54d3),
            (10, 3, 0xabb9_20d0),
            (16, 16, 0xb84e_88f7),
            (20, 10, 0x05db_01cc),
            (70, 30, 0xf98c_a027),
            (128, 128, 0x76ea_80f4),
            (200, 56, 0x8d52_2162),
            (255, 1, 0x5612_65f9),
            (1, 255, 0x5612_65f9),
        ];
        for gf in kernels() {
            for (k, m, crc) in known {
                let codec = Codec::new(Shards::new(k, m).unwrap(), gf);
                assert_eq!(
                    crc32fast::hash(&codec.rows),
                    crc,
                    "{k}+{m} {:?}",
                    gf.kernel()
                );
            }
        }
    }

    proptest! {
        /// Any `data` shards of a group rebuild the lost data shards exactly, through
        /// every kernel (the parity itself is pinned by the vectors above and kcp-go's).
        #[test]
        fn rebuilds_any_recoverable_loss(
            k in 1usize..=20,
            m in 1usize..=6,
            len in 1usize..=200,
            seed in any::<u64>(),
            lost in any::<u64>(),
        ) {
            let shards = Shards::new(k, m).unwrap();
            let mut x = seed | 1;
            let mut next = || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 };
            let data: Vec<Vec<u8>> = (0..k).map(|_| (0..len).map(|_| next()).collect()).collect();

            // Lose up to m shards, chosen by the bits of `lost`, and keep exactly k.
            let n = k + m;
            let mut present = ShardSet::default();
            let mut kept = 0;
            for i in 0..n {
                let drop = (lost >> (i % 64)) & 1 == 1 && n - i > k - kept;
                if !drop && kept < k {
                    present.insert(i);
                    kept += 1;
                }
            }
            prop_assume!(kept == k);
            let mut reference = None;
            for gf in kernels() {
                let mut codec = Codec::new(shards, gf);
                let parity = encode(&codec, &data);
                if let Some(p) = &reference {
                    prop_assert_eq!(p, &parity, "{:?} parity", gf.kernel());
                }
                let mut mine: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
                reference = Some(parity);
                for (i, s) in mine.iter_mut().enumerate() {
                    if !present.contains(i) { s.clear(); }
                }
                codec.reconstruct(&mut mine, &present, len).unwrap();
                prop_assert_eq!(&mine[..k], &data[..], "{:?} recovery", gf.kernel());
            }
        }
    }
}
