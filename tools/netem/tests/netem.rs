//! The network emulator delivers what it was asked for: loss rates (random and bursty),
//! delay and jitter, a bandwidth cap with a bounded queue, reordering, and TCP intact,
//! over real sockets in its two namespaces.
//!
//! These tests need root, `/dev/net/tun` and iproute2 (CI runs as root and
//! `scripts/setup.sh` installs iproute2); without them they fail with the reason. Timing
//! bounds are one-sided where load could push a number: nothing can make a packet arrive
//! sooner than the configured delay, while "late" bounds are generous.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kcp_netem::{ADDR_A, ADDR_B, Emulator};
use kcp_testkit::sim::{GilbertElliott, LinkConfig, Rng};

fn emulator(a_to_b: LinkConfig, b_to_a: LinkConfig, seed: u64) -> Emulator {
    Emulator::start(a_to_b, b_to_a, seed).unwrap_or_else(|e| {
        panic!(
            "the network emulator could not start ({e}); these tests need root, \
             /dev/net/tun and iproute2 (scripts/setup.sh)"
        )
    })
}

/// A UDP socket bound in side A (`a == true`) or B on port `port` (0: any).
fn udp(emu: &Emulator, a: bool, port: u16) -> UdpSocket {
    let (ns, ip) = if a {
        (emu.a(), ADDR_A)
    } else {
        (emu.b(), ADDR_B)
    };
    ns.run(|| UdpSocket::bind((ip, port)))
        .expect("enter the namespace")
        .expect("bind a UDP socket")
}

/// Receives datagrams `[seq u32][send time u64 ns since base]` until nothing arrives for
/// `quiet`, returning `(seq, one-way delay)` per datagram in arrival order.
fn receive_all(sock: UdpSocket, base: Instant, quiet: Duration) -> Vec<(u32, Duration)> {
    sock.set_read_timeout(Some(quiet)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        let now = base.elapsed();
        assert!(n >= 12, "short datagram of {n} bytes");
        let seq = u32::from_be_bytes(buf[..4].try_into().unwrap());
        let sent = Duration::from_nanos(u64::from_be_bytes(buf[4..12].try_into().unwrap()));
        got.push((seq, now.saturating_sub(sent)));
    }
    got
}

/// Sends `count` datagrams of `size` bytes from `from` to `to`, `burst` at a time with
/// `gap` between bursts, each stamped with its sequence number and send time.
fn send_numbered(
    from: &UdpSocket,
    to: SocketAddr,
    base: Instant,
    count: u32,
    size: usize,
    burst: u32,
    gap: Duration,
) {
    let mut buf = vec![0u8; size.max(12)];
    for seq in 0..count {
        buf[..4].copy_from_slice(&seq.to_be_bytes());
        let t = base.elapsed().as_nanos() as u64;
        buf[4..12].copy_from_slice(&t.to_be_bytes());
        from.send_to(&buf, to).expect("send");
        if (seq + 1) % burst == 0 {
            thread::sleep(gap);
        }
    }
}

/// Runs a receiver in B on a thread and a sender in A; returns what B received.
fn one_way(
    emu: &Emulator,
    count: u32,
    size: usize,
    burst: u32,
    gap: Duration,
    quiet: Duration,
) -> Vec<(u32, Duration)> {
    let rx = udp(emu, false, 7000);
    let tx = udp(emu, true, 0);
    let base = Instant::now();
    let receiver = thread::spawn(move || receive_all(rx, base, quiet));
    send_numbered(&tx, (ADDR_B, 7000).into(), base, count, size, burst, gap);
    receiver.join().expect("receiver thread")
}

