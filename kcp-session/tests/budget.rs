//! The memory budget under a flood of well-formed segments: many addresses and ports each
//! open a session and send a window of data out of order (everything but the first
//! segment), which a session must hold until the gap fills. Measured with the counting
//! allocator: the endpoint stays within `Config::memory_budget` (plus one burst and the
//! sessions' fixed size), where without a budget it grows with the flood.

use std::net::SocketAddr;

use kcp_session::{Config, Endpoint, Session, Settings};

#[global_allocator]
static ALLOC: kcp_testkit::alloc::Counting = kcp_testkit::alloc::Counting;

const HOSTS: u8 = 8;
const PORTS: u16 = 16;
const BUDGET: usize = 8 << 20;

fn settings(budget: Option<usize>) -> Settings {
    let mut c = Config::default();
    c.memory_budget = budget;
    c.build().unwrap()
}

/// What one attacker address sends: a window of data of conversation `conv`, without its
/// first datagram.
fn out_of_order(s: &Settings, conv: u32) -> Vec<Vec<u8>> {
    let mut peer = Session::new(conv, s, 0, [9; 32]);
    let mut out = Vec::new();
    let data = vec![0x5A; 200 * 1300];
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = peer.send(0, rest).unwrap();
        rest = &rest[n..];
    }
    peer.poll(0, |d| out.push(d.to_vec()));
    out.remove(0);
    out
}

/// Floods a listening endpoint from every address, in bursts of 64 datagrams with the
/// endpoint's output drained after each; the peak heap the flood made the endpoint take.
fn flood(s: &Settings) -> (i64, Endpoint) {
    let mut ep = Endpoint::new(s, [7; 32]);
    ep.listen(true);
    let mut traffic = Vec::new();
    for host in 0..HOSTS {
        for port in 0..PORTS {
            let from = SocketAddr::from(([203, 0, 113, host], 1000 + port));
            let conv = (u32::from(host) << 16) | u32::from(port) | 0x100_0000;
            traffic.push((from, out_of_order(s, conv)));
        }
    }
    let (_, usage) = kcp_testkit::alloc::measure(|| {
        let mut now = 0u32;
        // Round-robin over the addresses, as a flood from many hosts arrives.
        let longest = traffic.iter().map(|t| t.1.len()).max().unwrap();
        let mut burst = 0;
        for i in 0..longest {
            for (from, datagrams) in &mut traffic {
                if let Some(d) = datagrams.get_mut(i) {
                    ep.handle(now, *from, d);
                    burst += 1;
                    if burst == 64 {
                        burst = 0;
                        now += 1;
                        ep.handle_timeout(now);
                        while ep.poll_transmit(now).is_some() {}
                        while ep.accept().is_some() {}
                        while ep.poll_event().is_some() {}
                    }
                }
            }
        }
        while ep.poll_transmit(now).is_some() {}
    });
    (usage.peak_bytes, ep)
}

#[test]
fn a_flood_of_well_formed_segments_stays_within_the_memory_budget() {
    assert!(kcp_testkit::alloc::installed());
    let (free_peak, free) = flood(&settings(None));
    let (peak, ep) = flood(&settings(Some(BUDGET)));
    println!(
        "{} sessions: peak {} KiB without a budget ({} KiB held at the end); \
         {} KiB with {} KiB of budget ({} KiB held, {} sessions shed)",
        u16::from(HOSTS) * PORTS,
        free_peak >> 10,
        free.buffered_bytes() >> 10,
        peak >> 10,
        BUDGET >> 10,
        ep.buffered_bytes() >> 10,
        ep.stats().shed
    );
    // The flood is a real one: without the budget it takes far more.
    assert!(free_peak > 2 * BUDGET as i64, "{free_peak}");
    assert!(ep.buffered_bytes() <= BUDGET);
    assert!(ep.stats().shed > 0);
    // One burst of 64 datagrams between two measurements, and the sessions' fixed parts
    // (structures, not buffers), within an eighth of the budget.
    let slack = 64 * 4096 + BUDGET / 8;
    assert!(
        peak <= (BUDGET + slack) as i64,
        "peak {peak} bytes for a budget of {BUDGET}"
    );
}

