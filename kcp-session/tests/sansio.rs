//! The sans-io `Session` between two endpoints over the simulated lossy link: data arrives
//! intact through FEC and the cipher, hostile datagrams are counted and change nothing,
//! and the liveness rules (idle timeout, close) end sessions as documented.

use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::{
    Config, DatagramError, DeadReason, InputError, RecvError, SendError, Session, State,
};
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
            a: Session::new(0x1234_5678, &settings, now, [7; 32]),
            b: Session::new(0x1234_5678, &settings, now, [7; 32]),
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
    let mut stranger = Session::new(0x1234_5678, &other.build().unwrap(), p.now, [7; 32]);
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

/// The datagrams of one `send` of `data` by a fresh session with `cfg`.
fn one_write(cfg: &Config, data: &[u8]) -> Vec<Vec<u8>> {
    let mut s = Session::new(7, &cfg.build().unwrap(), 0, [7; 32]);
    s.send(0, data).unwrap();
    let mut out = Vec::new();
    s.poll(0, |d| out.push(d.to_vec()));
    out
}

#[test]
fn ack_settings_decide_when_acknowledgements_leave() {
    // (batch_acks, ack_nodelay, acknowledged at the next poll)
    for (batch, nodelay, at_once) in [
        (false, false, false),
        (true, false, true),
        (false, true, true),
    ] {
        let mut cfg = Config::default();
        cfg.batch_acks = batch;
        cfg.ack_nodelay = nodelay;
        let mut d = one_write(&cfg, b"data").remove(0);
        let mut b = Session::new(7, &cfg.build().unwrap(), 0, [7; 32]);
        b.input(5, &mut d).unwrap();
        assert_eq!(b.kcp().ack_pending(), 1);
        let due = b.next_timeout(5).unwrap();
        assert_eq!(
            due == 5,
            at_once,
            "batch {batch} nodelay {nodelay}: due at {due}"
        );
        let mut acks = 0;
        b.poll(5, |_| acks += 1);
        assert_eq!(acks > 0, at_once, "batch {batch} nodelay {nodelay}");
        if !at_once {
            // ikcp's timing: the acknowledgement waits for the flush interval.
            assert!(due > 5 && due <= 5 + cfg.mode.interval());
            b.poll(due, |_| acks += 1);
            assert_eq!(acks, 1);
        }
    }
}

#[test]
fn write_delay_holds_writes_until_the_flush_interval_or_a_flush() {
    let mut cfg = Config::default();
    cfg.write_delay = true;
    let mut s = Session::new(7, &cfg.build().unwrap(), 0, [7; 32]);
    s.send(3, b"held").unwrap();
    let mut out = 0;
    s.poll(3, |_| out += 1);
    assert_eq!(out, 0, "a delayed write went out at once");
    let due = s.next_timeout(3).unwrap();
    assert!(due > 3 && due <= cfg.mode.interval(), "{due}");
    s.poll(due, |_| out += 1);
    assert_eq!(out, 1, "the flush interval sends it");
    s.send(due, b"flushed").unwrap();
    s.flush();
    assert_eq!(s.next_timeout(due), Some(due));
    s.poll(due, |_| out += 1);
    assert_eq!(out, 2, "flush() sends it at the next poll");
    // Without write_delay a write goes at the next poll.
    assert_eq!(one_write(&Config::default(), b"now").len(), 1);
}

#[test]
fn a_receive_window_past_the_16_bit_header_field_is_refused() {
    let mut cfg = Config::default();
    cfg.rcv_wnd = 65_535;
    assert!(cfg.build().is_ok());
    cfg.rcv_wnd = 65_536;
    assert_eq!(
        cfg.build().err(),
        Some(kcp_session::ConfigError::Window(65_536))
    );
    let mut kcp = kcp_core::Kcp::new(1);
    assert!(kcp.set_window_size(32, 65_536).is_err());
    assert_eq!(kcp.rcv_wnd(), 128, "a refused window changes nothing");
}

#[test]
fn messages_arrive_whole_through_loss_whatever_the_size() {
    let mut cfg = Config::kcptun();
    cfg.stream = false;
    let link = LinkConfig::new().delay(5, 20).loss(0.05).reorder(0.05, 10);
    let mut p = Pair::new(&cfg, link, 19);
    let max = p.a.max_message_size();
    assert_eq!(max % 127, 0);
    let mut rng = Rng::new(19);
    let sizes = [0, 1, 1000, max / 127 + 1, 50_000, max];
    let messages: Vec<Vec<u8>> = sizes.iter().map(|&n| rng.bytes(n)).collect();
    let mut got = Vec::new();
    let mut sent = 0;
    for _ in 0..60_000 {
        let now = p.now;
        while sent < messages.len() {
            match p.a.send_message(now, &messages[sent]) {
                Ok(()) => sent += 1,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send_message: {e}"),
            }
        }
        loop {
            match p.b.recv_message() {
                Ok(m) => got.push(m),
                Err(RecvError::WouldBlock) => break,
                Err(e) => panic!("recv_message: {e}"),
            }
        }
        if got.len() == messages.len() {
            break;
        }
        p.step();
    }
    assert_eq!(got.len(), messages.len(), "not every message arrived");
    for (i, (g, m)) in got.iter().zip(&messages).enumerate() {
        assert!(g == m, "message {i} ({} B) differs", m.len());
    }
    assert_eq!(
        p.a.send_message(p.now, &vec![0; max + 1]),
        Err(SendError::TooLarge)
    );
}

