//! Roaming on the sans-io `Endpoint`, on a virtual clock: a client whose NAT rebinds in
//! the middle of an echo keeps its session once its new address answers the server's
//! challenge (and loses it without roaming); a forger replaying recorded datagrams from
//! other addresses, or reflecting what it receives, neither moves nor stalls the session;
//! and one address holds several sessions, told apart by conversation id.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use kcp_session::{Config, Endpoint, Event, Handle, Settings, State};
use kcp_testkit::sim::Rng;

fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, host], port))
}

const SERVER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 100)),
    4000,
);

fn settings(roaming: bool) -> Settings {
    let mut c = Config::kcptun();
    c.key = b"roaming tests".to_vec();
    c.roaming = roaming;
    c.idle_timeout = Some(Duration::from_secs(5));
    c.build().unwrap()
}

/// What a forger at an address does with what the server sends it.
#[derive(Clone, Copy, PartialEq)]
enum Forger {
    /// Receives and ignores.
    Silent,
    /// Sends every datagram it receives straight back to the server.
    Reflect,
}

struct World {
    now: u32,
    delay: u32,
    server: Endpoint,
    /// The client endpoint and the address its datagrams come from now.
    client: Endpoint,
    client_addr: SocketAddr,
    forgers: BTreeMap<SocketAddr, Forger>,
    /// (due, to, from, datagram)
    wire: Vec<(u32, SocketAddr, SocketAddr, Vec<u8>)>,
    /// Every datagram the client sent, with its source: what a forger records.
    recorded: Vec<Vec<u8>>,
    /// Bytes the server sent to each address, and each forger sent the server.
    to: BTreeMap<SocketAddr, usize>,
    forged_bytes: BTreeMap<SocketAddr, usize>,
    /// Datagrams to addresses nobody holds any more (the old NAT mapping).
    lost: usize,
}

impl World {
    fn new(server: &Settings, client: &Settings) -> World {
        let mut s = Endpoint::new(server, [3; 32]);
        s.listen(true);
        World {
            now: 0,
            delay: 15,
            server: s,
            client: Endpoint::new(client, [4; 32]),
            client_addr: addr(1, 5000),
            forgers: BTreeMap::new(),
            wire: Vec::new(),
            recorded: Vec::new(),
            to: BTreeMap::new(),
            forged_bytes: BTreeMap::new(),
            lost: 0,
        }
    }

    /// A datagram from `from` to the server, sent now.
    fn forge(&mut self, from: SocketAddr, d: Vec<u8>) {
        *self.forged_bytes.entry(from).or_default() += d.len();
        self.wire.push((self.now + self.delay, SERVER, from, d));
    }

    fn step(&mut self, server_app: &mut Echo) {
        self.now += 1;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|d| d.0 <= now);
        self.wire = rest;
        for (_, to, from, mut d) in due {
            if to == SERVER {
                self.server.handle(now, from, &mut d);
            } else if to == self.client_addr {
                self.client.handle(now, from, &mut d);
            } else if let Some(&f) = self.forgers.get(&to) {
                if f == Forger::Reflect {
                    self.forge(to, d);
                }
            } else {
                self.lost += 1;
            }
        }
        self.server.handle_timeout(now);
        self.client.handle_timeout(now);
        server_app.run(&mut self.server, now);
        while let Some(t) = self.server.poll_transmit(now) {
            for d in t.datagrams() {
                *self.to.entry(t.destination).or_default() += d.len();
                self.wire
                    .push((now + self.delay, t.destination, SERVER, d.to_vec()));
            }
        }
        while let Some(t) = self.client.poll_transmit(now) {
            for d in t.datagrams() {
                self.recorded.push(d.to_vec());
                self.wire
                    .push((now + self.delay, SERVER, self.client_addr, d.to_vec()));
            }
        }
    }
}

/// The server application: accepts every session and echoes what it reads.
#[derive(Default)]
struct Echo {
    sessions: Vec<Handle>,
}

impl Echo {
    fn run(&mut self, ep: &mut Endpoint, now: u32) {
        while let Some(h) = ep.accept() {
            self.sessions.push(h);
        }
        while let Some(e) = ep.poll_event() {
            if let Event::Progress(h) = e {
                let mut buf = [0u8; 4096];
                loop {
                    let room = ep.session(h).map_or(0, |s| s.send_capacity());
                    match ep.recv(h, &mut buf[..room.min(4096)]) {
                        Ok(n) if n > 0 => {
                            ep.send(now, h, &buf[..n]).unwrap();
                        }
                        _ => break,
                    }
                }
            }
        }
    }
}

/// A client session writing `data` and reading the echo.
struct Transfer {
    h: Handle,
    data: Vec<u8>,
    written: usize,
    got: Vec<u8>,
}

impl Transfer {
    fn start(w: &mut World, seed: u64, len: usize) -> Transfer {
        let h = w.client.connect(w.now, SERVER).unwrap();
        Transfer {
            h,
            data: Rng::new(seed).bytes(len),
            written: 0,
            got: Vec::new(),
        }
    }

