//! The TEA family with Go's big-endian word order: TEA reduced to 8 cycles as kcp-go runs
//! it (`tea.NewCipherWithRounds(key, 16)`, whose round count is in half-cycles), and XTEA.
//!
//! Both run four blocks side by side when CFB decryption hands them several (the lanes
//! are plain arrays the compiler keeps in SIMD registers: the ciphers need only shifts,
//! adds and XORs).

use cipher::array::Array;
use cipher::consts::{U4, U8, U16};
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

/// XTEA's cycles.
const XTEA_CYCLES: usize = 32;

/// Blocks processed side by side.
const LANES: usize = 4;

/// One 32-bit half of each of four blocks.
type Lanes = [u32; LANES];

/// A 16-byte key as four big-endian words.
fn key_words(key: &Key<Tea8>) -> [u32; 4] {
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
fn one_block(mut block: InOut<'_, '_, Block<Tea8>>, cipher: impl Fn(&mut u32, &mut u32)) {
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
pub struct Tea8 {
    k: [u32; 4],
}

impl Tea8 {
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

impl KeySizeUser for Tea8 {
    type KeySize = U16;
}

impl KeyInit for Tea8 {
    fn new(key: &Key<Self>) -> Self {
        Self { k: key_words(key) }
    }
}

impl BlockSizeUser for Tea8 {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for Tea8 {
    type ParBlocksSize = U4;
}

impl BlockCipherEncBackend for Tea8 {
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

/// Block decryption: CFB never needs it, but it makes `Tea8` a complete block cipher.
impl BlockCipherDecBackend for Tea8 {
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

/// XTEA (32 cycles) reading key and block as big-endian words, as Go's `x/crypto/xtea`
/// and so kcp-go's `xtea` cipher. Encryption only: CFB never runs the block cipher
/// backwards.
#[derive(Clone)]
pub struct XteaBe {
    /// Per cycle, the two subkeys (`sum + key word`) of its two half-rounds.
    rk: [[u32; 2]; XTEA_CYCLES],
}

impl KeySizeUser for XteaBe {
    type KeySize = U16;
}

impl KeyInit for XteaBe {
    fn new(key: &Key<Self>) -> Self {
        let k = key_words(key);
        let mut sum = 0u32;
        let rk = core::array::from_fn(|_| {
            let first = sum.wrapping_add(k[(sum & 3) as usize]);
            sum = sum.wrapping_add(DELTA);
            [first, sum.wrapping_add(k[((sum >> 11) & 3) as usize])]
        });
        Self { rk }
    }
}

impl BlockSizeUser for XteaBe {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for XteaBe {
    type ParBlocksSize = U4;
}

/// XTEA's mixing function of one half.
#[inline(always)]
fn xtea_f(v: u32) -> u32 {
    ((v << 4) ^ (v >> 5)).wrapping_add(v)
}

impl BlockCipherEncBackend for XteaBe {
    #[inline]
    fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        one_block(block, |v0, v1| {
            for [a, b] in &self.rk {
                *v0 = v0.wrapping_add(xtea_f(*v1) ^ a);
                *v1 = v1.wrapping_add(xtea_f(*v0) ^ b);
            }
        });
    }

    #[inline]
    fn encrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        four_blocks(blocks, |v0, v1| {
            for [a, b] in &self.rk {
                for i in 0..LANES {
                    v0[i] = v0[i].wrapping_add(xtea_f(v1[i]) ^ a);
                }
                for i in 0..LANES {
                    v1[i] = v1[i].wrapping_add(xtea_f(v0[i]) ^ b);
                }
            }
        });
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

#[cfg(test)]
mod tests {
    use super::{Tea8, XteaBe};
    use cipher::{Array, BlockCipherEncrypt, KeyInit};

    /// Reverses the bytes of each 32-bit word (big-endian words to little-endian ones).
    fn swap_words<const N: usize>(mut bytes: [u8; N]) -> [u8; N] {
        for word in bytes.chunks_exact_mut(4) {
            word.reverse();
        }
        bytes
    }

    #[test]
    fn xtea_matches_the_xtea_crate_with_swapped_words() {
        // The xtea crate reads little-endian words; Go (and kcp-go) big-endian ones.
        let mut next = crate::test_rng::bytes(0xA5A5_5A5A_1234_4321);
        for _ in 0..50 {
            let key: [u8; 16] = core::array::from_fn(|_| next());
            let ours = XteaBe::new(&key.into());
            let reference = xtea::Xtea::new(&swap_words(key).into());
            let plain: [[u8; 8]; 4] = core::array::from_fn(|_| core::array::from_fn(|_| next()));
            let mut one = Array::from(plain[0]);
            ours.encrypt_block(&mut one);
            let mut four: [Array<u8, _>; 4] = plain.map(Array::from);
            ours.encrypt_blocks(&mut four);
            for (p, c) in plain.iter().zip(&four) {
                let mut r = Array::from(swap_words(*p));
                reference.encrypt_block(&mut r);
                let r: [u8; 8] = r.into();
                assert_eq!(c.as_slice(), swap_words(r));
            }
            assert_eq!(one, four[0]);
        }
    }

    #[test]
    fn tea_lanes_match_single_blocks() {
        use cipher::BlockCipherDecrypt;
        let mut next = crate::test_rng::bytes(0x0BAD_F00D_DEAD_BEEF);
        for _ in 0..50 {
            let key: [u8; 16] = core::array::from_fn(|_| next());
            let tea = Tea8::new(&key.into());
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
