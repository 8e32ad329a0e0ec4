//! Encoder to decoder through a lossy, reordering, duplicating channel: every data frame
//! comes out intact, exactly once when nothing is reordered.

use std::collections::HashMap;

use kcp_fec::{
    Decoder, DecoderConfig, Encoder, EncoderConfig, KCP_GO_PARITY_IDLE_LIMIT_MS, Kernel,
    PacketKind, Shards, classify,
};
use kcp_testkit::sim::Rng;
use proptest::prelude::*;

/// One datagram on the wire, crypto header already stripped.
#[derive(Clone, Debug)]
struct Packet {
    bytes: Vec<u8>,
    /// Index of the group in send order (not the seqid-derived id, which wraps).
    group: usize,
    /// Index of the frame for data packets.
    frame: Option<usize>,
}

/// The testkit's seeded generator as a closure of 64-bit draws.
fn rng_from(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = Rng::new(seed);
    move || rng.next_u64()
}

/// Frames that are unique by construction: a 4-byte index, then pseudo-random bytes.
fn frames(lens: &[usize], seed: u64) -> Vec<Vec<u8>> {
    let mut rng = rng_from(seed);
    lens.iter()
        .enumerate()
        .map(|(i, &len)| {
            let mut f = (i as u32).to_le_bytes().to_vec();
            f.extend((0..len).map(|_| rng() as u8));
            f
        })
        .collect()
}

fn encode(enc: &mut Encoder, frames: &[Vec<u8>], times: &[u32]) -> Vec<Packet> {
    let offset = enc.config().offset;
    let k = enc.config().shards.data();
    let tailroom = enc.config().tailroom;
    let mut wire = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let mut d = vec![0xAAu8; enc.header_len()];
        d.extend_from_slice(frame);
        let mut parity = Vec::new();
        let now = times.get(i).copied().unwrap_or(0);
        enc.encode(&mut d, now, |mut p| {
            assert_eq!(p.with_tailroom().len(), p.datagram_len() + tailroom);
            parity.push(p.as_bytes()[offset..].to_vec());
        })
        .unwrap();
        wire.push(Packet {
            bytes: d[offset..].to_vec(),
            group: i / k,
            frame: Some(i),
        });
        wire.extend(parity.into_iter().map(|bytes| Packet {
            bytes,
            group: i / k,
            frame: None,
        }));
    }
    wire
}

/// The `i`-th GF(2^8) kernel this CPU runs (modulo their number).
fn kernel(i: usize) -> Kernel {
    let ks: Vec<Kernel> = Kernel::available().collect();
    ks[i % ks.len()]
}

fn encoder(shards: Shards, offset: usize, kernel: Kernel) -> Encoder {
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = offset;
    cfg.tailroom = 16;
    cfg.kernel = Some(kernel);
    Encoder::new(cfg).unwrap()
}

fn decoder(shards: Shards, kernel: Kernel) -> Decoder {
    let mut cfg = DecoderConfig::new(shards);
    cfg.kernel = Some(kernel);
    Decoder::new(cfg).unwrap()
}

/// Runs `wire` through a decoder; returns how often each frame came out.
fn decode(dec: &mut Decoder, frames: &[Vec<u8>], wire: &[Packet]) -> Vec<usize> {
    let index: HashMap<&[u8], usize> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (&f[..], i))
        .collect();
    let mut count = vec![0usize; frames.len()];
    let mut seen = |f: &[u8]| {
        let i = *index
            .get(f)
            .expect("decoder produced a frame that was never sent");
        count[i] += 1;
    };
    for p in wire {
        assert_ne!(classify(&p.bytes), PacketKind::Kcp);
        let direct = dec.decode(&p.bytes, 0, &mut seen).unwrap();
        assert_eq!(direct.is_some(), p.frame.is_some());
        if let Some(f) = direct {
            seen(f);
        }
    }
    count
}

