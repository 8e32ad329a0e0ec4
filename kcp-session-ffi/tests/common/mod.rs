//! Helpers of the Rust-side tests of the C ABI: addresses, configs, endpoints, and
//! datagrams handed from one endpoint to another in memory.
#![allow(unsafe_code, reason = "calling a C API is what is tested")]
#![allow(dead_code, reason = "each test file uses some of them")]

use core::ffi::{CStr, c_char};
use core::ptr;
use std::path::{Path, PathBuf};
use std::process::Command;

use kcp_session_ffi::*;

pub(crate) fn addr(port: u16) -> KcpsAddr {
    KcpsAddr {
        family: KCPS_AF_INET,
        port,
        scope_id: 0,
        ip: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    }
}

pub(crate) fn config(options: &[(&CStr, &CStr)]) -> *mut KcpsConfig {
    let cfg = kcps_config_new();
    for (name, value) in options {
        let mut msg = [0 as c_char; 128];
        // SAFETY: live config, NUL-terminated strings, a 128-byte buffer.
        let r = unsafe {
            kcps_config_set(
                cfg,
                name.as_ptr(),
                value.as_ptr(),
                msg.as_mut_ptr(),
                msg.len(),
            )
        };
        assert_eq!(r, KCPS_OK, "{name:?}={value:?}");
    }
    cfg
}

pub(crate) fn endpoint(cfg: *const KcpsConfig) -> *mut KcpsEndpoint {
    let mut ep = ptr::null_mut();
    // SAFETY: live config, writable out pointer, no message buffer.
    let r = unsafe { kcps_endpoint_new(cfg, &mut ep, ptr::null_mut(), 0) };
    assert_eq!(r, KCPS_OK);
    ep
}

/// Moves every waiting datagram from `from` (at address `from_addr`) into `to`.
pub(crate) fn deliver(
    from: *mut KcpsEndpoint,
    from_addr: KcpsAddr,
    to: *mut KcpsEndpoint,
    now: u32,
) -> usize {
    let mut datagrams = Vec::new();
    let mut t = core::mem::MaybeUninit::<KcpsTransmit>::uninit();
    // SAFETY: live endpoints; `t` is read only after a call that filled it, and its bytes
    // are copied before the next call on `from`.
    unsafe {
        while kcps_poll_transmit(from, now, t.as_mut_ptr()) == 1 {
            let t = t.assume_init();
            let all = core::slice::from_raw_parts(t.data, t.len);
            datagrams.extend(all.chunks(t.segment_size.max(1)).map(<[u8]>::to_vec));
        }
        for d in &mut datagrams {
            let r = kcps_handle(
                to,
                now,
                &from_addr,
                d.as_mut_ptr(),
                d.len(),
                ptr::null_mut(),
            );
            assert!(r >= 0, "{r}");
        }
    }
    datagrams.len()
}

/// Where cargo put `libkcp_session_ffi.a` for this test run (beside the test binary).
pub(crate) fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let lib = exe
        .parent()
        .expect("deps directory")
        .join("libkcp_session_ffi.a");
    assert!(
        lib.exists(),
        "{} is missing: cargo builds it with the crate's tests",
        lib.display()
    );
    lib
}

/// Compiles `tests/c/<name>.c` with `udp.c` against the header and the static library:
/// C99, every warning an error, ASan and UBSan.
pub(crate) fn build(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let c = manifest.join("tests/c");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kcp-session-ffi");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let exe = dir.join(name);
    let out = Command::new("gcc")
        .args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-O1", "-g"])
        .args(["-Wall", "-Wextra", "-pedantic", "-Werror"])
        .args(["-fno-omit-frame-pointer", "-fsanitize=address,undefined"])
        .arg("-fno-sanitize-recover=all")
        .arg(format!("-I{}", manifest.join("include").display()))
        .arg(c.join(format!("{name}.c")))
        .arg(c.join("udp.c"))
        .arg(staticlib())
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run gcc (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}
