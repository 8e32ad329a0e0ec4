//! Sealing and opening allocate nothing: counted with a counting global allocator.
// A global allocator cannot be written without `unsafe`; this test binary only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, NonceRng, PacketCipher};

/// Counts allocations made by threads that switched counting on, per thread (tests run
/// in parallel).
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
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
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn seal_and_open_allocate_nothing() {
    let key = kcp_crypt::derive_key(b"alloc");
    let crypts: Vec<Crypt> = CipherKind::ALL
        .iter()
        .map(|k| Crypt::new(*k, &key).unwrap())
        .collect();
    let mut rng = NonceRng::from_seed([1; 32]);
    let mut buf = vec![0u8; 1500];
    let mut opened = 0;

    COUNTING.with(|c| c.set(true));
    for crypt in &crypts {
        for size in [0, 1, 17, 500, 1472] {
            let len = crypt.seal(&mut buf, size, &mut rng).unwrap();
            if crypt.open(&mut buf[..len]).is_ok() {
                opened += 1;
            }
            // Failing opens must not allocate either.
            buf[len / 2] ^= 1;
            let _ = crypt.open(&mut buf[..len]);
        }
    }
    COUNTING.with(|c| c.set(false));

    assert_eq!(opened, crypts.len() * 5);
    assert_eq!(allocations(), 0, "allocations while sealing/opening");
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    COUNTING.with(|c| c.set(true));
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    let after = allocations();
    COUNTING.with(|c| c.set(false));
    drop(v);
    assert!(after > before);
}
