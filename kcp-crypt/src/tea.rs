//! TEA with 8 cycles, the reduced variant kcp-go runs (`tea.NewCipherWithRounds(key, 16)`,
//! whose round count is in half-cycles).

use cipher::consts::{U1, U8, U16};
use cipher::{
    AlgorithmName, Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt,
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut, Key,
    KeyInit, KeySizeUser, ParBlocksSizeUser,
};
use core::fmt;

/// TEA's key schedule constant.
const DELTA: u32 = 0x9E37_79B9;

/// Cycles (pairs of Feistel rounds) kcp-go runs; standard TEA runs 32.
const CYCLES: u32 = 8;

/// The TEA block cipher reduced to 8 cycles, with big-endian words, as kcp-go's `tea`
/// cipher. Only for talking to kcptun `--crypt tea` peers: 8 cycles are weak.
#[derive(Clone)]
pub struct Tea8 {
    k: [u32; 4],
}

impl KeySizeUser for Tea8 {
    type KeySize = U16;
}

impl KeyInit for Tea8 {
    fn new(key: &Key<Self>) -> Self {
        let mut k = [0u32; 4];
        for (word, bytes) in k.iter_mut().zip(key.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Self { k }
    }
}

impl BlockSizeUser for Tea8 {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for Tea8 {
    type ParBlocksSize = U1;
}

fn load(block: &Block<Tea8>) -> (u32, u32) {
    (
        u32::from_be_bytes([block[0], block[1], block[2], block[3]]),
        u32::from_be_bytes([block[4], block[5], block[6], block[7]]),
    )
}

fn store(block: &mut Block<Tea8>, v0: u32, v1: u32) {
    block[..4].copy_from_slice(&v0.to_be_bytes());
    block[4..].copy_from_slice(&v1.to_be_bytes());
}

impl BlockCipherEncBackend for Tea8 {
    #[inline]
    fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let (mut v0, mut v1) = load(block.get_in());
        let [k0, k1, k2, k3] = self.k;
        let mut sum = 0u32;
        for _ in 0..CYCLES {
            sum = sum.wrapping_add(DELTA);
            v0 = v0.wrapping_add(
                ((v1 << 4).wrapping_add(k0)) ^ v1.wrapping_add(sum) ^ ((v1 >> 5).wrapping_add(k1)),
            );
            v1 = v1.wrapping_add(
                ((v0 << 4).wrapping_add(k2)) ^ v0.wrapping_add(sum) ^ ((v0 >> 5).wrapping_add(k3)),
            );
        }
        store(block.get_out(), v0, v1);
    }
}

impl BlockCipherDecBackend for Tea8 {
    #[inline]
    fn decrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let (mut v0, mut v1) = load(block.get_in());
        let [k0, k1, k2, k3] = self.k;
        let mut sum = DELTA.wrapping_mul(CYCLES);
        for _ in 0..CYCLES {
            v1 = v1.wrapping_sub(
                ((v0 << 4).wrapping_add(k2)) ^ v0.wrapping_add(sum) ^ ((v0 >> 5).wrapping_add(k3)),
            );
            v0 = v0.wrapping_sub(
                ((v1 << 4).wrapping_add(k0)) ^ v1.wrapping_add(sum) ^ ((v1 >> 5).wrapping_add(k1)),
            );
            sum = sum.wrapping_sub(DELTA);
        }
        store(block.get_out(), v0, v1);
    }
}

impl BlockCipherEncrypt for Tea8 {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl BlockCipherDecrypt for Tea8 {
    fn decrypt_with_backend(&self, f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl AlgorithmName for Tea8 {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TEA-8")
    }
}

impl fmt::Debug for Tea8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tea8 { .. }")
    }
}
