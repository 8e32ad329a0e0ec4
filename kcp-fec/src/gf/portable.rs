//! The portable kernels: safe Rust, table lookups, for every target.
//!
//! - [`mul`]: one input into one output through the 256 products of the coefficient (built
//!   per call from the nibble tables, 256 XORs).
//! - [`LaneTable`] / [`lanes_mul`]: one input into up to four outputs at once. Entry `x`
//!   of the table packs `c0 * x | c1 * x << 8 | c2 * x << 16 | c3 * x << 24`, so a single
//!   lookup per input byte serves every output, and the outputs accumulate interleaved in
//!   `u32` lanes (split again by [`lanes_split`] once a group is complete). This is what
//!   makes the portable encoder fast: a 10+3 group costs one lookup per data byte instead of
//!   three.

use super::tables::{NIBBLES, mul_nibbles, row};

/// Below this length the 256-byte product row costs more than it saves.
const ROW_MIN: usize = 64;

/// `out = c * input` (`XOR = false`) or `out ^= c * input` (`XOR = true`), over the
/// shorter of the two lengths.
pub(crate) fn mul<const XOR: bool>(c: u8, input: &[u8], out: &mut [u8]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    if n < ROW_MIN {
        tail::<XOR>(c, input, out);
        return;
    }
    let row = row(c);
    let mut ins = input.chunks_exact(8);
    let mut outs = out.chunks_exact_mut(8);
    for (i, o) in (&mut ins).zip(&mut outs) {
        let mut p = [0u8; 8];
        for (p, &x) in p.iter_mut().zip(i) {
            *p = row[usize::from(x)];
        }
        let mut p = u64::from_ne_bytes(p);
        if XOR {
            p ^= u64::from_ne_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]);
        }
        o.copy_from_slice(&p.to_ne_bytes());
    }
    for (o, &x) in outs.into_remainder().iter_mut().zip(ins.remainder()) {
        let p = row[usize::from(x)];
        *o = if XOR { *o ^ p } else { p };
    }
}

/// [`mul`] byte by byte through the nibble tables: for short slices and the tails the
/// SIMD kernels leave.
pub(crate) fn tail<const XOR: bool>(c: u8, input: &[u8], out: &mut [u8]) {
    let t = &NIBBLES[usize::from(c)];
    for (o, &x) in out.iter_mut().zip(input) {
        let p = mul_nibbles(t, x);
        *o = if XOR { *o ^ p } else { p };
    }
}

/// The products of one input byte with up to four coefficients, packed in lanes: entry
/// `x` is `c[0] * x | c[1] * x << 8 | c[2] * x << 16 | c[3] * x << 24` (missing
/// coefficients count as 0). 1 KB.
#[derive(Clone, Debug)]
pub(crate) struct LaneTable(pub(crate) [u32; 256]);

impl LaneTable {
    /// The table for `coefs` (at most four; the rest are ignored).
    pub(crate) fn new(coefs: &[u8]) -> LaneTable {
        let mut t = [0u32; 256];
        for (lane, &c) in coefs.iter().take(4).enumerate() {
            let row = row(c);
            for (e, &p) in t.iter_mut().zip(&row) {
                *e |= u32::from(p) << (8 * lane);
            }
        }
        LaneTable(t)
    }
}

/// The accumulator words [`lanes_mul`] needs for `len` input bytes: each `u64` holds the
/// lanes of two positions (the even one in its low half).
pub(crate) const fn lanes_words(len: usize) -> usize {
    len.div_ceil(2)
}

/// For each position `j` of `input`: lanes of `acc` at `j` `= table[input[j]]`
/// (`XOR = false`) or `^= table[input[j]]`: up to four products per input byte in one
/// lookup. Covers the first [`lanes_words`]`(input.len())` words of `acc` (input beyond
/// `acc` is ignored).
pub(crate) fn lanes_mul<const XOR: bool>(table: &LaneTable, input: &[u8], acc: &mut [u64]) {
    let t = &table.0;
    let words = lanes_words(input.len()).min(acc.len());
    let (input, acc) = (&input[..input.len().min(2 * words)], &mut acc[..words]);
    let lookup = |w: u64, k: u32| {
        u64::from(t[((w >> (16 * k)) & 0xff) as usize])
            | u64::from(t[((w >> (16 * k + 8)) & 0xff) as usize]) << 32
    };
    let bulk = input.len() / 8 * 8;
    let (input, rest) = input.split_at(bulk);
    let (accs, rest_acc) = acc.split_at_mut(bulk / 2);
    for (i, a) in input.chunks_exact(8).zip(accs.chunks_exact_mut(4)) {
        let w = u64::from_le_bytes([i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]]);
        for (k, a) in (0..4).zip(a) {
            *a = if XOR { *a ^ lookup(w, k) } else { lookup(w, k) };
        }
    }
    for (pair, a) in rest.chunks(2).zip(rest_acc) {
        let mut p = u64::from(t[usize::from(pair[0])]);
        if let Some(&x) = pair.get(1) {
            p |= u64::from(t[usize::from(x)]) << 32;
        }
        *a = if XOR { *a ^ p } else { p };
    }
}

/// Splits the lanes of `acc` (see [`lanes_mul`]): byte `j` of `outs[l]` becomes lane `l`
/// at position `j`, for the first `n` bytes, `n` the shortest output (at most
/// `2 * acc.len()`). One pass for all lanes.
pub(crate) fn lanes_split<const N: usize>(acc: &[u64], outs: [&mut [u8]; N]) {
    let n = outs
        .iter()
        .map(|o| o.len())
        .min()
        .unwrap_or(0)
        .min(2 * acc.len());
    let mut outs = outs.map(|o| &mut o[..n]);
    for (w, &a) in acc[..n / 2].iter().enumerate() {
        for (l, o) in (0u32..).zip(outs.iter_mut()) {
            o[2 * w] = (a >> (8 * l)) as u8;
            o[2 * w + 1] = (a >> (32 + 8 * l)) as u8;
        }
    }
    if n % 2 == 1 {
        let a = acc[n / 2];
        for (l, o) in (0u32..).zip(outs.iter_mut()) {
            o[n - 1] = (a >> (8 * l)) as u8;
        }
    }
}