/// Drops up to `parity` packets of every group that has its parity, chosen by `seed`.
fn drop_recoverable(wire: Vec<Packet>, shards: Shards, seed: u64) -> (Vec<Packet>, usize) {
    let mut rng = rng_from(seed);
    let groups_with_parity: Vec<usize> = wire
        .iter()
        .filter(|p| p.frame.is_none())
        .map(|p| p.group)
        .collect();
    let mut budget: HashMap<usize, usize> = groups_with_parity
        .iter()
        .map(|&g| (g, (rng() % (shards.parity() as u64 + 1)) as usize))
        .collect();
    let mut dropped_data = 0;
    let kept = wire
        .into_iter()
        .filter(|p| {
            let b = budget.entry(p.group).or_insert(0);
            if *b > 0 && rng().is_multiple_of(3) {
                *b -= 1;
                dropped_data += usize::from(p.frame.is_some());
                false
            } else {
                true
            }
        })
        .collect();
    (kept, dropped_data)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Up to `parity` losses per group, in order: every frame exactly once, intact, and the
    /// counters agree. Starting near the seqid wrap exercises `paws`. Encoder and decoder
    /// run any two of the kernels this CPU has.
    #[test]
    fn recoverable_losses_come_out_exactly_once(
        k in 1usize..=12,
        m in 1usize..=6,
        offset in prop::sample::select(vec![0usize, 12, 20]),
        lens in prop::collection::vec(0usize..=300, 1..=80),
        seed in any::<u64>(),
        near_wrap in any::<bool>(),
        kernels in (0usize..4, 0usize..4),
    ) {
        let shards = Shards::new(k, m).unwrap();
        let frames = frames(&lens, seed);
        let mut enc = encoder(shards, offset, kernel(kernels.0));
        if near_wrap {
            enc.set_next_seqid(shards.paws() - (seed % 3 + 1) as u32 * shards.total() as u32);
        }
        let wire = encode(&mut enc, &frames, &[]);
        let (wire, dropped_data) = drop_recoverable(wire, shards, seed.rotate_left(17));
        let mut dec = decoder(shards, kernel(kernels.1));
        let count = decode(&mut dec, &frames, &wire);
        prop_assert!(count.iter().all(|&c| c == 1), "counts {:?}", count);
        let st = dec.stats();
        prop_assert_eq!(st.recovered, dropped_data as u64);
        prop_assert_eq!(st.errors, 0);
        prop_assert_eq!(st.ignored, 0);
        prop_assert!(dec.groups_held() <= 1);
    }

    /// Losses, short-range reordering and duplicates: every frame at least once, never
    /// more often than it was delivered plus one rebuild, never anything that was not sent.
    #[test]
    fn reordered_and_duplicated_packets(
        k in 1usize..=10,
        m in 1usize..=3,
        lens in prop::collection::vec(0usize..=200, 1..=60),
        seed in any::<u64>(),
        kernels in (0usize..4, 0usize..4),
    ) {
        let shards = Shards::new(k, m).unwrap();
        let frames = frames(&lens, seed);
        let mut enc = encoder(shards, 0, kernel(kernels.0));
        let wire = encode(&mut enc, &frames, &[]);
        let (mut wire, _) = drop_recoverable(wire, shards, seed ^ 0x5555);
        let mut rng = rng_from(seed.rotate_left(7));
        for i in 0..wire.len().saturating_sub(1) {
            if rng().is_multiple_of(4) {
                wire.swap(i, i + 1);
            }
        }
        let mut delivered = vec![0usize; frames.len()];
        let mut noisy = Vec::new();
        for p in wire {
            let copies = if rng().is_multiple_of(8) { 2 } else { 1 };
            for _ in 0..copies {
                if let Some(f) = p.frame {
                    delivered[f] += 1;
                }
                noisy.push(p.clone());
            }
        }
        let mut dec = decoder(shards, kernel(kernels.1));
        let count = decode(&mut dec, &frames, &noisy);
        for (f, (&c, &d)) in count.iter().zip(&delivered).enumerate() {
            prop_assert!(c >= 1, "frame {} lost", f);
            prop_assert!(c <= d + 1, "frame {} out {} times, delivered {}", f, c, d);
        }
        prop_assert_eq!(dec.stats().errors, 0);
    }
}

