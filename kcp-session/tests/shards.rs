//! A listener sharded over several sockets on one port (SO_REUSEPORT): every peer is
//! served, the kernel spreads them over the shards, and the listener's counters are the
//! shards' sums. Our clients and the real kcp-go 5.6.1 both talk to it unchanged.

use std::time::Duration;

use kcp_session::{Config, KcpListener};
use kcp_testkit::sim::Rng;
use tokio::time::timeout;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_serve_every_peer_and_both_get_some() {
    let mut cfg = Config::kcptun();
    cfg.max_sessions_per_ip = 1024;
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind_sharded("127.0.0.1:0", &settings, 2)
        .await
        .unwrap();
    assert_eq!(listener.shards(), 2);
    let addr = listener.local_addr().unwrap();
    let peers = 32;
    let server = common::spawn_echo(listener, peers);
    let mut clients = Vec::new();
    for i in 0..peers {
        let settings = settings.clone();
        clients.push(tokio::spawn(async move {
            let data = Rng::new(i as u64).bytes(64 * 1024);
            let (got, _) = common::echo(&settings, addr, data.clone()).await;
            assert!(got == data, "peer {i} corrupted");
        }));
    }
    for c in clients {
        timeout(Duration::from_secs(60), c)
            .await
            .expect("a peer timed out")
            .unwrap();
    }
    let listener = server.await.unwrap();
    let per_shard: Vec<u64> = listener.shard_stats().iter().map(|s| s.accepted).collect();
    assert_eq!(per_shard.iter().sum::<u64>(), peers as u64, "{per_shard:?}");
    // 32 ports hashed over two sockets: all on one shard has probability 2^-31.
    assert!(
        per_shard.iter().all(|&n| n > 0),
        "one shard got every peer: {per_shard:?}"
    );
    let datagrams: u64 = listener.shard_stats().iter().map(|s| s.datagrams).sum();
    assert_eq!(listener.datagrams(), datagrams);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcp_go_clients_are_served_by_a_sharded_listener() {
    let mut cfg = Config::kcptun();
    cfg.key = b"shards".to_vec();
    cfg.max_sessions_per_ip = 1024;
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind_sharded("127.0.0.1:0", &settings, 2)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let clients = 4;
    let server = common::spawn_echo(listener, clients);
    let flags = common::kcp_go::flags("aes", "shards", "fast", (10, 3));
    let runs: Vec<_> = (0..clients)
        .map(|_| {
            let args = common::kcp_go::echo_client_args(addr, 1 << 20, &flags);
            tokio::spawn(common::kcp_go::run_async(args, Duration::from_secs(120)))
        })
        .collect();
    for run in runs {
        let outcome = run.await.unwrap();
        assert!(outcome.success, "kcp-go client failed:\n{}", outcome.stderr);
    }
    let listener = server.await.unwrap();
    assert_eq!(
        listener
            .shard_stats()
            .iter()
            .map(|s| s.accepted)
            .sum::<u64>(),
        clients as u64
    );
}

#[tokio::test]
async fn one_shard_is_a_plain_listener() {
    let settings = Config::default().build().unwrap();
    let listener = KcpListener::bind_sharded("127.0.0.1:0", &settings, 1)
        .await
        .unwrap();
    assert_eq!(listener.shards(), 1);
    // Without SO_REUSEPORT on the plain socket, a second socket cannot join its port.
    let addr = listener.local_addr().unwrap();
    assert!(KcpListener::bind_sharded(addr, &settings, 2).await.is_err());
}
