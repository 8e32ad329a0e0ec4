//! Arbitrary cipher, key and datagram into `open`: nothing may panic and every accepted
//! payload range lies inside the datagram after the header. Then a seal -> open round
//! trip of an arbitrary payload must give the payload back.
#![no_main]
use arbitrary::Arbitrary;
use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, KeyError, NonceRng, PacketCipher};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    kind: u8,
    key: Vec<u8>,
    datagram: Vec<u8>,
    payload: Vec<u8>,
    seed: [u8; 32],
}

fuzz_target!(|input: Input| {
    let kind = CipherKind::ALL[usize::from(input.kind) % CipherKind::ALL.len()];
    let key = &input.key[..input.key.len().min(64)];
    let crypt = match Crypt::new(kind, key) {
        Ok(crypt) => crypt,
        Err(KeyError::TooShort { needed, got }) => {
            assert!(got < needed && needed == kind.key_len() && got == key.len());
            let mut padded = [0u8; 32];
            padded[..key.len()].copy_from_slice(key);
            Crypt::new(kind, &padded).expect("32 bytes suit every cipher")
        }
        Err(e) => panic!("unexpected key error {e}"),
    };

    let mut datagram = input.datagram;
    let len = datagram.len();
    if let Ok(range) = crypt.open(&mut datagram) {
        assert_eq!(range.start, crypt.header_len());
        assert_eq!(range.end + crypt.trailer_len(), len);
    } else {
        assert!(kind != CipherKind::Null);
    }

    let payload = &input.payload[..input.payload.len().min(1500)];
    let mut buf = vec![0u8; payload.len() + crypt.overhead()];
    let start = crypt.header_len();
    buf[start..start + payload.len()].copy_from_slice(payload);
    let mut rng = NonceRng::from_seed(input.seed);
    let sealed = crypt
        .seal(&mut buf, payload.len(), &mut rng)
        .expect("room reserved");
    assert_eq!(sealed, buf.len());
    let range = crypt.open(&mut buf).expect("our own datagram opens");
    assert_eq!(&buf[range], payload);
});
