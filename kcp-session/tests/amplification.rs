//! Reflection and amplification on the virtual clock: a listener sends an address that has
//! not shown it receives there at most three times the bytes it received from it (QUIC's
//! anti-amplification limit), whatever the application writes; the proof of receipt (an
//! acknowledgement echoing a timestamp the session sent) cannot be forged blind or
//! replayed; and a real client pays at most one round trip for it.

use kcp_session::{Config, Settings};

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, addr};

fn kcptun(limit: Option<u32>) -> Settings {
    let mut c = Config::kcptun();
    c.key = b"amplification".to_vec();
    c.amplification_limit = limit;
    c.build().unwrap()
}

/// Replays one recorded first datagram of a client from a victim that never answers, to a
/// server whose application replies `reply` bytes; bytes out per byte in once the session
/// has died.
fn reflect(settings: &Settings, reply: usize) -> (usize, usize, f64) {
    let recorded = lab::first_datagrams(settings, 0x0102_0304, 5, b"GET /big please");
    let victim = addr(66, 6666);
    let mut lab = Lab::new(lab::server(settings), 20, reply);
    lab.inject(victim, &recorded[0]);
    lab.run(200_000, |l| !l.app.ended.is_empty() && l.server.is_empty());
    let (out, into) = (lab.bytes_to(victim), lab.bytes_from(victim));
    assert_eq!(lab.app.accepted.len(), 1, "the replay opened a session");
    (out, into, out as f64 / into as f64)
}

#[test]
fn a_replayed_first_datagram_gets_a_silent_victim_at_most_three_times_its_size() {
    let s = kcptun(Some(3));
    for reply in [64 << 10, 1 << 20] {
        let (out, into, ratio) = reflect(&s, reply);
        println!("reply {reply}: {into} bytes in, {out} bytes out to the victim ({ratio:.1}x)");
        assert!(
            out <= 3 * into,
            "{out} bytes to the victim for {into} received"
        );
    }
}

#[test]
fn without_the_limit_the_same_replay_is_amplified_as_by_kcp_go() {
    let (out, into, ratio) = reflect(&kcptun(None), 64 << 10);
    println!("no limit: {into} bytes in, {out} bytes out ({ratio:.1}x)");
    assert!(ratio > 100.0, "{ratio}");
}

/// A client at a real address asks for `reply` bytes; when its first byte and the whole
/// reply arrived (virtual ms since the request left).
fn fetch(settings: &Settings, reply: usize) -> (u32, u32) {
    fetch_losing(settings, reply, 0)
}

/// As `fetch`, with the server's first `lost` datagrams to the client lost.
fn fetch_losing(settings: &Settings, reply: usize, lost: usize) -> (u32, u32) {
    let delay = 20;
    let mut lab = Lab::new(lab::server(settings), delay, reply);
    lab.lose_to_clients = lost;
    let me = addr(1, 1000);
    let session = lab::session(0x0102_0304, settings, 0);
    let c = lab.client(me, session, b"GET /big please", reply);
    lab.run(60_000, |l| l.clients[c].complete_at.is_some());
    let client = &lab.clients[c];
    assert_eq!(client.got.len(), reply, "the whole reply arrived");
    assert!(client.got.iter().all(|&b| b == 0xAB));
    (client.first_byte_at.unwrap(), client.complete_at.unwrap())
}

#[test]
fn a_real_client_gets_its_large_reply_at_most_one_round_trip_later() {
    let rtt = 2 * 20;
    let interval = Config::kcptun().mode.interval();
    for reply in [64 << 10, 1 << 20] {
        let (first_free, done_free) = fetch(&kcptun(None), reply);
        let (first, done) = fetch(&kcptun(Some(3)), reply);
        println!(
            "reply {reply}: first byte {first} ms, complete {done} ms with the limit; \
             {first_free} ms and {done_free} ms without"
        );
        // The proof costs one round trip, plus at most one flush interval of the peer's
        // acknowledgement timer.
        assert!(
            done <= done_free + rtt + interval,
            "{done} ms against {done_free} ms without the limit"
        );
    }
}

#[test]
fn a_lost_first_reply_is_retransmitted_within_the_budget() {
    // The first reply datagram (the acknowledgement and the first bytes) is lost: the
    // proof cannot come until a retransmission, which the budget must leave room for.
    let (_, done) = fetch_losing(&kcptun(Some(3)), 64 << 10, 1);
    let (_, done_free) = fetch_losing(&kcptun(None), 64 << 10, 1);
    println!("first datagram lost: complete at {done} ms with the limit, {done_free} ms without");
    // With the limit the first bytes may be what was lost, and the proof waits for their
    // retransmission, which the budget leaves room for: at most one retransmission
    // timeout (200 ms before any round-trip sample) more, not a stall.
    assert!(
        done <= done_free + 200 + 2 * 40 + 30,
        "{done} ms against {done_free} ms"
    );
}

#[test]
fn a_lost_proof_is_retransmitted_for_when_the_reply_is_written_in_pieces() {
    // An application that writes its reply in pieces, each flushed before the next (a
    // tunnel's writer does), must not spend the budget that retransmissions need: here the
    // client's acknowledgements of the first reply bytes (the proof) are lost, and the server
    // must retransmit for another one. Without room it waits until the client sends
    // something else, which in a tunnel is its keepalive, 10 s later. kcp-go acknowledges
    // all the pieces in one datagram, so one loss is enough.
    let settings = kcptun(Some(3));
    let mut lab = Lab::new(lab::server(&settings), 20, 1024);
    lab.one_send_per_step = true;
    // The request leaves at 0 ms; the acknowledgements of the first reply bytes, which
    // bring the proof, at about 40 ms.
    lab.lose_from_clients = 1..60;
    let me = addr(1, 1000);
    let session = lab::session(0x0102_0304, &settings, 0);
    let c = lab.client(me, session, b"GET /big please", 1024);
    lab.run(10_000, |l| l.clients[c].complete_at.is_some());
    let done = lab.clients[c].complete_at;
    println!(
        "proof lost, reply written in pieces: complete at {done:?} ms; {} bytes sent to \
         the client for {} received",
        lab.bytes_to(me),
        lab.bytes_from(me)
    );
    assert_eq!(lab.clients[c].got.len(), 1024, "the whole reply arrived");
    // One retransmission timeout (200 ms before any round-trip sample) and two round trips.
    assert!(done.is_some_and(|t| t <= 200 + 3 * 40 + 30), "{done:?}");
}
