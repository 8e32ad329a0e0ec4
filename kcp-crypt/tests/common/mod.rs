//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use kcp_crypt::CipherKind;
use kcp_crypt::rand_core::{CryptoRng, RngCore};

/// Every cipher kcp-go 5.6.1 has (through kcptun 20210922's names), plus `null` (kcp-go
/// without a BlockCrypt); `aes-128-gcm` is newer, and kcp-go 5.6.1 refusing it is checked in
/// `kcp_go.rs`.
pub const GO_KINDS: [CipherKind; 14] = [
    CipherKind::Aes256,
    CipherKind::Aes128,
    CipherKind::Aes192,
    CipherKind::Salsa20,
    CipherKind::Blowfish,
    CipherKind::Twofish,
    CipherKind::Cast5,
    CipherKind::TripleDes,
    CipherKind::Tea,
    CipherKind::Xtea,
    CipherKind::Sm4,
    CipherKind::Xor,
    CipherKind::None,
    CipherKind::Null,
];

/// Yields 0, 1, 2, ... as bytes, so sealed datagrams are reproducible (the spec's
/// pipeline vectors force the nonce to such a counter). Not random: tests only.
pub struct CounterRng(pub u8);

impl RngCore for CounterRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
}

impl CryptoRng for CounterRng {}

/// Replays fixed bytes as the "random" nonce (for standard AEAD vectors). Tests only.
pub struct FixedRng(pub Vec<u8>);

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        unimplemented!()
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.copy_from_slice(&self.0[..dst.len()]);
    }
}

impl CryptoRng for FixedRng {}

/// Reproducible sizes and payload bytes for the tests, drawn from the testkit's generator.
pub struct TestRng(kcp_testkit::sim::Rng);

impl TestRng {
    pub fn new(seed: u64) -> TestRng {
        TestRng(kcp_testkit::sim::Rng::new(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A value in `0..=max`.
    pub fn below_eq(&mut self, max: usize) -> usize {
        self.0.range_usize(0, max)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Payload sizes for round trips: the edges around block and header sizes, then random
/// sizes up to 1500, reproducible from `seed`.
pub fn sizes(seed: u64, random: usize) -> Vec<usize> {
    let mut sizes = vec![
        0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 1379, 1480, 1499, 1500,
    ];
    let mut rng = TestRng::new(seed);
    sizes.extend((0..random).map(|_| rng.below_eq(1500)));
    sizes
}
