//! The two ways of not encrypting: `none` (framing kept) and `null` (no layer at all).

use core::ops::Range;

use rand_core::CryptoRng;

use crate::framing::sealed_len;
use crate::{BlockCrypt, OpenError, PacketCipher, SealError};

/// kcptun's `--crypt none`: no encryption, but the random nonce and the CRC32 are still
/// written and checked, so datagrams keep the 20-byte header and corruption is caught.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoneCrypt;

impl BlockCrypt for NoneCrypt {
    fn encrypt(&self, _datagram: &mut [u8]) {}

    fn decrypt(&self, _datagram: &mut [u8]) {}
}

/// No crypto layer (kcp-go with a nil `BlockCrypt`; later kcptun's `--crypt null`): the
/// datagram is the bare payload, with no nonce and no checksum. Not interoperable with
/// [`NoneCrypt`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NullCrypt;

impl PacketCipher for NullCrypt {
    fn header_len(&self) -> usize {
        0
    }

    fn trailer_len(&self) -> usize {
        0
    }

    fn seal<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        _rng: &mut R,
    ) -> Result<usize, SealError> {
        sealed_len(buf.len(), 0, payload_len, 0)
    }

    fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, OpenError> {
        Ok(0..datagram.len())
    }
}
