//! The sans-io `Endpoint` driven by a plain loop over a blocking `std::net::UdpSocket`, no
//! runtime, against the real kcp-go 5.6.1 (the Go peer in `peers/session`) with kcptun's
//! settings (AES, FEC 10/3): a kcp-go client echoes 4 MiB through our loop-driven
//! server, and our loop-driven client echoes 4 MiB through a kcp-go listener. Fails,
//! never skips, when Go or kcp-go is missing (scripts/setup.sh installs them).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kcp_session::{Config, Endpoint, Event, Handle, Settings};
use kcp_testkit::goproc::{self, GoServer};
use kcp_testkit::sim::Rng;

const BYTES: usize = 4 << 20;

fn settings() -> Settings {
    let mut c = Config::kcptun();
    c.key = b"plain loop".to_vec();
    c.build().unwrap()
}

const GO_FLAGS: [&str; 4] = ["-key", "plain loop", "-crypt", "aes"];

/// One turn of the loop every program embedding an `Endpoint` runs: wait for a datagram
/// (at most until the next timer), feed it, run the timers, send what is due.
fn turn(socket: &UdpSocket, ep: &mut Endpoint, clock: &Instant, buf: &mut [u8]) {
    let now = || clock.elapsed().as_millis() as u32;
    let wait = ep
        .poll_timeout()
        .map_or(10, |t| t.wrapping_sub(now()).clamp(1, 10));
    socket
        .set_read_timeout(Some(Duration::from_millis(u64::from(wait))))
        .unwrap();
    // A burst of what is queued (bounded: a fast peer must not keep the loop from
    // answering), acknowledged together below.
    for _ in 0..256 {
        let Ok((n, from)) = socket.recv_from(buf) else {
            break;
        };
        ep.handle(now(), from, &mut buf[..n]);
        socket
            .set_read_timeout(Some(Duration::from_micros(1)))
            .unwrap();
    }
    ep.handle_timeout(now());
    while let Some(t) = ep.poll_transmit(now()) {
        for d in t.datagrams() {
            let _ = socket.send_to(d, t.destination);
        }
    }
}

#[test]
fn a_kcp_go_client_echoes_through_a_plain_loop_server() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let server = std::thread::spawn(move || {
        let (clock, mut buf) = (Instant::now(), vec![0u8; 1500]);
        let mut ep = Endpoint::new(&settings(), [7; 32]);
        ep.listen(true);
        let mut sessions: Vec<Handle> = Vec::new();
        let mut echoed = 0;
        let mut data = vec![0u8; 64 * 1024];
        // Serve until the client has all of its bytes back.
        while !stop.load(Ordering::Relaxed) {
            turn(&socket, &mut ep, &clock, &mut buf);
            while let Some(h) = ep.accept() {
                sessions.push(h);
            }
            while let Some(event) = ep.poll_event() {
                if let Event::Progress(h) = event {
                    let now = clock.elapsed().as_millis() as u32;
                    // Echo what fits the send window; the rest waits for the acknowledgements
                    // (which come with another Progress event).
                    loop {
                        let free = ep.session(h).map_or(0, |s| s.send_capacity());
                        let Ok(n) = ep.recv(h, &mut data[..free.min(64 * 1024)]) else {
                            break;
                        };
                        if n == 0 {
                            break;
                        }
                        assert_eq!(ep.send(now, h, &data[..n]), Ok(n));
                        echoed += n;
                    }
                }
            }
        }
        (echoed, sessions.len())
    });
    let peer = goproc::session_peer();
    let mut args = vec![
        "echo-client".to_string(),
        "-remote".into(),
        addr.to_string(),
        "-bytes".into(),
        BYTES.to_string(),
        "-timeout".into(),
        "100".into(),
    ];
    args.extend(GO_FLAGS.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = goproc::run_client(&peer, &args, Duration::from_secs(120));
    done.store(true, Ordering::Relaxed);
    assert!(
        out.success,
        "kcp-go echo-client through our loop failed: {out:?}"
    );
    assert_eq!(out.summary().expect("summary line").bytes, BYTES as u64);
    let (echoed, sessions) = server.join().unwrap();
    assert_eq!((echoed, sessions), (BYTES, 1));
}

#[test]
fn a_plain_loop_client_echoes_through_a_kcp_go_listener() {
    let peer = goproc::session_peer();
    let mut args = vec!["echo-server", "-listen", "127.0.0.1:0"];
    args.extend(GO_FLAGS);
    let server = GoServer::start(&peer, &args);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (clock, mut buf) = (Instant::now(), vec![0u8; 1500]);
    let mut ep = Endpoint::new(&settings(), [7; 32]);
    let remote: SocketAddr = server.addr();
    let h = ep.connect(0, remote).unwrap();
    let data = Rng::new(5).bytes(BYTES);
    let (mut sent, mut got) = (0, Vec::with_capacity(BYTES));
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.len() < BYTES {
        assert!(
            Instant::now() < deadline,
            "echo stalled at {} bytes; kcp-go: {}",
            got.len(),
            server.stderr()
        );
        let now = clock.elapsed().as_millis() as u32;
        while sent < BYTES {
            match ep.send(now, h, &data[sent..(sent + 32 * 1024).min(BYTES)]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        turn(&socket, &mut ep, &clock, &mut buf);
        while let Ok(n) = ep.recv(h, &mut chunk) {
            got.extend_from_slice(&chunk[..n]);
        }
    }
    assert!(got == data, "the echo differs");
    let snmp = ep.session(h).unwrap().snmp();
    assert_eq!(snmp.in_csum_errors + snmp.kcp_in_errors, 0, "{snmp:?}");
    assert!(
        snmp.fec_parity_shards > 0,
        "kcp-go's parity reached us: {snmp:?}"
    );
}
