//! Running the kcp-go session peer (`peers/session`) as a child process from tests.
//!
//! [`GoServer`] starts `session echo-server` / `session sink-server` (or anything else that
//! prints `listening <addr>` as its first stdout line), waits for that line, and then
//! collects the server's later stdout lines (`accepted <remote> conv=<conv>`,
//! `sunk <remote> conv=<conv> bytes=<n>`, `closed ...`) in a background thread. Dropping it
//! kills and reaps exactly that child.
//!
//! [`run_client`] runs `session echo-client` / `session sink-client` to completion under a
//! time limit; [`ClientSummary::parse`] reads the `ok conns=.. bytes=.. secs=.. mibps=..
//! retrans=.. fecrecovered=..` line they print on success.
//!
//! ```no_run
//! use std::time::Duration;
//! use kcp_testkit::go_process::{self, GoServer};
//!
//! let peer = go_process::session_peer();
//! let server = GoServer::start(&peer, &["echo-server", "-listen", "127.0.0.1:0"]);
//! let remote = server.addr().to_string();
//! let out = go_process::run_client(
//!     &peer,
//!     &["echo-client", "-remote", &remote, "-bytes", "1048576"],
//!     Duration::from_secs(60),
//! );
//! assert!(out.success, "{out:?}");
//! ```

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`GoServer::start`] waits for the `listening <addr>` line.
pub const START_LIMIT: Duration = Duration::from_secs(30);

/// Builds `peers/session` (see [`crate::go_peer::build`]) and returns the binary's path.
pub fn session_peer() -> PathBuf {
    crate::go_peer::build("session")
}

/// Text shared between a reader thread and its owner, with a condition variable that is
/// signalled whenever it grows or the stream ends.
#[derive(Default)]
struct Shared<T> {
    state: Mutex<(T, bool)>,
    changed: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, (T, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads `stderr` to its end into a shared string.
fn collect_stderr(stderr: ChildStderr) -> Arc<Shared<String>> {
    let shared = Arc::new(Shared::<String>::default());
    let sink = Arc::clone(&shared);
    thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().0.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        sink.lock().1 = true;
        sink.changed.notify_all();
    });
    shared
}

/// Waits (up to `limit`) until the reader thread behind `shared` has seen end of file and
/// returns the text.
fn finished_text(shared: &Shared<String>, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut state = shared.lock();
    while !state.1 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        state = shared
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    state.0.clone()
}

/// A running server child process that announced `listening <addr>` on stdout.
///
/// Dropping it kills (SIGKILL) and reaps that child, and only that child.
pub struct GoServer {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Shared<Vec<String>>>,
    stderr: Arc<Shared<String>>,
}

