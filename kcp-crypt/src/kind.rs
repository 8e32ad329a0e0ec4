//! The cipher names kcptun's `--crypt` flag accepts.

use core::fmt;
use core::str::FromStr;

use crate::{AEAD_NONCE_LEN, AEAD_TAG_LEN, HEADER_LEN, KEY_LEN};

/// One of kcptun's `--crypt` names: which packet cipher a session runs.
///
/// Parse it from the flag's string with [`FromStr`] (names are matched exactly, as kcptun
/// does); an unknown name is an error, never a silent fallback. Build the cipher itself
/// with [`Crypt::new`](crate::Crypt::new).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CipherKind {
    /// `aes`: AES-256 in kcp-go's CFB framing. kcptun's default.
    #[default]
    Aes256,
    /// `aes-128`: AES-128 in CFB framing.
    Aes128,
    /// `aes-192`: AES-192 in CFB framing.
    Aes192,
    /// `salsa20`: Salsa20/20 keyed with the first 8 nonce bytes.
    Salsa20,
    /// `blowfish`: Blowfish (32-byte key) in CFB framing.
    Blowfish,
    /// `twofish`: Twofish-256 in CFB framing.
    Twofish,
    /// `cast5`: CAST-128 in CFB framing.
    Cast5,
    /// `3des`: triple DES (EDE, three keys) in CFB framing.
    TripleDes,
    /// `tea`: TEA reduced to 8 cycles (as kcp-go runs it) in CFB framing. Weak.
    Tea,
    /// `xtea`: XTEA (32 cycles) in CFB framing.
    Xtea,
    /// `sm4`: SM4 in CFB framing.
    Sm4,
    /// `xor`: XOR with a fixed 1500-byte pad derived from the key. Obfuscation only.
    Xor,
    /// `none`: no encryption, but the 16-byte nonce and the CRC32 are still sent and checked.
    None,
    /// `null`: no crypto layer at all; the datagram is the bare payload.
    Null,
    /// `aes-128-gcm`: AES-128-GCM with kcp-go 5.6.49+ framing (12-byte nonce, 16-byte tag,
    /// no CRC). Not understood by kcp-go 5.6.1.
    Aes128Gcm,
}

impl CipherKind {
    /// Every name, in kcptun's documentation order; handy for help text and for tests.
    pub const ALL: [CipherKind; 15] = [
        Self::Aes256,
        Self::Aes128,
        Self::Aes192,
        Self::Salsa20,
        Self::Blowfish,
        Self::Twofish,
        Self::Cast5,
        Self::TripleDes,
        Self::Tea,
        Self::Xtea,
        Self::Sm4,
        Self::Xor,
        Self::None,
        Self::Null,
        Self::Aes128Gcm,
    ];

    /// The `--crypt` name, as kcptun spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes256 => "aes",
            Self::Aes128 => "aes-128",
            Self::Aes192 => "aes-192",
            Self::Salsa20 => "salsa20",
            Self::Blowfish => "blowfish",
            Self::Twofish => "twofish",
            Self::Cast5 => "cast5",
            Self::TripleDes => "3des",
            Self::Tea => "tea",
            Self::Xtea => "xtea",
            Self::Sm4 => "sm4",
            Self::Xor => "xor",
            Self::None => "none",
            Self::Null => "null",
            Self::Aes128Gcm => "aes-128-gcm",
        }
    }

    /// How many leading bytes of kcptun's 32-byte derived key this cipher takes
    /// (0 for `none` and `null`, which take none).
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128 | Self::Cast5 | Self::Tea | Self::Xtea | Self::Sm4 | Self::Aes128Gcm => 16,
            Self::Aes192 | Self::TripleDes => 24,
            Self::Aes256 | Self::Salsa20 | Self::Blowfish | Self::Twofish | Self::Xor => KEY_LEN,
            Self::None | Self::Null => 0,
        }
    }

    /// Bytes the cipher writes in front of the payload: 20 (nonce + CRC32) for the kcp-go
    /// 5.6.1 framing, 12 (nonce) for AES-GCM, 0 for `null`. Reserve this much headroom in
    /// front of every frame handed to [`seal`](crate::PacketCipher::seal).
    pub const fn header_len(self) -> usize {
        match self {
            Self::Null => 0,
            Self::Aes128Gcm => AEAD_NONCE_LEN,
            _ => HEADER_LEN,
        }
    }

    /// Bytes the cipher appends after the payload: the 16-byte tag for AES-GCM, else 0.
    pub const fn trailer_len(self) -> usize {
        match self {
            Self::Aes128Gcm => AEAD_TAG_LEN,
            _ => 0,
        }
    }

    /// `header_len() + trailer_len()`: how much a sealed datagram is longer than its payload.
    /// Subtract it from the MTU to size KCP frames.
    pub const fn overhead(self) -> usize {
        self.header_len() + self.trailer_len()
    }
}

impl fmt::Display for CipherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--crypt` name that is not one of [`CipherKind::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownCipherError;

impl fmt::Display for UnknownCipherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown cipher name; expected one of")?;
        for kind in CipherKind::ALL {
            write!(f, " {}", kind.name())?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownCipherError {}

impl FromStr for CipherKind {
    type Err = UnknownCipherError;

    /// Parses a kcptun `--crypt` name (exact, case-sensitive match).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or(UnknownCipherError)
    }
}
