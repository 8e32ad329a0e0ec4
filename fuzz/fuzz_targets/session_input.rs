//! Arbitrary datagrams into a sans-io `Session` (any cipher, FEC on or off), interleaved
//! with honest traffic from a peer session, sends, reads and clock jumps. Nothing may
//! panic, a rejected datagram must be counted, and behind any cipher that checks
//! integrity what arrives must be what the peer sent, in order.
#![no_main]
use arbitrary::Arbitrary;
use kcp_crypt::CipherKind;
use kcp_session::{Config, InputError, Session, Settings};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Hostile bytes straight into the session.
    Raw(Vec<u8>),
    /// An honest datagram from the peer, with some bytes flipped.
    Tampered { index: u16, xor: u8 },
    /// The peer writes.
    PeerSends(u16),
    /// Time passes and both sides run their timers.
    Tick(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Which of [`all_settings`].
    setting: u8,
    ops: Vec<Op>,
}

/// Every cipher × FEC on/off × stream/message mode, built once: key derivation is slow.
fn all_settings() -> &'static [Settings] {
    static ALL: OnceLock<Vec<Settings>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for kind in CipherKind::ALL {
            for (fec, stream) in [(false, false), (false, true), (true, false), (true, true)] {
                let cfg = {
                    let mut c = Config::default();
                    c.crypt = kind;
                    c.key = b"fuzz".to_vec();
                    c.data_shards = if fec { 3 } else { 0 };
                    c.parity_shards = if fec { 2 } else { 0 };
                    c.stream = stream;
                    c
                };
                all.push(cfg.build().unwrap());
            }
        }
        all
    })
}

fuzz_target!(|input: Input| {
    let all = all_settings();
    let settings = &all[usize::from(input.setting) % all.len()];
    let mut now = 0u32;
    let mut ours = Session::new(7, settings, now, [7; 32]);
    let mut peer = Session::new(7, settings, now, [7; 32]);
    let (mut sent, mut got) = (Vec::new(), Vec::new());
    let mut wire: Vec<Vec<u8>> = Vec::new();
    let mut back: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; 4096];
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Raw(mut d) => {
                let before = ours.snmp();
                let result = ours.input(now, &mut d);
                if result.is_err() && result != Err(InputError::Ended) {
                    let after = ours.snmp();
                    let counted =
                        |s: &kcp_session::Snmp| s.in_csum_errors + s.in_errs + s.kcp_in_errors;
                    assert!(
                        counted(&after) > counted(&before),
                        "an error went uncounted"
                    );
                }
            }
            Op::Tampered { index, xor } => {
                if let Some(mut d) = wire.pop() {
                    let i = usize::from(index) % d.len().max(1);
                    if let Some(b) = d.get_mut(i) {
                        *b ^= xor;
                    }
                    let _ = ours.input(now, &mut d);
                }
            }
            Op::PeerSends(n) => {
                let msg: Vec<u8> = (0..n % 3000)
                    .map(|i| (sent.len() + i as usize) as u8)
                    .collect();
                if let Ok(n) = peer.send(now, &msg) {
                    sent.extend_from_slice(&msg[..n]);
                }
                peer.poll(now, |o| wire.push(o.to_vec()));
            }
            Op::Tick(ms) => {
                now = now.wrapping_add(u32::from(ms % 2000));
                for mut d in wire.drain(..) {
                    let _ = ours.input(now, &mut d);
                }
                for mut d in back.drain(..) {
                    let _ = peer.input(now, &mut d);
                }
                ours.poll(now, |o| back.push(o.to_vec()));
                peer.poll(now, |o| wire.push(o.to_vec()));
            }
        }
        while let Ok(n) = ours.recv(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    // Without a crypto layer nothing authenticates a datagram: forged or tampered
    // segments are indistinguishable from the peer's. Every other cipher checks a CRC32
    // or an AEAD tag, so what arrives must be exactly what the peer sent.
    if settings.config().crypt != CipherKind::Null {
        assert!(
            sent.starts_with(&got),
            "received bytes differ from what the peer sent"
        );
    }
});
