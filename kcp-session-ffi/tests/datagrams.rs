//! Unreliable datagrams, whole messages and liveness through kcp_session.h, from Rust:
//! two endpoints exchange datagrams and messages in memory; buffers too small keep what
//! did not fit; confirmed connects succeed against a listener and end against silence;
//! and hostile calls (NULLs, stale and made-up handles, lying lengths) get error codes.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ffi::c_char;
use core::ptr;

use kcp_session_ffi::*;

mod common;
use common::{addr, config, deliver, endpoint};

/// A client and a listener with FEC 10/3 and no cipher (Miri runs these: aes's key
/// derivation is too slow there), the client's session to the listener, and the
/// listener's accepted session, opened by one reliable byte.
struct Pair {
    client: *mut KcpsEndpoint,
    server: *mut KcpsEndpoint,
    s: u64,
    accepted: u64,
}

const CLIENT: u16 = 1000;
const SERVER: u16 = 2000;

fn pair(extra: &[(&core::ffi::CStr, &core::ffi::CStr)]) -> Pair {
    let mut options = vec![
        (c"datashard", c"10"),
        (c"parityshard", c"3"),
        (c"mode", c"fast3"),
    ];
    options.extend_from_slice(extra);
    let cfg = config(&options);
    let (client, server) = (endpoint(cfg), endpoint(cfg));
    // SAFETY: live endpoints used by this thread only; freed config once.
    unsafe {
        kcps_config_free(cfg);
        assert_eq!(kcps_listen(server, 1), KCPS_OK);
        let mut s = 0;
        assert_eq!(kcps_connect(client, 0, &addr(SERVER), &mut s), KCPS_OK);
        assert_eq!(kcps_send(client, 0, s, b"x".as_ptr().cast(), 1), 1);
        let mut accepted = 0;
        let mut buf = [0u8; 1];
        for now in (0..2_000).step_by(10) {
            step(client, server, now);
            if accepted == 0 {
                kcps_accept(server, &mut accepted);
            }
            if accepted != 0 && kcps_recv(server, accepted, buf.as_mut_ptr().cast(), 1) == 1 {
                break;
            }
        }
        assert_ne!(accepted, 0, "the listener accepted the session");
        // Let the acknowledgement reach the client: the client's address is then proven.
        for now in (2_000..2_200).step_by(10) {
            step(client, server, now);
        }
        Pair {
            client,
            server,
            s,
            accepted,
        }
    }
}

/// One round: timers, then datagrams each way.
fn step(client: *mut KcpsEndpoint, server: *mut KcpsEndpoint, now: u32) {
    // SAFETY: live endpoints used by this thread only.
    unsafe {
        kcps_handle_timeout(client, now);
        kcps_handle_timeout(server, now);
    }
    deliver(client, addr(CLIENT), server, now);
    deliver(server, addr(SERVER), client, now);
}

impl Drop for Pair {
    fn drop(&mut self) {
        // SAFETY: made by `pair`, freed once.
        unsafe {
            kcps_endpoint_free(self.client);
            kcps_endpoint_free(self.server);
        }
    }
}

