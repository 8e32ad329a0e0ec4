//! `kcps_udp`: an endpoint that owns its UDP socket, for programs without an event loop
//! of their own (libkcp's `UDPSession`): dial or listen by address text, then
//! `kcps_udp_update` reads the socket, runs the timers and sends, and `kcps_udp_read` and
//! `kcps_udp_write` move bytes. The socket is non-blocking; no thread is started.

use core::ffi::{CStr, c_char, c_int, c_void};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use kcp_session::MTU_LIMIT;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::KcpsConfig;
use crate::endpoint::{
    Entered, KcpsEndpoint, enter, kcps_accept, kcps_endpoint_free, kcps_endpoint_new,
};
use crate::error::{
    KCPS_E_ADDRESS_IN_USE, KCPS_E_INVALID, KCPS_E_IO, KCPS_E_NULL, KCPS_E_RANDOM, KCPS_OK,
    write_message,
};
use crate::session::{kcps_recv, kcps_send};

/// What a `kcps_udp *` points to: an endpoint and the socket it owns.
#[derive(Debug)]
pub struct KcpsUdp {
    /// From `kcps_endpoint_new`, freed with this.
    endpoint: *mut KcpsEndpoint,
    socket: UdpSocket,
}

impl Drop for KcpsUdp {
    fn drop(&mut self) {
        // SAFETY: made by `kcps_endpoint_new` for this value alone, freed once here.
        unsafe { kcps_endpoint_free(self.endpoint) };
    }
}

