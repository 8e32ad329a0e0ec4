//! The C API called from Rust, the way a C program calls it: NULL pointers and invalid
//! lengths, two control blocks talking through output callbacks, settings written into
//! the struct, calls made from inside callbacks, log lines, and long runs of hostile
//! calls that must never panic (a panic would abort this process: the functions are
//! `extern "C"`).
//!
//! These tests run under Miri too (`cargo +nightly miri test -p kcp-ffi --test api`),
//! with fewer iterations; the one that calls the C `ikcp_log` is left out there.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ffi::{c_char, c_int, c_void};
use core::ptr::{null, null_mut};

use kcp_ffi::*;

/// Datagrams captured by [`capture`], owned through a raw pointer handed to C as `user`.
struct Wire {
    datagrams: Vec<Vec<u8>>,
    log: Vec<String>,
    /// Set by callbacks that try calls on the block they were called from.
    reentry: Option<Reentry>,
}

#[derive(Default, Clone, Copy, Debug)]
struct Reentry {
    send: c_int,
    waitsnd: c_int,
    peeksize: c_int,
    check: u32,
    release: bool,
    called: bool,
}

fn wire() -> *mut Wire {
    Box::into_raw(Box::new(Wire {
        datagrams: Vec::new(),
        log: Vec::new(),
        reentry: None,
    }))
}

/// Frees a [`wire`].
///
/// # Safety
/// `w` came from [`wire`] and no control block uses it any more.
unsafe fn drop_wire(w: *mut Wire) {
    // SAFETY: from `Box::into_raw` (contract).
    drop(unsafe { Box::from_raw(w) });
}

unsafe extern "C-unwind" fn capture(
    buf: *const c_char,
    len: c_int,
    kcp: *mut IKCPCB,
    user: *mut c_void,
) -> c_int {
    // SAFETY: the library passes its datagram (`len` bytes) and the `user` given at
    // creation, a live `Wire`; no other reference to it is alive during the call.
    let wire = unsafe { &mut *user.cast::<Wire>() };
    // SAFETY: as above.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
    wire.datagrams.push(bytes.to_vec());
    if let Some(r) = wire.reentry.as_mut() {
        r.called = true;
        // SAFETY: `kcp` is the live block that is calling us.
        unsafe {
            r.send = ikcp_send(kcp, b"x".as_ptr().cast(), 1);
            r.waitsnd = ikcp_waitsnd(kcp);
            r.peeksize = ikcp_peeksize(kcp);
            r.check = ikcp_check(kcp, 12345);
            ikcp_update(kcp, 99_999);
            ikcp_flush(kcp);
            if r.release {
                ikcp_release(kcp);
            }
        }
    }
    0
}

unsafe extern "C-unwind" fn record_log(line: *const c_char, _kcp: *mut IKCPCB, user: *mut c_void) {
    // SAFETY: a NUL-terminated line and the live `Wire` given as `user`.
    unsafe {
        let wire = &mut *user.cast::<Wire>();
        let text = core::ffi::CStr::from_ptr(line)
            .to_string_lossy()
            .into_owned();
        wire.log.push(text);
    }
}

/// A control block whose datagrams go to a fresh [`Wire`].
fn endpoint(conv: u32) -> (*mut IKCPCB, *mut Wire) {
    let w = wire();
    // SAFETY: plain create; `w` stays alive until the test frees it after `release`.
    let k = unsafe { ikcp_create(conv, w.cast()) };
    assert!(!k.is_null());
    // SAFETY: `k` is live.
    unsafe { ikcp_setoutput(k, Some(capture)) };
    (k, w)
}

/// Takes the datagrams captured so far.
fn take(w: *mut Wire) -> Vec<Vec<u8>> {
    // SAFETY: no C call is running, so no other reference to the wire exists.
    unsafe { core::mem::take(&mut (*w).datagrams) }
}

fn input_all(k: *mut IKCPCB, datagrams: &[Vec<u8>]) {
    for d in datagrams {
        // SAFETY: `k` is live; `d` is readable for its length.
        let rc = unsafe { ikcp_input(k, d.as_ptr().cast(), d.len() as _) };
        assert_eq!(rc, 0);
    }
}

