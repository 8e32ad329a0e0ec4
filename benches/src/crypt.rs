//! The ciphers of `benches/crypt.rs` and `benches/crypt_pairs.rs`: kcp-go's benchmark
//! names, its key, and the RustCrypto counterpart of every cipher kcp-crypt implements
//! itself (SM4, 3DES, Twofish, Salsa20; TEA with kcp-go's 8 cycles has none). The other
//! ciphers are RustCrypto's in kcp-crypt too: `aes`, `blowfish`, `cast5` and `xtea`
//! under `cfb-mode` lost this comparison to kcp-crypt's own code by less than the 1.5x
//! it requires (kcp-crypt's docs have the figures).

use cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use kcp_crypt::rand_core::{RngCore, SeedableRng};
use kcp_crypt::{BlockCrypt, Cfb, CipherKind, Crypt, NonceRng};

/// kcp-go's `mtuLimit`: the buffer every crypt benchmark works on.
pub const MTU: usize = 1500;

/// kcp-go's benchmark names, with the cipher each one runs.
pub const CIPHERS: [(&str, CipherKind); 13] = [
    ("SM4", CipherKind::Sm4),
    ("AES128", CipherKind::Aes128),
    ("AES192", CipherKind::Aes192),
    ("AES256", CipherKind::Aes256),
    ("TEA", CipherKind::Tea),
    ("XOR", CipherKind::Xor),
    ("Blowfish", CipherKind::Blowfish),
    ("None", CipherKind::None),
    ("Cast5", CipherKind::Cast5),
    ("3DES", CipherKind::TripleDes),
    ("Twofish", CipherKind::Twofish),
    ("XTEA", CipherKind::Xtea),
    ("Salsa20", CipherKind::Salsa20),
];

/// kcp-go's benchmark key: PBKDF2-HMAC-SHA1("testkey", "testsalt", 4096, 32). Each cipher
/// takes the slice of it kcptun would hand it.
pub fn bench_key() -> [u8; 32] {
    kcp_crypt::derive_key_with_salt(b"testkey", b"testsalt", 4096)
}

/// `len` reproducible pseudo-random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut rng = NonceRng::from_seed([0x5A; 32]);
    let mut data = vec![0u8; len];
    rng.fill_bytes(&mut data);
    data
}

/// kcp-go's Salsa20 framing (the first 8 bytes are the nonce, the rest is XORed with the
/// keystream from block 0) on the `salsa20` crate.
struct Salsa20Crate([u8; 32]);

impl BlockCrypt for Salsa20Crate {
    fn encrypt(&self, datagram: &mut [u8]) {
        if let Some((nonce, rest)) = datagram.split_first_chunk_mut::<8>() {
            salsa20::Salsa20::new(&self.0.into(), &(*nonce).into()).apply_keystream(rest);
        }
    }

    fn decrypt(&self, datagram: &mut [u8]) {
        self.encrypt(datagram);
    }
}

/// `cfb-mode` over the RustCrypto block cipher `C`, keyed with `key`.
fn cfb<C: BlockCipherEncrypt + KeyInit + 'static>(key: &[u8]) -> Box<dyn BlockCrypt> {
    Box::new(Cfb::new(
        <C as KeyInit>::new_from_slice(key).expect("a valid key length"),
    ))
}

/// The RustCrypto counterpart of each cipher kcp-crypt implements itself, keyed with the
/// slice of `pass` kcptun hands that cipher.
///
/// # Panics
/// If a crate's output differs from kcp-crypt's.
pub fn rustcrypto_ciphers(pass: &[u8; 32]) -> Vec<(&'static str, Box<dyn BlockCrypt>)> {
    let crates: Vec<(&'static str, Box<dyn BlockCrypt>)> = vec![
        ("SM4", cfb::<sm4::Sm4>(&pass[..16])),
        ("3DES", cfb::<des::TdesEde3>(&pass[..24])),
        ("Twofish", cfb::<twofish::Twofish>(pass)),
        ("Salsa20", Box::new(Salsa20Crate(*pass))),
    ];
    // Same bytes out as ours, or the comparison would not be between equals.
    for (name, block) in &crates {
        let kind = CIPHERS
            .iter()
            .find(|(n, _)| n == name)
            .expect("a kcp-go name")
            .1;
        let ours = Crypt::new(kind, pass).expect("pass is 32 bytes");
        let mut a = random_bytes(MTU);
        let mut b = a.clone();
        block.encrypt(&mut a);
        ours.block_crypt().expect("a framed cipher").encrypt(&mut b);
        assert_eq!(a, b, "{name}: the crate and kcp-crypt disagree");
    }
    crates
}
