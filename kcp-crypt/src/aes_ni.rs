//! AES in kcp-go's CFB mode on AES-NI, with the round keys and the feedback block kept in
//! registers. Going through the `aes` crate costs a call and a store/load round trip per
//! block on CFB's serial encryption chain; decryption here runs eight blocks through the
//! AES units at once (their keystream is the previous ciphertext, known up front). The
//! `aes` crate with `cfb-mode` is the fallback on CPUs without AES-NI and the reference
//! this is tested against.

use cipher::{BlockCipherEncrypt, KeyInit};
use core::fmt;

use crate::{BlockCrypt, Cfb, KeyError};

cpufeatures::new!(cpuid_aes, "aes");

/// The AES S-box, computed from its definition: the multiplicative inverse in GF(2^8)
/// (modulo x^8 + x^4 + x^3 + x + 1) followed by the affine map.
const SBOX: [u8; 256] = {
    const fn mul(mut a: u8, mut b: u8) -> u8 {
        let mut r = 0;
        while b != 0 {
            if b & 1 != 0 {
                r ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1B;
            }
            b >>= 1;
        }
        r
    }
    let mut sbox = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        // x^254 is the inverse of x (and maps 0 to 0).
        let mut inv = 1u8;
        let mut i = 0;
        while i < 254 {
            inv = mul(inv, x as u8);
            i += 1;
        }
        let b = inv;
        sbox[x] =
            b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63;
        x += 1;
    }
    sbox
};

/// Most round keys AES uses (AES-256: 14 rounds + 1).
const MAX_ROUND_KEYS: usize = 15;

/// The FIPS 197 key expansion: `rounds + 1` round keys of 16 bytes.
fn expand_key(key: &[u8]) -> [[u8; 16]; MAX_ROUND_KEYS] {
    let nk = key.len() / 4;
    let rounds = nk + 6;
    let mut w = [[0u8; 4]; 4 * MAX_ROUND_KEYS];
    for (word, bytes) in w.iter_mut().zip(key.chunks_exact(4)) {
        word.copy_from_slice(bytes);
    }
    let mut rcon = 1u8;
    for i in nk..4 * (rounds + 1) {
        let mut t = w[i - 1];
        if i % nk == 0 {
            t = [
                SBOX[usize::from(t[1])] ^ rcon,
                SBOX[usize::from(t[2])],
                SBOX[usize::from(t[3])],
                SBOX[usize::from(t[0])],
            ];
            rcon = (rcon << 1) ^ if rcon & 0x80 != 0 { 0x1B } else { 0 };
        } else if nk > 6 && i % nk == 4 {
            t = t.map(|b| SBOX[usize::from(b)]);
        }
        for (j, byte) in t.iter().enumerate() {
            w[i][j] = w[i - nk][j] ^ byte;
        }
    }
    let mut round_keys = [[0u8; 16]; MAX_ROUND_KEYS];
    for (rk, words) in round_keys.iter_mut().zip(w.chunks_exact(4)) {
        for (out, word) in rk.chunks_exact_mut(4).zip(words) {
            out.copy_from_slice(word);
        }
    }
    round_keys
}

/// The AES-NI encryption loop.
#[allow(unsafe_code)]
mod ni {
    use core::arch::x86_64::{
        __m128i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_loadu_si128, _mm_storeu_si128,
        _mm_xor_si128,
    };

    use super::MAX_ROUND_KEYS;

