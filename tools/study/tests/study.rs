//! Runs the `study` program: its cross-check (our workloads against the kcp-go peer's,
//! each client against the other's server over the emulated link) and a small grid of
//! every kind of contestant, checking the CSV rows and the plots it writes.
//!
//! Needs root, `/dev/net/tun`, iproute2, Go and kcp-go (scripts/setup.sh; CI runs as
//! root); without them the study fails and so do these tests. Every child is killed if it
//! overruns its limit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The study program, built by cargo for this test.
fn study() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_study"))
}

/// Runs the study with `args`, killing it after `limit`; returns its stdout and stderr.
fn run(args: &[&str], limit: Duration) -> (bool, String, String) {
    let mut child = Command::new(study())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the study");
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = thread::spawn(move || std::io::read_to_string(&mut out).unwrap_or_default());
    let err = thread::spawn(move || std::io::read_to_string(&mut err).unwrap_or_default());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the study ({args:?}) still ran after {limit:?}; killed it");
        }
        thread::sleep(Duration::from_millis(50));
    };
    (status.success(), out.join().unwrap(), err.join().unwrap())
}

#[test]
fn our_workloads_and_the_kcp_go_peers_agree() {
    let (ok, out, err) = run(&["--cross-check"], Duration::from_secs(300));
    assert!(ok, "cross-check failed:\n{out}\n{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        6,
        "{out}"
    );
}

#[test]
fn a_small_grid_writes_rows_and_plots() {
    let dir = std::env::temp_dir().join(format!("kcp-study-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, out, err) = run(
        &[
            "--loss",
            "5",
            "--bursty",
            "10",
            "--contestants",
            "ours:fast3:fec,kcp-go:fast3,tcp",
            "--game-secs",
            "2",
            "--bulk-mib",
            "0.25",
            "--requests",
            "3",
            "--limit-secs",
            "30",
            "--out",
            dir.to_str().expect("UTF-8 temp dir"),
        ],
        Duration::from_secs(600),
    );
    assert!(ok, "the study failed:\n{out}\n{err}");
    let csv = std::fs::read_to_string(dir.join("study.csv")).expect("study.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines
        .map(|l| l.splitn(header.len(), ',').collect())
        .collect();
    // 2 loss models x 3 contestants x 3 workloads.
    assert_eq!(rows.len(), 18, "{csv}");
    for r in &rows {
        let (who, workload) = (r[col("contestant")], r[col("workload")]);
        let num = |c: &str| -> f64 { r[col(c)].parse().unwrap_or(f64::NAN) };
        match workload {
            "bulk" => {
                assert!(num("goodput_mbit") > 0.0, "{who} bulk: {r:?}");
                // Headers and acknowledgements cost something, never nothing.
                assert!(num("overhead") > 1.0, "{who} bulk: {r:?}");
            }
            "game" => assert!(num("samples") >= 150.0, "{who} game: {r:?}"),
            "request" => assert!(num("samples") >= 1.0, "{who} request: {r:?}"),
            other => panic!("unknown workload {other}"),
        }
        assert!(
            num("lost_pkts") > 0.0,
            "the link lost nothing for {who}: {r:?}"
        );
        // The peers are not under test here: kcp-go and TCP must simply finish.
        if who != "ours fast3 fec" {
            assert_eq!(r[col("failure")], "", "{who} {workload}: {r:?}");
        }
    }
    for plot in ["game-rtt", "request-time", "goodput", "overhead"] {
        let svg = std::fs::read_to_string(dir.join(format!("{plot}-d50-r10.svg")))
            .unwrap_or_else(|e| panic!("{plot}: {e}"));
        assert!(svg.starts_with("<svg") && svg.contains("tcp"), "{plot}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
