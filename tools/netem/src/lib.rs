//! A network emulator for real sockets: two network namespaces joined by a user-space
//! forwarder that applies one-way delay, jitter, random or bursty (Gilbert-Elliott)
//! loss, reordering, duplication and a bandwidth cap with a bounded queue.
//!
//! Linux only, as root. Each side is a [`NetNs`] with a TUN device (`netem0`) addressed
//! [`ADDR_A`] / [`ADDR_B`]; what one side sends to the other's address is read from its
//! TUN device by a forwarder thread, passed through a [`sim::Link`](kcp_testkit::sim::Link) per
//! direction (the simulator's link model, here on the real clock, in whole milliseconds)
//! and written into the other side's TUN device. Unlike the in-process UDP relay, this
//! carries any IP traffic, so TCP and UDP cross the same emulated path; unlike `tc netem`
//! (missing from some kernels) it needs nothing but TUN, network namespaces and `ip`.
//!
//! ```no_run
//! use kcp_netem::{Emulator, ADDR_B};
//! use kcp_testkit::sim::LinkConfig;
//!
//! let link = LinkConfig::new().delay(50, 50).loss(0.05).bandwidth(1_250_000).buffer(125_000);
//! let emu = Emulator::symmetric(link, 7).expect("root, /dev/net/tun and iproute2");
//! let server = emu.b().run(|| std::net::UdpSocket::bind((ADDR_B, 9000))).unwrap().unwrap();
//! let client = emu.a().run(|| std::net::UdpSocket::bind("0.0.0.0:0")).unwrap().unwrap();
//! client.send_to(b"hello", (ADDR_B, 9000)).unwrap(); // arrives 50 ms later, 95% of the time
//! # drop(server);
//! println!("{:?}", emu.stats());
//! ```
//!
//! Namespaces have no name and vanish with the process, whatever way it ends; the
//! forwarder stops when the [`Emulator`] is dropped. Delays are kept to 1 ms: a packet is
//! held at least the configured delay and less than 1 ms more, plus the forwarder's
//! scheduling latency. Packets are IPv4 only (other packets are counted and dropped).
#![cfg(target_os = "linux")]

mod forward;
mod ns;
mod sys;

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

pub use ns::NetNs;

use kcp_testkit::sim::{LinkConfig, LinkStats};

/// Side A's address (on its TUN device), in the benchmarking range of RFC 2544, which
/// exists only inside the emulator's namespaces.
pub const ADDR_A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Side B's address.
pub const ADDR_B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The TUN device's name in both namespaces.
pub const DEVICE: &str = "netem0";

/// What the forwarder did so far, per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets from A to B: offered (IP packet sizes, headers included), lost, dropped by
    /// the queue, delivered.
    pub a_to_b: LinkStats,
    /// Packets from B to A.
    pub b_to_a: LinkStats,
    /// Packets that were not IPv4 and were dropped without being counted above.
    pub ignored: u64,
    /// Packets the forwarder could not write into the receiving device.
    pub write_errors: u64,
}

impl Stats {
    /// Bytes the two sides put on the wire, both directions together (IP headers
    /// included, lost packets included).
    pub fn wire_bytes(&self) -> u64 {
        self.a_to_b.sent_bytes + self.b_to_a.sent_bytes
    }

    /// The counts accumulated since `earlier`, a snapshot of the same emulator.
    pub fn since(&self, earlier: &Stats) -> Stats {
        let d = |a: &LinkStats, b: &LinkStats| LinkStats {
            sent: a.sent - b.sent,
            sent_bytes: a.sent_bytes - b.sent_bytes,
            lost: a.lost - b.lost,
            overflowed: a.overflowed - b.overflowed,
            duplicated: a.duplicated - b.duplicated,
            reordered: a.reordered - b.reordered,
            delivered: a.delivered - b.delivered,
            delivered_bytes: a.delivered_bytes - b.delivered_bytes,
        };
        Stats {
            a_to_b: d(&self.a_to_b, &earlier.a_to_b),
            b_to_a: d(&self.b_to_a, &earlier.b_to_a),
            ignored: self.ignored - earlier.ignored,
            write_errors: self.write_errors - earlier.write_errors,
        }
    }
}

