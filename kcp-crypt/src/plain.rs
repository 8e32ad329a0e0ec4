//! The two ways of not encrypting: `none` (framing kept) and `null` (no layer at all).
//! Neither hides or protects anything: both are for trusted links and for tests.

use core::ops::Range;

use rand_core::CryptoRng;

use crate::framing::sealed_len;
use crate::{BlockCrypt, OpenError, PacketCipher, SealError};

/// kcptun's `--crypt none`: no encryption; the random nonce and the CRC32 are still
/// written and checked, so datagrams keep kcp-go's 20-byte header.
///
/// The CRC32 catches accidental corruption only. It has no key: anyone on the path can
/// read the payload, change it, and write the matching CRC, and the datagram opens. Use it
/// to talk to a kcptun `--crypt none` peer over a link you trust.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoneCrypt;

impl BlockCrypt for NoneCrypt {
    fn encrypt(&self, _datagram: &mut [u8]) {}

    fn decrypt(&self, _datagram: &mut [u8]) {}
}

/// No crypto layer (kcp-go with a nil `BlockCrypt`; later kcptun's `--crypt null`): the
/// datagram is the bare payload, with no nonce and no checksum, so
/// [`open`](PacketCipher::open) accepts anything. Not interoperable with [`NoneCrypt`].
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
