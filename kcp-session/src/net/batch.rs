//! Batched UDP I/O through `quinn-udp`: on Linux, GSO sends a run of equal-sized
//! datagrams to one peer in one `sendmsg`, and `recvmmsg` with GRO receives many in one
//! call; elsewhere it falls back to one datagram per call.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::vec;
use std::vec::Vec;

use quinn_udp::{RecvMeta, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::config::MTU_LIMIT;
use crate::endpoint::TransmitQueue;

/// Receive slots per `recvmmsg` call for a listener (a dialed session uses one).
pub(crate) const LISTENER_SLOTS: usize = 8;
/// Bytes per receive slot with GRO (one coalesced run of datagrams); 2048 without.
const GRO_SLOT: usize = 65_536;
const PLAIN_SLOT: usize = 2048;

/// A socket with its batching state.
#[derive(Debug)]
pub(crate) struct Udp {
    pub(crate) socket: UdpSocket,
    state: UdpSocketState,
}

impl Udp {
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Udp> {
        let state = UdpSocketState::new((&socket).into())?;
        Ok(Udp { socket, state })
    }

    /// How many datagrams one send may carry (1 without segmentation offload).
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Sends everything in `queue`, one system call per run where the platform allows;
    /// returns how many datagrams the socket would not take (dropped, as on the wire).
    pub(crate) fn send(&self, queue: &mut TransmitQueue) -> u64 {
        let mut dropped = 0;
        while let Some(t) = queue.pop() {
            let transmit = quinn_udp::Transmit {
                destination: t.destination,
                ecn: None,
                contents: t.contents,
                segment_size: t.segment_size,
                src_ip: None,
            };
            let sent = self.socket.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.socket).into(), &transmit)
            });
            match sent {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    dropped += t.datagrams().count() as u64;
                }
                // Segmentation offload refused on this path: one datagram per call.
                Err(_) => {
                    for d in t.datagrams() {
                        if self.socket.try_send_to(d, t.destination).is_err() {
                            dropped += 1;
                        }
                    }
                }
            }
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
            filled: 0,
        }
    }

    /// Waits until the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Receives what is queued into `bufs` without waiting; `WouldBlock` when nothing is.
    /// Take the datagrams out with [`RecvBuffers::datagrams`].
    pub(crate) fn try_recv(&self, bufs: &mut RecvBuffers) -> io::Result<()> {
        let slots = bufs.meta.len();
        let slot = bufs.slot;
        bufs.filled = 0;
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
        bufs.filled = n;
        Ok(())
    }
}

/// Memory for batched receives, owned by a socket's driver.
#[derive(Debug)]
pub(crate) struct RecvBuffers {
    bytes: Vec<u8>,
    slot: usize,
    meta: Vec<RecvMeta>,
    /// Slots the last `try_recv` filled.
    filled: usize,
}

impl RecvBuffers {
    /// Hands each datagram of the last receive to `each`, splitting GRO runs. A run whose
    /// stride exceeds [`MTU_LIMIT`] is handed over whole, so that the endpoint drops it as
    /// oversized.
    pub(crate) fn datagrams(&mut self, mut each: impl FnMut(&mut [u8], SocketAddr)) -> usize {
        let mut count = 0;
        let slot = self.slot;
        for (meta, buf) in self.meta[..self.filled]
            .iter()
            .zip(self.bytes.chunks_mut(slot))
        {
            let stride = if meta.stride > MTU_LIMIT || meta.stride == 0 {
                meta.len.max(1)
            } else {
                meta.stride
            };
            for d in buf[..meta.len].chunks_mut(stride) {
                each(d, meta.addr);
                count += 1;
            }
        }
        self.filled = 0;
        count
    }
}
