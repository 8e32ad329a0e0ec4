//! The TEA family with Go's big-endian word order: TEA reduced to 8 cycles as kcp-go runs
//! it (`tea.NewCipherWithRounds(key, 16)`, whose round count is in half-cycles), which no
//! crate offers, and XTEA on the `xtea` crate.
//!
//! TEA runs four blocks side by side when CFB decryption hands it several (the lanes are
//! plain arrays the compiler keeps in SIMD registers: the cipher needs only shifts, adds
//! and XORs).

use cipher::array::Array;
use cipher::consts::{U1, U4, U8, U16};
use cipher::{
    AlgorithmName, Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt,
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut, Key,
    KeyInit, KeySizeUser, ParBlocks, ParBlocksSizeUser,
};
use core::fmt;

/// The key schedule constant of both ciphers.
const DELTA: u32 = 0x9E37_79B9;

/// Cycles (pairs of Feistel rounds) kcp-go runs TEA for; standard TEA runs 32.
const TEA_CYCLES: u32 = 8;

/// Blocks processed side by side.
const LANES: usize = 4;

/// One 32-bit half of each of four blocks.
type Lanes = [u32; LANES];

/// A 16-byte key as four big-endian words.
fn key_words(key: &Key<Tea>) -> [u32; 4] {
    core::array::from_fn(|i| {
        u32::from_be_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]])
    })
}

/// Runs `cipher` on the two big-endian halves of each of four 8-byte blocks.
#[inline(always)]
fn four_blocks(
    mut blocks: InOut<'_, '_, Array<Array<u8, U8>, U4>>,
    cipher: impl Fn(&mut Lanes, &mut Lanes),
) {
    let input = blocks.get_in();
    let half = |i: usize, at: usize| {
        let b = &input[i];
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    };
    let mut v0: Lanes = core::array::from_fn(|i| half(i, 0));
    let mut v1: Lanes = core::array::from_fn(|i| half(i, 4));
    cipher(&mut v0, &mut v1);
    for (i, out) in blocks.get_out().iter_mut().enumerate() {
        out[..4].copy_from_slice(&v0[i].to_be_bytes());
        out[4..].copy_from_slice(&v1[i].to_be_bytes());
    }
}

/// Runs `cipher` on the two big-endian halves of one 8-byte block.
#[inline(always)]
fn one_block(mut block: InOut<'_, '_, Block<Tea>>, cipher: impl Fn(&mut u32, &mut u32)) {
    let b = block.get_in();
    let mut v0 = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut v1 = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    cipher(&mut v0, &mut v1);
    let out = block.get_out();
    out[..4].copy_from_slice(&v0.to_be_bytes());
    out[4..].copy_from_slice(&v1.to_be_bytes());
}

/// The TEA block cipher reduced to 8 cycles, with big-endian words, as kcp-go's `tea`
/// cipher. Only for talking to kcptun `--crypt tea` peers: 8 cycles are weak.
#[derive(Clone)]
pub struct Tea {
    k: [u32; 4],
}

impl Tea {
    #[inline(always)]
    fn encrypt_halves(&self, v0: &mut u32, v1: &mut u32) {
        let [k0, k1, k2, k3] = self.k;
        let mut sum = 0u32;
        for _ in 0..TEA_CYCLES {
            sum = sum.wrapping_add(DELTA);
            let y = *v1;
            *v0 = v0.wrapping_add(
                ((y << 4).wrapping_add(k0)) ^ y.wrapping_add(sum) ^ ((y >> 5).wrapping_add(k1)),
            );
            let z = *v0;
            *v1 = v1.wrapping_add(
                ((z << 4).wrapping_add(k2)) ^ z.wrapping_add(sum) ^ ((z >> 5).wrapping_add(k3)),
            );
        }
    }
}

impl KeySizeUser for Tea {
    type KeySize = U16;
}

impl KeyInit for Tea {
    fn new(key: &Key<Self>) -> Self {
        Self { k: key_words(key) }
    }
}

impl BlockSizeUser for Tea {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for Tea {
    type ParBlocksSize = U4;
}

impl BlockCipherEncBackend for Tea {
    #[inline]
    fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        one_block(block, |v0, v1| self.encrypt_halves(v0, v1));
    }

    #[inline]
    fn encrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        four_blocks(blocks, |v0, v1| {
            let [k0, k1, k2, k3] = self.k;
            let mut sum = 0u32;
            for _ in 0..TEA_CYCLES {
                sum = sum.wrapping_add(DELTA);
                for i in 0..LANES {
                    let y = v1[i];
                    v0[i] = v0[i].wrapping_add(
                        ((y << 4).wrapping_add(k0))
                            ^ y.wrapping_add(sum)
                            ^ ((y >> 5).wrapping_add(k1)),
                    );
                }
                for i in 0..LANES {
                    let z = v0[i];
                    v1[i] = v1[i].wrapping_add(
                        ((z << 4).wrapping_add(k2))
                            ^ z.wrapping_add(sum)
                            ^ ((z >> 5).wrapping_add(k3)),
                    );
                }
            }
        });
    }
}

