//! `Par4`: hands a block cipher four CFB decryption blocks at once.

use cipher::array::Array;
use cipher::consts::U4;
use cipher::{
    AlgorithmName, Block, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, InOut, KeyInit, KeySizeUser, ParBlocks, ParBlocksSizeUser,
};
use core::fmt;

/// A block cipher whose backend takes four blocks per call, so that the compiler sees the
/// four (independent) encryptions of CFB decryption in one straight run of code and can
/// overlap their table look-ups.
#[derive(Clone)]
pub struct Par4<C> {
    inner: C,
}

impl<C: KeySizeUser> KeySizeUser for Par4<C> {
    type KeySize = C::KeySize;
}

impl<C: KeyInit> KeyInit for Par4<C> {
    fn new(key: &cipher::Key<Self>) -> Self {
        Self { inner: C::new(key) }
    }

    fn new_from_slice(key: &[u8]) -> Result<Self, cipher::InvalidLength> {
        C::new_from_slice(key).map(|inner| Self { inner })
    }
}

impl<C: BlockSizeUser> BlockSizeUser for Par4<C> {
    type BlockSize = C::BlockSize;
}

impl<C: BlockSizeUser> ParBlocksSizeUser for Par4<C> {
    type ParBlocksSize = U4;
}

impl<C: BlockCipherEncrypt> BlockCipherEncBackend for Par4<C> {
    #[inline]
    fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        self.inner.encrypt_block_inout(block);
    }

    #[inline]
    fn encrypt_par_blocks(&self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
        let input: &Array<Block<Self>, U4> = blocks.get_in();
        let mut out = input.clone();
        self.inner.encrypt_blocks(&mut out);
        *blocks.get_out() = out;
    }
}

impl<C: BlockCipherEncrypt> BlockCipherEncrypt for Par4<C> {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl<C: AlgorithmName> AlgorithmName for Par4<C> {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        C::write_alg_name(f)
    }
}