#[test]
fn null_pointers_and_bad_lengths_get_error_codes() {
    let mut buf = [0u8; 16];
    // SAFETY: every call is made with NULL or valid pointers: the point is what comes back.
    unsafe {
        ikcp_release(null_mut());
        ikcp_setoutput(null_mut(), Some(capture));
        ikcp_update(null_mut(), 1);
        ikcp_flush(null_mut());
        assert_eq!(ikcp_recv(null_mut(), buf.as_mut_ptr().cast(), 16), -1);
        assert_eq!(ikcp_send(null_mut(), buf.as_ptr().cast(), 4), -1);
        assert_eq!(ikcp_check(null(), 77), 77);
        assert_eq!(ikcp_input(null_mut(), buf.as_ptr().cast(), 16), -1);
        assert_eq!(ikcp_peeksize(null()), -1);
        assert_eq!(ikcp_setmtu(null_mut(), 1000), -1);
        assert_eq!(ikcp_wndsize(null_mut(), 10, 10), 0);
        assert_eq!(ikcp_waitsnd(null()), -1);
        assert_eq!(ikcp_nodelay(null_mut(), 1, 10, 2, 1), -1);
        assert_eq!(ikcp_getconv(null()), 0);
        assert_eq!(ikcp_getconv([4u8, 3, 2, 1, 9].as_ptr().cast()), 0x0102_0304);

        let (k, w) = endpoint(1);
        assert_eq!(ikcp_send(k, null(), 5), -1, "NULL data with a length");
        assert_eq!(ikcp_send(k, buf.as_ptr().cast(), -1), -1);
        assert_eq!(ikcp_send(k, null(), 0), 0, "an empty message, as ikcp");
        assert_eq!(ikcp_input(k, null(), 100), -1);
        assert_eq!(ikcp_input(k, buf.as_ptr().cast(), -5), -1);
        assert_eq!(
            ikcp_input(k, buf.as_ptr().cast(), 16),
            -1,
            "shorter than a header"
        );
        // A long whose low 32 bits pass ikcp's `(int)size >= 24` check but which is
        // negative: ikcp reads nothing and succeeds.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(ikcp_input(k, buf.as_ptr().cast(), -(1 << 32) + 100), 0);
        assert_eq!(
            ikcp_recv(k, buf.as_mut_ptr().cast(), 16),
            -1,
            "nothing received"
        );
        assert_eq!(ikcp_setmtu(k, 49), -1);
        assert_eq!(ikcp_setmtu(k, -1), -1);
        assert_eq!(ikcp_setmtu(k, i32::MAX), -2, "too large to allocate");
        assert_eq!((*k).mtu, 1400);
        assert_eq!(ikcp_wndsize(k, -1, i32::MAX), 0);
        assert_eq!((*k).rcv_wnd, 65535, "the receive window is capped at 65535");
        ikcp_release(k);
        drop_wire(w);
    }
}

/// Two blocks exchange messages (message and stream mode) through their callbacks.
#[test]
fn two_blocks_talk_through_output_callbacks() {
    let (a, wa) = endpoint(0x1122_3344);
    let (b, wb) = endpoint(0x1122_3344);
    let messages: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            (0..(i as usize * 397) % 3000)
                .map(|j| j as u8 ^ i)
                .collect()
        })
        .collect();
    // SAFETY: `a` and `b` are live; buffers are valid for their lengths.
    unsafe {
        ikcp_nodelay(a, 1, 10, 2, 1);
        ikcp_nodelay(b, 1, 10, 2, 1);
        for m in &messages {
            assert_eq!(
                ikcp_send(a, m.as_ptr().cast(), m.len() as c_int),
                m.len() as c_int
            );
        }
        assert_eq!((*a).nsnd_que as c_int, ikcp_waitsnd(a));
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        let mut now = 1000;
        while got.len() < messages.len() && now < 10_000 {
            ikcp_update(a, now);
            input_all(b, &take(wa));
            ikcp_update(b, now);
            // As ikcp advises: a fresh clock before input gives fresh RTT samples.
            (*a).current = now + 5;
            input_all(a, &take(wb));
            loop {
                let size = ikcp_peeksize(b);
                let n = ikcp_recv(b, buf.as_mut_ptr().cast(), buf.len() as c_int);
                if n < 0 {
                    break;
                }
                assert_eq!(n, size);
                got.push(buf[..n as usize].to_vec());
            }
            now += 10;
        }
        assert_eq!(got, messages);
        assert_eq!((*b).rcv_nxt, (*a).snd_nxt);
        assert_eq!((*a).rx_srtt, 5, "the sender measured the round trip");
        ikcp_release(a);
        ikcp_release(b);
        drop_wire(wa);
        drop_wire(wb);
    }
}

