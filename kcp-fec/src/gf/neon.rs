//! The NEON kernel (aarch64): the split-nibble method with `tbl`, 16 bytes at a time.
//! `c * x` is `low[x & 15] ^ high[x >> 4]`. One input goes to `N` outputs per pass, so
//! the input is loaded and split once. This module is compiled only for aarch64 targets
//! whose baseline includes NEON (`target_feature = "neon"`), so no run-time check is
//! needed.

use core::arch::aarch64::{
    uint8x16_t, vandq_u8, vdupq_n_u8, veorq_u8, vld1q_u8, vqtbl1q_u8, vshrq_n_u8, vst1q_u8,
};

use super::tables::NIBBLES;

/// `outs[k] = c[k] * input` (`XOR = false`) or `outs[k] ^= c[k] * input`, over the
/// shortest of the lengths.
#[target_feature(enable = "neon")]
pub(super) fn mul_neon<const XOR: bool, const N: usize>(
    c: [u8; N],
    input: &[u8],
    outs: [&mut [u8]; N],
) {
    let n = outs.iter().fold(input.len(), |n, o| n.min(o.len()));
    let mut outs = outs.map(|o| &mut o[..n]);
    let (mut low, mut high) = ([vdupq_n_u8(0); N], [vdupq_n_u8(0); N]);
    for k in 0..N {
        let t = &NIBBLES[usize::from(c[k])];
        // SAFETY: `t` holds 32 bytes, so both 16-byte loads stay inside it.
        unsafe {
            low[k] = vld1q_u8(t.as_ptr());
            high[k] = vld1q_u8(t.as_ptr().add(16));
        }
    }
    let bulk = n / 16 * 16;
    let ptrs = outs.each_mut().map(|o| o.as_mut_ptr());
    for off in (0..bulk).step_by(16) {
        // SAFETY: `off + 16 <= bulk <= n`, and the input and every output hold `n` bytes.
        unsafe {
            block::<XOR, N>(
                &low,
                &high,
                input.as_ptr().add(off),
                ptrs.map(|p| p.add(off)),
            );
        };
    }
    if bulk < n {
        let (mut bi, mut bo) = ([0u8; 16], [[0u8; 16]; N]);
        bi[..n - bulk].copy_from_slice(&input[bulk..n]);
        for (b, o) in bo.iter_mut().zip(&outs) {
            b[..n - bulk].copy_from_slice(&o[bulk..]);
        }
        // SAFETY: the stack blocks hold exactly 16 bytes each.
        unsafe {
            block::<XOR, N>(
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
