//! Anonymous network namespaces held by a file handle.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;

use super::sys;

/// A network namespace of this process's own, with no name in `/run/netns`.
///
/// It lives exactly as long as the `NetNs` (and anything started inside that is still
/// running): no clean-up is needed after a panic or even a `SIGKILL` of the process, and
/// two runs can never collide on a name. Sockets created by [`run`](Self::run) stay in
/// the namespace whichever thread uses them later; child processes started by
/// [`spawn`](Self::spawn) run inside it.
#[derive(Debug)]
pub struct NetNs {
    file: File,
}

impl NetNs {
    /// A new, empty network namespace with its loopback interface up. Needs root (or
    /// `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`) and the `ip` command (iproute2).
    pub fn new() -> io::Result<NetNs> {
        Self::create(|| Ok(()))
            .map(|(ns, ())| ns)
            .map_err(|e| context(e, "creating a network namespace"))
    }

    /// Creates a namespace and runs `setup` on a thread inside it before anyone else can
    /// use it (the TUN device of the emulator is made this way).
    pub(super) fn create<T: Send>(
        setup: impl FnOnce() -> io::Result<T> + Send,
    ) -> io::Result<(NetNs, T)> {
        thread::scope(|s| {
            s.spawn(|| {
                let file = sys::unshare_net()?;
                ip(&["link", "set", "lo", "up"])?;
                let value = setup()?;
                Ok((NetNs { file }, value))
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Runs `f` on a thread inside this namespace and returns its result: sockets it
    /// creates (TCP, UDP, tokio's or std's) belong to the namespace for good.
    ///
    /// The thread ends with `f`; a panic in `f` is passed on to the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        thread::scope(|s| {
            s.spawn(|| {
                sys::enter_net(&self.file)?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Starts `cmd` as a child process inside this namespace.
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        self.run(|| cmd.spawn())?
    }

    /// A path naming this namespace while this process runs, for other programs:
    /// `nsenter --net=PATH COMMAND` runs a command inside it.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.file.as_raw_fd()
        ))
    }

    /// Runs `ip ARGS...` inside this namespace and fails with its stderr unless it exits 0.
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        self.run(|| ip(args))?
    }
}

/// Runs `ip ARGS...` in the calling thread's namespace.
pub(super) fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| context(e, "running `ip` (iproute2; scripts/setup.sh installs it)"))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ip {}: {} ({})",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            out.status
        )));
    }
    Ok(())
}

/// `e` with what was being done in front, keeping its kind.
pub(super) fn context(e: io::Error, doing: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{doing}: {e}"))
}
