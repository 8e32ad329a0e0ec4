//! Steady-state encoding and decoding allocate nothing: a counting global allocator counts
//! the allocations made on the test's own thread while packets flow.
// A global allocator can only be written with `unsafe impl GlobalAlloc`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kcp_fec::{Decoder, DecoderConfig, Encoder, EncoderConfig, Shards, TYPE_DATA, TYPE_PARITY};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

fn note() {
    let on = COUNTING.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards its arguments unchanged to the system allocator, which
// upholds the GlobalAlloc contract; counting touches only const-initialised thread-locals
// without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_counts() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn steady_state_encoding_allocates_nothing() {
    let mut cfg = EncoderConfig::new(Shards::new(10, 3).unwrap());
    cfg.offset = 20;
    cfg.tailroom = 16;
    let mut enc = Encoder::new(cfg).unwrap();
    let mut datagram = vec![0u8; 1500];
    let mut parity_bytes = 0usize;
    let mut run = |enc: &mut Encoder, packets: usize| {
        for i in 0..packets {
            // Varying lengths, so zero-padding is exercised.
            let len = 100 + (i * 389) % 1401;
            enc.encode(&mut datagram[..len], i as u32, |mut p| {
                parity_bytes += p.with_tailroom().len();
            })
            .unwrap();
        }
    };
    run(&mut enc, 1000);
    let n = allocations(|| run(&mut enc, 100_000));
    assert_eq!(n, 0, "allocations while encoding 100,000 datagrams");
    assert!(parity_bytes > 0);
}

#[test]
fn steady_state_decoding_allocates_nothing() {
    // kcp-go's BenchmarkFECDecode stream: 10+3, 1500-byte packets, about 1 in 13 lost.
    let mut dec = Decoder::new(DecoderConfig::new(Shards::new(10, 3).unwrap())).unwrap();
    let mut pkt = vec![0u8; 1500];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut seqid = 0u32;
    let mut recovered = 0u64;
    let mut run = |dec: &mut Decoder, packets: usize| {
        for _ in 0..packets {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let s = seqid;
            seqid += 1;
            if rng % 13 == 0 {
                continue;
            }
            let kind = if s % 13 < 10 { TYPE_DATA } else { TYPE_PARITY };
            pkt[..4].copy_from_slice(&s.to_le_bytes());
            pkt[4..6].copy_from_slice(&kind.to_le_bytes());
            pkt[6..8].copy_from_slice(&1494u16.to_le_bytes());
            dec.decode(&pkt, 0, |_| recovered += 1).unwrap();
        }
    };
    run(&mut dec, 20_000);
    let n = allocations(|| run(&mut dec, 200_000));
    assert_eq!(n, 0, "allocations while decoding 200,000 packets");
    assert!(recovered > 10_000);
}
