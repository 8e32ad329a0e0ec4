//! Known-answer vectors produced by the real kcp-go 5.6.1, through every GF(2^8) kernel
//! this CPU runs.

use kcp_fec::{
    ConfigError, DecodeError, Decoder, DecoderConfig, EncodeError, Encoder, EncoderConfig,
    FecPacket, Kernel, PacketKind, Shards, classify,
};

fn kernels() -> impl Iterator<Item = Kernel> {
    Kernel::available()
}

/// Decodes hex written in groups (`"00000000 f100 0700"`, a field a group).
fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// Encodes `frames` behind `offset` bytes of crypto header; returns the datagrams in send
/// order (each data datagram, then the parity of a group it completes).
fn encode_all(enc: &mut Encoder, frames: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut wire = Vec::new();
    for frame in frames {
        let mut d = vec![0u8; enc.header_len()];
        d.extend_from_slice(frame);
        let mut parity = Vec::new();
        enc.encode(&mut d, 0, |p| parity.push(p.as_bytes().to_vec()))
            .unwrap();
        wire.push(d);
        wire.extend(parity);
    }
    wire
}

#[test]
fn kcp_go_fec_2_1_without_crypto() {
    for kernel in kernels() {
        fec_2_1_without_crypto(kernel);
    }
}

fn fec_2_1_without_crypto(kernel: Kernel) {
    let shards = Shards::new(2, 1).unwrap();
    let mut cfg = EncoderConfig::new(shards);
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    let wire = encode_all(&mut enc, &[&hex("0102030405"), &hex("090807")]);
    assert_eq!(
        wire,
        [
            hex("00000000 f100 0700 0102030405"),
            hex("01000000 f100 0500 090807"),
            hex("02000000 f200 030011160b0c0f"),
        ]
    );
    assert_eq!(enc.next_seqid(), 3);

    // Every single loss is repaired from the other two.
    for lost in 0..3 {
        let mut cfg = DecoderConfig::new(shards);
        cfg.kernel = Some(kernel);
        let mut dec = Decoder::new(cfg).unwrap();
        let mut out = Vec::new();
        for (i, p) in wire.iter().enumerate() {
            if i == lost {
                continue;
            }
            if let Some(f) = dec.decode(p, 0, |r| out.push(r.to_vec())).unwrap() {
                out.push(f.to_vec());
            }
        }
        out.sort();
        assert_eq!(
            out,
            [hex("0102030405"), hex("090807")],
            "{kernel} lost {lost}"
        );
        assert_eq!(dec.stats().recovered, u64::from(lost < 2));
    }
}

/// The FEC part of the full-pipeline vector (AES-256 + FEC 2/1): the plaintext datagrams
/// before encryption, with kcp-go's 20-byte nonce + CRC32 header in front.
#[test]
fn kcp_go_fec_2_1_behind_the_crypto_header() {
    for kernel in kernels() {
        fec_2_1_behind_the_crypto_header(kernel);
    }
}

fn fec_2_1_behind_the_crypto_header(kernel: Kernel) {
    let shards = Shards::new(2, 1).unwrap();
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = 20;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    assert_eq!(enc.header_len(), 28);
    // One WASK segment: conv 0x11223344, cmd 0x53, wnd 32, the rest 0.
    let wask = hex("443322115300200000000000000000000000000000000000");
    let wire = encode_all(&mut enc, &[&wask, &wask]);
    let tail = "4433221153002000 0000000000000000 0000000000000000";
    let expect_fec = [
        hex(&format!("00000000 f100 1a00 {tail}")),
        hex(&format!("01000000 f100 1a00 {tail}")),
        hex(&format!("02000000 f200 1a00 {tail}")),
    ];
    let expect_crc = ["50cd6707", "fac8bdf6", "62c77c3d"];
    for ((d, fec), crc) in wire.iter().zip(&expect_fec).zip(expect_crc) {
        assert_eq!(d.len(), 52);
        assert_eq!(&d[20..], &fec[..], "{kernel}");
        // kcp-go's CRC32 over bytes 20.. matches the vector: the layout is the same.
        assert_eq!(crc32fast::hash(&d[20..]).to_le_bytes().to_vec(), hex(crc));
    }
}

