//! Liveness on the sans-io `Endpoint`, on a virtual clock: a dialer that confirms the
//! server answers (or learns at the exact timeout that it does not), and keepalive probes
//! that keep an idle session past its idle timeout and find a vanished peer at exactly
//! three intervals. The probes are KCP window probes, which any KCP peer answers; the
//! kcp-go interop of the same is in `kcpgo_liveness.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use kcp_session::{Config, DeadReason, Endpoint, Event, Handle, Settings, State};

const CLIENT: u16 = 1;
const SERVER: u16 = 2;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn settings(keepalive: Option<u64>, idle: u64) -> Settings {
    let mut c = Config::kcptun();
    c.key = b"liveness tests".to_vec();
    c.keepalive = keepalive.map(Duration::from_millis);
    c.idle_timeout = Some(Duration::from_millis(idle));
    c.build().unwrap()
}

/// Two endpoints joined by a one-way delay, stepped one millisecond at a time.
struct Net {
    now: u32,
    delay: u32,
    client: Endpoint,
    server: Endpoint,
    /// (due, to, from, datagram)
    wire: Vec<(u32, u16, u16, Vec<u8>)>,
    /// Drop everything the server sends (it vanished), or everything at all.
    server_gone: bool,
    /// Datagrams each side handed to the wire.
    sent: [usize; 2],
    /// Server-side sessions the application accepted, and data it read.
    accepted: Vec<Handle>,
    server_read: usize,
    client_events: Vec<(u32, Event)>,
}

impl Net {
    fn new(client: &Settings, server: &Settings, delay: u32) -> Net {
        let mut s = Endpoint::new(server, [2; 32]);
        s.listen(true);
        Net {
            now: 0,
            delay,
            client: Endpoint::new(client, [1; 32]),
            server: s,
            wire: Vec::new(),
            server_gone: false,
            sent: [0; 2],
            accepted: Vec::new(),
            server_read: 0,
            client_events: Vec::new(),
        }
    }

    fn step(&mut self) {
        self.now += 1;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|d| d.0 <= now);
        self.wire = rest;
        for (_, to, from, mut d) in due {
            let ep = if to == SERVER {
                &mut self.server
            } else {
                &mut self.client
            };
            ep.handle(now, addr(from), &mut d);
        }
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        while let Some(h) = self.server.accept() {
            self.accepted.push(h);
        }
        while let Some(e) = self.server.poll_event() {
            if let Event::Progress(h) = e {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = self.server.recv(h, &mut buf) {
                    self.server_read += n;
                }
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push((now, e));
        }
        for (i, from) in [(0, CLIENT), (1, SERVER)] {
            let ep = if from == CLIENT {
                &mut self.client
            } else {
                &mut self.server
            };
            while let Some(t) = ep.poll_transmit(now) {
                let to = if t.destination == addr(SERVER) {
                    SERVER
                } else {
                    CLIENT
                };
                for d in t.datagrams() {
                    self.sent[i] += 1;
                    if !(from == SERVER && self.server_gone) {
                        self.wire.push((now + self.delay, to, from, d.to_vec()));
                    }
                }
            }
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&Net) -> bool, limit: u32) -> u32 {
        while !done(self) {
            assert!(self.now < limit, "not done by {limit} ms");
            self.step();
        }
        self.now
    }
}

#[test]
fn confirm_resolves_once_the_server_answers_and_delivers_nothing() {
    let s = settings(None, 60_000);
    let mut net = Net::new(&s, &s, 10);
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    net.client.confirm(0, h, Duration::from_secs(3));
    assert!(!net.client.session(h).unwrap().is_confirmed());
    let at = net.run_until(|n| n.client.session(h).unwrap().is_confirmed(), 3000);
    // The probe leaves at once; the server answers at its next flush (30 ms in mode fast).
    assert!(at <= 2 * 10 + 30 + 1, "confirmed at {at} ms");
    assert_eq!(net.client.session(h).unwrap().state(), State::Open);
    assert!(
        net.client_events.iter().any(|e| e.1 == Event::Progress(h)),
        "{:?}",
        net.client_events
    );
    // The server opened a session for the probe, and its application read nothing.
    assert_eq!(net.accepted.len(), 1);
    assert_eq!(net.server_read, 0);
    // One probe went (the answer came before a retry) and the stream works.
    assert_eq!(net.sent[0], 1);
    net.client.send(net.now, h, b"after confirm").unwrap();
    net.run_until(|n| n.server_read == 13, 4000);
}

