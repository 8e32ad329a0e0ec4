//! kcp-tunnel as the SIP003 plugin of shadowsocks-libev on both ends: a SOCKS5 request
//! through `ss-local` reaches a local TCP target, and 16 MiB come back intact; once more
//! with simple-obfs chained as the secondary plugin.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{
    Echo, Proc, echo_check, free_tcp_port, free_udp_port, require, tunnel_bin, wait_tcp,
    wait_udp_bound,
};

/// Opens a SOCKS5 CONNECT to `target` through the proxy on 127.0.0.1:`port`.
async fn socks5(port: u16, target: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[5, 1, 0]).await.unwrap();
    let mut hello = [0u8; 2];
    s.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello, [5, 0], "SOCKS5 method");
    let std::net::SocketAddr::V4(v4) = target else {
        panic!("IPv4 target expected")
    };
    let mut req = vec![5, 1, 0, 1];
    req.extend_from_slice(&v4.ip().octets());
    req.extend_from_slice(&v4.port().to_be_bytes());
    s.write_all(&req).await.unwrap();
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[1], 0, "SOCKS5 reply {reply:?}");
    s
}

async fn through_shadowsocks(server_opts: &str, client_opts: &str) {
    let ss_server = require("ss-server", "shadowsocks-libev");
    let ss_local = require("ss-local", "shadowsocks-libev");
    let echo = Echo::start().await;
    // The server plugin listens for KCP on the ss-server's port, UDP.
    let udp = free_udp_port();
    let udp_s = udp.to_string();
    let common = [
        "-s",
        "127.0.0.1",
        "-p",
        &udp_s,
        "-k",
        "ss-pass",
        "-m",
        "aes-256-gcm",
    ];
    let mut args = common.to_vec();
    args.extend(["--plugin", tunnel_bin(), "--plugin-opts", server_opts]);
    let mut server = Proc::start(&ss_server, &args, &[]);
    wait_udp_bound(udp, Duration::from_secs(20));
    let out = server.wait_for("target:", Duration::from_secs(20));
    if let Some(line) = out
        .lines()
        .find(|l| l.contains("starting secondary plugin"))
    {
        // obfs-server listens on the 127.0.0.1 side.
        let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        wait_tcp(port, Duration::from_secs(20));
    }
    let socks = free_tcp_port();
    let socks_s = socks.to_string();
    let mut args = common.to_vec();
    args.extend([
        "-l",
        &socks_s,
        "--plugin",
        tunnel_bin(),
        "--plugin-opts",
        client_opts,
    ]);
    let mut client = Proc::start(&ss_local, &args, &[]);
    wait_tcp(socks, Duration::from_secs(20));
    // ss-local starts its plugin on its own: wait until the plugin (and the secondary
    // plugin in front of it) listen.
    let out = client.wait_for("listening on:", Duration::from_secs(20));
    if let Some(line) = out
        .lines()
        .find(|l| l.contains("starting secondary plugin"))
    {
        let between = line.split(" between ").nth(1).expect("addresses");
        let ss_side = between.split(" and ").next().expect("address");
        let port: u16 = ss_side.rsplit(':').next().unwrap().parse().unwrap();
        wait_tcp(port, Duration::from_secs(20));
    }
    let s = socks5(socks, echo.addr).await;
    tokio::time::timeout(Duration::from_secs(120), echo_check(s, 16 << 20, 42))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "16 MiB not echoed in time\nss-local:\n{}\nss-server:\n{}",
                client.output(),
                server.output()
            )
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}\nss-local:\n{}\nss-server:\n{}",
                client.output(),
                server.output()
            )
        });
    assert_eq!(echo.accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The plugins logged their streams.
    assert!(
        client.output().contains("stream opened"),
        "{}",
        client.output()
    );
    assert!(
        server.output().contains("stream opened"),
        "{}",
        server.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadowsocks_plugin_on_both_ends() {
    through_shadowsocks("server;key=plugin-key", "key=plugin-key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadowsocks_plugin_with_simple_obfs_chained() {
    require("obfs-local", "simple-obfs");
    require("obfs-server", "simple-obfs");
    through_shadowsocks(
        "server;key=plugin-key;nocomp;plugin=obfs-server;plugin_opts=obfs\\=http",
        "key=plugin-key;nocomp;plugin=obfs-local;plugin_opts=obfs\\=http\\;obfs-host\\=www.example.com",
    )
    .await;
}
