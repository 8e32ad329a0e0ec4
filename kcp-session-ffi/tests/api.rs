//! The C ABI from Rust: two endpoints (a client and a listener) move a message each way
//! through kcp_session.h's calls, with aes and FEC, over datagrams handed across in
//! memory; and hostile calls (NULLs, stale and made-up handles, bad addresses and config
//! values) get error codes.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ffi::{CStr, c_char};
use core::ptr;

use kcp_session_ffi::*;

mod common;
use common::{addr, config, deliver, endpoint};

#[test]
#[cfg_attr(
    miri,
    ignore = "aes's key derivation (4096 PBKDF2 rounds) and 100 KB of AES take hours under \
              Miri; the other tests make the same calls without a cipher"
)]
fn a_message_each_way_between_two_endpoints() {
    let cfg = config(&[
        (c"crypt", c"aes"),
        (c"key", c"secret"),
        (c"datashard", c"10"),
        (c"parityshard", c"3"),
        (c"mode", c"fast3"),
    ]);
    let (client, server) = (endpoint(cfg), endpoint(cfg));
    // SAFETY: freed once; endpoints keep their own settings.
    unsafe { kcps_config_free(cfg) };
    let (client_addr, server_addr) = (addr(1000), addr(2000));
    let request: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut got = Vec::new();
    let mut reply_got = Vec::new();
    // Received by the server, not yet taken by its send.
    let mut pending: Vec<u8> = Vec::new();
    // SAFETY: live endpoints, used by this thread only; buffers valid for their lengths.
    unsafe {
        assert_eq!(kcps_listen(server, 1), KCPS_OK);
        let mut s = 0;
        assert_eq!(kcps_connect(client, 0, &server_addr, &mut s), KCPS_OK);
        assert_ne!(s, 0);
        let mut accepted = 0;
        let mut sent = 0;
        let mut buf = [0u8; 4096];
        for now in (0..20_000).step_by(10) {
            while sent < request.len() {
                let r = kcps_send(
                    client,
                    now,
                    s,
                    request[sent..].as_ptr().cast(),
                    request.len() - sent,
                );
                if r == i64::from(KCPS_E_WOULD_BLOCK) {
                    break;
                }
                assert!(r > 0, "send: {r}");
                sent += r as usize;
            }
            kcps_handle_timeout(client, now);
            kcps_handle_timeout(server, now);
            deliver(client, client_addr, server, now);
            if accepted == 0 {
                kcps_accept(server, &mut accepted);
            }
            if accepted != 0 {
                loop {
                    // Echo what waits first. A send may take less or nothing: until the
                    // client has proven its address, the amplification limit holds the
                    // server's data back.
                    while !pending.is_empty() {
                        let r = kcps_send(
                            server,
                            now,
                            accepted,
                            pending.as_ptr().cast(),
                            pending.len(),
                        );
                        if r == i64::from(KCPS_E_WOULD_BLOCK) {
                            break;
                        }
                        assert!(r > 0, "echo: {r}");
                        pending.drain(..r as usize);
                    }
                    if !pending.is_empty() {
                        break;
                    }
                    let r = kcps_recv(server, accepted, buf.as_mut_ptr().cast(), buf.len());
                    if r < 0 {
                        assert_eq!(r, i64::from(KCPS_E_WOULD_BLOCK));
                        break;
                    }
                    got.extend_from_slice(&buf[..r as usize]);
                    pending.extend_from_slice(&buf[..r as usize]);
                }
            }
            deliver(server, server_addr, client, now);
            loop {
                let r = kcps_recv(client, s, buf.as_mut_ptr().cast(), buf.len());
                if r < 0 {
                    break;
                }
                reply_got.extend_from_slice(&buf[..r as usize]);
            }
            let mut e = KcpsEvent::default();
            while kcps_poll_event(client, &mut e) == 1 {
                assert_ne!(e.kind, KCPS_EVENT_ENDED, "client session ended");
            }
            while kcps_poll_event(server, &mut e) == 1 {}
            if reply_got.len() == request.len() {
                break;
            }
        }
        assert_eq!(got, request, "the listener received the request");
        assert_eq!(reply_got, request, "the client received the echo");
        // The counters saw the traffic, FEC parity included; the endpoints counted the
        // sessions they opened.
        let names: Vec<String> = (0..kcps_snmp_count())
            .map(|i| {
                CStr::from_ptr(kcps_snmp_name(i))
                    .to_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, kcp_session::Snmp::header());
        assert!(kcps_snmp_name(names.len()).is_null());
        let snmp = |ep, h| {
            let mut v = vec![0u64; names.len()];
            assert_eq!(
                kcps_session_snmp(ep, h, v.as_mut_ptr(), v.len()),
                v.len() as i32
            );
            let at = |name: &str| v[names.iter().position(|n| n == name).unwrap()];
            (at("OutBytes"), at("InPkts"), at("FECParityShards"))
        };
        let (out_bytes, in_pkts, parity) = snmp(client, s);
        assert!(out_bytes >= request.len() as u64 && in_pkts > 0 && parity > 0);
        let (out_bytes, _, parity) = snmp(server, accepted);
        assert!(out_bytes >= request.len() as u64 && parity > 0);
        let stat = |ep, name: &CStr| {
            let mut v = [0u64; 8];
            assert_eq!(kcps_endpoint_stats(ep, v.as_mut_ptr(), 8), 8);
            let i = (0..kcps_endpoint_stats_count())
                .position(|i| CStr::from_ptr(kcps_endpoint_stats_name(i)) == name)
                .unwrap();
            v[i]
        };
        assert_eq!(stat(server, c"accepted"), 1);
        assert_eq!(stat(client, c"connected"), 1);
        assert!(stat(server, c"datagrams") > 0);
        assert_eq!(kcps_session_state(client, s), KCPS_STATE_OPEN);
        let mut remote = KcpsAddr::default();
        assert_eq!(kcps_remote(server, accepted, &mut remote), KCPS_OK);
        assert_eq!(remote, client_addr);
        let mut at = 0;
        assert_eq!(kcps_poll_timeout(client, &mut at), 1);
        assert_eq!(kcps_release(client, 20_000, s), KCPS_OK);
        kcps_endpoint_free(client);
        kcps_endpoint_free(server);
    }
}

#[test]
fn hostile_calls_get_error_codes() {
    let cfg = kcps_config_new();
    let mut msg = [0 as c_char; 64];
    // SAFETY: every pointer is NULL, live, or valid for the length given with it.
    unsafe {
        let set = |name: &CStr, value: &CStr, msg: &mut [c_char]| {
            kcps_config_set(
                cfg,
                name.as_ptr(),
                value.as_ptr(),
                msg.as_mut_ptr(),
                msg.len(),
            )
        };
        assert_eq!(set(c"crypt", c"rot13", &mut msg), KCPS_E_INVALID);
        let text = CStr::from_ptr(msg.as_ptr()).to_str().unwrap();
        assert!(text.contains("rot13"), "{text}");
        assert_eq!(set(c"mtu", c"-1", &mut msg), KCPS_E_INVALID);
        assert_eq!(set(c"colour", c"1", &mut msg), KCPS_E_INVALID);
        // A message longer than its buffer is cut and still NUL-terminated.
        let mut tiny = [1 as c_char; 4];
        assert_eq!(set(c"dscp", c"300", &mut tiny), KCPS_E_INVALID);
        assert_eq!(tiny[3], 0);
        assert_eq!(
            kcps_config_set(
                ptr::null_mut(),
                c"mtu".as_ptr(),
                c"1".as_ptr(),
                ptr::null_mut(),
                0
            ),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_config_set(cfg, ptr::null(), c"1".as_ptr(), ptr::null_mut(), 0),
            KCPS_E_NULL
        );

        // Values only the whole combination can judge fail when the endpoint is made.
        assert_eq!(set(c"crypt", c"aes", &mut msg), KCPS_OK);
        let mut ep = ptr::null_mut();
        assert_eq!(
            kcps_endpoint_new(cfg, &mut ep, msg.as_mut_ptr(), msg.len()),
            KCPS_E_INVALID
        );
        assert!(ep.is_null());
        assert!(
            CStr::from_ptr(msg.as_ptr())
                .to_str()
                .unwrap()
                .contains("key")
        );
        assert_eq!(set(c"crypt", c"null", &mut msg), KCPS_OK);
        assert_eq!(
            kcps_endpoint_new(ptr::null(), &mut ep, ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_endpoint_new(cfg, ptr::null_mut(), ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        let ep = endpoint(cfg);
        kcps_config_free(cfg);
        kcps_config_free(ptr::null_mut());

        let mut s = 0;
        let mut bad = addr(1);
        bad.family = 5;
        assert_eq!(kcps_connect(ep, 0, &bad, &mut s), KCPS_E_INVALID);
        assert_eq!(kcps_connect(ep, 0, ptr::null(), &mut s), KCPS_E_NULL);
        assert_eq!(
            kcps_connect(ptr::null_mut(), 0, &addr(1), &mut s),
            KCPS_E_NULL
        );
        assert_eq!(kcps_connect(ep, 0, &addr(1), &mut s), KCPS_OK);
        let mut again = 0;
        assert_eq!(
            kcps_connect(ep, 0, &addr(1), &mut again),
            KCPS_E_ADDRESS_IN_USE
        );

        // Handles that name nothing: 0, made up, another slot's generation.
        let mut buf = [0u8; 16];
        for h in [0, u64::MAX, s + 1, s ^ (1 << 32), s & 0xffff_ffff] {
            assert_eq!(
                kcps_send(ep, 0, h, buf.as_ptr().cast(), 1),
                i64::from(KCPS_E_CLOSED),
                "{h:#x}"
            );
            assert_eq!(
                kcps_recv(ep, h, buf.as_mut_ptr().cast(), 16),
                i64::from(KCPS_E_CLOSED)
            );
            assert_eq!(kcps_close(ep, 0, h), KCPS_E_CLOSED);
            assert_eq!(kcps_release(ep, 0, h), KCPS_E_CLOSED);
            assert_eq!(kcps_send_capacity(ep, h), i64::from(KCPS_E_CLOSED));
        }
        assert_eq!(kcps_send(ep, 0, s, ptr::null(), 5), i64::from(KCPS_E_NULL));
        assert_eq!(kcps_recv(ep, s, ptr::null_mut(), 5), i64::from(KCPS_E_NULL));
        assert_eq!(
            kcps_recv(ep, s, buf.as_mut_ptr().cast(), 16),
            i64::from(KCPS_E_WOULD_BLOCK)
        );
        assert_eq!(kcps_send(ep, 0, s, buf.as_ptr().cast(), 16), 16);
        // After release and the end of the session, the handle stays dead.
        assert_eq!(kcps_release(ep, 0, s), KCPS_OK);
        let mut t = core::mem::MaybeUninit::<KcpsTransmit>::uninit();
        for now in (0..15_000).step_by(100) {
            kcps_handle_timeout(ep, now);
            while kcps_poll_transmit(ep, now, t.as_mut_ptr()) == 1 {}
        }
        assert_eq!(
            kcps_send(ep, 0, s, buf.as_ptr().cast(), 1),
            i64::from(KCPS_E_CLOSED)
        );
        assert_eq!(kcps_close(ep, 15_000, s), KCPS_E_CLOSED);
        assert_eq!(kcps_release(ep, 15_000, s), KCPS_E_CLOSED);
        assert_eq!(kcps_session_state(ep, s), KCPS_E_CLOSED);
        // A new session may take the slot; the old handle must not reach it.
        let mut s2 = 0;
        assert_eq!(kcps_connect(ep, 15_000, &addr(2), &mut s2), KCPS_OK);
        assert_ne!(s2, s);
        assert_eq!(
            kcps_send(ep, 15_000, s, buf.as_ptr().cast(), 1),
            i64::from(KCPS_E_CLOSED)
        );

        // Garbage datagrams are dropped and counted; NULLs and bad addresses are errors.
        let mut junk = [0xAAu8; 100];
        assert_eq!(
            kcps_handle(ep, 0, &addr(9), junk.as_mut_ptr(), 100, ptr::null_mut()),
            KCPS_DATAGRAM_DROPPED
        );
        assert_eq!(
            kcps_handle(ep, 0, &addr(9), ptr::null_mut(), 100, ptr::null_mut()),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_handle(ep, 0, &addr(9), ptr::null_mut(), 0, ptr::null_mut()),
            KCPS_DATAGRAM_DROPPED
        );
        assert_eq!(
            kcps_handle(ep, 0, &bad, junk.as_mut_ptr(), 100, ptr::null_mut()),
            KCPS_E_INVALID
        );
        assert_eq!(kcps_poll_transmit(ep, 0, ptr::null_mut()), KCPS_E_NULL);
        assert_eq!(kcps_poll_timeout(ep, ptr::null_mut()), KCPS_E_NULL);
        assert_eq!(
            kcps_poll_event(ptr::null_mut(), &mut KcpsEvent::default()),
            KCPS_E_NULL
        );
        assert_eq!(kcps_accept(ep, ptr::null_mut()), KCPS_E_NULL);
        assert_eq!(kcps_listen(ptr::null_mut(), 1), KCPS_E_NULL);
        assert_eq!(kcps_handle_timeout(ptr::null_mut(), 0), KCPS_E_NULL);
        assert_eq!(kcps_remote(ep, 0, &mut KcpsAddr::default()), KCPS_E_CLOSED);
        let mut values = [0u64; 4];
        assert_eq!(
            kcps_session_snmp(ep, 0, values.as_mut_ptr(), 4),
            KCPS_E_CLOSED
        );
        assert_eq!(kcps_session_snmp(ep, s2, ptr::null_mut(), 4), KCPS_E_NULL);
        assert_eq!(kcps_session_snmp(ep, s2, ptr::null_mut(), 0), 0);
        assert_eq!(kcps_session_snmp(ep, s2, values.as_mut_ptr(), 4), 4);
        assert_eq!(
            kcps_endpoint_stats(ptr::null(), values.as_mut_ptr(), 4),
            KCPS_E_NULL
        );
        assert_eq!(kcps_endpoint_stats(ep, values.as_mut_ptr(), 4), 4);
        assert_eq!(values[0], 2, "the two datagrams handled above");
        assert_eq!(kcps_session_state(ep, s), KCPS_E_CLOSED);
        assert_eq!(kcps_session_state(ep, s2), KCPS_STATE_OPEN);
        assert!(kcps_endpoint_stats_name(8).is_null());
        assert_eq!(
            CStr::from_ptr(kcps_strerror(KCPS_E_CLOSED))
                .to_str()
                .unwrap(),
            "session closed or unknown"
        );
        assert_eq!(
            CStr::from_ptr(kcps_strerror(12345)).to_str().unwrap(),
            "unknown"
        );
        kcps_endpoint_free(ep);
        kcps_endpoint_free(ptr::null_mut());
    }
}

#[test]
fn message_mode_keeps_message_boundaries() {
    let cfg = config(&[(c"stream", c"0"), (c"mode", c"fast3")]);
    let (client, server) = (endpoint(cfg), endpoint(cfg));
    // SAFETY: freed once.
    unsafe { kcps_config_free(cfg) };
    let (client_addr, server_addr) = (addr(1000), addr(2000));
    let messages: Vec<Vec<u8>> = [1usize, 3000, 10, 20_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![i as u8 + 1; n])
        .collect();
    let mut got: Vec<Vec<u8>> = Vec::new();
    // SAFETY: live endpoints, used by this thread only; buffers valid for their lengths.
    unsafe {
        kcps_listen(server, 1);
        let mut s = 0;
        assert_eq!(kcps_connect(client, 0, &server_addr, &mut s), KCPS_OK);
        for m in &messages {
            assert_eq!(
                kcps_send(client, 0, s, m.as_ptr().cast(), m.len()),
                m.len() as i64
            );
        }
        let mut accepted = 0;
        // A buffer smaller than the largest message: it arrives over several reads.
        let mut buf = [0u8; 4096];
        let mut current = Vec::new();
        for now in (0..5_000).step_by(10) {
            kcps_handle_timeout(client, now);
            kcps_handle_timeout(server, now);
            deliver(client, client_addr, server, now);
            if accepted == 0 {
                kcps_accept(server, &mut accepted);
            }
            if accepted != 0 {
                loop {
                    let r = kcps_recv(server, accepted, buf.as_mut_ptr().cast(), buf.len());
                    if r < 0 {
                        break;
                    }
                    current.extend_from_slice(&buf[..r as usize]);
                    // A message ends with a read shorter than the buffer (or an exact fit,
                    // which the lengths here avoid).
                    if (r as usize) < buf.len() {
                        got.push(core::mem::take(&mut current));
                    }
                }
            }
            deliver(server, server_addr, client, now);
            if got.len() == messages.len() {
                break;
            }
        }
        assert_eq!(got, messages);
        kcps_endpoint_free(client);
        kcps_endpoint_free(server);
    }
}

#[test]
fn lengths_no_buffer_can_have_get_error_codes() {
    let cfg = config(&[]);
    let ep = endpoint(cfg);
    // SAFETY: live endpoint and config; the lengths lie, which is what is tested: the
    // library must refuse them before touching the buffer.
    unsafe {
        kcps_config_free(cfg);
        let mut s = 0;
        assert_eq!(kcps_connect(ep, 0, &addr(1), &mut s), KCPS_OK);
        let mut buf = [0u8; 16];
        for huge in [usize::MAX, isize::MAX as usize + 1] {
            assert_eq!(
                kcps_send(ep, 0, s, buf.as_ptr().cast(), huge),
                i64::from(KCPS_E_INVALID)
            );
            assert_eq!(
                kcps_recv(ep, s, buf.as_mut_ptr().cast(), huge),
                i64::from(KCPS_E_INVALID)
            );
            assert_eq!(
                kcps_handle(ep, 0, &addr(1), buf.as_mut_ptr(), huge, ptr::null_mut()),
                KCPS_E_INVALID
            );
        }
        // The endpoint still works.
        assert_eq!(kcps_send(ep, 0, s, buf.as_ptr().cast(), 16), 16);
        kcps_endpoint_free(ep);
    }
}

#[test]
fn handles_of_another_or_a_freed_endpoint_name_nothing() {
    let cfg = config(&[]);
    // SAFETY: live endpoints and config; handles are plain numbers, whatever they name.
    unsafe {
        let first = endpoint(cfg);
        let mut old = 0;
        assert_eq!(kcps_connect(first, 0, &addr(1), &mut old), KCPS_OK);
        kcps_endpoint_free(first);
        let (a, b) = (endpoint(cfg), endpoint(cfg));
        kcps_config_free(cfg);
        let (mut sa, mut sb) = (0, 0);
        assert_eq!(kcps_connect(a, 0, &addr(1), &mut sa), KCPS_OK);
        assert_eq!(kcps_connect(b, 0, &addr(1), &mut sb), KCPS_OK);
        assert_eq!(kcps_send_capacity(a, sb), i64::from(KCPS_E_CLOSED));
        assert_eq!(kcps_send_capacity(b, sa), i64::from(KCPS_E_CLOSED));
        // The first endpoint's memory may well hold `a` or `b` now: still nothing.
        for ep in [a, b] {
            assert_eq!(kcps_send_capacity(ep, old), i64::from(KCPS_E_CLOSED));
            assert_eq!(kcps_close(ep, 0, old), KCPS_E_CLOSED);
        }
        assert!(kcps_send_capacity(a, sa) > 0 && kcps_send_capacity(b, sb) > 0);
        kcps_endpoint_free(a);
        kcps_endpoint_free(b);
    }
}
