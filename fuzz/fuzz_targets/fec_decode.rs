//! Arbitrary shard counts and limits (the auto-tune ceiling, the decode work budget, a
//! peer's groups beyond that ceiling) and an arbitrary sequence of datagrams into the FEC
//! decoder: hostile packets (any seqid, type, length, bytes), honest ones from our encoder
//! (some of them dropped) and clock jumps, interleaved. Nothing may panic, errors must match the
//! input, rebuilt frames must fit in a packet, and the decoder's memory must stay within
//! the bound its configuration documents.
#![no_main]
use arbitrary::Arbitrary;
use kcp_fec::{
    DATA_HEADER_LEN, DecodeError, Decoder, DecoderConfig, Encoder, EncoderConfig, MTU_LIMIT,
    Shards, TYPE_DATA, TYPE_PARITY,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Seq {
    /// One after the previous hostile seqid.
    Next,
    /// A small step forward or back.
    Step(i8),
    /// Anywhere.
    At(u32),
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A crafted FEC packet.
    Hostile {
        seq: Seq,
        parity: bool,
        body: Vec<u8>,
    },
    /// Raw bytes, FEC-typed or not, of any length.
    Raw(Vec<u8>),
    /// An honest datagram from the peer's encoder; its datagrams may be dropped.
    Honest {
        len: u16,
        drop_data: bool,
        drop_parity: bool,
    },
    /// Time passes.
    Wait(u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    data: u8,
    parity: u8,
    peer_data: u8,
    peer_parity: u8,
    groups: u8,
    auto_tune: bool,
    auto_tune_max_total: u8,
    work_per_byte: u8,
    expire: Option<u16>,
    ops: Vec<Op>,
}

fn shards(data: u8, parity: u8) -> Shards {
    let data = usize::from(data % 16) + 1;
    let parity = usize::from(parity % 8) + 1;
    Shards::new(data, parity).expect("at most 24 shards")
}

/// The peer's counts reach past the decoder's default auto-tune ceiling (32 in all).
fn peer_shards(data: u8, parity: u8) -> Shards {
    let data = usize::from(data % 48) + 1;
    let parity = usize::from(parity % 24) + 1;
    Shards::new(data, parity).expect("at most 72 shards")
}

fuzz_target!(|input: Input| {
    let mut cfg = DecoderConfig::new(shards(input.data, input.parity));
    cfg.groups = usize::from(input.groups % 8) + 1;
    cfg.auto_tune = input.auto_tune;
    cfg.auto_tune_max_total = usize::from(input.auto_tune_max_total % 63) + 2;
    cfg.work_per_byte = u32::from(input.work_per_byte % 41);
    cfg.expire_ms = input.expire.map(u32::from);
    let bound = cfg.memory_bound();
    let mut dec = Decoder::new(cfg).expect("valid configuration");
    let mut enc = Encoder::new(EncoderConfig::new(peer_shards(
        input.peer_data,
        input.peer_parity,
    )))
    .expect("valid configuration");

    let mut now = 0u32;
    let mut seqid = 0u32;
    let mut packet = Vec::with_capacity(MTU_LIMIT + 1);
    let mut parity = Vec::new();
    let check = |dec: &mut Decoder, packet: &[u8], now: u32| {
        let result = dec.decode(packet, now, |frame| {
            assert!(frame.len() <= MTU_LIMIT - DATA_HEADER_LEN);
        });
        match result {
            Ok(Some(frame)) => assert_eq!(frame, &packet[DATA_HEADER_LEN..]),
            Ok(None) => assert_eq!(packet[4..6], TYPE_PARITY.to_le_bytes()),
            Err(DecodeError::TooLong { len }) => assert!(len > MTU_LIMIT),
            Err(DecodeError::Truncated { len }) => assert!(len < DATA_HEADER_LEN),
            Err(DecodeError::NotFec) => {
                assert!(
                    packet.len() < 6 || ![[0xF1, 0], [0xF2, 0]].contains(&[packet[4], packet[5]])
                );
            }
            Err(e) => panic!("unexpected error {e}"),
        }
        assert!(
            dec.retained_bytes() <= bound,
            "{} > {bound}",
            dec.retained_bytes()
        );
        assert!(dec.groups_held() <= usize::from(input.groups % 8) + 1);
    };

    for op in input.ops.iter().take(4096) {
        match op {
            Op::Hostile { seq, parity, body } => {
                seqid = match seq {
                    Seq::Next => seqid.wrapping_add(1),
                    Seq::Step(d) => seqid.wrapping_add_signed(i32::from(*d)),
                    Seq::At(s) => *s,
                };
                let kind = if *parity { TYPE_PARITY } else { TYPE_DATA };
                packet.clear();
                packet.extend_from_slice(&seqid.to_le_bytes());
                packet.extend_from_slice(&kind.to_le_bytes());
                packet.extend_from_slice(&body[..body.len().min(MTU_LIMIT)]);
                check(&mut dec, &packet, now);
            }
            Op::Raw(bytes) => check(&mut dec, &bytes[..bytes.len().min(MTU_LIMIT + 8)], now),
            Op::Honest {
                len,
                drop_data,
                drop_parity,
            } => {
                let len = DATA_HEADER_LEN + usize::from(*len) % (MTU_LIMIT - DATA_HEADER_LEN + 1);
                packet.clear();
                packet.resize(len, 0x5A);
                parity.clear();
                enc.encode(&mut packet, now, |p| parity.push(p.as_bytes().to_vec()))
                    .expect("fits");
                if !drop_data {
                    check(&mut dec, &packet, now);
                }
                if !drop_parity {
                    for p in &parity {
                        check(&mut dec, p, now);
                    }
                }
            }
            Op::Wait(ms) => now = now.wrapping_add(*ms),
        }
    }
});
