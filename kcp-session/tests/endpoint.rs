//! The sans-io `Endpoint` without sockets: kcp-go 5.6.1's listener rules (sessions by
//! address, replacement only at sequence number 0, backlog, session limit), datagrams
//! dropped before any work, sessions that end and free their address, and the misuse
//! and hostile-input rules of the session layer (capped acknowledgement list, saturating
//! durations, refused empty keys).

use std::net::SocketAddr;
use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::{
    Config, ConfigError, DatagramEvent, DropReason, Endpoint, Event, Handle, InputError, RecvError,
    SendError, Session, Settings, State, conv_and_sn,
};
use kcp_testkit::sim::Rng;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn settings() -> Settings {
    let mut c = Config::kcptun();
    c.key = b"endpoint tests".to_vec();
    c.build().unwrap()
}

/// A peer's session: the datagrams it produces, sealed with the same settings.
struct Peer {
    session: Session,
}

impl Peer {
    fn new(settings: &Settings, conv: u32) -> Peer {
        Peer {
            session: Session::new(conv, settings, 0, [7; 32]),
        }
    }

    /// The datagrams one write of `data` produces at `now`.
    fn write(&mut self, now: u32, data: &[u8]) -> Vec<Vec<u8>> {
        self.session.send(now, data).unwrap();
        let mut out = Vec::new();
        self.session.poll(now, |d| out.push(d.to_vec()));
        out
    }
}

/// Everything `ep` wants to send, as (destination, datagram).
fn drain(ep: &mut Endpoint, now: u32) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit(now) {
        for d in t.datagrams() {
            out.push((t.destination, d.to_vec()));
        }
    }
    out
}

fn listening(settings: &Settings) -> Endpoint {
    let mut ep = Endpoint::new(settings, [7; 32]);
    ep.listen(true);
    ep
}

