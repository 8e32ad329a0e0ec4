//! smux frames: the 8-byte header of xtaci/smux (v1 and v2) and the v2 window update.
//!
//! ```text
//! version u8 | cmd u8 | length u16 LE | stream id u32 LE | payload (length bytes)
//! ```
//!
//! Commands: 0 SYN (open), 1 FIN (end of stream), 2 PSH (data), 3 NOP (keepalive), 4 UPD
//! (v2 window update, payload `consumed u32 LE | window u32 LE`).

use std::fmt;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 8;
/// Bytes in a UPD payload.
pub const UPD_LEN: usize = 8;

/// A frame's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Opens a stream.
    Syn,
    /// Ends a stream (EOF for the reader).
    Fin,
    /// Carries stream data.
    Psh,
    /// Keepalive; stream id 0.
    Nop,
    /// v2 flow control: how much the peer consumed and its window.
    Upd,
}

impl Cmd {
    /// The command's byte on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            Cmd::Syn => 0,
            Cmd::Fin => 1,
            Cmd::Psh => 2,
            Cmd::Nop => 3,
            Cmd::Upd => 4,
        }
    }

    fn from_byte(b: u8) -> Option<Cmd> {
        Some(match b {
            0 => Cmd::Syn,
            1 => Cmd::Fin,
            2 => Cmd::Psh,
            3 => Cmd::Nop,
            4 => Cmd::Upd,
            _ => return None,
        })
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The command.
    pub cmd: Cmd,
    /// Payload length.
    pub len: u16,
    /// Stream id.
    pub sid: u32,
}

/// Why a header was refused; each ends the smux session, as in Go's smux.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The version byte is not the session's (`smuxver` differs between the ends, or the
    /// bytes are not smux at all).
    Version(u8),
    /// An unknown command byte.
    Cmd(u8),
    /// SYN, FIN or NOP with a payload, or UPD with a payload other than 8 bytes.
    Length(Cmd, u16),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::Version(v) => write!(f, "invalid protocol: smux version {v}"),
            FrameError::Cmd(c) => write!(f, "invalid protocol: smux command {c}"),
            FrameError::Length(c, n) => {
                write!(f, "invalid protocol: smux {c:?} frame of {n} bytes")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl Header {
    /// Parses a header sent by a peer of smux version `version`.
    pub fn parse(b: &[u8; HEADER_LEN], version: u8) -> Result<Header, FrameError> {
        if b[0] != version {
            return Err(FrameError::Version(b[0]));
        }
        let cmd = Cmd::from_byte(b[1]).ok_or(FrameError::Cmd(b[1]))?;
        let len = u16::from_le_bytes([b[2], b[3]]);
        let sid = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let ok = match cmd {
            Cmd::Syn | Cmd::Fin | Cmd::Nop => len == 0,
            Cmd::Upd => usize::from(len) == UPD_LEN,
            Cmd::Psh => true,
        };
        if !ok {
            return Err(FrameError::Length(cmd, len));
        }
        Ok(Header { cmd, len, sid })
    }

    /// Appends the header of a `cmd` frame with `len` payload bytes to `out`.
    pub fn emit(out: &mut Vec<u8>, version: u8, cmd: Cmd, len: u16, sid: u32) {
        out.push(version);
        out.push(cmd.byte());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&sid.to_le_bytes());
    }
}

/// Appends a whole UPD frame to `out`.
pub fn emit_upd(out: &mut Vec<u8>, version: u8, sid: u32, consumed: u32, window: u32) {
    Header::emit(out, version, Cmd::Upd, UPD_LEN as u16, sid);
    out.extend_from_slice(&consumed.to_le_bytes());
    out.extend_from_slice(&window.to_le_bytes());
}

/// Reads a UPD payload: `(consumed, window)`.
pub fn parse_upd(b: &[u8; UPD_LEN]) -> (u32, u32) {
    (
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_refusals() {
        let mut out = Vec::new();
        Header::emit(&mut out, 2, Cmd::Psh, 300, 0x0102_0304);
        assert_eq!(out, [2, 2, 0x2c, 0x01, 4, 3, 2, 1]);
        let b: [u8; 8] = out[..].try_into().unwrap();
        assert_eq!(
            Header::parse(&b, 2),
            Ok(Header {
                cmd: Cmd::Psh,
                len: 300,
                sid: 0x0102_0304
            })
        );
        assert_eq!(Header::parse(&b, 1), Err(FrameError::Version(2)));
        assert_eq!(
            Header::parse(&[1, 9, 0, 0, 0, 0, 0, 0], 1),
            Err(FrameError::Cmd(9))
        );
        assert_eq!(
            Header::parse(&[1, 0, 1, 0, 3, 0, 0, 0], 1),
            Err(FrameError::Length(Cmd::Syn, 1))
        );
        assert_eq!(
            Header::parse(&[2, 4, 7, 0, 3, 0, 0, 0], 2),
            Err(FrameError::Length(Cmd::Upd, 7))
        );
        let mut upd = Vec::new();
        emit_upd(&mut upd, 2, 5, 1000, 2 << 20);
        assert_eq!(&upd[..8], &[2, 4, 8, 0, 5, 0, 0, 0]);
        assert_eq!(parse_upd(upd[8..].try_into().unwrap()), (1000, 2 << 20));
    }
}
