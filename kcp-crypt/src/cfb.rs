//! kcp-go's CFB mode: full-block cipher feedback with a fixed IV over the whole datagram.

use cipher::typenum::Unsigned;
use cipher::{Block, BlockCipherEncrypt, InnerIvInit, KeyInit};

use crate::{BlockCrypt, KCP_GO_IV, KeyError};

/// A block cipher in kcp-go's CFB mode: plain full-block CFB whose IV is the fixed
/// [`KCP_GO_IV`] (its first 8 bytes for 64-bit block ciphers).
///
/// The random nonce at the front of every datagram makes the keystream unique per
/// datagram. Decryption computes the keystream of many blocks at once (the previous
/// ciphertext blocks are all known), which lets AES-NI pipeline; encryption is serial.
/// Use the aliases ([`Aes256Cfb`](crate::Aes256Cfb), ...) or [`Crypt`](crate::Crypt).
#[derive(Clone)]
pub struct Cfb<C: BlockCipherEncrypt> {
    cipher: C,
    iv: Block<C>,
}

impl<C: BlockCipherEncrypt> Cfb<C> {
    /// Wraps a keyed block cipher with a block of 8 or 16 bytes.
    pub fn new(cipher: C) -> Self {
        const { assert!(C::BlockSize::USIZE <= KCP_GO_IV.len()) };
        let mut iv = Block::<C>::default();
        iv.copy_from_slice(&KCP_GO_IV[..C::BlockSize::USIZE]);
        Self { cipher, iv }
    }
}

impl<C: BlockCipherEncrypt + KeyInit> Cfb<C> {
    /// Keys the block cipher with exactly `key` (which must be a length the cipher accepts).
    pub fn new_from_slice(key: &[u8]) -> Result<Self, KeyError> {
        C::new_from_slice(key)
            .map(Self::new)
            .map_err(|_| KeyError::InvalidLength { got: key.len() })
    }
}

impl<C: BlockCipherEncrypt> BlockCrypt for Cfb<C> {
    fn encrypt(&self, datagram: &mut [u8]) {
        cfb_mode::Encryptor::inner_iv_init(&self.cipher, &self.iv).encrypt(datagram);
    }

    fn decrypt(&self, datagram: &mut [u8]) {
        cfb_mode::Decryptor::inner_iv_init(&self.cipher, &self.iv).decrypt(datagram);
    }
}
