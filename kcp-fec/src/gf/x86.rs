//! SSSE3 and AVX2 kernels (x86_64): the split-nibble method. `c * x` is
//! `low[x & 15] ^ high[x >> 4]`, and `pshufb` looks up 16 (SSSE3) or 32 (AVX2) bytes in a
//! 16-entry table at once. One input goes to `N` outputs per pass (the encoder folds a data
//! shard into up to four parity shards), so the input is loaded and split once.
//!
//! Each kernel is a `#[target_feature]` function; [`super::Gf`] calls it only after
//! `cpufeatures` found the feature on this CPU. Loads and stores are unaligned, so any
//! slice works; the last partial block goes through zero-padded copies on the stack.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_setzero_si128,
    _mm_shuffle_epi8, _mm_srli_epi64, _mm_storeu_si128, _mm_xor_si128, _mm256_and_si256,
    _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_srli_epi64, _mm256_storeu_si256, _mm256_xor_si256,
};

use super::tables::NIBBLES;

/// `outs[k] = c[k] * input` (`XOR = false`) or `outs[k] ^= c[k] * input`, over the
/// shortest of the lengths.
#[target_feature(enable = "ssse3")]
pub(super) fn mul_ssse3<const XOR: bool, const N: usize>(
    c: [u8; N],
    input: &[u8],
    outs: [&mut [u8]; N],
) {
    let n = outs.iter().fold(input.len(), |n, o| n.min(o.len()));
    let mut outs = outs.map(|o| &mut o[..n]);
    let (mut low, mut high) = ([_mm_setzero_si128(); N], [_mm_setzero_si128(); N]);
    for k in 0..N {
        let t = &NIBBLES[usize::from(c[k])];
        // SAFETY: `t` holds 32 bytes, so both 16-byte unaligned loads stay inside it.
        unsafe {
            low[k] = _mm_loadu_si128(t.as_ptr().cast());
            high[k] = _mm_loadu_si128(t.as_ptr().add(16).cast());
        }
    }
    let bulk = n / 16 * 16;
    let ptrs = outs.each_mut().map(|o| o.as_mut_ptr());
    for off in (0..bulk).step_by(16) {
        // SAFETY: `off + 16 <= bulk <= n`, and the input and every output hold `n` bytes.
        unsafe {
            block_ssse3::<XOR, N>(
                &low,
                &high,
                input.as_ptr().add(off),
                ptrs.map(|p| p.add(off)),
            );
        }
    }
    if bulk < n {
        let (mut bi, mut bo) = ([0u8; 16], [[0u8; 16]; N]);
        bi[..n - bulk].copy_from_slice(&input[bulk..n]);
        for (b, o) in bo.iter_mut().zip(&outs) {
            b[..n - bulk].copy_from_slice(&o[bulk..]);
        }
        // SAFETY: the stack blocks hold exactly 16 bytes each.
        unsafe {
            block_ssse3::<XOR, N>(
                &low,
                &high,
                bi.as_ptr(),
                bo.each_mut().map(|b| b.as_mut_ptr()),
            );
        };
        for (b, o) in bo.iter().zip(&mut outs) {
            o[bulk..].copy_from_slice(&b[..n - bulk]);
        }
    }
}

/// One 16-byte block of [`mul_ssse3`].
///
/// # Safety
/// `input` must be valid for reading 16 bytes, each of `outs` for reading and writing 16
/// bytes, and none of them may overlap another.
#[inline]
#[target_feature(enable = "ssse3")]
unsafe fn block_ssse3<const XOR: bool, const N: usize>(
    low: &[__m128i; N],
    high: &[__m128i; N],
    input: *const u8,
    outs: [*mut u8; N],
) {
    let mask = _mm_set1_epi8(0x0f);
    // SAFETY: the caller guarantees 16 readable bytes at `input`.
    let x = unsafe { _mm_loadu_si128(input.cast()) };
    let lo = _mm_and_si128(x, mask);
    let hi = _mm_and_si128(_mm_srli_epi64::<4>(x), mask);
    for k in 0..N {
        let mut p = _mm_xor_si128(_mm_shuffle_epi8(low[k], lo), _mm_shuffle_epi8(high[k], hi));
        if XOR {
            // SAFETY: the caller guarantees 16 readable bytes at `outs[k]`.
            p = _mm_xor_si128(p, unsafe { _mm_loadu_si128(outs[k].cast()) });
        }
        // SAFETY: the caller guarantees 16 writable bytes at `outs[k]`.
        unsafe { _mm_storeu_si128(outs[k].cast(), p) };
    }
}

