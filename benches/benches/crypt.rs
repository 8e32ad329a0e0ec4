//! Packet cipher benchmarks named after kcp-go's (`crypt_test.go`), so that
//! `scripts/bench-crypt.sh` can put both side by side.
//!
//! Like kcp-go's `benchCrypt`: the key is a slice of PBKDF2-HMAC-SHA1("testkey",
//! "testsalt", 4096, 32); one iteration encrypts and then decrypts a 1500-byte buffer of
//! random bytes, and counts 3000 bytes. `CRC32` hashes 1024 bytes; `CsprngNonceAES128`
//! draws one 16-byte nonce. `AEAD_AES_128_GCM` (seal + open of a 1500-byte datagram) has
//! no kcp-go 5.6.1 counterpart.
//!
//! The `rustcrypto` group runs the same shape through the RustCrypto crates (`cfb-mode`
//! over `des`, `twofish`, `sm4`; `salsa20`) for every cipher where kcp-crypt has code of
//! its own, so each hand-written cipher is measured against the crate it would otherwise
//! use, in the same run (`crypt_pairs.rs` interleaves the two for a steadier ratio). `TEA`
//! has no counterpart: no crate offers kcp-go's 8-cycle TEA.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kcp_benches::crypt::{CIPHERS, MTU, bench_key, random_bytes, rustcrypto_ciphers};
use kcp_crypt::rand_core::{RngCore, SeedableRng};
use kcp_crypt::{CipherKind, Crypt, NonceRng, PacketCipher};

fn ciphers(c: &mut Criterion) {
    let pass = bench_key();
    let mut group = c.benchmark_group("crypt");
    group.throughput(Throughput::Bytes(2 * MTU as u64));
    for (name, kind) in CIPHERS {
        // kcp-go hands each cipher the same slice of `pass` kcptun would.
        let crypt = Crypt::new(kind, &pass).expect("pass is 32 bytes");
        let block = crypt.block_crypt().expect("a kcp-go 5.6.1 framed cipher");
        let mut data = random_bytes(MTU);
        group.bench_function(name, |b| {
            b.iter(|| {
                block.encrypt(black_box(&mut data));
                block.decrypt(black_box(&mut data));
            });
        });
    }

    let gcm = Crypt::new(CipherKind::Aes128Gcm, &pass).expect("pass is 32 bytes");
    let mut rng = NonceRng::from_seed([1; 32]);
    let mut datagram = random_bytes(MTU);
    let payload_len = MTU - gcm.overhead();
    group.bench_function("AEAD_AES_128_GCM", |b| {
        b.iter(|| {
            let len = gcm.seal(black_box(&mut datagram), payload_len, &mut rng);
            let len = len.expect("room for the tag");
            black_box(gcm.open(&mut datagram[..len]).is_ok())
        });
    });
    group.finish();
}

fn rustcrypto(c: &mut Criterion) {
    let pass = bench_key();
    let mut group = c.benchmark_group("rustcrypto");
    group.throughput(Throughput::Bytes(2 * MTU as u64));
    for (name, block) in rustcrypto_ciphers(&pass) {
        let mut data = random_bytes(MTU);
        group.bench_function(name, |b| {
            b.iter(|| {
                block.encrypt(black_box(&mut data));
                block.decrypt(black_box(&mut data));
            });
        });
    }
    group.finish();
}

fn crc_and_nonce(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypt");
    let content = vec![0u8; 1024];
    group.throughput(Throughput::Bytes(content.len() as u64));
    group.bench_function("CRC32", |b| {
        b.iter(|| kcp_crypt::checksum(black_box(&content)));
    });

    let mut rng = NonceRng::from_seed([2; 32]);
    let mut nonce = [0u8; 16];
    group.throughput(Throughput::Bytes(nonce.len() as u64));
    group.bench_function("CsprngNonceAES128", |b| {
        b.iter(|| {
            rng.fill_bytes(black_box(&mut nonce));
        });
    });
    group.finish();
}

criterion_group!(benches, ciphers, rustcrypto, crc_and_nonce);
criterion_main!(benches);