#[test]
fn one_address_opens_at_most_max_sessions_per_ip() {
    let mut c = Config::default();
    c.max_sessions_per_ip = 4;
    c.accept_backlog = 1000;
    let s = c.build().unwrap();
    let mut ep = Endpoint::new(&s, [7; 32]);
    ep.listen(true);
    for port in 0..10u16 {
        let mut d = out_of_order(&s, 1 + u32::from(port)).remove(0);
        ep.handle(0, SocketAddr::from(([203, 0, 113, 1], port)), &mut d);
    }
    let mut d = out_of_order(&s, 99).remove(0);
    ep.handle(0, SocketAddr::from(([203, 0, 113, 2], 1)), &mut d);
    assert_eq!(ep.len(), 5);
}

/// A peer with FEC 10/3 sends 64 KiB to a session configured without FEC; what the
/// session read and how many parity shards a decoder took in.
fn fec_to_a_session_without_fec(auto_tune: bool) -> (Vec<u8>, u64, usize) {
    let mut with = Config::default();
    with.data_shards = 10;
    with.parity_shards = 3;
    let with = with.build().unwrap();
    let mut without = Config::default();
    without.fec_auto_tune = auto_tune;
    let without = without.build().unwrap();
    let mut peer = Session::new(5, &with, 0, [9; 32]);
    let mut ours = Session::new(5, &without, 0, [7; 32]);
    let data: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
    peer.send(0, &data).unwrap();
    let mut wire = Vec::new();
    peer.poll(0, |d| wire.push(d.to_vec()));
    let mut held = 0;
    for d in &mut wire {
        let _ = ours.input(1, d);
        held = held.max(ours.buffered_bytes());
    }
    let mut got = vec![0u8; data.len() + 1];
    let n = ours.recv(&mut got).unwrap();
    got.truncate(n);
    (got, ours.snmp().fec_parity_shards, held)
}

#[test]
fn a_session_without_fec_reads_fec_data_without_building_a_decoder() {
    let (got, parity, held) = fec_to_a_session_without_fec(false);
    let (got_tuned, parity_tuned, held_tuned) = fec_to_a_session_without_fec(true);
    println!("held {held} bytes without a decoder, {held_tuned} with auto-tune");
    let data: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
    assert_eq!(got, data);
    assert_eq!(got_tuned, data);
    assert_eq!(parity, 0, "a decoder took parity shards");
    assert!(parity_tuned > 0, "auto-tune decodes the peer's groups");
}

#[path = "common/lab.rs"]
mod lab;

#[test]
fn past_the_budget_proven_sessions_stay_and_no_new_session_opens() {
    // Room for a session that has not proven its address yet (it holds a request and
    // the first bytes of its reply), not for one sending a 256 KiB reply.
    let budget = 32 << 10;
    let mut c = Config::default();
    c.memory_budget = Some(budget);
    let s = c.build().unwrap();
    let mut lab = lab::Lab::new(lab::server(&s), 20, 256 << 10);
    let session = lab::session(7, &s, 0);
    let me = lab.client(lab::addr(1, 1000), session, b"GET", 256 << 10);
    // Until the reply is on its way and held.
    lab.run(10_000, |l| l.server.buffered_bytes() > budget);
    let h = lab.app.accepted[0];
    assert!(lab.server.session(h).unwrap().is_proven());
    // A new peer is refused; the proven session is kept.
    let mut d = out_of_order(&s, 99).remove(0);
    assert_eq!(
        lab.server.handle(lab.now, lab::addr(2, 2000), &mut d),
        kcp_session::DatagramEvent::Dropped(kcp_session::DropReason::MemoryBudget)
    );
    assert_eq!(
        lab.server.session(h).unwrap().state(),
        kcp_session::State::Open
    );
    let end = lab.now + 10_000;
    lab.run(end, |l| l.clients[me].complete_at.is_some());
    assert_eq!(lab.clients[me].got.len(), 256 << 10);
}