#[test]
fn datagrams_cross_between_two_endpoints_whole() {
    let p = pair(&[]);
    // SAFETY: live endpoints used by this thread only; buffers valid for their lengths.
    unsafe {
        let max = kcps_max_datagram_size(p.client, p.s);
        // The MTU less the FEC header and size field (8) and the conversation id (4)
        // in front of the payload, no cipher: as kcp-go's GetOOBMaxSize.
        assert_eq!(max, 1350 - 8 - 4);
        assert_eq!(kcps_max_datagram_size(p.server, p.accepted), max);
        let max = max as usize;
        let sent: Vec<Vec<u8>> = [0, 1, 100, max]
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
            .collect();
        for d in &sent {
            assert_eq!(
                kcps_send_datagram(p.client, 3_000, p.s, d.as_ptr().cast(), d.len()),
                KCPS_OK
            );
        }
        let too_long = vec![0u8; max + 1];
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, too_long.as_ptr().cast(), max + 1),
            KCPS_E_TOO_LARGE
        );
        deliver(p.client, addr(CLIENT), p.server, 3_000);
        // A small buffer: the datagram is kept, its size said, then read whole.
        let mut small = [0u8; 50];
        let mut big = vec![0u8; max];
        let mut got = Vec::new();
        loop {
            let mut needed = 0usize;
            let r = kcps_recv_datagram(
                p.server,
                p.accepted,
                small.as_mut_ptr().cast(),
                small.len(),
                &mut needed,
            );
            if r == i64::from(KCPS_E_WOULD_BLOCK) {
                break;
            }
            if r == i64::from(KCPS_E_BUFFER_TOO_SMALL) {
                assert!(needed > small.len());
                // Asking again with the same small buffer changes nothing.
                let mut again = 0usize;
                assert_eq!(
                    kcps_recv_datagram(
                        p.server,
                        p.accepted,
                        small.as_mut_ptr().cast(),
                        50,
                        &mut again
                    ),
                    i64::from(KCPS_E_BUFFER_TOO_SMALL)
                );
                assert_eq!(again, needed);
                let r = kcps_recv_datagram(
                    p.server,
                    p.accepted,
                    big.as_mut_ptr().cast(),
                    big.len(),
                    ptr::null_mut(),
                );
                assert_eq!(r, needed as i64);
                got.push(big[..needed].to_vec());
            } else {
                assert!(r >= 0, "{r}");
                got.push(small[..r as usize].to_vec());
            }
        }
        assert_eq!(
            got, sent,
            "every datagram arrived whole, in order (no loss here)"
        );
        // And back, from the listener's side.
        assert_eq!(
            kcps_send_datagram(p.server, 3_010, p.accepted, b"pong".as_ptr().cast(), 4),
            KCPS_OK
        );
        deliver(p.server, addr(SERVER), p.client, 3_010);
        let mut e = KcpsEvent::default();
        let mut progress = false;
        while kcps_poll_event(p.client, &mut e) == 1 {
            progress |= e.kind == KCPS_EVENT_PROGRESS && e.session == p.s;
        }
        assert!(progress, "a datagram's arrival is a progress event");
        let r = kcps_recv_datagram(
            p.client,
            p.s,
            big.as_mut_ptr().cast(),
            big.len(),
            ptr::null_mut(),
        );
        assert_eq!(r, 4);
        assert_eq!(&big[..4], b"pong");
        // The stream still works beside them.
        assert_eq!(kcps_send(p.client, 3_020, p.s, b"ok".as_ptr().cast(), 2), 2);
    }
}

#[test]
fn a_full_datagram_queue_would_block_until_polled() {
    let p = pair(&[(c"datagram_queue", c"2")]);
    // SAFETY: live endpoints used by this thread only; buffers valid for their lengths.
    unsafe {
        let d = [7u8; 10];
        for _ in 0..2 {
            assert_eq!(
                kcps_send_datagram(p.client, 3_000, p.s, d.as_ptr().cast(), 10),
                KCPS_OK
            );
        }
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, d.as_ptr().cast(), 10),
            KCPS_E_WOULD_BLOCK
        );
        deliver(p.client, addr(CLIENT), p.server, 3_000);
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, d.as_ptr().cast(), 10),
            KCPS_OK
        );
        // A closed session sends none, but what arrived before can still be read.
        assert_eq!(kcps_close(p.client, 3_000, p.s), KCPS_OK);
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, d.as_ptr().cast(), 10),
            KCPS_E_CLOSED
        );
        let mut buf = [0u8; 10];
        for _ in 0..2 {
            let r = kcps_recv_datagram(
                p.server,
                p.accepted,
                buf.as_mut_ptr().cast(),
                10,
                ptr::null_mut(),
            );
            assert_eq!(r, 10);
        }
        assert_eq!(
            kcps_recv_datagram(
                p.server,
                p.accepted,
                buf.as_mut_ptr().cast(),
                10,
                ptr::null_mut()
            ),
            i64::from(KCPS_E_WOULD_BLOCK)
        );
    }
}

