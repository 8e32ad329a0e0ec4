//! A sharded listener (`KcpListener::bind_sharded`, SO_REUSEPORT) against a single-socket
//! one: echo throughput and CPU per MiB with 1 and 2 shards in the same run, many clients
//! at once (the kernel spreads clients over shards by address, so one client would use
//! one shard). Kcptun's settings (aes, FEC 10/3, fast); the clients run in this process on
//! a runtime of their own, so on a 2-core machine they compete with the server for the
//! same cores.
//!
//! `cargo bench -p kcp-benches --bench shards`; sizes from the environment:
//! `KCP_BENCH_SHARD_MIB` (total echoed, default 64), `KCP_BENCH_SHARD_CLIENTS` (16);
//! `-- --test` runs 2 MiB over 4 clients.

use std::time::{Duration, Instant};

use kcp_benches::env_usize;
use kcp_session::{Config, KcpListener, KcpStream, Settings};
use kcp_testkit::proc_stat::{self, Pid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// CPU time this process has used.
fn cpu_time() -> Duration {
    proc_stat::cpu_time(Pid::This)
}

fn settings() -> Settings {
    let mut cfg = Config::kcptun();
    cfg.max_sessions_per_ip = 4096;
    cfg.build().expect("valid settings")
}

/// Echoes `total` bytes over `clients` sessions to a listener of `shards` sockets; returns
/// (MiB/s, ms of CPU per MiB, sessions per shard).
fn run(shards: usize, clients: usize, total: usize) -> (f64, f64, Vec<u64>) {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = settings();
    let listener = server_rt
        .block_on(KcpListener::bind_sharded("127.0.0.1:0", &s, shards))
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = server_rt.spawn(async move {
        for _ in 0..clients {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
        listener
    });
    let each = total / clients;
    let (start, cpu) = (Instant::now(), cpu_time());
    client_rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let c = KcpStream::connect(addr, &s).await.unwrap();
                let (mut r, mut w) = c.into_split();
                let writer = tokio::spawn(async move {
                    let chunk = vec![0x5a; 64 * 1024];
                    let mut left = each;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        w.write_all(&chunk[..n]).await.unwrap();
                        left -= n;
                    }
                    w
                });
                let mut buf = vec![0; 64 * 1024];
                let mut got = 0;
                while got < each {
                    let n = r.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the echo ended early");
                    got += n;
                }
                drop(writer.await);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let (wall, cpu) = (start.elapsed(), cpu_time() - cpu);
    let listener = server_rt.block_on(server).unwrap();
    let per_shard = listener.shard_stats().iter().map(|s| s.accepted).collect();
    let mib = (each * clients) as f64 / f64::from(1u32 << 20);
    drop(listener);
    server_rt.shutdown_timeout(Duration::from_secs(1));
    client_rt.shutdown_timeout(Duration::from_secs(1));
    (
        mib / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / mib,
        per_shard,
    )
}

fn main() {
    // `cargo bench -- --test` (CI's smoke run): a small run that still checks every byte
    // count and both listeners.
    let smoke = std::env::args().any(|a| a == "--test");
    let total = env_usize("KCP_BENCH_SHARD_MIB", if smoke { 2 } else { 64 }) << 20;
    let clients = env_usize("KCP_BENCH_SHARD_CLIENTS", if smoke { 4 } else { 16 });
    let one = run(1, clients, total);
    let two = run(2, clients, total);
    for (name, (rate, cpu, spread)) in [("1 shard", &one), ("2 shards", &two)] {
        println!(
            "kcp-rs echo {clients} clients, {name:<9} {rate:>9.1} MiB/s {cpu:>8.2} ms CPU/MiB  sessions per shard {spread:?}"
        );
    }
    println!("2 shards / 1 shard: {:.2}x throughput", two.0 / one.0);
}
