//! Memory and panics: the allocator hooks of `ikcp_allocator`, the global allocator that
//! honours them (feature `runtime`), and the panic handler of bare-metal builds.
//!
//! Every allocation of the library (control blocks, segments, buffers) goes through the
//! global allocator. With the `runtime` feature that is [`HookAllocator`]: it calls the
//! functions installed with [`ikcp_allocator`], or the C library's `malloc`/`free` when
//! none are installed (on bare-metal targets there is no C library: `ikcp_create` returns
//! NULL until an allocator is installed). Each block records which `free` releases it, so
//! installing other functions later is safe: blocks go back to the allocator they came
//! from.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};

/// `void *malloc(size_t)` as `ikcp_allocator` takes it.
type MallocFn = unsafe extern "C" fn(size: usize) -> *mut c_void;
/// `void free(void *)` as `ikcp_allocator` takes it.
type FreeFn = unsafe extern "C" fn(ptr: *mut c_void);

/// The installed pair, as two words guarded by [`SEQUENCE`]: a reader never sees the
/// `malloc` of one pair with the `free` of another.
static MALLOC: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
static FREE: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
/// A sequence lock over the pair: odd while [`ikcp_allocator`] writes it, advanced by 2
/// per write. Readers retry while it is odd or when it moved during their read; writers
/// take turns (the odd value is the lock).
static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

/// Installs the functions the library allocates with (`ikcp_allocator`). NULL for
/// `new_malloc` means the C library's `malloc`; NULL for `new_free` means its `free` for
/// blocks from `new_malloc`. Blocks already allocated keep being freed by the function
/// that matches their allocator, so this may be called at any time (ikcp requires it
/// before `ikcp_create`), from any thread, also while other threads allocate: the two
/// functions are installed together, and an allocation uses either the old pair or the
/// new one. On a bare-metal target, call it before `ikcp_create`.
///
/// Without the `runtime` feature the library allocates through the Rust program's own
/// global allocator and this function only records the hooks.
///
/// # Safety
/// The functions must behave as `malloc` and `free` (any alignment of at least 1 is
/// accepted) and may be called from any thread that uses the library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ikcp_allocator(new_malloc: Option<MallocFn>, new_free: Option<FreeFn>) {
    let new_malloc = new_malloc.map_or(core::ptr::null_mut(), |f| f as *mut ());
    let new_free = new_free.map_or(core::ptr::null_mut(), |f| f as *mut ());
    // Take the writer's turn: move the sequence from even to odd.
    let mut seq = SEQUENCE.load(Ordering::Relaxed);
    loop {
        if seq & 1 == 1 {
            core::hint::spin_loop();
            seq = SEQUENCE.load(Ordering::Relaxed);
            continue;
        }
        match SEQUENCE.compare_exchange_weak(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => break,
            Err(now) => seq = now,
        }
    }
    // The odd sequence is visible before either word changes.
    fence(Ordering::Release);
    MALLOC.store(new_malloc, Ordering::Relaxed);
    FREE.store(new_free, Ordering::Relaxed);
    SEQUENCE.store(seq.wrapping_add(2), Ordering::Release);
}

/// The installed `(malloc, free)` pair, read consistently: retried while a write is under
/// way or happened during the read. Costs two loads of the sequence besides the pair.
fn installed() -> (*mut (), *mut ()) {
    loop {
        let before = SEQUENCE.load(Ordering::Acquire);
        if before & 1 == 1 {
            core::hint::spin_loop();
            continue;
        }
        let pair = (MALLOC.load(Ordering::Relaxed), FREE.load(Ordering::Relaxed));
        // The pair's loads happen before the second look at the sequence.
        fence(Ordering::Acquire);
        if SEQUENCE.load(Ordering::Relaxed) == before {
            return pair;
        }
    }
}

/// Whether `ikcp_create` can allocate: always on hosted targets, and on bare-metal ones
/// once `ikcp_allocator` installed a `malloc` (with the `runtime` feature; without it the
/// Rust program's allocator is used).
pub(crate) fn can_allocate() -> bool {
    cfg!(not(all(target_os = "none", feature = "runtime"))) || !installed().0.is_null()
}

#[cfg(feature = "runtime")]
pub use hooks::HookAllocator;