/// Settings written into the struct take effect at the next call; read-only fields are
/// restored; the documented limits apply.
#[test]
fn settings_written_into_the_struct_are_honoured() {
    let (k, w) = endpoint(9);
    // SAFETY: `k` is live; the writes are plain field writes, as a C program does.
    unsafe {
        (*k).stream = 1;
        (*k).rx_minrto = 10;
        (*k).nodelay = 1;
        (*k).fastresend = 3;
        (*k).fastlimit = -1;
        (*k).nocwnd = 7;
        (*k).dead_link = 4;
        (*k).interval = 3;
        (*k).rcv_wnd = 64;
        (*k).snd_wnd = 0;
        (*k).snd_una = 500;
        (*k).snd_nxt = 500;
        (*k).rcv_nxt = 900;
        (*k).state = 5;
        (*k).mtu = 10;
        for _ in 0..3 {
            assert_eq!(ikcp_send(k, b"abc".as_ptr().cast(), 3), 3);
        }
        assert_eq!((*k).nsnd_que, 1, "stream mode coalesced the sends");
        // A send takes over and publishes only what it uses; the next full call
        // (update, flush, configuration) settles every field.
        assert_eq!((*k).state, 5);
        ikcp_update(k, 0);
        assert_eq!((*k).rx_minrto, 10, "a direct nodelay write keeps rx_minrto");
        assert_eq!((*k).nodelay, 1);
        assert_eq!(((*k).fastresend, (*k).fastlimit, (*k).nocwnd), (3, -1, 7));
        assert_eq!((*k).dead_link, 4);
        assert_eq!((*k).interval, 10, "clamped to 10..=5000");
        assert_eq!((*k).rcv_wnd, 128, "raised to 128");
        assert_eq!((*k).snd_wnd, 32, "0 is ignored");
        assert_eq!((*k).state, 0, "read-only");
        assert_eq!((*k).mtu, 1400, "read-only");
        assert_eq!(((*k).snd_una, (*k).snd_nxt, (*k).rcv_nxt), (500, 501, 900));

        let out = take(w);
        assert_eq!(out.len(), 1);
        assert_eq!(
            u32::from_le_bytes(out[0][12..16].try_into().unwrap()),
            500,
            "sn"
        );
        assert_eq!(
            u32::from_le_bytes(out[0][16..20].try_into().unwrap()),
            900,
            "una"
        );
        assert_eq!(&out[0][24..], b"abcabcabc");
        (*k).snd_nxt = 7;
        ikcp_flush(k);
        assert_eq!(
            (*k).snd_nxt,
            501,
            "sequence numbers are fixed once traffic started"
        );
        (*k).rcv_wnd = 1_000_000;
        ikcp_flush(k);
        assert_eq!((*k).rcv_wnd, 65535);
        (*k).stream = 0;
        assert_eq!(ikcp_send(k, b"abc".as_ptr().cast(), 3), 3);
        assert_eq!((*k).nsnd_que, 1);
        assert_eq!(ikcp_send(k, b"abc".as_ptr().cast(), 3), 3);
        assert_eq!((*k).nsnd_que, 2, "message mode again");
        ikcp_release(k);
        drop_wire(w);
    }
}

