//! kcp-go's "simple XOR" packet cipher.

use alloc::boxed::Box;
use core::fmt;
use sha1::Sha1;

use crate::{BlockCrypt, MTU_LIMIT};

/// Salt of the pad derivation.
const XOR_SALT: &[u8] = b"sH3CIVoF#rWLtJo6";

/// PBKDF2 iterations of the pad derivation.
const XOR_ITERATIONS: u32 = 32;

/// XOR with a fixed 1500-byte pad, PBKDF2-HMAC-SHA1(key, "sH3CIVoF#rWLtJo6", 32 iterations).
///
/// Byte `i` of a datagram is XORed with pad byte `i` (bytes past 1500 stay as they are,
/// as in kcp-go). Every datagram uses the same pad, so this hides nothing from anyone
/// who sees two datagrams: use it only to talk to a kcptun `--crypt xor` peer.
#[derive(Clone)]
pub struct XorCrypt {
    pad: Box<[u8; MTU_LIMIT]>,
    /// Whether this CPU has AVX2, detected once when the cipher is built.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(cpuid_avx2, "avx2");

/// `data[i] ^= pad[i]` over the shorter of the two; the compiler vectorises it.
#[inline(always)]
fn xor_into(data: &mut [u8], pad: &[u8]) {
    for (byte, key) in data.iter_mut().zip(pad) {
        *byte ^= key;
    }
}

/// [`xor_into`] compiled for AVX2's 32-byte registers.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
fn xor_into_avx2(data: &mut [u8], pad: &[u8]) {
    xor_into(data, pad);
}

impl XorCrypt {
    /// Derives the pad from `key` (kcptun passes its whole 32-byte key). Costs 32 PBKDF2
    /// iterations for each of the pad's 75 SHA-1 blocks, once.
    pub fn new(key: &[u8]) -> Self {
        let mut pad = Box::new([0u8; MTU_LIMIT]);
        pbkdf2::pbkdf2_hmac::<Sha1>(key, XOR_SALT, XOR_ITERATIONS, pad.as_mut_slice());
        Self {
            pad,
            #[cfg(target_arch = "x86_64")]
            avx2: cpuid_avx2::get(),
        }
    }

    #[allow(unsafe_code)]
    fn apply(&self, datagram: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 was detected on this CPU when the cipher was built.
            return unsafe { xor_into_avx2(datagram, self.pad.as_slice()) };
        }
        xor_into(datagram, self.pad.as_slice());
    }
}

impl BlockCrypt for XorCrypt {
    fn encrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }

    fn decrypt(&self, datagram: &mut [u8]) {
        self.apply(datagram);
    }
}

impl fmt::Debug for XorCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XorCrypt { .. }")
    }
}
