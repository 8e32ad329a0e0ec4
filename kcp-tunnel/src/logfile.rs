//! Opening `--log` and `--snmplog` files without being turned against other files.
//!
//! Their paths may come from a SIP002 link's plugin options, written by someone else, and
//! the program may run as root. So a log file is opened for appending only if it is a
//! regular file reached without following a symlink at its last component, and only if it
//! is new, empty, or already starts the way this program's logs start; anything else is
//! refused with an error that says why.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for appending, creating it if it does not exist. Refuses (with
/// [`io::ErrorKind::InvalidInput`]) a symlink at `path`, a path that is not a regular file
/// (a FIFO, a device, a directory), and a non-empty file whose first bytes `ours` does not
/// recognise as this program's. The checks are made on the opened file, so the path
/// cannot be swapped between check and use. Costs one `open`, one `fstat` and one short
/// read.
pub fn open_append(path: &Path, ours: impl Fn(&[u8]) -> bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO must not wait for a reader; it is refused below (on
        // a regular file the flag changes nothing).
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(path, "is a symlink"));
    }
    let mut file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return refuse(path, "is a symlink");
        }
        e
    })?;
    if !file.metadata()?.is_file() {
        return Err(refuse(path, "is not a regular file"));
    }
    let mut head = [0u8; 32];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            m => n += m,
        }
    }
    if n > 0 && !ours(&head[..n]) {
        return Err(refuse(
            path,
            "exists and is not a log this program wrote; remove it or pick another path",
        ));
    }
    Ok(file)
}

fn refuse(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("refusing {}: it {why}", path.display()),
    )
}

/// Whether `head` starts like a kcptun-style log line: `YYYY/MM/DD `.
pub fn is_log_line(head: &[u8]) -> bool {
    let pattern = b"dddd/dd/dd ";
    let n = head.len().min(pattern.len());
    head[..n].iter().zip(pattern).all(|(&b, &p)| {
        if p == b'd' {
            b.is_ascii_digit()
        } else {
            b == p
        }
    })
}

/// Whether `head` starts like an SNMP CSV log of kcptun's columns: `Unix,`.
pub fn is_snmp_csv(head: &[u8]) -> bool {
    let pattern = b"Unix,";
    let n = head.len().min(pattern.len());
    head[..n] == pattern[..n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dir(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("kcp-tunnel-logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn refuses_symlinks_fifos_and_foreign_files() {
        let d = dir("refuse");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let dangling = d.join("dangling");
        std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
        for p in [&link, &dangling, &victim] {
            let e = open_append(p, is_log_line).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{p:?}: {e}");
        }
        assert!(
            !d.join("nowhere").exists(),
            "a dangling link created its target"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(open_append(&d, is_log_line).is_err(), "a directory");
        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = open_append(&fifo, is_log_line).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn creates_and_appends_to_its_own() {
        let d = dir("own");
        let log = d.join("a.log");
        let mut f = open_append(&log, is_log_line).unwrap();
        writeln!(f, "2026/12/07 10:00:00 first").unwrap();
        drop(f);
        let mut f = open_append(&log, is_log_line).unwrap();
        writeln!(f, "2026/12/07 10:00:01 second").unwrap();
        drop(f);
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 2);
        // An empty file (made by `touch` for the program) is taken.
        let empty = d.join("empty");
        std::fs::write(&empty, "").unwrap();
        assert!(open_append(&empty, is_snmp_csv).is_ok());
        assert!(is_snmp_csv(b"Unix,BytesSent"));
        assert!(!is_snmp_csv(b"root:x:0:0"));
        assert!(is_log_line(b"2021/09/22 01:01:01 x"));
        assert!(!is_log_line(b"# ~/.bashrc"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
