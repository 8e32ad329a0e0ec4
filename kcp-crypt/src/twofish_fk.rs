//! Twofish with fully key-dependent tables: the S-boxes and the MDS matrix are folded into
//! four 256-entry tables at key setup, so a round costs eight table look-ups. The
//! `twofish` crate evaluates the S-boxes with field arithmetic on every block and took 89x
//! as long on kcp-go's benchmark shape (the crate docs have the figures); its output is
//! the reference this is tested against.

use cipher::consts::{U1, U16};
use cipher::{
    AlgorithmName, Block, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, InOut, InvalidLength, Key, KeyInit, KeySizeUser, ParBlocksSizeUser,
};
use core::fmt;

/// The 4-bit permutations t0..t3 that define q0 (Twofish paper, section 4.3.5).
const Q0_T: [[u8; 16]; 4] = [
    [
        0x8, 0x1, 0x7, 0xD, 0x6, 0xF, 0x3, 0x2, 0x0, 0xB, 0x5, 0x9, 0xE, 0xC, 0xA, 0x4,
    ],
    [
        0xE, 0xC, 0xB, 0x8, 0x1, 0x2, 0x3, 0x5, 0xF, 0x4, 0xA, 0x6, 0x7, 0x0, 0x9, 0xD,
    ],
    [
        0xB, 0xA, 0x5, 0xE, 0x6, 0xD, 0x9, 0x0, 0xC, 0x8, 0xF, 0x3, 0x2, 0x4, 0x7, 0x1,
    ],
    [
        0xD, 0x7, 0xF, 0x4, 0x1, 0x2, 0x6, 0xE, 0x9, 0xB, 0x3, 0x0, 0x8, 0x5, 0xC, 0xA,
    ],
];

/// The 4-bit permutations t0..t3 that define q1.
const Q1_T: [[u8; 16]; 4] = [
    [
        0x2, 0x8, 0xB, 0xD, 0xF, 0x7, 0x6, 0xE, 0x3, 0x1, 0x9, 0x4, 0x0, 0xA, 0xC, 0x5,
    ],
    [
        0x1, 0xE, 0x2, 0xB, 0x4, 0xC, 0x3, 0x7, 0x6, 0xD, 0xA, 0x5, 0xF, 0x9, 0x0, 0x8,
    ],
    [
        0x4, 0xC, 0x7, 0x5, 0x1, 0x6, 0x9, 0xA, 0x0, 0xE, 0xD, 0x8, 0x2, 0xB, 0x3, 0xF,
    ],
    [
        0xB, 0x9, 0x5, 0x1, 0xC, 0x3, 0xD, 0xE, 0x6, 0x4, 0x7, 0xF, 0x2, 0x0, 0x8, 0xA,
    ],
];

/// The MDS matrix, over GF(2^8) modulo x^8 + x^6 + x^5 + x^3 + 1.
const MDS: [[u8; 4]; 4] = [
    [0x01, 0xEF, 0x5B, 0x5B],
    [0x5B, 0xEF, 0xEF, 0x01],
    [0xEF, 0x5B, 0x01, 0xEF],
    [0xEF, 0x01, 0xEF, 0x5B],
];
const MDS_POLY: u16 = 0x169;

/// The Reed-Solomon matrix of the key schedule, modulo x^8 + x^6 + x^3 + x^2 + 1.
const RS: [[u8; 8]; 4] = [
    [0x01, 0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E],
    [0xA4, 0x56, 0x82, 0xF3, 0x1E, 0xC6, 0x68, 0xE5],
    [0x02, 0xA1, 0xFC, 0xC1, 0x47, 0xAE, 0x3D, 0x19],
    [0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E, 0x03],
];
const RS_POLY: u16 = 0x14D;

/// Rotates a nibble right by one bit.
const fn ror4(x: u8) -> u8 {
    ((x >> 1) | (x << 3)) & 0xF
}

