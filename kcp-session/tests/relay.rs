//! Sessions over real UDP through the in-process lossy relay: 10% loss with duplication
//! and reordering, one session with FEC and a thousand at once on one listener.

use std::time::Duration;

use kcp_session::{Config, KcpListener};
use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;
use kcp_testkit::sim::Rng;
use tokio::time::timeout;

mod common;

fn lossy() -> LinkConfig {
    LinkConfig::new()
        .loss(0.10)
        .delay(5, 15)
        .reorder(0.05, 10)
        .duplicate(0.05)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fec_and_retransmission_carry_data_through_ten_percent_loss() {
    let settings = Config::kcptun().build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let relay = Relay::start(listener.local_addr().unwrap(), lossy(), 1)
        .await
        .unwrap();
    let server = common::spawn_echo(listener, 1);
    let data = Rng::new(1).bytes(4 << 20);
    let (got, snmp) = timeout(
        Duration::from_secs(120),
        common::echo(&settings, relay.addr(), data.clone()),
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
    let cfg = {
        let mut c = Config::default();
        c.snd_wnd = 128;
        c.rcv_wnd = 128;
        c.mode = "fast2".parse().unwrap();
        // Every session comes from the relay's address.
        c.max_sessions_per_ip = SESSIONS;
        c
    };
    let settings = cfg.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let relay = Relay::start(listener.local_addr().unwrap(), lossy(), 1)
        .await
        .unwrap();
    let server = common::spawn_echo(listener, SESSIONS);
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let settings = settings.clone();
        let to = relay.addr();
        clients.push(tokio::spawn(async move {
            let data = Rng::new(i as u64).bytes(8 * 1024);
            let (got, _) = common::echo(&settings, to, data.clone()).await;
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
