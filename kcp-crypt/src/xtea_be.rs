//! XTEA with the big-endian word order of Go's `x/crypto/xtea`, on top of the `xtea` crate
//! (which reads key and block words little-endian).

use cipher::consts::{U1, U8, U16};
use cipher::{
    AlgorithmName, Block, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, InOut, Key, KeyInit, KeySizeUser, ParBlocksSizeUser,
};
use core::fmt;

/// Reverses the bytes of each 32-bit word: big-endian words become little-endian ones.
fn swap_words(bytes: &mut [u8]) {
    for word in bytes.chunks_exact_mut(4) {
        word.reverse();
    }
}

/// XTEA (32 cycles) reading key and block as big-endian words, as kcp-go's `xtea` cipher.
///
/// Encryption only: CFB never runs the block cipher backwards.
pub struct XteaBe {
    inner: xtea::Xtea,
}

impl KeySizeUser for XteaBe {
    type KeySize = U16;
}

impl KeyInit for XteaBe {
    fn new(key: &Key<Self>) -> Self {
        let mut le = *key;
        swap_words(&mut le);
        Self {
            inner: xtea::Xtea::new(&le),
        }
    }
}

impl BlockSizeUser for XteaBe {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for XteaBe {
    type ParBlocksSize = U1;
}

impl BlockCipherEncBackend for XteaBe {
    #[inline]
    fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let mut b = block.clone_in();
        swap_words(&mut b);
        BlockCipherEncBackend::encrypt_block(&self.inner, (&mut b).into());
        swap_words(&mut b);
        *block.get_out() = b;
    }
}

impl BlockCipherEncrypt for XteaBe {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl AlgorithmName for XteaBe {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XTEA (big-endian words)")
    }
}

impl fmt::Debug for XteaBe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XteaBe { .. }")
    }
}
