//! Interop with Debian's kcptun 20210922: our client with `kcptun-server`, and
//! `kcptun-client` with our server. Each case moves 64 MiB each way over 8 concurrent TCP
//! connections to a local echo target, every byte checked.

use std::time::Duration;

use crate::harness::{
    Echo, Proc, echo_check, echo_many, free_tcp_port, free_udp_port, require, tunnel_bin,
    wait_udp_bound,
};

/// 64 MiB each way in total, over 8 connections.
const CONNS: u64 = 8;
const PER_CONN: u64 = 8 << 20;
const LIMIT: Duration = Duration::from_secs(240);

/// Which end is ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ours {
    Client,
    Server,
}

/// A running tunnel: `port` is the client's TCP port.
pub(crate) struct Tunnel {
    pub(crate) client: Proc,
    pub(crate) server: Proc,
    pub(crate) port: u16,
}

/// Starts a tunnel to `target` with `flags` on both ends; `ours` says which end is
/// kcp-tunnel, the other is kcptun 20210922. kcp-tunnel defaults to smux v2 as kcptun's
/// last release does; kcptun 20210922 defaults to v1. Our server speaks whichever version
/// the client does, but our client must be told: unless the flags choose a version, our
/// client gets `--smuxver 1`, as a user pairing it with a 20210922 server must.
pub(crate) fn start(ours: Ours, target: &str, flags: &[&str]) -> Tunnel {
    let (server_bin, client_bin) = match ours {
        Ours::Client => (require("kcptun-server", "kcptun"), tunnel_bin().into()),
        Ours::Server => (tunnel_bin().into(), require("kcptun-client", "kcptun")),
    };
    let mut ours_flags = flags.to_vec();
    if ours == Ours::Client && !flags.contains(&"--smuxver") {
        ours_flags.extend(["--smuxver", "1"]);
    }
    let (server_flags, client_flags) = match ours {
        Ours::Client => (flags, &ours_flags[..]),
        Ours::Server => (&ours_flags[..], flags),
    };
    start_with(&server_bin, &client_bin, target, server_flags, client_flags)
}

/// Starts `server_bin` and `client_bin` (ours run with their subcommand).
pub(crate) fn start_with(
    server_bin: &std::path::Path,
    client_bin: &std::path::Path,
    target: &str,
    server_flags: &[&str],
    client_flags: &[&str],
) -> Tunnel {
    let udp = free_udp_port();
    let listen = format!("127.0.0.1:{udp}");
    let ours = |p: &std::path::Path| p == std::path::Path::new(tunnel_bin());
    let mut args: Vec<&str> = Vec::new();
    if ours(server_bin) {
        args.push("server");
    }
    args.extend(["-l", &listen, "-t", target]);
    args.extend(server_flags);
    let server = Proc::start(server_bin, &args, &[]);
    wait_udp_bound(udp, Duration::from_secs(20));
    let port = free_tcp_port();
    let local = format!("127.0.0.1:{port}");
    let mut args: Vec<&str> = Vec::new();
    if ours(client_bin) {
        args.push("client");
    }
    args.extend(["-l", &local, "-r", &listen]);
    args.extend(client_flags);
    let mut client = Proc::start(client_bin, &args, &[]);
    client.wait_for(&format!("listening on: {local}"), Duration::from_secs(20));
    Tunnel {
        client,
        server,
        port,
    }
}

async fn case(ours: Ours, flags: &[&str]) {
    let echo = Echo::start().await;
    let t = start(ours, &echo.addr.to_string(), flags);
    echo_many(t.port, CONNS, PER_CONN, LIMIT).await;
    assert_eq!(
        echo.accepted.load(std::sync::atomic::Ordering::Relaxed),
        CONNS
    );
    drop(t);
}

macro_rules! cases {
    ($($name:ident: $ours:ident $flags:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            case(Ours::$ours, &$flags).await;
        }
    )*};
}

cases! {
    defaults_our_client_kcptun_server: Client [];
    defaults_kcptun_client_our_server: Server [];
    nocomp_our_client_kcptun_server: Client ["--nocomp"];
    nocomp_kcptun_client_our_server: Server ["--nocomp"];
    salsa20_fast2_our_client_kcptun_server: Client ["--crypt", "salsa20", "--mode", "fast2", "--key", "k3y"];
    salsa20_fast2_kcptun_client_our_server: Server ["--crypt", "salsa20", "--mode", "fast2", "--key", "k3y"];
    smuxver2_our_client_kcptun_server: Client ["--smuxver", "2"];
    smuxver2_kcptun_client_our_server: Server ["--smuxver", "2"];
}

