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
//!
//! The cost of a hostile peer, one 8-byte datagram (a 2-byte shard) per iteration, through
//! a decoder built as a session builds one for a peer whose FEC it did not configure
//! (`DecoderConfig::new` at 1/1, auto-tune on):
//!
//! - `fec/tiny-honest`: an honest 10+3 sender of tiny datagrams losing about 1 in 13,
//!   the reference a hostile datagram is compared with;
//! - `fec/tiny-bomb-<data>+<parity>`: the FEC bomb. The attacker first sends full groups
//!   of `data + parity` so that auto-tune follows those counts, then, of each group, only
//!   `data` shards, as many of them parity as the counts allow, so that every group needs
//!   `min(data, parity)` data shards rebuilt (a different choice of data shards in each
//!   group, so that no two solves are the same).
//! - `fec/tiny-bomb-128+128-configured`: the same against a decoder configured for 128+128
//!   without auto-tune, where only the decode work budget stands in the way.

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

/// Tiny (8-byte) FEC datagrams of an honest sender or of the FEC bomb: the shard is the
/// 2-byte size field alone, the smallest packet the decoder takes.
struct Tiny {
    shards: Shards,
    seqid: u32,
    rng: u64,
    /// First data position kept in the bomb's current group.
    start: u32,
    pkt: [u8; 8],
}

impl Tiny {
    fn new(shards: Shards) -> Tiny {
        Tiny {
            shards,
            seqid: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            start: 0,
            pkt: [0; 8],
        }
    }

    fn next_rng(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// The packet for `seqid`, typed by its position, with a valid size field (2).
    fn packet(&mut self, seqid: u32) -> &[u8] {
        let n = self.shards.total() as u32;
        let kind = if seqid % n < self.shards.data() as u32 {
            TYPE_DATA
        } else {
            TYPE_PARITY
        };
        self.pkt[..4].copy_from_slice(&seqid.to_le_bytes());
        self.pkt[4..6].copy_from_slice(&kind.to_le_bytes());
        self.pkt[6..8].copy_from_slice(&2u16.to_le_bytes());
        &self.pkt
    }

    /// The next datagram of an honest sender that loses about 1 in `loss` datagrams
    /// (`loss == 0`: none).
    fn honest(&mut self, loss: u64) -> &[u8] {
        loop {
            let s = self.seqid;
            self.seqid += 1;
            if loss == 0 || !self.next_rng().is_multiple_of(loss) {
                return self.packet(s);
            }
        }
    }

    /// Moves to the first seqid of the next group.
    fn align(&mut self) {
        let n = self.shards.total() as u32;
        self.seqid = self.seqid.div_ceil(n) * n;
    }

    /// The next datagram of the FEC bomb: of each group, the first `min(data, parity)`
    /// parity shards and `data - min(data, parity)` data shards from a random position
    /// on (wrapping), so every group needs `min(data, parity)` data shards rebuilt.
    fn bomb(&mut self) -> &[u8] {
        let (k, m) = (self.shards.data() as u32, self.shards.parity() as u32);
        let r = k.min(m);
        loop {
            let s = self.seqid;
            self.seqid += 1;
            let pos = s % (k + m);
            if pos == 0 {
                self.start = (self.next_rng() % u64::from(k)) as u32;
            }
            let keep = if pos < k {
                (pos + k - self.start) % k < k - r
            } else {
                pos - k < r
            };
            if keep {
                return self.packet(s);
            }
        }
    }
}

/// The decoder a session builds for a peer whose FEC it did not configure.
fn unconfigured_decoder() -> Decoder {
    Decoder::new(DecoderConfig::new(Shards::new(1, 1).expect("1/1"))).expect("decoder")
}

fn tiny_honest(c: &mut Criterion) {
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Elements(1));
    let mut dec = unconfigured_decoder();
    let mut src = Tiny::new(shards());
    g.bench_function("tiny-honest", |b| {
        b.iter(|| {
            let pkt = src.honest(u64::from((DATA + PARITY) as u32));
            let frame = dec.decode(black_box(pkt), 0, |r| {
                black_box(r);
            });
            black_box(frame.expect("well-formed packet"));
        });
    });
    g.finish();
    let st = dec.stats();
    assert_eq!(st.errors, 0, "decoder stats {st:?}");
}

/// The FEC bomb with the counts `data + parity`, against the decoder of `dec`.
fn tiny_bomb(c: &mut Criterion, name: &str, mut dec: Decoder, data: usize, parity: usize) {
    let target = Shards::new(data, parity).expect("valid counts");
    let mut src = Tiny::new(target);
    // Detection retries every 16 samples after the first mismatch, and 258 samples hold a
    // run of 128 data and one of 128 parity bounded on both sides only when the newest
    // sample is a group's first. Starting at parity shard 16 of group 0 (a seqid that is
    // a multiple of 16, even, so a mismatch under 1+1) lines the retries up with group
    // starts; smaller groups fit the samples several times over and need no alignment.
    src.seqid = (data + 16) as u32;
    // Full groups until auto-tune follows (or refuses to follow) the attacker's counts.
    for _ in 0..20 * target.total() {
        let pkt = src.honest(0);
        dec.decode(pkt, 0, |_| {}).expect("well-formed packet");
    }
    eprintln!(
        "fec/{name}: decoder follows {}+{}",
        dec.shards().data(),
        dec.shards().parity()
    );
    src.align();
    let mut g = c.benchmark_group("fec");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            let pkt = src.bomb();
            let frame = dec.decode(black_box(pkt), 0, |r| {
                black_box(r);
            });
            black_box(frame.expect("well-formed packet"));
        });
    });
    g.finish();
    eprintln!("fec/{name}: {:?}", dec.stats());
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
    tiny_honest(&mut c);
    tiny_bomb(&mut c, "tiny-bomb-16+16", unconfigured_decoder(), 16, 16);
    tiny_bomb(
        &mut c,
        "tiny-bomb-128+128",
        unconfigured_decoder(),
        128,
        128,
    );
    let mut cfg = DecoderConfig::new(Shards::new(128, 128).expect("128+128"));
    cfg.auto_tune = false;
    let configured = Decoder::new(cfg).expect("decoder");
    tiny_bomb(&mut c, "tiny-bomb-128+128-configured", configured, 128, 128);
    c.final_summary();
}
