//! Unreliable datagrams beside the reliable stream, on kcp-go's out-of-band wire (kcp-go
//! 5.6.60 and later, `SendOOB` and `SetOOBHandler`).
//!
//! An out-of-band datagram is framed as an FEC packet that FEC never groups: behind the
//! crypto header, sequence id `0xFFFFFFFF` and type `0xF3` (little-endian, 4 and 2
//! bytes), the size field of a data shard (2 bytes, counting itself, the conv and the
//! payload), the conversation id (4 bytes), then the payload; sealed by the cipher like
//! every other datagram. It is never acknowledged, retransmitted, ordered or protected by
//! parity. kcp-go only sends and hands them out with FEC on (its `SendOOB` and
//! `SetOOBHandler` fail without), so this side refuses to send them without FEC too; it
//! takes those it receives either way.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;

use kcp_crypt::PacketCipher;

use super::{InputError, Session, State};

/// Sequence id kcp-go writes on an out-of-band datagram.
const OOB_SEQID: u32 = 0xFFFF_FFFF;
/// FEC packet type of an out-of-band datagram.
const TYPE_OOB: u16 = 0xF3;
/// FEC header (seqid, type), size field and conversation id in front of the payload.
const OOB_HEADER: usize = 6 + 2 + 4;

/// Why [`Session::send_datagram`] sent nothing. Nothing is ever dropped silently on the
/// sending side: each case is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatagramError {
    /// The session runs without FEC. kcp-go frames datagrams only with FEC on (its
    /// `SendOOB` fails and its `SetOOBHandler` refuses a handler without it), so a peer
    /// with FEC off would drop them unseen: turn FEC on at both ends (any shard counts).
    Unsupported,
    /// Longer than [`Session::max_datagram_size`].
    TooLarge,
    /// [`Config::datagram_queue`](crate::Config::datagram_queue) datagrams already wait
    /// for the next poll: poll (an [`Endpoint`](crate::Endpoint) or the tokio streams do
    /// it at once), then send again.
    QueueFull,
    /// The peer has not yet shown that it receives at its address and the amplification
    /// budget has no room for it (see
    /// [`Session::new_incoming`](crate::Session::new_incoming)); reliable data the peer
    /// acknowledges brings the proof.
    Unproven,
    /// The session is not open (closing, closed, dead or replaced).
    Ended(State),
}

impl fmt::Display for DatagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatagramError::Unsupported => {
                f.write_str("datagrams need FEC on (kcp-go frames them only with FEC)")
            }
            DatagramError::TooLarge => f.write_str("datagram longer than max_datagram_size"),
            DatagramError::QueueFull => f.write_str("datagram queue full until the next poll"),
            DatagramError::Unproven => {
                f.write_str("peer address unproven, amplification budget exhausted")
            }
            DatagramError::Ended(s) => write!(f, "session not open: {s}"),
        }
    }
}

impl core::error::Error for DatagramError {}

/// Counts of a session's datagrams, from [`Session::datagram_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatagramStats {
    /// Datagrams sent (handed to the transmit callback).
    pub sent: u64,
    /// Datagrams received and queued for [`Session::recv_datagram`] (kcp-go's
    /// `OOBPackets` counts the same).
    pub received: u64,
    /// Received datagrams dropped because the queue was full (the oldest goes) or
    /// [`Config::datagram_queue`](crate::Config::datagram_queue) is 0.
    pub dropped: u64,
    /// Received datagrams dropped for a bad size field or another conversation id (also
    /// counted in the SNMP `InErrs`).
    pub invalid: u64,
}

/// A session's datagram queues.
#[derive(Default)]
pub(super) struct Datagrams {
    /// Received, waiting for the application.
    inbox: VecDeque<Vec<u8>>,
    /// Sealed, waiting for the next poll.
    outbox: VecDeque<Vec<u8>>,
    stats: DatagramStats,
}

impl Datagrams {
    /// Heap bytes the queues hold.
    pub(super) fn buffered_bytes(&self) -> usize {
        self.inbox
            .iter()
            .chain(&self.outbox)
            .map(Vec::capacity)
            .sum()
    }

    pub(super) fn clear(&mut self) {
        self.inbox = VecDeque::new();
        self.outbox = VecDeque::new();
    }

    /// Hands the sealed datagrams to `transmit`, in order.
    pub(super) fn transmit(&mut self, mut transmit: impl FnMut(&[u8])) {
        while let Some(d) = self.outbox.pop_front() {
            self.stats.sent += 1;
            transmit(&d);
        }
    }
}

/// Whether an opened payload is an out-of-band datagram (kcp-go looks at the type only).
pub(super) fn is_oob(payload: &[u8]) -> bool {
    payload.get(4..6) == Some(&TYPE_OOB.to_le_bytes())
}

