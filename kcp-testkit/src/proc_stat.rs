//! What a process has used, from Linux's `/proc`: CPU time and resident memory, for the
//! benchmarks that put ours beside a peer process (kcp-go, kcptun) in the same run.
//! Elsewhere, or for a process that is gone, the figures are 0.

use std::time::Duration;

/// Which process: this one, or another by its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pid {
    /// The calling process.
    This,
    /// Another process.
    Other(u32),
}

impl Pid {
    fn path(self, file: &str) -> String {
        match self {
            Pid::This => format!("/proc/self/{file}"),
            Pid::Other(id) => format!("/proc/{id}/{file}"),
        }
    }
}

/// CPU time (user + system) the process has used (`/proc/PID/stat`, in USER_HZ ticks of
/// 10 ms).
pub fn cpu_time(pid: Pid) -> Duration {
    let stat = std::fs::read_to_string(pid.path("stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Resident memory of the process in bytes (`VmRSS` of `/proc/PID/status`).
pub fn rss(pid: Pid) -> u64 {
    let status = std::fs::read_to_string(pid.path("status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_memory_and_cpu() {
        // Burn a little CPU so at least one 10 ms tick is counted.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(rss(Pid::This) > 1 << 20);
        assert!(cpu_time(Pid::This) > Duration::ZERO);
        assert_eq!(rss(Pid::Other(u32::MAX)), 0);
    }
}