    fn pump(&mut self, w: &mut World) {
        let now = w.now;
        while self.written < self.data.len() {
            let end = (self.written + 16 * 1024).min(self.data.len());
            match w.client.send(now, self.h, &self.data[self.written..end]) {
                Ok(n) if n > 0 => self.written += n,
                _ => break,
            }
        }
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = w.client.recv(self.h, &mut buf) {
            self.got.extend_from_slice(&buf[..n]);
        }
    }

    fn done(&self) -> bool {
        self.got.len() == self.data.len()
    }
}

/// Runs until every transfer completes or `limit` ms pass; calls `at` each millisecond.
fn run(
    w: &mut World,
    app: &mut Echo,
    transfers: &mut [Transfer],
    limit: u32,
    mut at: impl FnMut(&mut World, &Transfer),
) -> bool {
    while w.now < limit {
        for t in transfers.iter_mut() {
            t.pump(w);
        }
        while w.client.poll_event().is_some() {}
        at(w, &transfers[0]);
        if transfers.iter().all(Transfer::done) {
            for t in transfers.iter() {
                let bad = t.got.iter().zip(&t.data).position(|(a, b)| a != b);
                assert!(bad.is_none(), "echo differs from byte {bad:?}");
            }
            return true;
        }
        w.step(app);
    }
    false
}

const LEN: usize = 512 * 1024;

/// The client's NAT rebinds when the first bytes of the echo are back: its old address
/// is gone, and most of the transfer has to cross the new one.
fn rebinding(roaming: bool) -> (World, Echo, bool) {
    let mut w = World::new(&settings(roaming), &settings(false));
    let mut app = Echo::default();
    let mut t = [Transfer::start(&mut w, 1, LEN)];
    let mut moved = false;
    let done = run(&mut w, &mut app, &mut t, 20_000, |w, t| {
        if !moved && !t.got.is_empty() {
            moved = true;
            w.client_addr = addr(1, 6000);
        }
    });
    assert!(moved);
    (w, app, done)
}

#[test]
fn a_client_whose_nat_rebinds_keeps_its_session() {
    let (w, app, done) = rebinding(true);
    assert!(done, "echo incomplete at {} ms", w.now);
    let h = app.sessions[0];
    assert_eq!(w.server.remote(h), Some(addr(1, 6000)));
    assert_eq!(w.server.session(h).unwrap().state(), State::Open);
    let stats = w.server.stats();
    assert_eq!(stats.roamed, 1);
    assert!(stats.challenges >= 1);
    assert_eq!(app.sessions.len(), 1, "no second session was opened");
}

#[test]
fn without_roaming_a_rebound_client_loses_its_session() {
    let (w, _app, done) = rebinding(false);
    assert!(!done);
    // kcp-go's rules: the new address is an unknown peer whose conversation is live.
    assert!(w.server.stats().replays > 0);
    assert!(w.lost > 0);
}

#[test]
fn replayed_datagrams_from_other_addresses_neither_move_nor_stall_a_session() {
    let mut w = World::new(&settings(true), &settings(false));
    let mut app = Echo::default();
    let mut t = [Transfer::start(&mut w, 2, LEN)];
    let silent = addr(66, 1);
    let reflector = addr(67, 1);
    w.forgers.insert(silent, Forger::Silent);
    w.forgers.insert(reflector, Forger::Reflect);
    let mut k = 0usize;
    let done = run(&mut w, &mut app, &mut t, 20_000, |w, _| {
        // Every 5 ms, replay a recorded client datagram (data and acknowledgements of
        // the server's data alike) from each forger's address.
        if w.now % 5 == 0 && !w.recorded.is_empty() {
            k = (k + 7) % w.recorded.len();
            let d = w.recorded[k].clone();
            w.forge(silent, d.clone());
            w.forge(reflector, d);
        }
    });
    assert!(done, "echo incomplete at {} ms", w.now);
    let h = app.sessions[0];
    assert_eq!(w.server.remote(h), Some(addr(1, 5000)));
    let stats = w.server.stats();
    assert_eq!(stats.roamed, 0);
    assert!(stats.challenges > 0, "the forgers were challenged");
    // What went to each forger stays within 3x what it sent.
    for f in [silent, reflector] {
        let (sent, got) = (w.forged_bytes[&f], w.to.get(&f).copied().unwrap_or(0));
        assert!(got <= 3 * sent, "{f}: sent {sent}, got {got}");
    }
}

#[test]
fn one_address_holds_several_sessions_told_apart_by_conversation() {
    let s = settings(true);
    let mut w = World::new(&s, &s);
    let mut app = Echo::default();
    let mut t = [
        Transfer::start(&mut w, 3, 64 * 1024),
        Transfer::start(&mut w, 4, 64 * 1024),
    ];
    assert_ne!(t[0].h, t[1].h);
    assert!(run(&mut w, &mut app, &mut t, 20_000, |_, _| {}));
    assert_eq!(app.sessions.len(), 2);
    // FEC parity carries no conversation id: with two sessions at one address it is
    // dropped on both sides (recovering with another session's parity corrupts data).
    assert!(w.server.stats().refused > 0);
    assert_eq!(w.server.stats().replaced, 0);
}