/// q0 or q1 of one byte, from its nibble permutations.
const fn q_byte(t: &[[u8; 16]; 4], x: u8) -> u8 {
    let (a0, b0) = (x >> 4, x & 0xF);
    let a1 = a0 ^ b0;
    let b1 = a0 ^ ror4(b0) ^ ((a0 << 3) & 0xF);
    let (a2, b2) = (t[0][a1 as usize], t[1][b1 as usize]);
    let a3 = a2 ^ b2;
    let b3 = a2 ^ ror4(b2) ^ ((a2 << 3) & 0xF);
    let (a4, b4) = (t[2][a3 as usize], t[3][b3 as usize]);
    (b4 << 4) | a4
}

const fn q_table(t: &[[u8; 16]; 4]) -> [u8; 256] {
    let mut out = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = q_byte(t, i as u8);
        i += 1;
    }
    out
}

const Q0: [u8; 256] = q_table(&Q0_T);
const Q1: [u8; 256] = q_table(&Q1_T);

/// Multiplication in GF(2^8) modulo `poly`.
const fn gf_mul(mut a: u8, mut b: u8, poly: u16) -> u8 {
    let mut r = 0u8;
    while a != 0 {
        if a & 1 != 0 {
            r ^= b;
        }
        a >>= 1;
        let carry = b & 0x80 != 0;
        b <<= 1;
        if carry {
            b ^= (poly & 0xFF) as u8;
        }
    }
    r
}

/// Column `j` of the MDS matrix times `y`, as a little-endian word.
fn mds_column(j: usize, y: u8) -> u32 {
    let mut z = 0u32;
    for (i, row) in MDS.iter().enumerate() {
        z |= u32::from(gf_mul(row[j], y, MDS_POLY)) << (8 * i);
    }
    z
}

/// The q-box chain byte `j` of the h function runs through, for key words `l`
/// (`l.len()` is k = 2, 3 or 4), before the MDS multiplication.
fn h_byte(j: usize, x: u8, l: &[[u8; 4]]) -> u8 {
    // Which q-box each stage applies to byte j (paper, figure 2), outermost stage last.
    const STAGE4: [bool; 4] = [true, false, false, true]; // true = q1
    const STAGE3: [bool; 4] = [true, true, false, false];
    const STAGE2: [bool; 4] = [false, true, false, true];
    const STAGE1: [bool; 4] = [false, false, true, true];
    const STAGE0: [bool; 4] = [true, false, true, false];
    let q = |one: bool, v: u8| {
        if one {
            Q1[usize::from(v)]
        } else {
            Q0[usize::from(v)]
        }
    };
    let mut y = x;
    if l.len() == 4 {
        y = q(STAGE4[j], y) ^ l[3][j];
    }
    if l.len() >= 3 {
        y = q(STAGE3[j], y) ^ l[2][j];
    }
    y = q(STAGE2[j], y) ^ l[1][j];
    y = q(STAGE1[j], y) ^ l[0][j];
    q(STAGE0[j], y)
}

/// The h function of the key schedule.
fn h(x: u32, l: &[[u8; 4]]) -> u32 {
    let b = x.to_le_bytes();
    (0..4).fold(0, |z, j| z ^ mds_column(j, h_byte(j, b[j], l)))
}

/// Twofish (128-, 192- or 256-bit keys) with fully key-dependent tables, encryption only
/// (CFB never runs the block cipher backwards). 4 KiB of tables per key.
#[derive(Clone)]
pub struct Twofish {
    k: [u32; 40],
    t: [[u32; 256]; 4],
}

impl Twofish {
    #[inline(always)]
    fn g(&self, x: u32) -> u32 {
        let b = x.to_le_bytes();
        self.t[0][usize::from(b[0])]
            ^ self.t[1][usize::from(b[1])]
            ^ self.t[2][usize::from(b[2])]
            ^ self.t[3][usize::from(b[3])]
    }
}

impl KeySizeUser for Twofish {
    type KeySize = U16;
}

impl KeyInit for Twofish {
    fn new(key: &Key<Self>) -> Self {
        Self::new_from_slice(key).unwrap_or_else(|_| unreachable!("16 bytes is a Twofish key"))
    }

