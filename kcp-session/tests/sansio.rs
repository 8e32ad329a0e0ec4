//! The sans-io `Session` between two endpoints over the simulated lossy link: data arrives
//! intact through FEC and the cipher, hostile datagrams are counted and change nothing,
//! and the liveness rules (idle timeout, close) end sessions as documented.

use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::{Config, DeadReason, InputError, RecvError, SendError, Session, State};
use kcp_testkit::sim::{Link, LinkConfig, Rng};

struct Pair {
    a: Session,
    b: Session,
    ab: Link,
    ba: Link,
    now: u32,
}

impl Pair {
    fn new(cfg: &Config, link: LinkConfig, seed: u64) -> Pair {
        let settings = cfg.build().unwrap();
        let now = 0xFFFF_F000; // the clock wraps during the test
        Pair {
            a: Session::new(0x1234_5678, &settings, now),
            b: Session::new(0x1234_5678, &settings, now),
            ab: Link::new(link.clone(), seed),
            ba: Link::new(link, seed ^ 0x55),
            now,
        }
    }

    /// Advances the clock by 1 ms, delivering datagrams and running due timers.
    fn step(&mut self) {
        self.now = self.now.wrapping_add(1);
        let now = self.now;
        let (ab, ba) = (&mut self.ab, &mut self.ba);
        while let Some(mut d) = ab.poll(now) {
            let _ = self.b.input(now, &mut d);
        }
        while let Some(mut d) = ba.poll(now) {
            let _ = self.a.input(now, &mut d);
        }
        if self
            .a
            .next_timeout(now)
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            self.a.poll(now, |out| ab.send(now, out));
        }
        if self
            .b
            .next_timeout(now)
            .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
        {
            self.b.poll(now, |out| ba.send(now, out));
        }
    }
}

