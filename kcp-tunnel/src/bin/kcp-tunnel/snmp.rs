//! `--snmplog`: every `--snmpperiod` seconds, one CSV row of kcp-go's SNMP counters
//! (kcptun's columns: `Unix` then [`Snmp::header`]) appended to a file whose name may hold
//! Go's time layout (`./snmp-20060102.log` names a file per day); and `SIGUSR1`, which
//! logs the same counters in one line as kcptun does.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kcp_session::Snmp;

use crate::log::{civil, log};

/// Writes rows until the process ends; returns at once when `path` is empty or `period`
/// is 0, as kcptun does.
pub(crate) async fn run(path: String, period: u64) {
    if path.is_empty() || period == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(period));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = SystemTime::now();
        let name = go_layout(&path, now);
        if let Err(e) = append(&name, now) {
            log!("snmplog {name}: {e}");
            return;
        }
    }
}

/// Logs the SNMP counters on every `SIGUSR1`, in kcptun's format (Go's `%+v` of
/// `*kcp.Snmp`): `KCP SNMP:&{BytesSent:1234 BytesReceived:5678 ...}`.
#[cfg(unix)]
pub(crate) async fn on_sigusr1() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            log!("SIGUSR1: {e}");
            return;
        }
    };
    while usr1.recv().await.is_some() {
        log!("KCP SNMP:{}", go_struct(&kcp_session::snmp::global()));
    }
}

/// `snmp` as Go's `%+v` prints a pointer to a struct of its fields.
fn go_struct(snmp: &Snmp) -> String {
    let fields: Vec<String> = Snmp::header()
        .iter()
        .zip(snmp.values())
        .map(|(name, value)| format!("{name}:{value}"))
        .collect();
    format!("&{{{}}}", fields.join(" "))
}

fn append(name: &str, now: SystemTime) -> std::io::Result<()> {
    let mut f = kcp_tunnel::logfile::open_append(
        std::path::Path::new(name),
        kcp_tunnel::logfile::is_snmp_csv,
    )?;
    let mut text = String::new();
    if f.metadata()?.len() == 0 {
        text.push_str("Unix");
        for h in Snmp::header() {
            text.push(',');
            text.push_str(h);
        }
        text.push('\n');
    }
    let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    text.push_str(&unix.to_string());
    for v in kcp_session::snmp::global().values() {
        text.push(',');
        text.push_str(&v.to_string());
    }
    text.push('\n');
    f.write_all(text.as_bytes())
}

/// Formats the file-name part of `path` with Go's reference layout (2006 01 02 15 04 05),
/// in UTC.
pub(crate) fn go_layout(path: &str, t: SystemTime) -> String {
    let (dir, file) = match path.rfind('/') {
        Some(i) => path.split_at(i + 1),
        None => ("", path),
    };
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil(secs / 86_400);
    let s = secs % 86_400;
    let tokens = [
        ("2006", format!("{y:04}")),
        ("01", format!("{m:02}")),
        ("02", format!("{d:02}")),
        ("15", format!("{:02}", s / 3600)),
        ("04", format!("{:02}", s / 60 % 60)),
        ("05", format!("{:02}", s % 60)),
    ];
    // One pass, so a replaced year is not read again as a month or day.
    let mut out = String::new();
    let mut rest = file;
    'scan: while let Some(c) = rest.chars().next() {
        for (token, value) in &tokens {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = after;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let file = out;
    format!("{dir}{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let t = UNIX_EPOCH + Duration::from_secs(1_632_268_800 + 13 * 3600);
        assert_eq!(go_layout("./snmp-20060102.log", t), "./snmp-20210922.log");
        assert_eq!(go_layout("/var/log/s.csv", t), "/var/log/s.csv");
    }

    #[test]
    fn sigusr1_line_is_go_struct_syntax() {
        let line = go_struct(&Snmp::default());
        assert!(line.starts_with("&{BytesSent:0 BytesReceived:0 "), "{line}");
        assert!(line.ends_with('}'));
        assert_eq!(line.matches(':').count(), Snmp::header().len());
    }
}