#[cfg(feature = "runtime")]
mod hooks {
    use core::alloc::{GlobalAlloc, Layout};
    use core::ffi::c_void;
    use core::mem::{align_of, size_of};
    use core::ptr;

    use super::{FreeFn, MallocFn, installed};

    /// Bytes before each block: the pointer `malloc` returned and the `free` to use.
    const HEADER: usize = 2 * size_of::<usize>();

    #[cfg(not(target_os = "none"))]
    unsafe extern "C" {
        fn malloc(size: usize) -> *mut c_void;
        fn free(ptr: *mut c_void);
    }

    /// The C library's allocator; none on bare metal.
    unsafe fn system_malloc(size: usize) -> *mut c_void {
        #[cfg(not(target_os = "none"))]
        // SAFETY: plain `malloc`.
        return unsafe { malloc(size) };
        #[cfg(target_os = "none")]
        {
            let _ = size;
            ptr::null_mut()
        }
    }

    unsafe fn system_free(block: *mut c_void) {
        #[cfg(not(target_os = "none"))]
        // SAFETY: `block` came from `malloc` (the caller's contract).
        unsafe {
            free(block);
        }
        #[cfg(target_os = "none")]
        let _ = block;
    }

    /// The library's global allocator: `ikcp_allocator`'s functions, else `malloc`.
    /// Blocks carry a two-word header (the raw pointer and its `free`) and are aligned
    /// by hand, so any `malloc` alignment works.
    #[derive(Debug)]
    pub struct HookAllocator;

    // SAFETY: returns blocks of at least `layout.size()` bytes aligned to `layout.align()`
    // (or NULL), which stay valid until `dealloc`; `dealloc` frees with the matching
    // function recorded in the header.
    unsafe impl GlobalAlloc for HookAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let align = layout.align().max(align_of::<usize>());
            let Some(total) = layout.size().checked_add(HEADER + align - 1) else {
                return ptr::null_mut();
            };
            let (hook, hook_free) = installed();
            let (raw, free) = if hook.is_null() {
                // SAFETY: plain `malloc`.
                (unsafe { system_malloc(total) }, ptr::null_mut())
            } else {
                // SAFETY: the pointer was stored from a `MallocFn` by `ikcp_allocator`.
                let hook = unsafe { core::mem::transmute::<*mut (), MallocFn>(hook) };
                // SAFETY: behaves as `malloc` (the `ikcp_allocator` contract).
                (unsafe { hook(total) }, hook_free)
            };
            if raw.is_null() {
                return ptr::null_mut();
            }
            let raw = raw.cast::<u8>();
            let pad = (raw.addr() + HEADER).wrapping_neg() & (align - 1);
            // SAFETY: `HEADER + pad < HEADER + align <= total`, inside the block; the
            // block start is `align`-aligned (so `usize`-aligned), and the two header
            // words just below it lie inside the block too.
            unsafe {
                let block = raw.add(HEADER + pad);
                block.cast::<*mut u8>().sub(2).write(raw);
                block.cast::<*mut ()>().sub(1).write(free);
                block
            }
        }

        unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
            // SAFETY: `block` came from `alloc` (GlobalAlloc contract), so the two words
            // below it, inside the same `malloc` block, hold the block's start and its
            // `free`. Both the header and the start are reached through `block` itself:
            // its caller (a `Box` being dropped, say) may protect `block`'s tag, and any
            // other pointer to the block would be a foreign access to it (Tree Borrows).
            unsafe {
                let header = block.cast::<*mut ()>().sub(2);
                let raw = block.with_addr(header.read().addr());
                let free = header.add(1).read();
                if free.is_null() {
                    system_free(raw.cast());
                } else {
                    let free = core::mem::transmute::<*mut (), FreeFn>(free);
                    free(raw.cast());
                }
            }
        }
    }

    #[global_allocator]
    static GLOBAL: HookAllocator = HookAllocator;
}

/// Bare metal has no unwinding and no one to report to: a panic (which no input can
/// cause; see the crate docs) stops the core with an undefined instruction, which the
/// firmware's HardFault handler sees.
#[cfg(all(target_os = "none", feature = "runtime"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        #[cfg(target_arch = "arm")]
        // SAFETY: `udf` raises a fault and touches no memory.
        unsafe {
            core::arch::asm!("udf #0", options(nomem, nostack));
        }
        core::hint::spin_loop();
    }
}
