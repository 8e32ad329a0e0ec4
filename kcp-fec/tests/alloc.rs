//! Steady-state encoding and decoding allocate nothing, with every GF(2^8) kernel this CPU
//! runs: the testkit's counting global allocator counts the allocations made on the
//! test's own thread while packets flow.

use kcp_fec::{
    Decoder, DecoderConfig, Encoder, EncoderConfig, Kernel, Shards, TYPE_DATA, TYPE_PARITY,
};
use kcp_testkit::counting_alloc::{Counting, installed, measure};

#[global_allocator]
static ALLOC: Counting = Counting;

fn kernels() -> impl Iterator<Item = Kernel> {
    Kernel::available()
}

#[test]
fn the_counter_counts() {
    assert!(installed());
}

/// `shards` with tailroom and varying lengths, so zero-padding is exercised; 100 data and
/// 20 parity shards need more lane tables than the portable encoder caches.
fn encode_without_allocating(shards: Shards, kernel: Kernel, packets: usize) {
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = 20;
    cfg.tailroom = 16;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    let mut datagram = vec![0u8; 1500];
    let mut parity_bytes = 0usize;
    let mut run = |enc: &mut Encoder, packets: usize| {
        for i in 0..packets {
            let len = 100 + (i * 389) % 1401;
            enc.encode(&mut datagram[..len], i as u32, |mut p| {
                parity_bytes += p.with_tailroom().len();
            })
            .unwrap();
        }
    };
    run(&mut enc, 1000);
    let ((), usage) = measure(|| run(&mut enc, packets));
    assert_eq!(
        usage.allocations, 0,
        "{kernel}: allocations encoding {packets} datagrams"
    );
    assert!(parity_bytes > 0);
}

#[test]
fn steady_state_encoding_allocates_nothing() {
    for kernel in kernels() {
        encode_without_allocating(Shards::new(10, 3).unwrap(), kernel, 100_000);
        encode_without_allocating(Shards::new(100, 20).unwrap(), kernel, 5_000);
    }
}

#[test]
fn steady_state_decoding_allocates_nothing() {
    for kernel in kernels() {
        // kcp-go's BenchmarkFECDecode stream: 10+3, 1500-byte packets, about 1 in 13 lost.
        let mut cfg = DecoderConfig::new(Shards::new(10, 3).unwrap());
        cfg.kernel = Some(kernel);
        let mut dec = Decoder::new(cfg).unwrap();
        let mut pkt = vec![0u8; 1500];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut seqid = 0u32;
        let mut recovered = 0u64;
        let mut run = |dec: &mut Decoder, packets: usize| {
            for _ in 0..packets {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let s = seqid;
                seqid += 1;
                if rng.is_multiple_of(13) {
                    continue;
                }
                let kind = if s % 13 < 10 { TYPE_DATA } else { TYPE_PARITY };
                pkt[..4].copy_from_slice(&s.to_le_bytes());
                pkt[4..6].copy_from_slice(&kind.to_le_bytes());
                pkt[6..8].copy_from_slice(&1494u16.to_le_bytes());
                dec.decode(&pkt, 0, |_| recovered += 1).unwrap();
            }
        };
        run(&mut dec, 20_000);
        let ((), usage) = measure(|| run(&mut dec, 200_000));
        assert_eq!(
            usage.allocations, 0,
            "{kernel}: allocations decoding 200,000 packets"
        );
        assert!(recovered > 10_000);
    }
}
