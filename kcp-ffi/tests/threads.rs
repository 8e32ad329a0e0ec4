//! ikcp.h's `const` calls (`ikcp_check`, `ikcp_peeksize`, `ikcp_waitsnd`) from several
//! threads at once on the same blocks, which ikcp.c allows: each must give the same answer
//! as from one thread, and (under Miri, `scripts/miri-ffi.sh`) touch no memory another
//! of them touches without synchronisation.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ffi::{c_char, c_int, c_void};

use kcp_ffi::*;

unsafe extern "C-unwind" fn to_vec(
    buf: *const c_char,
    len: c_int,
    _kcp: *mut IKCPCB,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the live `Vec` of the test; `buf` holds `len` bytes; only the
    // thread running the mutating call gets here.
    unsafe {
        let out = &mut *user.cast::<Vec<Vec<u8>>>();
        out.push(core::slice::from_raw_parts(buf.cast::<u8>(), len as usize).to_vec());
    }
    0
}

/// Control blocks shared by the reader threads, which only make `const` calls.
#[derive(Clone, Copy)]
struct Blocks {
    sender: *const IKCPCB,
    receiver: *const IKCPCB,
}

// SAFETY: the threads only make the `const` calls of ikcp.h, which ikcp.c allows
// concurrently; that the library allows them too is what is tested.
unsafe impl Send for Blocks {}

/// What one thread sees: `check` at a few clock values, `peeksize`, `waitsnd`.
fn answers(blocks: Blocks, clocks: &[u32]) -> (Vec<u32>, c_int, c_int) {
    // SAFETY: live blocks; `const` calls only.
    unsafe {
        (
            clocks
                .iter()
                .map(|&t| ikcp_check(blocks.sender, t))
                .collect(),
            ikcp_peeksize(blocks.receiver),
            ikcp_waitsnd(blocks.sender),
        )
    }
}

#[test]
fn const_calls_from_several_threads_agree_with_one_thread() {
    let out: *mut Vec<Vec<u8>> = Box::into_raw(Box::default());
    // SAFETY: live blocks; `out` outlives them; buffers are valid for their lengths.
    let (a, b) = unsafe {
        let a = ikcp_create(7, out.cast());
        let b = ikcp_create(7, out.cast());
        ikcp_setoutput(a, Some(to_vec));
        ikcp_setoutput(b, Some(to_vec));
        ikcp_nodelay(a, 1, 20, 2, 1);
        let msg = [5u8; 3000];
        for _ in 0..8 {
            assert_eq!(ikcp_send(a, msg.as_ptr().cast(), 3000), 3000);
        }
        ikcp_update(a, 1000);
        // Half of the datagrams arrive: the receiver holds complete messages and the
        // sender segments waiting for their retransmission timer.
        let sent = core::mem::take(&mut *out);
        assert!(sent.len() > 4);
        for d in sent.iter().take(sent.len() / 2) {
            assert_eq!(ikcp_input(b, d.as_ptr().cast(), d.len() as _), 0);
        }
        // A setting written into the struct counts for `ikcp_check`, as in ikcp.c.
        (*a).interval = 15;
        (a, b)
    };
    let blocks = Blocks {
        sender: a,
        receiver: b,
    };
    let clocks = [1000, 1003, 1010, 1020, 1200, 40_000];
    let expected = answers(blocks, &clocks);
    assert_eq!(
        expected.0[..2],
        [1015, 1018],
        "the written interval caps the wait"
    );
    assert!(expected.1 > 0, "a complete message waits");
    assert!(expected.2 > 0, "segments in flight");

    let rounds = if cfg!(miri) { 20 } else { 50_000 };
    let wrong = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let expected = &expected;
                let clocks = &clocks;
                s.spawn(move || {
                    (0..rounds)
                        .filter(|_| answers(blocks, clocks) != *expected)
                        .count()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("reader thread"))
            .sum::<usize>()
    });
    assert_eq!(
        wrong, 0,
        "answers that differ from the single-threaded ones"
    );
    assert_eq!(answers(blocks, &clocks), expected);

    // SAFETY: the threads are done; the blocks are released once.
    unsafe {
        ikcp_release(a);
        ikcp_release(b);
        drop(Box::from_raw(out));
    }
}