/// Calls on a block from inside its own output callback: refused (mutators), answered
/// from the struct (queries), or deferred (release, which frees after the call).
#[test]
fn calls_from_inside_a_callback_are_refused_answered_or_deferred() {
    for release in [false, true] {
        let (k, w) = endpoint(3);
        // SAFETY: `k` is live until released; `w` outlives it.
        unsafe {
            assert_eq!(ikcp_send(k, b"hello".as_ptr().cast(), 5), 5);
            (*k).nocwnd = 1; // else the first flush sends nothing (cwnd starts at 0)
            (*w).reentry = Some(Reentry {
                release,
                ..Reentry::default()
            });
            ikcp_update(k, 100);
            let r = (*w).reentry.expect("set");
            assert!(r.called, "the callback ran");
            assert_eq!(r.send, -1);
            assert_eq!(r.waitsnd, 1, "from the struct, as at the call's start");
            assert_eq!(r.peeksize, -1);
            assert_eq!(r.check, 12345);
            assert_eq!(take(w).len(), 1, "the nested update and flush sent nothing");
            if !release {
                assert_eq!(ikcp_waitsnd(k), 1);
                assert_eq!((*k).nsnd_buf, 1);
                ikcp_release(k);
            }
            // Released inside the callback: freed when ikcp_update returned (Miri and
            // the sanitizers would see a leak or a use after free).
            drop_wire(w);
        }
    }
}

#[cfg_attr(miri, ignore = "ikcp_log is C, which Miri cannot run")]
#[test]
fn log_lines_have_ikcp_formats() {
    let (a, wa) = endpoint(5);
    let (b, wb) = endpoint(5);
    // SAFETY: live blocks; `record_log` gets the live wires.
    unsafe {
        for k in [a, b] {
            (*k).writelog = Some(record_log);
            (*k).logmask = 0xFFF;
            ikcp_nodelay(k, 0, 10, 0, 1);
        }
        ikcp_send(a, [7u8; 3000].as_ptr().cast(), 3000);
        ikcp_update(a, 10);
        input_all(b, &take(wa));
        ikcp_update(b, 30);
        (*a).current = 30;
        input_all(a, &take(wb));
        let mut buf = [0u8; 3000];
        assert_eq!(ikcp_recv(b, buf.as_mut_ptr().cast(), 3000), 3000);
        ikcp_log(a, 4, c"user %d %s".as_ptr(), 42 as c_int, c"text".as_ptr());
        ikcp_log(a, 0, c"masked out".as_ptr());
        let a_log = (*wa).log.join("\n");
        let b_log = (*wb).log.join("\n");
        assert_eq!(
            a_log,
            "[RO] 1400 bytes\n[RO] 1400 bytes\n[RO] 272 bytes\n\
             [RI] 72 bytes\ninput ack: sn=0 rtt=20 rto=100\ninput ack: sn=1 rtt=20 rto=100\n\
             input ack: sn=2 rtt=20 rto=100\nuser 42 text"
        );
        assert_eq!(
            b_log,
            "[RI] 1400 bytes\ninput psh: sn=0 ts=10\n[RI] 1400 bytes\ninput psh: sn=1 ts=10\n\
             [RI] 272 bytes\ninput psh: sn=2 ts=10\n[RO] 72 bytes\n\
             recv sn=0\nrecv sn=1\nrecv sn=2"
        );
        ikcp_release(a);
        ikcp_release(b);
        drop_wire(wa);
        drop_wire(wb);
    }
}

/// SplitMix64, as `kcp_testkit::sim::Rng`. This test cannot use the testkit: in the
/// workspace its `c-ikcp` feature is on, and the C ikcp it links exports the same symbols
/// (`ikcp_log`, `ikcp_allocator`, ...) as this crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A value a hostile program might write: extremes, small numbers, anything.
    fn wild(&mut self) -> u32 {
        match self.below(4) {
            0 => [0, 1, u32::MAX, i32::MAX as u32, i32::MIN as u32][self.below(5) as usize],
            1 => self.below(200) as u32,
            _ => self.next() as u32,
        }
    }
}

