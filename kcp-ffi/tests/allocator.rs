//! `ikcp_allocator`: with the `runtime` feature every allocation of the library (and of
//! this process, whose global allocator it is) goes through the installed functions,
//! blocks return to the allocator they came from even after the functions change, any
//! alignment is honoured whatever alignment `malloc` gives, nothing stays allocated, and
//! a thread that allocates while another switches the functions never sees the `malloc`
//! of one pair with the `free` of another.
//!
//! A plain `main` (no test harness threads), since it counts every allocation.
#![allow(unsafe_code, reason = "installs C allocation functions")]

use core::alloc::Layout;
use core::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicIsize, Ordering};

use kcp_ffi::{
    IKCPCB, ikcp_allocator, ikcp_create, ikcp_input, ikcp_recv, ikcp_release, ikcp_send,
    ikcp_setoutput, ikcp_update,
};

unsafe extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Blocks handed out minus blocks taken back, per pair of functions.
static LIVE_A: AtomicIsize = AtomicIsize::new(0);
static LIVE_B: AtomicIsize = AtomicIsize::new(0);
static CALLS_A: AtomicIsize = AtomicIsize::new(0);

unsafe extern "C" fn malloc_a(size: usize) -> *mut c_void {
    LIVE_A.fetch_add(1, Ordering::Relaxed);
    CALLS_A.fetch_add(1, Ordering::Relaxed);
    // SAFETY: plain malloc.
    unsafe { malloc(size) }
}

unsafe extern "C" fn free_a(ptr: *mut c_void) {
    LIVE_A.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: `ptr` came from `malloc_a`.
    unsafe { free(ptr) }
}

/// Returns blocks at odd addresses: only byte alignment, as a firmware pool might.
unsafe extern "C" fn malloc_b(size: usize) -> *mut c_void {
    LIVE_B.fetch_add(1, Ordering::Relaxed);
    // SAFETY: plain malloc; one byte more, handed out from the second byte.
    unsafe { malloc(size + 1).cast::<u8>().add(1).cast() }
}

unsafe extern "C" fn free_b(ptr: *mut c_void) {
    LIVE_B.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: `ptr` came from `malloc_b`, one byte into a malloc block.
    unsafe { free(ptr.cast::<u8>().sub(1).cast()) }
}

/// Bytes before each block of the tagged pairs: which pair's `malloc` handed it out.
const TAG: usize = 16;
/// Blocks a tagged `free` got from the other pair's `malloc`.
static MISMATCHED: AtomicIsize = AtomicIsize::new(0);

/// A `malloc` that writes `tag` before the block it returns.
unsafe fn tagged_malloc(size: usize, tag: u8) -> *mut c_void {
    // SAFETY: plain malloc, `TAG` bytes more; the tag goes into the first byte.
    unsafe {
        let raw = malloc(size + TAG).cast::<u8>();
        if raw.is_null() {
            return raw.cast();
        }
        raw.write(tag);
        raw.add(TAG).cast()
    }
}

/// A `free` that counts blocks not tagged `tag` (and frees them all the same: both pairs
/// lay blocks out alike).
unsafe fn tagged_free(ptr: *mut c_void, tag: u8) {
    // SAFETY: `ptr` came from `tagged_malloc` (of either pair), `TAG` bytes into a block.
    unsafe {
        let raw = ptr.cast::<u8>().sub(TAG);
        if raw.read() != tag {
            MISMATCHED.fetch_add(1, Ordering::Relaxed);
        }
        free(raw.cast());
    }
}

unsafe extern "C" fn malloc_c(size: usize) -> *mut c_void {
    // SAFETY: forwarded.
    unsafe { tagged_malloc(size, b'C') }
}

unsafe extern "C" fn free_c(ptr: *mut c_void) {
    // SAFETY: forwarded.
    unsafe { tagged_free(ptr, b'C') }
}

unsafe extern "C" fn malloc_d(size: usize) -> *mut c_void {
    // SAFETY: forwarded.
    unsafe { tagged_malloc(size, b'D') }
}

unsafe extern "C" fn free_d(ptr: *mut c_void) {
    // SAFETY: forwarded.
    unsafe { tagged_free(ptr, b'D') }
}