/// The first address `text` names (DNS names are resolved, blocking).
fn resolve_text(text: *const c_char) -> Result<SocketAddr, String> {
    // SAFETY: NUL-terminated (the callers' contract); checked non-NULL by them.
    let text = unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|_| "address is not UTF-8".to_string())?;
    text.to_socket_addrs()
        .map_err(|e| format!("address {text:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("address {text:?} names no host"))
}

/// A non-blocking UDP socket bound at `addr` with the config's buffer sizes.
fn bind(addr: SocketAddr, sockbuf: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_nonblocking(true)?;
    // The kernel may cap them; that is not an error.
    let _ = socket.set_recv_buffer_size(sockbuf);
    let _ = socket.set_send_buffer_size(sockbuf);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Makes the endpoint and the socket bound at `local`.
///
/// # Safety
/// `config` is a live config; `msg` is NULL or valid for `msg_len` bytes of writes.
unsafe fn open(
    config: *const KcpsConfig,
    local: SocketAddr,
    msg: *mut c_char,
    msg_len: usize,
) -> Result<Box<KcpsUdp>, c_int> {
    // SAFETY: live config (the contract).
    let sockbuf = unsafe { (*config).config.sockbuf };
    let mut endpoint = core::ptr::null_mut();
    // SAFETY: forwarded contract; `endpoint` is writable.
    let r = unsafe { kcps_endpoint_new(config, &mut endpoint, msg, msg_len) };
    if r != KCPS_OK {
        return Err(r);
    }
    match bind(local, sockbuf) {
        Ok(socket) => Ok(Box::new(KcpsUdp { endpoint, socket })),
        Err(e) => {
            // SAFETY: just made, freed once.
            unsafe { kcps_endpoint_free(endpoint) };
            // SAFETY: forwarded contract.
            unsafe { write_message(msg, msg_len, &format!("bind {local}: {e}")) };
            Err(KCPS_E_IO)
        }
    }
}

/// Opens an endpoint listening on a socket bound at `addr` (`kcps_udp_listen`).
///
/// # Safety
/// `config` is NULL or live; `addr` is NULL or NUL-terminated; `out` is NULL or
/// writable; `msg` is NULL or valid for `msg_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_listen(
    config: *const KcpsConfig,
    addr: *const c_char,
    out: *mut *mut KcpsUdp,
    msg: *mut c_char,
    msg_len: usize,
) -> c_int {
    if config.is_null() || addr.is_null() || out.is_null() {
        return KCPS_E_NULL;
    }
    let local = match resolve_text(addr) {
        Ok(a) => a,
        Err(text) => {
            // SAFETY: forwarded contract.
            unsafe { write_message(msg, msg_len, &text) };
            return KCPS_E_INVALID;
        }
    };
    // SAFETY: forwarded contract.
    match unsafe { open(config, local, msg, msg_len) } {
        Ok(udp) => {
            // SAFETY: the endpoint is this value's alone.
            unsafe { crate::endpoint::kcps_listen(udp.endpoint, 1) };
            // SAFETY: writable (the contract).
            unsafe { out.write(Box::into_raw(udp)) };
            KCPS_OK
        }
        Err(e) => e,
    }
}

/// Opens an endpoint on a socket of its own and a session to `addr` (`kcps_udp_dial`).
///
/// # Safety
/// `config` is NULL or live; `addr` is NULL or NUL-terminated; `out` and `session` are
/// NULL or writable; `msg` is NULL or valid for `msg_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_dial(
    config: *const KcpsConfig,
    now: u32,
    addr: *const c_char,
    out: *mut *mut KcpsUdp,
    session: *mut u64,
    msg: *mut c_char,
    msg_len: usize,
) -> c_int {
    if config.is_null() || addr.is_null() || out.is_null() || session.is_null() {
        return KCPS_E_NULL;
    }
    let remote = match resolve_text(addr) {
        Ok(a) => a,
        Err(text) => {
            // SAFETY: forwarded contract.
            unsafe { write_message(msg, msg_len, &text) };
            return KCPS_E_INVALID;
        }
    };
    let local: SocketAddr = if remote.is_ipv4() {
        ([0u8; 4], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    // SAFETY: forwarded contract.
    let udp = match unsafe { open(config, local, msg, msg_len) } {
        Ok(udp) => udp,
        Err(e) => return e,
    };
    let remote = crate::addr::KcpsAddr::from_socket_addr(remote);
    // SAFETY: the endpoint is this value's alone; `session` is writable (the contract).
    let r = unsafe { crate::endpoint::kcps_connect(udp.endpoint, now, &remote, session) };
    match r {
        KCPS_OK => {
            // SAFETY: writable (the contract).
            unsafe { out.write(Box::into_raw(udp)) };
            KCPS_OK
        }
        KCPS_E_RANDOM | KCPS_E_ADDRESS_IN_USE => r,
        _ => KCPS_E_INVALID,
    }
}

/// The endpoint inside (`kcps_udp_endpoint`), for every `kcps_*` call; NULL for NULL.
///
/// # Safety
/// `udp` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_endpoint(udp: *const KcpsUdp) -> *mut KcpsEndpoint {
    // SAFETY: NULL or live (the contract).
    unsafe { udp.as_ref() }.map_or(core::ptr::null_mut(), |u| u.endpoint)
}

/// The socket's file descriptor (`kcps_udp_fd`), for select, poll or epoll.
///
/// # Safety
/// `udp` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_fd(udp: *const KcpsUdp) -> c_int {
    // SAFETY: NULL or live (the contract).
    let Some(udp) = (unsafe { udp.as_ref() }) else {
        return KCPS_E_NULL;
    };
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        udp.socket.as_raw_fd()
    }
    #[cfg(not(unix))]
    {
        let _ = udp;
        crate::error::KCPS_E_UNSUPPORTED
    }
}

/// Sends every datagram the endpoint has ready. A datagram the socket refuses (its
/// buffer full) is lost, as on a congested link: KCP retransmits.
fn flush(ep: &mut Entered<'_>, socket: &UdpSocket, now: u32) {
    while let Some(t) = ep.endpoint.poll_transmit(now) {
        let size = t.segment_size.unwrap_or(t.contents.len()).max(1);
        for d in t.contents.chunks(size) {
            let _ = socket.send_to(d, t.destination);
        }
    }
}

