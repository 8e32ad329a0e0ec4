//! Hostile datagram sequences into a listening sans-io `Endpoint`: floods of garbage from
//! many addresses, honest peers that restart with new conversations (replacement at
//! sequence number 0), replays and tampered copies of their datagrams, and the
//! application accepting, writing, reading and releasing. Nothing may panic, every
//! datagram is accounted for in the endpoint's counters, the session count stays within
//! the configured limit, the replay cache stays within its size, and behind a cipher what
//! a session reads is what its peer sent. One setting runs with tight limits (a replay
//! cache of 4, a 16 KiB memory budget, 2 sessions per address) so that they are hit. An
//! address that only ever sends garbage never gets more than `amplification_limit` times
//! the bytes it sent, unless a session there has seen the proof of receipt (which, with no
//! cipher and a fixed seed, the fuzzer may find by guessing).
#![no_main]
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use kcp_crypt::CipherKind;
use kcp_session::{Config, DatagramEvent, Endpoint, Handle, Session, Settings};
use libfuzzer_sys::fuzz_target;

const PEERS: usize = 4;
const MAX_SESSIONS: usize = 6;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Garbage from one of 256 addresses.
    Garbage { from: u8, bytes: Vec<u8> },
    /// A peer writes; its datagrams go out at the next `Deliver`.
    PeerWrites { peer: u8, len: u16 },
    /// A peer restarts with a new conversation (its next datagram has sn 0).
    PeerRestarts { peer: u8, conv: u32 },
    /// The peers' queued datagrams arrive, possibly from a wrong address, replayed or
    /// tampered.
    Deliver {
        misroute: u8,
        replay: bool,
        flip: Option<(u16, u8)>,
    },
    /// The application accepts, reads everything and answers; or releases a session.
    App { release: Option<u8> },
    /// Time passes.
    Tick(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Which of [`all_settings`].
    setting: u8,
    ops: Vec<Op>,
}

/// A few shapes: no crypto (the listener rules see every byte), AES with FEC, salsa20, and
/// salsa20 with tight listener limits.
fn all_settings() -> &'static [Settings] {
    static ALL: OnceLock<Vec<Settings>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for (crypt, fec, tight) in [
            (CipherKind::Null, false, false),
            (CipherKind::Null, true, false),
            (CipherKind::Aes256, true, false),
            (CipherKind::Salsa20, false, false),
            (CipherKind::Salsa20, true, true),
        ] {
            let mut c = Config::default();
            c.crypt = crypt;
            c.key = b"fuzz".to_vec();
            (c.data_shards, c.parity_shards) = if fec { (3, 2) } else { (0, 0) };
            c.max_sessions = MAX_SESSIONS;
            c.accept_backlog = 3;
            if tight {
                c.replay_cache = 4;
                c.memory_budget = Some(16 << 10);
                c.max_sessions_per_ip = 2;
            }
            all.push(c.build().unwrap());
        }
        all
    })
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 4000))
}

