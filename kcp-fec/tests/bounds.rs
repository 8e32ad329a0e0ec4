//! The bounds a hostile peer meets: auto-tune follows at most 32 shards (or the configured
//! counts, if more), decoding work is paid for by the bytes that arrive, and shard buffers
//! are as long as the shards they hold. Each test feeds the decoder what the attack sends
//! and checks the counters and the memory read-out, never the clock.

use kcp_fec::{Decoder, DecoderConfig, Shards, TYPE_DATA, TYPE_PARITY};

/// A well-formed FEC packet: `shard_len` bytes of shard (at least the 2-byte size field,
/// which says 2: an empty frame) after the seqid and type.
fn packet(seqid: u32, data: bool, shard_len: usize) -> Vec<u8> {
    let mut p = vec![0u8; 6 + shard_len.max(2)];
    p[..4].copy_from_slice(&seqid.to_le_bytes());
    let kind = if data { TYPE_DATA } else { TYPE_PARITY };
    p[4..6].copy_from_slice(&kind.to_le_bytes());
    p[6..8].copy_from_slice(&2u16.to_le_bytes());
    p
}

/// Feeds every seqid of `from..to` a sender with `shards` would send, tiny, unless `keep`
/// says otherwise.
fn feed(dec: &mut Decoder, shards: Shards, from: u32, to: u32, keep: impl Fn(u32) -> bool) {
    let n = shards.total() as u32;
    for s in from..to {
        if keep(s) {
            let p = packet(s, s % n < shards.data() as u32, 2);
            dec.decode(&p, 0, |_| {}).unwrap();
        }
    }
}

/// The decoder a session builds for a peer whose FEC it did not configure.
fn unconfigured() -> Decoder {
    Decoder::new(DecoderConfig::new(Shards::new(1, 1).unwrap())).unwrap()
}

#[test]
fn auto_tune_does_not_follow_a_peer_to_128_plus_128() {
    let peer = Shards::new(128, 128).unwrap();
    let mut dec = unconfigured();
    // Starting at parity shard 16 lines detection retries up with group starts, the only
    // place where 258 samples hold a bounded run of each type (see benches/fec.rs).
    feed(&mut dec, peer, 144, 144 + 20 * 256, |_| true);
    assert!(dec.shards().total() <= 32, "followed to {:?}", dec.shards());
    // Nothing of that stream was solved.
    assert_eq!(dec.stats().recovered, 0, "{:?}", dec.stats());
}

#[test]
fn auto_tune_still_follows_kcptun_shapes() {
    for (k, m) in [(10, 3), (20, 10), (16, 16), (1, 31)] {
        let peer = Shards::new(k, m).unwrap();
        let mut dec = unconfigured();
        feed(&mut dec, peer, 0, 40 * peer.total() as u32, |_| true);
        assert_eq!(dec.shards(), peer);
    }
}

#[test]
fn auto_tune_follows_up_to_the_configured_counts() {
    // A decoder configured for 40+20 follows a peer at 50+10, beyond the default 32.
    let mut cfg = DecoderConfig::new(Shards::new(40, 20).unwrap());
    cfg.groups = 2;
    let mut dec = Decoder::new(cfg).unwrap();
    let peer = Shards::new(50, 10).unwrap();
    feed(&mut dec, peer, 0, 20 * 60, |_| true);
    assert_eq!(dec.shards(), peer);
}

/// The bomb: of each group, `min(data, parity)` tiny parity shards and the rest of the
/// data shards, so every group needs that many data shards rebuilt.
fn bomb(dec: &mut Decoder, shards: Shards, groups: u32) {
    let (k, m) = (shards.data() as u32, shards.parity() as u32);
    let r = k.min(m);
    feed(dec, shards, 0, groups * (k + m), |s| {
        let pos = s % (k + m);
        if pos < k { pos >= r } else { pos - k < r }
    });
}

#[test]
fn a_configured_128_plus_128_decoder_solves_only_what_the_bytes_pay_for() {
    let shards = Shards::new(128, 128).unwrap();
    let mut cfg = DecoderConfig::new(shards);
    cfg.auto_tune = false;
    let mut dec = Decoder::new(cfg).unwrap();
    bomb(&mut dec, shards, 64);
    let st = dec.stats();
    // Unbounded, each of the 64 groups is a 128 x 128 inversion (128 frames rebuilt).
    // 128 tiny packets pay for a small part of one.
    assert!(st.recovered <= 2 * 128, "{st:?}");
    assert!(st.over_budget >= 62, "{st:?}");
}

