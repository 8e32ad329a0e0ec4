//! The NEON kernel (aarch64): the split-nibble method with `tbl`, 16 bytes at a time.
//! `c * x` is `low[x & 15] ^ high[x >> 4]`. One input goes to `N` outputs per pass, so
//! the input is loaded and split once. This module is compiled only for aarch64 targets
//! whose baseline includes NEON (`target_feature = "neon"`), so no run-time check is
//! needed.

use core::arch::aarch64::{
    uint8x16_t, vandq_u8, vdupq_n_u8, veorq_u8, vld1q_u8, vqtbl1q_u8, vshrq_n_u8, vst1q_u8,
};

split_nibble_kernel!("neon", mul_neon, block, vld1q_u8, 16, vdupq_n_u8(0));

/// One 16-byte block of [`mul_neon`].
///
/// # Safety
/// `input` must be valid for reading 16 bytes, each of `outs` for reading and writing 16
/// bytes, and none of them may overlap another.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block<const XOR: bool, const N: usize>(
    low: &[uint8x16_t; N],
    high: &[uint8x16_t; N],
    input: *const u8,
    outs: [*mut u8; N],
) {
    let mask = vdupq_n_u8(0x0f);
    // SAFETY: the caller guarantees 16 readable bytes at `input`.
    let x = unsafe { vld1q_u8(input) };
    let lo = vandq_u8(x, mask);
    let hi = vshrq_n_u8::<4>(x);
    for k in 0..N {
        let mut p = veorq_u8(vqtbl1q_u8(low[k], lo), vqtbl1q_u8(high[k], hi));
        if XOR {
            // SAFETY: the caller guarantees 16 readable bytes at `outs[k]`.
            p = veorq_u8(p, unsafe { vld1q_u8(outs[k]) });
        }
        // SAFETY: the caller guarantees 16 writable bytes at `outs[k]`.
        unsafe { vst1q_u8(outs[k], p) };
    }
}