/// State shared between the [`Emulator`] and its forwarder thread.
struct Shared {
    stop: AtomicBool,
    stats: Mutex<Stats>,
    /// New link configurations for the forwarder to pick up.
    reconfigure: Mutex<Option<[LinkConfig; 2]>>,
}

/// Two network namespaces joined by an emulated link. Dropping it stops the forwarder
/// and releases both namespaces.
pub struct Emulator {
    a: NetNs,
    b: NetNs,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Creates both namespaces and their TUN devices and starts forwarding: `a_to_b`
    /// shapes what A sends, `b_to_a` what B sends; every random decision comes from
    /// `seed`. Needs root, `/dev/net/tun` and `ip` (iproute2); fails with the reason
    /// otherwise.
    pub fn start(a_to_b: LinkConfig, b_to_a: LinkConfig, seed: u64) -> io::Result<Emulator> {
        let (a, tun_a) = side(ADDR_A)?;
        let (b, tun_b) = side(ADDR_B)?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            stats: Mutex::new(Stats::default()),
            reconfigure: Mutex::new(None),
        });
        let forwarder =
            forward::Forwarder::new([tun_a, tun_b], [a_to_b, b_to_a], seed, Arc::clone(&shared));
        let thread = thread::Builder::new()
            .name("netem".into())
            .spawn(move || forwarder.run())?;
        Ok(Emulator {
            a,
            b,
            shared,
            thread: Some(thread),
        })
    }

    /// [`start`](Self::start) with the same shape both ways (each direction still draws
    /// its own random decisions).
    pub fn symmetric(link: LinkConfig, seed: u64) -> io::Result<Emulator> {
        Self::start(link.clone(), link, seed)
    }

    /// Side A, at [`ADDR_A`]: run clients here.
    pub fn a(&self) -> &NetNs {
        &self.a
    }

    /// Side B, at [`ADDR_B`]: run servers here.
    pub fn b(&self) -> &NetNs {
        &self.b
    }

    /// What the forwarder has done so far (updated after every batch it handles).
    pub fn stats(&self) -> Stats {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes both directions' shapes from now on; packets in flight keep their
    /// schedule (for tests that degrade or heal a path midway).
    pub fn set_config(&self, a_to_b: LinkConfig, b_to_a: LinkConfig) {
        *self
            .shared
            .reconfigure
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some([a_to_b, b_to_a]);
    }

    /// Whether the forwarder is still running (it stops only when told to, or on an I/O
    /// error of a device, which [`stop`](Self::stop) reports).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the forwarder and returns the final counts, or the error that stopped it
    /// early.
    pub fn stop(mut self) -> io::Result<Stats> {
        self.halt()?;
        Ok(self.stats())
    }

    fn halt(&mut self) -> io::Result<()> {
        self.shared.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the netem forwarder panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// One side: a namespace whose TUN device has address `addr` in a /24 that the other
/// side's address shares.
fn side(addr: Ipv4Addr) -> io::Result<(NetNs, File)> {
    NetNs::create(|| {
        let tun = sys::open_tun(DEVICE).map_err(|e| {
            ns::context(
                e,
                "opening /dev/net/tun (the emulator needs root and the tun driver)",
            )
        })?;
        let cidr = format!("{addr}/24");
        ns::ip(&["addr", "add", &cidr, "dev", DEVICE])?;
        ns::ip(&["link", "set", DEVICE, "txqueuelen", "1000", "up"])?;
        Ok(tun)
    })
    .map_err(|e| ns::context(e, "setting up a side of the network emulator"))
}
