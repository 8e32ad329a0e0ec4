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
//! seeding of [`NonceRng`]. The kcp-go 5.6.1 framing also holds two facts worth knowing:
//! the nonce is not covered by the CRC, and `xor` and `none` hide nothing.
//!
//! # Where the ciphers come from
//! Blowfish, CAST5, AES-GCM, PBKDF2/SHA-1 and the AES fallback are RustCrypto's, with
//! `cfb-mode` for CFB. Where those crates ran at or below kcp-go's speed this crate has
//! its own code, each checked block for block against the RustCrypto crate it replaces:
//! AES-CFB on AES-NI with the keys in registers (`AesCfb`, x86-64), Salsa20 on SSE2 /
//! AVX2 ([`Salsa20Crypt`]), Twofish with key-dependent tables ([`KeyedTwofish`]),
//! table-driven triple DES ([`TripleDes`]) and SM4 ([`Sm4Tables`]), big-endian XTEA
//! ([`XteaBe`]) and 8-cycle TEA ([`Tea8`], which no crate offers). CPU features (AES-NI,
//! AVX2) are detected once, when a cipher is built.
#![no_std]
// SIMD intrinsics (aes_ni.rs, salsa.rs, xor.rs) are the only `unsafe` code: calls into
// `#[target_feature]` functions after detecting the feature, and unaligned loads/stores
// of 16-byte blocks. Each carries its SAFETY argument; nothing else may use `unsafe`.
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
mod crypt;
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
pub use crypt::Crypt;
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
pub use sm4_tables::Sm4Tables;
pub use tdes::TripleDes;
pub use tea::{Tea8, XteaBe};
pub use twofish_fk::KeyedTwofish;
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
/// Keep sealed datagrams at or below it.
pub const MTU_LIMIT: usize = 1500;
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
pub type TwofishCfb = Cfb<KeyedTwofish>;
/// `cast5` in kcp-go's CFB framing.
pub type Cast5Cfb = Cfb<cast5::Cast5>;
/// `3des` in kcp-go's CFB framing.
pub type TripleDesCfb = Cfb<TripleDes>;
/// `tea` (8 cycles) in kcp-go's CFB framing.
pub type TeaCfb = Cfb<Tea8>;
/// `xtea` in kcp-go's CFB framing.
pub type XteaCfb = Cfb<XteaBe>;
/// `sm4` in kcp-go's CFB framing.
pub type Sm4Cfb = Cfb<Sm4Tables>;
