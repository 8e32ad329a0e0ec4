//! kcp-go and kcptun compatible packet encryption for KCP datagrams.
//!
//! Every cipher kcptun's `--crypt` flag names, framed byte for byte as kcp-go frames it,
//! so a kcptun or kcp-go peer and this crate read each other's datagrams:
//!
//! * kcp-go 5.6.1 framing (every name except `null` and `aes-128-gcm`): a 16-byte random
//!   nonce, the CRC32-IEEE of the payload at bytes 16..20 (little-endian), the payload;
//!   then the whole datagram is encrypted in place ([`BlockCrypt`]).
//! * `aes-128-gcm` (kcp-go 5.6.49+): a 12-byte random nonce, the AES-128-GCM ciphertext,
//!   the 16-byte tag ([`Aes128GcmCrypt`]).
//! * `null`: no layer at all ([`NullCrypt`]).
//!
//! Sealing and opening work in place on the caller's buffer and allocate nothing: the
//! layers above write their frame behind [`PacketCipher::header_len`] bytes of headroom.
//!
//! ```
//! use kcp_crypt::{CipherKind, Crypt, NonceRng, PacketCipher};
//! use kcp_crypt::rand_core::SeedableRng;
//!
//! let kind: CipherKind = "aes".parse().unwrap();
//! let crypt = Crypt::from_passphrase(kind, b"it's a secrect");
//! let mut rng = NonceRng::from_seed([7; 32]); // seed from the OS in real use
//!
//! let payload = b"one KCP frame";
//! let mut buf = [0u8; 1500];
//! let start = crypt.header_len();
//! buf[start..start + payload.len()].copy_from_slice(payload);
//! let len = crypt.seal(&mut buf, payload.len(), &mut rng).unwrap();
//!
//! let range = crypt.open(&mut buf[..len]).unwrap();
//! assert_eq!(&buf[range], payload);
//! ```
//!
//! `no_std` + `alloc` (builds for `thumbv7em-none-eabihf`); the `std` feature adds OS
//! seeding of [`NonceRng`].
//!
//! # Security
//! kcp-go 5.6.1's framing keeps line noise out and hides the payload from someone who
//! only listens. Against someone who can send datagrams or change them on the way it
//! promises little, and only `aes-128-gcm` authenticates anything. In detail:
//!
//! * **CRC32 is not a MAC.** The checksum at bytes 16..20 has no key. It catches
//!   accidental corruption; a random forged datagram still passes it with probability
//!   2^-32 (at 100,000 forgeries a second, one gets through about every 12 hours), and a
//!   forger who knows how an edit changes the plaintext can write the matching CRC.
//! * **CFB and the stream ciphers are malleable.** `salsa20`, `xor` and `none` can be
//!   rewritten without the key and without being noticed: XOR a change into the payload
//!   and the CRC's (affine) change into the CRC field, and the datagram opens with the
//!   attacker's bytes (`tests/tamper.rs` does it). The CFB ciphers pass a flipped bit in
//!   the last cipher block straight through to the plaintext; only the CRC stops that,
//!   and where the payload shares the CRC's cipher block (payloads of at most 12 bytes
//!   under a 16-byte block) nothing does.
//! * **No replay protection, in any mode, AES-GCM included.** Nothing remembers nonces:
//!   a recorded datagram opens every time it is sent. KCP's sequence numbers turn most
//!   replays into duplicates a session drops, but a listener takes a replayed first
//!   datagram from a new address for a new session.
//! * **Reflection.** A listener answers every datagram that opens (acknowledgements, a
//!   new session). With `null` or `none`, or with a key everyone knows (kcptun's default
//!   passphrase [`KCPTUN_DEFAULT_PASSPHRASE`] among them), anyone can forge a source
//!   address and have the listener send datagrams to it. With a secret key only replays
//!   do. Rate-limit or filter listeners that face the internet.
//! * **Nonce limits.** kcptun derives one key from the passphrase for every session in
//!   both directions, so count every datagram sealed under a passphrase while it is in
//!   use. `salsa20` takes only the first 8 of the 16 random nonce bytes as its nonce; two
//!   datagrams with the same 8 bytes share a keystream, which gives away the XOR of their
//!   plaintexts. After n datagrams the chance of such a pair is about n^2 / 2^65: 2^-32
//!   after 92,000 datagrams, one in a million after 6 million, 2.7% after a billion
//!   (1.4 TB of 1,400-byte datagrams). `aes-128-gcm` draws random 96-bit nonces: about
//!   n^2 / 2^97, and NIST SP 800-38D stops at 2^32 datagrams per key (6 TB of 1,400-byte
//!   datagrams, chance 2^-33); a repeated GCM nonce gives away the plaintexts' XOR and the
//!   authentication key, so forgeries follow. Change the key well before that. The CFB
//!   ciphers put the whole 16-byte nonce in their first block (n^2 / 2^129, negligible),
//!   but the 64-bit block ciphers (`blowfish`, `cast5`, `3des`, `tea`, `xtea`) meet their
//!   own birthday bound: after about 2^32 blocks (32 GiB) under one key, colliding
//!   ciphertext blocks give away plaintext XORs (Sweet32).
//! * **Weak by design:** `xor` XORs every datagram with the same pad (two datagrams, or
//!   one with known bytes such as KCP's headers, give it away), `tea` runs 8 of TEA's 32
//!   cycles, `none` and `null` hide nothing.
//! * **Timing side channels.** Table ciphers look up tables at indices that depend on the
//!   key and the data, so which cache lines they touch leaks key bits to code sharing the
//!   CPU's caches (another process or VM on the same host, or a sibling hyperthread):
//!   `twofish` ([`Twofish`]'s key-dependent tables), `3des` ([`TripleDes`]'s S-box tables),
//!   `sm4` ([`Sm4`]'s tables), `blowfish` and `cast5` (the RustCrypto crates; both ciphers
//!   are built on key-dependent or data-indexed S-boxes). No attack on them over a network
//!   is known, but on a shared host it is the classic cache-timing setting. Free of secret
//!   indices and secret branches: `aes`, `aes-128`, `aes-192` and `aes-128-gcm` (AES-NI, or
//!   the `aes` crate's bitsliced software), `salsa20`, `tea`, `xtea` and `xor` (additions,
//!   rotations and XORs only). On a shared host, pick one of those.
//! * **Passphrases.** kcptun's key derivation is PBKDF2-HMAC-SHA1 with the fixed salt
//!   `kcp-go` and 4,096 iterations, and any recorded datagram lets a guess be checked
//!   offline (the CRC or tag tells a right key): use a random key of at least 128 bits,
//!   never a word.
//!
//! **What to pick:** for a new deployment, `aes-128-gcm` with a random key, where the peer
//! has it (kcp-go 5.6.49 and later; kcp-go 5.6.1 and kcptun 20210922 do not). With those
//! peers, `aes` or `aes-128` with a random key keeps the payload confidential but not
//! authenticated: if an attacker can reach the path, authenticate above KCP (TLS, Noise,
//! or an authenticated application protocol).
//!
//! # Where the ciphers come from
//! AES (under `cfb-mode`), Blowfish, CAST5, XTEA (with Go's big-endian words swapped in
//! and out), AES-GCM and PBKDF2/SHA-1 are RustCrypto's; the `aes` crate picks AES-NI at
//! run time. This crate has its own code only where it measured at least 1.5x faster than
//! the crate on kcp-go's benchmark shape, or where no crate exists: [`Twofish`]
//! (key-dependent tables), [`TripleDes`] (table-driven rounds), [`Salsa20Crypt`] (8 blocks
//! in AVX2, 4 in SSE2), [`Sm4`] (S-box and L in tables) and [`Tea`] (8 cycles, no crate).
//! Each is checked block for block against its crate; the measurements, against the
//! crates and against kcp-go, are in the repository's `docs/performance.md`.
//!
//! The XOR cipher's loop is left to the compiler (an AVX2 copy was 1.4x faster). The only
//! `unsafe` code left is Salsa20's: SIMD intrinsics behind run-time detection of AVX2
//! (SSE2 is part of x86-64); its SSE2, AVX2 and portable paths are each tested against the
//! `salsa20` crate, and the portable ones run under Miri in CI. `scripts/bench-crypt.sh`
//! puts the criterion figures next to kcp-go's own benchmarks and the crates'.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Salsa20's SIMD paths (salsa.rs) are the only `unsafe` code: calls into
// `#[target_feature]` functions after detecting the feature. Each carries its SAFETY
// argument; nothing else may use `unsafe`.
#![deny(unsafe_code)]
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