#[test]
fn datagrams_without_fec_are_unsupported() {
    let cfg = config(&[]);
    let ep = endpoint(cfg);
    // SAFETY: live endpoint and config, used by this thread only.
    unsafe {
        kcps_config_free(cfg);
        let mut s = 0;
        assert_eq!(kcps_connect(ep, 0, &addr(SERVER), &mut s), KCPS_OK);
        assert_eq!(kcps_max_datagram_size(ep, s), 0);
        assert_eq!(
            kcps_send_datagram(ep, 0, s, b"x".as_ptr().cast(), 1),
            KCPS_E_UNSUPPORTED
        );
        // Stream mode has no whole messages.
        let mut buf = [0u8; 8];
        assert_eq!(
            kcps_recv_message(ep, s, buf.as_mut_ptr().cast(), 8, ptr::null_mut()),
            i64::from(KCPS_E_UNSUPPORTED)
        );
        kcps_endpoint_free(ep);
    }
}

#[test]
fn hostile_datagram_and_message_calls_get_error_codes() {
    let p = pair(&[]);
    // SAFETY: live endpoints (or NULL, which is tested); the lengths above PTRDIFF_MAX
    // lie, and the library must refuse them before touching the buffer.
    unsafe {
        let mut buf = [0u8; 16];
        let null_ep: *mut KcpsEndpoint = ptr::null_mut();
        let e = |c: i32| i64::from(c);
        // NULL endpoint, NULL data with a length, NULL buffer with a capacity.
        assert_eq!(
            kcps_send_datagram(null_ep, 0, p.s, buf.as_ptr().cast(), 1),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_send_datagram(p.client, 0, p.s, ptr::null(), 1),
            KCPS_E_NULL
        );
        assert_eq!(kcps_max_datagram_size(null_ep, p.s), e(KCPS_E_NULL));
        for recv in [kcps_recv_datagram, kcps_recv_message] {
            assert_eq!(
                recv(null_ep, p.s, buf.as_mut_ptr().cast(), 16, ptr::null_mut()),
                e(KCPS_E_NULL)
            );
            assert_eq!(
                recv(p.client, p.s, ptr::null_mut(), 16, ptr::null_mut()),
                e(KCPS_E_NULL)
            );
            // Lengths no buffer can have.
            for huge in [usize::MAX, isize::MAX as usize + 1] {
                assert_eq!(
                    recv(
                        p.client,
                        p.s,
                        buf.as_mut_ptr().cast(),
                        huge,
                        ptr::null_mut()
                    ),
                    e(KCPS_E_INVALID)
                );
            }
            // Wrong handles: 0, made up, the other endpoint's.
            for h in [0, u64::MAX, 0x1234_5678_0000_0001, p.accepted] {
                assert_eq!(
                    recv(p.client, h, buf.as_mut_ptr().cast(), 16, ptr::null_mut()),
                    e(KCPS_E_CLOSED),
                    "{h:#x}"
                );
            }
        }
        for huge in [usize::MAX, isize::MAX as usize + 1] {
            assert_eq!(
                kcps_send_datagram(p.client, 0, p.s, buf.as_ptr().cast(), huge),
                KCPS_E_INVALID
            );
        }
        for h in [0, u64::MAX, 0x1234_5678_0000_0001, p.accepted] {
            assert_eq!(
                kcps_send_datagram(p.client, 0, h, buf.as_ptr().cast(), 1),
                KCPS_E_CLOSED
            );
            assert_eq!(kcps_max_datagram_size(p.client, h), e(KCPS_E_CLOSED));
            assert_eq!(kcps_confirm(p.client, 0, h, 100), KCPS_E_CLOSED);
            assert_eq!(kcps_is_confirmed(p.client, h), KCPS_E_CLOSED);
        }
        assert_eq!(kcps_confirm(null_ep, 0, p.s, 100), KCPS_E_NULL);
        assert_eq!(kcps_is_confirmed(null_ep, p.s), KCPS_E_NULL);
        // A zero-length datagram from a NULL pointer is fine, and reads into a NULL
        // buffer of capacity 0.
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, ptr::null(), 0),
            KCPS_OK
        );
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, b"abc".as_ptr().cast(), 3),
            KCPS_OK
        );
        deliver(p.client, addr(CLIENT), p.server, 3_000);
        assert_eq!(
            kcps_recv_datagram(p.server, p.accepted, ptr::null_mut(), 0, ptr::null_mut()),
            0
        );
        // Too small with no `needed`: still kept.
        assert_eq!(
            kcps_recv_datagram(p.server, p.accepted, ptr::null_mut(), 0, ptr::null_mut()),
            e(KCPS_E_BUFFER_TOO_SMALL)
        );
        assert_eq!(
            kcps_recv_datagram(
                p.server,
                p.accepted,
                buf.as_mut_ptr().cast(),
                16,
                ptr::null_mut()
            ),
            3
        );
        assert_eq!(&buf[..3], b"abc");
        // A released and freed session's handle names nothing, kept datagram or not.
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, b"kept".as_ptr().cast(), 4),
            KCPS_OK
        );
        deliver(p.client, addr(CLIENT), p.server, 3_000);
        assert_eq!(
            kcps_recv_datagram(p.server, p.accepted, ptr::null_mut(), 0, ptr::null_mut()),
            e(KCPS_E_BUFFER_TOO_SMALL)
        );
        assert_eq!(kcps_release(p.client, 3_000, p.s), KCPS_OK);
        assert_eq!(
            kcps_send_datagram(p.client, 3_000, p.s, b"x".as_ptr().cast(), 1),
            KCPS_E_CLOSED
        );
        assert!(kcps_strerror(KCPS_E_BUFFER_TOO_SMALL) != kcps_strerror(1));
        assert!(kcps_strerror(KCPS_E_UNSUPPORTED) != kcps_strerror(1));
        assert!(kcps_strerror(KCPS_E_UNPROVEN) != kcps_strerror(1));
    }
}

