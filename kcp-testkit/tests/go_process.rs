//! Runs the kcp-go 5.6.1 session peer (`peers/session`) through `kcp_testkit::go_process`: a
//! real kcp-go echo client against a real kcp-go echo server over loopback, with kcptun's
//! default AES and FEC 10/3. This checks the peer program and the process helpers that the
//! interop tests and benchmarks build on. It fails (never skips) when Go or kcp-go is
//! missing: scripts/setup.sh installs them.

use std::time::Duration;

use kcp_testkit::go_process::{self, GoServer};

#[test]
fn kcp_go_echo_client_against_kcp_go_echo_server() {
    let peer = go_process::session_peer();
    let flags = ["-crypt", "aes", "-datashard", "10", "-parityshard", "3"];
    let mut args = vec!["echo-server", "-listen", "127.0.0.1:0"];
    args.extend(flags);
    let server = GoServer::start(&peer, &args);
    assert!(server.addr().ip().is_loopback());

    let remote = server.addr().to_string();
    let mut args = vec!["echo-client", "-remote", &remote, "-bytes", "1048576"];
    args.extend(flags);
    let out = go_process::run_client(&peer, &args, Duration::from_secs(60));
    assert!(
        out.success,
        "echo-client failed: {out:?}; server stderr: {}",
        server.stderr()
    );
    let summary = out.summary().expect("an `ok ...` summary line");
    assert_eq!(summary.conns, 1);
    assert_eq!(summary.bytes, 1 << 20);
    assert!(summary.mibps > 0.0, "{summary:?}");

    assert!(
        server.wait_accepted(1, Duration::from_secs(10)),
        "server lines: {:?}",
        server.lines()
    );
    assert_eq!(server.accepted_count(), 1, "{:?}", server.lines());
}

#[test]
fn kcp_go_sink_client_against_kcp_go_sink_server_many_sessions() {
    let peer = go_process::session_peer();
    let flags = ["-crypt", "null", "-datashard", "0", "-parityshard", "0"];
    let mut args = vec!["sink-server", "-listen", "127.0.0.1:0"];
    args.extend(flags);
    let server = GoServer::start(&peer, &args);

    let remote = server.addr().to_string();
    let mut args = vec![
        "sink-client",
        "-remote",
        &remote,
        "-bytes",
        "65536",
        "-conns",
        "4",
    ];
    args.extend(flags);
    let out = go_process::run_client(&peer, &args, Duration::from_secs(60));
    assert!(
        out.success,
        "sink-client failed: {out:?}; server stderr: {}",
        server.stderr()
    );
    assert_eq!(out.summary().expect("a summary line").bytes, 4 * 65536);

    // Every session's request was counted in full by the server.
    let mut sunk = 0;
    let line = server.wait_for_line(Duration::from_secs(10), |l| {
        sunk += usize::from(l.starts_with("sunk ") && l.ends_with(" bytes=65536"));
        sunk == 4
    });
    assert!(line.is_some(), "server lines: {:?}", server.lines());
    assert_eq!(server.accepted_count(), 4);
}
