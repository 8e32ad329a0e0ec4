//! Quantum Permutation Pads: the stream obfuscation of kcptun's last release (`--QPP`,
//! `--QPPCount`), byte for byte as the Go package `github.com/xtaci/qpp` v1.1.25 computes
//! it, checked against vectors from that package (`peers/qpp`).
//!
//! A [`Pads`] holds `count` permutations of the 256 byte values, derived from the key
//! (PBKDF2-HMAC-SHA1 and AES-256 drive a Fisher-Yates shuffle of each pad). A [`PadRng`]
//! (xoshiro256**, seeded from the key by HMAC-SHA256 and PBKDF2) picks a pad every 8 bytes
//! and gives a byte to XOR in: encryption maps `b` to `pad[b ^ r]`, decryption inverts it.
//! kcptun wraps each smux stream in it, with one generator per direction created from the
//! key itself: every stream of every session starts from the same state.
//!
//! This is obfuscation, not encryption. There is no nonce, so every stream under a key
//! runs the same pad sequence, and nothing authenticates the bytes; its security rests on
//! the KCP layer's cipher. kcp-tunnel offers it only so that it can talk to kcptun
//! servers and clients that use it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use aes::Aes256;
use cipher::{Block, BlockCipherEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const PM_SELECTOR_IDENTIFIER: &[u8] = b"PERMUTATION_MATRIX_SELECTOR";
const SHUFFLE_SALT: &[u8] = b"___QUANTUM_PERMUTATION_PAD_SHUFFLE_SALT___";
const PRNG_SALT: &[u8] = b"___QUANTUM_PERMUTATION_PAD_PRNG_SALT___";
const CHUNK_DERIVE_SALT: &[u8] = b"___QUANTUM_PERMUTATION_PAD_SEED_DERIVE___";
const PBKDF2_LOOPS: u32 = 128;
const CHUNK_DERIVE_LOOPS: u32 = 1024;
/// A new pad and random word every this many bytes.
const PAD_SWITCH: u8 = 8;

/// Bytes of seed needed to reach every permutation of 256 values: the byte length of
/// 256!, 211 (qpp's `QPPMinimumSeedLength(8)`). kcptun warns below it.
pub const MIN_SEED_LEN: usize = 211;

/// Pads needed for [`MIN_SEED_LEN`] bytes of seed at 32 bytes per pad, 7 (qpp's
/// `QPPMinimumPads(8)`). kcptun warns below it.
pub const MIN_PADS: u16 = 7;

/// What is unwise about a QPP setting (kcptun prints these as warnings and runs anyway);
/// empty when nothing is.
pub fn warnings(count: u16, key: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if key.len() < MIN_SEED_LEN {
        out.push(format!(
            "QPP: the key has {} bytes; {MIN_SEED_LEN} are needed to reach every permutation",
            key.len()
        ));
    }
    if count < MIN_PADS {
        out.push(format!(
            "QPP: {count} pads; at least {MIN_PADS} are advised"
        ));
    }
    if count.is_multiple_of(2) {
        out.push(format!("QPP: {count} pads; choose a prime number"));
    }
    out
}

/// The pads of one key: `count` permutations of the byte values and their inverses
/// (512 bytes per pad). Building them costs a few hundred AES blocks per pad, so build
/// them once per process and share them.
#[derive(Clone)]
pub struct Pads {
    count: u16,
    /// `count` permutations of 256 bytes, then their inverses.
    forward: Vec<u8>,
    inverse: Vec<u8>,
}

impl std::fmt::Debug for Pads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pads")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

fn pbkdf2_32(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    pbkdf2::pbkdf2_hmac_array::<Sha1, 32>(password, salt, rounds)
}

/// `bytes` (big-endian) modulo `m`.
fn big_mod(bytes: &[u8], m: u32) -> u32 {
    bytes
        .iter()
        .fold(0u64, |r, &b| ((r << 8) | u64::from(b)) % u64::from(m)) as u32
}

impl Pads {
    /// The pads of `key` (kcptun passes its `--key` as given), `count` of them (1 or
    /// more; kcptun's `--QPPCount`). `count` 0 is taken as 1.
    pub fn new(key: &[u8], count: u16) -> Pads {
        let count = count.max(1);
        let chunks = seed_chunks(key);
        let blocks: Vec<Aes256> = chunks
            .iter()
            .map(|c| Aes256::new(&pbkdf2_32(c, SHUFFLE_SALT, PBKDF2_LOOPS).into()))
            .collect();
        let mut forward = vec![0u8; usize::from(count) * 256];
        let mut inverse = vec![0u8; usize::from(count) * 256];
        for (i, (pad, rpad)) in forward
            .chunks_exact_mut(256)
            .zip(inverse.chunks_exact_mut(256))
            .enumerate()
        {
            for (v, b) in pad.iter_mut().enumerate() {
                *b = v as u8;
            }
            shuffle(&chunks[i % chunks.len()], pad, i as u16, &blocks);
            for (v, &b) in pad.iter().enumerate() {
                rpad[usize::from(b)] = v as u8;
            }
        }
        Pads {
            count,
            forward,
            inverse,
        }
    }

    /// How many pads.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Encrypts `data` in place, continuing `rng`'s stream (kcptun's writes of a stream).
    pub fn encrypt(&self, data: &mut [u8], rng: &mut PadRng) {
        self.apply(data, rng, |pad, b, r| pad[usize::from(b ^ r)]);
    }

    /// Decrypts `data` in place, continuing `rng`'s stream (kcptun's reads of a stream).
    pub fn decrypt(&self, data: &mut [u8], rng: &mut PadRng) {
        self.apply_inverse(data, rng);
    }

    fn pad(table: &[u8], count: u16, r: u64) -> &[u8] {
        let i = usize::from(r as u16 % count) * 256;
        &table[i..i + 256]
    }

    fn apply(&self, data: &mut [u8], rng: &mut PadRng, f: impl Fn(&[u8], u8, u8) -> u8) {
        let mut pad = Self::pad(&self.forward, self.count, rng.word);
        for b in data {
            *b = f(pad, *b, (rng.word >> (rng.used * 8)) as u8);
            rng.used += 1;
            if rng.used == PAD_SWITCH {
                rng.next_word();
                pad = Self::pad(&self.forward, self.count, rng.word);
            }
        }
    }

    fn apply_inverse(&self, data: &mut [u8], rng: &mut PadRng) {
        let mut pad = Self::pad(&self.inverse, self.count, rng.word);
        for b in data {
            *b = pad[usize::from(*b)] ^ (rng.word >> (rng.used * 8)) as u8;
            rng.used += 1;
            if rng.used == PAD_SWITCH {
                rng.next_word();
                pad = Self::pad(&self.inverse, self.count, rng.word);
            }
        }
    }
}

/// The key split into 32-byte chunks covering [`MIN_SEED_LEN`] bytes (a short key is
/// first stretched to 32 bytes), each then stretched by PBKDF2.
fn seed_chunks(key: &[u8]) -> Vec<[u8; 32]> {
    let stretched;
    let seed = if key.len() < 32 {
        stretched = pbkdf2_32(key, CHUNK_DERIVE_SALT, PBKDF2_LOOPS);
        &stretched[..]
    } else {
        key
    };
    let count = MIN_SEED_LEN.div_ceil(32);
    let mut at = 0;
    (0..count)
        .map(|_| {
            let mut chunk = [0u8; 32];
            for b in &mut chunk {
                *b = seed[at % seed.len()];
                at += 1;
            }
            pbkdf2_32(&chunk, CHUNK_DERIVE_SALT, CHUNK_DERIVE_LOOPS)
        })
        .collect()
}

/// Fisher-Yates over `pad`, each draw a 256-bit number from HMAC-SHA256 of the pad's id
/// run through every AES block once more per swap.
fn shuffle(chunk: &[u8; 32], pad: &mut [u8], id: u16, blocks: &[Aes256]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(chunk).expect("any key length");
    // Go's fmt "%b": the id in binary.
    mac.update(format!("QPP_{id:b}").as_bytes());
    let mut sum: [u8; 32] = mac.finalize().into_bytes().into();
    for i in (1..pad.len()).rev() {
        for block in blocks {
            for half in sum.chunks_exact_mut(16) {
                let b: &mut Block<Aes256> = half.try_into().expect("16 bytes");
                block.encrypt_block(b);
            }
        }
        let j = big_mod(&sum, i as u32 + 1) as usize;
        pad.swap(i, j);
    }
}

/// The pad-selecting generator of one direction of one stream (qpp's `Rand` from
/// `CreatePRNG`): kcptun makes one per stream and direction from the key.
#[derive(Clone)]
pub struct PadRng {
    state: [u64; 4],
    /// The current random word: its low 16 bits pick the pad, its bytes are XORed in.
    word: u64,
    /// Bytes of `word` used.
    used: u8,
}

impl std::fmt::Debug for PadRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PadRng").finish_non_exhaustive()
    }
}

