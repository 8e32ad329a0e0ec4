//! kcp-fec in the shapes of kcp-go's own FEC benchmarks (`fec_test.go`), so the figures
//! line up with `go test -bench FEC` on the same machine:
//!
//! - `fec/FECEncode`: a 10+3 encoder without crypto header; one 1500-byte datagram per
//!   iteration (kcp-go allocates a fresh one each time; we reuse ours, as a session does).
//! - `fec/FECDecode`: a 10+3 decoder; per iteration the next seqid, dropped with
//!   probability 1/13 (a dropped iteration does nothing but still counts, as in kcp-go),
//!   otherwise a 1500-byte data or parity packet.
//!
//! Throughput is 1500 bytes per iteration in both, as kcp-go's `b.SetBytes(1500)`. The
//! plain names run the kernel a default build picks on this CPU; `FECEncode-<kernel>` and
//! `FECDecode-<kernel>` run each GF(2^8) kernel the CPU has (`portable`, `ssse3`, `avx2`,
//! `neon`). `scripts/bench-fec.sh` runs them next to kcp-go's benchmarks and prints the
//! ratios.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use kcp_fec::{
    Decoder, DecoderConfig, Encoder, EncoderConfig, Kernel, Shards, TYPE_DATA, TYPE_PARITY,
};

const DATA: usize = 10;
const PARITY: usize = 3;
const PAYLOAD: usize = 1500;

fn shards() -> Shards {
    Shards::new(DATA, PARITY).expect("10+3 is valid")
}

/// The benchmark name for `kernel`: the plain name for the default choice.
fn name(base: &str, kernel: Option<Kernel>) -> String {
    match kernel {
        None => base.to_string(),
        Some(k) => format!("{base}-{k}"),
    }
}

fn fec_encode(c: &mut Criterion, kernel: Option<Kernel>) {
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    let mut cfg = EncoderConfig::new(shards());
    cfg.kernel = kernel;
    let mut enc = Encoder::new(cfg).expect("encoder");
    let mut datagram = vec![0u8; PAYLOAD];
    g.bench_function(name("FECEncode", kernel), |b| {
        b.iter(|| {
            enc.encode(black_box(&mut datagram), 0, |p| {
                black_box(p.as_bytes());
            })
            .expect("1500 bytes fit");
        });
    });
    g.finish();
}

fn fec_decode(c: &mut Criterion, kernel: Option<Kernel>) {
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    let mut cfg = DecoderConfig::new(shards());
    cfg.kernel = kernel;
    let mut dec = Decoder::new(cfg).expect("decoder");
    let mut pkt = vec![0u8; PAYLOAD];
    // A valid size field, so rebuilt shards reach the callback like real frames.
    pkt[6..8].copy_from_slice(&((PAYLOAD - 6) as u16).to_le_bytes());
    let n = (DATA + PARITY) as u32;
    let mut seqid = 0u32;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    g.bench_function(name("FECDecode", kernel), |b| {
        b.iter(|| {
            let s = seqid;
            seqid = seqid.wrapping_add(1) % shards().paws();
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if rng.is_multiple_of(u64::from(n)) {
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
    // The decoder took every packet, and did real work over a measured run (a filter that
    // skips this benchmark, or `--test`'s single iteration, sees too few groups to lose one).
    let st = dec.stats();
    assert_eq!(st.errors, 0, "decoder stats {st:?}");
    if st.data_shards + st.parity_shards >= 100 * u64::from(n) {
        assert!(st.recovered > 0, "decoder stats {st:?}");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    // scripts/bench-fec.sh reads this line to label the plain benchmarks.
    eprintln!("fec: default kernel {}", Kernel::best());
    let kernels = Kernel::available();
    for kernel in std::iter::once(None).chain(kernels.map(Some)) {
        fec_encode(&mut c, kernel);
        fec_decode(&mut c, kernel);
    }
    c.final_summary();
}