#[test]
fn confirm_fails_at_exactly_the_timeout_when_nothing_answers() {
    let s = settings(None, 60_000);
    let mut net = Net::new(&s, &s, 10);
    net.server_gone = true;
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    net.client.confirm(0, h, Duration::from_millis(1000));
    let at = net.run_until(|n| n.client.session(h).unwrap().state().is_ended(), 5000);
    assert_eq!(at, 1000);
    assert_eq!(
        net.client.session(h).unwrap().state(),
        State::Dead(DeadReason::Unanswered)
    );
    assert!(net.client_events.contains(&(1000, Event::Ended(h))));
    // Probes at 0, 250, 500 and 750 ms, 24 bytes of KCP each.
    assert_eq!(net.sent[0], 4);
}

#[test]
fn without_confirm_nothing_is_sent_and_the_session_waits_for_the_idle_timeout() {
    let s = settings(None, 2_000);
    let mut net = Net::new(&s, &s, 10);
    net.server_gone = true;
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    let at = net.run_until(|n| n.client.session(h).unwrap().state().is_ended(), 5000);
    assert_eq!(at, 2000);
    assert_eq!(net.sent[0], 0);
    assert_eq!(
        net.client.session(h).unwrap().state(),
        State::Dead(DeadReason::IdleTimeout)
    );
}

/// Client and server with keepalive 500 ms and idle timeout 2 s, after one exchange.
fn idle_pair() -> (Net, Handle) {
    let s = settings(Some(500), 2_000);
    let mut net = Net::new(&s, &s, 10);
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    net.client.send(0, h, b"hello").unwrap();
    net.run_until(|n| n.server_read == 5, 1000);
    (net, h)
}

#[test]
fn keepalive_keeps_an_idle_session_past_its_idle_timeout() {
    let (mut net, h) = idle_pair();
    let start = net.now;
    let sent = net.sent;
    net.run_until(|n| n.now >= start + 20_000, 30_000);
    assert_eq!(net.client.session(h).unwrap().state(), State::Open);
    let sh = net.accepted[0];
    assert_eq!(net.server.session(sh).unwrap().state(), State::Open);
    // Each side probes once per interval at most and answers the other's probe:
    // 20 s / 500 ms = 40 intervals, two datagrams each, and FEC 10/3 adds three parity
    // packets per ten.
    for (side, before) in sent.iter().enumerate() {
        let n = net.sent[side] - before;
        assert!(
            n <= (2 * 40 + 1) * 13 / 10 + 3,
            "side {side} sent {n} datagrams"
        );
    }
    // The session still carries data.
    net.client.send(net.now, h, b"still there").unwrap();
    net.run_until(|n| n.server_read == 16, 30_000);
}

#[test]
fn without_keepalive_the_same_idle_session_ends_at_the_idle_timeout() {
    let s = settings(None, 2_000);
    let mut net = Net::new(&s, &s, 10);
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    net.client.send(0, h, b"hello").unwrap();
    net.run_until(|n| n.server_read == 5, 1000);
    net.run_until(|n| n.client.session(h).unwrap().state().is_ended(), 5000);
    assert_eq!(
        net.client.session(h).unwrap().state(),
        State::Dead(DeadReason::IdleTimeout)
    );
}

#[test]
fn keepalive_finds_a_vanished_peer_after_exactly_three_intervals() {
    let s = settings(Some(500), 60_000);
    let mut net = Net::new(&s, &s, 10);
    let h = net.client.connect(0, addr(SERVER)).unwrap();
    net.client.send(0, h, b"hello").unwrap();
    net.run_until(|n| n.server_read == 5, 1000);
    // Let everything settle (the acknowledgement of "hello" arrived), then the server
    // vanishes; the client last heard it when that acknowledgement came.
    net.run_until(|n| n.client.session(h).unwrap().kcp().wait_snd() == 0, 1000);
    let heard = net
        .client_events
        .iter()
        .rev()
        .find(|e| e.1 == Event::Progress(h))
        .unwrap()
        .0;
    net.server_gone = true;
    let sent = net.sent[0];
    let at = net.run_until(|n| n.client.session(h).unwrap().state().is_ended(), 10_000);
    assert_eq!(
        net.client.session(h).unwrap().state(),
        State::Dead(DeadReason::Unanswered)
    );
    // Probes at heard + 500 and + 1000 (answers lost); dead at heard + 1500.
    assert_eq!(at, heard + 1500, "heard at {heard}");
    assert_eq!(net.sent[0] - sent, 2);
}

#[test]
fn a_keepalive_not_shorter_than_the_idle_timeout_is_refused() {
    let mut c = Config::default();
    c.keepalive = Some(Duration::from_secs(60));
    assert_eq!(c.build().unwrap_err(), kcp_session::ConfigError::Keepalive);
    c.keepalive = Some(Duration::ZERO);
    assert_eq!(c.build().unwrap_err(), kcp_session::ConfigError::Keepalive);
    c.keepalive = Some(Duration::from_secs(10));
    assert!(c.build().is_ok());
}
