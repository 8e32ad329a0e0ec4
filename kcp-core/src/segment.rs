//! The 24-byte segment header (all fields little-endian) and the in-memory segment.

use alloc::vec::Vec;

use crate::OVERHEAD;

/// The command byte of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// Data (`IKCP_CMD_PUSH`, 81).
    Push = 81,
    /// Selective acknowledgement of one segment (`IKCP_CMD_ACK`, 82).
    Ack = 82,
    /// Window probe: "tell me your window" (`IKCP_CMD_WASK`, 83).
    WindowAsk = 83,
    /// Window announcement (`IKCP_CMD_WINS`, 84).
    WindowTell = 84,
}

impl Command {
    /// Parses a command byte; `None` for anything ikcp would reject.
    pub const fn from_u8(byte: u8) -> Option<Command> {
        match byte {
            81 => Some(Command::Push),
            82 => Some(Command::Ack),
            83 => Some(Command::WindowAsk),
            84 => Some(Command::WindowTell),
            _ => None,
        }
    }
}

/// A parsed segment header. Use it to inspect datagrams (for logging, demultiplexing or
/// tests); [`Kcp`](crate::Kcp) parses and writes headers itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Conversation id.
    pub conv: u32,
    /// Command byte (see [`Command`]); kept raw so that unknown values can be shown.
    pub cmd: u8,
    /// Fragments still to come after this one (message mode), else 0.
    pub frg: u8,
    /// The sender's free receive window in segments.
    pub wnd: u16,
    /// The sender's clock at (re)transmission; an ACK echoes the acknowledged segment's.
    pub ts: u32,
    /// Sequence number (PUSH), or the sequence number acknowledged (ACK).
    pub sn: u32,
    /// The sender's next expected sequence number: everything below it was received.
    pub una: u32,
    /// Payload bytes following the header.
    pub len: u32,
}

impl Header {
    /// Reads a header from the first [`OVERHEAD`] bytes; `None` if `bytes` is shorter.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let h: &[u8; OVERHEAD] = bytes.get(..OVERHEAD)?.try_into().ok()?;
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Some(Header {
            conv: u32_at(0),
            cmd: h[4],
            frg: h[5],
            wnd: u16::from_le_bytes([h[6], h[7]]),
            ts: u32_at(8),
            sn: u32_at(12),
            una: u32_at(16),
            len: u32_at(20),
        })
    }

    /// Writes the header into the first [`OVERHEAD`] bytes of `out`.
    ///
    /// # Panics
    /// If `out` is shorter than [`OVERHEAD`].
    pub fn emit(&self, out: &mut [u8]) {
        let out = &mut out[..OVERHEAD];
        out[0..4].copy_from_slice(&self.conv.to_le_bytes());
        out[4] = self.cmd;
        out[5] = self.frg;
        out[6..8].copy_from_slice(&self.wnd.to_le_bytes());
        out[8..12].copy_from_slice(&self.ts.to_le_bytes());
        out[12..16].copy_from_slice(&self.sn.to_le_bytes());
        out[16..20].copy_from_slice(&self.una.to_le_bytes());
        out[20..24].copy_from_slice(&self.len.to_le_bytes());
    }
}

/// The conversation id of a datagram (`ikcp_getconv`), or `None` if it is shorter than
/// four bytes. Use it to route a datagram to its [`Kcp`](crate::Kcp) before input.
pub fn conv_of(datagram: &[u8]) -> Option<u32> {
    let b = datagram.get(..4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A queued, in-flight or received segment.
#[derive(Debug, Default)]
pub(crate) struct Segment {
    pub(crate) frg: u8,
    /// Window at the last (re)transmission; ikcp keeps it 32 bits wide and truncates it
    /// when encoding.
    pub(crate) wnd: u32,
    pub(crate) ts: u32,
    pub(crate) sn: u32,
    pub(crate) una: u32,
    pub(crate) resendts: u32,
    pub(crate) rto: u32,
    pub(crate) fastack: u32,
    pub(crate) xmit: u32,
    /// Skipped, since its last transmission, by an ACK that newly acknowledged a later
    /// segment: what early retransmission acts on.
    pub(crate) skipped: bool,
    /// In the send buffer: acknowledged out of order, waiting for the head to catch up.
    /// Keeping the slot makes the send buffer indexable by `sn - snd_una`.
    pub(crate) acked: bool,
    pub(crate) data: Vec<u8>,
}

impl Segment {
    pub(crate) fn new(data: Vec<u8>) -> Segment {
        Segment {
            data,
            ..Segment::default()
        }
    }

    /// The header ikcp writes for this segment when it is (re)transmitted.
    pub(crate) fn header(&self, conv: u32, cmd: Command) -> Header {
        Header {
            conv,
            cmd: cmd as u8,
            frg: self.frg,
            wnd: self.wnd as u16,
            ts: self.ts,
            sn: self.sn,
            una: self.una,
            len: self.data.len() as u32,
        }
    }
}
