//! SSSE3 and AVX2 kernels (x86_64): the split-nibble method. `c * x` is
//! `low[x & 15] ^ high[x >> 4]`, and `pshufb` looks up 16 (SSSE3) or 32 (AVX2) bytes in a
//! 16-entry table at once. One input goes to `N` outputs per pass (the encoder folds a data
//! shard into up to four parity shards), so the input is loaded and split once.
//!
//! Each kernel is a `#[target_feature]` function (its driver comes from
//! `split_nibble_kernel!`); [`super::Gf`] calls it only after `cpufeatures` found the
//! feature on this CPU. Loads and stores are unaligned, so any slice works.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_setzero_si128,
    _mm_shuffle_epi8, _mm_srli_epi64, _mm_storeu_si128, _mm_xor_si128, _mm256_and_si256,
    _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_srli_epi64, _mm256_storeu_si256, _mm256_xor_si256,
};

split_nibble_kernel!(
    "ssse3",
    mul_ssse3,
    block_ssse3,
    table_ssse3,
    16,
    _mm_setzero_si128()
);

/// One 16-entry table.
///
/// # Safety
/// `t` must be valid for reading 16 bytes.
#[inline]
#[target_feature(enable = "ssse3")]
unsafe fn table_ssse3(t: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 16 readable bytes; unaligned loads are allowed.
    unsafe { _mm_loadu_si128(t.cast()) }
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

split_nibble_kernel!(
    "avx2",
    mul_avx2,
    block_avx2,
    table_avx2,
    32,
    _mm256_setzero_si256()
);

/// One 16-entry table, in both 128-bit lanes.
///
/// # Safety
/// `t` must be valid for reading 16 bytes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn table_avx2(t: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes; unaligned loads are allowed.
    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(t.cast())) }
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
