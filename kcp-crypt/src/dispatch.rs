//! `Crypt`: the run-time dispatch to any cipher kcptun names.

use alloc::boxed::Box;
use core::fmt;
use core::ops::Range;

use rand_core::CryptoRng;

use crate::key::derive_key;
use crate::{
    Aes128GcmCrypt, BlockCrypt, CipherKind, KeyError, NoneCrypt, NullCrypt, OpenError,
    PacketCipher, Salsa20Crypt, SealError, XorCrypt,
};

/// The cipher state behind a [`Crypt`].
enum Inner {
    /// kcp-go 5.6.1 framing (nonce + CRC32) around a whole-datagram transform.
    Framed(Box<dyn BlockCrypt + Send + Sync>),
    /// AES-128-GCM framing.
    Gcm(Box<Aes128GcmCrypt>),
    /// No crypto layer.
    Null,
}

/// The packet cipher for a kcptun `--crypt` name, chosen at run time: what a session holds.
///
/// Build it once per session from the name and either kcptun's 32-byte derived key
/// ([`new`](Self::new)) or the passphrase ([`from_passphrase`](Self::from_passphrase));
/// then [`seal`](PacketCipher::seal) every outgoing datagram and
/// [`open`](PacketCipher::open) every incoming one. Building allocates once; sealing and
/// opening never allocate.
pub struct Crypt {
    kind: CipherKind,
    inner: Inner,
}

/// The first `kind.key_len()` bytes of `key`, or the error saying how many are missing.
fn key_prefix<const N: usize>(key: &[u8]) -> Result<&[u8; N], KeyError> {
    key.first_chunk::<N>().ok_or(KeyError::TooShort {
        needed: N,
        got: key.len(),
    })
}

/// Boxes a CFB cipher keyed with the first `N` bytes of `key`.
fn cfb<C, const N: usize>(key: &[u8]) -> Result<Inner, KeyError>
where
    C: cipher::BlockCipherEncrypt + cipher::KeyInit + Send + Sync + 'static,
{
    let cipher = crate::Cfb::<C>::new_from_slice(key_prefix::<N>(key)?)?;
    Ok(Inner::Framed(Box::new(cipher)))
}

impl Crypt {
    /// Builds the cipher `kind` from kcptun's derived key (see [`derive_key`]): each name
    /// takes the first [`CipherKind::key_len`] bytes of `key`, as kcptun slices its 32-byte
    /// key. A longer `key` is fine; a shorter one is [`KeyError::TooShort`].
    pub fn new(kind: CipherKind, key: &[u8]) -> Result<Self, KeyError> {
        let inner = match kind {
            CipherKind::Aes256 => cfb::<aes::Aes256, 32>(key)?,
            CipherKind::Aes128 => cfb::<aes::Aes128, 16>(key)?,
            CipherKind::Aes192 => cfb::<aes::Aes192, 24>(key)?,
            CipherKind::Blowfish => cfb::<blowfish::Blowfish, 32>(key)?,
            CipherKind::Twofish => cfb::<crate::Twofish, 32>(key)?,
            CipherKind::Cast5 => cfb::<cast5::Cast5, 16>(key)?,
            CipherKind::TripleDes => cfb::<crate::TripleDes, 24>(key)?,
            CipherKind::Tea => cfb::<crate::Tea, 16>(key)?,
            CipherKind::Xtea => cfb::<crate::Xtea, 16>(key)?,
            CipherKind::Sm4 => cfb::<crate::Sm4, 16>(key)?,
            CipherKind::Salsa20 => Inner::Framed(Box::new(Salsa20Crypt::new(key_prefix(key)?))),
            CipherKind::Xor => Inner::Framed(Box::new(XorCrypt::new(key_prefix::<32>(key)?))),
            CipherKind::None => Inner::Framed(Box::new(NoneCrypt)),
            CipherKind::Null => Inner::Null,
            CipherKind::Aes128Gcm => Inner::Gcm(Box::new(Aes128GcmCrypt::new(key_prefix(key)?))),
        };
        Ok(Self { kind, inner })
    }