    #[target_feature(enable = "aes")]
    #[inline]
    fn load(bytes: &[u8]) -> __m128i {
        let bytes = &bytes[..16];
        // SAFETY: `bytes` is 16 readable bytes, and loadu has no alignment requirement.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    #[target_feature(enable = "aes")]
    #[inline]
    fn store(v: __m128i, out: &mut [u8]) {
        let out = &mut out[..16];
        // SAFETY: `out` is 16 writable bytes, and storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) }
    }

    /// The first `tail.len()` (< 16) bytes of `keystream` XORed into `tail`.
    #[target_feature(enable = "aes")]
    #[inline]
    fn xor_tail(keystream: __m128i, tail: &mut [u8]) {
        let mut bytes = [0u8; 16];
        store(keystream, &mut bytes);
        for (byte, key) in tail.iter_mut().zip(bytes) {
            *byte ^= key;
        }
    }

    /// Encrypts `N` independent blocks with `ROUNDS`-round AES, interleaved so the AES
    /// unit pipelines them.
    #[target_feature(enable = "aes")]
    #[inline]
    fn encrypt_n<const ROUNDS: usize, const N: usize>(
        rk: &[__m128i; MAX_ROUND_KEYS],
        blocks: [__m128i; N],
    ) -> [__m128i; N] {
        let mut s = blocks.map(|b| _mm_xor_si128(b, rk[0]));
        for key in &rk[1..ROUNDS] {
            s = s.map(|b| _mm_aesenc_si128(b, *key));
        }
        s.map(|b| _mm_aesenclast_si128(b, rk[ROUNDS]))
    }

    /// CFB-decrypts `data` in place with `ROUNDS`-round AES, IV `iv`.
    ///
    /// # Safety
    /// The CPU must have AES-NI.
    #[target_feature(enable = "aes")]
    pub(super) fn cfb_decrypt<const ROUNDS: usize>(
        keys: &[[u8; 16]; MAX_ROUND_KEYS],
        iv: &[u8; 16],
        data: &mut [u8],
    ) {
        const PAR: usize = 8;
        let rk: [__m128i; MAX_ROUND_KEYS] = core::array::from_fn(|i| load(&keys[i]));
        let mut feedback = load(iv);
        let mut batches = data.chunks_exact_mut(16 * PAR);
        for batch in &mut batches {
            let cipher: [__m128i; PAR] = core::array::from_fn(|i| load(&batch[16 * i..]));
            let inputs = core::array::from_fn(|i| if i == 0 { feedback } else { cipher[i - 1] });
            let keystream = encrypt_n::<ROUNDS, PAR>(&rk, inputs);
            for (i, out) in batch.chunks_exact_mut(16).enumerate() {
                store(_mm_xor_si128(keystream[i], cipher[i]), out);
            }
            feedback = cipher[PAR - 1];
        }
        let mut blocks = batches.into_remainder().chunks_exact_mut(16);
        for block in &mut blocks {
            let cipher = load(block);
            let [keystream] = encrypt_n::<ROUNDS, 1>(&rk, [feedback]);
            store(_mm_xor_si128(keystream, cipher), block);
            feedback = cipher;
        }
        let [keystream] = encrypt_n::<ROUNDS, 1>(&rk, [feedback]);
        xor_tail(keystream, blocks.into_remainder());
    }

    /// CFB-encrypts `data` in place with `ROUNDS`-round AES, IV `iv`.
    ///
    /// # Safety
    /// The CPU must have AES-NI.
    #[target_feature(enable = "aes")]
    pub(super) fn cfb_encrypt<const ROUNDS: usize>(
        keys: &[[u8; 16]; MAX_ROUND_KEYS],
        iv: &[u8; 16],
        data: &mut [u8],
    ) {
        let rk: [__m128i; MAX_ROUND_KEYS] = core::array::from_fn(|i| load(&keys[i]));
        let mut feedback = load(iv);
        let mut blocks = data.chunks_exact_mut(16);
        for block in &mut blocks {
            let [keystream] = encrypt_n::<ROUNDS, 1>(&rk, [feedback]);
            feedback = _mm_xor_si128(keystream, load(block));
            store(feedback, block);
        }
        let [keystream] = encrypt_n::<ROUNDS, 1>(&rk, [feedback]);
        xor_tail(keystream, blocks.into_remainder());
    }
}

/// AES (128, 192 or 256) in kcp-go's CFB mode: AES-NI with the keys in registers when the
/// CPU has it (encryption serial, decryption eight blocks at a time), `cfb-mode` over the
/// `aes` crate otherwise.
#[derive(Clone)]
pub struct AesCfb<C: BlockCipherEncrypt> {
    fallback: Cfb<C>,
    /// Expanded key, when this CPU has AES-NI (detected once, at construction).
    ni: Option<[[u8; 16]; MAX_ROUND_KEYS]>,
    rounds: usize,
}

impl<C: BlockCipherEncrypt + KeyInit> AesCfb<C> {
    /// Keys the cipher with a 16-, 24- or 32-byte key (the one `C` takes).
    pub fn new_from_slice(key: &[u8]) -> Result<Self, KeyError> {
        let fallback = Cfb::<C>::new_from_slice(key)?;
        let ni = cpuid_aes::get().then(|| expand_key(key));
        Ok(Self {
            fallback,
            ni,
            rounds: key.len() / 4 + 6,
        })
    }
}

impl<C: BlockCipherEncrypt> BlockCrypt for AesCfb<C> {
    #[allow(unsafe_code)]
    fn encrypt(&self, datagram: &mut [u8]) {
        let Some(keys) = &self.ni else {
            return self.fallback.encrypt(datagram);
        };
        let iv = &crate::KCP_GO_IV;
        // SAFETY: `ni` is only set when AES-NI was detected on this CPU.
        unsafe {
            match self.rounds {
                10 => ni::cfb_encrypt::<10>(keys, iv, datagram),
                12 => ni::cfb_encrypt::<12>(keys, iv, datagram),
                _ => ni::cfb_encrypt::<14>(keys, iv, datagram),
            }
        }
    }

