//! A virtual network for attack tests on the sans-io `Endpoint`: one listening server,
//! clients that are real `Session`s, and victims (addresses that receive and never answer),
//! joined by a fixed one-way delay on a virtual clock that jumps from event to event. A
//! small server application accepts every session and answers the first bytes of each
//! with a reply of a set size, so the tests can count what reaches a victim per byte
//! received from it.

#![allow(dead_code)] // each test file uses part of it

use std::collections::BTreeMap;
use std::net::SocketAddr;

use kcp_session::{Endpoint, Event, Handle, RecvError, SendError, Session, Settings};

/// The server's address in the lab.
pub(crate) const SERVER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
    4000,
);

/// Address `port` of host `host` (198.51.100.host).
pub(crate) fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([198, 51, 100, host], port))
}

/// A session with a fixed seed (the lab is deterministic).
pub(crate) fn session(conv: u32, settings: &Settings, now: u32) -> Session {
    Session::new(conv, settings, now, [7; 32])
}

/// A listening endpoint with a fixed seed.
pub(crate) fn server(settings: &Settings) -> Endpoint {
    let mut ep = Endpoint::new(settings, [7; 32]);
    ep.listen(true);
    ep
}

/// The datagrams a fresh client session of `conv` sends for one write of `data` at `now`:
/// what an eavesdropper records of a client's first request.
pub(crate) fn first_datagrams(
    settings: &Settings,
    conv: u32,
    now: u32,
    data: &[u8],
) -> Vec<Vec<u8>> {
    let mut s = session(conv, settings, now);
    s.send(now, data).unwrap();
    let mut out = Vec::new();
    s.poll(now, |d| out.push(d.to_vec()));
    out
}

/// A client: a real session and what it received.
pub(crate) struct Client {
    pub addr: SocketAddr,
    pub session: Session,
    pub got: Vec<u8>,
    /// When the first byte and the `want`-th byte arrived.
    pub first_byte_at: Option<u32>,
    pub want: usize,
    pub complete_at: Option<u32>,
    /// Bytes still to write.
    pub to_send: Vec<u8>,
}

/// What the server application does with each session.
#[derive(Default)]
pub(crate) struct App {
    /// Bytes of reply to the first bytes a session delivers.
    pub reply: usize,
    /// Per session: bytes delivered to the application, and reply bytes still to write.
    pub delivered: BTreeMap<Handle, usize>,
    pending: BTreeMap<Handle, usize>,
    /// Sessions the application accepted, in order.
    pub accepted: Vec<Handle>,
    /// Sessions that ended.
    pub ended: Vec<Handle>,
}

pub(crate) struct Lab {
    pub now: u32,
    pub server: Endpoint,
    pub app: App,
    pub delay: u32,
    /// Datagrams in flight: (due, order, from, to, bytes).
    wire: Vec<(u32, u64, SocketAddr, SocketAddr, Vec<u8>)>,
    order: u64,
    pub clients: Vec<Client>,
    /// Bytes (datagrams) the server sent to each address, and received from it.
    pub to: BTreeMap<SocketAddr, (usize, usize)>,
    pub from: BTreeMap<SocketAddr, (usize, usize)>,
    /// How many of the server's next datagrams to clients the network loses.
    pub lose_to_clients: usize,
    /// The clients' datagrams to the server sent in this window (virtual ms) are lost.
    pub lose_from_clients: std::ops::Range<u32>,
    /// The application makes one send call per step, so that each is flushed before the
    /// next (as a tokio writer's `write_all` is), instead of sending until refused.
    pub one_send_per_step: bool,
}

impl Lab {
    pub(crate) fn new(server: Endpoint, delay: u32, reply: usize) -> Lab {
        Lab {
            now: 0,
            server,
            app: App {
                reply,
                ..App::default()
            },
            delay,
            wire: Vec::new(),
            order: 0,
            clients: Vec::new(),
            to: BTreeMap::new(),
            from: BTreeMap::new(),
            lose_to_clients: 0,
            lose_from_clients: 0..0,
            one_send_per_step: false,
        }
    }

    /// Adds a client at `addr` that writes `request` at once and expects `want` bytes.
    pub(crate) fn client(
        &mut self,
        addr: SocketAddr,
        session: Session,
        request: &[u8],
        want: usize,
    ) -> usize {
        self.clients.push(Client {
            addr,
            session,
            got: Vec::new(),
            first_byte_at: None,
            want,
            complete_at: None,
            to_send: request.to_vec(),
        });
        self.clients.len() - 1
    }

    /// Puts `datagram` on the wire from `from` to the server, arriving after the delay.
    pub(crate) fn inject(&mut self, from: SocketAddr, datagram: &[u8]) {
        self.put(from, SERVER, datagram.to_vec());
    }

    fn put(&mut self, from: SocketAddr, to: SocketAddr, d: Vec<u8>) {
        self.order += 1;
        self.wire
            .push((self.now.wrapping_add(self.delay), self.order, from, to, d));
    }

