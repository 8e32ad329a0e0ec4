//! kcptun-style log lines (`2006/01/02 15:04:05 message`, UTC) on stderr or appended to
//! `--log FILE`; `--quiet` drops the per-stream lines.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

struct Log {
    out: Mutex<Box<dyn Write + Send>>,
    quiet: bool,
}

static LOG: OnceLock<Log> = OnceLock::new();

/// Sends the log to `path` (appended; "" for stderr), refusing a symlink or a file that
/// is not a log of ours ([`kcp_tunnel::logfile`]). Call once, before any line.
pub(crate) fn init(path: &str, quiet: bool) -> io::Result<()> {
    let out: Box<dyn Write + Send> = if path.is_empty() {
        Box::new(io::stderr())
    } else {
        Box::new(kcp_tunnel::logfile::open_append(
            std::path::Path::new(path),
            kcp_tunnel::logfile::is_log_line,
        )?)
    };
    let _ = LOG.set(Log {
        out: Mutex::new(out),
        quiet,
    });
    Ok(())
}

/// Writes one line.
pub(crate) fn line(args: fmt::Arguments<'_>) {
    let stamp = timestamp(SystemTime::now());
    match LOG.get() {
        Some(log) => {
            let mut out = log.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{stamp} {args}");
            let _ = out.flush();
        }
        None => eprintln!("{stamp} {args}"),
    }
}

/// Writes a per-stream line unless `--quiet`.
pub(crate) fn stream(args: fmt::Arguments<'_>) {
    if !LOG.get().is_some_and(|l| l.quiet) {
        line(args);
    }
}

/// `YYYY/MM/DD hh:mm:ss` in UTC.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil(secs / 86_400);
    let s = secs % 86_400;
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil(days: u64) -> (i64, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Logs a line: `log!("listening on: {}", addr)`.
macro_rules! log {
    ($($t:tt)*) => { $crate::log::line(format_args!($($t)*)) };
}

/// Logs a per-stream line (dropped with `--quiet`).
macro_rules! log_stream {
    ($($t:tt)*) => { $crate::log::stream(format_args!($($t)*)) };
}

pub(crate) use {log, log_stream};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_053), (2022, 3, 2));
        assert_eq!(civil(11_016), (2000, 2, 29));
        let t = UNIX_EPOCH + Duration::from_secs(1_632_268_800 + 3_661);
        assert_eq!(timestamp(t), "2021/09/22 01:01:01");
    }
}