/// Reproducible test bytes for the unit tests that compare ciphers with their references.
#[cfg(test)]
mod test_rng {
    /// An xorshift64 byte stream from `seed` (non-zero).
    pub(crate) fn bytes(mut state: u64) -> impl FnMut() -> u8 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        }
    }

    /// `n` trials natively; a handful under Miri, which interprets every instruction (the
    /// Miri run checks the portable code's memory safety, the native run its coverage).
    pub(crate) const fn trials(n: usize) -> usize {
        if cfg!(miri) { 2 } else { n }
    }
}

mod cfb;
mod dispatch;
mod error;
mod framing;
mod gcm;
mod key;
mod kind;
mod plain;
mod rng;
mod salsa;
mod sm4_tables;
mod tdes;
mod tea;
mod twofish_fk;
mod xor;

pub use cfb::Cfb;
pub use dispatch::Crypt;
pub use error::{KeyError, OpenError, SealError};
pub use framing::{BlockCrypt, PacketCipher};
pub use gcm::Aes128GcmCrypt;
pub use key::{
    KCPTUN_DEFAULT_PASSPHRASE, KCPTUN_ITERATIONS, KCPTUN_SALT, KEY_LEN, derive_key,
    derive_key_with_salt,
};
pub use kind::{CipherKind, UnknownCipherError};
pub use plain::{NoneCrypt, NullCrypt};
pub use rand_core;
pub use rng::NonceRng;
pub use salsa::Salsa20Crypt;
pub use sm4_tables::Sm4;
pub use tdes::TripleDes;
pub use tea::{Tea, Xtea};
pub use twofish_fk::Twofish;
pub use xor::XorCrypt;

