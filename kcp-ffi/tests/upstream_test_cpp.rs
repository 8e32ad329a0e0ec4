//! ikcp's own `test.cpp` (from the ikcp 1.7.1 sources that the `kcp-sys` crate ships),
//! compiled as C++ against this crate's `ikcp.h` and linked with the library, with one
//! change made here at build time: its `#include "ikcp.c"` becomes `#include "ikcp.h"`.
//! The unmodified program (which compiles ikcp.c into itself) runs beside it.
//!
//! test.cpp echoes 1,000+ packets, one every 20 ms, over a simulated link with 10% loss
//! and 60-125 ms round trips, in each of its three modes (default, normal, fast), in real
//! time: about 70 s for both programs together. It stops with `ERROR sn` if a packet
//! arrives out of order. The round-trip times depend on the machine's timing (the
//! simulator runs on the wall clock), so the check is that they are in the same range as
//! the C build's in the same run, not equal.

mod support;

use std::process::Command;
use std::thread;

use support::{SYSTEM_LIBS, include_dir, run, scratch, staticlib, upstream_dir};

/// One mode's result line: `avgrtt=N maxrtt=N tx=N`, plus the packets received.
#[derive(Debug, Clone, Copy)]
struct ModeResult {
    avg: u64,
    max: u64,
    received: u64,
}

fn parse(output: &str) -> Vec<ModeResult> {
    assert!(
        !output.contains("ERROR"),
        "test.cpp saw packets out of order:\n{output}"
    );
    let mut results = Vec::new();
    let mut received = 0;
    for line in output.lines() {
        if line.starts_with("[RECV]") {
            received += 1;
        } else if let Some(rest) = line.strip_prefix("avgrtt=") {
            let field = |name: &str| -> u64 {
                let at = rest.find(name).map_or(0, |i| i + name.len());
                let digits: String = rest[at..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().expect("a number")
            };
            let avg: String = rest.chars().take_while(char::is_ascii_digit).collect();
            results.push(ModeResult {
                avg: avg.parse().expect("a number"),
                max: field("maxrtt="),
                received,
            });
            received = 0;
        }
    }
    results
}

#[test]
fn upstream_test_cpp_runs_on_kcp_ffi_as_on_ikcp_c() {
    let upstream = upstream_dir();
    let source = std::fs::read_to_string(upstream.join("test.cpp")).expect("test.cpp");
    assert_eq!(
        source.matches("#include \"ikcp.c\"").count(),
        1,
        "test.cpp should include ikcp.c exactly once"
    );
    let ours_dir = scratch("upstream-test-ours");
    std::fs::write(
        ours_dir.join("test.cpp"),
        source.replace("#include \"ikcp.c\"", "#include \"ikcp.h\""),
    )
    .expect("write test.cpp");
    std::fs::copy(upstream.join("test.h"), ours_dir.join("test.h")).expect("copy test.h");

    // Our build sees only our ikcp.h (the upstream directory is not on its include path).
    let ours = ours_dir.join("test");
    run(Command::new("g++")
        .args(["-O2", "-w"])
        .arg(format!("-I{}", include_dir().display()))
        .arg(ours_dir.join("test.cpp"))
        .arg(staticlib())
        .args(SYSTEM_LIBS)
        .arg("-o")
        .arg(&ours));
    let theirs_dir = scratch("upstream-test-ikcp-c");
    let theirs = theirs_dir.join("test");
    run(Command::new("g++")
        .args(["-O2", "-w"])
        .arg(format!("-I{}", upstream.display()))
        .arg(upstream.join("test.cpp"))
        .arg("-o")
        .arg(&theirs));

    // Side by side, so that both see the same machine load.
    let c_run = thread::spawn(move || run(&mut Command::new(theirs)));
    let ours_out = run(&mut Command::new(ours));
    let c_out = c_run.join().expect("the C build's runner");
    let ours = parse(&String::from_utf8_lossy(&ours_out.stdout));
    let theirs = parse(&String::from_utf8_lossy(&c_out.stdout));
    assert_eq!(ours.len(), 3, "kcp-ffi build: three mode results expected");
    assert_eq!(theirs.len(), 3, "ikcp.c build: three mode results expected");

    println!("mode      kcp-ffi avg/max RTT   ikcp.c avg/max RTT");
    for (i, name) in ["default", "normal", "fast"].into_iter().enumerate() {
        let (o, c) = (ours[i], theirs[i]);
        println!(
            "{name:<9} {:>6} / {:<6} ms      {:>6} / {:<6} ms",
            o.avg, o.max, c.avg, c.max
        );
        assert!(
            o.received > 1000,
            "{name}: only {} packets echoed",
            o.received
        );
        // test.cpp's default mode keeps the congestion window and no fast resend: its
        // RTTs swing widely between runs of the same program (seconds), so the range is
        // wider there.
        let (factor, slack) = if i == 0 { (4, 200) } else { (2, 50) };
        assert!(
            o.avg <= factor * c.avg + slack && c.avg <= factor * o.avg + slack,
            "{name} mode: average RTT {} ms with kcp-ffi, {} ms with ikcp.c",
            o.avg,
            c.avg
        );
    }
}