#[test]
fn a_message_begun_by_recv_is_finished_by_recv_message() {
    let mut cfg = Config::default();
    cfg.stream = false;
    let mut p = Pair::new(&cfg, LinkConfig::new().delay(1, 1), 3);
    let message = Rng::new(3).bytes(5000);
    p.a.send_message(p.now, &message).unwrap();
    while !p.b.can_recv() {
        p.step();
    }
    let mut head = [0u8; 100];
    assert_eq!(p.b.recv(&mut head), Ok(100));
    let rest = p.b.recv_message().unwrap();
    assert!(head[..] == message[..100] && rest[..] == message[100..]);
    assert_eq!(p.b.recv_message(), Err(RecvError::WouldBlock));
}

#[test]
fn stream_mode_refuses_messages_with_a_typed_error() {
    let mut p = Pair::new(&Config::default(), LinkConfig::new(), 1);
    assert_eq!(p.a.max_message_size(), 0);
    assert_eq!(
        p.a.send_message(p.now, b"x"),
        Err(SendError::NotMessageMode)
    );
    assert_eq!(p.b.recv_message(), Err(RecvError::NotMessageMode));
}

fn datagram_pair(queue: usize) -> Pair {
    let mut cfg = Config::kcptun();
    cfg.datagram_queue = queue;
    Pair::new(&cfg, LinkConfig::new().delay(2, 2), 5)
}

#[test]
fn datagrams_arrive_byte_exact_beside_the_stream() {
    let mut p = datagram_pair(64);
    let max = p.a.max_datagram_size();
    // kcptun's defaults: MTU 1350 less AES's 20, FEC's 8 and the conv's 4.
    assert_eq!(max, 1350 - 20 - 8 - 4);
    let mut rng = Rng::new(8);
    let sent: Vec<Vec<u8>> = [0, 1, 100, max].iter().map(|&n| rng.bytes(n)).collect();
    for d in &sent {
        p.a.send_datagram(d).unwrap();
    }
    p.a.send(p.now, b"stream bytes").unwrap();
    assert_eq!(
        p.a.send_datagram(&vec![0; max + 1]),
        Err(DatagramError::TooLarge)
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let mut stream = Vec::new();
    for _ in 0..200 {
        p.step();
        while let Some(d) = p.b.recv_datagram() {
            got.push(d);
        }
        while let Ok(n) = p.b.recv(&mut buf) {
            stream.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, sent);
    assert_eq!(stream, b"stream bytes");
    let (a, b) = (p.a.datagram_stats(), p.b.datagram_stats());
    assert_eq!((a.sent, b.received, b.dropped, b.invalid), (4, 4, 0, 0));
}

#[test]
fn unread_datagrams_are_dropped_oldest_first_and_counted() {
    let mut p = datagram_pair(3);
    for i in 0..3u8 {
        for j in 0..3u8 {
            p.a.send_datagram(&[i * 3 + j]).unwrap();
        }
        // The send queue holds 3 until a poll.
        assert_eq!(p.a.send_datagram(b"x"), Err(DatagramError::QueueFull));
        for _ in 0..5 {
            p.step();
        }
    }
    let got: Vec<Vec<u8>> = std::iter::from_fn(|| p.b.recv_datagram()).collect();
    assert_eq!(got, [[6], [7], [8]]);
    let s = p.b.datagram_stats();
    assert_eq!((s.received, s.dropped), (9, 6));
    // The memory they held is counted while they wait, and freed when read.
    assert!(!p.b.can_recv_datagram());
}

#[test]
fn datagrams_without_fec_are_refused_with_a_typed_error() {
    let mut p = Pair::new(&Config::default(), LinkConfig::new(), 1);
    assert_eq!(p.a.max_datagram_size(), 0);
    assert_eq!(p.a.send_datagram(b"x"), Err(DatagramError::Unsupported));
    p.a.close(p.now);
    let mut q = datagram_pair(1);
    q.a.close(q.now);
    assert_eq!(
        q.a.send_datagram(b"x"),
        Err(DatagramError::Ended(State::Closing))
    );
}

/// kcp-go's `SendOOB` framing, built from its source: seqid 0xFFFFFFFF, type 0xF3, the
/// size field (itself, conv and payload), conv, payload; here without a cipher.
fn kcp_go_oob(conv: u32, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    d.extend_from_slice(&0xF3u16.to_le_bytes());
    d.extend_from_slice(&(6 + payload.len() as u16).to_le_bytes());
    d.extend_from_slice(&conv.to_le_bytes());
    d.extend_from_slice(payload);
    d
}

#[test]
fn foreign_or_malformed_datagrams_are_counted_and_dropped() {
    let mut cfg = Config::default();
    cfg.crypt = CipherKind::Null;
    cfg.data_shards = 10;
    cfg.parity_shards = 3;
    let mut p = Pair::new(&cfg, LinkConfig::new(), 1);
    let now = p.now;
    let mut good = kcp_go_oob(0x1234_5678, b"state");
    p.b.input(now, &mut good).unwrap();
    assert_eq!(p.b.recv_datagram().as_deref(), Some(&b"state"[..]));
    let errs = p.b.snmp().in_errs;
    let mut foreign = kcp_go_oob(0x1111_1111, b"state");
    assert_eq!(p.b.input(now, &mut foreign), Err(InputError::Datagram));
    let mut bad_size = kcp_go_oob(0x1234_5678, b"state");
    bad_size[6] = 200;
    assert_eq!(p.b.input(now, &mut bad_size), Err(InputError::Datagram));
    let mut short = kcp_go_oob(0x1234_5678, b"")[..10].to_vec();
    assert_eq!(p.b.input(now, &mut short), Err(InputError::Datagram));
    assert_eq!(p.b.datagram_stats().invalid, 3);
    // Like every other rejected datagram, they count as input errors in the SNMP
    // counters too (kcptun's snmplog and SIGUSR1 line show those).
    assert_eq!(p.b.snmp().in_errs, errs + 3);
    assert!(p.b.recv_datagram().is_none());
}
