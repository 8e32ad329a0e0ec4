//! Replays on the virtual clock: a recorded datagram of a client, sent again from another
//! address or from the client's own, opens no second session, replaces no live session,
//! and keeps no session alive.

use std::time::Duration;

use kcp_session::{Config, Settings, State};

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, addr};

const CONV: u32 = 0x0102_0304;
const REQUEST: &[u8] = b"GET /once please";

fn settings(idle: u64) -> Settings {
    let mut c = Config::kcptun();
    c.key = b"replay".to_vec();
    c.idle_timeout = Some(Duration::from_secs(idle));
    c.build().unwrap()
}

/// A lab where a real client at `addr(1, 1000)` fetched a 4 KiB reply, then went away;
/// and the datagram it opened its session with, as an eavesdropper recorded it.
fn after_a_real_fetch(s: &Settings) -> (Lab, Vec<u8>) {
    let recorded = lab::first_datagrams(s, CONV, 0, REQUEST).remove(0);
    let mut lab = Lab::new(lab::server(s), 20, 4096);
    let session = lab::session(CONV, s, 0);
    let c = lab.client(addr(1, 1000), session, REQUEST, 4096);
    lab.run(10_000, |l| l.clients[c].complete_at.is_some());
    assert_eq!(lab.clients[c].got.len(), 4096);
    (lab, recorded)
}

#[test]
fn a_replayed_first_datagram_from_another_address_opens_no_second_session() {
    let s = settings(60);
    let (mut lab, recorded) = after_a_real_fetch(&s);
    let victim = addr(66, 6666);
    lab.inject(victim, &recorded);
    let end = lab.now + 1000;
    lab.run(end, |_| false);
    assert_eq!(lab.app.accepted.len(), 1, "the replay opened a session");
    assert_eq!(lab.bytes_to(victim), 0);
    let delivered: usize = lab.app.delivered.values().sum();
    assert_eq!(
        delivered,
        REQUEST.len(),
        "the request reached the application twice"
    );
}

#[test]
fn a_replayed_first_datagram_of_an_old_conversation_does_not_end_the_live_one() {
    let s = settings(60);
    let (mut lab, old_first) = after_a_real_fetch(&s);
    // The client restarts from the same address with a new conversation, which replaces
    // the old session (kcp-go's rule for a peer that restarted)...
    let me = addr(1, 1000);
    lab.clients.clear();
    let session = lab::session(CONV + 1, &s, lab.now);
    let c = lab.client(me, session, REQUEST, 4096);
    let end = lab.now + 10_000;
    lab.run(end, |l| l.clients[c].complete_at.is_some());
    assert_eq!(lab.app.accepted.len(), 2);
    let live = lab.app.accepted[1];
    // ...and an eavesdropper replays the first datagram of the old conversation.
    lab.inject(me, &old_first);
    let end = lab.now + 1000;
    lab.run(end, |_| false);
    assert_eq!(
        lab.server.session(live).map(|s| s.state()),
        Some(State::Open)
    );
    assert_eq!(lab.app.accepted.len(), 2, "the replay opened a session");
}

#[test]
fn replays_of_a_gone_client_do_not_keep_its_session_alive() {
    let s = settings(5);
    let (mut lab, recorded) = after_a_real_fetch(&s);
    let h = lab.app.accepted[0];
    let me = lab.clients[0].addr;
    lab.clients.clear();
    // One replay of the client's first datagram a second, from its own address, for
    // twice the idle timeout.
    for _ in 0..10 {
        lab.inject(me, &recorded);
        let end = lab.now + 1000;
        lab.run(end, |_| false);
    }
    assert!(
        lab.app.ended.contains(&h),
        "state {:?}",
        lab.server.session(h).map(|s| s.state())
    );
}

#[test]
fn a_replay_opens_nothing_while_the_session_lives_past_the_window() {
    let mut c = Config::kcptun();
    c.key = b"replay".to_vec();
    c.replay_window = Some(Duration::from_secs(2));
    let s = c.build().unwrap();
    let (mut lab, recorded) = after_a_real_fetch(&s);
    // Long after the window, while the client's session is still open.
    let end = lab.now + 5_000;
    lab.run(end, |_| false);
    assert_eq!(
        lab.server.session(lab.app.accepted[0]).unwrap().state(),
        State::Open
    );
    lab.inject(addr(66, 6666), &recorded);
    let end = lab.now + 1000;
    lab.run(end, |_| false);
    assert_eq!(lab.app.accepted.len(), 1, "the replay opened a session");
}
