//! kcp-core against the real C ikcp 1.7.1, in the same process, through the same harness.
//!
//! - `bulk_100MiB`: two endpoints move 100 MiB in 1000-byte messages over a perfect
//!   in-memory link (explicit clock, one thread; nodelay 1/10/2/1, windows 1024, MTU 1400).
//! - `bulk_100MiB_loss10`: the same with every 10th datagram dropped in each direction.
//! - `flush_1024_idle`: one flush over 1024 in-flight segments of which none is due (the
//!   shape of kcp-go's BenchmarkFlush).
//! - Before the timings, the allocations per datagram of a steady-state transfer are
//!   counted and printed (target: zero).
//!
//! `scripts/bench-core.sh` runs this and prints the ratios ours / C.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use kcp_core::Kcp;
use kcp_testkit::ikcp::CKcp;

/// Counts allocations (on the measuring thread), to report allocations per packet.
#[global_allocator]
static GLOBAL: kcp_testkit::counting_alloc::Counting = kcp_testkit::counting_alloc::Counting;

const CONV: u32 = 0x1122_3344;
const WINDOW: u32 = 1024;
const MESSAGE: usize = 1000;
const BULK: usize = 100 << 20;

/// The calls the harness makes, implemented by both engines the same way: output
/// datagrams are collected into a `Vec<Vec<u8>>` (the C wrapper's way) on both sides.
trait Engine {
    fn create() -> Self;
    fn send(&mut self, data: &[u8]);
    fn wait_snd(&self) -> usize;
    fn update(&mut self, now: u32, wire: &mut Vec<Vec<u8>>);
    fn flush(&mut self);
    fn input(&mut self, datagram: &[u8]);
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize>;
}

impl Engine for Kcp {
    fn create() -> Self {
        let mut k = Kcp::new(CONV);
        k.set_nodelay(1, 10, 2, true);
        k.set_window_size(WINDOW, WINDOW).expect("valid window");
        k
    }
    fn send(&mut self, data: &[u8]) {
        Kcp::send(self, data).expect("message fits");
    }
    fn wait_snd(&self) -> usize {
        Kcp::wait_snd(self)
    }
    fn update(&mut self, now: u32, wire: &mut Vec<Vec<u8>>) {
        Kcp::update(self, now, |d: &mut [u8]| wire.push(d.to_vec()));
    }
    fn flush(&mut self) {
        Kcp::flush(self, |d: &mut [u8]| {
            black_box(d);
        });
    }
    fn input(&mut self, datagram: &[u8]) {
        Kcp::input(self, datagram).expect("valid datagram");
    }
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        Kcp::recv(self, buf).ok()
    }
}

impl Engine for CKcp {
    fn create() -> Self {
        let mut k = CKcp::new(CONV);
        k.set_nodelay(1, 10, 2, 1);
        k.set_window_size(WINDOW as i32, WINDOW as i32);
        k
    }
    fn send(&mut self, data: &[u8]) {
        assert!(CKcp::send(self, data) >= 0);
    }
    fn wait_snd(&self) -> usize {
        CKcp::wait_snd(self) as usize
    }
    fn update(&mut self, now: u32, wire: &mut Vec<Vec<u8>>) {
        CKcp::update(self, now);
        self.drain_output(wire);
    }
    fn flush(&mut self) {
        CKcp::flush(self);
        black_box(self.take_output());
    }
    fn input(&mut self, datagram: &[u8]) {
        assert_eq!(CKcp::input(self, datagram), 0);
    }
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        let n = CKcp::recv(self, buf);
        (n >= 0).then_some(n as usize)
    }
}

/// Moves `total` bytes from a sender to a receiver, dropping every `drop_every`-th
/// datagram in each direction; returns the virtual milliseconds it took.
fn bulk<E: Engine>(total: usize, drop_every: Option<u64>) -> u32 {
    let (mut a, mut b) = (E::create(), E::create());
    let msg = [0x5Au8; MESSAGE];
    let mut buf = vec![0u8; 4 * MESSAGE];
    let (mut ab, mut ba) = (Vec::new(), Vec::new());
    let (mut sent, mut received, mut now, mut n) = (0, 0, 0u32, 0u64);
    let dropped = |n: &mut u64| {
        *n += 1;
        drop_every.is_some_and(|k| (*n).is_multiple_of(k))
    };
    while received < total {
        while sent < total && a.wait_snd() < 2 * WINDOW as usize {
            a.send(&msg);
            sent += MESSAGE;
        }
        a.update(now, &mut ab);
        for d in ab.drain(..) {
            if !dropped(&mut n) {
                b.input(&d);
            }
        }
        b.update(now, &mut ba);
        for d in ba.drain(..) {
            if !dropped(&mut n) {
                a.input(&d);
            }
        }
        while let Some(k) = b.recv(&mut buf) {
            received += k;
        }
        now += 10;
    }
    now
}