#[test]
fn whole_messages_arrive_unsplit_and_a_small_buffer_keeps_them() {
    let p = pair(&[(c"stream", c"0")]);
    let messages: Vec<Vec<u8>> = [1usize, 3000, 0, 20_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![i as u8 + 1; n])
        .collect();
    // SAFETY: live endpoints used by this thread only; buffers valid for their lengths.
    unsafe {
        for m in &messages {
            assert_eq!(
                kcps_send(p.client, 3_000, p.s, m.as_ptr().cast(), m.len()),
                m.len() as i64
            );
        }
        let mut small = vec![0u8; 4096];
        let mut got = Vec::new();
        let mut needed_seen = 0;
        for now in (3_000..8_000).step_by(10) {
            step(p.client, p.server, now);
            loop {
                let mut needed = 0;
                let r = kcps_recv_message(
                    p.server,
                    p.accepted,
                    small.as_mut_ptr().cast(),
                    small.len(),
                    &mut needed,
                );
                if r == i64::from(KCPS_E_BUFFER_TOO_SMALL) {
                    needed_seen = needed;
                    small.resize(needed, 0);
                    continue;
                }
                if r < 0 {
                    assert_eq!(r, i64::from(KCPS_E_WOULD_BLOCK));
                    break;
                }
                got.push(small[..r as usize].to_vec());
            }
            if got.len() == messages.len() {
                break;
            }
        }
        assert_eq!(needed_seen, 20_000, "the large message said its size");
        assert_eq!(got, messages);
    }
}

