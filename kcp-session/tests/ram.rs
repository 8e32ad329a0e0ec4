//! The RAM one client session needs, per MTU, windows, FEC and cipher: the table in the
//! crate docs (section "Memory" of `src/lib.rs`) is checked here against a measurement.
//!
//! A client [`Session`] sends several windows of data through a simulated link with 5%
//! loss each way (so both send and out-of-order receive buffers fill) to a peer session
//! that echoes it back, and reads the echo. Only the client's heap is counted: every call
//! on the client runs inside the counting allocator's `measure`, the test's own buffers
//! are allocated beforehand, and the peer and the link run outside. Kept per case: the
//! peak (the heap held before a call plus that call's peak) and what the session still
//! holds once everything is delivered and acknowledged. Each figure must lie within 15%
//! of the documented one, so the table cannot go stale; a case missing from the table
//! fails and prints the row to add.

use kcp_crypt::CipherKind;
use kcp_session::{Config, Session, Settings};
use kcp_testkit::counting_alloc::{Counting, measure};
use kcp_testkit::sim::{Link, LinkConfig};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Relative deviation from the documented figure the test tolerates.
const TOLERANCE: f64 = 0.15;
/// Windows' worth of data sent (and echoed) per case.
const WINDOWS_SENT: usize = 4;

/// One configuration of the table.
#[derive(Clone, Copy, Debug)]
struct Case {
    mtu: usize,
    /// Send window; the receive window is the larger of this and 128, the least KCP
    /// accepts (one message of 127 fragments must fit).
    wnd: u32,
    fec: Fec,
    aes: bool,
}

/// FEC's data and parity shards.
type Fec = Option<(usize, usize)>;

/// The table's rows: MTU, send window, FEC, AES.
const CASES: &[(usize, u32, Fec, bool)] = &[
    (512, 8, None, false),
    (512, 8, Some((10, 3)), true),
    (512, 32, None, false),
    (1400, 8, None, false),
    (1400, 32, None, false),
    (1400, 32, Some((10, 3)), true),
    (1400, 128, None, false),
    (1400, 128, Some((10, 3)), false),
    (1400, 128, Some((10, 3)), true),
    (1400, 1024, None, false),
    (1400, 1024, Some((10, 3)), true),
];

impl Case {
    fn settings(self) -> Settings {
        let mut c = Config::default();
        c.mtu = self.mtu;
        c.snd_wnd = self.wnd;
        c.rcv_wnd = self.rcv_wnd();
        if let Some((d, p)) = self.fec {
            c.data_shards = d;
            c.parity_shards = p;
        }
        if self.aes {
            c.crypt = CipherKind::Aes256;
            c.key = b"ram table".to_vec();
        }
        c.build().unwrap()
    }

    fn rcv_wnd(self) -> u32 {
        self.wnd.max(128)
    }

    /// The table's first four cells for this case.
    fn key(self) -> [String; 4] {
        [
            self.mtu.to_string(),
            format!("{}/{}", self.wnd, self.rcv_wnd()),
            self.fec.map_or("off".into(), |(d, p)| format!("{d}/{p}")),
            if self.aes {
                "aes".into()
            } else {
                "none".into()
            },
        ]
    }
}

/// The client's heap: held now and the highest seen.
#[derive(Default)]
struct Meter {
    net: i64,
    peak: i64,
}

impl Meter {
    /// Runs one client call, counting what it allocates and frees.
    fn call<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let (r, usage) = measure(f);
        self.peak = self.peak.max(self.net + usage.peak_bytes);
        self.net += usage.net_bytes;
        r
    }
}

