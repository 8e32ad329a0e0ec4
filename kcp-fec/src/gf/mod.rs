//! GF(2^8) multiply-accumulate kernels, chosen at run time: the inner loop of Reed-Solomon
//! encoding and recovery (`out ^= c * input` over a shard).
//!
//! | kernel | where | bytes per step |
//! | --- | --- | --- |
//! | [`Kernel::Avx2`] | x86_64 CPUs with AVX2 (Intel since 2013, AMD since 2015) | 32 |
//! | [`Kernel::Ssse3`] | x86_64 CPUs with SSSE3 (nearly all since 2006) | 16 |
//! | [`Kernel::Neon`] | aarch64 | 16 |
//! | [`Kernel::Portable`] | every target, `no_std` included | table lookups |
//!
//! The SIMD kernels are written with `core::arch` intrinsics (no C compiler, nothing to
//! opt into) and use the split-nibble method: `c * x = low[x & 15] ^ high[x >> 4]`, two
//! 16-entry tables looked up by a byte shuffle. The x86_64 ones are picked with
//! `cpufeatures` (CPUID, `no_std`) the first time a codec is built, so one binary runs
//! everywhere; NEON is part of the aarch64 baseline. Unsafe code lives only in the
//! per-architecture modules.

/// Defines the driver of a split-nibble SIMD kernel, `$name`: `outs[k] = c[k] * input`
/// (`XOR = false`) or `outs[k] ^= c[k] * input`, over the shortest of the lengths. It
/// loads each coefficient's two 16-entry tables with `$table`, runs `$block` over whole
/// `$width`-byte blocks for all `N` outputs at once, and sends the last partial block
/// through zero-padded copies on the stack.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
macro_rules! split_nibble_kernel {
    ($feature:literal, $name:ident, $block:ident, $table:ident, $width:literal, $zero:expr) => {
        #[doc = concat!("The ", $feature, " kernel; see `split_nibble_kernel!`.")]
        #[target_feature(enable = $feature)]
        pub(super) fn $name<const XOR: bool, const N: usize>(
            c: [u8; N],
            input: &[u8],
            outs: [&mut [u8]; N],
        ) {
            let n = outs.iter().fold(input.len(), |n, o| n.min(o.len()));
            let mut outs = outs.map(|o| &mut o[..n]);
            let (mut low, mut high) = ([$zero; N], [$zero; N]);
            for k in 0..N {
                let t = &super::tables::NIBBLES[usize::from(c[k])];
                // SAFETY: `t` holds 32 bytes, so both 16-byte loads stay inside it.
                unsafe {
                    low[k] = $table(t.as_ptr());
                    high[k] = $table(t.as_ptr().add(16));
                }
            }
            let bulk = n / $width * $width;
            let ptrs = outs.each_mut().map(|o| o.as_mut_ptr());
            for off in (0..bulk).step_by($width) {
                // SAFETY: `off + $width <= bulk <= n`, and the input and every output hold
                // `n` bytes; the outputs are distinct slices.
                unsafe {
                    $block::<XOR, N>(
                        &low,
                        &high,
                        input.as_ptr().add(off),
                        ptrs.map(|p| p.add(off)),
                    );
                }
            }
            if bulk < n {
                let (mut bi, mut bo) = ([0u8; $width], [[0u8; $width]; N]);
                bi[..n - bulk].copy_from_slice(&input[bulk..n]);
                for (b, o) in bo.iter_mut().zip(&outs) {
                    b[..n - bulk].copy_from_slice(&o[bulk..]);
                }
                // SAFETY: the stack blocks hold exactly `$width` bytes each.
                unsafe {
                    $block::<XOR, N>(
                        &low,
                        &high,
                        bi.as_ptr(),
                        bo.each_mut().map(|b| b.as_mut_ptr()),
                    );
                }
                for (b, o) in bo.iter().zip(&mut outs) {
                    o[bulk..].copy_from_slice(&b[..n - bulk]);
                }
            }
        }
    };
}

mod portable;
pub(crate) mod tables;

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
#[allow(unsafe_code)]
mod neon;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86;

use core::fmt;

pub(crate) use portable::{LaneTable, lanes_mul, lanes_split, lanes_words};

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(cpu_ssse3, "ssse3");
#[cfg(target_arch = "x86_64")]
cpufeatures::new!(cpu_avx2, "avx2");

