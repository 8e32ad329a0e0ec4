//! A fast CSPRNG for datagram nonces: AES-128 in counter mode.

use aes::Aes128;
use cipher::{Block, BlockCipherEncrypt, KeyInit};
use core::fmt;
use rand_core::{CryptoRng, RngCore, SeedableRng};

/// Counter blocks encrypted per refill: enough for AES-NI to pipeline.
const BATCH: usize = 8;

/// Bytes of keystream buffered per refill.
const BUF_LEN: usize = BATCH * 16;

/// The nonce source for [`seal`](crate::PacketCipher::seal): AES-128 in counter mode,
/// keyed and started from a 32-byte seed, producing 128 bytes per batch of 8 blocks.
///
/// kcp-go draws its nonces from a similar AES-128 generator seeded from the OS; a nonce
/// only has to be unpredictable and unique, and this costs a few nanoseconds each instead
/// of a system call. Seed it from the OS once per process or session (`from_os_rng` with
/// the `std` feature, or [`SeedableRng::from_seed`] with entropy of your own on `no_std`);
/// tests seed it with fixed bytes for reproducible datagrams.
#[derive(Clone)]
pub struct NonceRng {
    cipher: Aes128,
    counter: u128,
    buf: [u8; BUF_LEN],
    pos: usize,
}

impl NonceRng {
    fn refill(&mut self) {
        let mut blocks = [Block::<Aes128>::default(); BATCH];
        for block in &mut blocks {
            block.copy_from_slice(&self.counter.to_le_bytes());
            self.counter = self.counter.wrapping_add(1);
        }
        self.cipher.encrypt_blocks(&mut blocks);
        for (out, block) in self.buf.chunks_exact_mut(16).zip(&blocks) {
            out.copy_from_slice(block);
        }
        self.pos = 0;
    }

    /// Seeds a generator from the operating system's random source.
    #[cfg(feature = "std")]
    pub fn from_os_rng() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(Self::from_seed(seed))
    }
}

impl SeedableRng for NonceRng {
    /// 16 bytes of AES-128 key, then the 16-byte initial counter (little-endian).
    type Seed = [u8; 32];

    fn from_seed(seed: Self::Seed) -> Self {
        let (key, counter) = seed.split_at(16);
        let mut start = [0u8; 16];
        start.copy_from_slice(counter);
        let mut key_block = [0u8; 16];
        key_block.copy_from_slice(key);
        Self {
            cipher: Aes128::new(&key_block.into()),
            counter: u128::from_le_bytes(start),
            buf: [0; BUF_LEN],
            pos: BUF_LEN,
        }
    }
}

impl RngCore for NonceRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, mut dst: &mut [u8]) {
        while !dst.is_empty() {
            if self.pos == BUF_LEN {
                self.refill();
            }
            let n = dst.len().min(BUF_LEN - self.pos);
            let (head, tail) = dst.split_at_mut(n);
            head.copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            dst = tail;
        }
    }
}

impl CryptoRng for NonceRng {}

impl fmt::Debug for NonceRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceRng { .. }")
    }
}
