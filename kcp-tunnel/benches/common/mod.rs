//! What the tunnel benchmarks (`kcptun`, `first_reply`, `attack`) share: programs killed on drop, free ports on 127.0.0.1, and
//! waiting until a program has bound its port.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process killed on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin` (with the subcommand `sub`, for ours) with `args` and `--quiet`, its
/// standard streams closed.
pub(crate) fn spawn(bin: &Path, sub: Option<&str>, args: &[String]) -> Proc {
    let mut cmd = Command::new(bin);
    if let Some(s) = sub {
        cmd.arg(s);
    }
    cmd.args(args)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Proc(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display())),
    )
}

/// A port on 127.0.0.1 that was free a moment ago (UDP or TCP).
pub(crate) fn free_port(udp: bool) -> u16 {
    if udp {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    } else {
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    }
}

/// Whether a socket of `/proc/net/{proto}` and `{proto}6` is bound to local `port`, in
/// `state` (kernel's hex code) if given.
fn bound(proto: &str, port: u16, state: Option<&str>) -> bool {
    let hex = format!(":{port:04X}");
    [format!("/proc/net/{proto}"), format!("/proc/net/{proto}6")]
        .iter()
        .any(|t| {
            std::fs::read_to_string(t)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    let mut f = l.split_whitespace();
                    let local = f.nth(1);
                    let st = f.nth(1);
                    local.is_some_and(|a| a.ends_with(&hex)) && state.is_none_or(|s| st == Some(s))
                })
        })
}

/// Whether a UDP socket is bound to `port`.
pub(crate) fn udp_bound(port: u16) -> bool {
    bound("udp", port, None)
}

/// Whether a TCP socket listens on `port`. Unlike connecting to it, this sends nothing
/// through a tunnel client.
#[allow(dead_code, reason = "the attack bench starts no tunnel client")]
pub(crate) fn tcp_listening(port: u16) -> bool {
    bound("tcp", port, Some("0A"))
}

/// Waits (polling every 5 ms) until `ready`, panicking with `what` after 20 s.
pub(crate) fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} within 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}
