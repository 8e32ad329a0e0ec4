//! kcp-go's Salsa20 packet cipher, with a keystream generator that computes several blocks
//! side by side: eight in AVX2 registers when the CPU has AVX2, four in SSE2 registers on
//! other x86-64 CPUs, four in plain lane arrays on other targets (the compiler does not
//! vectorise those, hence the intrinsics). One macro writes all three. The `salsa20`
//! crate computes one block at a time and took 2.8x as long on kcp-go's benchmark shape
//! (the crate docs have the figures); its output is the reference every path here is
//! tested against.

use core::fmt;

use crate::BlockCrypt;

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(cpuid_avx2, "avx2");

/// Bytes at the front of the datagram that stay in clear and serve as the Salsa20 nonce.
const SALSA_NONCE_LEN: usize = 8;

/// Bytes of keystream per Salsa20 block.
const BLOCK: usize = 64;

/// "expand 32-byte k" as four little-endian words.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Salsa20/20 as kcp-go frames it: the first 8 bytes of the datagram (half of the random
/// nonce) are the Salsa20 nonce and stay in clear; everything after them is XORed with the
/// keystream from block counter 0. The fastest real cipher on machines without AES-NI.
#[derive(Clone)]
pub struct Salsa20Crypt {
    key: [u32; 8],
    /// Whether this CPU has AVX2, detected once when the cipher is built.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

/// XORs `data` with the keystream whose `N`-byte pieces `stream(counter)` returns, from
/// block counter 0.
#[inline(always)]
fn xor_with<const N: usize>(data: &mut [u8], stream: impl Fn(u64) -> [u8; N]) {
    let mut counter = 0u64;
    for chunk in data.chunks_mut(N) {
        let keystream = stream(counter);
        for (byte, key) in chunk.iter_mut().zip(keystream.iter()) {
            *byte ^= key;
        }
        counter = counter.wrapping_add((N / BLOCK) as u64);
    }
}

impl Salsa20Crypt {
    /// Builds the cipher from a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            key: core::array::from_fn(|i| {
                u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]])
            }),
            #[cfg(target_arch = "x86_64")]
            avx2: cpuid_avx2::get(),
        }
    }

    /// XORs `data` with the keystream of `nonce` from block 0, on the widest SIMD path
    /// this CPU has.
    #[allow(unsafe_code)]
    fn xor_keystream(&self, nonce: &[u8; SALSA_NONCE_LEN], data: &mut [u8]) {
        let nonce = [
            u32::from_le_bytes([nonce[0], nonce[1], nonce[2], nonce[3]]),
            u32::from_le_bytes([nonce[4], nonce[5], nonce[6], nonce[7]]),
        ];
        let key = &self.key;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 was detected on this CPU when the cipher was built.
            return xor_with(data, |c| unsafe { avx2::keystream(key, nonce, c) });
        }
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        // SAFETY: SSE2 is enabled for the whole build (part of every x86-64 target).
        xor_with(data, |c| unsafe { sse2::keystream(key, nonce, c) });
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        xor_with(data, |c| portable::keystream(key, nonce, c));
    }

    fn apply(&self, datagram: &mut [u8]) {
        // Datagrams shorter than the nonce are left alone (newer kcp-go does the same;
        // framed datagrams are never that short).
        if let Some((nonce, rest)) = datagram.split_first_chunk_mut::<SALSA_NONCE_LEN>() {
            self.xor_keystream(nonce, rest);
        }
    }
}

