//! Running the real kcp-go 5.6.1 (the Go peer in `peers/session`) against our side: its
//! kcptun-style flags, its echo server and its clients.

use std::net::SocketAddr;
use std::time::Duration;

use kcp_testkit::go_process::{self, ClientOutcome, GoServer};

/// kcptun-style settings for the Go peer: cipher, key, mode and `(data, parity)` shards.
pub(crate) fn flags(crypt: &str, key: &str, mode: &str, shards: (usize, usize)) -> Vec<String> {
    let (data, parity) = (shards.0.to_string(), shards.1.to_string());
    [
        "-crypt",
        crypt,
        "-key",
        key,
        "-mode",
        mode,
        "-datashard",
        &data,
        "-parityshard",
        &parity,
    ]
    .map(String::from)
    .to_vec()
}

/// Starts kcp-go's `echo-server` on a free port of 127.0.0.1 with `flags`.
pub(crate) fn echo_server<S: AsRef<str>>(flags: &[S]) -> GoServer {
    let mut args = vec!["echo-server", "-listen", "127.0.0.1:0"];
    args.extend(flags.iter().map(AsRef::as_ref));
    GoServer::start(&go_process::session_peer(), &args)
}

/// The arguments of kcp-go's `echo-client`: one session to `remote` that writes `bytes`
/// bytes and checks every byte of the echo, within 100 s, with `flags` after.
pub(crate) fn echo_client_args<S: AsRef<str>>(
    remote: SocketAddr,
    bytes: usize,
    flags: &[S],
) -> Vec<String> {
    let mut args = [
        "echo-client",
        "-remote",
        &remote.to_string(),
        "-bytes",
        &bytes.to_string(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(["-timeout".into(), "100".into()]);
    args.extend(flags.iter().map(|f| f.as_ref().to_string()));
    args
}

/// Runs the Go peer with `args` to completion, killing it after `limit`.
pub(crate) fn run(args: &[String], limit: Duration) -> ClientOutcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    go_process::run_client(&go_process::session_peer(), &args, limit)
}

/// [`run`] on a blocking thread, for tests on a tokio runtime.
pub(crate) async fn run_async(args: Vec<String>, limit: Duration) -> ClientOutcome {
    tokio::task::spawn_blocking(move || run(&args, limit))
        .await
        .unwrap()
}
