//! What the framing does not protect against, shown rather than claimed (the crate docs'
//! "Security" section): a CRC32 is not a MAC, stream ciphers are malleable, CFB passes bit
//! flips through, and nothing stops a replay.

mod common;

use common::TestRng;
use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, HEADER_LEN, NONCE_LEN, NonceRng, OpenError, PacketCipher};

const PAYLOAD: usize = 100;

fn crypt(kind: CipherKind) -> Crypt {
    Crypt::from_passphrase(kind, b"a key the attacker does not know")
}

/// Seals `payload` and returns the datagram.
fn seal(crypt: &Crypt, payload: &[u8], nonces: &mut NonceRng) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + crypt.overhead()];
    let start = crypt.header_len();
    buf[start..start + payload.len()].copy_from_slice(payload);
    crypt.seal(&mut buf, payload.len(), nonces).unwrap();
    buf
}

/// An attacker's edit of a kcp-go 5.6.1 framed datagram, without the key: XOR `delta` into
/// the payload bytes and the matching change into the CRC field. CRC32 is affine, so
/// `crc(p ^ d) = crc(p) ^ crc(d) ^ crc(0...0)` for equal lengths: the change depends on
/// `delta` alone.
fn rewrite(datagram: &mut [u8], delta: &[u8]) {
    let fix = kcp_crypt::checksum(delta) ^ kcp_crypt::checksum(&vec![0; delta.len()]);
    for (byte, d) in datagram[HEADER_LEN..].iter_mut().zip(delta) {
        *byte ^= d;
    }
    for (byte, d) in datagram[NONCE_LEN..HEADER_LEN]
        .iter_mut()
        .zip(fix.to_le_bytes())
    {
        *byte ^= d;
    }
}

#[test]
fn salsa20_xor_and_none_can_be_rewritten_without_the_key() {
    let mut rng = TestRng::new(1);
    let mut nonces = NonceRng::from_seed([1; 32]);
    for kind in [CipherKind::Salsa20, CipherKind::Xor, CipherKind::None] {
        let crypt = crypt(kind);
        let payload = rng.bytes(PAYLOAD);
        let delta = rng.bytes(PAYLOAD);
        let mut datagram = seal(&crypt, &payload, &mut nonces);
        rewrite(&mut datagram, &delta);
        let range = crypt
            .open(&mut datagram)
            .unwrap_or_else(|e| panic!("{kind}: the forgery should open: {e}"));
        let forged: Vec<u8> = payload.iter().zip(&delta).map(|(p, d)| p ^ d).collect();
        assert_eq!(datagram[range], forged[..], "{kind}");
    }
}

#[test]
fn the_same_edit_fails_the_check_of_cfb_and_gcm() {
    // CFB: changing the CRC field's ciphertext garbles the next block's plaintext, which
    // the CRC then catches (a random pass has probability 2^-32). GCM: the tag.
    let mut rng = TestRng::new(2);
    let mut nonces = NonceRng::from_seed([2; 32]);
    for kind in CipherKind::ALL {
        let crypt = crypt(kind);
        let expected = match kind {
            CipherKind::Salsa20 | CipherKind::Xor | CipherKind::None | CipherKind::Null => {
                continue;
            }
            CipherKind::Aes128Gcm => OpenError::AeadFailure,
            _ => OpenError::BadChecksum,
        };
        let payload = rng.bytes(PAYLOAD);
        let mut datagram = seal(&crypt, &payload, &mut nonces);
        rewrite(&mut datagram, &rng.bytes(PAYLOAD));
        assert_eq!(crypt.open(&mut datagram), Err(expected), "{kind}");
    }
}

#[test]
fn a_bit_flip_in_the_last_block_passes_straight_through() {
    // CFB decrypts a block as ciphertext XOR E(previous ciphertext block), and the stream
    // ciphers XOR a keystream: a flipped bit in
    // the last block flips the same plaintext bit and touches nothing else. Only the CRC32
    // notices, and an attacker who can also fix the CRC (short datagrams, where it shares
    // the block) is not stopped at all.
    let mut nonces = NonceRng::from_seed([3; 32]);
    for kind in CipherKind::ALL {
        let crypt = crypt(kind);
        let Some(block) = crypt.block_crypt() else {
            continue;
        };
        if matches!(kind, CipherKind::None) {
            continue;
        }
        let payload = vec![0x42; PAYLOAD];
        let mut datagram = seal(&crypt, &payload, &mut nonces);
        let last = datagram.len() - 1;
        datagram[last] ^= 0x01;
        block.decrypt(&mut datagram);
        let mut expected = payload.clone();
        expected[PAYLOAD - 1] ^= 0x01;
        assert_eq!(datagram[HEADER_LEN..], expected[..], "{kind}");
    }
}

#[test]
fn a_replayed_datagram_opens_again_in_every_mode() {
    // No mode keeps state between datagrams, AES-GCM included: a recorded datagram opens as
    // often as it is sent. Only KCP's sequence numbers above decide what to do with it.
    let mut nonces = NonceRng::from_seed([4; 32]);
    for kind in CipherKind::ALL {
        let crypt = crypt(kind);
        let payload = vec![7u8; PAYLOAD];
        let recorded = seal(&crypt, &payload, &mut nonces);
        for _ in 0..3 {
            let mut replay = recorded.clone();
            let range = crypt.open(&mut replay).expect("a replay opens");
            assert_eq!(replay[range], payload[..], "{kind}");
        }
    }
}