/// Moves `data` from a to b and `back` from b to a at once, returning what each received.
fn exchange(p: &mut Pair, data: &[u8], back: &[u8], limit_ms: u32) -> (Vec<u8>, Vec<u8>) {
    let (mut sent_a, mut sent_b) = (0, 0);
    let (mut got_b, mut got_a) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 3000];
    for _ in 0..limit_ms {
        let now = p.now;
        while sent_a < data.len() {
            let end = (sent_a + 4000).min(data.len());
            match p.a.send(now, &data[sent_a..end]) {
                Ok(n) => sent_a += n,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        while sent_b < back.len() {
            let end = (sent_b + 4000).min(back.len());
            match p.b.send(now, &back[sent_b..end]) {
                Ok(n) => sent_b += n,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        while let Ok(n) = p.b.recv(&mut buf) {
            got_b.extend_from_slice(&buf[..n]);
        }
        while let Ok(n) = p.a.recv(&mut buf) {
            got_a.extend_from_slice(&buf[..n]);
        }
        if got_b.len() == data.len() && got_a.len() == back.len() {
            break;
        }
        p.step();
    }
    (got_b, got_a)
}

#[test]
fn aes_with_fec_through_ten_percent_loss() {
    let mut cfg = Config::kcptun();
    cfg.mode = "fast3".parse().unwrap();
    let link = LinkConfig::new()
        .delay(10, 30)
        .loss(0.10)
        .duplicate(0.02)
        .reorder(0.05, 15);
    let mut p = Pair::new(&cfg, link, 7);
    let mut rng = Rng::new(1);
    let (data, back) = (rng.bytes(1 << 20), rng.bytes(300_000));
    let (got_b, got_a) = exchange(&mut p, &data, &back, 120_000);
    assert!(
        got_b == data,
        "a→b: {} of {} bytes, or corrupted",
        got_b.len(),
        data.len()
    );
    assert!(
        got_a == back,
        "b→a: {} of {} bytes, or corrupted",
        got_a.len(),
        back.len()
    );
    let (sa, sb) = (p.a.snmp(), p.b.snmp());
    assert!(sb.fec_recovered > 0, "FEC recovered nothing: {sb:?}");
    assert!(sa.retrans_segs > 0);
    assert_eq!(sa.in_csum_errors + sb.in_csum_errors, 0);
    assert!(sa.out_pkts > 0 && sa.bytes_sent > sa.out_bytes);
}

#[test]
fn every_cipher_and_message_mode_round_trip() {
    let mut rng = Rng::new(2);
    for (i, kind) in CipherKind::ALL.iter().enumerate() {
        let mut cfg = {
            let mut c = Config::default();
            c.crypt = *kind;
            c.key = b"secret".to_vec();
            c.stream = i % 2 == 0;
            c
        };
        if i % 3 == 0 {
            (cfg.data_shards, cfg.parity_shards) = (4, 2);
        }
        let link = LinkConfig::new().delay(5, 5).loss(0.05);
        let mut p = Pair::new(&cfg, link, i as u64);
        let data = rng.bytes(100_000);
        let (got, _) = exchange(&mut p, &data, &[], 60_000);
        assert!(
            got == data,
            "{kind:?}: {} of {} bytes",
            got.len(),
            data.len()
        );
    }
}

#[test]
fn hostile_datagrams_are_counted_and_change_nothing() {
    let cfg = Config::kcptun();
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(5, 5), 3);
    let mut other = Config::kcptun();
    other.key = b"another key".to_vec();
    let mut stranger = Session::new(0x1234_5678, &other.build().unwrap(), p.now);
    let mut rng = Rng::new(3);
    let mut wrong_key = Vec::new();
    stranger.send(p.now, &rng.bytes(5000)).unwrap();
    stranger.poll(p.now, |d| wrong_key.push(d.to_vec()));
    assert!(!wrong_key.is_empty());
    for d in &mut wrong_key {
        assert!(matches!(p.b.input(p.now, d), Err(InputError::Crypt(_))));
    }
    for len in [0, 1, 19, 20, 21, 40, 100, 1500] {
        let mut garbage = rng.bytes(len);
        assert!(matches!(
            p.b.input(p.now, &mut garbage),
            Err(InputError::Crypt(_))
        ));
    }
    // Longer than any kcp-go peer sends: refused before the cipher runs.
    let mut oversized = rng.bytes(1501);
    let copy = oversized.clone();
    assert_eq!(p.b.input(p.now, &mut oversized), Err(InputError::Oversized));
    assert_eq!(oversized, copy, "not even decrypted in place");
    let snmp = p.b.snmp();
    assert_eq!(snmp.in_csum_errors, wrong_key.len() as u64 + 8);
    assert_eq!(snmp.in_errs, 1);
    assert!(matches!(
        p.b.recv(&mut [0u8; 16]),
        Err(RecvError::WouldBlock)
    ));
    // The real conversation still works.
    let data = rng.bytes(50_000);
    let (got, _) = exchange(&mut p, &data, &[], 10_000);
    assert!(got == data);
}

#[test]
fn a_silent_peer_ends_in_an_idle_timeout() {
    let cfg = {
        let mut c = Config::default();
        c.idle_timeout = Some(Duration::from_secs(2));
        c.dead_link = None;
        c
    };
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(5, 5).loss(1.0), 4);
    let ab = &mut p.ab;
    let now = p.now;
    p.a.send(now, b"hello").unwrap();
    p.a.poll(now, |d| ab.send(now, d));
    let start = p.now;
    while p.a.state() == State::Open {
        p.step();
        assert!(
            p.now.wrapping_sub(start) < 3000,
            "no idle timeout after 3 s"
        );
    }
    assert!(p.now.wrapping_sub(start) >= 2000);
    assert_eq!(p.a.state(), State::Dead(DeadReason::IdleTimeout));
    assert_eq!(
        p.a.recv(&mut [0u8; 8]),
        Err(RecvError::Dead(DeadReason::IdleTimeout))
    );
    assert_eq!(
        p.a.send(p.now, b"x"),
        Err(SendError::Dead(DeadReason::IdleTimeout))
    );
    assert_eq!(p.a.next_timeout(p.now), None);
}

#[test]
fn unacknowledged_segments_end_in_a_dead_link() {
    let cfg = {
        let mut c = Config::default();
        c.idle_timeout = None;
        c.dead_link = Some(5);
        c
    };
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(5, 5).loss(1.0), 5);
    let ab = &mut p.ab;
    let now = p.now;
    p.a.send(now, b"hello").unwrap();
    p.a.poll(now, |d| ab.send(now, d));
    for _ in 0..120_000 {
        if p.a.state() != State::Open {
            break;
        }
        p.step();
    }
    assert_eq!(p.a.state(), State::Dead(DeadReason::DeadLink));
}

