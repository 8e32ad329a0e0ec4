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
