//! C programs on kcp_session.h against the real kcp-go 5.6.1 (the Go peer `peers/session`,
//! pinned in peers/go.mod) over UDP on 127.0.0.1, in both roles, 8 MiB of echo checked byte
//! for byte: `tests/c/echo_client.c` through kcp-go's echo server, and kcp-go's echo
//! client through `tests/c/echo_server.c`; with aes and FEC 10/3 and with salsa20 without
//! FEC; and both roles again through kcp-testkit's lossy relay (5% loss each way, delay,
//! jitter, reordering and duplicates), where the C side must recover by retransmission
//! and FEC. The C programs are built with AddressSanitizer (leak detection on) and
//! UndefinedBehaviorSanitizer, every warning an error. Fails, never skips, when gcc, Go or
//! kcp-go is missing (scripts/setup.sh installs them).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kcp_testkit::go_process::{self, ClientSummary, GoServer};
use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;

mod common;
use common::build;

const BYTES: usize = 8 << 20;
const KEY: &str = "interop key";

/// The C programs, built once per test run (the tests run in parallel).
fn program(name: &'static str) -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    static SERVER: OnceLock<PathBuf> = OnceLock::new();
    match name {
        "echo_client" => CLIENT.get_or_init(|| build(name)),
        _ => SERVER.get_or_init(|| build(name)),
    }
}

/// The session options, as kcptun flags for the Go peer and NAME=VALUE for the C programs.
fn options(crypt: &str, shards: (usize, usize)) -> (Vec<String>, Vec<String>) {
    let pairs = [
        ("crypt", crypt.to_string()),
        ("key", KEY.to_string()),
        ("mode", "fast3".to_string()),
        ("datashard", shards.0.to_string()),
        ("parityshard", shards.1.to_string()),
    ];
    let go = pairs
        .iter()
        .flat_map(|(k, v)| [format!("-{k}"), v.clone()])
        .collect();
    let c = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (go, c)
}

/// A lossy relay on 127.0.0.1 in front of `upstream`, and the runtime that drives it
/// (dropped after it).
struct Lossy {
    relay: Relay,
    _runtime: tokio::runtime::Runtime,
}

/// The link of kcp-session's lossy interop tests: 5% loss each way, 5 ms delay with up to
/// 10 ms jitter, 2% of datagrams reordered and 2% duplicated.
fn lossy_relay(upstream: SocketAddr, seed: u64) -> Lossy {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let link = LinkConfig::new()
        .loss(0.05)
        .delay(5, 10)
        .reorder(0.02, 5)
        .duplicate(0.02);
    let relay = runtime
        .block_on(Relay::start(upstream, link, seed))
        .expect("start the relay");
    Lossy {
        relay,
        _runtime: runtime,
    }
}

impl Lossy {
    fn lost(&self) -> u64 {
        self.relay.stats().lost.load(Ordering::Relaxed)
    }
}

/// Runs a C program to completion (it gives up by itself after 60 s; the limit here only
/// guards against a hang) and returns its stdout, which must hold `expect`.
fn run_c(
    program: &Path,
    args: &[String],
    expect: &str,
    peer_stderr: impl Fn() -> String,
) -> String {
    let mut child = Command::new(program)
        .args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the C program");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait for the C program").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the C program hung; kcp-go stderr: {}", peer_stderr());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("C program output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(expect),
        "the C program failed ({}):\n{stdout}\n{}\nkcp-go stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        peer_stderr()
    );
    stdout.into_owned()
}

/// The C client echoes BYTES through kcp-go's echo server, straight or through a lossy
/// relay (`seed`); returns the client's summary (time, retransmissions, FEC repairs).
fn c_client_to_kcp_go(crypt: &str, shards: (usize, usize), lossy: Option<u64>) -> ClientSummary {
    let (go, c) = options(crypt, shards);
    let mut args = vec!["echo-server", "-listen", "127.0.0.1:0"];
    args.extend(go.iter().map(String::as_str));
    let server = GoServer::start(&go_process::session_peer(), &args);
    let relay = lossy.map(|seed| lossy_relay(server.addr(), seed));
    let addr = relay.as_ref().map_or(server.addr(), |r| r.relay.addr());
    let mut c_args = vec![
        addr.ip().to_string(),
        addr.port().to_string(),
        BYTES.to_string(),
    ];
    c_args.extend(c);
    let out = run_c(
        program("echo_client"),
        &c_args,
        &format!("ok conns=1 bytes={BYTES} "),
        || server.stderr(),
    );
    assert_eq!(server.accepted_count(), 1, "{:?}", server.lines());
    let summary = out
        .lines()
        .find_map(ClientSummary::parse)
        .expect("the C client's summary line");
    if let Some(relay) = relay {
        assert!(relay.lost() > 0, "the relay lost nothing");
        println!(
            "C client through the lossy relay to kcp-go ({crypt}, FEC {shards:?}): {out}relay lost {}",
            relay.lost()
        );
    }
    summary
}

