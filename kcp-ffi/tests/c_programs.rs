//! The C programs shipped with the crate build and run: the example against the shared
//! library, and the benchmark (a short run: its timings mean nothing here, but both
//! implementations must finish the same lossy transfer in the same virtual time).

mod support;

use std::process::Command;

use support::{
    c_dir, compile, crate_dir, include_dir, lib_dir, link, renamed_ikcp_c, run, scratch, staticlib,
};

#[test]
fn example_runs_against_the_shared_library() {
    let dir = scratch("hello-shared");
    let exe = dir.join("hello");
    run(Command::new("gcc")
        .args(["-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", include_dir().display()))
        .arg(crate_dir().join("examples/c/hello.c"))
        .arg(format!("-L{}", lib_dir().display()))
        .arg("-lkcp_ffi")
        .arg("-o")
        .arg(&exe));
    let out = run(Command::new(&exe).env("LD_LIBRARY_PATH", lib_dir()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("received message 9 (1200 bytes)"),
        "{stdout}"
    );
    assert!(stdout.contains("10 messages"), "{stdout}");
}

#[test]
fn benchmark_program_builds_and_agrees_on_virtual_time() {
    let dir = scratch("bench-smoke");
    let include = format!("-I{}", include_dir().display());
    let tests = format!("-I{}", c_dir().display());
    let flags = ["-O2", "-Wall", "-Wextra", "-Werror", &include, &tests];
    let mut objects = compile(
        &dir,
        false,
        &flags,
        &[c_dir().join("worlds.c"), crate_dir().join("bench/bench.c")],
    );
    objects.push(renamed_ikcp_c(&dir, &["-O2"]));
    objects.push(staticlib());
    let exe = link(&dir, "bench", false, &[], &objects);
    let out = run(Command::new(exe).arg("--quick"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("virtual time in both"), "{stdout}");
    for shape in ["flush_1024_idle", "bulk_1MiB ", "bulk_1MiB_loss10"] {
        assert!(stdout.contains(shape), "{shape} missing:\n{stdout}");
    }
}

/// A C++ exception thrown from the output callback does not travel through the library
/// (whose frames could be left half-updated): the process aborts at the library boundary,
/// and the `catch` around `ikcp_update` never runs.
#[test]
fn exception_from_a_callback_aborts_instead_of_unwinding_through_the_library() {
    let dir = scratch("throwing-callback");
    let src = dir.join("throw.cpp");
    std::fs::write(
        &src,
        r#"#include <cstdio>
#include <stdexcept>
#include "ikcp.h"
static int output(const char *, int, ikcpcb *, void *) { throw std::runtime_error("boom"); }
int main() {
    ikcpcb *k = ikcp_create(1, nullptr);
    ikcp_setoutput(k, output);
    k->nocwnd = 1;
    ikcp_send(k, "x", 1);
    try {
        ikcp_update(k, 0);
    } catch (...) {
        std::puts("caught");
        return 0;
    }
    std::puts("returned");
    return 0;
}
"#,
    )
    .expect("write throw.cpp");
    let exe = dir.join("throw");
    run(Command::new("g++")
        .arg(format!("-I{}", include_dir().display()))
        .arg(&src)
        .arg(staticlib())
        .args(support::SYSTEM_LIBS)
        .arg("-o")
        .arg(&exe));
    let out = Command::new(&exe).output().expect("run throw");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "expected an abort, got {}: {stdout}",
        out.status
    );
    assert!(
        stdout.is_empty(),
        "the exception crossed the library: {stdout}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT");
}
