//! kcp-fec in the shapes of kcp-go's own FEC benchmarks (`fec_test.go`), so the figures
//! line up with `go test -bench FEC` on the same machine:
//!
//! - `fec/FECEncode`: a 10+3 encoder without crypto header; one 1500-byte datagram per
//!   iteration (kcp-go allocates a fresh one each time; we reuse ours, as a session does).
//! - `fec/FECDecode`: a 10+3 decoder; per iteration the next seqid, dropped with
//!   probability 1/13 (a dropped iteration does nothing but still counts, as in kcp-go),
//!   otherwise a 1500-byte data or parity packet.
//!
//! Throughput is 1500 bytes per iteration in both, as kcp-go's `b.SetBytes(1500)`.
//! `scripts/bench-fec.sh` runs these with and without the `kcp-fec/simd` feature next to
//! kcp-go's benchmarks and prints the ratios.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use kcp_fec::{Decoder, DecoderConfig, Encoder, EncoderConfig, Shards, TYPE_DATA, TYPE_PARITY};

const DATA: usize = 10;
const PARITY: usize = 3;
const PAYLOAD: usize = 1500;

fn shards() -> Shards {
    Shards::new(DATA, PARITY).expect("10+3 is valid")
}

fn fec_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    let mut enc = Encoder::new(EncoderConfig::new(shards())).expect("encoder");
    let mut datagram = vec![0u8; PAYLOAD];
    g.bench_function("FECEncode", |b| {
        b.iter(|| {
            enc.encode(black_box(&mut datagram), 0, |p| {
                black_box(p.as_bytes());
            })
            .expect("1500 bytes fit");
        });
    });
    g.finish();
}

fn fec_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    let mut dec = Decoder::new(DecoderConfig::new(shards())).expect("decoder");
    let mut pkt = vec![0u8; PAYLOAD];
    // A valid size field, so rebuilt shards reach the callback like real frames.
    pkt[6..8].copy_from_slice(&((PAYLOAD - 6) as u16).to_le_bytes());
    let n = (DATA + PARITY) as u32;
    let mut seqid = 0u32;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    g.bench_function("FECDecode", |b| {
        b.iter(|| {
            let s = seqid;
            seqid = seqid.wrapping_add(1) % shards().paws();
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if rng % u64::from(n) == 0 {
                return; // random loss
            }
            let kind = if s % n < DATA as u32 {
                TYPE_DATA
            } else {
                TYPE_PARITY
            };
            pkt[..4].copy_from_slice(&s.to_le_bytes());
            pkt[4..6].copy_from_slice(&kind.to_le_bytes());
            let frame = dec
                .decode(black_box(&pkt), 0, |r| {
                    black_box(r);
                })
                .expect("well-formed packet");
            black_box(frame);
        });
    });
    g.finish();
    let st = dec.stats();
    assert!(st.recovered > 0 && st.errors == 0, "decoder stats {st:?}");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    fec_encode(&mut c);
    fec_decode(&mut c);
    c.final_summary();
}