/// One thread switches between two tagged pairs while another allocates and frees: every
/// block must go back to the `free` of the pair whose `malloc` gave it.
fn switching_pairs_stay_pairs() {
    let allocations = if cfg!(miri) { 300 } else { 200_000 };
    let switches = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                let i = switches.fetch_add(1, Ordering::Release);
                // SAFETY: both pairs behave as malloc/free.
                unsafe {
                    if i.is_multiple_of(2) {
                        ikcp_allocator(Some(malloc_c), Some(free_c));
                    } else {
                        ikcp_allocator(Some(malloc_d), Some(free_d));
                    }
                }
            }
        });
        // Allocate only while the other thread switches.
        while switches.load(Ordering::Acquire) == 0 {
            std::thread::yield_now();
        }
        for i in 0..allocations {
            drop(std::hint::black_box(vec![i as u8; 64]));
        }
        done.store(true, Ordering::Release);
    });
    let switches = switches.load(Ordering::Relaxed);
    assert!(switches > 1, "the functions changed during the allocations");
    assert_eq!(
        MISMATCHED.load(Ordering::Relaxed),
        0,
        "blocks freed by the other pair's free ({allocations} allocations, {switches} switches)"
    );
}

unsafe extern "C-unwind" fn to_vec(
    buf: *const c_char,
    len: c_int,
    _kcp: *mut IKCPCB,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the live `Vec` of `traffic`; `buf` holds `len` bytes.
    unsafe {
        let out = &mut *user.cast::<Vec<Vec<u8>>>();
        out.push(core::slice::from_raw_parts(buf.cast::<u8>(), len as usize).to_vec());
    }
    0
}

/// A conversation that moves 200 KB and ends with both blocks released.
fn traffic() {
    let out: *mut Vec<Vec<u8>> = Box::into_raw(Box::default());
    // SAFETY: live blocks; `out` outlives them; buffers are valid for their lengths.
    unsafe {
        let a = ikcp_create(1, out.cast());
        let b = ikcp_create(1, out.cast());
        assert!(!a.is_null() && !b.is_null());
        ikcp_setoutput(a, Some(to_vec));
        ikcp_setoutput(b, Some(to_vec));
        (*a).nocwnd = 1;
        let msg = [9u8; 2000];
        for _ in 0..100 {
            assert_eq!(ikcp_send(a, msg.as_ptr().cast(), 2000), 2000);
        }
        let mut buf = [0u8; 2000];
        let mut got = 0;
        for t in 0..100 {
            ikcp_update(a, t * 10);
            for d in core::mem::take(&mut *out) {
                ikcp_input(b, d.as_ptr().cast(), d.len() as _);
            }
            ikcp_update(b, t * 10);
            for d in core::mem::take(&mut *out) {
                ikcp_input(a, d.as_ptr().cast(), d.len() as _);
            }
            while ikcp_recv(b, buf.as_mut_ptr().cast(), 2000) == 2000 {
                got += 1;
            }
        }
        assert_eq!(got, 100);
        ikcp_release(a);
        ikcp_release(b);
        drop(Box::from_raw(out));
    }
}

fn main() {
    // SAFETY: the functions behave as malloc/free.
    unsafe { ikcp_allocator(Some(malloc_a), Some(free_a)) };
    let before = LIVE_A.load(Ordering::Relaxed);
    traffic();
    assert!(
        CALLS_A.load(Ordering::Relaxed) > 100,
        "the library allocated through the hook"
    );
    assert_eq!(
        LIVE_A.load(Ordering::Relaxed),
        before,
        "everything was freed again"
    );

    // A block from hook A outlives the switch to hook B and goes back to hook A.
    let kept = vec![1u8; 1000];
    let a_live = LIVE_A.load(Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { ikcp_allocator(Some(malloc_b), Some(free_b)) };
    traffic();
    assert_eq!(
        LIVE_B.load(Ordering::Relaxed),
        0,
        "hook B got all its blocks back"
    );
    drop(kept);
    assert_eq!(
        LIVE_A.load(Ordering::Relaxed),
        a_live - 1,
        "freed by hook A's free"
    );

    // Any alignment, although hook B only aligns to one byte.
    for align in [1, 2, 8, 16, 64, 4096] {
        let layout = Layout::from_size_align(100, align).expect("layout");
        // SAFETY: a non-zero size; freed with the same layout.
        unsafe {
            let p = std::alloc::alloc(layout);
            assert!(!p.is_null());
            assert_eq!(p.addr() % align, 0, "alignment {align}");
            p.write_bytes(0xEE, 100);
            std::alloc::dealloc(p, layout);
        }
    }
    assert_eq!(LIVE_B.load(Ordering::Relaxed), 0);

    // Back to malloc: blocks of hook B still go to hook B.
    let kept = vec![2u8; 10];
    // SAFETY: NULL selects the C library's functions.
    unsafe { ikcp_allocator(None, None) };
    traffic();
    drop(kept);
    assert_eq!(LIVE_B.load(Ordering::Relaxed), 0);

    switching_pairs_stay_pairs();
    // SAFETY: NULL selects the C library's functions.
    unsafe { ikcp_allocator(None, None) };
    println!("allocator: 5 checks passed, 0 failed");
}