/// kcp-go's echo client echoes BYTES through the C server, straight or through a lossy
/// relay (`seed`); returns kcp-go's summary.
fn kcp_go_client_to_c(crypt: &str, shards: (usize, usize), lossy: Option<u64>) -> ClientSummary {
    let (go, c) = options(crypt, shards);
    let mut c_args = vec![BYTES.to_string()];
    c_args.extend(c);
    let c_args: Vec<&str> = c_args.iter().map(String::as_str).collect();
    // The C server speaks GoServer's protocol: "listening ADDR", then "accepted ..." lines.
    let server = GoServer::start(program("echo_server"), &c_args);
    let relay = lossy.map(|seed| lossy_relay(server.addr(), seed));
    let remote = relay
        .as_ref()
        .map_or(server.addr(), |r| r.relay.addr())
        .to_string();
    let bytes = BYTES.to_string();
    let mut args = vec!["echo-client", "-remote", &remote, "-bytes", &bytes];
    args.extend(go.iter().map(String::as_str));
    let out = go_process::run_client(&go_process::session_peer(), &args, Duration::from_secs(120));
    assert!(
        out.success,
        "kcp-go client: {out:?}\nC server stderr: {}",
        server.stderr()
    );
    let summary = out.summary().expect("kcp-go's summary line");
    assert_eq!(summary.bytes, BYTES as u64, "{out:?}");
    // The server ends once what it echoed is acknowledged (or after the linger time).
    let done = server.wait_for_line(Duration::from_secs(90), |l| l.starts_with("ok echoed="));
    assert_eq!(
        done,
        Some(format!("ok echoed={BYTES}")),
        "{:?}\n{}",
        server.lines(),
        server.stderr()
    );
    assert_eq!(server.accepted_count(), 1, "{:?}", server.lines());
    if let Some(relay) = relay {
        assert!(relay.lost() > 0, "the relay lost nothing");
        println!(
            "kcp-go client through the lossy relay to C ({crypt}, FEC {shards:?}): {}relay lost {}",
            out.stdout,
            relay.lost()
        );
    }
    summary
}

#[test]
fn c_client_echoes_through_kcp_go_with_aes_and_fec() {
    c_client_to_kcp_go("aes", (10, 3), None);
}

#[test]
fn c_client_echoes_through_kcp_go_with_salsa20_without_fec() {
    c_client_to_kcp_go("salsa20", (0, 0), None);
}

#[test]
fn kcp_go_client_echoes_through_c_server_with_aes_and_fec() {
    kcp_go_client_to_c("aes", (10, 3), None);
}

#[test]
fn kcp_go_client_echoes_through_c_server_with_salsa20_without_fec() {
    kcp_go_client_to_c("salsa20", (0, 0), None);
}

#[test]
fn c_client_echoes_through_kcp_go_over_a_lossy_link_with_fec() {
    let s = c_client_to_kcp_go("aes", (10, 3), Some(1));
    assert!(s.fec_recovered > 0, "{s:?}");
}

#[test]
fn c_client_echoes_through_kcp_go_over_a_lossy_link_without_fec() {
    let s = c_client_to_kcp_go("salsa20", (0, 0), Some(2));
    assert!(s.retrans > 0 && s.fec_recovered == 0, "{s:?}");
}

#[test]
fn kcp_go_client_echoes_through_c_server_over_a_lossy_link_with_fec() {
    let s = kcp_go_client_to_c("aes", (10, 3), Some(3));
    assert!(s.fec_recovered > 0, "{s:?}");
}

#[test]
fn kcp_go_client_echoes_through_c_server_over_a_lossy_link_without_fec() {
    let s = kcp_go_client_to_c("salsa20", (0, 0), Some(4));
    assert!(s.retrans > 0 && s.fec_recovered == 0, "{s:?}");
}