    fn new_from_slice(key: &[u8]) -> Result<Self, InvalidLength> {
        if !matches!(key.len(), 16 | 24 | 32) {
            return Err(InvalidLength);
        }
        let k = key.len() / 8;
        let mut even = [[0u8; 4]; 4];
        let mut odd = [[0u8; 4]; 4];
        let mut s = [[0u8; 4]; 4];
        for i in 0..k {
            even[i].copy_from_slice(&key[8 * i..8 * i + 4]);
            odd[i].copy_from_slice(&key[8 * i + 4..8 * i + 8]);
            // The S-box key words, in reverse order.
            for (row, out) in RS.iter().zip(s[k - 1 - i].iter_mut()) {
                *out = row
                    .iter()
                    .zip(&key[8 * i..8 * i + 8])
                    .fold(0, |acc, (&r, &m)| acc ^ gf_mul(r, m, RS_POLY));
            }
        }
        let mut subkeys = [0u32; 40];
        for i in 0..20u32 {
            let a = h(i * 2 * 0x0101_0101, &even[..k]);
            let b = h((i * 2 + 1) * 0x0101_0101, &odd[..k]).rotate_left(8);
            subkeys[2 * i as usize] = a.wrapping_add(b);
            subkeys[2 * i as usize + 1] = a.wrapping_add(b.wrapping_mul(2)).rotate_left(9);
        }
        let mut t = [[0u32; 256]; 4];
        for (j, table) in t.iter_mut().enumerate() {
            for (x, entry) in table.iter_mut().enumerate() {
                *entry = mds_column(j, h_byte(j, x as u8, &s[..k]));
            }
        }
        Ok(Self { k: subkeys, t })
    }
}

impl BlockSizeUser for Twofish {
    type BlockSize = U16;
}

impl ParBlocksSizeUser for Twofish {
    type ParBlocksSize = U1;
}

impl BlockCipherEncBackend for Twofish {
    #[inline]
    fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let input = block.get_in();
        let mut r = [0u32; 4];
        for (i, word) in r.iter_mut().enumerate() {
            let b = &input[4 * i..4 * i + 4];
            *word = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) ^ self.k[i];
        }
        let [mut r0, mut r1, mut r2, mut r3] = r;
        for round in (0..16).step_by(2) {
            let k = 8 + 2 * round;
            let t0 = self.g(r0);
            let t1 = self.g(r1.rotate_left(8));
            r2 = (r2 ^ t0.wrapping_add(t1).wrapping_add(self.k[k])).rotate_right(1);
            r3 = r3.rotate_left(1)
                ^ t0.wrapping_add(t1.wrapping_mul(2))
                    .wrapping_add(self.k[k + 1]);
            let t0 = self.g(r2);
            let t1 = self.g(r3.rotate_left(8));
            r0 = (r0 ^ t0.wrapping_add(t1).wrapping_add(self.k[k + 2])).rotate_right(1);
            r1 = r1.rotate_left(1)
                ^ t0.wrapping_add(t1.wrapping_mul(2))
                    .wrapping_add(self.k[k + 3]);
        }
        let out = [
            r2 ^ self.k[4],
            r3 ^ self.k[5],
            r0 ^ self.k[6],
            r1 ^ self.k[7],
        ];
        let output = block.get_out();
        for (i, word) in out.iter().enumerate() {
            output[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
}

impl BlockCipherEncrypt for Twofish {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self);
    }
}

impl AlgorithmName for Twofish {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Twofish")
    }
}

impl fmt::Debug for Twofish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Twofish { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::Twofish;
    use cipher::{BlockCipherEncrypt, KeyInit};

    #[test]
    fn matches_the_twofish_crate() {
        let mut next = crate::test_rng::bytes(0x1234_5678_9ABC_DEF0u64);
        for key_len in [16, 24, 32] {
            for _ in 0..crate::test_rng::trials(20) {
                let key: [u8; 32] = core::array::from_fn(|_| next());
                let ours = Twofish::new_from_slice(&key[..key_len]).unwrap();
                let reference = twofish::Twofish::new_from_slice(&key[..key_len]).unwrap();
                for _ in 0..5 {
                    let plain: [u8; 16] = core::array::from_fn(|_| next());
                    let (mut a, mut b) = (plain.into(), plain.into());
                    ours.encrypt_block(&mut a);
                    reference.encrypt_block(&mut b);
                    assert_eq!(a, b, "key length {key_len}");
                }
            }
        }
        assert!(Twofish::new_from_slice(&[0; 20]).is_err());
    }
}
