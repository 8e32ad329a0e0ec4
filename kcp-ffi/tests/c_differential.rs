//! The C-level differential test (`tests/c/differential.c`): the library and the real
//! ikcp.c 1.7.1 in one C program, driven through the C API by the same seeded scripts,
//! with every return value, datagram, log line and struct field compared after each call.
//!
//! `KCP_FFI_DIFF_SCENARIOS=<n>` changes the number of scenarios (default 2000); a failure
//! prints the seed and the command that replays it.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{c_dir, compile, include_dir, link, renamed_ikcp_c, run, scratch, staticlib};

/// Builds the differential program with `flags` into a fresh directory.
fn build(name: &str, flags: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let include = format!("-I{}", include_dir().display());
    let mut cflags = vec!["-g", "-Wall", "-Wextra", "-Werror", &include];
    cflags.extend(flags);
    let mut objects = compile(
        &dir,
        false,
        &cflags,
        &[c_dir().join("worlds.c"), c_dir().join("differential.c")],
    );
    objects.push(renamed_ikcp_c(&dir, flags));
    objects.push(staticlib());
    link(&dir, "differential", false, flags, &objects)
}

/// Runs the program and returns its summary counters.
fn summary(exe: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Vec<(String, u64)> {
    let out = run(Command::new(exe).args(args).envs(env.iter().copied()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "the differential program reported problems:\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    let line = stdout.lines().last().expect("a summary line");
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_owned(), v.parse().expect("a count"))
        })
        .collect()
}

/// Every counter of the summary must be non-zero: the scripts reached sends, receives,
/// peeks, every segment kind, invalid inputs, field writes, logging, output switches,
/// oversized messages, dead links, zero windows and timeouts.
fn assert_covered(counts: &[(String, u64)], scenarios: u64) {
    assert_eq!(
        counts.iter().find(|(k, _)| k == "scenarios").map(|c| c.1),
        Some(scenarios)
    );
    for (k, v) in counts {
        assert!(*v > 0, "no scenario exercised {k}");
    }
}

#[test]
fn kcp_ffi_matches_ikcp_c_through_the_c_api() {
    let scenarios: u64 = std::env::var("KCP_FFI_DIFF_SCENARIOS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let exe = build("differential", &["-O2"]);
    let counts = summary(&exe, &["--scenarios", &scenarios.to_string()], &[]);
    assert_covered(&counts, scenarios);
}

/// The same program built with AddressSanitizer (with leak detection) and
/// UndefinedBehaviorSanitizer: no invalid access, leak or undefined behaviour in the C
/// code, in what it does with the library's memory (datagrams, log lines, the struct), or
/// in the blocks the library allocates through `ikcp_allocator` hooks, which must all be
/// freed again.
#[test]
fn differential_is_clean_under_asan_and_ubsan() {
    let exe = build(
        "differential-sanitized",
        &[
            "-O1",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
        ],
    );
    let counts = summary(
        &exe,
        &["--scenarios", "300", "--base", "0x5A4E0000", "--hooks"],
        &[("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")],
    );
    assert_covered(&counts, 300);
}
