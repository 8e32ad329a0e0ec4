//! Processes, ports and traffic for the tunnel tests.
//!
//! Every process a test starts is a [`Proc`]: its output goes to a file the test can read,
//! and dropping it kills that process (only it, by its own handle). Traffic is a
//! splitmix64 stream per connection, checked byte by byte as it comes back, so nothing
//! compressible sneaks through snappy and every byte is verified.

#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Our binary.
pub(crate) fn tunnel_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kcp-tunnel")
}

/// The path of program `name` on PATH; panics with what to install when it is missing.
pub(crate) fn require(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{name} is not installed: this test runs the real program. Install the Debian \
         package {package} (`apt-get install -y {package}`, or run scripts/setup.sh)"
    );
}

/// A child process that is killed when dropped; its stdout and stderr go to `log`.
pub(crate) struct Proc {
    child: Child,
    /// Where its output goes.
    pub(crate) log: PathBuf,
    name: String,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh directory for this test process's logs.
pub(crate) fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kcp-tunnel-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

impl Proc {
    /// Starts `program args...` with extra environment `env`.
    pub(crate) fn start(program: impl AsRef<Path>, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let program = program.as_ref();
        let name = program
            .file_name()
            .map_or_else(|| "proc".into(), |n| n.to_string_lossy().into_owned());
        let log = scratch().join(format!(
            "{name}-{}.log",
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let out = std::fs::File::create(&log).expect("create a log file");
        let err = out.try_clone().expect("clone the log file");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .env_remove("KCPTUN_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        Proc { child, log, name }
    }

    /// The output so far.
    pub(crate) fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until the output contains `needle` (or panics after `limit`, showing it).
    pub(crate) fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.output();
            if out.contains(needle) {
                return out;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before printing {needle:?}:\n{out}",
                    self.name
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {needle:?} within {limit:?}:\n{out}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit (at most `limit`) and returns its status code.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} still running after {limit:?}:\n{}",
            self.name,
            self.output()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port free now on 127.0.0.1.
pub(crate) fn free_tcp_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free TCP port")
        .port()
}

/// A UDP port free now on 127.0.0.1.
pub(crate) fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port()
}

/// Waits until some process has UDP port `port` bound (KCP has no handshake, so a client
/// must not send before the server listens).
pub(crate) fn wait_udp_bound(port: u16, limit: Duration) {
    let hex = format!(":{port:04X} ");
    let deadline = Instant::now() + limit;
    loop {
        for table in ["/proc/net/udp", "/proc/net/udp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            if text.lines().skip(1).any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| format!("{local} ").ends_with(&hex))
            }) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nothing bound UDP port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until 127.0.0.1:`port` accepts TCP connections.
pub(crate) fn wait_tcp(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on TCP port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) use kcp_testkit::payload::SplitMix;

/// A TCP echo server on 127.0.0.1 (on the current tokio runtime); counts connections.
pub(crate) struct Echo {
    /// Its address.
    pub(crate) addr: SocketAddr,
    /// Connections accepted.
    pub(crate) accepted: Arc<AtomicU64>,
}

impl Echo {
    /// Starts one.
    pub(crate) async fn start() -> Echo {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the echo target");
        let addr = l.local_addr().expect("echo address");
        let accepted = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        Echo { addr, accepted }
    }
}

/// Sends `n` bytes of stream `seed` on `s` while reading the echo back and checking every
/// byte. Err says where it went wrong.
pub(crate) async fn echo_check(s: TcpStream, n: u64, seed: u64) -> Result<(), String> {
    let (mut r, mut w) = s.into_split();
    let writer = async move {
        let mut payload = SplitMix::new(seed);
        let mut buf = vec![0u8; 32 << 10];
        let mut left = n;
        while left > 0 {
            let m = buf.len().min(left as usize);
            payload.fill(&mut buf[..m]);
            w.write_all(&buf[..m])
                .await
                .map_err(|e| format!("write: {e}"))?;
            left -= m as u64;
        }
        Ok::<_, String>(w)
    };
    let reader = async move {
        let mut want = SplitMix::new(seed);
        let mut buf = vec![0u8; 64 << 10];
        let mut exp = vec![0u8; 64 << 10];
        let mut got = 0u64;
        while got < n {
            let m = match r.read(&mut buf).await {
                Ok(0) => return Err(format!("echo ended after {got} of {n} bytes")),
                Ok(m) => m,
                Err(e) => return Err(format!("read after {got} of {n} bytes: {e}")),
            };
            want.fill(&mut exp[..m]);
            if let Some(i) = (0..m).find(|&i| buf[i] != exp[i]) {
                return Err(format!("byte {} differs", got + i as u64));
            }
            got += m as u64;
        }
        Ok(r)
    };
    let (w, r) = tokio::try_join!(writer, reader)?;
    drop((w, r));
    Ok(())
}

/// `conns` connections to 127.0.0.1:`port` at once, each echoing `per_conn` bytes.
pub(crate) async fn echo_many(port: u16, conns: u64, per_conn: u64, limit: Duration) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..conns {
        let errors = Arc::clone(&errors);
        set.spawn(async move {
            let r = match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(s) => echo_check(s, per_conn, 1000 + i).await,
                Err(e) => Err(format!("connect: {e}")),
            };
            if let Err(e) = r {
                errors.lock().unwrap().push(format!("connection {i}: {e}"));
            }
        });
    }
    let all = async { while set.join_next().await.is_some() {} };
    if tokio::time::timeout(limit, all).await.is_err() {
        panic!("{conns} x {per_conn} bytes not echoed within {limit:?}");
    }
    let errors = errors.lock().unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
}
