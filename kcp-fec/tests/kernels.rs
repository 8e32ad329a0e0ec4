//! The GF(2^8) kernels, seen from outside: the CPU check agrees with the standard library's,
//! and every kernel this CPU runs produces exactly the parity a plain scalar Reed-Solomon
//! encoder computes on zero-padded shards with klauspost's generator matrix (kcp-go's
//! code, written out again below), and rebuilds every loss, for the
//! shapes the encoder treats differently (one lane group or several, cached or uncached
//! tables, shards growing and shrinking within a group).

use kcp_fec::{
    ConfigError, Decoder, DecoderConfig, Encoder, EncoderConfig, HEADER_LEN, Kernel, Shards,
    TYPE_PARITY,
};
use kcp_testkit::sim::Rng;

fn available() -> Vec<Kernel> {
    Kernel::ALL
        .iter()
        .copied()
        .filter(|k| k.is_available())
        .collect()
}

#[test]
fn the_cpu_check_agrees_with_std() {
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(
            Kernel::Ssse3.is_available(),
            std::arch::is_x86_feature_detected!("ssse3")
        );
        assert_eq!(
            Kernel::Avx2.is_available(),
            std::arch::is_x86_feature_detected!("avx2")
        );
        assert!(!Kernel::Neon.is_available());
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Kernel::Neon.is_available());
        assert!(!Kernel::Avx2.is_available() && !Kernel::Ssse3.is_available());
    }
    assert!(Kernel::Portable.is_available());
    let best = Kernel::best();
    assert_eq!(*available().last().unwrap(), best);
    assert_eq!(Kernel::available().collect::<Vec<_>>(), available());
    let shards = Shards::new(10, 3).unwrap();
    assert_eq!(
        Encoder::new(EncoderConfig::new(shards)).unwrap().kernel(),
        best
    );
    assert_eq!(
        Decoder::new(DecoderConfig::new(shards)).unwrap().kernel(),
        best
    );
    eprintln!("kernels on this CPU: {:?}, default {best}", available());
}

#[test]
fn a_kernel_the_cpu_lacks_is_refused() {
    let shards = Shards::new(3, 1).unwrap();
    for kernel in Kernel::ALL.iter().copied().filter(|k| !k.is_available()) {
        let mut cfg = EncoderConfig::new(shards);
        cfg.kernel = Some(kernel);
        assert_eq!(
            Encoder::new(cfg).unwrap_err(),
            ConfigError::KernelUnavailable
        );
        let mut cfg = DecoderConfig::new(shards);
        cfg.kernel = Some(kernel);
        assert_eq!(
            Decoder::new(cfg).unwrap_err(),
            ConfigError::KernelUnavailable
        );
    }
}

/// Encodes `groups` groups of frames with random lengths (0..max_frame) through `kernel`,
/// checks every parity datagram against [`reference::parity`], then drops `parity`
/// shards of each group and checks the decoder rebuilds each lost frame.
fn check(kernel: Kernel, k: usize, m: usize, groups: usize, max_frame: usize, seed: u64) {
    let shards = Shards::new(k, m).unwrap();
    let rows = reference::parity_rows(k, m);
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = 20;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    let mut dcfg = DecoderConfig::new(shards);
    dcfg.kernel = Some(kernel);
    // Every group loses min(k, m) data shards: with more than 16 data shards that is
    // more decode work than the default budget pays for (k per byte covers any loss).
    dcfg.work_per_byte = dcfg.work_per_byte.max(k as u32);
    let mut dec = Decoder::new(dcfg).unwrap();
    let mut rng = Rng::new(seed);
    for g in 0..groups {
        let mut data: Vec<Vec<u8>> = Vec::new();
        let mut parity: Vec<Vec<u8>> = Vec::new();
        for _ in 0..k {
            let len = (rng.next_u64() % max_frame as u64) as usize;
            let mut d = vec![0u8; enc.header_len()];
            d.extend((0..len).map(|_| rng.next_u64() as u8));
            enc.encode(&mut d, 0, |p| parity.push(p.as_bytes()[20..].to_vec()))
                .unwrap();
            data.push(d[20..].to_vec());
        }
        assert_eq!(parity.len(), m);
        // The reference: shards (size field + frame) zero-padded to the longest.
        let longest = data.iter().map(|d| d.len() - HEADER_LEN).max().unwrap();
        let mut shards_ref: Vec<Vec<u8>> = data
            .iter()
            .map(|d| {
                let mut s = d[HEADER_LEN..].to_vec();
                s.resize(longest, 0);
                s
            })
            .collect();
        shards_ref.extend(reference::parity(&rows, &shards_ref));
        for (q, p) in parity.iter().enumerate() {
            let seqid = ((g * (k + m) + k + q) as u32).to_le_bytes();
            assert_eq!(p[..4], seqid);
            assert_eq!(p[4..6], TYPE_PARITY.to_le_bytes());
            assert!(
                p[HEADER_LEN..] == shards_ref[k + q][..],
                "{kernel} {k}+{m} group {g} parity {q}"
            );
        }
        // Lose up to m shards: the first data shards of the group, then parity.
        let lost = m.min(k);
        let mut rebuilt = Vec::new();
        for (i, d) in data.iter().enumerate().skip(lost) {
            assert!(
                dec.decode(d, 0, |f| rebuilt.push(f.to_vec()))
                    .unwrap()
                    .is_some(),
                "{i}"
            );
        }
        for p in &parity {
            dec.decode(p, 0, |f| rebuilt.push(f.to_vec())).unwrap();
        }
        let want: Vec<Vec<u8>> = data[..lost].iter().map(|d| d[8..].to_vec()).collect();
        assert_eq!(rebuilt, want, "{kernel} {k}+{m} group {g} recovery");
    }
    assert_eq!(dec.stats().errors, 0);
}

