//! `tests/c/datagrams.c`, built with AddressSanitizer (leak detection on) and
//! UndefinedBehaviorSanitizer, every warning an error: a C client confirms its connect,
//! then sends unreliable datagrams of every size up to `kcps_max_datagram_size` and checks
//! each echo byte for byte, reading each through a 16-byte buffer first (the
//! too-small-buffer path). Its peer is a second endpoint in the same process, and the real
//! kcp-go 5.6.60's `SendOOB`/`SetOOBHandler` (the Go peer `peers/oob`), which checks every
//! datagram it receives. Loopback loses no datagram, so each echo is expected. Fails,
//! never skips, when gcc, Go or kcp-go 5.6.60 is missing (scripts/setup.sh installs them).

use std::path::Path;
use std::process::Command;

use kcp_testkit::go_process::GoServer;

mod common;
use common::build;

const COUNT: usize = 150;
const KEY: &str = "oob key";

/// Runs the C program with `args` and returns its stdout, which must hold `expect`.
fn run(program: &Path, args: &[String], expect: &str) -> String {
    // The program gives up by itself when an echo takes more than 10 seconds.
    let out = Command::new(program)
        .args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .output()
        .expect("run the C program");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains(expect),
        "the C program failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn c_datagrams_between_two_endpoints_in_one_process() {
    let program = build("datagrams");
    for crypt in ["aes", "null"] {
        let args: Vec<String> = [
            "local",
            &COUNT.to_string(),
            &format!("crypt={crypt}"),
            &format!("key={KEY}"),
            "datashard=10",
            "parityshard=3",
            "mode=fast3",
        ]
        .map(String::from)
        .to_vec();
        let out = run(
            &program,
            &args,
            &format!("ok datagrams={COUNT} echoed={COUNT} "),
        );
        assert!(out.contains("confirmed=1"), "{out}");
    }
}

#[test]
fn c_datagrams_through_kcp_go_oob() {
    let program = build("datagrams");
    let peer = kcp_testkit::go_peer::build("oob");
    for crypt in ["aes", "salsa20"] {
        let server = GoServer::start(&peer, &["server", "-crypt", crypt, "-key", KEY]);
        let addr = server.addr();
        let args: Vec<String> = [
            "client",
            &addr.ip().to_string(),
            &addr.port().to_string(),
            &COUNT.to_string(),
            &format!("crypt={crypt}"),
            &format!("key={KEY}"),
            "datashard=10",
            "parityshard=3",
            "mode=fast",
        ]
        .map(String::from)
        .to_vec();
        let out = run(
            &program,
            &args,
            &format!("ok datagrams={COUNT} echoed={COUNT} "),
        );
        // kcp-go's handler checked every datagram against the pattern.
        let checked = server
            .lines()
            .iter()
            .filter(|l| l.starts_with("oob n=") && l.ends_with("ok=true"))
            .count();
        assert_eq!(
            checked,
            COUNT,
            "{out}\n{:?}\n{}",
            server.lines(),
            server.stderr()
        );
        assert!(
            !server.lines().iter().any(|l| l.ends_with("ok=false")),
            "{:?}",
            server.lines()
        );
    }
}