    /// Builds the cipher `kind` from a kcptun `--key` passphrase, deriving the key as
    /// kcptun does ([`derive_key`], about a millisecond).
    pub fn from_passphrase(kind: CipherKind, passphrase: &[u8]) -> Self {
        let key = derive_key(passphrase);
        match Self::new(kind, &key) {
            Ok(crypt) => crypt,
            // Every name takes at most 32 bytes, which the derived key always has.
            Err(_) => unreachable!("a derived key is long enough for every cipher"),
        }
    }

    /// The cipher's kcptun name.
    pub const fn kind(&self) -> CipherKind {
        self.kind
    }

    /// Bytes in front of the payload (20, 12 for AES-GCM, 0 for `null`); the headroom the
    /// layers above reserve in every frame.
    pub const fn header_len(&self) -> usize {
        self.kind.header_len()
    }

    /// Bytes after the payload (16 for AES-GCM's tag, else 0).
    pub const fn trailer_len(&self) -> usize {
        self.kind.trailer_len()
    }

    /// `header_len() + trailer_len()`.
    pub const fn overhead(&self) -> usize {
        self.kind.overhead()
    }

    /// The bare whole-datagram transform (kcp-go's `BlockCrypt`, no nonce or CRC handling)
    /// of a kind with kcp-go 5.6.1 framing; `None` for `null` and `aes-128-gcm`. For tests
    /// and tools that compare against kcp-go's `Encrypt`/`Decrypt` directly.
    pub fn block_crypt(&self) -> Option<&(dyn BlockCrypt + Send + Sync)> {
        match &self.inner {
            Inner::Framed(block) => Some(&**block),
            Inner::Gcm(_) | Inner::Null => None,
        }
    }
}

impl PacketCipher for Crypt {
    fn header_len(&self) -> usize {
        self.kind.header_len()
    }

    fn trailer_len(&self) -> usize {
        self.kind.trailer_len()
    }

    fn seal<R: CryptoRng + ?Sized>(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        rng: &mut R,
    ) -> Result<usize, SealError> {
        match &self.inner {
            Inner::Framed(block) => block.seal(buf, payload_len, rng),
            Inner::Gcm(gcm) => gcm.seal(buf, payload_len, rng),
            Inner::Null => NullCrypt.seal(buf, payload_len, rng),
        }
    }

    fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, OpenError> {
        match &self.inner {
            Inner::Framed(block) => block.open(datagram),
            Inner::Gcm(gcm) => gcm.open(datagram),
            Inner::Null => NullCrypt.open(datagram),
        }
    }
}

impl fmt::Debug for Crypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypt")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::Crypt;
    use crate::{CipherKind, NonceRng, OpenError, PacketCipher};
    use alloc::vec;
    use rand_core::SeedableRng;

    /// Every name seals and opens through the framing, and a flipped byte is refused: the
    /// whole crate's code per cipher in one test (the one Miri runs for the framing).
    #[test]
    fn every_kind_seals_and_opens() {
        let mut next = crate::test_rng::bytes(0x7777_1234_5678_9999);
        let key: [u8; 32] = core::array::from_fn(|_| next());
        let mut nonces = NonceRng::from_seed([3; 32]);
        for kind in CipherKind::ALL {
            // Deriving the XOR pad (PBKDF2) takes minutes under Miri; xor.rs tests the
            // cipher with a pad of test bytes there.
            if cfg!(miri) && kind == CipherKind::Xor {
                continue;
            }
            let crypt = Crypt::new(kind, &key).unwrap();
            for len in [0, 1, 15, 16, 17, 100] {
                let payload: vec::Vec<u8> = (0..len).map(|_| next()).collect();
                let mut buf = vec![0u8; len + crypt.overhead()];
                let start = crypt.header_len();
                buf[start..start + len].copy_from_slice(&payload);
                let sealed = crypt.seal(&mut buf, len, &mut nonces).unwrap();
                assert_eq!(sealed, buf.len());
                let mut tampered = buf.clone();
                let range = crypt.open(&mut buf).unwrap();
                assert_eq!(buf[range], payload[..], "{kind}");
                if kind != CipherKind::Null && len > 0 {
                    // The last byte: payload (or tag) under every cipher.
                    *tampered.last_mut().unwrap() ^= 0x80;
                    let expected = match kind {
                        CipherKind::Aes128Gcm => OpenError::AeadFailure,
                        _ => OpenError::BadChecksum,
                    };
                    assert_eq!(crypt.open(&mut tampered), Err(expected), "{kind}");
                }
            }
        }
    }
}