/// Datagrams the client emits during one `poll`, copied into storage allocated up front so
/// that collecting them costs the measured call nothing.
struct Outbox {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Outbox {
    fn push(&mut self, d: &[u8]) {
        assert!(
            self.bytes.len() + d.len() <= self.bytes.capacity()
                && self.ends.len() < self.ends.capacity(),
            "the outbox would grow inside a measured call"
        );
        self.bytes.extend_from_slice(d);
        self.ends.push(self.bytes.len());
    }
}

/// What one case measured, in bytes.
struct Figures {
    new: i64,
    peak: i64,
    held: i64,
}

fn run(case: Case) -> Figures {
    let settings = case.settings();
    let mss = settings.kcp_mtu() - 24;
    let total = WINDOWS_SENT * case.wnd as usize * mss;
    let data: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut echoed = vec![0u8; total];
    let mut received = 0;
    let mut sent = 0;
    let mut pending = std::collections::VecDeque::with_capacity(total);
    let mut scratch = vec![0u8; 1 << 16];
    // Up to one window of each kind of datagram, with FEC parity, per poll, and more.
    let room = 4 * (case.wnd as usize + 64) * (case.mtu + 64);
    let mut outbox = Outbox {
        bytes: Vec::with_capacity(room),
        ends: Vec::with_capacity(room / 24),
    };
    let lossy = LinkConfig::new().delay(20, 30).loss(0.05);
    let (mut up, mut down) = (Link::new(lossy.clone(), 1), Link::new(lossy, 2));

    let mut m = Meter::default();
    let mut now = 0u32;
    let mut client = m.call(|| Session::new(0x5eed, &settings, now, [1; 32]));
    let new = m.net;
    let mut peer = Session::new_incoming(0x5eed, &settings, now, [2; 32]);
    let mut done_at = None;
    loop {
        // The client: what arrived, more to send, the echo, then what is due.
        while let Some(mut d) = down.poll(now) {
            m.call(|| client.input(now, &mut d)).unwrap();
        }
        while sent < total {
            match m.call(|| client.send(now, &data[sent..])) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        loop {
            let n = m.call(|| client.recv(&mut echoed[received..])).unwrap_or(0);
            if n == 0 {
                break;
            }
            received += n;
        }
        outbox.bytes.clear();
        outbox.ends.clear();
        m.call(|| client.poll(now, |d| outbox.push(d)));
        let mut start = 0;
        for &end in &outbox.ends {
            up.send(now, outbox.bytes[start..end].to_vec());
            start = end;
        }
        // The peer echoes everything back.
        while let Some(mut d) = up.poll(now) {
            peer.input(now, &mut d).unwrap();
        }
        while let Ok(n @ 1..) = peer.recv(&mut scratch) {
            pending.extend(&scratch[..n]);
        }
        while !pending.is_empty() {
            let (front, _) = pending.as_slices();
            match peer.send(now, front) {
                Ok(n) => drop(pending.drain(..n)),
                Err(_) => break,
            }
        }
        peer.poll(now, |d| down.send(now, d.to_vec()));

        if received == total && done_at.is_none() {
            done_at = Some(now);
        }
        // Once the echo is in, run on for two seconds so that the last acknowledgements
        // land and the session is at rest.
        if done_at.is_some_and(|t| now.wrapping_sub(t) > 2000) {
            break;
        }
        assert!(
            now < 600_000,
            "{case:?}: {received} of {total} bytes echoed after 600 s"
        );
        let next = [
            m.call(|| client.next_timeout(now)),
            peer.next_timeout(now),
            up.next_deadline(),
            down.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + 100);
        now = next.clamp(now + 1, now + 100);
    }
    assert!(echoed == data, "{case:?}: the echo differs");
    // The link did lose datagrams both ways, so the out-of-order buffers were used.
    assert!(
        up.stats().lost > 0 && down.stats().lost > 0,
        "{case:?}: no loss"
    );
    let held = m.net;
    m.call(|| drop(client));
    assert_eq!(m.net, 0, "{case:?}: dropping the session frees all it held");
    Figures {
        new,
        peak: m.peak,
        held,
    }
}

/// The rows of the table under `# Memory` in the crate docs: the cells of each row.
fn documented() -> Vec<Vec<String>> {
    let lib = include_str!("../src/lib.rs");
    let section = lib
        .split("//! # Memory")
        .nth(1)
        .expect("src/lib.rs has a \"# Memory\" section");
    section
        .lines()
        .skip(1) // the rest of the heading's line
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the separator
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A documented KiB figure, as written in the table.
fn kib(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number of KiB"))
}

#[test]
fn the_documented_ram_per_configuration_matches_a_measurement() {
    assert!(kcp_testkit::counting_alloc::installed());
    let table = documented();
    assert!(!table.is_empty(), "the memory table has no rows");
    let mut wrong = Vec::new();
    for &(mtu, wnd, fec, aes) in CASES {
        let case = Case { mtu, wnd, fec, aes };
        let f = run(case);
        let [new, peak, held] = [f.new, f.peak, f.held].map(|b| b as f64 / 1024.0);
        let key = case.key();
        let measured = format!("| {} | {new:.1} | {peak:.1} | {held:.1} |", key.join(" | "));
        println!("{measured}");
        let Some(row) = table.iter().find(|r| r.len() >= 7 && r[..4] == key) else {
            wrong.push(format!("missing row: {measured}"));
            continue;
        };
        for (what, doc, got) in [
            ("at creation", &row[4], new),
            ("peak", &row[5], peak),
            ("held at rest", &row[6], held),
        ] {
            let doc = kib(doc);
            if (got - doc).abs() > doc * TOLERANCE {
                wrong.push(format!(
                    "{key:?}: {what} {got:.1} KiB measured, {doc} documented"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the docs' memory table is stale:\n{}",
        wrong.join("\n")
    );
}
