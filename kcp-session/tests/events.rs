//! `Event::Progress` on the sans-io `Endpoint` comes only when something the application
//! can act on changed: not for retransmissions run by the timer, nor for a replayed
//! datagram; but for new data and for acknowledgements that free the send window.

use std::net::SocketAddr;

use kcp_session::{Config, Endpoint, Event, Settings};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn settings() -> Settings {
    let mut c = Config::kcptun();
    c.key = b"event tests".to_vec();
    c.build().unwrap()
}

fn drain(ep: &mut Endpoint, now: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit(now) {
        out.extend(t.datagrams().map(<[u8]>::to_vec));
    }
    out
}

fn events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

#[test]
fn timers_and_replays_make_no_progress_events_data_and_acks_do() {
    let s = settings();
    let (mut client, mut server) = (Endpoint::new(&s, [1; 32]), Endpoint::new(&s, [2; 32]));
    server.listen(true);
    let h = client.connect(0, addr(2)).unwrap();
    client.send(0, h, b"hello").unwrap();
    let first = drain(&mut client, 0);
    // The server is silent for 3 s: the client retransmits, and reports nothing.
    let mut now = 0;
    let mut retransmitted = 0;
    while now < 3000 {
        now = client.poll_timeout().unwrap().max(now + 1);
        client.handle_timeout(now);
        retransmitted += drain(&mut client, now).len();
        assert_eq!(events(&mut client), vec![], "at {now} ms");
    }
    assert!(retransmitted > 0);
    // The first datagram reaches the server: new data, one event for the session.
    let mut d = first[0].clone();
    server.handle(now, addr(1), &mut d);
    let sh = server.accept().unwrap();
    assert!(events(&mut server).contains(&Event::Progress(sh)));
    let mut buf = [0u8; 16];
    assert_eq!(server.recv(sh, &mut buf), Ok(5));
    let acks = drain(&mut server, now);
    // The same datagram again (a replay or a duplicate): nothing new, no event.
    let mut d = first[0].clone();
    server.handle(now, addr(1), &mut d);
    assert_eq!(events(&mut server), vec![]);
    // The acknowledgement frees the client's window: one event.
    for mut a in acks {
        client.handle(now, addr(2), &mut a);
    }
    assert_eq!(events(&mut client), vec![Event::Progress(h)]);
    assert_eq!(client.session(h).unwrap().kcp().wait_snd(), 0);
}
