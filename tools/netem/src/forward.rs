//! The forwarder thread: reads IP packets from one namespace's TUN device, passes them
//! through a [`Link`] per direction on a real clock, and writes them into the other's.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Shared, Stats, sys};
use kcp_testkit::sim::{Link, LinkConfig};

/// Packets read from one device before the loop delivers again, so a flood in one
/// direction cannot hold back deliveries.
const READ_BATCH: usize = 256;

/// Longest wait without looking at the stop flag and new configurations.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// The two directions: index 0 carries what A sends to B, index 1 the reverse.
pub(super) struct Forwarder {
    pub(super) tuns: [File; 2],
    pub(super) links: [Link; 2],
    pub(super) shared: Arc<Shared>,
}

impl Forwarder {
    /// A forwarder for `a_to_b` and `b_to_a`, each link drawing from its own seed.
    pub(super) fn new(
        tuns: [File; 2],
        configs: [LinkConfig; 2],
        seed: u64,
        shared: Arc<Shared>,
    ) -> Forwarder {
        let [ab, ba] = configs;
        let mut rng = kcp_testkit::sim::Rng::new(seed);
        let links = [
            Link::new(ab.on_wall_clock(), rng.next_u64()),
            Link::new(ba.on_wall_clock(), rng.next_u64()),
        ];
        Forwarder {
            tuns,
            links,
            shared,
        }
    }

    /// Runs until the stop flag is set; an I/O error of a device ends it early.
    pub(super) fn run(mut self) -> io::Result<()> {
        let start = Instant::now();
        let now_ms = || start.elapsed().as_millis() as u32;
        let mut buf = vec![0u8; 65_536];
        let mut extra = Stats::default();
        while !self.shared.stop.load(Ordering::Relaxed) {
            if let Some([ab, ba]) = self
                .shared
                .reconfigure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                self.links[0].set_config(ab.on_wall_clock());
                self.links[1].set_config(ba.on_wall_clock());
            }
            let now = now_ms();
            for dir in 0..2 {
                while let Some(packet) = self.links[dir].poll(now) {
                    if self.tuns[1 - dir].write(&packet).is_err() {
                        extra.write_errors += 1;
                    }
                }
            }
            self.publish(&extra);

            let wait = self
                .links
                .iter()
                .filter_map(Link::next_deadline)
                .map(|due| {
                    let ahead = due.wrapping_sub(now) as i32;
                    let at = start + Duration::from_millis(u64::from(now) + ahead.max(0) as u64);
                    at.saturating_duration_since(Instant::now())
                })
                .min()
                .unwrap_or(IDLE_WAIT)
                .min(IDLE_WAIT);
            let (ready_a, ready_b) = sys::wait_readable(&self.tuns[0], &self.tuns[1], wait)?;
            let now = now_ms();
            for (dir, ready) in [(0, ready_a), (1, ready_b)] {
                if !ready {
                    continue;
                }
                for _ in 0..READ_BATCH {
                    let n = match self.tuns[dir].read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    // Only IPv4 crosses; the kernel's own IPv6 chatter would count as
                    // traffic of the workload otherwise.
                    if n == 0 || buf[0] >> 4 != 4 {
                        extra.ignored += 1;
                        continue;
                    }
                    self.links[dir].send(now, &buf[..n]);
                }
            }
        }
        self.publish(&extra);
        Ok(())
    }

    fn publish(&self, extra: &Stats) {
        let mut stats = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats = Stats {
            a_to_b: self.links[0].stats(),
            b_to_a: self.links[1].stats(),
            ..*extra
        };
    }
}