#[test]
fn liveness_options_are_set_by_name_and_checked() {
    let cfg = config(&[
        (c"keepalive_ms", c"5000"),
        (c"idle_timeout_ms", c"20000"),
        (c"dead_link", c"20"),
        (c"roaming", c"1"),
        (c"datagram_queue", c"8"),
    ]);
    // SAFETY: live config, NUL-terminated strings, a 128-byte message buffer.
    unsafe {
        let ep = endpoint(cfg);
        kcps_endpoint_free(ep);
        let mut msg = [0 as c_char; 128];
        for (name, value) in [
            (c"keepalive_ms", c"-1"),
            (c"idle_timeout_ms", c"x"),
            (c"dead_link", c"99999999999"),
            (c"roaming", c"2"),
            (c"datagram_queue", c""),
        ] {
            let r = kcps_config_set(cfg, name.as_ptr(), value.as_ptr(), msg.as_mut_ptr(), 128);
            assert_eq!(r, KCPS_E_INVALID, "{name:?}={value:?}");
            assert!(
                core::ffi::CStr::from_ptr(msg.as_ptr())
                    .to_str()
                    .unwrap()
                    .contains(name.to_str().unwrap())
            );
        }
        // A keepalive not below the idle timeout is refused when the endpoint is made.
        assert_eq!(
            kcps_config_set(
                cfg,
                c"keepalive_ms".as_ptr(),
                c"20000".as_ptr(),
                ptr::null_mut(),
                0
            ),
            KCPS_OK
        );
        let mut ep = ptr::null_mut();
        assert_eq!(
            kcps_endpoint_new(cfg, &mut ep, msg.as_mut_ptr(), 128),
            KCPS_E_INVALID
        );
        assert!(ep.is_null());
        kcps_config_free(cfg);
    }
}

#[test]
fn a_confirmed_connect_hears_a_listener_and_ends_against_silence() {
    let cfg = config(&[(c"mode", c"fast3")]);
    let (client, server) = (endpoint(cfg), endpoint(cfg));
    // SAFETY: live endpoints used by this thread only.
    unsafe {
        kcps_config_free(cfg);
        kcps_listen(server, 1);
        let (mut s, mut lost) = (0, 0);
        assert_eq!(kcps_connect(client, 0, &addr(SERVER), &mut s), KCPS_OK);
        // A second session to an address where nobody answers.
        assert_eq!(kcps_connect(client, 0, &addr(3000), &mut lost), KCPS_OK);
        assert_eq!(kcps_confirm(client, 0, s, 1_000), KCPS_OK);
        assert_eq!(kcps_confirm(client, 0, lost, 1_000), KCPS_OK);
        assert_eq!(kcps_is_confirmed(client, s), 0);
        let mut ended = false;
        let mut t = core::mem::MaybeUninit::<KcpsTransmit>::uninit();
        for now in (0..1_500).step_by(10) {
            kcps_handle_timeout(client, now);
            kcps_handle_timeout(server, now);
            // Datagrams to the silent address are dropped; the rest reach the listener.
            let mut to_server = Vec::new();
            while kcps_poll_transmit(client, now, t.as_mut_ptr()) == 1 {
                let t = t.assume_init();
                if t.destination == addr(SERVER) {
                    to_server.push(core::slice::from_raw_parts(t.data, t.len).to_vec());
                }
            }
            for d in &mut to_server {
                kcps_handle(
                    server,
                    now,
                    &addr(CLIENT),
                    d.as_mut_ptr(),
                    d.len(),
                    ptr::null_mut(),
                );
            }
            deliver(server, addr(SERVER), client, now);
            let mut e = KcpsEvent::default();
            while kcps_poll_event(client, &mut e) == 1 {
                if e.kind == KCPS_EVENT_ENDED {
                    assert_eq!(e.session, lost, "only the unanswered session ends");
                    ended = true;
                }
            }
        }
        assert_eq!(
            kcps_is_confirmed(client, s),
            1,
            "the listener answered the probe"
        );
        assert_eq!(kcps_session_state(client, s), KCPS_STATE_OPEN);
        assert!(ended, "the session to the silent address ended");
        assert_eq!(kcps_session_state(client, lost), KCPS_STATE_DEAD);
        assert_eq!(kcps_is_confirmed(client, lost), 0);
        kcps_endpoint_free(client);
        kcps_endpoint_free(server);
    }
}
