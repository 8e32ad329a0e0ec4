//! Hostile input: random seqids, types, lengths and bytes. The decoder's memory, measured
//! by the testkit's counting global allocator, stays under the bound its configuration
//! documents; it never panics, and it repairs honest traffic again once the flood stops.

use kcp_fec::{
    DecodeError, Decoder, DecoderConfig, Encoder, EncoderConfig, MTU_LIMIT, Shards, TYPE_DATA,
    TYPE_PARITY,
};
use kcp_testkit::counting_alloc::{Counting, installed, measure};
use kcp_testkit::sim::Rng;

#[global_allocator]
static ALLOC: Counting = Counting;

/// A well-formed FEC packet with a random seqid, length (8..=1500) and content; its type
/// is random, or (`plausible`) the one a 10/3 sender would give that seqid.
fn hostile_packet(rng: &mut Rng, buf: &mut Vec<u8>, plausible: bool) {
    let len = 8 + (rng.next_u64() % (MTU_LIMIT as u64 - 7)) as usize;
    buf.clear();
    buf.extend((0..len).map(|_| rng.next_u64() as u8));
    let seqid = rng.next_u64() as u32;
    let data = if plausible {
        seqid % 13 < 10
    } else {
        rng.next_u64().is_multiple_of(2)
    };
    let kind = if data { TYPE_DATA } else { TYPE_PARITY };
    buf[..4].copy_from_slice(&seqid.to_le_bytes());
    buf[4..6].copy_from_slice(&kind.to_le_bytes());
}

/// Feeds `packets` hostile packets to `dec`, built in `buf`, which must have room for
/// [`MTU_LIMIT`] bytes (so that only the decoder allocates while this runs).
fn flood(dec: &mut Decoder, buf: &mut Vec<u8>, packets: usize, seed: u64, plausible: bool) {
    let mut rng = Rng::new(seed);
    for i in 0..packets {
        hostile_packet(&mut rng, buf, plausible);
        dec.decode(buf, i as u32, |_| {}).unwrap();
        assert!(dec.groups_held() <= kcp_fec::DEFAULT_GROUPS);
    }
}

/// Builds a decoder and floods it with each `(packets, seed, plausible)` in turn, with
/// the allocator counting: the heap bytes it ever held (peak) stay within `memory_bound`,
/// and what it holds at the end is what `retained_bytes` reports.
fn measured_flood(cfg: DecoderConfig, floods: &[(usize, u64, bool)]) -> Decoder {
    assert!(installed());
    let bound = cfg.memory_bound() as i64;
    let mut buf = Vec::with_capacity(MTU_LIMIT);
    let (dec, usage) = measure(|| {
        let mut dec = Decoder::new(cfg).unwrap();
        for &(packets, seed, plausible) in floods {
            flood(&mut dec, &mut buf, packets, seed, plausible);
        }
        dec
    });
    eprintln!(
        "auto-tune {}: measured peak {} bytes, {} allocations, bound {bound}",
        cfg.auto_tune, usage.peak_bytes, usage.allocations
    );
    assert!(
        usage.peak_bytes <= bound,
        "peak {} bytes, bound {bound}",
        usage.peak_bytes
    );
    assert_eq!(usage.net_bytes, dec.retained_bytes() as i64);
    dec
}

#[test]
fn random_seqids_never_grow_memory_past_the_bound() {
    let cfg = DecoderConfig::new(Shards::new(10, 3).unwrap());
    // 4 groups x 32 shards (auto-tune's limit) x (1494 + 24) bytes, plus fixed scratch:
    // about 200 KB.
    assert!(cfg.memory_bound() < 250_000, "{}", cfg.memory_bound());
    // Random types, then types that fit the seqids: nothing is paused, every packet
    // opens or joins a group.
    let dec = measured_flood(
        cfg,
        &[
            (100_000, 0x1234_5678_9abc_def1, false),
            (100_000, 0x0fed_cba9_8765_4321, true),
        ],
    );
    assert!(dec.stats().ignored > 0);
    assert!(dec.stats().short_shards > 10_000);
}

#[test]
fn without_auto_tune_the_bound_is_the_configured_groups() {
    let mut cfg = DecoderConfig::new(Shards::new(10, 3).unwrap());
    cfg.auto_tune = false;
    // 4 groups x 13 shards x (1494 + 24) bytes, plus fixed scratch: under 100 KB.
    assert!(cfg.memory_bound() < 100_000, "{}", cfg.memory_bound());
    let dec = measured_flood(cfg, &[(100_000, 42, false)]);
    // Random seqids that land on matching positions do open groups and get evicted.
    assert!(dec.stats().short_shards > 0);
}

#[test]
fn garbage_gets_typed_errors_not_panics() {
    let mut dec = Decoder::new(DecoderConfig::new(Shards::new(3, 2).unwrap())).unwrap();
    let mut rng = Rng::new(7);
    let mut ok = 0;
    for _ in 0..50_000 {
        let len = (rng.next_u64() % 1600) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Make most of them FEC-typed so the decoder's paths are exercised.
        if len >= 6 && !rng.next_u64().is_multiple_of(4) {
            buf[4] = 0xF1 + (rng.next_u64() % 2) as u8;
            buf[5] = 0;
            buf[0..4].copy_from_slice(&(rng.next_u64() as u32 % 64).to_le_bytes());
        }
        match dec.decode(&buf, 0, |r| assert!(r.len() <= len)) {
            Ok(_) => ok += 1,
            Err(DecodeError::NotFec) => assert!(len < 6 || !matches!(buf[4..6], [0xF1 | 0xF2, 0])),
            Err(DecodeError::Truncated { len: l }) => assert!(l < 8),
            Err(DecodeError::TooLong { len: l }) => assert!(l > MTU_LIMIT),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(ok > 10_000);
    assert!(dec.retained_bytes() <= DecoderConfig::new(Shards::new(3, 2).unwrap()).memory_bound());
}

/// After a flood that may have retuned the decoder to nonsense, honest 10/3 traffic is
/// detected again and its losses repaired.
#[test]
fn recovers_after_the_flood() {
    let shards = Shards::new(10, 3).unwrap();
    let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
    flood(
        &mut dec,
        &mut Vec::with_capacity(MTU_LIMIT),
        20_000,
        99,
        false,
    );
    let before = dec.stats();

    let mut enc = Encoder::new(EncoderConfig::new(shards)).unwrap();
    let mut out = 0u64;
    for i in 0..3000u32 {
        let mut d = vec![0u8; enc.header_len()];
        d.extend_from_slice(&i.to_le_bytes());
        d.extend_from_slice(&[7u8; 100]);
        let mut parity = Vec::new();
        enc.encode(&mut d, 0, |p| parity.push(p.as_bytes().to_vec()))
            .unwrap();
        // Lose the first data shard of every group.
        if i % 10 != 0 && dec.decode(&d, 0, |_| out += 1).unwrap().is_some() {
            out += 1;
        }
        for p in &parity {
            dec.decode(p, 0, |_| out += 1).unwrap();
        }
    }
    assert_eq!(dec.shards(), shards);
    let recovered = dec.stats().recovered - before.recovered;
    // 300 groups; a few at the start are spent re-detecting the counts.
    assert!(recovered >= 290, "recovered {recovered}");
    assert!(out >= 3000 - 10);
}
