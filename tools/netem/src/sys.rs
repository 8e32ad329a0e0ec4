//! The few system calls the emulator needs that `std` does not offer: a new network
//! namespace for the calling thread, entering one, attaching a TUN device, and waiting for
//! two file descriptors at once. Everything else goes through `std`.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

/// Moves the calling thread into a new, empty network namespace and returns a handle on
/// it (a file that keeps the namespace alive while it is open).
///
/// Call it on a thread of its own: the thread stays in the new namespace.
pub(super) fn unshare_net() -> io::Result<File> {
    // SAFETY: unshare takes a flag word and touches no memory of ours; CLONE_NEWNET only
    // changes the calling thread's namespace, which is allowed in a threaded process.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    File::open("/proc/thread-self/ns/net")
}

/// Moves the calling thread into the network namespace `ns` (from [`unshare_net`]).
pub(super) fn enter_net(ns: &File) -> io::Result<()> {
    // SAFETY: setns reads a file descriptor we own and open, and touches no memory.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags (the rest of the union
/// is unused), 40 bytes in all.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Creates the TUN device `name` (layer 3, no packet-information header) in the calling
/// thread's network namespace and returns its queue, non-blocking. The device disappears
/// when the file is closed.
pub(super) fn open_tun(name: &str) -> io::Result<File> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface names have 1 to 15 bytes",
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`; `req` has its size (40 bytes
    // on every Linux ABI with 64-bit pointers, more than the 18 it reads elsewhere) and
    // lives across the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut IfReq) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// Waits until `a` or `b` is readable or `timeout` passes; returns which are readable.
/// An interrupted wait reports neither.
pub(super) fn wait_readable(
    a: &impl AsFd,
    b: &impl AsFd,
    timeout: Duration,
) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: a.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // Round up, so that a wait never ends before the deadline it was computed for.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is an array of two initialised pollfd that outlives the call, and the
    // count passed is its length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok((false, false))
        } else {
            Err(e)
        };
    }
    let ready = |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
    Ok((ready(&fds[0]), ready(&fds[1])))
}