    #[allow(unsafe_code)]
    fn decrypt(&self, datagram: &mut [u8]) {
        let Some(keys) = &self.ni else {
            return self.fallback.decrypt(datagram);
        };
        let iv = &crate::KCP_GO_IV;
        // SAFETY: `ni` is only set when AES-NI was detected on this CPU.
        unsafe {
            match self.rounds {
                10 => ni::cfb_decrypt::<10>(keys, iv, datagram),
                12 => ni::cfb_decrypt::<12>(keys, iv, datagram),
                _ => ni::cfb_decrypt::<14>(keys, iv, datagram),
            }
        }
    }
}

impl<C: BlockCipherEncrypt> fmt::Debug for AesCfb<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesCfb")
            .field("aes_ni", &self.ni.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::AesCfb;
    use crate::{BlockCrypt, Cfb};
    use alloc::vec::Vec;

    fn check<C: cipher::BlockCipherEncrypt + cipher::KeyInit>(key_len: usize) {
        let mut next = crate::test_rng::bytes(0xDEAD_BEEF_1234_5678u64 ^ key_len as u64);
        for len in (0..100).chain([1499, 1500, 1520]) {
            let key: Vec<u8> = (0..key_len).map(|_| next()).collect();
            let data: Vec<u8> = (0..len).map(|_| next()).collect();
            let ours = AesCfb::<C>::new_from_slice(&key).unwrap();
            assert!(ours.ni.is_some(), "this machine has AES-NI");
            let reference = Cfb::<C>::new_from_slice(&key).unwrap();
            let (mut a, mut b) = (data.clone(), data.clone());
            ours.encrypt(&mut a);
            reference.encrypt(&mut b);
            assert_eq!(a, b, "AES-{} {len} bytes", key_len * 8);
            let mut c = a.clone();
            ours.decrypt(&mut a);
            assert_eq!(a, data);
            reference.decrypt(&mut c);
            assert_eq!(c, data);
        }
    }

    #[test]
    fn matches_the_aes_crate() {
        check::<aes::Aes128>(16);
        check::<aes::Aes192>(24);
        check::<aes::Aes256>(32);
    }
}