/// A GF(2^8) multiply-accumulate kernel: the code that runs Reed-Solomon's inner loop.
///
/// Encoders and decoders pick [`Kernel::best`] unless their configuration names one
/// ([`EncoderConfig::kernel`](crate::EncoderConfig::kernel),
/// [`DecoderConfig::kernel`](crate::DecoderConfig::kernel)); every kernel produces the
/// same bytes. Name one to compare kernels in a benchmark, or to test a slower path on a
/// fast CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kernel {
    /// Table lookups in safe Rust, on every target. The encoder looks up the products for
    /// up to four parity shards with one load per data byte.
    Portable,
    /// x86_64 with SSSE3: 16 bytes per `pshufb` pair.
    Ssse3,
    /// x86_64 with AVX2: 32 bytes per `vpshufb` pair.
    Avx2,
    /// aarch64 NEON: 16 bytes per `tbl` pair.
    Neon,
}

impl Kernel {
    /// Every kernel, fastest last; [`is_available`](Self::is_available) tells which ones
    /// this CPU runs.
    pub const ALL: &'static [Kernel] =
        &[Kernel::Portable, Kernel::Ssse3, Kernel::Neon, Kernel::Avx2];

    /// The kernels this CPU runs, fastest last: to run a test or a benchmark through each.
    pub fn available() -> impl Iterator<Item = Kernel> {
        Kernel::ALL.iter().copied().filter(|k| k.is_available())
    }

    /// The fastest kernel this CPU runs. The CPUID check runs once and is cached.
    pub fn best() -> Kernel {
        Kernel::available().last().unwrap_or(Kernel::Portable)
    }

    /// Whether this build on this CPU can run the kernel: the x86_64 kernels ask the CPU
    /// (cached), NEON is compiled in on aarch64, the portable kernel always runs.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => cpu_ssse3::get(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => cpu_avx2::get(),
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            Kernel::Neon => true,
            _ => false,
        }
    }

    /// Lower-case name: `portable`, `ssse3`, `avx2`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Ssse3 => "ssse3",
            Kernel::Avx2 => "avx2",
            Kernel::Neon => "neon",
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Inputs shorter than this skip the SIMD kernels (their block is 16 or 32 bytes).
const SHORT: usize = 16;

/// A kernel this CPU is known to run: the only way to reach the SIMD code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gf(Kernel);

impl Gf {
    /// `kernel`, if this CPU runs it.
    pub(crate) fn new(kernel: Kernel) -> Option<Gf> {
        kernel.is_available().then_some(Gf(kernel))
    }

    /// `kernel`, or [`Kernel::best`] for `None`; `None` if the named one cannot run here.
    pub(crate) fn choose(kernel: Option<Kernel>) -> Option<Gf> {
        Gf::new(kernel.unwrap_or_else(Kernel::best))
    }

    pub(crate) fn kernel(self) -> Kernel {
        self.0
    }

    /// `out = c * input`, over the shorter of the two lengths.
    #[inline]
    pub(crate) fn mul(self, c: u8, input: &[u8], out: &mut [u8]) {
        self.mul_many(false, [c], input, [out]);
    }

    /// `out ^= c * input`, over the shorter of the two lengths.
    #[inline]
    pub(crate) fn mul_xor(self, c: u8, input: &[u8], out: &mut [u8]) {
        self.mul_many(true, [c], input, [out]);
    }

    /// `outs[k] = c[k] * input` (or `^=` with `xor`) for every `k`, over the shortest of
    /// the lengths: one pass over `input` for all outputs.
    #[inline]
    pub(crate) fn mul_many<const N: usize>(
        self,
        xor: bool,
        c: [u8; N],
        input: &[u8],
        outs: [&mut [u8]; N],
    ) {
        if xor {
            self.apply::<true, N>(c, input, outs);
        } else {
            self.apply::<false, N>(c, input, outs);
        }
    }

    #[inline]
    #[allow(unsafe_code)]
    fn apply<const XOR: bool, const N: usize>(
        self,
        c: [u8; N],
        input: &[u8],
        outs: [&mut [u8]; N],
    ) {
        // Below one SIMD block the kernels would only run their byte-wise tail, after
        // setting up tables: go there directly (matrix rows and tiny shards).
        if input.len() < SHORT {
            for (c, out) in c.into_iter().zip(outs) {
                portable::tail::<XOR>(c, input, out);
            }
            return;
        }
        match self.0 {
            // SAFETY: a `Gf` holds `Avx2` only if `cpufeatures` found AVX2 on this CPU.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::mul_avx2::<XOR, N>(c, input, outs) },
            // SAFETY: a `Gf` holds `Ssse3` only if `cpufeatures` found SSSE3 on this CPU.
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => unsafe { x86::mul_ssse3::<XOR, N>(c, input, outs) },
            // SAFETY: this build targets aarch64 with NEON in its baseline (the `cfg`), so
            // every CPU it runs on has NEON.
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            Kernel::Neon => unsafe { neon::mul_neon::<XOR, N>(c, input, outs) },
            _ => {
                for (c, out) in c.into_iter().zip(outs) {
                    portable::mul::<XOR>(c, input, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
