//! A C program on kcp_session.h (`tests/c/echo_client.c`) against the real kcp-go 5.6.1
//! (the Go peer `peers/session`, pinned in peers/go.mod) over UDP on 127.0.0.1: it dials a
//! kcp-go echo server and checks 8 MiB of echo byte for byte, with aes and FEC 10/3 and
//! with salsa20 and no FEC. Fails, never skips, when gcc, Go or kcp-go is missing
//! (scripts/setup.sh installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use kcp_testkit::goproc::{self, GoServer};

const BYTES: usize = 8 << 20;
const KEY: &str = "interop key";

/// Where cargo put `libkcp_session_ffi.a` for this test run (beside the test binary).
fn staticlib() -> PathBuf {
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

/// The C client, compiled once per test run (the tests run in parallel).
fn client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(build_client)
}

/// Compiles the C client against the header and the static library, as C99 with every
/// warning an error.
fn build_client() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kcp-session-ffi");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let exe = dir.join("echo_client");
    let out = Command::new("gcc")
        .args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-O2"])
        .args(["-Wall", "-Wextra", "-pedantic", "-Werror"])
        .arg(format!("-I{}", manifest.join("include").display()))
        .arg(manifest.join("tests/c/echo_client.c"))
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

fn echo_through_kcp_go(crypt: &str, shards: (usize, usize)) {
    let client = client();
    let (data, parity) = (shards.0.to_string(), shards.1.to_string());
    let peer = goproc::session_peer();
    let server = GoServer::start(
        &peer,
        &[
            "echo-server",
            "-listen",
            "127.0.0.1:0",
            "-crypt",
            crypt,
            "-key",
            KEY,
            "-mode",
            "fast3",
            "-datashard",
            &data,
            "-parityshard",
            &parity,
        ],
    );
    let addr = server.addr();
    let mut child = Command::new(client)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(BYTES.to_string())
        .arg(format!("crypt={crypt}"))
        .arg(format!("key={KEY}"))
        .arg("mode=fast3")
        .arg(format!("datashard={data}"))
        .arg(format!("parityshard={parity}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the C client");
    // The client gives up by itself after 60 s; this only guards against a hang.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait for the C client").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{crypt}: the C client hung; kcp-go stderr: {}",
                server.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("C client output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("ok bytes={BYTES}")),
        "{crypt}: the C client failed ({}):\n{stdout}\n{}\nkcp-go stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    assert_eq!(server.accepted_count(), 1, "{:?}", server.lines());
}

#[test]
fn c_client_echoes_through_kcp_go_with_aes_and_fec() {
    echo_through_kcp_go("aes", (10, 3));
}

#[test]
fn c_client_echoes_through_kcp_go_with_salsa20_without_fec() {
    echo_through_kcp_go("salsa20", (0, 0));
}
