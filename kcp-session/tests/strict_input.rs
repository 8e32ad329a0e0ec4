//! A session refuses, counts and survives a message of more fragments than its receive
//! window holds, which would wedge ikcp's reads for good (kcp-core's `set_strict_input`,
//! which every session turns on).

use kcp_core::{Command, Header, OVERHEAD};
use kcp_session::{Config, InputError, RecvError, Session};

const CONV: u32 = 0x600D_F00D;

/// A raw data segment (the `null` cipher, no FEC: the datagram is the segment).
fn push(sn: u32, frg: u8) -> Vec<u8> {
    let mut d = vec![0u8; OVERHEAD + 4];
    Header {
        conv: CONV,
        cmd: Command::Push as u8,
        frg,
        wnd: 128,
        ts: 0,
        sn,
        una: 0,
        len: 4,
    }
    .emit(&mut d);
    d[OVERHEAD..].copy_from_slice(b"frag");
    d
}

#[test]
fn a_message_longer_than_the_receive_window_is_refused_and_counted() {
    let mut cfg = Config::default();
    cfg.rcv_wnd = 128;
    let mut s = Session::new(CONV, &cfg.build().unwrap(), 0, [7; 32]);
    // A message of 256 fragments, frg 255 down to 0, as far as the window lets it come.
    let mut refused = 0;
    for sn in 0..128u32 {
        match s.input(0, &mut push(sn, (255 - sn) as u8)) {
            Err(InputError::Kcp(kcp_core::InputError::TooManyFragments)) => refused += 1,
            other => panic!("sn {sn}: {other:?}"),
        }
    }
    assert_eq!(refused, 128);
    assert_eq!(s.snmp().kcp_in_errors, 128);
    // Nothing was kept: the window stays open and the session still takes real data.
    assert_eq!(s.kcp().rcv_queue_len() + s.kcp().rcv_buf_len(), 0);
    assert_eq!(s.recv(&mut [0u8; 64]), Err(RecvError::WouldBlock));
    s.input(1, &mut push(0, 0)).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(s.recv(&mut buf), Ok(4));
    assert_eq!(&buf[..4], b"frag");
}
