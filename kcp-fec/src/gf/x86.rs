//! SSSE3 and AVX2 kernels (x86_64): the split-nibble method. `c * x` is
//! `low[x & 15] ^ high[x >> 4]`, and `pshufb` looks up 16 (SSSE3) or 32 (AVX2) bytes in a
//! 16-entry table at once.
//!
//! Each kernel is a `#[target_feature]` function; [`super::Gf`] calls it only after
//! `cpufeatures` found the feature on this CPU. Loads and stores are unaligned, so any
//! slice works; the last partial block goes through a zero-padded copy on the stack.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_shuffle_epi8,
    _mm_srli_epi64, _mm_storeu_si128, _mm_xor_si128, _mm256_and_si256, _mm256_broadcastsi128_si256,
    _mm256_loadu_si256, _mm256_set1_epi8, _mm256_shuffle_epi8, _mm256_srli_epi64,
    _mm256_storeu_si256, _mm256_xor_si256,
};

use super::tables::NIBBLES;

/// `out = c * input` (`XOR = false`) or `out ^= c * input`, over the shorter length.
#[target_feature(enable = "ssse3")]
pub(super) fn mul_ssse3<const XOR: bool>(c: u8, input: &[u8], out: &mut [u8]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    let t = &NIBBLES[usize::from(c)];
    // SAFETY: `t` holds 32 bytes, so both 16-byte unaligned loads stay inside it.
    let (low, high) = unsafe {
        (
            _mm_loadu_si128(t.as_ptr().cast()),
            _mm_loadu_si128(t.as_ptr().add(16).cast()),
        )
    };
    let mut ins = input.chunks_exact(16);
    let mut outs = out.chunks_exact_mut(16);
    for (i, o) in (&mut ins).zip(&mut outs) {
        // SAFETY: both chunks hold exactly 16 bytes; unaligned access is allowed.
        unsafe { block_ssse3::<XOR>(low, high, i.as_ptr(), o.as_mut_ptr()) };
    }
    let (i, o) = (ins.remainder(), outs.into_remainder());
    if !i.is_empty() {
        let (mut bi, mut bo) = ([0u8; 16], [0u8; 16]);
        bi[..i.len()].copy_from_slice(i);
        bo[..o.len()].copy_from_slice(o);
        // SAFETY: both stack blocks hold exactly 16 bytes.
        unsafe { block_ssse3::<XOR>(low, high, bi.as_ptr(), bo.as_mut_ptr()) };
        o.copy_from_slice(&bo[..o.len()]);
    }
}

/// One 16-byte block of [`mul_ssse3`].
///
/// # Safety
/// `input` must be valid for reading and `out` for reading and writing 16 bytes.
#[inline]
#[target_feature(enable = "ssse3")]
unsafe fn block_ssse3<const XOR: bool>(
    low: __m128i,
    high: __m128i,
    input: *const u8,
    out: *mut u8,
) {
    let mask = _mm_set1_epi8(0x0f);
    // SAFETY: the caller guarantees 16 readable bytes at `input`.
    let x = unsafe { _mm_loadu_si128(input.cast()) };
    let lo = _mm_and_si128(x, mask);
    let hi = _mm_and_si128(_mm_srli_epi64::<4>(x), mask);
    let mut p = _mm_xor_si128(_mm_shuffle_epi8(low, lo), _mm_shuffle_epi8(high, hi));
    if XOR {
        // SAFETY: the caller guarantees 16 readable bytes at `out`.
        p = _mm_xor_si128(p, unsafe { _mm_loadu_si128(out.cast()) });
    }
    // SAFETY: the caller guarantees 16 writable bytes at `out`.
    unsafe { _mm_storeu_si128(out.cast(), p) };
}

/// `out = c * input` (`XOR = false`) or `out ^= c * input`, over the shorter length.
#[target_feature(enable = "avx2")]
pub(super) fn mul_avx2<const XOR: bool>(c: u8, input: &[u8], out: &mut [u8]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    let t = &NIBBLES[usize::from(c)];
    // SAFETY: `t` holds 32 bytes, so both 16-byte unaligned loads stay inside it.
    let (low, high) = unsafe {
        (
            _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast())),
            _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().add(16).cast())),
        )
    };
    let mut ins = input.chunks_exact(32);
    let mut outs = out.chunks_exact_mut(32);
    for (i, o) in (&mut ins).zip(&mut outs) {
        // SAFETY: both chunks hold exactly 32 bytes; unaligned access is allowed.
        unsafe { block_avx2::<XOR>(low, high, i.as_ptr(), o.as_mut_ptr()) };
    }
    let (i, o) = (ins.remainder(), outs.into_remainder());
    if !i.is_empty() {
        let (mut bi, mut bo) = ([0u8; 32], [0u8; 32]);
        bi[..i.len()].copy_from_slice(i);
        bo[..o.len()].copy_from_slice(o);
        // SAFETY: both stack blocks hold exactly 32 bytes.
        unsafe { block_avx2::<XOR>(low, high, bi.as_ptr(), bo.as_mut_ptr()) };
        o.copy_from_slice(&bo[..o.len()]);
    }
}

/// One 32-byte block of [`mul_avx2`].
///
/// # Safety
/// `input` must be valid for reading and `out` for reading and writing 32 bytes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2<const XOR: bool>(low: __m256i, high: __m256i, input: *const u8, out: *mut u8) {
    let mask = _mm256_set1_epi8(0x0f);
    // SAFETY: the caller guarantees 32 readable bytes at `input`.
    let x = unsafe { _mm256_loadu_si256(input.cast()) };
    let lo = _mm256_and_si256(x, mask);
    let hi = _mm256_and_si256(_mm256_srli_epi64::<4>(x), mask);
    let mut p = _mm256_xor_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
    if XOR {
        // SAFETY: the caller guarantees 32 readable bytes at `out`.
        p = _mm256_xor_si256(p, unsafe { _mm256_loadu_si256(out.cast()) });
    }
    // SAFETY: the caller guarantees 32 writable bytes at `out`.
    unsafe { _mm256_storeu_si256(out.cast(), p) };
}