impl PadRng {
    /// The generator kcptun starts every stream with for `key`.
    pub fn new(key: &[u8]) -> PadRng {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(PM_SELECTOR_IDENTIFIER);
        let sum = mac.finalize().into_bytes();
        let seed = pbkdf2_32(&sum, PRNG_SALT, PBKDF2_LOOPS);
        let word = |i: usize| u64::from_le_bytes(seed[i * 8..i * 8 + 8].try_into().expect("8"));
        let mut rng = PadRng {
            state: [word(0), word(1), word(2), word(3)],
            word: 0,
            used: 0,
        };
        rng.next_word();
        rng
    }

    /// xoshiro256**.
    fn next_word(&mut self) {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.word = result;
        self.used = 0;
    }
}

/// One smux stream with QPP on it, as kcptun's `QPPPort` wraps it: what is written is
/// encrypted with one [`PadRng`] started from the key, what is read decrypted with
/// another. A write encrypts what it takes (at most 64 KiB) and completes once the inner
/// stream has all of it; a write that returned `Pending` must be repeated with the same
/// bytes (as `write_all` does), so that the generator's position always matches the
/// bytes on the wire.
#[derive(Debug)]
pub struct QppStream<S> {
    inner: S,
    pads: Arc<Pads>,
    read_rng: PadRng,
    write_rng: PadRng,
    /// Encrypted bytes of the current write not yet accepted by `inner`.
    pending: Vec<u8>,
    sent: usize,
    /// Bytes of the caller's data the current write took.
    taken: usize,
}

