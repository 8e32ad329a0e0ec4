//! `--QPP` (kcptun's last release) end to end between our client and server: with it on
//! both ends the streams carry every byte, the same as without; on one end only, the
//! target receives what QPP made of the bytes, not the bytes. (kcptun's last release
//! itself is not packaged here; the pads and generators are checked against the Go
//! package in `tests/qpp.rs`.)

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{Echo, echo_check, tunnel_bin};
use crate::kcptun::start_with;

const KEY: &[&str] = &["--key", "qpp-test", "--nocomp"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qpp_on_both_ends_carries_every_byte() {
    let echo = Echo::start().await;
    let flags: Vec<&str> = [KEY, &["--QPP", "--QPPCount", "7"]].concat();
    let bin = std::path::Path::new(tunnel_bin());
    let t = start_with(bin, bin, &echo.addr.to_string(), &flags, &flags);
    for seed in 0..3 {
        let s = TcpStream::connect(("127.0.0.1", t.port)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), echo_check(s, 1 << 20, seed))
            .await
            .expect("the echo finished")
            .unwrap();
    }
    let out = t.client.output();
    assert!(out.contains("QPP: true QPP count: 7"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qpp_on_one_end_only_reaches_the_target_scrambled() {
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = target.local_addr().unwrap();
    let client_flags: Vec<&str> = [KEY, &["--QPP"]].concat();
    let bin = std::path::Path::new(tunnel_bin());
    let t = start_with(bin, bin, &addr.to_string(), KEY, &client_flags);
    let plain: Vec<u8> = (0..4096u32).map(|i| (i % 253) as u8).collect();
    let mut s = TcpStream::connect(("127.0.0.1", t.port)).await.unwrap();
    s.write_all(&plain).await.unwrap();
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(30), target.accept())
        .await
        .expect("the server connected to the target")
        .unwrap();
    let mut got = vec![0u8; plain.len()];
    tokio::time::timeout(Duration::from_secs(30), conn.read_exact(&mut got))
        .await
        .expect("the bytes arrived")
        .unwrap();
    // Same length, other bytes: QPP is a byte-for-byte permutation stream.
    let same = got.iter().zip(&plain).filter(|(a, b)| a == b).count();
    assert!(
        same < plain.len() / 16,
        "{same} of {} bytes in the clear",
        plain.len()
    );
}