/// A decoder that expects other shard counts (kcp-go creates (1, 1) when its own FEC is
/// off) detects the peer's and then repairs losses.
#[test]
fn auto_tune_follows_the_peer() {
    let peer = Shards::new(10, 3).unwrap();
    for ours in [(1, 1), (3, 1), (10, 1), (20, 5)] {
        let ours = Shards::new(ours.0, ours.1).unwrap();
        let lens: Vec<usize> = (0..600).map(|i| 20 + (i * 37) % 900).collect();
        let frames = frames(&lens, 7);
        let mut enc = encoder(peer, 0, Kernel::best());
        let wire = encode(&mut enc, &frames, &[]);
        // Lose data shard (group % 10) of every group from the fifth on.
        let wire: Vec<Packet> = wire
            .into_iter()
            .filter(|p| !(p.group >= 5 && p.frame == Some(p.group * 10 + p.group % 10)))
            .collect();
        let mut dec = Decoder::new(DecoderConfig::new(ours)).unwrap();
        let count = decode(&mut dec, &frames, &wire);
        assert_eq!(dec.shards(), peer, "from {ours:?}");
        assert_eq!(dec.stats().retunes, 1);
        assert!(count.iter().all(|&c| c == 1), "from {ours:?}: {count:?}");
        assert_eq!(dec.stats().recovered, 60 - 5);
    }
}

/// Without auto-tune the counts never change and packets whose type disagrees with their
/// position stay out of FEC; every data frame is still returned directly.
#[test]
fn without_auto_tune_mismatches_are_ignored() {
    let frames = frames(&[30; 40], 1);
    let mut enc = encoder(Shards::new(4, 2).unwrap(), 0, Kernel::best());
    let wire = encode(&mut enc, &frames, &[]);
    let mut cfg = DecoderConfig::new(Shards::new(3, 1).unwrap());
    cfg.auto_tune = false;
    let mut dec = Decoder::new(cfg).unwrap();
    let mut direct = 0;
    for p in &wire {
        if dec.decode(&p.bytes, 0, |_| {}).unwrap().is_some() {
            direct += 1;
        }
    }
    assert_eq!(direct, 40);
    assert!(dec.stats().ignored > 0);
    assert_eq!(dec.stats().retunes, 0);
    assert_eq!(dec.shards(), Shards::new(3, 1).unwrap());
}

/// kcp-go 5.6.10+ skips parity after an idle gap but still consumes its seqids: the
/// decoder keeps its alignment and repairs the groups around the gap.
#[test]
fn parity_suppressed_after_idle_gap() {
    let shards = Shards::new(4, 2).unwrap();
    let mut cfg = EncoderConfig::new(shards);
    cfg.parity_idle_limit_ms = Some(KCP_GO_PARITY_IDLE_LIMIT_MS);
    let mut enc = Encoder::new(cfg).unwrap();
    let frames = frames(&[50; 24], 3);
    // Frame 7 (the last of group 1) comes 600 ms after frame 6; the rest 10 ms apart.
    let times: Vec<u32> = (0..24u32)
        .map(|i| i * 10 + if i >= 7 { 600 } else { 0 })
        .collect();
    let wire = encode(&mut enc, &frames, &times);
    assert_eq!(enc.stats().suppressed_groups, 1);
    assert_eq!(enc.stats().parity, 5 * 2);
    assert_eq!(
        enc.next_seqid(),
        6 * 6,
        "skipped parity still consumed its seqids"
    );
    let seqids: Vec<u32> = wire
        .iter()
        .map(|p| u32::from_le_bytes(p.bytes[..4].try_into().unwrap()))
        .collect();
    assert!(!seqids.contains(&10) && !seqids.contains(&11));

    // Lose the first data shard of every group except the parity-less one.
    let wire: Vec<Packet> = wire
        .into_iter()
        .filter(|p| p.group == 1 || p.frame != Some(p.group * 4))
        .collect();
    let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
    let count = decode(&mut dec, &frames, &wire);
    assert!(count.iter().all(|&c| c == 1), "{count:?}");
    assert_eq!(dec.stats().recovered, 5);
    assert_eq!(dec.stats().retunes, 0);
}