impl Session {
    /// The largest payload [`send_datagram`](Session::send_datagram) takes: the MTU less
    /// the cipher's header and trailer, the 8-byte FEC header and the 4-byte conversation
    /// id (1,318 bytes for kcptun's defaults), so that a datagram never exceeds the MTU:
    /// the same as kcp-go's `GetOOBMaxSize` for the same MTU and cipher. 0 without FEC
    /// (see [`DatagramError::Unsupported`]).
    pub fn max_datagram_size(&self) -> usize {
        if self.settings.fec().is_none() {
            return 0;
        }
        self.settings.kcp_mtu() - 4
    }

    /// Sends `data` as one unreliable datagram on kcp-go's out-of-band wire: it goes out
    /// at the next [`poll`](Session::poll), sealed by the cipher, and is never
    /// acknowledged or retransmitted, so a lost one is gone and they may arrive out of
    /// order. kcp-go 5.6.60+ hands it to the handler set with `SetOOBHandler`.
    ///
    /// Use it for state that the next update supersedes (positions in a game), beside the
    /// reliable stream for what must arrive; it skips the send window and the
    /// retransmission queue, so it never waits behind lost stream data. Costs one
    /// allocation and one seal per datagram.
    pub fn send_datagram(&mut self, data: &[u8]) -> Result<(), DatagramError> {
        if self.state != State::Open {
            return Err(DatagramError::Ended(self.state));
        }
        if self.settings.fec().is_none() {
            return Err(DatagramError::Unsupported);
        }
        if data.len() > self.max_datagram_size() {
            return Err(DatagramError::TooLarge);
        }
        if self.datagrams.outbox.len() >= self.settings.config().datagram_queue.max(1) {
            return Err(DatagramError::QueueFull);
        }
        let crypt = self.settings.crypt();
        let start = crypt.header_len();
        let payload_len = OOB_HEADER + data.len();
        let mut d = alloc::vec![0u8; start + payload_len + crypt.trailer_len()];
        let size = u16::try_from(2 + 4 + data.len()).expect("bounded by the MTU");
        d[start..start + 4].copy_from_slice(&OOB_SEQID.to_le_bytes());
        d[start + 4..start + 6].copy_from_slice(&TYPE_OOB.to_le_bytes());
        d[start + 6..start + 8].copy_from_slice(&size.to_le_bytes());
        d[start + 8..start + 12].copy_from_slice(&self.kcp.conv().to_le_bytes());
        d[start + OOB_HEADER..start + payload_len].copy_from_slice(data);
        let n = crypt
            .seal(&mut d, payload_len, &mut self.rng)
            .expect("sized for the seal");
        if let Some(proof) = &mut self.proof
            && !proof.take(n)
        {
            return Err(DatagramError::Unproven);
        }
        d.truncate(n);
        self.counters.out_pkts += 1;
        self.counters.bytes_sent += n as u64;
        self.datagrams.outbox.push_back(d);
        self.flush_wanted = true;
        Ok(())
    }

    /// Takes the oldest received datagram, if any. Datagrams wait in a queue of
    /// [`Config::datagram_queue`](crate::Config::datagram_queue); when it is full the
    /// oldest is dropped and counted in [`datagram_stats`](Session::datagram_stats), so
    /// an application that reads late gets the freshest state. Datagrams received before
    /// the session ended can still be taken.
    pub fn recv_datagram(&mut self) -> Option<Vec<u8>> {
        self.datagrams.inbox.pop_front()
    }

    /// Whether [`recv_datagram`](Session::recv_datagram) would return one now.
    pub fn can_recv_datagram(&self) -> bool {
        !self.datagrams.inbox.is_empty()
    }

    /// This session's datagram counters.
    pub fn datagram_stats(&self) -> DatagramStats {
        self.datagrams.stats
    }

    /// Takes an opened out-of-band payload: checks its size field and conversation id
    /// and queues the payload. It moves nothing in KCP, so it does not keep the session
    /// alive on its own.
    pub(super) fn input_datagram(&mut self, payload: &[u8]) -> Result<(), InputError> {
        let field = |i: usize| {
            payload
                .get(i..i + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        };
        let conv = payload
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let stats = &mut self.datagrams.stats;
        // The size field counts itself, the conv and the payload, as a data shard's does.
        let valid = matches!((field(6), conv), (Some(size), Some(conv))
            if usize::from(size) == payload.len() - 6 && conv == self.kcp.conv());
        if !valid {
            stats.invalid += 1;
            self.counters.in_errs += 1;
            return Err(InputError::Datagram);
        }
        let limit = self.settings.config().datagram_queue;
        if limit == 0 {
            stats.dropped += 1;
            return Ok(());
        }
        if self.datagrams.inbox.len() >= limit {
            self.datagrams.inbox.pop_front();
            stats.dropped += 1;
        }
        stats.received += 1;
        self.datagrams
            .inbox
            .push_back(payload[OOB_HEADER..].to_vec());
        Ok(())
    }
}
