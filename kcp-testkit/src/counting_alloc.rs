//! A counting global allocator for tests: how many allocations, and how many heap bytes,
//! the code under test made on the test's own thread.
//!
//! A test binary installs it once and measures closures with [`measure`]:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: kcp_testkit::counting_alloc::Counting = kcp_testkit::counting_alloc::Counting;
//!
//! let (value, usage) = kcp_testkit::counting_alloc::measure(|| build_and_run());
//! assert_eq!(usage.allocations, 0);
//! ```
//!
//! Counting is per thread (the test harness runs tests in parallel), so memory handed to
//! or freed by another thread is not seen. Without the `#[global_allocator]` line nothing
//! is counted and [`measure`] reports zeros: [`installed`] tells.
// A global allocator cannot be written without `unsafe impl GlobalAlloc`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator: forwards every call to the system allocator and counts the
/// calls of threads inside [`measure`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting;

/// What [`measure`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Calls of `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Heap bytes allocated minus bytes freed (negative if more was freed than allocated).
    pub net_bytes: i64,
    /// The highest `net_bytes` reached at any moment.
    pub peak_bytes: i64,
}

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static USAGE: Cell<Usage> = const {
        Cell::new(Usage { allocations: 0, net_bytes: 0, peak_bytes: 0 })
    };
}

/// Adds `bytes` (and one allocation if `call`) to this thread's usage, if counting.
fn note(call: bool, bytes: i64) {
    // `try_with`: allocations may happen while thread-locals are torn down.
    if ON.try_with(Cell::get).unwrap_or(false) {
        let _ = USAGE.try_with(|u| {
            let mut v = u.get();
            v.allocations += u64::from(call);
            v.net_bytes += bytes;
            v.peak_bytes = v.peak_bytes.max(v.net_bytes);
            u.set(v);
        });
    }
}

fn size(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards its arguments unchanged to the system allocator, which
// upholds the GlobalAlloc contract; counting touches only const-initialised thread-locals
// without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(true, size(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(true, size(layout.size()));
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(true, size(new_size) - size(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(false, -size(layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with counting on for this thread and returns its result with what it
/// allocated and freed. A nested call's usage also counts in the enclosing one.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let outer = USAGE.with(|u| u.replace(Usage::default()));
    let was_on = ON.with(|on| on.replace(true));
    let r = f();
    ON.with(|on| on.set(was_on));
    let inner = USAGE.with(|u| {
        u.replace(Usage {
            allocations: outer.allocations + u.get().allocations,
            net_bytes: outer.net_bytes + u.get().net_bytes,
            peak_bytes: outer.peak_bytes.max(outer.net_bytes + u.get().peak_bytes),
        })
    });
    (r, inner)
}

/// Whether the test binary installed [`Counting`] as its global allocator: a measured
/// allocation is seen. Assert it before trusting a zero.
pub fn installed() -> bool {
    let (_, usage) = measure(|| drop(std::hint::black_box(vec![1u8; 10])));
    usage.allocations >= 1 && usage.net_bytes == 0
}