impl std::fmt::Debug for GoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoServer")
            .field("pid", &self.child.id())
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GoServer {
    /// Spawns `program args...` with stdout and stderr piped and waits up to
    /// [`START_LIMIT`] for its first stdout line, which must be `listening <addr>`.
    ///
    /// An unspecified address (`0.0.0.0` / `[::]`) is replaced by the loopback address of
    /// the same family, so [`GoServer::addr`] is always something a client can send to.
    ///
    /// # Panics
    ///
    /// If the program cannot be started, exits or closes stdout before that line, prints
    /// something else first, or stays silent for [`START_LIMIT`]; the message includes the
    /// child's stderr. The child is killed and reaped before the panic.
    pub fn start(program: &Path, args: &[&str]) -> GoServer {
        let mut child = spawn_piped(program, args);
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = collect_stderr(child.stderr.take().expect("stderr is piped"));
        let lines = Arc::new(Shared::<Vec<String>>::default());

        let (first_tx, first_rx) = mpsc::channel::<Option<String>>();
        let sink = Arc::clone(&lines);
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = Some(first_tx);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                if let Some(tx) = first.take() {
                    let _ = tx.send(Some(line));
                } else {
                    sink.lock().0.push(line);
                    sink.changed.notify_all();
                }
            }
            if let Some(tx) = first.take() {
                let _ = tx.send(None);
            }
            sink.lock().1 = true;
            sink.changed.notify_all();
        });

        let first = first_rx.recv_timeout(START_LIMIT);
        let addr = match &first {
            Ok(Some(line)) => line
                .strip_prefix("listening ")
                .and_then(|a| a.trim().parse::<SocketAddr>().ok()),
            _ => None,
        };
        let Some(mut addr) = addr else {
            let what = match first {
                Ok(Some(line)) => format!("printed {line:?} instead of `listening <addr>`"),
                Ok(None) => "closed stdout without printing `listening <addr>`".to_owned(),
                Err(_) => format!("printed nothing within {START_LIMIT:?}"),
            };
            let _ = child.kill();
            let status = child.wait();
            let err = finished_text(&stderr, Duration::from_secs(5));
            panic!(
                "{} {args:?} {what} (exit: {status:?}); stderr:\n{err}",
                program.display()
            );
        };
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        GoServer {
            child,
            addr,
            lines,
            stderr,
        }
    }

    /// The address the server announced (loopback if it listens on all addresses).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line printed after the `listening` line so far, without line endings.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().0.clone()
    }

    /// How many `accepted ...` lines the server has printed so far.
    pub fn accepted_count(&self) -> usize {
        self.lines
            .lock()
            .0
            .iter()
            .filter(|l| l.starts_with("accepted "))
            .count()
    }

    /// Waits up to `timeout` for a stdout line (after `listening`) for which `pred` holds,
    /// looking at lines already printed first, and returns the first such line; `None` on
    /// timeout or when the server's stdout has ended without one.
    pub fn wait_for_line(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lines.lock();
        let mut seen = 0;
        loop {
            if let Some(line) = state.0[seen..].iter().find(|l| pred(l)) {
                return Some(line.clone());
            }
            seen = state.0.len();
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 || left.is_zero() {
                return None;
            }
            state = self
                .lines
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` until the server has printed at least `n` `accepted` lines;
    /// returns whether it did.
    pub fn wait_accepted(&self, n: usize, timeout: Duration) -> bool {
        let mut count = 0;
        n == 0
            || self
                .wait_for_line(timeout, |l| {
                    count += usize::from(l.starts_with("accepted "));
                    count >= n
                })
                .is_some()
    }

    /// Everything the server has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().0.clone()
    }

    /// Whether the child is still running (it has not exited on its own).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for GoServer {
    fn drop(&mut self) {
        // Kill through the handle: this signals exactly this child's pid, and waiting reaps
        // it so the pid cannot be reused while we still hold it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The result of [`run_client`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOutcome {
    /// The client exited with status 0 before the time limit.
    pub success: bool,
    /// Everything the client printed on stdout.
    pub stdout: String,
    /// Everything the client printed on stderr; when the time limit killed it, a last
    /// line says so.
    pub stderr: String,
}

impl ClientOutcome {
    /// The parsed `ok ...` summary line of a successful `echo-client` / `sink-client`.
    pub fn summary(&self) -> Option<ClientSummary> {
        self.stdout.lines().find_map(ClientSummary::parse)
    }
}

/// Starts `program args...` with stdin closed and stdout and stderr piped.
fn spawn_piped(program: &Path, args: &[&str]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
}

/// Runs `program args...` to completion with stdout and stderr captured. If it is still
/// running after `timeout`, it is killed (that child only) and the outcome is a failure.
///
/// # Panics
///
/// If the program cannot be started.
pub fn run_client(program: &Path, args: &[&str], timeout: Duration) -> ClientOutcome {
    let mut child = spawn_piped(program, args);
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stdout = {
        let shared = Arc::new(Shared::<String>::default());
        let sink = Arc::clone(&shared);
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text);
            let mut state = sink.lock();
            state.0 = String::from_utf8_lossy(&text).into_owned();
            state.1 = true;
            drop(state);
            sink.changed.notify_all();
        });
        shared
    };
    let stderr = collect_stderr(child.stderr.take().expect("stderr is piped"));

    let deadline = Instant::now() + timeout;
    let (status, timed_out) = loop {
        match child.try_wait() {
            Ok(Some(status)) => break (Some(status), false),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {}: {e}", program.display()),
        }
    };
    // The child is gone, so both pipes reach end of file promptly.
    let out = finished_text(&stdout, Duration::from_secs(5));
    let mut err = finished_text(&stderr, Duration::from_secs(5));
    if timed_out {
        if !err.is_empty() && !err.ends_with('\n') {
            err.push('\n');
        }
        err.push_str(&format!(
            "go_process: killed {} after the {timeout:?} limit\n",
            program.display()
        ));
    }
    ClientOutcome {
        success: status.is_some_and(|s| s.success()),
        stdout: out,
        stderr: err,
    }
}

/// The summary line `ok conns=K bytes=B secs=S mibps=M retrans=R fecrecovered=F` that
/// `session echo-client` / `sink-client` print on success.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientSummary {
    /// Concurrent sessions.
    pub conns: u64,
    /// Bytes moved per direction, over all sessions.
    pub bytes: u64,
    /// Seconds from the first dial to the last session's completion.
    pub secs: f64,
    /// `bytes / secs` in MiB/s.
    pub mibps: f64,
    /// kcp-go's `DefaultSnmp.RetransSegs` in the client process.
    pub retrans: u64,
    /// kcp-go's `DefaultSnmp.FECRecovered` in the client process.
    pub fec_recovered: u64,
}

impl ClientSummary {
    /// Parses one summary line; `None` if `line` is not one.
    pub fn parse(line: &str) -> Option<ClientSummary> {
        let mut fields = line.trim().strip_prefix("ok ")?.split_whitespace();
        let mut next = |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=');
        Some(ClientSummary {
            conns: next("conns")?.parse().ok()?,
            bytes: next("bytes")?.parse().ok()?,
            secs: next("secs")?.parse().ok()?,
            mibps: next("mibps")?.parse().ok()?,
            retrans: next("retrans")?.parse().ok()?,
            fec_recovered: next("fecrecovered")?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary_line() {
        let s = ClientSummary::parse(
            "ok conns=2 bytes=2097152 secs=0.125 mibps=16.00 retrans=3 fecrecovered=1",
        )
        .expect("a summary line");
        assert_eq!(s.conns, 2);
        assert_eq!(s.bytes, 2_097_152);
        assert_eq!(s.secs, 0.125);
        assert_eq!(s.mibps, 16.0);
        assert_eq!(s.retrans, 3);
        assert_eq!(s.fec_recovered, 1);
        assert_eq!(ClientSummary::parse("error: timeout"), None);
        assert_eq!(ClientSummary::parse("ok conns=1"), None);
    }

    #[test]
    #[should_panic(expected = "no-listen-line")]
    fn start_reports_stderr_when_the_server_fails() {
        GoServer::start(
            Path::new("/bin/sh"),
            &["-c", "echo no-listen-line >&2; exit 3"],
        );
    }

    #[test]
    fn start_reads_the_address_and_later_lines() {
        let server = GoServer::start(
            Path::new("/bin/sh"),
            &[
                "-c",
                "echo 'listening 0.0.0.0:4321'; echo 'accepted 127.0.0.1:9 conv=7'; exec sleep 60",
            ],
        );
        assert_eq!(server.addr(), "127.0.0.1:4321".parse().unwrap());
        assert!(server.wait_accepted(1, Duration::from_secs(10)));
        assert_eq!(server.accepted_count(), 1);
        assert_eq!(server.lines(), vec!["accepted 127.0.0.1:9 conv=7"]);
    }

    #[test]
    fn run_client_kills_a_child_that_overruns() {
        let start = Instant::now();
        let out = run_client(
            Path::new("/bin/sh"),
            &["-c", "echo started; exec sleep 60"],
            Duration::from_millis(300),
        );
        assert!(start.elapsed() < Duration::from_secs(30));
        assert!(!out.success);
        assert_eq!(out.stdout, "started\n");
        assert!(out.stderr.contains("killed"), "{out:?}");
    }

    #[test]
    fn run_client_reports_exit_status_and_output() {
        let ok = run_client(
            Path::new("/bin/sh"),
            &["-c", "echo out; echo err >&2"],
            Duration::from_secs(30),
        );
        assert_eq!(
            ok,
            ClientOutcome {
                success: true,
                stdout: "out\n".into(),
                stderr: "err\n".into()
            }
        );
        let failed = run_client(
            Path::new("/bin/sh"),
            &["-c", "exit 1"],
            Duration::from_secs(30),
        );
        assert!(!failed.success);
    }
}
