//! The proof of a peer's address with the real kcp-go 5.6.1: a kcp-go client (the Go
//! peer's `request-client`) asks our listener for 1 MiB replies with 8-byte requests. The
//! listener may send an unproven address only 3x what it received, so the replies flow
//! only if kcp-go's acknowledgements carry the proof (the echo of our secretly offset
//! timestamps). The client checks every byte. Fails, never skips, when Go or kcp-go is
//! missing.

use std::time::Duration;

use kcp_session::{Config, KcpListener};
use kcp_testkit::goproc;
use kcp_testkit::sim::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SIZE: usize = 1 << 20;
const REQUESTS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kcp_go_client_gets_large_replies_from_our_listener() {
    // Without the limit first, for the first reply's time as kcp-go's listener gives it.
    let free = requests(None).await;
    let limited = requests(Some(3)).await;
    println!("reply times (us), no limit: {free}\nreply times (us), limit 3x: {limited}");
}

/// Runs the client against a listener with `limit`; the client's `times` line.
async fn requests(limit: Option<u32>) -> String {
    let mut c = Config::kcptun();
    c.key = b"reply key".to_vec();
    c.mode = "fast3".parse().unwrap();
    c.amplification_limit = limit;
    let settings = c.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The reply protocol of the Go peer: an 8-byte big-endian size in, that many bytes of
    // the splitmix64 stream seeded with the request's index out.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        for i in 0..REQUESTS {
            let mut hdr = [0u8; 8];
            stream.read_exact(&mut hdr).await.unwrap();
            let size = u64::from_be_bytes(hdr) as usize;
            stream
                .write_all(&Rng::new(i as u64).bytes(size))
                .await
                .unwrap();
        }
        stream
    });
    let peer = goproc::session_peer();
    let args: Vec<String> = [
        "request-client",
        "-remote",
        &addr.to_string(),
        "-requests",
        &REQUESTS.to_string(),
        "-size",
        &SIZE.to_string(),
        "-timeout",
        "60",
        "-crypt",
        "aes",
        "-key",
        "reply key",
        "-mode",
        "fast3",
        "-datashard",
        "10",
        "-parityshard",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        goproc::run_client(&peer, &args, Duration::from_secs(90))
    })
    .await
    .unwrap();
    assert!(out.success, "kcp-go request-client failed: {out:?}");
    assert!(out.stdout.lines().any(|l| l == "ok"), "{out:?}");
    drop(server.await.unwrap());
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("times "))
        .unwrap_or_default()
        .to_string()
}