#[test]
fn a_new_peer_opens_a_session_that_the_application_accepts() {
    let s = settings();
    let mut ep = listening(&s);
    let mut peer = Peer::new(&s, 42);
    let mut d = peer.write(0, b"hello").remove(0);
    let DatagramEvent::Incoming(h) = ep.handle(0, addr(1), &mut d) else {
        panic!("no new session");
    };
    assert_eq!(ep.poll_event(), Some(Event::Incoming(h)));
    assert_eq!(ep.poll_event(), Some(Event::Progress(h)));
    assert_eq!(ep.accept(), Some(h));
    assert_eq!(ep.accept(), None);
    assert_eq!(ep.session(h).unwrap().conv(), 42);
    assert_eq!(ep.remote(h), Some(addr(1)));
    let mut buf = [0u8; 16];
    assert_eq!(ep.recv(h, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    // The acknowledgement goes back to the peer at the next poll.
    let out = drain(&mut ep, 1);
    assert!(!out.is_empty() && out.iter().all(|(to, _)| *to == addr(1)));
    for (_, mut d) in out {
        peer.session.input(1, &mut d).unwrap();
    }
    assert_eq!(peer.session.kcp().wait_snd(), 0, "acknowledged");
}

#[test]
fn datagrams_that_open_nothing_are_dropped_and_counted() {
    let s = settings();
    let mut ep = Endpoint::new(&s, [7; 32]);
    let mut d = Peer::new(&s, 1).write(0, b"x").remove(0);
    assert_eq!(
        ep.handle(0, addr(1), &mut d.clone()),
        DatagramEvent::Dropped(DropReason::NotListening)
    );
    ep.listen(true);
    // Longer than any kcp-go peer sends: not even decrypted.
    let mut big = vec![7u8; 1501];
    assert_eq!(
        ep.handle(0, addr(2), &mut big),
        DatagramEvent::Dropped(DropReason::Oversized)
    );
    assert_eq!(big, vec![7u8; 1501]);
    // Noise, and a datagram under another key.
    let mut rng = Rng::new(1);
    for len in [0, 10, 30, 1400] {
        assert_eq!(
            ep.handle(0, addr(3), &mut rng.bytes(len)),
            DatagramEvent::Dropped(DropReason::Crypt)
        );
    }
    let mut other = Config::kcptun();
    other.key = b"another key".to_vec();
    let mut foreign = Peer::new(&other.build().unwrap(), 5)
        .write(0, b"x")
        .remove(0);
    assert_eq!(
        ep.handle(0, addr(4), &mut foreign),
        DatagramEvent::Dropped(DropReason::Crypt)
    );
    // A valid datagram with no conversation id: a bare FEC parity packet (too short).
    let mut plain = Config::default();
    plain.data_shards = 1;
    plain.parity_shards = 1;
    let plain = plain.build().unwrap();
    let mut plain_ep = listening(&plain);
    let mut parity = vec![0u8; 8 + 24];
    parity[4] = 0xF2; // FEC parity type
    assert_eq!(
        plain_ep.handle(0, addr(5), &mut parity),
        DatagramEvent::Dropped(DropReason::NoConversation)
    );
    assert!(ep.is_empty() && plain_ep.is_empty());
    let st = ep.stats();
    assert_eq!(
        (st.datagrams, st.oversized, st.crypt_errors, st.refused),
        (7, 1, 5, 1)
    );
    assert!(matches!(
        ep.handle(0, addr(1), &mut d),
        DatagramEvent::Incoming(_)
    ));
}

#[test]
fn a_new_conversation_from_a_known_address_replaces_only_at_sn_zero() {
    let s = settings();
    let mut ep = listening(&s);
    let mut first = Peer::new(&s, 1);
    let mut d = first.write(0, b"one").remove(0);
    let DatagramEvent::Incoming(old) = ep.handle(0, addr(1), &mut d) else {
        panic!()
    };
    ep.accept().unwrap();
    // The endpoint writes to the peer, which never acknowledges: retransmissions pend.
    ep.send(0, old, &[1; 5000]).unwrap();
    assert!(!drain(&mut ep, 0).is_empty());

    // Conversation 2 starting mid-stream (sn 1): dropped, session 1 untouched.
    let mut second = Peer::new(&s, 2);
    second.write(0, b"x");
    let mut d = second.write(0, b"two").remove(0);
    assert_eq!(conv_and_sn(&open(&s, &d)).unwrap(), (2, 1));
    assert_eq!(
        ep.handle(1, addr(1), &mut d),
        DatagramEvent::Dropped(DropReason::ConversationMismatch)
    );
    assert_eq!(ep.session(old).unwrap().state(), State::Open);

    // Conversation 3 from sn 0: the peer restarted. The old session ends at once and
    // never sends again; the new one takes the address.
    let mut d = Peer::new(&s, 3).write(1, b"three").remove(0);
    let DatagramEvent::Incoming(new) = ep.handle(2, addr(1), &mut d) else {
        panic!("no replacement")
    };
    assert_eq!(ep.remote(new), Some(addr(1)));
    assert_eq!(ep.session(old).unwrap().state(), State::Replaced);
    assert_eq!(ep.send(2, old, b"late"), Err(SendError::Replaced));
    // What arrived before is still read, then the end is reported.
    assert_eq!(ep.recv(old, &mut [0; 8]), Ok(3));
    assert_eq!(ep.recv(old, &mut [0; 8]), Err(RecvError::Replaced));
    assert!(ep_events(&mut ep).contains(&Event::Ended(old)));
    for now in (2..20_000).step_by(10) {
        ep.handle_timeout(now);
        for (_, d) in drain(&mut ep, now) {
            let (conv, _) = conv_and_sn(&open(&s, &d)).unwrap();
            assert_eq!(conv, 3, "the replaced session transmitted at {now} ms");
        }
    }
    assert_eq!(ep.stats().replaced, 1);
}

fn ep_events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// The payload of a datagram sealed with `s`.
fn open(s: &Settings, d: &[u8]) -> Vec<u8> {
    use kcp_crypt::PacketCipher;
    let mut d = d.to_vec();
    let range = s.crypt().open(&mut d).unwrap();
    d[range].to_vec()
}

#[test]
fn the_backlog_and_the_session_limit_bound_what_peers_open() {
    let mut c = Config::kcptun();
    c.accept_backlog = 3;
    c.max_sessions = 5;
    let s = c.build().unwrap();
    let mut ep = listening(&s);
    let open_from = |ep: &mut Endpoint, port: u16| {
        let mut d = Peer::new(&s, u32::from(port)).write(0, b"hi").remove(0);
        ep.handle(0, addr(port), &mut d)
    };
    for port in 0..3 {
        assert!(matches!(
            open_from(&mut ep, port),
            DatagramEvent::Incoming(_)
        ));
    }
    assert_eq!(
        open_from(&mut ep, 3),
        DatagramEvent::Dropped(DropReason::BacklogFull)
    );
    // Accepting makes room in the backlog, up to the session limit.
    let accepted: Vec<Handle> = std::iter::from_fn(|| ep.accept()).collect();
    assert_eq!(accepted.len(), 3);
    for port in 3..5 {
        assert!(matches!(
            open_from(&mut ep, port),
            DatagramEvent::Incoming(_)
        ));
    }
    assert_eq!(
        open_from(&mut ep, 5),
        DatagramEvent::Dropped(DropReason::SessionLimit)
    );
    assert_eq!(ep.len(), 5);
    // A released session ends and frees its place and its address.
    ep.release(0, accepted[0]);
    drain(&mut ep, 0);
    assert_eq!(ep.len(), 4);
    assert!(ep.session(accepted[0]).is_none());
    assert_eq!(ep.send(0, accepted[0], b"x"), Err(SendError::Closed));
    // Its conversation id stays taken for the replay window; a new one opens.
    assert_eq!(
        open_from(&mut ep, 0),
        DatagramEvent::Dropped(DropReason::Replayed)
    );
    let mut d = Peer::new(&s, 1000).write(0, b"hi").remove(0);
    assert!(matches!(
        ep.handle(0, addr(0), &mut d),
        DatagramEvent::Incoming(_)
    ));
}

#[test]
fn a_silent_peer_ends_in_the_idle_timeout_and_its_address_opens_anew() {
    let mut c = Config::kcptun();
    c.idle_timeout = Some(Duration::from_secs(3));
    let s = c.build().unwrap();
    let mut ep = listening(&s);
    let mut peer = Peer::new(&s, 9);
    let mut d = peer.write(0, b"hello").remove(0);
    let DatagramEvent::Incoming(h) = ep.handle(0, addr(1), &mut d) else {
        panic!()
    };
    ep.accept();
    drain(&mut ep, 0);
    ep_events(&mut ep);
    // Nothing more arrives: the only timer is the idle timeout.
    let at = ep.poll_timeout().unwrap();
    assert!((2900..=3000).contains(&at), "{at}");
    ep.handle_timeout(at);
    assert!(ep.poll_timeout().is_none());
    assert_eq!(
        ep.session(h).unwrap().state(),
        State::Dead(kcp_session::DeadReason::IdleTimeout)
    );
    assert!(ep_events(&mut ep).contains(&Event::Ended(h)));
    // The address is free: the same peer address opens a new session.
    let mut d = Peer::new(&s, 10).write(3000, b"again").remove(0);
    assert!(matches!(
        ep.handle(3001, addr(1), &mut d),
        DatagramEvent::Incoming(_)
    ));
    ep.release(3001, h);
    assert_eq!(ep.len(), 1);
}

#[test]
fn a_dialed_session_takes_datagrams_only_from_its_peer() {
    let s = settings();
    let mut ep = Endpoint::new(&s, [7; 32]);
    let h = ep
        .connect_with_conv(0, addr(1), 77)
        .expect("a fresh endpoint");
    assert!(ep.connect_with_conv(0, addr(1), 78).is_err());
    let mut server = Peer::new(&s, 77);
    let mut d = server.write(0, b"pong").remove(0);
    assert_eq!(
        ep.handle(0, addr(1), &mut d.clone()),
        DatagramEvent::Session(h)
    );
    // A stranger cannot open anything on a dialing endpoint.
    assert_eq!(
        ep.handle(0, addr(2), &mut d),
        DatagramEvent::Dropped(DropReason::NotListening)
    );
    // The peer's address with another conversation: the session rejects it.
    let mut other = Peer::new(&s, 78).write(0, b"x").remove(0);
    assert!(matches!(
        ep.handle(0, addr(1), &mut other),
        DatagramEvent::Dropped(DropReason::Invalid(InputError::Kcp(_)))
    ));
    let mut buf = [0u8; 8];
    assert_eq!(ep.recv(h, &mut buf), Ok(4));
}

#[test]
fn runs_of_datagrams_to_one_peer_come_out_grouped_for_segmentation_offload() {
    let s = settings();
    let mut ep = Endpoint::new(&s, [7; 32]);
    ep.set_max_segments(16);
    let h = ep.connect(0, addr(1)).unwrap();
    ep.send(0, h, &vec![3u8; 100_000]).unwrap();
    let mut grouped = 0;
    let mut total = 0;
    while let Some(t) = ep.poll_transmit(0) {
        assert_eq!(t.destination, addr(1));
        if let Some(size) = t.segment_size {
            grouped += 1;
            assert!(t.contents.len() <= 16 * size);
            assert!(t.datagrams().all(|d| d.len() <= size));
        }
        total += t.datagrams().count();
    }
    assert!(grouped > 0 && total > 70, "{grouped} groups of {total}");
}

#[test]
fn a_flood_of_tiny_segments_cannot_grow_the_acknowledgement_list() {
    // Without a cipher, a forger who knows the conversation id can reach KCP.
    let mut c = Config::default();
    c.rcv_wnd = 128;
    let s = c.build().unwrap();
    let mut session = Session::new(5, &s, 0, [7; 32]);
    // 1,000 datagrams of 58 empty data segments each, no poll in between.
    let mut d = Vec::new();
    for sn in 0..58u32 {
        let mut seg = [0u8; 24];
        kcp_core::Header {
            conv: 5,
            cmd: kcp_core::Command::Push as u8,
            frg: 0,
            wnd: 128,
            ts: 0,
            sn: sn % 100,
            una: 0,
            len: 0,
        }
        .emit(&mut seg);
        d.extend_from_slice(&seg);
    }
    for _ in 0..1000 {
        let _ = session.input(0, &mut d.clone());
    }
    assert!(
        session.kcp().ack_pending() <= 256,
        "{} acknowledgements queued",
        session.kcp().ack_pending()
    );
    assert!(session.kcp().stats().dropped_acks > 50_000);
}

#[test]
fn durations_past_the_reach_of_the_clock_saturate() {
    let mut c = Config::kcptun();
    c.idle_timeout = Some(Duration::from_secs(30 * 24 * 3600));
    c.linger = Duration::from_secs(40 * 24 * 3600);
    let s = c.build().unwrap();
    let mut session = Session::new(1, &s, 1000, [7; 32]);
    session.poll(2000, |_| {});
    assert_eq!(
        session.state(),
        State::Open,
        "a 30-day idle timeout ended it at once"
    );
    let next = session.next_timeout(2000).unwrap();
    assert_eq!(next.wrapping_sub(1000), i32::MAX as u32);
    session.send(2000, b"x").unwrap();
    session.close(2000);
    session.poll(3000, |_| {});
    assert_eq!(
        session.state(),
        State::Closing,
        "a 40-day linger ended it at once"
    );
}

#[test]
fn an_empty_key_is_refused_for_a_cipher_that_encrypts() {
    for kind in CipherKind::ALL {
        let mut c = Config::default();
        c.crypt = kind;
        c.key = Vec::new();
        let encrypts = !matches!(kind, CipherKind::Null | CipherKind::None);
        assert_eq!(
            c.build().err(),
            encrypts.then_some(ConfigError::EmptyKey),
            "{kind:?}"
        );
    }
}

#[test]
fn an_amplification_limit_of_zero_is_refused() {
    let mut c = Config::default();
    c.amplification_limit = Some(0);
    assert_eq!(c.build().err(), Some(ConfigError::AmplificationLimit));
}

#[global_allocator]
static ALLOC: kcp_testkit::counting_alloc::Counting = kcp_testkit::counting_alloc::Counting;

/// `n` random datagrams from `sources` addresses (plausible KCP sizes), built in `buf`.
fn flood(ep: &mut Endpoint, n: usize, sources: u16, rng: &mut Rng, buf: &mut [u8]) {
    for i in 0..n {
        let len = rng.range_usize(24, 1400);
        rng.fill(&mut buf[..len]);
        ep.handle(i as u32 / 100, addr(i as u16 % sources), &mut buf[..len]);
        while ep.poll_transmit(i as u32 / 100).is_some() {}
        while ep.poll_event().is_some() {}
    }
}

#[test]
fn a_flood_costs_no_memory_behind_a_cipher_and_bounded_memory_without() {
    assert!(kcp_testkit::counting_alloc::installed());
    let (mut rng, mut buf) = (Rng::new(7), vec![0u8; 1400]);
    // Behind a cipher nothing opens, and dropping a datagram allocates nothing.
    let mut ep = listening(&settings());
    flood(&mut ep, 1000, 500, &mut rng, &mut buf); // warm-up: queues reach their working size
    let ((), usage) =
        kcp_testkit::counting_alloc::measure(|| flood(&mut ep, 100_000, 500, &mut rng, &mut buf));
    assert_eq!(ep.len(), 0);
    assert_eq!(usage.allocations, 0, "{usage:?}");
    assert_eq!(ep.stats().crypt_errors, 101_000);

    // Without one, a flood opens up to max_sessions and then costs nothing more.
    let mut c = Config::default();
    c.max_sessions = 40;
    c.accept_backlog = 1000;
    let mut ep = listening(&c.build().unwrap());
    let ((), first) =
        kcp_testkit::counting_alloc::measure(|| flood(&mut ep, 20_000, 500, &mut rng, &mut buf));
    assert_eq!(ep.len(), 40);
    let ((), more) =
        kcp_testkit::counting_alloc::measure(|| flood(&mut ep, 20_000, 500, &mut rng, &mut buf));
    assert_eq!(ep.len(), 40);
    assert!(
        first.peak_bytes < 40 * 64 * 1024,
        "40 sessions took {} bytes",
        first.peak_bytes
    );
    assert!(
        more.net_bytes < 40 * 64 * 1024 && more.peak_bytes < 2 * first.peak_bytes.max(1),
        "the flood kept growing memory: {first:?} then {more:?}"
    );
}

/// kcp-go 5.6.60's `SendOOB` datagram for `conv`, sealed with `s` (built from its source:
/// seqid 0xFFFFFFFF, type 0xF3, size, conv, payload).
fn kcp_go_oob(s: &Settings, conv: u32, payload: &[u8]) -> Vec<u8> {
    use kcp_crypt::PacketCipher;
    use rand_core::SeedableRng;
    let h = s.crypt().header_len();
    let mut d = vec![0u8; h];
    d.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    d.extend_from_slice(&0xF3u16.to_le_bytes());
    d.extend_from_slice(&(6 + payload.len() as u16).to_le_bytes());
    d.extend_from_slice(&conv.to_le_bytes());
    d.extend_from_slice(payload);
    let len = d.len() - h;
    d.resize(d.len() + s.crypt().trailer_len(), 0);
    let n = s
        .crypt()
        .seal(&mut d, len, &mut kcp_crypt::NonceRng::from_seed([1; 32]))
        .unwrap();
    d.truncate(n);
    d
}

#[test]
fn an_out_of_band_datagram_neither_opens_nor_replaces_a_session() {
    let s = settings();
    let mut ep = listening(&s);
    // From an unknown address: an unreliable datagram is no request to open a session.
    let mut d = kcp_go_oob(&s, 5, &[0; 16]);
    assert_eq!(
        ep.handle(0, addr(2), &mut d),
        DatagramEvent::Dropped(DropReason::NoConversation)
    );
    let mut peer = Peer::new(&s, 5);
    let mut d = peer.write(0, b"hello").remove(0);
    let DatagramEvent::Incoming(h) = ep.handle(0, addr(1), &mut d) else {
        panic!("no new session");
    };
    ep.accept().unwrap();
    // Its payload's bytes 4..8 (where a KCP frame has its sn) are zero: read as a KCP
    // frame of conversation 0xFFFFFFFF at sn 0 it would replace the session.
    let mut d = kcp_go_oob(&s, 5, &[0; 16]);
    assert_eq!(ep.handle(1, addr(1), &mut d), DatagramEvent::Session(h));
    assert_eq!(ep.session(h).unwrap().state(), State::Open);
    assert_eq!(ep.stats().replaced, 0);
}