#[test]
fn close_delivers_what_was_written_then_closes() {
    let cfg = Config::default();
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(20, 20).loss(0.2), 6);
    let mut rng = Rng::new(6);
    let data = rng.bytes(200_000);
    let now = p.now;
    let mut sent = 0;
    while sent < data.len() {
        match p.a.send(now, &data[sent..]) {
            Ok(n) => sent += n,
            Err(SendError::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Write what fits, close, and the peer still receives all of it.
    let ab = &mut p.ab;
    p.a.close(now);
    p.a.poll(now, |d| ab.send(now, d));
    assert_eq!(p.a.send(now, b"late"), Err(SendError::Closed));
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..60_000 {
        while let Ok(n) = p.b.recv(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        if p.a.state() == State::Closed && got.len() == sent {
            break;
        }
        p.step();
    }
    assert_eq!(p.a.state(), State::Closed);
    assert!(got == data[..sent]);
}

#[test]
fn reading_from_a_full_window_announces_it_at_once() {
    let cfg = {
        let mut c = Config::default();
        c.rcv_wnd = 128;
        c.snd_wnd = 1024;
        c
    };
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(1, 1), 8);
    let mut rng = Rng::new(8);
    let data = rng.bytes(1 << 20);
    let mut sent = 0;
    // Fill b's receive queue without reading it.
    for _ in 0..2000 {
        let now = p.now;
        if let Ok(n) = p.a.send(now, &data[sent..(sent + 8192).min(data.len())]) {
            sent += n;
        }
        p.step();
        if p.b.kcp().rcv_queue_len() >= 128 {
            break;
        }
    }
    assert!(p.b.kcp().rcv_queue_len() >= 128, "b's window never filled");
    assert_ne!(p.b.next_timeout(p.now), Some(p.now));
    let mut buf = vec![0u8; 4096];
    p.b.recv(&mut buf).unwrap();
    assert_eq!(
        p.b.next_timeout(p.now),
        Some(p.now),
        "a poll is due at once"
    );
    let mut out = 0;
    p.b.poll(p.now, |_| out += 1);
    assert!(out > 0, "the reopened window was not announced");
    assert_ne!(p.b.next_timeout(p.now), Some(p.now));
}

#[test]
fn one_huge_stream_write_takes_only_what_the_window_holds() {
    let cfg = {
        let mut c = Config::default();
        c.snd_wnd = 64;
        c
    };
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(5, 5), 9);
    let huge = vec![7u8; 64 << 20];
    let now = p.now;
    let n = p.a.send(now, &huge).unwrap();
    let mss = p.a.kcp().mss();
    assert_eq!(n, 64 * mss, "took {n} bytes of a 64 MiB write");
    assert!(p.a.kcp().wait_snd() <= 64);
    assert_eq!(p.a.send(now, &huge), Err(SendError::WouldBlock));
}

#[test]
fn empty_messages_do_not_read_as_end_of_stream() {
    let cfg = {
        let mut c = Config::default();
        c.stream = false;
        c
    };
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(1, 1), 10);
    let now = p.now;
    let ab = &mut p.ab;
    p.a.send(now, b"").unwrap();
    p.a.send(now, b"x").unwrap();
    p.a.poll(now, |d| ab.send(now, d));
    for _ in 0..100 {
        p.step();
    }
    let mut buf = [0u8; 8];
    assert_eq!(p.b.recv(&mut buf), Ok(1));
    assert_eq!(buf[0], b'x');
    assert_eq!(p.b.recv(&mut buf), Err(RecvError::WouldBlock));
}
