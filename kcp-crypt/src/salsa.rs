//! kcp-go's Salsa20 packet cipher.

use cipher::{KeyIvInit, StreamCipher};
use core::fmt;
use salsa20::Salsa20;

use crate::BlockCrypt;

/// Bytes at the front of the datagram that stay in clear and serve as the Salsa20 nonce.
const SALSA_NONCE_LEN: usize = 8;

/// Salsa20/20 as kcp-go frames it: the first 8 bytes of the datagram (half of the random
/// nonce) are the Salsa20 nonce and stay in clear; everything after them is XORed with the
/// keystream from block counter 0. The fastest real cipher on machines without AES-NI.
#[derive(Clone)]
pub struct Salsa20Crypt {
    key: [u8; 32],
}

impl Salsa20Crypt {
    /// Builds the cipher from a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self { key: *key }
    }

    fn apply(&self, datagram: &mut [u8]) {
        // Datagrams shorter than the nonce are left alone (newer kcp-go does the same;
        // framed datagrams are never that short).
        if let Some((nonce, rest)) = datagram.split_first_chunk_mut::<SALSA_NONCE_LEN>() {
            Salsa20::new(&self.key.into(), &(*nonce).into()).apply_keystream(rest);
        }
    }
}

impl BlockCrypt for Salsa20Crypt {
    fn encrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }

    fn decrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }
}

impl fmt::Debug for Salsa20Crypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salsa20Crypt { .. }")
    }
}
