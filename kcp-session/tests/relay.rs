//! Sessions over real UDP through the in-process lossy relay: 10% loss with duplication
//! and reordering, one session with FEC and a thousand at once on one listener.

use std::net::SocketAddr;
use std::time::Duration;

use kcp_session::{Config, KcpListener, KcpStream, Settings};
use kcp_testkit::relay::{Relay, RelayConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn lossy() -> RelayConfig {
    RelayConfig {
        loss: 0.10,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(10),
        reorder: 0.05,
        duplicate: 0.05,
        ..RelayConfig::default()
    }
}

/// Echoes `sessions` sessions, each on its own task.
fn spawn_echo(listener: KcpListener, sessions: usize) -> tokio::task::JoinHandle<KcpListener> {
    tokio::spawn(async move {
        for _ in 0..sessions {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
        listener
    })
}

async fn echo(settings: Settings, to: SocketAddr, data: Vec<u8>) -> (Vec<u8>, kcp_session::Snmp) {
    let stream = KcpStream::connect(to, &settings).await.unwrap();
    let snmp_of = |s: &KcpStream| s.snmp();
    let (mut r, mut w) = stream.into_split();
    let n = data.len();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w
    });
    let mut got = vec![0u8; n];
    r.read_exact(&mut got).await.unwrap();
    let w = writer.await.unwrap();
    let stream = r.reunite(w).unwrap();
    let snmp = snmp_of(&stream);
    (got, snmp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fec_and_retransmission_carry_data_through_ten_percent_loss() {
    let settings = Config::kcptun().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let relay = Relay::start(listener.local_addr().unwrap(), lossy())
        .await
        .unwrap();
    let server = spawn_echo(listener, 1);
    let data = pattern(4 << 20, 1);
    let (got, snmp) = timeout(
        Duration::from_secs(120),
        echo(settings, relay.addr(), data.clone()),
    )
    .await
    .expect("echo through the lossy relay timed out");
    assert!(got == data, "echo corrupted");
    assert!(
        snmp.fec_recovered > 0,
        "no FEC recovery at 10% loss: {snmp:?}"
    );
    assert!(
        relay
            .stats()
            .lost
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    drop(server.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_through_loss_each_arrive_intact() {
    const SESSIONS: usize = 1000;
    let cfg = Config {
        snd_wnd: 128,
        rcv_wnd: 128,
        mode: "fast2".parse().unwrap(),
        ..Config::default()
    };
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let relay = Relay::start(listener.local_addr().unwrap(), lossy())
        .await
        .unwrap();
    let server = spawn_echo(listener, SESSIONS);
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let settings = settings.clone();
        let to = relay.addr();
        clients.push(tokio::spawn(async move {
            let data = pattern(8 * 1024, i as u32);
            let (got, _) = echo(settings, to, data.clone()).await;
            assert!(got == data, "session {i} corrupted");
        }));
    }
    for (i, c) in clients.into_iter().enumerate() {
        timeout(Duration::from_secs(180), c)
            .await
            .unwrap_or_else(|_| panic!("session {i} timed out"))
            .unwrap();
    }
    drop(server.await.unwrap());
}