struct Peer {
    session: Session,
    sent: Vec<u8>,
    queued: Vec<Vec<u8>>,
    last: Option<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let all = all_settings();
    let settings = &all[usize::from(input.setting) % all.len()];
    let mut now = 0u32;
    let mut ep = Endpoint::new(settings, [7; 32]);
    ep.listen(true);
    let mut peers: Vec<Peer> = (0..PEERS)
        .map(|i| Peer {
            session: Session::new(i as u32 + 1, settings, now, [7; 32]),
            sent: Vec::new(),
            queued: Vec::new(),
            last: None,
        })
        .collect();
    let mut used_convs: HashSet<u32> = (1..=PEERS as u32).collect();
    // What each accepted session read, by handle, with the peer whose conversation it is.
    let mut sessions: Vec<(Handle, usize, Vec<u8>)> = Vec::new();
    let mut handled = 0u64;
    let mut buf = vec![0u8; 8192];
    // Addresses that only ever send garbage (misrouted datagrams come from the first
    // PEERS + 2): bytes from each, bytes to each, their sessions, and those proven.
    let garbage_only = |a: &SocketAddr| (PEERS + 2..PEERS + 256).any(|i| addr(i) == *a);
    let mut bytes_from: HashMap<SocketAddr, u64> = HashMap::new();
    let mut bytes_to: HashMap<SocketAddr, u64> = HashMap::new();
    let mut garbage_sessions: HashSet<Handle> = HashSet::new();
    let mut proven: HashSet<SocketAddr> = HashSet::new();
    let limit = settings.config().amplification_limit.map(u64::from);
    for op in input.ops.into_iter().take(200) {
        match op {
            Op::Garbage { from, mut bytes } => {
                let from = addr(PEERS + usize::from(from));
                *bytes_from.entry(from).or_default() += bytes.len() as u64;
                if let DatagramEvent::Incoming(h) | DatagramEvent::Session(h) =
                    ep.handle(now, from, &mut bytes)
                {
                    garbage_sessions.insert(h);
                }
                handled += 1;
            }
            Op::PeerWrites { peer, len } => {
                let p = &mut peers[usize::from(peer) % PEERS];
                let msg: Vec<u8> = (0..len % 4000)
                    .map(|i| (p.sent.len() + usize::from(i)) as u8)
                    .collect();
                if let Ok(n) = p.session.send(now, &msg) {
                    p.sent.extend_from_slice(&msg[..n]);
                }
                let queued = &mut p.queued;
                p.session.poll(now, |d| queued.push(d.to_vec()));
            }
            // A restart takes a conversation id never used before: with an old one, the
            // server's session of the earlier life (perhaps not yet accepted) would be
            // taken for the new peer's, and its reads compared with what the new one sent.
            Op::PeerRestarts { peer, conv } if used_convs.insert(conv) => {
                let i = usize::from(peer) % PEERS;
                peers[i] = Peer {
                    session: Session::new(conv, settings, now, [7; 32]),
                    sent: Vec::new(),
                    queued: Vec::new(),
                    last: None,
                };
                // Its old sessions' reads no longer say anything about the new peer.
                sessions.retain(|(_, p, _)| *p != i);
            }
            Op::Deliver {
                misroute,
                replay,
                flip,
            } => {
                for i in 0..PEERS {
                    let from = addr((i + usize::from(misroute)) % (PEERS + 2));
                    let tampered = flip.is_some() || from != addr(i);
                    for mut d in std::mem::take(&mut peers[i].queued) {
                        if let Some((at, x)) = flip {
                            let at = usize::from(at) % d.len().max(1);
                            if let Some(b) = d.get_mut(at) {
                                *b ^= x;
                            }
                        }
                        if !tampered {
                            peers[i].last = Some(d.clone());
                        }
                        ep.handle(now, from, &mut d);
                        handled += 1;
                    }
                    if replay && let Some(mut d) = peers[i].last.clone() {
                        ep.handle(now, addr(i), &mut d);
                        handled += 1;
                    }
                }
            }
            Op::App { release } => {
                // A session belongs to the peer whose conversation it carries (a datagram
                // may have come through another address).
                while let Some(h) = ep.accept() {
                    let conv = ep.session(h).map(Session::conv);
                    let owners: Vec<usize> = (0..PEERS)
                        .filter(|&i| Some(peers[i].session.conv()) == conv)
                        .collect();
                    match owners[..] {
                        [i] => sessions.push((h, i, Vec::new())),
                        _ => ep.release(now, h),
                    }
                }
                for (h, _, got) in &mut sessions {
                    while let Ok(n) = ep.recv(*h, &mut buf) {
                        got.extend_from_slice(&buf[..n]);
                    }
                    let _ = ep.send(now, *h, b"ack");
                }
                if let Some(r) = release
                    && !sessions.is_empty()
                {
                    let (h, _, _) = sessions.remove(usize::from(r) % sessions.len());
                    ep.release(now, h);
                }
            }
            Op::PeerRestarts { .. } => {}
            Op::Tick(ms) => {
                now = now.wrapping_add(u32::from(ms % 5000));
                ep.handle_timeout(now);
            }
        }
        for &h in &garbage_sessions {
            if let (Some(s), Some(a)) = (ep.session(h), ep.remote(h))
                && s.is_proven()
            {
                proven.insert(a);
            }
        }
        // Answers reach the peers (routing by destination).
        while let Some(t) = ep.poll_transmit(now) {
            for d in t.datagrams() {
                *bytes_to.entry(t.destination).or_default() += d.len() as u64;
                if let Some(i) = (0..PEERS).find(|&i| addr(i) == t.destination) {
                    let _ = peers[i].session.input(now, &mut d.to_vec());
                }
            }
        }
        while ep.poll_event().is_some() {}
        if let Some(limit) = limit {
            for (a, &out) in &bytes_to {
                if garbage_only(a) && !proven.contains(a) {
                    let got = bytes_from.get(a).copied().unwrap_or(0);
                    assert!(
                        out <= limit * got,
                        "{out} bytes sent to {a}, which sent {got} and proved nothing"
                    );
                }
            }
        }
        let st = ep.stats();
        assert_eq!(st.datagrams, handled, "a datagram went uncounted");
        assert!(
            ep.replay_cache_len() <= settings.config().replay_cache,
            "the replay cache grew to {}",
            ep.replay_cache_len()
        );
        let live = sessions.len() + 3; // accepted ones plus the backlog
        assert!(
            ep.len() <= MAX_SESSIONS.max(live) + PEERS * 2,
            "{} sessions held",
            ep.len()
        );
    }
    // Behind a cipher (which checks a CRC or a tag), what each session read is a prefix
    // of what its peer sent, whatever was forged, replayed or misrouted.
    if settings.config().crypt != CipherKind::Null {
        for (_, i, got) in &sessions {
            let sent = &peers[*i].sent;
            assert!(
                sent.starts_with(got),
                "session of peer {i} read bytes its peer never sent"
            );
        }
    }
});