/// The CRC32-IEEE kcp-go's framing stores at bytes 16..20 (over bytes 20.. of the
/// plaintext). [`seal`](PacketCipher::seal) and [`open`](PacketCipher::open) compute it
/// themselves; this is for tools and benchmarks.
pub fn checksum(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// Bytes of random nonce at the front of a kcp-go 5.6.1 framed datagram.
pub const NONCE_LEN: usize = 16;
/// Bytes of CRC32 after the nonce.
pub const CRC_LEN: usize = 4;
/// Header of a kcp-go 5.6.1 framed datagram: nonce + CRC32. The payload starts here.
pub const HEADER_LEN: usize = NONCE_LEN + CRC_LEN;
/// Bytes of nonce at the front of an AES-GCM datagram.
pub const AEAD_NONCE_LEN: usize = 12;
/// Bytes of AES-GCM tag after the payload.
pub const AEAD_TAG_LEN: usize = 16;
/// kcp-go's receive buffer size: it truncates longer datagrams, and the XOR pad is this long.
/// Keep sealed datagrams at or below it. The same constant as kcp-core's, re-exported.
pub use kcp_core::MTU_LIMIT;
/// kcp-go's fixed CFB initial vector (64-bit block ciphers use its first 8 bytes).
pub const KCP_GO_IV: [u8; 16] = [
    0xA7, 0x73, 0x4F, 0x9C, 0x12, 0xAC, 0x1B, 0x01, 0xA4, 0x15, 0xF2, 0xC1, 0xFC, 0x78, 0xE6, 0x6B,
];

/// `aes` (AES-256) in kcp-go's CFB framing.
pub type Aes256Cfb = Cfb<aes::Aes256>;
/// `aes-128` in kcp-go's CFB framing.
pub type Aes128Cfb = Cfb<aes::Aes128>;
/// `aes-192` in kcp-go's CFB framing.
pub type Aes192Cfb = Cfb<aes::Aes192>;
/// `blowfish` in kcp-go's CFB framing.
pub type BlowfishCfb = Cfb<blowfish::Blowfish>;
/// `twofish` in kcp-go's CFB framing.
pub type TwofishCfb = Cfb<Twofish>;
/// `cast5` in kcp-go's CFB framing.
pub type Cast5Cfb = Cfb<cast5::Cast5>;
/// `3des` in kcp-go's CFB framing.
pub type TripleDesCfb = Cfb<TripleDes>;
/// `tea` (8 cycles) in kcp-go's CFB framing.
pub type TeaCfb = Cfb<Tea>;
/// `xtea` in kcp-go's CFB framing.
pub type XteaCfb = Cfb<Xtea>;
/// `sm4` in kcp-go's CFB framing.
pub type Sm4Cfb = Cfb<Sm4>;