/// Random calls with random arguments and random garbage in every field a C program can
/// reach (except the function pointers, which C programs must set to functions). The
/// library must answer them all without a panic, which would abort the test process.
#[test]
fn hostile_calls_and_writes_never_panic() {
    let iterations = if cfg!(miri) { 400 } else { 60_000 };
    let mut rng = Rng(0xBAD_C0DE);
    let (a, wa) = endpoint(77);
    let (b, wb) = endpoint(77);
    let mut buf = vec![0u8; 1 << 16];
    let mut now = 0u32;
    // SAFETY: live blocks; every buffer passed is valid for the length given.
    unsafe {
        for k in [a, b] {
            (*k).writelog = Some(record_log);
        }
        for _ in 0..iterations {
            let k = if rng.below(2) == 0 { a } else { b };
            let w = if k == a { wa } else { wb };
            match rng.below(14) {
                0 => {
                    let len = rng.below(6000) as usize;
                    rng.next();
                    ikcp_send(k, buf.as_ptr().cast(), len as c_int);
                }
                1 => {
                    now = now.wrapping_add(rng.wild() % 3000);
                    ikcp_update(k, if rng.below(10) == 0 { rng.wild() } else { now });
                }
                2 => ikcp_flush(k),
                3 => {
                    let len = match rng.below(4) {
                        0 => i32::MIN,
                        1 => -(rng.below(70_000) as c_int),
                        _ => rng.below(70_000) as c_int,
                    };
                    let ptr = if rng.below(5) == 0 {
                        null_mut()
                    } else {
                        buf.as_mut_ptr()
                    };
                    let cap = buf.len() as c_int;
                    // i32::MIN stays as it is: no message fits it, nothing is written.
                    let len = if len == i32::MIN {
                        len
                    } else {
                        len.clamp(-cap, cap)
                    };
                    ikcp_recv(k, ptr.cast(), len);
                }
                4 => {
                    // Garbage, or a real datagram of the other side, possibly damaged.
                    let other = if k == a { wb } else { wa };
                    let mut d = take(other).pop().unwrap_or_default();
                    if d.is_empty() || rng.below(3) == 0 {
                        d = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
                        if d.len() >= 4 && rng.below(2) == 0 {
                            d[..4].copy_from_slice(&77u32.to_le_bytes());
                        }
                    }
                    for _ in 0..rng.below(3) {
                        let at = rng.below(d.len() as u64 + 1) as usize;
                        if at < d.len() {
                            d[at] = rng.next() as u8;
                        }
                    }
                    ikcp_input(k, d.as_ptr().cast(), d.len() as _);
                }
                5 => {
                    ikcp_setmtu(k, rng.wild() as c_int);
                }
                6 => {
                    ikcp_wndsize(k, rng.wild() as c_int, rng.wild() as c_int);
                }
                7 => {
                    ikcp_nodelay(
                        k,
                        rng.wild() as c_int,
                        rng.wild() as c_int,
                        rng.wild() as c_int,
                        rng.wild() as c_int,
                    );
                }
                8 => {
                    ikcp_check(k, rng.wild());
                    ikcp_peeksize(k);
                    ikcp_waitsnd(k);
                }
                _ => {
                    let v = rng.wild();
                    match rng.below(28) {
                        0 => (*k).conv = v,
                        1 => (*k).mtu = v,
                        2 => (*k).mss = v,
                        3 => (*k).state = v,
                        4 => (*k).snd_una = v,
                        5 => (*k).snd_nxt = v,
                        6 => (*k).rcv_nxt = v,
                        7 => (*k).rx_minrto = v as i32,
                        8 => (*k).rx_rto = v as i32,
                        9 => (*k).snd_wnd = v,
                        10 => (*k).rcv_wnd = v,
                        11 => (*k).rmt_wnd = v,
                        12 => (*k).cwnd = v,
                        13 => (*k).current = v,
                        14 => (*k).interval = v,
                        15 => (*k).nrcv_que = v,
                        16 => (*k).nodelay = v,
                        17 => (*k).dead_link = v,
                        18 => (*k).fastresend = v as c_int,
                        19 => (*k).fastlimit = v as c_int,
                        20 => (*k).nocwnd = v as c_int,
                        21 => (*k).stream = v as c_int,
                        22 => (*k).logmask = v as c_int,
                        23 => (*k).ackcount = v,
                        24 => (*k).acklist = core::ptr::without_provenance_mut(v as usize),
                        25 => (*k).buffer = core::ptr::without_provenance_mut(v as usize),
                        26 => (*k).snd_queue.next = core::ptr::without_provenance_mut(v as usize),
                        _ => (*k).probe = v,
                    }
                }
            }
            // Keep the wires from growing without bound.
            if (*w).datagrams.len() > 256 {
                take(w);
            }
            (*w).log.clear();
        }
        ikcp_release(a);
        ikcp_release(b);
        drop_wire(wa);
        drop_wire(wb);
    }
}
