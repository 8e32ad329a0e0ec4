//! The two traits: a whole-datagram transform, and the packet framing around it.

use core::ops::Range;

use rand_core::CryptoRng;

use crate::{CRC_LEN, HEADER_LEN, NONCE_LEN, OpenError, SealError};

/// A transform of a whole datagram in place, nonce and CRC included: kcp-go's
/// `BlockCrypt` (CFB block ciphers, Salsa20, XOR, identity).
///
/// Implement it to add a cipher of your own; every implementor is a [`PacketCipher`] with
/// kcp-go's nonce + CRC32 framing around it. Both methods must accept any length, including
/// lengths that are not a multiple of a block.
pub trait BlockCrypt {
    /// Encrypts `datagram` in place (nonce, CRC and payload alike).
    fn encrypt(&self, datagram: &mut [u8]);
    /// Decrypts `datagram` in place; the inverse of [`encrypt`](Self::encrypt).
    fn decrypt(&self, datagram: &mut [u8]);
}

/// A packet cipher working in place on a datagram buffer: what the session layer calls.
///
/// Layout: `header_len()` bytes of header, the payload, then `trailer_len()` bytes (the
/// AEAD tag). The layers above write their frame behind a reserved headroom of
/// `header_len()` bytes, so sealing needs no copy.
pub trait PacketCipher {
    /// Bytes written in front of the payload by [`seal`](Self::seal).
    fn header_len(&self) -> usize;

    /// Bytes written after the payload by [`seal`](Self::seal) (the AEAD tag, else 0).
    fn trailer_len(&self) -> usize;

    /// `header_len() + trailer_len()`: subtract it from the MTU to size payloads.
    fn overhead(&self) -> usize {
        self.header_len() + self.trailer_len()
    }

    /// Seals the payload at `buf[header_len() .. header_len() + payload_len]` in place:
    /// writes a fresh nonce from `rng` (and the CRC32 where the framing has one) into the
    /// header, encrypts, and appends the tag where there is one.
    ///
    /// Returns the datagram length (`payload_len + overhead()`); the datagram is
    /// `buf[..len]`. Bytes of `buf` past it are left alone. Allocates nothing. Fails only
    /// when `buf` is shorter than the datagram.
    fn seal<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        rng: &mut R,
    ) -> Result<usize, SealError>;

    /// Opens a received datagram in place: decrypts it and checks its CRC32 or tag.
    ///
    /// Returns the range of the plaintext payload inside `datagram`. On error the contents
    /// of `datagram` are unspecified (partly decrypted); drop it. Allocates nothing.
    fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, OpenError>;
}

/// Length of a sealed datagram, or the error saying how much room it needs.
pub(crate) fn sealed_len(
    available: usize,
    header: usize,
    payload_len: usize,
    trailer: usize,
) -> Result<usize, SealError> {
    let needed = header
        .checked_add(payload_len)
        .and_then(|n| n.checked_add(trailer))
        .unwrap_or(usize::MAX);
    if needed > available {
        return Err(SealError::BufferTooSmall { needed, available });
    }
    Ok(needed)
}

impl<T: BlockCrypt + ?Sized> PacketCipher for T {
    fn header_len(&self) -> usize {
        HEADER_LEN
    }

    fn trailer_len(&self) -> usize {
        0
    }

    fn seal<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        rng: &mut R,
    ) -> Result<usize, SealError> {
        let len = sealed_len(buf.len(), HEADER_LEN, payload_len, 0)?;
        let datagram = &mut buf[..len];
        let (header, payload) = datagram.split_at_mut(HEADER_LEN);
        let (nonce, crc) = header.split_at_mut(NONCE_LEN);
        rng.fill_bytes(nonce);
        crc.copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.encrypt(datagram);
        Ok(len)
    }

    fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, OpenError> {
        if datagram.len() < HEADER_LEN {
            return Err(OpenError::TooShort);
        }
        self.decrypt(datagram);
        let mut stored = [0u8; CRC_LEN];
        stored.copy_from_slice(&datagram[NONCE_LEN..HEADER_LEN]);
        if crc32fast::hash(&datagram[HEADER_LEN..]) != u32::from_le_bytes(stored) {
            return Err(OpenError::BadChecksum);
        }
        Ok(HEADER_LEN..datagram.len())
    }
}
