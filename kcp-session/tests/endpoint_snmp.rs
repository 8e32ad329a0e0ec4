//! Per-endpoint SNMP counters on the sans-io `Endpoint`: two endpoints in one process
//! count only their own traffic, ended and freed sessions stay counted, datagrams no
//! session took are counted, and nothing reaches the process-wide counters (which only
//! the tokio front feeds). Only sans-io tests live in this file, so the process-wide
//! counters stay untouched by other tests.

use std::net::SocketAddr;

use kcp_session::{Config, Endpoint, Event, Settings, Snmp, snmp};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn settings() -> Settings {
    let mut c = Config::kcptun();
    c.key = b"snmp tests".to_vec();
    c.build().unwrap()
}

/// Moves everything `from` wants to send into `to`, as from `src`.
fn deliver(now: u32, from: &mut Endpoint, src: SocketAddr, to: &mut Endpoint) -> usize {
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit(now) {
        for d in t.datagrams() {
            out.push(d.to_vec());
        }
    }
    let n = out.len();
    for mut d in out {
        to.handle(now, src, &mut d);
    }
    n
}

#[test]
fn each_endpoint_counts_its_own_traffic_and_none_reaches_the_process_totals() {
    let s = settings();
    let (mut client, mut server) = (Endpoint::new(&s, [1; 32]), Endpoint::new(&s, [2; 32]));
    server.listen(true);
    let h = client.connect(0, addr(2)).unwrap();
    client.send(0, h, &[7u8; 100_000]).unwrap();
    let mut got = 0usize;
    let mut sh = None;
    let mut now = 0;
    let (mut to_server, mut to_client) = (0, 0);
    while got < 100_000 {
        now += 10;
        client.handle_timeout(now);
        server.handle_timeout(now);
        to_server += deliver(now, &mut client, addr(1), &mut server);
        while let Some(e) = server.poll_event() {
            if let Event::Progress(x) = e {
                sh = Some(x);
                let mut buf = [0u8; 65536];
                while let Ok(n @ 1..) = server.recv(x, &mut buf) {
                    got += n;
                }
            }
        }
        to_client += deliver(now, &mut server, addr(2), &mut client);
        assert!(now < 60_000);
    }
    while server.accept().is_some() {}
    // Let the last acknowledgements cross; counters are current up to each session's
    // last poll, which the next poll_transmit runs.
    loop {
        now += 10;
        let a = deliver(now, &mut client, addr(1), &mut server);
        let b = deliver(now, &mut server, addr(2), &mut client);
        (to_server, to_client) = (to_server + a, to_client + b);
        if a + b == 0 {
            break;
        }
    }
    let (c, sv) = (client.snmp(), server.snmp());
    assert_eq!(c.active_opens, 1);
    assert_eq!(c.passive_opens, 0);
    assert_eq!(sv.passive_opens, 1);
    assert_eq!((c.curr_estab, sv.curr_estab), (1, 1));
    // What one sent, the other received, datagram for datagram.
    assert_eq!(c.out_pkts as usize, to_server);
    assert_eq!(sv.in_pkts as usize, to_server);
    assert_eq!(sv.out_pkts as usize, to_client);
    assert_eq!(c.in_pkts as usize, to_client);
    assert_eq!(c.bytes_sent, sv.bytes_received);
    // An ended, freed session stays counted; the gauge goes down.
    let sh = sh.unwrap();
    server.release(now, sh);
    let _ = server.poll_transmit(now);
    let after = server.snmp();
    assert_eq!(after.curr_estab, 0);
    assert_eq!(after.in_pkts, sv.in_pkts);
    // Noise no session takes is counted on the endpoint that got it.
    let mut noise = [0xAAu8; 64];
    server.handle(now, addr(9), &mut noise);
    assert_eq!(server.snmp().in_csum_errors, sv.in_csum_errors + 1);
    assert_eq!(client.snmp().in_csum_errors, 0);
    // Nothing of this reached the process-wide counters.
    assert_eq!(snmp::global(), Snmp::default());
}