/// `outs[k] = c[k] * input` (`XOR = false`) or `outs[k] ^= c[k] * input`, over the
/// shortest of the lengths.
#[target_feature(enable = "avx2")]
pub(super) fn mul_avx2<const XOR: bool, const N: usize>(
    c: [u8; N],
    input: &[u8],
    outs: [&mut [u8]; N],
) {
    let n = outs.iter().fold(input.len(), |n, o| n.min(o.len()));
    let mut outs = outs.map(|o| &mut o[..n]);
    let (mut low, mut high) = ([_mm256_setzero_si256(); N], [_mm256_setzero_si256(); N]);
    for k in 0..N {
        let t = &NIBBLES[usize::from(c[k])];
        // SAFETY: `t` holds 32 bytes, so both 16-byte unaligned loads stay inside it.
        unsafe {
            low[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast()));
            high[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().add(16).cast()));
        }
    }
    let bulk = n / 32 * 32;
    let ptrs = outs.each_mut().map(|o| o.as_mut_ptr());
    for off in (0..bulk).step_by(32) {
        // SAFETY: `off + 32 <= bulk <= n`, and the input and every output hold `n` bytes.
        unsafe {
            block_avx2::<XOR, N>(
                &low,
                &high,
                input.as_ptr().add(off),
                ptrs.map(|p| p.add(off)),
            );
        }
    }
    if bulk < n {
        let (mut bi, mut bo) = ([0u8; 32], [[0u8; 32]; N]);
        bi[..n - bulk].copy_from_slice(&input[bulk..n]);
        for (b, o) in bo.iter_mut().zip(&outs) {
            b[..n - bulk].copy_from_slice(&o[bulk..]);
        }
        // SAFETY: the stack blocks hold exactly 32 bytes each.
        unsafe {
            block_avx2::<XOR, N>(
                &low,
                &high,
                bi.as_ptr(),
                bo.each_mut().map(|b| b.as_mut_ptr()),
            );
        };
        for (b, o) in bo.iter().zip(&mut outs) {
            o[bulk..].copy_from_slice(&b[..n - bulk]);
        }
    }
}

/// One 32-byte block of [`mul_avx2`].
///
/// # Safety
/// `input` must be valid for reading 32 bytes, each of `outs` for reading and writing 32
/// bytes, and none of them may overlap another.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2<const XOR: bool, const N: usize>(
    low: &[__m256i; N],
    high: &[__m256i; N],
    input: *const u8,
    outs: [*mut u8; N],
) {
    let mask = _mm256_set1_epi8(0x0f);
    // SAFETY: the caller guarantees 32 readable bytes at `input`.
    let x = unsafe { _mm256_loadu_si256(input.cast()) };
    let lo = _mm256_and_si256(x, mask);
    let hi = _mm256_and_si256(_mm256_srli_epi64::<4>(x), mask);
    for k in 0..N {
        let mut p = _mm256_xor_si256(
            _mm256_shuffle_epi8(low[k], lo),
            _mm256_shuffle_epi8(high[k], hi),
        );
        if XOR {
            // SAFETY: the caller guarantees 32 readable bytes at `outs[k]`.
            p = _mm256_xor_si256(p, unsafe { _mm256_loadu_si256(outs[k].cast()) });
        }
        // SAFETY: the caller guarantees 32 writable bytes at `outs[k]`.
        unsafe { _mm256_storeu_si256(outs[k].cast(), p) };
    }
}
