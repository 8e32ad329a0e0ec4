//! The process-wide SNMP counters are the tokio front's: an echo through a `KcpListener`
//! shows up in `snmp::global()` as the sum of both sockets' counters.

use std::time::Duration;

use kcp_session::{Config, KcpListener, snmp};
use kcp_testkit::sim::Rng;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_over_tokio_sockets_adds_to_the_process_totals() {
    let mut c = Config::kcptun();
    c.key = b"global snmp".to_vec();
    let s = c.build().unwrap();
    let listener = KcpListener::bind("127.0.0.1:0", &s).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = common::spawn_echo(listener, 1);
    let data = Rng::new(5).bytes(256 * 1024);
    let (got, client) = common::echo(&s, addr, data.clone()).await;
    assert!(got == data);
    // The totals follow each socket's wake-ups: wait for them to include the client's.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let g = snmp::global();
        if g.out_pkts >= client.out_pkts && g.in_pkts >= 2 * client.in_pkts.min(1) {
            assert_eq!(g.active_opens, 1);
            assert_eq!(g.passive_opens, 1);
            assert!(g.max_conn >= 2, "{g:?}");
            assert!(g.bytes_received >= client.bytes_sent, "{g:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{g:?} vs {client:?}"
        );
        tokio::task::yield_now().await;
    }
    server.abort();
}
