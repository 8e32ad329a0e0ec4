//! GF(2^8) product tables, computed at compile time: the field of klauspost/reedsolomon
//! (kcp-go's code), generator polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D).

/// `a * b` in GF(2^8) with polynomial 0x11D, by shift and add (for building tables).
pub(crate) const fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    product
}

/// For each coefficient `c`, `c * n` for the 16 low nibbles `n`, then `c * (n << 4)` for
/// the 16 high nibbles: `c * x = LOW_HIGH[c][x & 15] ^ LOW_HIGH[c][16 + (x >> 4)]`, since
/// multiplication by `c` is linear over XOR. 8 KB; the SIMD kernels shuffle with its
/// halves.
pub(crate) static NIBBLES: [[u8; 32]; 256] = nibbles();

const fn nibbles() -> [[u8; 32]; 256] {
    let mut t = [[0u8; 32]; 256];
    let mut c = 0;
    while c < 256 {
        let mut n = 0;
        while n < 16 {
            t[c][n] = mul(c as u8, n as u8);
            t[c][16 + n] = mul(c as u8, (n as u8) << 4);
            n += 1;
        }
        c += 1;
    }
    t
}

/// `c * x` through the nibble tables: for tails and table building.
#[inline(always)]
pub(crate) fn mul_nibbles(t: &[u8; 32], x: u8) -> u8 {
    t[usize::from(x & 15)] ^ t[16 + usize::from(x >> 4)]
}

/// All 256 products `c * x`, indexed by `x`, built from the nibble tables in 256 XORs.
#[inline]
pub(crate) fn row(c: u8) -> [u8; 256] {
    let t = &NIBBLES[usize::from(c)];
    let mut row = [0u8; 256];
    for (h, chunk) in row.chunks_exact_mut(16).enumerate() {
        let high = t[16 + h];
        for (out, &low) in chunk.iter_mut().zip(&t[..16]) {
            *out = high ^ low;
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less product reduced modulo 0x11D, written independently of [`mul`].
    fn reference(a: u8, b: u8) -> u8 {
        let mut p = 0u16;
        for i in 0..8 {
            if (b >> i) & 1 == 1 {
                p ^= u16::from(a) << i;
            }
        }
        for i in (8..16).rev() {
            if (p >> i) & 1 == 1 {
                p ^= 0x11d << (i - 8);
            }
        }
        p as u8
    }

    #[test]
    fn tables_agree_with_the_field() {
        for c in 0..=255u8 {
            let r = row(c);
            for x in 0..=255u8 {
                let want = reference(c, x);
                assert_eq!(mul(c, x), want, "{c} * {x}");
                assert_eq!(r[usize::from(x)], want, "{c} * {x}");
                assert_eq!(mul_nibbles(&NIBBLES[usize::from(c)], x), want, "{c} * {x}");
            }
        }
    }
}