#[test]
fn padding_tiny_shards_to_one_long_one_is_paid_for() {
    // 16+16 within the auto-tune limit: each group has one 1,400-byte parity shard and 15
    // tiny ones, so rebuilding 16 data shards means 16 x 16 x 1,400 multiply-adds for
    // about 1,500 bytes received.
    let shards = Shards::new(16, 16).unwrap();
    let mut cfg = DecoderConfig::new(shards);
    cfg.auto_tune = false;
    let mut dec = Decoder::new(cfg).unwrap();
    for g in 0..64u32 {
        for q in 0..16u32 {
            let p = packet(g * 32 + 16 + q, false, if q == 0 { 1400 } else { 2 });
            dec.decode(&p, 0, |_| {}).unwrap();
        }
    }
    let st = dec.stats();
    assert!(st.recovered <= 16 * 16, "{st:?}");
    assert!(st.over_budget >= 48, "{st:?}");
}

#[test]
fn honest_losses_are_never_over_budget() {
    // kcptun's 10+3 losing 3 data shards of every group, 16+16 losing all 16 data shards
    // of full-size packets, or 8 of the smallest KCP packets (24-byte header, 8-byte FEC
    // header).
    for (k, m, r, len) in [
        (10, 3, 3, 1400),
        (10, 3, 3, 26),
        (16, 16, 16, 1400),
        (16, 16, 8, 26),
    ] {
        let shards = Shards::new(k, m).unwrap();
        let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
        let n = shards.total() as u32;
        for s in 0..200 * n {
            let pos = s % n;
            if pos < r {
                continue;
            }
            let p = packet(s, pos < k as u32, len);
            dec.decode(&p, 0, |_| {}).unwrap();
        }
        let st = dec.stats();
        assert_eq!(st.recovered, 200 * u64::from(r), "{k}+{m} {len}: {st:?}");
        assert_eq!(st.over_budget, 0, "{k}+{m} {len}: {st:?}");
    }
}

#[test]
fn tiny_shards_take_tiny_buffers() {
    // A full window of 16+16 groups of 8-byte packets, each group held open (one shard
    // short of solving): the buffers are the shards' size, not a 1,500-byte MTU each.
    let shards = Shards::new(16, 16).unwrap();
    let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
    feed(&mut dec, shards, 0, 40 * 32, |_| true);
    feed(&mut dec, shards, 40 * 32, 44 * 32, |s| {
        s % 32 != 0 && s % 32 < 16
    });
    assert_eq!(dec.groups_held(), 4);
    // 4 groups x 15 shards of 2 bytes, plus bookkeeping; an MTU per shard is 90 KB.
    assert!(dec.retained_bytes() < 24_000, "{}", dec.retained_bytes());
}

#[test]
fn the_memory_bound_follows_the_auto_tune_limit() {
    // 10+3 with auto-tune: groups of at most 32 shards, not 256.
    let cfg = DecoderConfig::new(Shards::new(10, 3).unwrap());
    assert!(cfg.memory_bound() < 250_000, "{}", cfg.memory_bound());
}

#[test]
fn the_limits_are_checked_and_zero_work_disables_recovery() {
    let shards = Shards::new(10, 3).unwrap();
    for bad in [0, 1, 257] {
        let mut cfg = DecoderConfig::new(shards);
        cfg.auto_tune_max_total = bad;
        assert_eq!(
            Decoder::new(cfg).unwrap_err(),
            kcp_fec::ConfigError::TooManyShards
        );
    }
    let mut cfg = DecoderConfig::new(shards);
    cfg.work_per_byte = 0;
    let mut dec = Decoder::new(cfg).unwrap();
    // Every group loses its first data shard: nothing is rebuilt, every group is counted.
    feed(&mut dec, shards, 0, 10 * 13, |s| s % 13 != 0);
    let st = dec.stats();
    assert_eq!((st.recovered, st.over_budget), (0, 10), "{st:?}");
}
