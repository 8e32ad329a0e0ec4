//! Matrices over GF(2^8): kcp-go's generator matrix, and the Gauss-Jordan inversion that
//! both building it and recovering lost shards need.
//!
//! The generator is klauspost/reedsolomon's (kcp-go's code):
//! the `(data + parity) x data` Vandermonde matrix `V[r][c] = r^c` (with `0^0 = 1`),
//! multiplied by the inverse of its top `data x data` square, so that the top becomes the
//! identity (the code is systematic) and any `data` rows stay invertible. Its bottom
//! `parity` rows are the coefficients of each data shard in each parity shard.

use alloc::vec;
use alloc::vec::Vec;

use crate::gf::Gf;
use crate::gf::tables::{NIBBLES, mul_nibbles};
use crate::shards::Shards;

/// Why an inversion failed: a column with no nonzero pivot (only possible with
/// inconsistent input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Singular;

/// `a * b` in GF(2^8) (two table lookups).
#[inline]
pub(crate) fn mul(a: u8, b: u8) -> u8 {
    mul_nibbles(&NIBBLES[usize::from(a)], b)
}

/// `1 / a` for `a != 0`: `a^254`, since `a^255 = 1`.
pub(crate) fn inv(a: u8) -> u8 {
    debug_assert!(a != 0);
    // 254 = 0b1111_1110: square and multiply.
    let (mut result, mut base, mut e) = (1u8, a, 254u32);
    while e != 0 {
        if e & 1 != 0 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

/// `a^n` with `0^0 = 1`, as klauspost's `galExp`.
fn pow(a: u8, n: usize) -> u8 {
    let mut result = 1u8;
    for _ in 0..n {
        result = mul(result, a);
    }
    result
}

/// Gauss-Jordan elimination on the `r x w` row-major matrix `a` (`w >= r`): on success
/// its left `r x r` square is the identity, and whatever was to its right has been
/// multiplied by that square's inverse (so `[E | I]` becomes `[I | E^-1]`).
///
/// Row operations run on the GF(2^8) kernel `gf` over whole rows: `r` pivots times `r`
/// rows of at most `w` multiply-adds, under `r^2 w` byte operations. `pivot` is scratch space
/// (resized to `w`; allocates only if it never held `w` bytes).
pub(crate) fn gauss_jordan(
    gf: Gf,
    a: &mut [u8],
    r: usize,
    w: usize,
    pivot: &mut Vec<u8>,
) -> Result<(), Singular> {
    debug_assert!(w >= r && a.len() >= r * w);
    pivot.resize(w, 0);
    for col in 0..r {
        let p = (col..r)
            .find(|&row| a[row * w + col] != 0)
            .ok_or(Singular)?;
        if p != col {
            for c in 0..w {
                a.swap(p * w + c, col * w + c);
            }
        }
        let scale = inv(a[col * w + col]);
        for v in &mut a[col * w..(col + 1) * w] {
            *v = mul(scale, *v);
        }
        // Columns left of `col` are zero in the pivot row: only the rest is added.
        let tail = w - col;
        pivot[..tail].copy_from_slice(&a[col * w + col..(col + 1) * w]);
        for row in 0..r {
            let factor = a[row * w + col];
            if row == col || factor == 0 {
                continue;
            }
            gf.mul_xor(factor, &pivot[..tail], &mut a[row * w + col..(row + 1) * w]);
        }
    }
    Ok(())
}

/// The `parity x data` parity rows of kcp-go's generator matrix for `shards`, row-major.
/// Costs about `data^3` operations and `data^2` bytes of scratch space: run once per
/// codec.
pub(crate) fn parity_rows(shards: Shards, gf: Gf) -> Vec<u8> {
    let (k, m) = (shards.data(), shards.parity());
    // [T | I] with T the Vandermonde top (rows 0..k), inverted in place.
    let w = 2 * k;
    let mut top = vec![0u8; k * w];
    for row in 0..k {
        for c in 0..k {
            top[row * w + c] = pow(row as u8, c);
        }
        top[row * w + k + row] = 1;
    }
    let mut scratch = Vec::new();
    if gauss_jordan(gf, &mut top, k, w, &mut scratch).is_err() {
        // Distinct rows of a Vandermonde matrix are independent (row < 256).
        unreachable!("Vandermonde top of {k} rows is singular");
    }
    // Parity row q = V[k + q] * T^-1.
    let mut rows = vec![0u8; m * k];
    for q in 0..m {
        let out = &mut rows[q * k..(q + 1) * k];
        for c in 0..k {
            // V[k + q][c] times row c of T^-1.
            let v = pow((k + q) as u8, c);
            gf.mul_xor(v, &top[c * w + k..(c + 1) * w], out);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gf::tables;

    fn portable() -> Gf {
        Gf::new(crate::Kernel::Portable).unwrap()
    }

    #[test]
    fn scalar_arithmetic() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), tables::mul(a, b), "{a} * {b}");
            }
            if a != 0 {
                assert_eq!(mul(a, inv(a)), 1, "1 / {a}");
            }
        }
        // x * x^7 wraps through the polynomial 0x11D.
        assert_eq!(mul(2, 0x80), 0x1d);
    }

    #[test]
    fn inverts_and_refuses_singular() {
        let gf = portable();
        // [[1, 1], [1, 0]] over GF(2^8) (XOR addition) has inverse [[0, 1], [1, 1]].
        let mut a = vec![1, 1, 1, 0, 1, 0, 0, 1];
        gauss_jordan(gf, &mut a, 2, 4, &mut Vec::new()).unwrap();
        assert_eq!(a, [1, 0, 0, 1, 0, 1, 1, 1]);
        let mut b = vec![3, 6, 1, 2];
        assert_eq!(
            gauss_jordan(gf, &mut b, 2, 2, &mut Vec::new()),
            Err(Singular)
        );
    }
}
