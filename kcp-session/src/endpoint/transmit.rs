//! Datagrams waiting to go out, grouped for segmentation offload.

use alloc::vec::Vec;
use core::net::SocketAddr;

/// Payload bytes one offloaded send may carry: a UDP length field, less IPv6 and UDP
/// headers.
const GSO_BYTES: usize = 65_000;

/// A run of datagrams for one destination, ready for one system call: one datagram, or
/// with `segment_size` several of that size back to back (the last may be shorter), as
/// Linux's UDP segmentation offload (GSO) and `quinn-udp`'s `Transmit` take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Where to send.
    pub destination: SocketAddr,
    /// The datagrams, back to back.
    pub contents: &'a [u8],
    /// With several datagrams: the size of each but the last. `None` for one datagram.
    pub segment_size: Option<usize>,
}

impl<'a> Transmit<'a> {
    /// The datagrams one at a time, for sockets without segmentation offload.
    pub fn datagrams(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let size = self.segment_size.unwrap_or(self.contents.len()).max(1);
        self.contents.chunks(size)
    }
}

/// One run in the queue.
#[derive(Clone, Copy, Debug)]
struct Run {
    destination: SocketAddr,
    start: usize,
    len: usize,
    segment: usize,
    count: usize,
    /// A shorter datagram ended the run: nothing more joins it.
    sealed: bool,
}

/// Datagrams queued for sending, in order, grouped into [`Transmit`] runs.
///
/// An [`Endpoint`](crate::Endpoint) fills one as its sessions produce output; take runs
/// out with [`pop`](TransmitQueue::pop) (or let
/// [`Endpoint::poll_transmit`](crate::Endpoint::poll_transmit) do it). A driver that sends
/// from another thread swaps a whole queue out with
/// [`Endpoint::take_transmits`](crate::Endpoint::take_transmits) and sends it without
/// holding the endpoint. Its memory is reused: once emptied, filling it again allocates
/// nothing.
#[derive(Clone, Debug)]
pub struct TransmitQueue {
    bytes: Vec<u8>,
    runs: Vec<Run>,
    /// Runs before this index were handed out.
    head: usize,
    max_segments: usize,
}

impl Default for TransmitQueue {
    fn default() -> TransmitQueue {
        TransmitQueue::new(1)
    }
}

impl TransmitQueue {
    /// An empty queue grouping at most `max_segments` datagrams per run (1: no grouping,
    /// for sockets without segmentation offload).
    pub fn new(max_segments: usize) -> TransmitQueue {
        TransmitQueue {
            bytes: Vec::new(),
            runs: Vec::new(),
            head: 0,
            max_segments: max_segments.max(1),
        }
    }

    /// Changes how many datagrams a run may group from now on.
    pub fn set_max_segments(&mut self, max_segments: usize) {
        self.max_segments = max_segments.max(1);
    }

    /// How many datagrams a run may group.
    pub fn max_segments(&self) -> usize {
        self.max_segments
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.head == self.runs.len()
    }

    /// Datagrams waiting, over all runs.
    pub fn datagrams(&self) -> usize {
        self.runs[self.head..].iter().map(|r| r.count).sum()
    }

    /// Queues one datagram for `destination`, joining the last run when it can.
    pub fn push(&mut self, destination: SocketAddr, datagram: &[u8]) {
        if self.is_empty() {
            self.bytes.clear();
            self.runs.clear();
            self.head = 0;
        }
        let len = datagram.len();
        let start = self.bytes.len();
        self.bytes.extend_from_slice(datagram);
        let open_runs = self.runs.len() > self.head;
        if let Some(run) = self.runs.last_mut()
            && open_runs
            && run.destination == destination
            && !run.sealed
            && run.count < self.max_segments
            && len <= run.segment
            && run.len + len <= GSO_BYTES
        {
            run.len += len;
            run.count += 1;
            run.sealed = len < run.segment;
            return;
        }
        self.runs.push(Run {
            destination,
            start,
            len,
            segment: len,
            count: 1,
            sealed: false,
        });
    }

    /// The next run, in the order the datagrams were queued. Its contents stay valid until
    /// the queue is used mutably again.
    pub fn pop(&mut self) -> Option<Transmit<'_>> {
        let run = *self.runs.get(self.head)?;
        self.head += 1;
        Some(Transmit {
            destination: run.destination,
            contents: &self.bytes[run.start..run.start + run.len],
            segment_size: (run.count > 1).then_some(run.segment),
        })
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.head = self.runs.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn runs_group_equal_sizes_per_destination_up_to_the_limits() {
        let mut q = TransmitQueue::new(3);
        for len in [100, 100, 100, 100, 40, 100] {
            q.push(addr(1), &vec![len as u8; len]);
        }
        q.push(addr(2), &[9; 100]);
        assert_eq!(q.datagrams(), 7);
        let t = q.pop().unwrap();
        assert_eq!((t.contents.len(), t.segment_size), (300, Some(100)));
        // The fourth joins a new run, which the shorter one ends.
        let t = q.pop().unwrap();
        assert_eq!((t.contents.len(), t.segment_size), (140, Some(100)));
        assert_eq!(
            t.datagrams().map(<[u8]>::len).collect::<Vec<_>>(),
            [100, 40]
        );
        let t = q.pop().unwrap();
        assert_eq!((t.contents.len(), t.segment_size), (100, None));
        let t = q.pop().unwrap();
        assert_eq!((t.destination, t.segment_size), (addr(2), None));
        assert!(q.pop().is_none() && q.is_empty());
        // Reused without growing.
        let cap = q.bytes.capacity();
        q.push(addr(3), &[1; 200]);
        assert_eq!(q.bytes.capacity(), cap);
        assert_eq!(q.pop().unwrap().contents, &[1; 200][..]);
    }

    #[test]
    fn one_run_stays_within_one_udp_datagram() {
        let mut q = TransmitQueue::new(1000);
        for _ in 0..100 {
            q.push(addr(1), &[0; 1400]);
        }
        let mut total = 0;
        while let Some(t) = q.pop() {
            assert!(t.contents.len() <= GSO_BYTES);
            total += t.contents.len();
        }
        assert_eq!(total, 140_000);
    }
}