#[test]
fn random_loss_matches_the_asked_rate_each_way() {
    let emu = emulator(LinkConfig::new().loss(0.2), LinkConfig::new().loss(0.05), 1);
    let n = 2_000u32;
    // Forward: A to B at 20%.
    let got = one_way(
        &emu,
        n,
        64,
        50,
        Duration::from_millis(2),
        Duration::from_millis(500),
    );
    let stats = emu.stats();
    // Every datagram reached the emulator and everything it delivered arrived: the loss
    // seen is the emulator's alone.
    assert_eq!(stats.a_to_b.sent, u64::from(n), "{stats:?}");
    assert_eq!(stats.a_to_b.lost + stats.a_to_b.delivered, u64::from(n));
    assert_eq!(got.len() as u64, stats.a_to_b.delivered);
    // Binomial(2000, 0.2): mean 400, standard deviation 17.9; allow five.
    let lost = n as usize - got.len();
    assert!((310..=490).contains(&lost), "lost {lost} of {n} at 20%");

    // Reverse: B to A at 5%, on the same emulator.
    let rx = udp(&emu, true, 7001);
    let tx = udp(&emu, false, 0);
    let base = Instant::now();
    let receiver = thread::spawn(move || receive_all(rx, base, Duration::from_millis(500)));
    send_numbered(
        &tx,
        (ADDR_A, 7001).into(),
        base,
        n,
        64,
        50,
        Duration::from_millis(2),
    );
    let back = receiver.join().unwrap();
    let stats = emu.stats();
    assert_eq!(stats.b_to_a.sent, u64::from(n), "{stats:?}");
    assert_eq!(back.len() as u64, stats.b_to_a.delivered);
    // Binomial(2000, 0.05): mean 100, standard deviation 9.7.
    let lost = n as usize - back.len();
    assert!((52..=148).contains(&lost), "lost {lost} of {n} at 5%");
}

#[test]
fn bursty_loss_keeps_its_mean_and_comes_in_runs() {
    let emu = emulator(
        LinkConfig::new().burst_loss(GilbertElliott::bursts(0.2, 5.0)),
        LinkConfig::new(),
        2,
    );
    let n = 3_000u32;
    let got = one_way(
        &emu,
        n,
        64,
        50,
        Duration::from_millis(2),
        Duration::from_millis(500),
    );
    let stats = emu.stats();
    assert_eq!(stats.a_to_b.sent, u64::from(n), "{stats:?}");
    assert_eq!(got.len() as u64, stats.a_to_b.delivered);
    let lost = n as usize - got.len();
    // About 120 bursts of geometric length (mean 5, sd 4.5): the total varies far more
    // than independent loss would; the bounds are about four standard deviations.
    assert!(
        (330..=870).contains(&lost),
        "lost {lost} of {n} at a mean of 20%"
    );
    let seqs: Vec<u32> = got.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "order kept");
    let mut runs = Vec::new();
    let mut expect = 0u32;
    for &s in &seqs {
        if s > expect {
            runs.push(s - expect);
        }
        expect = s + 1;
    }
    if expect < n {
        runs.push(n - expect);
    }
    let mean_run = lost as f64 / runs.len() as f64;
    assert!(
        (3.5..=7.0).contains(&mean_run),
        "mean loss run {mean_run:.2} (asked 5)"
    );
}

#[test]
fn delay_and_jitter_stay_within_what_was_asked() {
    // 25..=45 ms one way; datagrams 50 ms apart, so keeping the order never holds one
    // back and each delay is an independent uniform draw.
    let emu = emulator(LinkConfig::new().delay(25, 45), LinkConfig::new(), 3);
    let got = one_way(
        &emu,
        80,
        100,
        1,
        Duration::from_millis(50),
        Duration::from_millis(300),
    );
    assert_eq!(got.len(), 80, "no loss was asked");
    let ms: Vec<f64> = got.iter().map(|(_, d)| d.as_secs_f64() * 1e3).collect();
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ms.iter().copied().fold(0.0, f64::max);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    // Never sooner than asked (nothing can make a packet early).
    assert!(min >= 25.0, "a datagram arrived after {min:.2} ms");
    // The draws cover the range: P(no draw below 29) = (17/21)^80, about 5e-8; same for
    // above 41. Load can only push arrivals later, so the lower end is a fair check.
    assert!(min < 29.0, "fastest delivery {min:.2} ms, asked 25..=45");
    assert!(max > 41.0, "slowest delivery {max:.2} ms, asked 25..=45");
    // Mean 35.5 (plus < 1 ms of rounding); its standard error is 0.7 ms.
    assert!(mean > 32.0, "mean delay {mean:.2} ms, asked 25..=45");
    assert!(
        mean < 45.0,
        "mean delay {mean:.2} ms, asked 25..=45 (a loaded machine?)"
    );
}

