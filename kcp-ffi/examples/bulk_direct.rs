//! The bulk shape of `bench/bench.c`, with kcp-core called from Rust directly: the
//! yardstick for the C API's overhead. Same windows, settings, message size and link (each
//! datagram copied into a slot of a queue, as the C harness does). `scripts/bench-ffi.sh
//! --instructions` counts its instructions next to the C program's.
//!
//! Usage: `bulk_direct [MIB [DROP_EVERY [RUNS]]]` (defaults 100, 0 = no loss, 5).

use std::time::Instant;

use kcp_core::Kcp;

const WINDOW: u32 = 1024;
const MESSAGE: usize = 1000;

/// Datagrams copied out of the output callback.
struct Queue {
    slots: Vec<[u8; 1500]>,
    lens: Vec<usize>,
    n: usize,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            slots: Vec::new(),
            lens: Vec::new(),
            n: 0,
        }
    }

    fn push(&mut self, d: &[u8], counter: &mut u64, drop_every: u64) {
        *counter += 1;
        if drop_every != 0 && counter.is_multiple_of(drop_every) {
            return;
        }
        if self.n == self.slots.len() {
            // Slots are made as needed (the C harness's come from an untouched malloc).
            self.slots.push([0; 1500]);
            self.lens.push(0);
        }
        self.slots[self.n][..d.len()].copy_from_slice(d);
        self.lens[self.n] = d.len();
        self.n += 1;
    }

    fn deliver(&mut self, to: &mut Kcp) {
        for i in 0..self.n {
            to.input(&self.slots[i][..self.lens[i]])
                .expect("valid datagram");
        }
        self.n = 0;
    }
}

fn endpoint() -> Kcp {
    let mut k = Kcp::new(0x1122_3344);
    k.set_nodelay(1, 10, 2, true);
    k.set_window_size(WINDOW, WINDOW).expect("valid window");
    k
}

/// Moves `total` bytes from a to b; returns the virtual milliseconds it took.
fn bulk(total: usize, drop_every: u64) -> u32 {
    let (mut a, mut b) = (endpoint(), endpoint());
    let (mut ab, mut ba) = (Queue::new(), Queue::new());
    let msg = [0x5A; MESSAGE];
    let mut buf = vec![0u8; 4 * MESSAGE];
    let (mut sent, mut received, mut now, mut counter) = (0, 0, 0u32, 0u64);
    while received < total {
        while sent < total && a.wait_snd() < 2 * WINDOW as usize {
            a.send(&msg).expect("fits");
            sent += MESSAGE;
        }
        a.update(now, |d: &mut [u8]| ab.push(d, &mut counter, drop_every));
        ab.deliver(&mut b);
        b.update(now, |d: &mut [u8]| ba.push(d, &mut counter, drop_every));
        ba.deliver(&mut a);
        while let Ok(n) = b.recv(&mut buf) {
            received += n;
        }
        now += 10;
    }
    now
}

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (mib, drop_every, runs) = (arg(1, 100), arg(2, 0), arg(3, 5));
    for _ in 0..runs {
        let start = Instant::now();
        let virtual_ms = bulk((mib as usize) << 20, drop_every);
        println!(
            "kcp-core from Rust: {mib} MiB in {:.2} ms ({virtual_ms} ms virtual)",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