/// The parity-less tail of an old kcp-go group never blocks later groups: the decoder holds
/// a fixed number of groups and drops the oldest.
#[test]
fn unsolvable_groups_are_evicted() {
    let shards = Shards::new(3, 1).unwrap();
    let frames = frames(&[10; 60], 9);
    let mut enc = encoder(shards, 0, Kernel::best());
    let wire = encode(&mut enc, &frames, &[]);
    // Two losses in every even group: never solvable; one in every odd group.
    let wire: Vec<Packet> = wire
        .into_iter()
        .filter(|p| match p.frame {
            Some(f) if p.group % 2 == 0 => f % 3 == 2,
            Some(f) => f % 3 != 0,
            None => true,
        })
        .collect();
    let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
    let count = decode(&mut dec, &frames, &wire);
    for (f, &c) in count.iter().enumerate() {
        let group = f / 3;
        let expect = usize::from(group % 2 == 1 || f % 3 == 2);
        assert_eq!(c, expect, "frame {f}");
    }
    assert_eq!(dec.stats().recovered, 10);
    assert!(dec.groups_held() <= kcp_fec::DEFAULT_GROUPS);
    assert!(dec.stats().short_shards >= 10 - 4);
}

/// The split API sends each data datagram before its group's parity, as kcp-go does, and
/// produces the same bytes as `encode`; parity left unflushed is dropped, not misnumbered.
/// Through every kernel.
#[test]
fn encode_data_then_flush_parity_matches_encode() {
    for kernel in Kernel::available() {
        split_api(kernel);
    }
}

fn split_api(kernel: Kernel) {
    let shards = Shards::new(3, 2).unwrap();
    let fs = frames(&[40, 7, 100, 1, 60, 33, 12], 7);
    let expected: Vec<Vec<u8>> = encode(&mut encoder(shards, 20, kernel), &fs, &[])
        .into_iter()
        .map(|p| p.bytes)
        .collect();

    let mut enc = encoder(shards, 20, kernel);
    let mut wire = Vec::new();
    for f in &fs {
        let mut d = vec![0u8; enc.header_len()];
        d.extend_from_slice(f);
        let complete = enc.encode_data(&mut d, 0).unwrap();
        wire.push(d[20..].to_vec());
        assert_eq!(complete, enc.pending_data() == 0);
        enc.flush_parity(|p| wire.push(p.as_bytes()[20..].to_vec()));
        // A second flush has nothing left to hand out.
        enc.flush_parity(|_| panic!("parity handed out twice"));
    }
    assert_eq!(wire, expected, "{kernel}");

    // Skipping flush_parity drops that group's parity but keeps the seqids in step.
    let mut enc = encoder(shards, 0, kernel);
    let mut seqids = Vec::new();
    for (i, f) in fs.iter().enumerate() {
        let mut d = vec![0u8; enc.header_len()];
        d.extend_from_slice(f);
        enc.encode_data(&mut d, 0).unwrap();
        seqids.push(u32::from_le_bytes(d[..4].try_into().unwrap()));
        if i >= 3 {
            enc.flush_parity(|p| {
                seqids.push(u32::from_le_bytes(p.as_bytes()[..4].try_into().unwrap()));
            });
        }
    }
    assert_eq!(seqids, [0, 1, 2, 5, 6, 7, 8, 9, 10], "{kernel}");
    assert_eq!(enc.stats().dropped_parity, 1);
    assert_eq!(enc.stats().parity, 2);
}
