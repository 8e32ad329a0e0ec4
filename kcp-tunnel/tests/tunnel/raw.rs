//! `--raw`: plain KCP, one conversation per TCP connection, against the `tokio_kcp` crate
//! (0.9), which the SIP003 KCP plugin this mode follows is built on.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_kcp::{KcpConfig, KcpListener, KcpStream};

use crate::harness::{
    Echo, Proc, SplitMix, echo_many, free_tcp_port, free_udp_port, tunnel_bin, wait_udp_bound,
};

fn tokio_kcp_config() -> KcpConfig {
    // The KCP plugin's defaults: tokio_kcp's, message mode included.
    KcpConfig::default()
}

/// Our client in raw mode; a tokio_kcp listener echoes every conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_client_with_tokio_kcp_server() {
    let mut listener = KcpListener::bind(tokio_kcp_config(), "127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    let port = free_tcp_port();
    let mut client = Proc::start(
        tunnel_bin(),
        &[
            "client",
            "--raw",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-r",
            &addr.to_string(),
        ],
        &[],
    );
    client.wait_for(
        &format!("listening on: 127.0.0.1:{port}"),
        Duration::from_secs(20),
    );
    echo_many(port, 4, 2 << 20, Duration::from_secs(120)).await;
}

/// tokio_kcp clients through our raw server to a TCP echo target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_kcp_client_with_raw_server() {
    let echo = Echo::start().await;
    let udp = free_udp_port();
    let _server = Proc::start(
        tunnel_bin(),
        &[
            "server",
            "--raw",
            "-l",
            &format!("127.0.0.1:{udp}"),
            "-t",
            &echo.addr.to_string(),
        ],
        &[],
    );
    wait_udp_bound(udp, Duration::from_secs(20));
    let addr = format!("127.0.0.1:{udp}").parse().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for seed in 0..4u64 {
        tasks.spawn(async move {
            let mut s = KcpStream::connect(&tokio_kcp_config(), addr).await.unwrap();
            let n = 1 << 20;
            let mut data = vec![0u8; n];
            SplitMix::new(seed).fill(&mut data);
            let mut got = vec![0u8; n];
            // tokio_kcp's stream is one object: write a piece, read its echo.
            for (chunk, back) in data.chunks(16 << 10).zip(got.chunks_mut(16 << 10)) {
                s.write_all(chunk).await.unwrap();
                s.read_exact(back).await.unwrap();
            }
            assert!(got == data, "conversation {seed}: echo differs");
        });
    }
    let all = async {
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("tokio_kcp echoes in time");
    assert_eq!(echo.accepted.load(std::sync::atomic::Ordering::Relaxed), 4);
}