/// Datagrams one `kcps_udp_update` reads at most, so that a flood cannot keep it from
/// returning to the caller's loop; when it returns this many, more may be waiting.
pub const KCPS_UDP_READS_PER_UPDATE: c_int = 1024;

/// Reads the socket until it is empty or [`KCPS_UDP_READS_PER_UPDATE`] datagrams came, runs the
/// timers due and sends (`kcps_udp_update`): how many datagrams were read, or a negative
/// error.
///
/// # Safety
/// `udp` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_update(udp: *mut KcpsUdp, now: u32) -> c_int {
    // SAFETY: NULL or live (the contract).
    let Some(udp) = (unsafe { udp.as_ref() }) else {
        return KCPS_E_NULL;
    };
    // SAFETY: the endpoint lives as long as `udp`.
    let mut ep = match unsafe { enter(udp.endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    // One byte more than any valid datagram: a longer one arrives cut, and is dropped
    // and counted as oversized or undecryptable.
    let mut buf = [0u8; MTU_LIMIT + 1];
    let mut read: c_int = 0;
    while read < KCPS_UDP_READS_PER_UPDATE {
        match udp.socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                ep.endpoint.handle(now, from, &mut buf[..n]);
                read = read.saturating_add(1);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // An ICMP error of an earlier send (a peer not listening): not this read's.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return KCPS_E_IO,
        }
    }
    ep.endpoint.handle_timeout(now);
    flush(&mut ep, &udp.socket, now);
    read
}

/// Takes the next session a peer opened (`kcps_udp_accept`): 1, or 0 when none waits.
///
/// # Safety
/// `udp` is NULL or live; `session` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_accept(udp: *mut KcpsUdp, session: *mut u64) -> c_int {
    // SAFETY: forwarded contract (a NULL endpoint is refused by the callee).
    unsafe { kcps_accept(kcps_udp_endpoint(udp), session) }
}

/// Queues bytes on a session and sends what is ready at once (`kcps_udp_write`): how
/// many were taken, or a negative error.
///
/// # Safety
/// `udp` is NULL or live; `data` is NULL or valid for `len` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_write(
    udp: *mut KcpsUdp,
    now: u32,
    session: u64,
    data: *const c_void,
    len: usize,
) -> i64 {
    // SAFETY: NULL or live (the contract).
    let Some(u) = (unsafe { udp.as_ref() }) else {
        return KCPS_E_NULL.into();
    };
    // SAFETY: forwarded contract.
    let r = unsafe { kcps_send(u.endpoint, now, session, data, len) };
    if r > 0 {
        // SAFETY: the endpoint lives as long as `u`.
        if let Ok(mut ep) = unsafe { enter(u.endpoint) } {
            flush(&mut ep, &u.socket, now);
        }
    }
    r
}

/// Reads received bytes of a session (`kcps_udp_read`): how many, or a negative error.
///
/// # Safety
/// `udp` is NULL or live; `buf` is NULL or valid for `cap` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_read(
    udp: *mut KcpsUdp,
    session: u64,
    buf: *mut c_void,
    cap: usize,
) -> i64 {
    // SAFETY: forwarded contract (a NULL endpoint is refused by the callee).
    unsafe { kcps_recv(kcps_udp_endpoint(udp), session, buf, cap) }
}

/// Frees the endpoint, its sessions and the socket (`kcps_udp_close`), sending nothing;
/// NULL is ignored.
///
/// # Safety
/// `udp` is NULL or from `kcps_udp_dial` / `kcps_udp_listen`, not freed before, used by
/// no other thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_udp_close(udp: *mut KcpsUdp) {
    if !udp.is_null() {
        // SAFETY: from `Box::into_raw`, freed once (the contract).
        drop(unsafe { Box::from_raw(udp) });
    }
}
