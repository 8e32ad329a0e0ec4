//! Arbitrary datagrams into `Kcp::input`, interleaved with flushes and reads: nothing may
//! panic, and every datagram that comes out stays within the MTU.
#![no_main]
use kcp_core::Kcp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut kcp = Kcp::new(u32::from_le_bytes([0x11, 0x22, 0x33, 0x44]));
    let mut buf = vec![0u8; 256 * 1024];
    kcp.set_window_size(64, 256).unwrap();
    kcp.send(&[7u8; 3000]).unwrap();
    let mtu = kcp.mtu();
    let mut now = 0u32;
    // Datagrams are separated by a two-byte little-endian length, so one input can hold
    // many; the conv of each datagram is forced to ours half of the time to get past it.
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 4096;
        rest = &rest[2..];
        let take = len.min(rest.len());
        let mut datagram = rest[..take].to_vec();
        rest = &rest[take..];
        if len % 2 == 0 && datagram.len() >= 4 {
            datagram[..4].copy_from_slice(&kcp.conv().to_le_bytes());
        }
        let _ = kcp.input(&datagram);
        now = now.wrapping_add(len as u32 % 97);
        kcp.update(now, |d: &mut [u8]| {
            assert!(d.len() <= mtu, "datagram of {} bytes over the mtu", d.len());
        });
        while let Ok(size) = kcp.peek_size() {
            let n = kcp.recv(&mut buf).expect("peek_size promised a message");
            assert_eq!(n, size);
        }
        let _ = kcp.check(now);
    }
});
