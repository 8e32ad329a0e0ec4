//! Runs the `echo` and `sink` examples as processes: a server on 127.0.0.1:0 (its
//! `listening <addr>` line gives the port), then a client against it, checking the exit
//! status and the summary line; and a client against a port that never answers, which must
//! fail within its `--timeout`.
//!
//! Cargo gives tests the paths of `[[bin]]` targets only, so the examples are built here
//! with the profile and target directory of this test binary (a no-op when they are up to
//! date). Every child process is time-limited and killed by this test if it overruns.

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a client may run before the test kills it and fails.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// The path of example `name`, built once for all tests.
fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(build_examples);
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Builds the examples the tests run like this test binary (`<target>/<profile>/deps/`)
/// and returns their directory, `<target>/<profile>/examples`.
fn build_examples() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target directory");
    // `cargo test` builds examples with the `test` profile into target/debug and
    // `cargo test --release` with `release`; a custom profile has a directory of its name.
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "test",
        Some(other) => other,
        None => panic!("unexpected target layout: {}", exe.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--example", "echo", "--example", "sink"])
        .args(["--example", "gameloop", "--example", "datagrams"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--profile", profile]);
    let (status, _, stderr) = run(cmd, Duration::from_secs(600));
    assert!(status.success(), "building the examples failed:\n{stderr}");
    profile_dir.join("examples")
}

/// Reads a child's pipe to the end on a thread; the text arrives on the channel.
fn collect(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(pipe).read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// Runs `cmd` to completion, killing it after `limit`; returns its status, stdout and
/// stderr.
fn run(mut cmd: Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let out = collect(child.stdout.take().expect("piped stdout"));
    let err = collect(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}; killed it");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let text =
        |rx: mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    (status, text(out), text(err))
}

/// A server example running until the test drops it (then it is killed).
struct Server {
    child: Child,
    addr: String,
    /// The lines after `listening`, as the server prints them.
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `bin server --listen 127.0.0.1:0 args...` and waits for its `listening` line.
    fn start(bin: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .args(["server", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let (line_tx, line_rx) = mpsc::channel();
        thread::spawn(move || {
            // The first line, then keep draining so the server never blocks on a full pipe.
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for line in lines.map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
            lines: line_rx,
        };
        let first = rx.recv_timeout(Duration::from_secs(30));
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => panic!("{} printed no first line: {other:?}", bin.display()),
        };
        server.addr = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("first line is not `listening <addr>`: {line:?}"))
            .to_owned();
        server
    }
}

impl Server {
    /// What the server printed after its first line, so far.
    fn log(&self) -> String {
        let mut text = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    }

    /// The lines the server prints until one contains `needle` (that one included); panics
    /// after `limit` without it.
    fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut text = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            text.push_str(&line);
            text.push('\n');
            if line.contains(needle) {
                return text;
            }
        }
        panic!("the server printed no {needle:?} in {limit:?}: {text}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks a client's summary line and returns its `key=value` fields.
fn summary(stdout: &str, conns: u64, bytes: u64) -> Vec<(String, String)> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "expected one summary line, got {stdout:?}");
    let mut words = lines[0].split(' ');
    assert_eq!(words.next(), Some("ok"), "summary {:?}", lines[0]);
    let fields: Vec<(String, String)> = words
        .map(|w| {
            let (k, v) = w.split_once('=').expect("key=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "conns",
            "bytes",
            "secs",
            "mibps",
            "retrans",
            "fecrecovered",
            "srttms"
        ]
    );
    assert_eq!(fields[0].1, conns.to_string());
    assert_eq!(fields[1].1, (conns * bytes).to_string());
    let number = |i: usize| -> f64 {
        let (k, v) = &fields[i];
        v.parse().unwrap_or_else(|e| panic!("{k}={v}: {e}"))
    };
    let (secs, mibps) = (number(2), number(3));
    assert!(secs > 0.0, "secs={secs}");
    // The rate is the bytes over the time, as printed (rounded to 2 and 3 decimals).
    let rate = (conns * bytes) as f64 / secs / f64::from(1 << 20);
    assert!(
        (mibps - rate).abs() <= rate * 0.02 + 0.01,
        "mibps={mibps}, bytes/secs={rate}"
    );
    for (k, v) in &fields[4..6] {
        v.parse::<u64>()
            .unwrap_or_else(|e| panic!("{k}={v} is not a count: {e}"));
    }
    let srtt = number(6);
    assert!(
        srtt.is_finite() && (0.0..60_000.0).contains(&srtt),
        "srttms={srtt}"
    );
    fields
}

fn client(bin: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let mut cmd = Command::new(bin);
    cmd.arg("client").args(args);
    run(cmd, CLIENT_LIMIT)
}

/// 4 MiB echoed with kcptun's defaults (aes, FEC 10/3, fast).
#[test]
fn echo_client_and_server() {
    let bin = example("echo");
    let server = Server::start(&bin, &[]);
    let (status, out, err) = client(&bin, &["--remote", &server.addr, "--bytes", "4M"]);
    assert!(
        status.success(),
        "echo client failed: {status}\n{out}\n{err}"
    );
    summary(&out, 1, 4 << 20);
}

/// Three sessions at once with other session flags (which both sides must share).
#[test]
fn echo_concurrent_sessions_with_other_flags() {
    let bin = example("echo");
    let flags = [
        "--crypt=salsa20",
        "--key",
        "another key",
        "--mode",
        "manual",
        "--nodelay=1",
        "--interval",
        "10",
        "--resend",
        "2",
        "--nc",
        "1",
        "--datashard",
        "0",
        "--parityshard=0",
        "--acknodelay",
    ];
    let server = Server::start(&bin, &flags);
    let mut args = vec!["--remote", &server.addr, "--bytes", "1M", "--conns", "3"];
    args.extend(flags);
    let (status, out, err) = client(&bin, &args);
    assert!(
        status.success(),
        "echo client failed: {status}\n{out}\n{err}"
    );
    let fields = summary(&out, 3, 1 << 20);
    assert_eq!(fields[5], ("fecrecovered".into(), "0".into()), "FEC is off");
}

/// 4 MiB sunk with kcptun's defaults; the server replies with the count.
#[test]
fn sink_client_and_server() {
    let bin = example("sink");
    let server = Server::start(&bin, &[]);
    let (status, out, err) = client(&bin, &["--remote", &server.addr, "--bytes", "4M"]);
    assert!(
        status.success(),
        "sink client failed: {status}\n{out}\n{err}"
    );
    summary(&out, 1, 4 << 20);
}

/// A UDP port that is bound but never answers: the client must give up after --timeout.
fn dead_port_fails_within_timeout(name: &str) {
    let bin = example(name);
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind a silent UDP socket");
    let addr = silent.local_addr().expect("local address").to_string();
    let start = Instant::now();
    let (status, out, err) = client(
        &bin,
        &["--remote", &addr, "--bytes", "1M", "--timeout", "2"],
    );
    let took = start.elapsed();
    assert!(
        !status.success(),
        "{name} client succeeded against a dead port: {out}"
    );
    assert_eq!(status.code(), Some(1), "{name}: {err}");
    assert!(err.starts_with("error: "), "{name} stderr: {err:?}");
    assert!(out.is_empty(), "{name} stdout: {out:?}");
    assert!(
        took < Duration::from_secs(15),
        "{name} client took {took:?} with --timeout 2"
    );
}

#[test]
fn echo_client_against_dead_port_times_out() {
    dead_port_fails_within_timeout("echo");
}

#[test]
fn sink_client_against_dead_port_times_out() {
    dead_port_fails_within_timeout("sink");
}

/// Usage errors exit 2 with a message naming the problem; `--help` exits 0.
#[test]
fn usage_errors_and_help() {
    let bin = example("echo");
    let cases: [(&[&str], &str); 6] = [
        (
            &["client", "--remote", "127.0.0.1:1", "--bogus", "1"],
            "--bogus",
        ),
        (
            &["client", "--remote", "127.0.0.1:1", "--bytes", "lots"],
            "--bytes",
        ),
        (
            &["client", "--remote", "127.0.0.1:1", "--crypt", "rot13"],
            "--crypt",
        ),
        (
            &["client", "--remote", "127.0.0.1:1", "--mode=turbo"],
            "--mode",
        ),
        (&["client", "--bytes", "1"], "--remote"),
        (&["sideways"], "subcommand"),
    ];
    for (args, needle) in cases {
        let mut cmd = Command::new(&bin);
        cmd.args(args);
        let (status, _, err) = run(cmd, Duration::from_secs(30));
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: stderr {err:?} lacks {needle:?}"
        );
    }
    let mut cmd = Command::new(&bin);
    cmd.arg("--help");
    let (status, out, _) = run(cmd, Duration::from_secs(30));
    assert!(status.success());
    assert!(out.contains("--datashard") && out.contains("echo client --remote ADDR"));
}

/// A server on a non-loopback address with kcptun's public key is refused (exit 2); the
/// check runs before anything is bound.
#[test]
fn default_key_only_on_loopback() {
    let bin = example("echo");
    for listen in ["0.0.0.0:0", ":0", "[::]:0"] {
        let mut cmd = Command::new(&bin);
        cmd.args(["server", "--listen", listen]);
        let (status, out, err) = run(cmd, Duration::from_secs(30));
        assert_eq!(status.code(), Some(2), "{listen}: {out}{err}");
        assert!(err.contains("--allow-default-key"), "{listen}: {err}");
        assert!(out.is_empty(), "{listen} printed {out:?}");
    }
}

/// With `--max-sessions 1`, a second client's session is refused and counted while the
/// first is served; the second client gives up at its --timeout.
#[test]
fn echo_server_bounds_its_sessions() {
    let bin = example("echo");
    let server = Server::start(&bin, &["--max-sessions", "1", "--timeout", "5"]);
    let mut first = Command::new(&bin)
        .args([
            "client",
            "--remote",
            &server.addr,
            "--bytes",
            "1G",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the first client");
    // The first session is accepted before the second dials.
    let accepted = server.wait_for("accepted ", Duration::from_secs(30));
    let (status, out, err) = client(
        &bin,
        &["--remote", &server.addr, "--bytes", "64K", "--timeout", "3"],
    );
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(status.code(), Some(1), "second client: {out}{err}");
    let log = accepted + &server.log();
    assert!(log.contains("refused "), "{log}");
    assert_eq!(log.matches("accepted ").count(), 1, "{log}");
}

/// The lossy relay (5% each way, 5 ms, jitter) in front of `upstream`, on a runtime of its
/// own.
fn lossy_relay(
    upstream: std::net::SocketAddr,
) -> (tokio::runtime::Runtime, kcp_testkit::relay::Relay) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("relay runtime");
    let relay = rt
        .block_on(kcp_testkit::relay::Relay::start(
            upstream,
            kcp_testkit::sim::LinkConfig::new().loss(0.05).delay(5, 10),
            1,
        ))
        .expect("relay");
    (rt, relay)
}

/// Our echo and sink clients against the kcp-go 5.6.1 servers of `peers/session`, through
/// 5% loss, with kcptun's defaults on both sides.
#[test]
fn our_clients_against_kcp_go_servers_through_loss() {
    use kcp_testkit::go_process::{self, GoServer};
    let peer = go_process::session_peer();
    for (name, sub) in [("echo", "echo-server"), ("sink", "sink-server")] {
        let server = GoServer::start(&peer, &[sub, "-listen", "127.0.0.1:0"]);
        let (_rt, relay) = lossy_relay(server.addr());
        let remote = relay.addr().to_string();
        let (status, out, err) = client(&example(name), &["--remote", &remote, "--bytes", "2M"]);
        assert!(
            status.success(),
            "{name} client against kcp-go failed: {status}\n{out}\n{err}\nkcp-go: {}",
            server.stderr()
        );
        // Every byte arrived across a link that dropped datagrams, so losses were
        // repaired, by retransmission or FEC on whichever side received them (a sink
        // client only receives acks, so its own counters may well stay at zero).
        summary(&out, 1, 2 << 20);
        assert_lossy(&relay, &out);
    }
}

/// kcp-go 5.6.1's echo and sink clients against our servers, through 5% loss.
#[test]
fn kcp_go_clients_against_our_servers_through_loss() {
    use kcp_testkit::go_process;
    let peer = go_process::session_peer();
    for (name, sub) in [("echo", "echo-client"), ("sink", "sink-client")] {
        let server = Server::start(&example(name), &[]);
        let (_rt, relay) = lossy_relay(server.addr.parse().expect("an address"));
        let remote = relay.addr().to_string();
        let out = go_process::run_client(
            &peer,
            &[sub, "-remote", &remote, "-bytes", "2097152"],
            CLIENT_LIMIT,
        );
        assert!(
            out.success,
            "kcp-go {sub} against our {name} server: {out:?}"
        );
        let summary = out.summary().expect("a summary line");
        assert_eq!(summary.bytes, 2 << 20);
        assert_lossy(&relay, &format!("{summary:?}"));
    }
}

/// The relay really dropped datagrams during the transfer that just completed.
fn assert_lossy(relay: &kcp_testkit::relay::Relay, out: &str) {
    use std::sync::atomic::Ordering;
    let stats = relay.stats();
    let received = stats.received.load(Ordering::Relaxed);
    let lost = stats.lost.load(Ordering::Relaxed);
    assert!(
        received > 1000 && lost > 0,
        "the relay saw {received} datagrams and dropped {lost}: {out}"
    );
}

/// The game loop serves its clients through the lossy relay: every client gets states
/// back, and no round trip beats the relay's delay both ways.
#[test]
fn gameloop_serves_its_clients_through_loss() {
    let mut cmd = Command::new(example("gameloop"));
    cmd.args(["--clients", "8", "--seconds", "3", "--delay-ms", "20"]);
    let (status, out, err) = run(cmd, CLIENT_LIMIT);
    assert!(status.success(), "gameloop failed: {status}\n{out}\n{err}");
    // "<p50> ... max <max>  (<got> <what> for <sent> <what>)" after `prefix`.
    let line = |prefix: &str| -> (f64, f64, u64, u64) {
        let rest = out
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line:\n{out}"));
        let words: Vec<&str> = rest.split_whitespace().collect();
        let value = |name: &str| -> f64 {
            let i = words.iter().position(|w| *w == name).expect(name);
            words[i + 1].parse().expect("a number")
        };
        let got = words[words.len() - 5]
            .trim_start_matches('(')
            .parse()
            .unwrap();
        let sent = words[words.len() - 2].parse().unwrap();
        (value("p50"), value("max"), got, sent)
    };
    // States travel as datagrams: each one lost is gone, never resent.
    let (p50, max, states, inputs) = line("state round trip ms (datagrams): ");
    assert!(
        p50 >= 40.0 && p50 <= max,
        "states: p50 {p50} ms, max {max} ms"
    );
    assert!(
        inputs >= 8 * 60 * 2 && states >= inputs / 2 && states <= inputs,
        "{states} states for {inputs} inputs"
    );
    // Events travel on the stream: retransmitted until acknowledged.
    let (p50, max, acks, events) = line("event round trip ms (stream): ");
    assert!(
        p50 >= 40.0 && p50 <= max,
        "events: p50 {p50} ms, max {max} ms"
    );
    assert!(
        events >= 8 * 4 * 2 && acks >= events / 2,
        "{acks} acks for {events} events"
    );
}

/// The datagrams example against its own server and against kcp-go 5.6.60's out-of-band
/// echo server (`peers/oob`), without loss: every stream record comes back, and the
/// datagrams, unreliable but on loopback, nearly all.
#[test]
fn datagrams_round_trip_to_our_server_and_to_kcp_go() {
    use kcp_testkit::go_process::GoServer;
    let peer = kcp_testkit::go_peer::build("oob");
    let server = GoServer::start(&peer, &["server", "-listen", "127.0.0.1:0"]);
    let go = server.addr().to_string();
    for extra in [&[][..], &["--server", &go][..]] {
        let mut cmd = Command::new(example("datagrams"));
        cmd.args(["--seconds", "2", "--loss", "0", "--delay-ms", "5"]);
        cmd.args(extra);
        let (status, out, err) = run(cmd, CLIENT_LIMIT);
        assert!(
            status.success(),
            "datagrams {extra:?} failed: {status}\n{out}\n{err}"
        );
        // "(<echoed> echoed of <sent>)" at the end of the line starting with `prefix`.
        let counts = |prefix: &str| -> (u64, u64) {
            let line = out
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} line:\n{out}"));
            let words: Vec<&str> = line.split_whitespace().collect();
            let n = words.len();
            let echoed = words[n - 4].trim_start_matches('(').parse().unwrap();
            let sent = words[n - 1].trim_end_matches(')').parse().unwrap();
            (echoed, sent)
        };
        let (echoed, sent) = counts("datagram round trip ms:");
        assert!(sent == 120 && echoed >= sent * 9 / 10, "{extra:?}: {out}");
        let (echoed, sent) = counts("stream round trip ms:");
        assert!(sent == 8 && echoed == sent, "{extra:?}: {out}");
    }
    assert!(
        server.lines().iter().any(|l| l.starts_with("oob n=64")),
        "kcp-go's handler saw no datagram: {:?}",
        server.lines()
    );
}
