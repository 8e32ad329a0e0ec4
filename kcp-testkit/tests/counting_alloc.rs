//! The counting allocator counts what it should, per thread, nested or not.

use kcp_testkit::counting_alloc::{Counting, Usage, installed, measure};

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn counts_allocations_and_bytes() {
    assert!(installed());
    let (v, usage) = measure(|| std::hint::black_box(Vec::<u8>::with_capacity(1000)));
    assert_eq!(
        usage,
        Usage {
            allocations: 1,
            net_bytes: 1000,
            peak_bytes: 1000
        }
    );
    let ((), usage) = measure(|| drop(v));
    assert_eq!((usage.allocations, usage.net_bytes), (0, -1000));
}

#[test]
fn peak_and_nesting() {
    let ((), outer) = measure(|| {
        let a = std::hint::black_box(vec![0u8; 100]);
        let ((), inner) = measure(|| {
            let b = std::hint::black_box(vec![0u8; 300]);
            drop(b);
        });
        assert_eq!(
            (inner.allocations, inner.net_bytes, inner.peak_bytes),
            (1, 0, 300)
        );
        drop(a);
    });
    assert_eq!(
        (outer.allocations, outer.net_bytes, outer.peak_bytes),
        (2, 0, 400)
    );
}

#[test]
fn other_threads_are_not_counted() {
    let ((), usage) = measure(|| {
        std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 5000])))
            .join()
            .unwrap();
    });
    assert!(usage.peak_bytes < 5000, "{usage:?}");
}
