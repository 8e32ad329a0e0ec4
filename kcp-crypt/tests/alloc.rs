//! Sealing and opening allocate nothing: counted with a counting global allocator.

use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, NonceRng, PacketCipher};
use kcp_testkit::counting_alloc::{self, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn seal_and_open_allocate_nothing() {
    let key = kcp_crypt::derive_key(b"alloc");
    let crypts: Vec<Crypt> = CipherKind::ALL
        .iter()
        .map(|k| Crypt::new(*k, &key).unwrap())
        .collect();
    let mut rng = NonceRng::from_seed([1; 32]);
    let mut buf = vec![0u8; 1500];
    let mut opened = 0;

    let ((), usage) = counting_alloc::measure(|| {
        for crypt in &crypts {
            for size in [0, 1, 17, 500, 1472] {
                let len = crypt.seal(&mut buf, size, &mut rng).unwrap();
                if crypt.open(&mut buf[..len]).is_ok() {
                    opened += 1;
                }
                // Failing opens must not allocate either.
                buf[len / 2] ^= 1;
                let _ = crypt.open(&mut buf[..len]);
            }
        }
    });

    assert_eq!(opened, crypts.len() * 5);
    assert_eq!(usage.allocations, 0, "allocations while sealing/opening");
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    assert!(counting_alloc::installed());
    let (v, usage) = counting_alloc::measure(|| std::hint::black_box(vec![1u8; 10]));
    drop(v);
    assert!(usage.allocations > 0);
}