#[test]
fn classify_and_view() {
    let data = hex("05000000 f100 0500 090807");
    let parity = hex("02000000 f200 030011160b0c0f");
    assert_eq!(classify(&data), PacketKind::Data);
    assert_eq!(classify(&parity), PacketKind::Parity);
    // A KCP segment: byte 4 is cmd (0x51..0x54).
    assert_eq!(classify(&hex("44332211 5100 2000")), PacketKind::Kcp);
    assert_eq!(classify(&hex("0000f1")), PacketKind::Kcp);
    // The u16 must be exactly 0x00F1: a KCP segment with cmd 0xF1 would need frg 0 too.
    assert_eq!(classify(&hex("00000000 f101")), PacketKind::Kcp);

    let v = FecPacket::new_checked(&data).unwrap();
    assert_eq!((v.seqid(), v.kind()), (5, PacketKind::Data));
    assert_eq!(v.shard(), &hex("0500 090807")[..]);
    assert_eq!(v.frame(), Some(&hex("090807")[..]));
    assert_eq!(FecPacket::new_checked(&parity).unwrap().frame(), None);
    assert_eq!(
        FecPacket::new_checked(&hex("00000000 f100 05")),
        Err(DecodeError::Truncated { len: 7 })
    );
    assert_eq!(
        FecPacket::new_checked(&hex("44332211 5100 2000")),
        Err(DecodeError::NotFec)
    );
}

#[test]
fn paws_and_configuration_limits() {
    assert_eq!(Shards::new(10, 3).unwrap().paws(), 4_294_967_287);
    assert_eq!(Shards::new(1, 1).unwrap().paws(), 4_294_967_294);
    assert_eq!(Shards::new(0, 3), Err(ConfigError::ZeroShards));
    assert_eq!(Shards::new(3, 0), Err(ConfigError::ZeroShards));
    assert_eq!(Shards::new(200, 57), Err(ConfigError::TooManyShards));
    assert!(Shards::new(200, 56).is_ok());

    let shards = Shards::new(3, 1).unwrap();
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = 1495;
    assert_eq!(Encoder::new(cfg).unwrap_err(), ConfigError::BadSizeLimit);
    let mut cfg = EncoderConfig::new(shards);
    cfg.max_datagram = 70_000;
    assert_eq!(Encoder::new(cfg).unwrap_err(), ConfigError::BadSizeLimit);
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = usize::MAX;
    assert_eq!(Encoder::new(cfg).unwrap_err(), ConfigError::BadSizeLimit);
    let mut cfg = EncoderConfig::new(shards);
    cfg.tailroom = usize::MAX;
    assert_eq!(Encoder::new(cfg).unwrap_err(), ConfigError::BadSizeLimit);
    let mut cfg = EncoderConfig::new(shards);
    (cfg.offset, cfg.max_datagram) = (65_527, 65_535);
    assert!(Encoder::new(cfg).is_ok(), "the largest layout");
    let mut cfg = DecoderConfig::new(shards);
    cfg.max_packet = usize::MAX;
    assert_eq!(Decoder::new(cfg).unwrap_err(), ConfigError::BadSizeLimit);
    let mut cfg = DecoderConfig::new(shards);
    cfg.groups = 0;
    assert_eq!(Decoder::new(cfg).unwrap_err(), ConfigError::BadGroupCount);

    let mut enc = Encoder::new(EncoderConfig::new(shards)).unwrap();
    assert_eq!(
        enc.encode(&mut [0u8; 7], 0, |_| {}),
        Err(EncodeError::TooShort { len: 7 })
    );
    assert_eq!(
        enc.encode(&mut [0u8; 1501], 0, |_| {}),
        Err(EncodeError::TooLong { len: 1501 })
    );
    assert_eq!(enc.next_seqid(), 0, "refused datagrams use no seqid");
    let mut dec = Decoder::new(DecoderConfig::new(shards)).unwrap();
    assert_eq!(
        dec.decode(&[0u8; 1501], 0, |_| {}),
        Err(DecodeError::TooLong { len: 1501 })
    );
}
