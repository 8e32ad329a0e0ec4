//! Several kcp-tunnel servers behind nginx's UDP load balancer (the `stream` module from
//! Debian), as docs/replacing-kcptun.md sets it up: one client's sessions spread over the
//! servers, and when one server dies its sessions end within smux's keepalive timeout and
//! the client dials again, through nginx, to the one alive, while every stream that had
//! finished got all its bytes.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::bad_input::{our_client, our_server};
use crate::harness::{Echo, Proc, echo_check, echo_many, free_udp_port, require, scratch};

/// Where Debian's `libnginx-mod-stream` puts the module.
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// nginx balancing UDP on 127.0.0.1:`port` over `backends`, in the foreground.
fn nginx(port: u16, backends: &[u16]) -> Proc {
    let nginx = require("nginx", "nginx-light");
    assert!(
        std::path::Path::new(STREAM_MODULE).is_file(),
        "{STREAM_MODULE} is missing: install the Debian package libnginx-mod-stream \
         (`apt-get install -y libnginx-mod-stream`, or run scripts/setup.sh)"
    );
    let dir = scratch().join(format!("nginx-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let servers: String = backends
        .iter()
        // A server that fails (its port answers with ICMP port unreachable) is left out
        // for the rest of the test.
        .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=600s;\n"))
        .collect();
    let conf = format!(
        "load_module {STREAM_MODULE};
daemon off;
# One process: killing it (as the test's process handle does) leaves no worker behind.
master_process off;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{}}
stream {{
    upstream kcp {{
        hash $remote_addr$remote_port consistent;
        {servers}
    }}
    server {{
        listen 127.0.0.1:{port} udp;
        proxy_pass kcp;
        proxy_timeout 120s;
    }}
}}
",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let p = Proc::start(
        nginx,
        &["-c", path.to_str().unwrap(), "-p", dir.to_str().unwrap()],
        &[],
    );
    crate::harness::wait_udp_bound(port, Duration::from_secs(20));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_behind_nginx_and_one_dies() {
    const CONN: u64 = 8;
    let echo = Echo::start().await;
    let target = echo.addr.to_string();
    let (mut a, port_a) = our_server(&target, &["--key", "k"]);
    let (b, port_b) = our_server(&target, &["--key", "k"]);
    let lb_port = free_udp_port();
    let _lb = nginx(lb_port, &[port_a, port_b]);
    let conn = CONN.to_string();
    let (mut client, port) = our_client(
        &format!("127.0.0.1:{lb_port}"),
        &["--key", "k", "--conn", &conn],
    );

    // Two connections per session; every byte comes back. The sessions (each from a port
    // of its own) are spread over both servers.
    echo_many(port, 2 * CONN, 64 << 10, Duration::from_secs(120)).await;
    let sessions = |p: &Proc| p.output().matches("remote address").count();
    let (on_a, on_b) = (sessions(&a), sessions(&b));
    assert_eq!(on_a + on_b, CONN as usize, "{on_a} + {on_b} sessions");
    assert!(on_a > 0 && on_b > 0, "all {CONN} sessions on one server");

    // Server B dies. Its sessions' streams fail when smux's keepalive gives up on them
    // (30 s); the client then dials those sessions again, and nginx, which saw B refuse,
    // sends them to A. Rounds of one connection per session, until a whole round works.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut round = 0u64;
    loop {
        round += 1;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..CONN {
            set.spawn(async move {
                let s = TcpStream::connect(("127.0.0.1", port))
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                tokio::time::timeout(Duration::from_secs(45), echo_check(s, 16 << 10, i))
                    .await
                    .map_err(|_| "no echo within 45 s".to_owned())?
            });
        }
        let mut failed = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Err(e) = r.unwrap() {
                failed.push(e);
            }
        }
        if failed.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "round {round} still failed 150 s after a server died: {failed:?}\n{}",
            client.output()
        );
    }
    assert!(
        round > 1,
        "the first round after B died worked: were its sessions on B?"
    );
    // The sessions dialed again landed on A, the only server left. (A also opened a
    // session for each of B's that nginx sent it after B died: those carry nothing KCP
    // can deliver, sent no more than the amplification limit allows, and end with smux's
    // keepalive.)
    assert!(
        sessions(&a) >= on_a + on_b,
        "{} sessions on A:\n{}",
        sessions(&a),
        a.output()
    );
    assert!(a.running() && client.running());
}