/// One endpoint with 1024 segments in flight, none of them due: the state kcp-go's
/// BenchmarkFlush sets up.
fn idle_flight<E: Engine>() -> E {
    let mut k = E::create();
    // The peer announces a window of 4096 so that all 1024 segments enter flight.
    let mut wins = [0u8; 24];
    wins[..4].copy_from_slice(&CONV.to_le_bytes());
    wins[4] = 84;
    wins[6..8].copy_from_slice(&4096u16.to_le_bytes());
    k.input(&wins);
    for _ in 0..1024 {
        k.send(&[1u8; MESSAGE]);
    }
    let mut wire = Vec::new();
    k.update(0, &mut wire);
    assert_eq!(k.wait_snd(), 1024);
    k
}

/// Allocations per datagram of kcp-core in steady state, with a harness that itself
/// allocates nothing (datagrams go straight from one endpoint's output to the other's
/// input).
fn allocations_per_datagram() -> (u64, u64) {
    let (mut a, mut b) = (Kcp::create(), Kcp::create());
    let msg = [0x5Au8; MESSAGE];
    let mut buf = vec![0u8; 4 * MESSAGE];
    let mut acks: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut now = 0u32;
    let mut datagrams = 0u64;
    let mut run = |steps: u32, datagrams: &mut u64| {
        for _ in 0..steps {
            while a.wait_snd() < 2 * WINDOW as usize {
                Kcp::send(&mut a, &msg).expect("fits");
            }
            Kcp::update(&mut a, now, |d: &mut [u8]| {
                *datagrams += 1;
                b.input(d).expect("valid");
            });
            acks.clear();
            Kcp::update(&mut b, now, |d: &mut [u8]| {
                *datagrams += 1;
                acks.extend_from_slice(d);
                a.input(d).expect("valid");
            });
            while b.recv(&mut buf).is_ok() {}
            now += 10;
        }
    };
    run(200, &mut datagrams); // warm-up: buffers and queues reach their working size
    datagrams = 0;
    let ((), usage) = kcp_testkit::counting_alloc::measure(|| run(500, &mut datagrams));
    (usage.allocations, datagrams)
}

fn bench_bulk(c: &mut Criterion) {
    for (name, drop_every) in [("bulk_100MiB", None), ("bulk_100MiB_loss10", Some(10))] {
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        g.throughput(Throughput::Bytes(BULK as u64));
        g.bench_function(BenchmarkId::from_parameter("rust"), |bench| {
            bench.iter(|| bulk::<Kcp>(BULK, drop_every));
        });
        g.bench_function(BenchmarkId::from_parameter("c"), |bench| {
            bench.iter(|| bulk::<CKcp>(BULK, drop_every));
        });
        g.finish();
    }
}

fn bench_flush(c: &mut Criterion) {
    let mut g = c.benchmark_group("flush_1024_idle");
    let mut rust = idle_flight::<Kcp>();
    g.bench_function(BenchmarkId::from_parameter("rust"), |bench| {
        bench.iter(|| Engine::flush(&mut rust));
    });
    let mut ckcp = idle_flight::<CKcp>();
    g.bench_function(BenchmarkId::from_parameter("c"), |bench| {
        bench.iter(|| Engine::flush(&mut ckcp));
    });
    g.finish();
}

fn main() {
    // Both engines must agree on the virtual time a lossy transfer takes: a cheap sanity
    // check that the two really run the same protocol before timing them.
    let (ours, theirs) = (
        bulk::<Kcp>(4 << 20, Some(10)),
        bulk::<CKcp>(4 << 20, Some(10)),
    );
    assert_eq!(
        ours, theirs,
        "kcp-core and C ikcp diverged on the benchmark scenario"
    );

    let (allocs, datagrams) = allocations_per_datagram();
    println!(
        "allocations per datagram in steady state (kcp-core): {allocs} in {datagrams} datagrams = {:.4}",
        allocs as f64 / datagrams as f64
    );

    let mut c = Criterion::default().configure_from_args();
    bench_flush(&mut c);
    bench_bulk(&mut c);
    c.final_summary();
}