/// Generates a module computing `$lanes` Salsa20 blocks at once in values of type `$vec`
/// (a SIMD register, or a plain lane array), each holding one state word of every block.
/// `$attr` goes on every function (the SIMD extension to compile for); `$import` brings
/// the operations into scope.
macro_rules! salsa_lanes {
    ($(#[$module_attr:meta])* $module:ident, [$(#[$attr:meta])*], $lanes:expr, $vec:ty,
     $import:item
     add: $add:ident, xor: $xor:ident, or: $or:ident, shl: $shl:ident, shr: $shr:ident,
     splat: $splat:ident,
     from_words: |$w:ident| $from:expr, to_words: |$v:ident| $to:expr $(,)?) => {
        #[allow(unsafe_code)]
        $(#[$module_attr])*
        pub(super) mod $module {
            $import

            use super::{BLOCK, SIGMA};

            /// Blocks computed together.
            pub(in super::super) const LANES: usize = $lanes;

            /// One register from one word per block.
            $(#[$attr])*
            #[inline]
            fn from_words($w: [u32; LANES]) -> $vec {
                $from
            }

            /// One word per block from one register.
            $(#[$attr])*
            #[inline]
            fn to_words($v: $vec) -> [u32; LANES] {
                $to
            }

            /// `x ^= (a + b) <<< L` (with `R = 32 - L`).
            $(#[$attr])*
            #[inline]
            fn mix<const L: i32, const R: i32>(x: $vec, a: $vec, b: $vec) -> $vec {
                let s = $add(a, b);
                $xor(x, $or($shl::<L>(s), $shr::<R>(s)))
            }

            $(#[$attr])*
            #[inline]
            fn quarter(x: &mut [$vec; 16], a: usize, b: usize, c: usize, d: usize) {
                x[b] = mix::<7, 25>(x[b], x[a], x[d]);
                x[c] = mix::<9, 23>(x[c], x[b], x[a]);
                x[d] = mix::<13, 19>(x[d], x[c], x[b]);
                x[a] = mix::<18, 14>(x[a], x[d], x[c]);
            }

            /// Keystream blocks `counter .. counter + LANES` for `nonce`, in order.
            ///
            /// # Safety
            /// The CPU must support the target features this module is compiled for (the
            /// portable module has none).
            $(#[$attr])*
            pub(in super::super) fn keystream(
                key: &[u32; 8],
                nonce: [u32; 2],
                counter: u64,
            ) -> [u8; LANES * BLOCK] {
                let splat = |v: u32| $splat(v as i32);
                let c: [u64; LANES] = core::array::from_fn(|i| counter.wrapping_add(i as u64));
                let input: [$vec; 16] = [
                    splat(SIGMA[0]),
                    splat(key[0]),
                    splat(key[1]),
                    splat(key[2]),
                    splat(key[3]),
                    splat(SIGMA[1]),
                    splat(nonce[0]),
                    splat(nonce[1]),
                    from_words(core::array::from_fn(|i| c[i] as u32)),
                    from_words(core::array::from_fn(|i| (c[i] >> 32) as u32)),
                    splat(SIGMA[2]),
                    splat(key[4]),
                    splat(key[5]),
                    splat(key[6]),
                    splat(key[7]),
                    splat(SIGMA[3]),
                ];
                let mut x = input;
                for _ in 0..10 {
                    quarter(&mut x, 0, 4, 8, 12);
                    quarter(&mut x, 5, 9, 13, 1);
                    quarter(&mut x, 10, 14, 2, 6);
                    quarter(&mut x, 15, 3, 7, 11);
                    quarter(&mut x, 0, 1, 2, 3);
                    quarter(&mut x, 5, 6, 7, 4);
                    quarter(&mut x, 10, 11, 8, 9);
                    quarter(&mut x, 15, 12, 13, 14);
                }
                let mut out = [0u8; LANES * BLOCK];
                for (word, (xw, iw)) in x.iter().zip(&input).enumerate() {
                    for (lane, value) in to_words($add(*xw, *iw)).iter().enumerate() {
                        let at = lane * BLOCK + 4 * word;
                        out[at..at + 4].copy_from_slice(&value.to_le_bytes());
                    }
                }
                out
            }
        }
    };
}

// Four blocks in plain lane arrays: the path for targets without the intrinsics below.
salsa_lanes!(
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
    portable, [], 4, [u32; 4],
    use super::lanes::*;
    add: add, xor: xor, or: or, shl: shl, shr: shr, splat: splat,
    from_words: |w| w,
    to_words: |v| v);

/// Lane-wise operations on four 32-bit words, shaped like the SSE2 intrinsics.
mod lanes {
    pub(super) type Lanes = [u32; 4];
    pub(super) fn add(a: Lanes, b: Lanes) -> Lanes {
        core::array::from_fn(|i| a[i].wrapping_add(b[i]))
    }
    pub(super) fn xor(a: Lanes, b: Lanes) -> Lanes {
        core::array::from_fn(|i| a[i] ^ b[i])
    }
    pub(super) fn or(a: Lanes, b: Lanes) -> Lanes {
        core::array::from_fn(|i| a[i] | b[i])
    }
    pub(super) fn shl<const L: i32>(a: Lanes) -> Lanes {
        a.map(|x| x << L)
    }
    pub(super) fn shr<const R: i32>(a: Lanes) -> Lanes {
        a.map(|x| x >> R)
    }
    pub(super) fn splat(v: i32) -> Lanes {
        [v as u32; 4]
    }
}

// Four blocks in SSE2 registers (every x86-64 CPU has SSE2).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
salsa_lanes!(sse2, [#[target_feature(enable = "sse2")]], 4, __m128i,
    use core::arch::x86_64::*;
add: _mm_add_epi32, xor: _mm_xor_si128, or: _mm_or_si128,
shl: _mm_slli_epi32, shr: _mm_srli_epi32, splat: _mm_set1_epi32,
from_words: |w| _mm_set_epi32(w[3] as i32, w[2] as i32, w[1] as i32, w[0] as i32),
to_words: |v| {
    let lo = _mm_cvtsi128_si64(v) as u64;
    let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
    [lo as u32, (lo >> 32) as u32, hi as u32, (hi >> 32) as u32]
});

// Eight blocks in AVX2 registers, when the CPU has AVX2 (detected at run time).
#[cfg(target_arch = "x86_64")]
salsa_lanes!(avx2, [#[target_feature(enable = "avx2")]], 8, __m256i,
    use core::arch::x86_64::*;
add: _mm256_add_epi32, xor: _mm256_xor_si256, or: _mm256_or_si256,
shl: _mm256_slli_epi32, shr: _mm256_srli_epi32, splat: _mm256_set1_epi32,
from_words: |w| {
    let w = w.map(|x| x as i32);
    _mm256_set_epi32(w[7], w[6], w[5], w[4], w[3], w[2], w[1], w[0])
},
to_words: |v| {
    let mut words = [0u32; 8];
    let halves = [_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v)];
    for (out, half) in words.chunks_exact_mut(4).zip(halves) {
        let lo = _mm_cvtsi128_si64(half) as u64;
        let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(half, half)) as u64;
        out.copy_from_slice(&[lo as u32, (lo >> 32) as u32, hi as u32, (hi >> 32) as u32]);
    }
    words
});

impl BlockCrypt for Salsa20Crypt {
    fn encrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }

    fn decrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }
}

impl fmt::Debug for Salsa20Crypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salsa20Crypt { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::Salsa20Crypt;
    use crate::BlockCrypt;
    use alloc::vec::Vec;
    use cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

    #[test]
    fn matches_the_salsa20_crate() {
        let mut next = crate::test_rng::bytes(0x2468_ACE0_1357_9BDFu64);
        for len in (0..700)
            .step_by(700 / crate::test_rng::trials(700))
            .chain([1500, 1520, 4096])
        {
            let key: [u8; 32] = core::array::from_fn(|_| next());
            let data: Vec<u8> = (0..len).map(|_| next()).collect();
            let mut ours = data.clone();
            Salsa20Crypt::new(&key).encrypt(&mut ours);
            let mut reference = data.clone();
            if len >= 8 {
                let nonce: [u8; 8] = data[..8].try_into().unwrap();
                salsa20::Salsa20::new(&key.into(), &nonce.into())
                    .apply_keystream(&mut reference[8..]);
            }
            assert_eq!(ours, reference, "{len} bytes");
        }
    }

    /// Every keystream path against the crate, including a block counter that carries
    /// past 32 bits (kcp-go never gets there, but the arithmetic must be right).
    #[test]
    #[allow(unsafe_code)]
    fn every_path_matches_the_crate() {
        let key = [7u8; 32];
        let words = Salsa20Crypt::new(&key).key;
        let nonce = [9u8; 8];
        for start in [0, 5, u64::from(u32::MAX) - 2] {
            let mut reference = [0u8; 512];
            let mut cipher = salsa20::Salsa20::new(&key.into(), &nonce.into());
            cipher.seek(start * 64);
            cipher.apply_keystream(&mut reference);
            let n = [u32::from_le_bytes([9; 4]); 2];
            assert_eq!(
                super::portable::keystream(&words, n, start),
                reference[..256]
            );
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY: SSE2 is part of every x86-64 target.
                let sse2 = unsafe { super::sse2::keystream(&words, n, start) };
                assert_eq!(sse2, reference[..256]);
                if super::cpuid_avx2::get() {
                    // SAFETY: AVX2 was just detected.
                    let avx2 = unsafe { super::avx2::keystream(&words, n, start) };
                    assert_eq!(avx2, reference);
                }
            }
        }
    }
}
