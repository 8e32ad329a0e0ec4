//! Message mode (`stream = false`) against the real kcp-go 5.6.1 (the Go peer in
//! `peers/session`, `-stream=false`): our `send_message` reaches kcp-go's `Read` whole, and
//! kcp-go's messages reach our `recv_message` whole. kcp-go's `Write` in message mode sends
//! a long write as MSS-sized messages, so its echo of one message of `n` bytes comes back
//! as `ceil(n / mss)` messages: exactly that split, byte for byte, proves both sides kept
//! the boundaries. Fails, never skips, when Go or kcp-go is missing.

use std::time::Duration;

use kcp_session::{Config, KcpStream};
use kcp_testkit::sim::Rng;
use tokio::time::timeout;

mod common;

use common::kcp_go;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_keep_their_boundaries_through_kcp_go() {
    let mut flags = kcp_go::flags("aes", "message key", "fast", (10, 3));
    flags.push("-stream=false".into());
    let server = kcp_go::echo_server(&flags);
    let mut cfg = Config::kcptun();
    cfg.key = b"message key".to_vec();
    cfg.stream = false;
    let settings = cfg.build().unwrap();
    let mut stream = KcpStream::connect(server.addr(), &settings).await.unwrap();
    let max = stream.max_message_size();
    let mss = max / 127;
    assert!(mss > 1000, "mss {mss}");
    // kcp-go's echo reads into 64 KiB: every message below fits its buffer.
    let sizes = [1, 100, mss - 1, mss, mss + 1, 3 * mss, 20_000, 60_000];
    let mut rng = Rng::new(19);
    for (i, &n) in sizes.iter().enumerate() {
        let message = rng.bytes(n);
        stream.send_message(&message).await.unwrap();
        let mut echoed = Vec::new();
        for piece in 0..n.div_ceil(mss) {
            let got = timeout(Duration::from_secs(20), stream.recv_message())
                .await
                .unwrap_or_else(|_| panic!("message {i} ({n} B): piece {piece} timed out"))
                .unwrap();
            let want = mss.min(n - piece * mss);
            assert_eq!(got.len(), want, "message {i} ({n} B), piece {piece}");
            echoed.extend_from_slice(&got);
        }
        assert!(echoed == message, "message {i} ({n} B) corrupted");
    }
    // The largest message goes out whole too (kcp-go reads it in pieces of its buffer,
    // so only its bytes are checked here).
    let big = rng.bytes(max);
    assert!(stream.send_message(&big).await.is_ok());
    let err = stream.send_message(&vec![0; max + 1]).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let mut echoed = Vec::new();
    while echoed.len() < max {
        let got = timeout(Duration::from_secs(20), stream.recv_message())
            .await
            .expect("the echo of the largest message timed out")
            .unwrap();
        assert!(got.len() <= mss);
        echoed.extend_from_slice(&got);
    }
    assert!(echoed == big, "the largest message came back corrupted");
}