impl<S> QppStream<S> {
    /// `inner` with QPP under `pads` and generators started from `key` (kcptun's
    /// `--key`, as given).
    pub fn new(inner: S, pads: Arc<Pads>, key: &[u8]) -> QppStream<S> {
        QppStream {
            inner,
            pads,
            read_rng: PadRng::new(key),
            write_rng: PadRng::new(key),
            pending: Vec::new(),
            sent: 0,
            taken: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> QppStream<S> {
    /// Writes out what an earlier write took.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for QppStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &mut buf.filled_mut()[before..];
        this.pads.decrypt(new, &mut this.read_rng);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for QppStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_empty() {
            let n = data.len().min(64 << 10);
            this.pending.extend_from_slice(&data[..n]);
            this.pads.encrypt(&mut this.pending, &mut this.write_rng);
            this.taken = n;
        }
        ready!(this.poll_pending(cx))?;
        Poll::Ready(Ok(std::mem::take(&mut this.taken)))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_seed_len_is_the_byte_length_of_256_factorial() {
        // 256! as little-endian 32-bit limbs.
        let mut n = vec![1u32];
        for k in 2..=256u64 {
            let mut carry = 0u64;
            for limb in &mut n {
                let v = u64::from(*limb) * k + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                n.push(carry as u32);
            }
        }
        let bits = (n.len() - 1) * 32 + (32 - n.last().unwrap().leading_zeros() as usize);
        assert_eq!(bits.div_ceil(8), MIN_SEED_LEN);
        assert_eq!(MIN_SEED_LEN.div_ceil(32), usize::from(MIN_PADS));
    }

    #[test]
    fn pads_are_permutations_and_decrypt_inverts_encrypt() {
        let pads = Pads::new(b"key", 5);
        for (pad, rpad) in pads.forward.chunks(256).zip(pads.inverse.chunks(256)) {
            let mut seen = [false; 256];
            for (v, &b) in pad.iter().enumerate() {
                assert!(!seen[usize::from(b)]);
                seen[usize::from(b)] = true;
                assert_eq!(usize::from(rpad[usize::from(b)]), v);
            }
        }
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 31) as u8).collect();
        let mut data = plain.clone();
        let (mut w, mut r) = (PadRng::new(b"key"), PadRng::new(b"key"));
        for chunk in data.chunks_mut(13) {
            pads.encrypt(chunk, &mut w);
        }
        assert_ne!(data, plain);
        for chunk in data.chunks_mut(7) {
            pads.decrypt(chunk, &mut r);
        }
        assert_eq!(data, plain);
    }

    /// Through streams: one side's writes cross the wire encrypted and come out of the
    /// other side's reads in the clear, whatever the write and read sizes.
    #[tokio::test]
    async fn a_stream_pair_carries_the_plaintext() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let pads = Arc::new(Pads::new(b"k", 3));
        let plain: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        // Writer -> wire, through a small pipe so writes are taken in part.
        let (tap, wire_end) = tokio::io::duplex(100);
        let mut writer = QppStream::new(tap, Arc::clone(&pads), b"k");
        let sent = plain.clone();
        let job = tokio::spawn(async move {
            for chunk in sent.chunks(333) {
                writer.write_all(chunk).await.unwrap();
            }
            writer.shutdown().await.unwrap();
        });
        let mut wire = Vec::new();
        let mut wire_end = wire_end;
        wire_end.read_to_end(&mut wire).await.unwrap();
        job.await.unwrap();
        assert_eq!(wire.len(), plain.len());
        assert_ne!(wire, plain);
        // Wire -> reader, read in other sizes.
        let (mut far, near) = tokio::io::duplex(64);
        let mut reader = QppStream::new(near, pads, b"k");
        let feed = tokio::spawn(async move {
            far.write_all(&wire).await.unwrap();
            far
        });
        let mut got = vec![0u8; plain.len()];
        reader.read_exact(&mut got).await.unwrap();
        assert_eq!(got, plain);
        drop(feed.await.unwrap());
    }
}
