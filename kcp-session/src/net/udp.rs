//! Batched UDP I/O through `quinn-udp`: on Linux, GSO sends a run of equal-sized
//! datagrams to one peer in one `sendmsg`, and `recvmmsg` with GRO receives many in one
//! call; elsewhere it falls back to one datagram per call.

use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;

use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Receive slots per `recvmmsg` call for a listener (a dialed session uses one).
pub(crate) const LISTENER_SLOTS: usize = 8;
/// Bytes per receive slot with GRO (one coalesced run of datagrams); 2048 without.
const GRO_SLOT: usize = 65_536;
const PLAIN_SLOT: usize = 2048;
/// Payload bytes one GSO send may carry (a UDP length field, less IPv6 and UDP headers).
const GSO_BYTES: usize = 65_000;

/// A socket with its batching state.
#[derive(Debug)]
pub(crate) struct Udp {
    pub(crate) socket: UdpSocket,
    state: UdpSocketState,
}

/// The datagrams one session operation produced, waiting to go out together.
#[derive(Debug, Default)]
struct Outbox {
    bytes: Vec<u8>,
    lens: Vec<usize>,
}

thread_local! {
    /// Reused by every session operation on this thread: no allocation per datagram.
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

impl Udp {
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Udp> {
        let state = UdpSocketState::new((&socket).into())?;
        Ok(Udp { socket, state })
    }

    /// Runs `produce` with a transmit function that collects datagrams, then sends them
    /// to `to` in as few system calls as the platform allows. Returns `produce`'s result
    /// and the number of datagrams the socket would not take (dropped, as on the wire).
    pub(crate) fn transmit<R>(
        &self,
        to: SocketAddr,
        produce: impl FnOnce(&mut dyn FnMut(&[u8])) -> R,
    ) -> (R, u64) {
        OUTBOX.with(|cell| {
            // A session operation never re-enters another on the same thread; if that
            // ever changed, fall back to sending each datagram at once.
            let Ok(mut out) = cell.try_borrow_mut() else {
                let mut dropped = 0;
                let r = produce(&mut |d| {
                    if self.socket.try_send_to(d, to).is_err() {
                        dropped += 1;
                    }
                });
                return (r, dropped);
            };
            out.bytes.clear();
            out.lens.clear();
            let r = produce(&mut |d| {
                out.bytes.extend_from_slice(d);
                out.lens.push(d.len());
            });
            let dropped = self.send_all(&out, to);
            (r, dropped)
        })
    }

    /// Sends `out` to `to`: each run of equal lengths (plus one shorter datagram ending
    /// it) as one GSO transmit.
    fn send_all(&self, out: &Outbox, to: SocketAddr) -> u64 {
        let (lens, mut dropped, mut off, mut i) = (&out.lens, 0u64, 0usize, 0usize);
        while i < lens.len() {
            let seg = lens[i];
            // One GSO send is one UDP datagram to the kernel: at most 64 KiB in all.
            let max = self
                .state
                .max_gso_segments()
                .min(GSO_BYTES / seg.max(1))
                .max(1);
            let mut j = i + 1;
            while j < lens.len() && j - i < max && lens[j] == seg {
                j += 1;
            }
            if j < lens.len() && j - i < max && lens[j] < seg {
                j += 1;
            }
            let total: usize = lens[i..j].iter().sum();
            let contents = &out.bytes[off..off + total];
            let transmit = Transmit {
                destination: to,
                ecn: None,
                contents,
                segment_size: (j - i > 1).then_some(seg),
                src_ip: None,
            };
            let sent = self.socket.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.socket).into(), &transmit)
            });
            match sent {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => dropped += (j - i) as u64,
                // GSO refused (no offload on this path): one datagram per call.
                Err(_) => {
                    let mut at = 0;
                    for &len in &lens[i..j] {
                        if self
                            .socket
                            .try_send_to(&contents[at..at + len], to)
                            .is_err()
                        {
                            dropped += 1;
                        }
                        at += len;
                    }
                }
            }
            off += total;
            i = j;
        }
        dropped
    }

    /// Receive buffers for `slots` batched datagrams (or GRO runs).
    pub(crate) fn recv_buffers(&self, slots: usize) -> RecvBuffers {
        let slot = if self.state.gro_segments() > 1 {
            GRO_SLOT
        } else {
            PLAIN_SLOT
        };
        RecvBuffers {
            bytes: vec![0; slot * slots],
            slot,
            meta: vec![RecvMeta::default(); slots],
        }
    }

    /// Waits until the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Receives what is queued without waiting, handing each datagram to `each`.
    /// `WouldBlock` when nothing is queued.
    pub(crate) fn try_recv(
        &self,
        bufs: &mut RecvBuffers,
        mut each: impl FnMut(&mut [u8], SocketAddr),
    ) -> io::Result<usize> {
        let slots = bufs.meta.len();
        let slot = bufs.slot;
        let n = {
            let mut chunks = bufs.bytes.chunks_mut(slot);
            let mut iovs: [IoSliceMut<'_>; LISTENER_SLOTS] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or(&mut [])));
            let meta = &mut bufs.meta;
            self.socket.try_io(Interest::READABLE, || {
                self.state
                    .recv((&self.socket).into(), &mut iovs[..slots], meta)
            })?
        };
        let mut count = 0;
        for (meta, buf) in bufs.meta[..n].iter().zip(bufs.bytes.chunks_mut(slot)) {
            let stride = meta.stride.max(1);
            for d in buf[..meta.len].chunks_mut(stride) {
                each(d, meta.addr);
                count += 1;
            }
        }
        Ok(count)
    }
}

/// Memory for batched receives, owned by a socket's driver.
#[derive(Debug)]
pub(crate) struct RecvBuffers {
    bytes: Vec<u8>,
    slot: usize,
    meta: Vec<RecvMeta>,
}
