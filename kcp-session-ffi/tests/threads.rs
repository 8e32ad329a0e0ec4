//! Two threads calling into one endpoint at once, which kcp_session.h forbids: a call that
//! overlaps another gets `KCPS_E_BUSY` and does nothing; every other call succeeds, and
//! the endpoint works normally afterwards.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kcp_session_ffi::*;

/// The endpoint, shared by the threads of the test.
#[derive(Clone, Copy)]
struct Shared(*mut KcpsEndpoint);

// SAFETY: sharing is what is tested; the library admits one call at a time.
unsafe impl Send for Shared {}

#[test]
fn overlapping_calls_get_busy_and_nothing_breaks() {
    let cfg = kcps_config_new();
    let mut raw = ptr::null_mut();
    // SAFETY: live config, writable out pointer.
    let r = unsafe { kcps_endpoint_new(cfg, &mut raw, ptr::null_mut(), 0) };
    assert_eq!(r, KCPS_OK);
    // SAFETY: freed once.
    unsafe { kcps_config_free(cfg) };
    let remote = KcpsAddr {
        family: KCPS_AF_INET,
        port: 9,
        scope_id: 0,
        ip: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    };
    let mut s = 0;
    // SAFETY: live endpoint, readable address, writable handle.
    assert_eq!(unsafe { kcps_connect(raw, 0, &remote, &mut s) }, KCPS_OK);

    let ep = Shared(raw);
    let (busy, done) = (AtomicU64::new(0), AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(30);
    let other = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|t| {
                let (busy, done) = (&busy, &done);
                scope.spawn(move || {
                    let ep = ep;
                    let mut unexpected = Vec::new();
                    let mut out = core::mem::MaybeUninit::<KcpsTransmit>::uninit();
                    let data = [t as u8; 100];
                    let mut now = 0u32;
                    // Until both threads have been turned away a few times, bounded.
                    while !done.load(Ordering::Relaxed) {
                        now = now.wrapping_add(1);
                        // SAFETY: a live endpoint; the buffers are valid for their lengths.
                        let codes = unsafe {
                            [
                                kcps_send(ep.0, now, s, data.as_ptr().cast(), data.len()),
                                i64::from(kcps_handle_timeout(ep.0, now)),
                                i64::from(kcps_poll_transmit(ep.0, now, out.as_mut_ptr())).min(0),
                                kcps_send_capacity(ep.0, s).min(0),
                            ]
                        };
                        for code in codes {
                            if code == i64::from(KCPS_E_BUSY) {
                                busy.fetch_add(1, Ordering::Relaxed);
                            } else if code < 0 && code != i64::from(KCPS_E_WOULD_BLOCK) {
                                unexpected.push(code);
                            }
                        }
                        if busy.load(Ordering::Relaxed) >= 100 || Instant::now() > deadline {
                            done.store(true, Ordering::Relaxed);
                        }
                    }
                    unexpected
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect::<Vec<_>>()
    });
    assert!(other.is_empty(), "codes other than BUSY: {other:?}");
    assert!(
        busy.load(Ordering::Relaxed) >= 100,
        "the threads never overlapped in 30 s"
    );
    // SAFETY: the threads are done: the endpoint admits calls again.
    unsafe {
        assert_eq!(kcps_session_state(raw, s), KCPS_STATE_OPEN);
        assert!(kcps_send_capacity(raw, s) >= 0);
        kcps_endpoint_free(raw);
    }
}
