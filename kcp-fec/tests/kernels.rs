//! The GF(2^8) kernels, seen from outside: the CPU check agrees with the standard library's,
//! and every kernel this CPU runs produces exactly the parity reed-solomon-erasure computes
//! on zero-padded shards (the klauspost/kcp-go code), and rebuilds every loss, for the
//! shapes the encoder treats differently (one lane group or several, cached or uncached
//! tables, shards growing and shrinking within a group).

use kcp_fec::{
    ConfigError, Decoder, DecoderConfig, Encoder, EncoderConfig, HEADER_LEN, Kernel, Shards,
    TYPE_PARITY,
};
use kcp_testkit::sim::Rng;
use reed_solomon_erasure::galois_8::ReedSolomon;

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
/// checks every parity datagram against reed-solomon-erasure, then drops `parity`
/// shards of each group and checks the decoder rebuilds each lost frame.
fn check(kernel: Kernel, k: usize, m: usize, groups: usize, max_frame: usize, seed: u64) {
    let shards = Shards::new(k, m).unwrap();
    let rs = ReedSolomon::new(k, m).unwrap();
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = 20;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    let mut dcfg = DecoderConfig::new(shards);
    dcfg.kernel = Some(kernel);
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
        shards_ref.resize(k + m, vec![0u8; longest]);
        rs.encode(&mut shards_ref).unwrap();
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
fn every_kernel_matches_reed_solomon_erasure() {
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