#[test]
fn bandwidth_cap_paces_and_the_queue_is_bounded() {
    // 8 Mbit/s (1 MB/s) with a 40 kB queue; 600 datagrams of 1,000 bytes of payload sent
    // as fast as possible (about 0.6 MB on the wire, far faster than the cap).
    let rate = 1_000_000u64;
    let buffer = 40_000u64;
    let emu = emulator(
        LinkConfig::new().bandwidth(rate).buffer(buffer).delay(5, 5),
        LinkConfig::new(),
        4,
    );
    let rx = udp(&emu, false, 7002);
    let tx = udp(&emu, true, 0);
    let base = Instant::now();
    let receiver = thread::spawn(move || {
        rx.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut arrivals = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = rx.recv(&mut buf) {
            arrivals.push((base.elapsed(), n));
        }
        arrivals
    });
    let sending = Instant::now();
    send_numbered(
        &tx,
        (ADDR_B, 7002).into(),
        base,
        600,
        1000,
        600,
        Duration::ZERO,
    );
    let send_secs = sending.elapsed().as_secs_f64();
    let arrivals = receiver.join().unwrap();
    let stats = emu.stats();
    assert_eq!(stats.a_to_b.sent, 600, "{stats:?}");
    assert_eq!(arrivals.len() as u64, stats.a_to_b.delivered);
    assert!(
        stats.a_to_b.overflowed > 0,
        "the burst overflows the queue: {stats:?}"
    );
    // Each packet is 1,028 bytes on the wire (IP and UDP headers).
    let wire = 1028u64;
    // What got in is at most the queue plus what the cap drained while sending.
    let limit = (buffer + (send_secs * rate as f64) as u64) / wire + 2;
    assert!(
        stats.a_to_b.delivered <= limit,
        "delivered {} packets, the queue and {send_secs:.3} s of draining allow {limit}",
        stats.a_to_b.delivered
    );
    // Pacing: the deliveries after the first took at least their transmission time.
    let span = arrivals.last().unwrap().0 - arrivals[0].0;
    let needed = (arrivals.len() as u64 - 1) * wire * 1_000_000 / rate;
    assert!(
        span.as_micros() as u64 + 1_000 >= needed,
        "{} packets in {span:?}, the cap needs {needed} us",
        arrivals.len()
    );
}

#[test]
fn reordering_lets_packets_overtake() {
    let emu = emulator(
        LinkConfig::new().delay(5, 5).reorder(0.2, 30),
        LinkConfig::new(),
        5,
    );
    let got = one_way(
        &emu,
        400,
        64,
        10,
        Duration::from_millis(2),
        Duration::from_millis(300),
    );
    assert_eq!(got.len(), 400);
    let inversions = got.windows(2).filter(|w| w[0].0 > w[1].0).count();
    assert!(
        inversions > 20,
        "only {inversions} inversions among 400 datagrams"
    );
    assert!(emu.stats().a_to_b.reordered > 40);
}

#[test]
fn tcp_crosses_the_lossy_link_intact() {
    let link = LinkConfig::new().delay(5, 8).loss(0.02).reorder(0.01, 10);
    let emu = emulator(link.clone(), link, 6);
    let listener = emu
        .b()
        .run(|| TcpListener::bind((ADDR_B, 7003)))
        .unwrap()
        .expect("listen");
    let payload = Rng::new(9).bytes(2 << 20);
    let expect = payload.clone();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        let _ = done_tx.send(got);
    });
    let mut client = emu
        .a()
        .run(|| TcpStream::connect((ADDR_B, 7003)))
        .unwrap()
        .expect("connect through the emulator");
    client.write_all(&payload).expect("write");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let got = done_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the transfer finishes");
    assert!(
        got == expect,
        "TCP delivered {} bytes, different",
        got.len()
    );
    let stats = emu.stats();
    assert!(stats.a_to_b.lost > 0 && stats.b_to_a.lost > 0, "{stats:?}");
    assert!(stats.a_to_b.delivered_bytes > 2 << 20);
}

#[test]
fn reconfiguring_midway_and_stopping() {
    let emu = emulator(LinkConfig::new(), LinkConfig::new(), 7);
    let got = one_way(
        &emu,
        100,
        64,
        10,
        Duration::from_millis(1),
        Duration::from_millis(200),
    );
    assert_eq!(got.len(), 100);
    emu.set_config(LinkConfig::new().loss(1.0), LinkConfig::new());
    // The forwarder picks the new shape up within its idle wait.
    thread::sleep(Duration::from_millis(100));
    let got = one_way(
        &emu,
        100,
        64,
        10,
        Duration::from_millis(1),
        Duration::from_millis(200),
    );
    assert!(
        got.is_empty(),
        "{} datagrams crossed a link losing everything",
        got.len()
    );
    assert!(emu.is_running());
    let stats = emu.stop().expect("the forwarder ran without error");
    assert_eq!(stats.a_to_b.sent, 200);
    assert_eq!(stats.a_to_b.lost, 100);
    assert_eq!(stats.write_errors, 0);
}
