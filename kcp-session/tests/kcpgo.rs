//! Interop with the real kcp-go 5.6.1 (pinned in peers/go.mod, through the
//! Go peer in `peers/session`) over UDP on 127.0.0.1, both directions: our client echoing
//! 8 MiB through a kcp-go listener, and a kcp-go client echoing 8 MiB through ours, every
//! byte verified on the side that wrote it. Plus 100 concurrent sessions from ours to one
//! kcp-go listener. Fails, never skips, when Go or kcp-go is missing (scripts/setup.sh
//! installs them).

use std::net::SocketAddr;
use std::time::Duration;

use kcp_session::{Config, KcpListener, Settings};
use kcp_testkit::sim::Rng;
use tokio::time::timeout;

mod common;

use common::kcp_go;

const BYTES: usize = 8 << 20;
const KEY: &str = "interop key";

/// One row of the matrix: the cipher name and the shard counts of each side.
struct Case {
    crypt: &'static str,
    ours: (usize, usize),
    theirs: (usize, usize),
}

const MATRIX: [Case; 6] = [
    Case {
        crypt: "aes",
        ours: (10, 3),
        theirs: (10, 3),
    },
    Case {
        crypt: "salsa20",
        ours: (10, 3),
        theirs: (10, 3),
    },
    Case {
        crypt: "twofish",
        ours: (0, 0),
        theirs: (0, 0),
    },
    Case {
        crypt: "none",
        ours: (10, 3),
        theirs: (10, 3),
    },
    Case {
        crypt: "null",
        ours: (0, 0),
        theirs: (0, 0),
    },
    // Different shard counts per direction: each decoder tunes itself to the other.
    Case {
        crypt: "aes",
        ours: (10, 3),
        theirs: (10, 1),
    },
];

fn settings(case: &Case) -> Settings {
    {
        let mut c = Config::default();
        c.crypt = case.crypt.parse().unwrap();
        c.key = KEY.as_bytes().to_vec();
        c.data_shards = case.ours.0;
        c.parity_shards = case.ours.1;
        c.mode = "fast3".parse().unwrap();
        c
    }
    .build()
    .unwrap()
}

/// The same settings as kcp-go peer flags (its side's shard counts).
fn go_flags(case: &Case) -> Vec<String> {
    kcp_go::flags(case.crypt, KEY, "fast3", case.theirs)
}

/// Echoes `data` through `addr` and checks every byte; returns the session's counters.
async fn echo_through(settings: Settings, addr: SocketAddr, data: Vec<u8>) -> kcp_session::Snmp {
    let expected = data.clone();
    let (got, snmp) = common::echo(&settings, addr, data).await;
    let first_bad = got.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(first_bad.is_none(), "echo differs from byte {first_bad:?}");
    snmp
}

async fn ours_to_kcp_go(case: &Case) {
    let server = kcp_go::echo_server(&go_flags(case));
    let snmp = timeout(
        Duration::from_secs(120),
        echo_through(settings(case), server.addr(), Rng::new(1).bytes(BYTES)),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{}: echo via kcp-go timed out; kcp-go stderr: {}",
            case.crypt,
            server.stderr()
        )
    });
    assert_eq!(snmp.in_csum_errors, 0, "{}: {snmp:?}", case.crypt);
    assert_eq!(snmp.kcp_in_errors, 0, "{}: {snmp:?}", case.crypt);
    // kcp-go's parity reached our decoder (tuned to its shard counts when they differ).
    assert_eq!(
        snmp.fec_parity_shards > 0,
        case.theirs.1 > 0,
        "{}: {snmp:?}",
        case.crypt
    );
    assert_eq!(server.accepted_count(), 1, "{:?}", server.lines());
}

async fn kcp_go_to_ours(case: &Case) {
    let settings = settings(case);
    let listener = KcpListener::bind("127.0.0.1:0", &settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = common::spawn_echo(listener, 1);
    let args = kcp_go::echo_client_args(addr, BYTES, &go_flags(case));
    let out = kcp_go::run_async(args, Duration::from_secs(120)).await;
    assert!(
        out.success,
        "{}: kcp-go echo-client through ours failed: {out:?}",
        case.crypt
    );
    let summary = out.summary().expect("summary line");
    assert_eq!(summary.bytes, BYTES as u64);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_through_a_kcp_go_listener() {
    for case in &MATRIX {
        ours_to_kcp_go(case).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kcp_go_client_through_our_listener() {
    for case in &MATRIX {
        kcp_go_to_ours(case).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_sessions_from_ours_to_one_kcp_go_listener() {
    let case = &MATRIX[0];
    let server = kcp_go::echo_server(&go_flags(case));
    let settings = settings(case);
    let mut clients = Vec::new();
    for i in 0..100u64 {
        let (settings, addr) = (settings.clone(), server.addr());
        clients.push(tokio::spawn(async move {
            echo_through(settings, addr, Rng::new(i + 7).bytes(256 * 1024)).await;
        }));
    }
    for (i, c) in clients.into_iter().enumerate() {
        timeout(Duration::from_secs(180), c)
            .await
            .unwrap_or_else(|_| panic!("session {i} timed out; kcp-go stderr: {}", server.stderr()))
            .unwrap();
    }
    assert!(
        server.wait_accepted(100, Duration::from_secs(10)),
        "{:?}",
        server.lines().len()
    );
}
