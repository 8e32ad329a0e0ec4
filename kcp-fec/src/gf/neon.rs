//! The NEON kernel (aarch64): the split-nibble method with `tbl`, 16 bytes at a time.
//! `c * x` is `low[x & 15] ^ high[x >> 4]`. This module is compiled only for aarch64
//! targets whose baseline includes NEON (`target_feature = "neon"`), so no run-time check
//! is needed.

use core::arch::aarch64::{
    uint8x16_t, vandq_u8, vdupq_n_u8, veorq_u8, vld1q_u8, vqtbl1q_u8, vshrq_n_u8, vst1q_u8,
};

use super::tables::NIBBLES;

/// `out = c * input` (`XOR = false`) or `out ^= c * input`, over the shorter length.
#[target_feature(enable = "neon")]
pub(super) fn mul_neon<const XOR: bool>(c: u8, input: &[u8], out: &mut [u8]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    let t = &NIBBLES[usize::from(c)];
    // SAFETY: `t` holds 32 bytes, so both 16-byte loads stay inside it.
    let (low, high) = unsafe { (vld1q_u8(t.as_ptr()), vld1q_u8(t.as_ptr().add(16))) };
    let mut ins = input.chunks_exact(16);
    let mut outs = out.chunks_exact_mut(16);
    for (i, o) in (&mut ins).zip(&mut outs) {
        // SAFETY: both chunks hold exactly 16 bytes; vld1q/vst1q need no alignment.
        unsafe { block::<XOR>(low, high, i.as_ptr(), o.as_mut_ptr()) };
    }
    let (i, o) = (ins.remainder(), outs.into_remainder());
    if !i.is_empty() {
        let (mut bi, mut bo) = ([0u8; 16], [0u8; 16]);
        bi[..i.len()].copy_from_slice(i);
        bo[..o.len()].copy_from_slice(o);
        // SAFETY: both stack blocks hold exactly 16 bytes.
        unsafe { block::<XOR>(low, high, bi.as_ptr(), bo.as_mut_ptr()) };
        o.copy_from_slice(&bo[..o.len()]);
    }
}

/// One 16-byte block of [`mul_neon`].
///
/// # Safety
/// `input` must be valid for reading and `out` for reading and writing 16 bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block<const XOR: bool>(
    low: uint8x16_t,
    high: uint8x16_t,
    input: *const u8,
    out: *mut u8,
) {
    let mask = vdupq_n_u8(0x0f);
    // SAFETY: the caller guarantees 16 readable bytes at `input`.
    let x = unsafe { vld1q_u8(input) };
    let lo = vandq_u8(x, mask);
    let hi = vshrq_n_u8::<4>(x);
    let mut p = veorq_u8(vqtbl1q_u8(low, lo), vqtbl1q_u8(high, hi));
    if XOR {
        // SAFETY: the caller guarantees 16 readable bytes at `out`.
        p = veorq_u8(p, unsafe { vld1q_u8(out) });
    }
    // SAFETY: the caller guarantees 16 writable bytes at `out`.
    unsafe { vst1q_u8(out, p) };
}