/// Block decryption: CFB never needs it, but it makes `Tea` a complete block cipher.
impl BlockCipherDecBackend for Tea {
    #[inline]
    fn decrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        let [k0, k1, k2, k3] = self.k;
        one_block(block, |v0, v1| {
            let mut sum = DELTA.wrapping_mul(TEA_CYCLES);
            for _ in 0..TEA_CYCLES {
                let z = *v0;
                *v1 = v1.wrapping_sub(
                    ((z << 4).wrapping_add(k2)) ^ z.wrapping_add(sum) ^ ((z >> 5).wrapping_add(k3)),
                );
                let y = *v1;
                *v0 = v0.wrapping_sub(
                    ((y << 4).wrapping_add(k0)) ^ y.wrapping_add(sum) ^ ((y >> 5).wrapping_add(k1)),
                );
                sum = sum.wrapping_sub(DELTA);
            }
        });
    }
}

impl BlockCipherEncrypt for Tea {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl BlockCipherDecrypt for Tea {
    fn decrypt_with_backend(&self, f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl AlgorithmName for Tea {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TEA-8")
    }
}

impl fmt::Debug for Tea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tea { .. }")
    }
}

/// XTEA (32 cycles) reading key and block as big-endian words, as Go's `x/crypto/xtea`
/// and so kcp-go's `xtea` cipher: the `xtea` crate (which reads little-endian words) with
/// the bytes of every word reversed on the way in and out. Encryption only: CFB never
/// runs the block cipher backwards.
pub struct Xtea(xtea::Xtea);

/// Reverses the bytes of each 32-bit word: big-endian words to little-endian ones.
#[inline(always)]
fn swap_words(bytes: &mut [u8]) {
    for word in bytes.chunks_exact_mut(4) {
        word.reverse();
    }
}

impl KeySizeUser for Xtea {
    type KeySize = U16;
}

impl KeyInit for Xtea {
    fn new(key: &Key<Self>) -> Self {
        let mut key = *key;
        swap_words(&mut key);
        Self(xtea::Xtea::new(&key))
    }
}

impl BlockSizeUser for Xtea {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for Xtea {
    type ParBlocksSize = U1;
}

impl BlockCipherEncBackend for Xtea {
    #[inline]
    fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let mut b = block.clone_in();
        swap_words(&mut b);
        BlockCipherEncrypt::encrypt_block(&self.0, &mut b);
        swap_words(&mut b);
        *block.get_out() = b;
    }
}

impl BlockCipherEncrypt for Xtea {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl AlgorithmName for Xtea {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XTEA (big-endian words)")
    }
}

impl fmt::Debug for Xtea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Xtea { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::{Tea, Xtea};
    use cipher::{Array, BlockCipherEncrypt, KeyInit};

    /// XTEA as its authors published it (Needham and Wheeler, 1997), on Go's big-endian
    /// words: the reference `Xtea` is checked against.
    fn xtea_reference(key: &[u8; 16], block: [u8; 8]) -> [u8; 8] {
        let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let k: [u32; 4] = core::array::from_fn(|i| word(&key[4 * i..]));
        let (mut v0, mut v1) = (word(&block[..4]), word(&block[4..]));
        let mut sum = 0u32;
        for _ in 0..32 {
            v0 = v0.wrapping_add(
                (((v1 << 4) ^ (v1 >> 5)).wrapping_add(v1))
                    ^ sum.wrapping_add(k[(sum & 3) as usize]),
            );
            sum = sum.wrapping_add(super::DELTA);
            v1 = v1.wrapping_add(
                (((v0 << 4) ^ (v0 >> 5)).wrapping_add(v0))
                    ^ sum.wrapping_add(k[((sum >> 11) & 3) as usize]),
            );
        }
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&v0.to_be_bytes());
        out[4..].copy_from_slice(&v1.to_be_bytes());
        out
    }

    #[test]
    fn xtea_reads_big_endian_words() {
        let mut next = crate::test_rng::bytes(0xA5A5_5A5A_1234_4321);
        for _ in 0..crate::test_rng::trials(50) {
            let key: [u8; 16] = core::array::from_fn(|_| next());
            let ours = Xtea::new(&key.into());
            for _ in 0..4 {
                let plain: [u8; 8] = core::array::from_fn(|_| next());
                let mut block = Array::from(plain);
                ours.encrypt_block(&mut block);
                assert_eq!(block, xtea_reference(&key, plain));
            }
        }
    }

    #[test]
    fn tea_lanes_match_single_blocks() {
        use cipher::BlockCipherDecrypt;
        let mut next = crate::test_rng::bytes(0x0BAD_F00D_DEAD_BEEF);
        for _ in 0..crate::test_rng::trials(50) {
            let key: [u8; 16] = core::array::from_fn(|_| next());
            let tea = Tea::new(&key.into());
            let plain: [[u8; 8]; 4] = core::array::from_fn(|_| core::array::from_fn(|_| next()));
            let mut four: [Array<u8, _>; 4] = plain.map(Array::from);
            tea.encrypt_blocks(&mut four);
            for (p, c) in plain.iter().zip(&four) {
                let mut one = Array::from(*p);
                tea.encrypt_block(&mut one);
                assert_eq!(&one, c);
                tea.decrypt_block(&mut one);
                assert_eq!(one.as_slice(), p);
            }
        }
    }
}