    /// Bytes the server sent to `a`.
    pub(crate) fn bytes_to(&self, a: SocketAddr) -> usize {
        self.to.get(&a).map_or(0, |v| v.0)
    }

    /// Bytes the server received from `a`.
    pub(crate) fn bytes_from(&self, a: SocketAddr) -> usize {
        self.from.get(&a).map_or(0, |v| v.0)
    }

    /// Runs until `end` (virtual ms) or until `stop` holds.
    pub(crate) fn run(&mut self, end: u32, mut stop: impl FnMut(&Lab) -> bool) {
        loop {
            self.step();
            if stop(self) || self.now >= end {
                return;
            }
            let next = self.next_event().unwrap_or(end).clamp(self.now + 1, end);
            self.now = next;
        }
    }

    fn next_event(&self) -> Option<u32> {
        let mut t: Option<u32> = None;
        let mut take = |x: u32| t = Some(t.map_or(x, |t| t.min(x)));
        for w in &self.wire {
            take(w.0);
        }
        if let Some(x) = self.server.poll_timeout() {
            take(x);
        }
        for c in &self.clients {
            if let Some(x) = c.session.next_timeout(self.now) {
                take(x);
            }
        }
        t
    }

    /// Delivers what is due, runs timers and both applications, sends what is queued.
    pub(crate) fn step(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.wire)
            .into_iter()
            .partition(|w| w.0 <= now);
        self.wire = later;
        let mut due = due;
        due.sort_by_key(|w| (w.0, w.1));
        for (_, _, from, to, mut d) in due {
            if to == SERVER {
                let e = self.from.entry(from).or_default();
                e.0 += d.len();
                e.1 += 1;
                self.server.handle(now, from, &mut d);
            } else if let Some(c) = self.clients.iter_mut().find(|c| c.addr == to) {
                let _ = c.session.input(now, &mut d);
            }
        }
        self.server.handle_timeout(now);
        self.serve();
        self.transmit();
        // Clients: write, read, poll.
        let mut out = Vec::new();
        for c in &mut self.clients {
            while !c.to_send.is_empty() {
                match c.session.send(now, &c.to_send) {
                    Ok(n) => {
                        c.to_send.drain(..n);
                    }
                    Err(_) => break,
                }
            }
            let mut buf = [0u8; 4096];
            while let Ok(n) = c.session.recv(&mut buf) {
                if n == 0 {
                    break;
                }
                c.first_byte_at.get_or_insert(now);
                c.got.extend_from_slice(&buf[..n]);
                if c.want > 0 && c.got.len() >= c.want {
                    c.complete_at.get_or_insert(now);
                }
            }
            if c.session
                .next_timeout(now)
                .is_some_and(|t| t.wrapping_sub(now) as i32 <= 0)
            {
                let addr = c.addr;
                c.session.poll(now, |d| out.push((addr, d.to_vec())));
            }
        }
        for (from, d) in out {
            if !self.lose_from_clients.contains(&now) {
                self.put(from, SERVER, d);
            }
        }
    }

    /// The server application: accept, read, reply.
    fn serve(&mut self) {
        let now = self.now;
        let once = self.one_send_per_step;
        let (ep, app) = (&mut self.server, &mut self.app);
        while let Some(h) = ep.accept() {
            app.accepted.push(h);
        }
        while let Some(ev) = ep.poll_event() {
            if let Event::Ended(h) = ev {
                app.ended.push(h);
            }
        }
        let mut buf = [0u8; 4096];
        for &h in &app.accepted {
            loop {
                match ep.recv(h, &mut buf) {
                    Ok(n) if n > 0 => {
                        let d = app.delivered.entry(h).or_default();
                        if *d == 0 {
                            app.pending.insert(h, app.reply);
                        }
                        *d += n;
                    }
                    Ok(_) | Err(RecvError::WouldBlock) => break,
                    Err(_) => break,
                }
            }
            if let Some(left) = app.pending.get_mut(&h) {
                while *left > 0 {
                    let n = (*left).min(16 * 1024);
                    match ep.send(now, h, &vec![0xAB; n]) {
                        Ok(k) if once => {
                            *left -= k;
                            break;
                        }
                        Ok(k) => *left -= k,
                        Err(SendError::WouldBlock) => break,
                        Err(_) => {
                            *left = 0;
                        }
                    }
                }
            }
        }
    }

    fn transmit(&mut self) {
        let now = self.now;
        let mut out = Vec::new();
        while let Some(t) = self.server.poll_transmit(now) {
            for d in t.datagrams() {
                out.push((t.destination, d.to_vec()));
            }
        }
        for (to, d) in out {
            let e = self.to.entry(to).or_default();
            e.0 += d.len();
            e.1 += 1;
            if self.clients.iter().any(|c| c.addr == to) {
                if self.lose_to_clients > 0 {
                    self.lose_to_clients -= 1;
                    continue;
                }
                self.put(SERVER, to, d);
            }
        }
    }
}
