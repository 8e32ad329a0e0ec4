//! Every kernel this CPU runs against a byte-at-a-time reference built on the shift-and-add
//! product, over random lengths, alignments and coefficients.

extern crate std;

use alloc::vec::Vec;
use std::println;

use proptest::prelude::*;

use super::tables::mul as reference_mul;
use super::*;

fn available() -> Vec<Gf> {
    Kernel::available().filter_map(Gf::new).collect()
}

/// A buffer with `pad` bytes before and after the `len` bytes under test, so kernels that
/// read or write outside their slice are caught.
fn buffer(seed: u64, pad: usize, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..pad + len + pad)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn the_kernels_this_cpu_has_are_listed() {
    let names: Vec<&str> = available().iter().map(|g| g.kernel().name()).collect();
    println!("kernels available here: {names:?}; best {}", Kernel::best());
    assert!(names.contains(&"portable"));
    assert_eq!(Gf::choose(None).unwrap().kernel(), Kernel::best());
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    assert_eq!(Kernel::best(), Kernel::Neon);
}

#[test]
fn every_coefficient_and_byte() {
    let input: Vec<u8> = (0..=255u8).collect();
    for gf in available() {
        for c in 0..=255u8 {
            let want: Vec<u8> = input.iter().map(|&x| reference_mul(c, x)).collect();
            let mut out = alloc::vec![0xA5u8; 256];
            gf.mul(c, &input, &mut out);
            assert_eq!(out, want, "{} mul by {c}", gf.kernel());
            // Twice XORed is zero.
            gf.mul_xor(c, &input, &mut out);
            assert!(
                out.iter().all(|&b| b == 0),
                "{} mul_xor by {c}",
                gf.kernel()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn kernels_match_the_reference(
        c in any::<u8>(),
        len in 0usize..2100,
        in_off in 0usize..64,
        out_off in 0usize..64,
        seed in any::<u64>(),
        xor in any::<bool>(),
    ) {
        let input = buffer(seed, in_off, len);
        let input = &input[in_off..in_off + len];
        let base = buffer(seed.rotate_left(17), out_off, len);
        let mut want = base.clone();
        for (o, &x) in want[out_off..out_off + len].iter_mut().zip(input) {
            let p = reference_mul(c, x);
            *o = if xor { *o ^ p } else { p };
        }
        for gf in available() {
            let mut out = base.clone();
            let slice = &mut out[out_off..out_off + len];
            if xor { gf.mul_xor(c, input, slice) } else { gf.mul(c, input, slice) }
            prop_assert_eq!(&out, &want, "{} c={} len={} xor={}", gf.kernel(), c, len, xor);
        }
    }

    /// One input into several outputs in one pass, each at its own offset.
    #[test]
    fn many_outputs_match_the_reference(
        c in any::<[u8; 4]>(),
        len in 0usize..1100,
        offs in any::<[u8; 5]>(),
        seed in any::<u64>(),
        xor in any::<bool>(),
    ) {
        let in_off = usize::from(offs[4] % 64);
        let input = buffer(seed, in_off, len);
        let input = &input[in_off..in_off + len];
        let base: Vec<Vec<u8>> = (0..4)
            .map(|k| buffer(seed.rotate_left(9 * k + 1), usize::from(offs[k as usize] % 64), len))
            .collect();
        let want: Vec<Vec<u8>> = (0..4)
            .map(|k| {
                let off = usize::from(offs[k] % 64);
                let mut w = base[k].clone();
                for (o, &x) in w[off..off + len].iter_mut().zip(input) {
                    let p = reference_mul(c[k], x);
                    *o = if xor { *o ^ p } else { p };
                }
                w
            })
            .collect();
        for gf in available() {
            let mut outs = base.clone();
            let [a, b, d, e] = &mut outs[..] else { unreachable!() };
            let o = |k: usize| usize::from(offs[k] % 64);
            gf.mul_many(
                xor,
                c,
                input,
                [
                    &mut a[o(0)..o(0) + len],
                    &mut b[o(1)..o(1) + len],
                    &mut d[o(2)..o(2) + len],
                    &mut e[o(3)..o(3) + len],
                ],
            );
            prop_assert_eq!(&outs, &want, "{} four outputs, len {}", gf.kernel(), len);
            let mut outs = base.clone();
            let [a, b, d, _] = &mut outs[..] else { unreachable!() };
            gf.mul_many(
                xor,
                [c[0], c[1], c[2]],
                input,
                [&mut a[o(0)..o(0) + len], &mut b[o(1)..o(1) + len], &mut d[o(2)..o(2) + len]],
            );
            prop_assert_eq!(&outs[..3], &want[..3], "{} three outputs, len {}", gf.kernel(), len);
            prop_assert_eq!(&outs[3], &base[3]);
        }
    }

    #[test]
    fn lanes_match_the_reference(
        coefs in proptest::collection::vec(any::<u8>(), 1..=4),
        len in 0usize..600,
        in_off in 0usize..16,
        seed in any::<u64>(),
        xor in any::<bool>(),
    ) {
        let input = buffer(seed, in_off, len);
        let input = &input[in_off..in_off + len];
        let table = LaneTable::new(&coefs);
        let words = lanes_words(len);
        let start = buffer(seed ^ 0x55, 0, 8 * words + 8);
        let mut acc: Vec<u64> = start
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let sentinel = acc[words];
        let before = acc.clone();
        if xor {
            lanes_mul::<true>(&table, input, &mut acc);
        } else {
            lanes_mul::<false>(&table, input, &mut acc);
        }
        prop_assert_eq!(acc[words], sentinel, "wrote past the input's words");
        let mut got = [(); 4].map(|()| alloc::vec![0u8; len]);
        let mut old = [(); 4].map(|()| alloc::vec![0u8; len]);
        {
            let [a, b, c, d] = &mut got;
            lanes_split(&acc, [&mut a[..], &mut b[..], &mut c[..], &mut d[..]]);
            let [a, b, c, d] = &mut old;
            lanes_split(&before, [&mut a[..], &mut b[..], &mut c[..], &mut d[..]]);
        }
        for lane in 0..4 {
            let c = coefs.get(lane).copied().unwrap_or(0);
            for j in 0..len {
                let p = reference_mul(c, input[j]);
                let want = if xor { old[lane][j] ^ p } else { p };
                prop_assert_eq!(got[lane][j], want, "lane {} byte {} of {}", lane, j, len);
            }
        }
    }
}
