//! Error types of the crate: small `Copy` enums, one per operation.

use core::fmt;

/// Why [`open`](crate::PacketCipher::open) rejected a datagram.
///
/// A receiver counts these (kcp-go counts the last two as `InCsumErrors`) and drops the
/// datagram; none of them means the session is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpenError {
    /// The datagram is shorter than the cipher's header (plus tag for AEAD), so it cannot
    /// carry a payload. kcp-go drops these silently.
    TooShort,
    /// The CRC32 stored at bytes 16..20 does not match the decrypted bytes 20..: wrong key,
    /// wrong cipher, corrupted or forged datagram.
    BadChecksum,
    /// AES-GCM tag verification failed: wrong key, corrupted or forged datagram.
    AeadFailure,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooShort => "datagram too short for the cipher header",
            Self::BadChecksum => "datagram checksum mismatch (wrong key or corrupted)",
            Self::AeadFailure => "datagram authentication failed (wrong key or corrupted)",
        })
    }
}

impl core::error::Error for OpenError {}

/// Why [`seal`](crate::PacketCipher::seal) could not frame a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealError {
    /// The buffer cannot hold header + payload + trailer. Reserve
    /// [`overhead`](crate::PacketCipher::overhead) bytes around every payload.
    BufferTooSmall {
        /// Bytes the sealed datagram needs (`usize::MAX` if that overflows).
        needed: usize,
        /// Length of the buffer that was passed in.
        available: usize,
    },
    /// The payload is longer than the cipher can seal under one nonce (AES-GCM: 64 GiB).
    PayloadTooLong,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small to seal the datagram: {needed} bytes needed, {available} available"
            ),
            Self::PayloadTooLong => f.write_str("payload too long for the cipher"),
        }
    }
}

impl core::error::Error for SealError {}

/// Why a cipher could not be built from the key bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyError {
    /// The cipher takes the first `needed` bytes of the key (kcptun's slicing of its
    /// 32-byte derived key), but only `got` were given.
    TooShort {
        /// Key bytes the cipher name takes.
        needed: usize,
        /// Key bytes that were given.
        got: usize,
    },
    /// The block cipher does not accept a key of this length.
    InvalidLength {
        /// Key bytes that were given.
        got: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { needed, got } => {
                write!(
                    f,
                    "key too short: the cipher takes {needed} bytes, {got} given"
                )
            }
            Self::InvalidLength { got } => {
                write!(f, "the cipher does not accept a {got}-byte key")
            }
        }
    }
}

impl core::error::Error for KeyError {}
