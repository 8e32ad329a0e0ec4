//! The socket-owning layer (`kcps_udp_*`): `tests/c/udp_echo.c` (ASan, UBSan, every warning
//! an error) echoes 1 MiB byte-checked between a dialer and a listener in one process over
//! 127.0.0.1; from Rust, the same layer moves a message each way, and hostile calls (NULLs,
//! bad addresses, an address in use, wrong handles) get error codes, and a flood of
//! datagrams cannot keep `kcps_udp_update` from returning.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]

use core::ffi::{CStr, c_char, c_int};
use core::ptr;
use std::process::Command;
use std::time::Instant;

use kcp_session_ffi::*;

mod common;
use common::{build, config};

#[test]
fn c_program_echoes_a_mebibyte_over_loopback() {
    let program = build("udp_echo");
    for options in [
        &[
            "crypt=aes",
            "key=udp",
            "datashard=10",
            "parityshard=3",
            "mode=fast3",
        ][..],
        &["mode=fast"][..],
    ] {
        let out = Command::new(&program)
            .arg((1 << 20).to_string())
            .args(options)
            .env("ASAN_OPTIONS", "detect_leaks=1")
            .output()
            .expect("run the C program");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("ok bytes=1048576"),
            "{options:?}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The message `kcps_udp_*` wrote into `msg`.
fn text(msg: &[c_char]) -> String {
    // SAFETY: NUL-terminated by the library (or zeroed).
    unsafe { CStr::from_ptr(msg.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The local port of the socket behind `fd` (read from a duplicate of the descriptor).
fn port_of(fd: c_int) -> u16 {
    // SAFETY: `fd` is the open socket of a live `kcps_udp`; it is only borrowed to dup it.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let s = std::net::UdpSocket::from(fd.try_clone_to_owned().unwrap());
    s.local_addr().unwrap().port()
}

fn now() -> u32 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u32
}

#[test]
fn a_message_each_way_and_the_endpoint_inside() {
    let cfg = config(&[(c"mode", c"fast3")]);
    // SAFETY: live config and objects, used by this thread only; buffers valid.
    unsafe {
        let mut server = ptr::null_mut();
        let mut msg = [0 as c_char; 256];
        assert_eq!(
            kcps_udp_listen(
                cfg,
                c"127.0.0.1:0".as_ptr(),
                &mut server,
                msg.as_mut_ptr(),
                256
            ),
            KCPS_OK,
            "{}",
            text(&msg)
        );
        let fd = kcps_udp_fd(server);
        assert!(fd >= 0);
        let port = port_of(fd);
        let addr = std::ffi::CString::new(format!("127.0.0.1:{port}")).unwrap();
        let (mut client, mut s) = (ptr::null_mut(), 0);
        assert_eq!(
            kcps_udp_dial(
                cfg,
                now(),
                addr.as_ptr(),
                &mut client,
                &mut s,
                msg.as_mut_ptr(),
                256
            ),
            KCPS_OK,
            "{}",
            text(&msg)
        );
        kcps_config_free(cfg);
        assert_eq!(
            kcps_udp_write(client, now(), s, b"ping".as_ptr().cast(), 4),
            4
        );
        // Every endpoint call works on the endpoint inside.
        assert_eq!(
            kcps_confirm(kcps_udp_endpoint(client), now(), s, 5_000),
            KCPS_OK
        );
        let (mut accepted, mut got, mut echoed) = (0, Vec::new(), Vec::new());
        let start = Instant::now();
        let mut buf = [0u8; 16];
        while echoed.len() < 4 {
            assert!(
                start.elapsed().as_secs() < 10,
                "no echo: {got:?} {echoed:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert!(kcps_udp_update(client, now()) >= 0);
            assert!(kcps_udp_update(server, now()) >= 0);
            if accepted == 0 {
                kcps_udp_accept(server, &mut accepted);
            }
            if accepted != 0 {
                let n = kcps_udp_read(server, accepted, buf.as_mut_ptr().cast(), 16);
                if n > 0 {
                    got.extend_from_slice(&buf[..n as usize]);
                    assert_eq!(
                        kcps_udp_write(server, now(), accepted, buf.as_ptr().cast(), n as usize),
                        n
                    );
                }
            }
            let n = kcps_udp_read(client, s, buf.as_mut_ptr().cast(), 16);
            if n > 0 {
                echoed.extend_from_slice(&buf[..n as usize]);
            }
        }
        assert_eq!(got, b"ping");
        assert_eq!(echoed, b"ping");
        assert_eq!(kcps_is_confirmed(kcps_udp_endpoint(client), s), 1);
        let mut values = [0u64; 8];
        assert_eq!(
            kcps_endpoint_stats(kcps_udp_endpoint(server), values.as_mut_ptr(), 8),
            8
        );
        assert!(values[0] > 0, "the listener's endpoint counted datagrams");
        kcps_udp_close(client);
        kcps_udp_close(server);
    }
}

#[test]
fn hostile_calls_on_the_socket_layer_get_error_codes() {
    let cfg = config(&[]);
    // SAFETY: live config; NULLs and made-up handles are what is tested.
    unsafe {
        let mut msg = [0 as c_char; 256];
        let (mut u, mut s) = (ptr::null_mut(), 0u64);
        let local = c"127.0.0.1:0".as_ptr();
        // NULLs.
        assert_eq!(
            kcps_udp_listen(ptr::null(), local, &mut u, ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_udp_listen(cfg, ptr::null(), &mut u, ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_udp_listen(cfg, local, ptr::null_mut(), ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_udp_dial(cfg, 0, local, &mut u, ptr::null_mut(), ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert_eq!(
            kcps_udp_dial(ptr::null(), 0, local, &mut u, &mut s, ptr::null_mut(), 0),
            KCPS_E_NULL
        );
        assert!(u.is_null());
        let null: *mut KcpsUdp = ptr::null_mut();
        assert_eq!(kcps_udp_update(null, 0), KCPS_E_NULL);
        assert_eq!(kcps_udp_fd(null), KCPS_E_NULL);
        assert!(kcps_udp_endpoint(null).is_null());
        assert_eq!(kcps_udp_accept(null, &mut s), KCPS_E_NULL);
        let mut buf = [0u8; 8];
        assert_eq!(
            kcps_udp_write(null, 0, 1, buf.as_ptr().cast(), 8),
            i64::from(KCPS_E_NULL)
        );
        assert_eq!(
            kcps_udp_read(null, 1, buf.as_mut_ptr().cast(), 8),
            i64::from(KCPS_E_NULL)
        );
        kcps_udp_close(null);
        // Addresses that name nothing, with a message saying so.
        for bad in [
            c"",
            c"nonsense",
            c"127.0.0.1",
            c"127.0.0.1:99999",
            c"[::1",
            c"\xff:1",
        ] {
            msg[0] = 0;
            assert_eq!(
                kcps_udp_listen(cfg, bad.as_ptr(), &mut u, msg.as_mut_ptr(), 256),
                KCPS_E_INVALID,
                "{bad:?}"
            );
            assert!(!text(&msg).is_empty(), "{bad:?}");
            assert_eq!(
                kcps_udp_dial(cfg, 0, bad.as_ptr(), &mut u, &mut s, msg.as_mut_ptr(), 256),
                KCPS_E_INVALID,
                "{bad:?}"
            );
        }
        assert!(u.is_null());
        // A bad config value is the config's error; an address in use is the socket's.
        let mut first = ptr::null_mut();
        assert_eq!(
            kcps_udp_listen(cfg, local, &mut first, ptr::null_mut(), 0),
            KCPS_OK
        );
        let fd = kcps_udp_fd(first);
        let port = port_of(fd);
        let taken = std::ffi::CString::new(format!("127.0.0.1:{port}")).unwrap();
        assert_eq!(
            kcps_udp_listen(cfg, taken.as_ptr(), &mut u, msg.as_mut_ptr(), 256),
            KCPS_E_IO
        );
        assert!(text(&msg).contains("bind"), "{}", text(&msg));
        assert!(u.is_null());
        let bad_cfg = config(&[(c"mtu", c"5")]);
        assert_eq!(
            kcps_udp_listen(bad_cfg, local, &mut u, msg.as_mut_ptr(), 256),
            KCPS_E_INVALID
        );
        kcps_config_free(bad_cfg);
        // Wrong handles on a live one; lengths no buffer can have.
        for h in [0, 1, u64::MAX] {
            assert_eq!(
                kcps_udp_write(first, 0, h, buf.as_ptr().cast(), 8),
                i64::from(KCPS_E_CLOSED)
            );
            assert_eq!(
                kcps_udp_read(first, h, buf.as_mut_ptr().cast(), 8),
                i64::from(KCPS_E_CLOSED)
            );
        }
        assert_eq!(
            kcps_udp_write(first, 0, 1, ptr::null(), 8),
            i64::from(KCPS_E_NULL)
        );
        assert_eq!(
            kcps_udp_read(first, 1, buf.as_mut_ptr().cast(), usize::MAX),
            i64::from(KCPS_E_INVALID)
        );
        assert_eq!(kcps_udp_accept(first, ptr::null_mut()), KCPS_E_NULL);
        assert_eq!(kcps_udp_accept(first, &mut s), 0);
        assert_eq!(kcps_udp_update(first, 0), 0);
        kcps_udp_close(first);
        kcps_config_free(cfg);
    }
}

/// 3,000 datagrams wait on the socket (its 4 MiB buffer holds them): one update reads
/// `KCPS_UDP_READS_PER_UPDATE` of them and returns, so a flood cannot hold the caller's
/// loop; further updates read the rest. The header's value is the library's.
#[test]
fn one_update_reads_a_bounded_number_of_datagrams() {
    let header = include_str!("../include/kcp_session.h");
    assert!(
        header.contains(&format!(
            "#define KCPS_UDP_READS_PER_UPDATE {KCPS_UDP_READS_PER_UPDATE}"
        )),
        "the header and the library disagree"
    );
    let cfg = config(&[]);
    // SAFETY: live config and objects, used by this thread only; buffers valid.
    unsafe {
        let mut server = ptr::null_mut();
        let mut msg = [0 as c_char; 256];
        assert_eq!(
            kcps_udp_listen(
                cfg,
                c"127.0.0.1:0".as_ptr(),
                &mut server,
                msg.as_mut_ptr(),
                256
            ),
            KCPS_OK,
            "{}",
            text(&msg)
        );
        kcps_config_free(cfg);
        let fd = kcps_udp_fd(server);
        let port = port_of(fd);
        let flooder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        const SENT: c_int = 3000;
        for i in 0..SENT {
            flooder
                .send_to(&i.to_le_bytes(), ("127.0.0.1", port))
                .unwrap();
        }
        let first = kcps_udp_update(server, now());
        assert_eq!(first, KCPS_UDP_READS_PER_UPDATE);
        let mut total = first;
        loop {
            let n = kcps_udp_update(server, now());
            assert!((0..=KCPS_UDP_READS_PER_UPDATE).contains(&n), "{n}");
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, SENT, "datagrams lost or read twice");
        kcps_udp_close(server);
    }
}
