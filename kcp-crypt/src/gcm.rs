//! AES-128-GCM with the AEAD framing of kcp-go 5.6.49 and later.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use core::fmt;
use core::ops::Range;
use rand_core::CryptoRng;

use crate::framing::sealed_len;
use crate::{AEAD_NONCE_LEN, AEAD_TAG_LEN, OpenError, PacketCipher, SealError};

/// kcptun's `aes-128-gcm`: a random 12-byte nonce, then the AES-128-GCM ciphertext of the
/// payload (empty associated data), then the 16-byte tag. No CRC: the tag authenticates.
///
/// Understood by kcp-go 5.6.49 and later only; a kcp-go 5.6.1 peer cannot talk to it.
#[derive(Clone)]
pub struct Aes128GcmCrypt {
    aead: Aes128Gcm,
}

impl Aes128GcmCrypt {
    /// Builds the cipher from a 16-byte key.
    pub fn new(key: &[u8; 16]) -> Self {
        Self {
            aead: Aes128Gcm::new(&(*key).into()),
        }
    }
}

impl PacketCipher for Aes128GcmCrypt {
    fn header_len(&self) -> usize {
        AEAD_NONCE_LEN
    }

    fn trailer_len(&self) -> usize {
        AEAD_TAG_LEN
    }

    fn seal<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        rng: &mut R,
    ) -> Result<usize, SealError> {
        let len = sealed_len(buf.len(), AEAD_NONCE_LEN, payload_len, AEAD_TAG_LEN)?;
        let (nonce, rest) = buf[..len].split_at_mut(AEAD_NONCE_LEN);
        let (payload, tag_out) = rest.split_at_mut(payload_len);
        rng.fill_bytes(nonce);
        let nonce = Nonce::try_from(&*nonce).map_err(|_| SealError::PayloadTooLong)?;
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce, &[], payload.into())
            .map_err(|_| SealError::PayloadTooLong)?;
        tag_out.copy_from_slice(&tag);
        Ok(len)
    }

    fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, OpenError> {
        let len = datagram.len();
        if len < AEAD_NONCE_LEN + AEAD_TAG_LEN {
            return Err(OpenError::TooShort);
        }
        let (nonce, rest) = datagram.split_at_mut(AEAD_NONCE_LEN);
        let (payload, tag) = rest.split_at_mut(rest.len() - AEAD_TAG_LEN);
        let nonce = Nonce::try_from(&*nonce).map_err(|_| OpenError::TooShort)?;
        let tag = Tag::try_from(&*tag).map_err(|_| OpenError::TooShort)?;
        self.aead
            .decrypt_inout_detached(&nonce, &[], payload.into(), &tag)
            .map_err(|_| OpenError::AeadFailure)?;
        Ok(AEAD_NONCE_LEN..len - AEAD_TAG_LEN)
    }
}

impl fmt::Debug for Aes128GcmCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Aes128GcmCrypt { .. }")
    }
}