#[test]
fn every_kernel_matches_the_scalar_reference() {
    for kernel in available() {
        // kcptun's default, one lane group.
        check(kernel, 10, 3, 30, 1500 - 28, 1);
        // Short shards only (below the table-building threshold), odd lengths.
        check(kernel, 3, 1, 40, 40, 2);
        check(kernel, 1, 1, 40, 300, 3);
        // Exactly four, then more than four parity shards: one and two lane groups.
        check(kernel, 7, 4, 20, 700, 4);
        check(kernel, 6, 6, 20, 700, 5);
        // 100 x ceil(20 / 4) lane tables: more than the encoder caches.
        check(kernel, 100, 20, 3, 1000, 6);
    }
}

/// A second, deliberately plain Reed-Solomon encoder (scalar shift-and-add GF(2^8), the
/// textbook generator construction of klauspost/reedsolomon, which kcp-go runs), sharing
/// no code with the crate.
mod reference {
    /// `a * b` modulo x^8 + x^4 + x^3 + x^2 + 1.
    fn mul(a: u8, b: u8) -> u8 {
        let mut p = 0u16;
        for i in 0..8 {
            if b >> i & 1 == 1 {
                p ^= u16::from(a) << i;
            }
        }
        for i in (8..16).rev() {
            if p >> i & 1 == 1 {
                p ^= 0x11d << (i - 8);
            }
        }
        p as u8
    }

    fn inv(a: u8) -> u8 {
        (1..=255).find(|&b| mul(a, b) == 1).unwrap()
    }

    /// Rows `data..data + parity` of `V * inverse(V[..data])`, `V[r][c] = r^c`.
    pub(super) fn parity_rows(k: usize, m: usize) -> Vec<Vec<u8>> {
        let pow = |a: u8, n: usize| (0..n).fold(1u8, |acc, _| mul(acc, a));
        let v: Vec<Vec<u8>> = (0..k + m)
            .map(|r| (0..k).map(|c| pow(r as u8, c)).collect())
            .collect();
        // Invert the top square by Gauss-Jordan on [T | I].
        let mut a: Vec<Vec<u8>> = (0..k)
            .map(|r| {
                let mut row = v[r].clone();
                row.extend((0..k).map(|c| u8::from(c == r)));
                row
            })
            .collect();
        for col in 0..k {
            let p = (col..k).find(|&r| a[r][col] != 0).unwrap();
            a.swap(p, col);
            let s = inv(a[col][col]);
            a[col].iter_mut().for_each(|x| *x = mul(s, *x));
            for r in 0..k {
                let f = a[r][col];
                if r != col && f != 0 {
                    let pivot = a[col].clone();
                    a[r].iter_mut()
                        .zip(pivot)
                        .for_each(|(x, y)| *x ^= mul(f, y));
                }
            }
        }
        (k..k + m)
            .map(|r| {
                (0..k)
                    .map(|c| (0..k).fold(0u8, |acc, t| acc ^ mul(v[r][t], a[t][k + c])))
                    .collect()
            })
            .collect()
    }

    /// The parity shards of equal-length `data` shards.
    pub(super) fn parity(rows: &[Vec<u8>], data: &[Vec<u8>]) -> Vec<Vec<u8>> {
        rows.iter()
            .map(|row| {
                (0..data[0].len())
                    .map(|b| {
                        row.iter()
                            .zip(data)
                            .fold(0u8, |acc, (&c, d)| acc ^ mul(c, d[b]))
                    })
                    .collect()
            })
            .collect()
    }
}
