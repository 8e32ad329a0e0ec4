//! kcptun's key derivation: the bytes every cipher name slices its key from.

use sha1::Sha1;

/// Length of the key kcptun derives from its `--key` passphrase; every cipher name takes a
/// prefix of it (see [`CipherKind::key_len`](crate::CipherKind::key_len)).
pub const KEY_LEN: usize = 32;

/// The PBKDF2 salt kcptun uses for `--key`.
pub const KCPTUN_SALT: &[u8] = b"kcp-go";

/// The PBKDF2 iteration count kcptun uses for `--key`.
pub const KCPTUN_ITERATIONS: u32 = 4096;

/// kcptun's default `--key` (its misspelling is part of the wire contract).
pub const KCPTUN_DEFAULT_PASSPHRASE: &str = "it's a secrect";

/// Derives the 32-byte key kcptun builds from a `--key` passphrase:
/// PBKDF2-HMAC-SHA1(passphrase, "kcp-go", 4096 iterations, 32 bytes).
///
/// Call it once when a session is configured (it runs 4096 HMAC-SHA1 iterations, about a
/// millisecond), then build the cipher with [`Crypt::new`](crate::Crypt::new).
pub fn derive_key(passphrase: &[u8]) -> [u8; KEY_LEN] {
    derive_key_with_salt(passphrase, KCPTUN_SALT, KCPTUN_ITERATIONS)
}

/// PBKDF2-HMAC-SHA1 with a salt and iteration count of your choice, 32 bytes: for peers
/// that call kcp-go directly with their own parameters (kcp-go's examples use
/// `"demo salt"` and 1024 iterations; its tests `"testsalt"` and 4096).
pub fn derive_key_with_salt(passphrase: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    pbkdf2::pbkdf2_hmac_array::<Sha1, KEY_LEN>(passphrase, salt, iterations)
}