/// One connection idles across several keepalive periods and past smux's 30 s timeout,
/// then still works; so does a new one.
async fn idle(ours: Ours) {
    let echo = Echo::start().await;
    let t = start(ours, &echo.addr.to_string(), &["--keepalive", "5"]);
    let s = tokio::net::TcpStream::connect(("127.0.0.1", t.port))
        .await
        .unwrap();
    let (mut r, mut w) = s.into_split();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    w.write_all(b"before").await.unwrap();
    let mut buf = [0u8; 6];
    r.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"before");
    tokio::time::sleep(Duration::from_secs(36)).await;
    w.write_all(b"after!").await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), r.read_exact(&mut buf))
        .await
        .expect("the idle connection answers")
        .unwrap();
    assert_eq!(&buf, b"after!");
    let fresh = tokio::net::TcpStream::connect(("127.0.0.1", t.port))
        .await
        .unwrap();
    echo_check(fresh, 100_000, 7).await.unwrap();
    let out = t.client.output() + &t.server.output();
    assert!(
        !out.contains("keepalive timeout"),
        "a session timed out:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_survives_keepalive_our_client() {
    idle(Ours::Client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_survives_keepalive_our_server() {
    idle(Ours::Server).await;
}

/// Our server configured by a kcptun JSON file (the keys of Debian's example
/// `server.json`), with `kcptun-client` given the same settings as flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_config_our_server() {
    let echo = Echo::start().await;
    let udp = free_udp_port();
    let json = format!(
        r#"{{
        "listen": "127.0.0.1:{udp}", "target": "{}", "key": "PASSWORD", "crypt": "aes-128",
        "mode": "fast3", "mtu": 1400, "sndwnd": 2048, "rcvwnd": 2048, "datashard": 10,
        "parityshard": 3, "dscp": 46, "nocomp": true, "acknodelay": false, "nodelay": 1,
        "interval": 40, "resend": 2, "nc": 1, "sockbuf": 16777217, "smuxver": 1,
        "smuxbuf": 16777217, "streambuf": 2097152, "keepalive": 10, "pprof": false,
        "quiet": false, "tcp": false }}"#,
        echo.addr
    );
    let path = crate::harness::scratch().join(format!("server-{udp}.json"));
    std::fs::write(&path, json).unwrap();
    // The flags say otherwise; the file wins, as in kcptun.
    let server = Proc::start(
        tunnel_bin(),
        &[
            "server",
            "-l",
            "127.0.0.1:1",
            "--key",
            "flag",
            "-c",
            path.to_str().unwrap(),
        ],
        &[],
    );
    wait_udp_bound(udp, Duration::from_secs(20));
    let port = free_tcp_port();
    let mut client = Proc::start(
        require("kcptun-client", "kcptun"),
        &[
            "-l",
            &format!("127.0.0.1:{port}"),
            "-r",
            &format!("127.0.0.1:{udp}"),
            "--key",
            "PASSWORD",
            "--crypt",
            "aes-128",
            "--mode",
            "fast3",
            "--mtu",
            "1400",
            "--nocomp",
        ],
        &[],
    );
    client.wait_for(
        &format!("listening on: 127.0.0.1:{port}"),
        Duration::from_secs(20),
    );
    echo_many(port, 4, 1 << 20, LIMIT).await;
    drop((client, server));
}

/// One server of ours on its defaults serves kcptun 20210922's client (smux v1 by
/// default) and our own client on its defaults (v2, as kcptun's last release) at once:
/// each session speaks the version of its first frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_serves_smux_v1_and_v2_clients_at_once() {
    let echo = Echo::start().await;
    let udp = free_udp_port();
    let listen = format!("127.0.0.1:{udp}");
    let server = Proc::start(
        tunnel_bin(),
        &[
            "server",
            "-l",
            &listen,
            "-t",
            &echo.addr.to_string(),
            "--key",
            "v",
        ],
        &[],
    );
    wait_udp_bound(udp, Duration::from_secs(20));
    let mut clients = Vec::new();
    let mut ports = Vec::new();
    for bin in [require("kcptun-client", "kcptun"), tunnel_bin().into()] {
        let port = free_tcp_port();
        let local = format!("127.0.0.1:{port}");
        let mut args: Vec<&str> = Vec::new();
        if bin == std::path::Path::new(tunnel_bin()) {
            args.push("client");
        }
        args.extend(["-l", &local, "-r", &listen, "--key", "v"]);
        let mut client = Proc::start(&bin, &args, &[]);
        client.wait_for(&format!("listening on: {local}"), Duration::from_secs(20));
        clients.push(client);
        ports.push(port);
    }
    tokio::join!(
        echo_many(ports[0], 2, 1 << 20, LIMIT),
        echo_many(ports[1], 2, 1 << 20, LIMIT)
    );
    drop(clients);
    drop(server);
}
