//! Interop with the real kcp-go 5.6.1 under loss: every session crosses the in-process
//! lossy relay (5% loss, duplication, reordering, jitter) so that retransmission, fast
//! resend, window updates and FEC recovery run between our side and kcp-go's, in both
//! directions. Six rows cover every pair of settings (FEC on and off, modes normal and
//! fast3, stream and message mode, ack-no-delay and `batch_acks` on and off, and who
//! dials); three of them run our side with `Congestion::Bbr` (both directions, FEC on
//! and off). Fails, never skips, when Go or kcp-go is missing (scripts/setup.sh installs
//! them).

use std::sync::atomic::Ordering;
use std::time::Duration;

use kcp_session::{Config, Congestion, KcpListener, Mode, Settings};
use kcp_testkit::relay::Relay;
use kcp_testkit::sim::LinkConfig;
use kcp_testkit::sim::Rng;
use tokio::time::timeout;

mod common;

use common::kcp_go;

const BYTES: usize = 2 << 20;
const KEY: &str = "lossy interop";

/// One row; every pair of values of any two columns appears in some row.
#[derive(Debug)]
struct Case {
    /// Our client dials kcp-go's listener (else kcp-go's client dials ours).
    ours_dials: bool,
    fec: bool,
    fast3: bool,
    stream: bool,
    ack_nodelay: bool,
    batch_acks: bool,
    /// Our side runs the congestion controller (kcp-go's side needs nothing).
    bbr: bool,
}

const fn case(flags: [bool; 7]) -> Case {
    let [ours_dials, fec, fast3, stream, ack_nodelay, batch_acks, bbr] = flags;
    Case {
        ours_dials,
        fec,
        fast3,
        stream,
        ack_nodelay,
        batch_acks,
        bbr,
    }
}

const ROWS: [Case; 6] = [
    case([true, true, true, true, true, true, true]),
    case([true, true, false, false, true, false, false]),
    case([true, false, true, false, false, true, true]),
    case([false, true, false, true, false, false, true]),
    case([false, false, true, true, false, false, false]),
    case([false, false, false, false, true, true, false]),
];

impl Case {
    fn shards(&self) -> (usize, usize) {
        if self.fec { (10, 3) } else { (0, 0) }
    }

    fn settings(&self) -> Settings {
        let (data_shards, parity_shards) = self.shards();
        {
            let mut c = Config::default();
            c.crypt = "aes".parse().unwrap();
            c.key = KEY.as_bytes().to_vec();
            c.data_shards = data_shards;
            c.parity_shards = parity_shards;
            c.mode = if self.fast3 {
                Mode::Fast3
            } else {
                Mode::Normal
            };
            c.stream = self.stream;
            c.ack_nodelay = self.ack_nodelay;
            c.batch_acks = self.batch_acks;
            if self.bbr {
                c.congestion = Congestion::Bbr;
            }
            c
        }
        .build()
        .unwrap()
    }

    /// The same settings as kcp-go peer flags.
    fn go_flags(&self) -> Vec<String> {
        let mode = if self.fast3 { "fast3" } else { "normal" };
        let mut flags = kcp_go::flags("aes", KEY, mode, self.shards());
        flags.push(format!("-stream={}", self.stream));
        if self.ack_nodelay {
            flags.push("-acknodelay".into());
        }
        flags
    }
}

fn lossy() -> LinkConfig {
    LinkConfig::new()
        .loss(0.05)
        .delay(5, 10)
        .reorder(0.02, 5)
        .duplicate(0.02)
}

async fn ours_to_kcp_go(row: usize, c: &Case) {
    let server = kcp_go::echo_server(&c.go_flags());
    let relay = Relay::start(server.addr(), lossy(), row as u64)
        .await
        .unwrap();
    let data = Rng::new(row as u64).bytes(BYTES);
    let (got, snmp) = timeout(
        Duration::from_secs(120),
        common::echo(&c.settings(), relay.addr(), data.clone()),
    )
    .await
    .unwrap_or_else(|_| panic!("row {row} {c:?}: timed out; kcp-go: {}", server.stderr()));
    assert!(got == data, "row {row} {c:?}: echo corrupted");
    assert!(relay.stats().lost.load(Ordering::Relaxed) > 0);
    // With FEC on, parity may repair every loss of a run, leaving nothing to resend.
    assert!(snmp.retrans_segs > 0 || c.fec, "row {row} {c:?}: {snmp:?}");
    assert_eq!(snmp.fec_recovered > 0, c.fec, "row {row} {c:?}: {snmp:?}");
    assert_eq!(snmp.in_csum_errors + snmp.kcp_in_errors, 0, "{snmp:?}");
}

async fn kcp_go_to_ours(row: usize, c: &Case) {
    let listener = KcpListener::bind("127.0.0.1:0", &c.settings())
        .await
        .unwrap();
    let relay = Relay::start(listener.local_addr().unwrap(), lossy(), row as u64)
        .await
        .unwrap();
    let server = common::spawn_echo(listener, 1);
    let mut flags = vec!["-seed".to_string(), row.to_string()];
    flags.extend(c.go_flags());
    let args = kcp_go::echo_client_args(relay.addr(), BYTES, &flags);
    let out = kcp_go::run_async(args, Duration::from_secs(120)).await;
    assert!(
        out.success,
        "row {row} {c:?}: kcp-go client failed: {out:?}"
    );
    let summary = out.summary().expect("summary line");
    assert_eq!(summary.bytes, BYTES as u64);
    assert!(summary.retrans > 0 || c.fec, "row {row} {c:?}: {summary:?}");
    assert_eq!(
        summary.fec_recovered > 0,
        c.fec,
        "row {row} {c:?}: {summary:?}"
    );
    assert!(relay.stats().lost.load(Ordering::Relaxed) > 0);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcp_go_and_ours_through_loss_in_every_pair_of_settings() {
    for (row, c) in ROWS.iter().enumerate() {
        if c.ours_dials {
            ours_to_kcp_go(row, c).await;
        } else {
            kcp_go_to_ours(row, c).await;
        }
    }
}
