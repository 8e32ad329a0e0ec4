//! An in-process lossy UDP relay for tests and demos over real sockets.
//!
//! Clients send to [`Relay::addr`]; the relay forwards to the upstream server from one
//! socket per client address (so the server sees each client as a distinct address, as
//! behind a NAT) and forwards the replies back. Every datagram, either way, may be
//! dropped, delayed with jitter, reordered, or duplicated, by a seeded generator.
//! Queues are bounded: a datagram that finds `max_queue` datagrams waiting is dropped.

use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::sim::Rng;

/// How the relay mistreats datagrams (the same in both directions).
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// One-way delay added to every datagram.
    pub delay: Duration,
    /// Extra delay, uniform in `0..=jitter`. Datagrams keep their order (a queue that
    /// drains at a varying pace) unless chosen for reordering.
    pub jitter: Duration,
    /// Probability that a datagram ignores the queue order: it takes its own delay and
    /// jitter and may overtake or fall behind its neighbours.
    pub reorder: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Datagrams waiting in the relay at most; more are dropped (a router's queue).
    pub max_queue: usize,
    /// Seed of the loss, jitter and duplication decisions.
    pub seed: u64,
}

impl Default for RelayConfig {
    /// A clean link: no loss, no delay, 100,000 datagrams of queue.
    fn default() -> Self {
        RelayConfig {
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: 0.0,
            duplicate: 0.0,
            max_queue: 100_000,
            seed: 1,
        }
    }
}

/// What the relay did, both directions together.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Datagrams received from either side.
    pub received: AtomicU64,
    /// Datagrams dropped on purpose (loss).
    pub lost: AtomicU64,
    /// Datagrams dropped because the queue was full.
    pub overflowed: AtomicU64,
    /// Extra copies delivered.
    pub duplicated: AtomicU64,
    /// Datagrams handed to a socket.
    pub forwarded: AtomicU64,
}

/// A running relay; dropping it stops it and closes its sockets.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    stats: Arc<RelayStats>,
    tasks: Vec<JoinHandle<()>>,
    upstream_tasks: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

/// A datagram waiting for its delivery time.
struct Pending {
    due: Instant,
    order: u64,
    /// Shared by the copies of a duplicated datagram.
    msg: Arc<Incoming>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    // Reversed: BinaryHeap is a max-heap and the earliest must come first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// A datagram on its way into the scheduler.
struct Incoming {
    /// The socket to send from: the client's own towards the server, the front socket
    /// back to the client.
    via: Arc<UdpSocket>,
    dest: SocketAddr,
    bytes: Vec<u8>,
}

/// Binds a socket on 127.0.0.1 with 4 MiB buffers (as far as the kernel allows), so the
/// relay itself does not drop the bursts KCP sends.
async fn bind() -> io::Result<UdpSocket> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    let r = socket2::SockRef::from(&sock);
    let _ = r.set_recv_buffer_size(4 << 20);
    let _ = r.set_send_buffer_size(4 << 20);
    Ok(sock)
}

impl Relay {
    /// Binds the relay on 127.0.0.1 (a free port) in front of `upstream`. Needs a tokio
    /// runtime.
    pub async fn start(upstream: SocketAddr, cfg: RelayConfig) -> io::Result<Relay> {
        let front = Arc::new(bind().await?);
        let addr = front.local_addr()?;
        let stats = Arc::new(RelayStats::default());
        let (tx, rx) = mpsc::unbounded_channel::<Incoming>();
        let upstream_tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let scheduler = tokio::spawn(schedule(rx, cfg, Arc::clone(&stats)));
        let reader = tokio::spawn(read_front(
            front,
            upstream,
            tx,
            Arc::clone(&stats),
            Arc::clone(&upstream_tasks),
        ));
        Ok(Relay {
            addr,
            stats,
            tasks: vec![scheduler, reader],
            upstream_tasks,
        })
    }

    /// The address clients send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the relay has done so far.
    pub fn stats(&self) -> &RelayStats {
        &self.stats
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self
            .upstream_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            t.abort();
        }
    }
}

/// Reads datagrams from clients and passes them on through each client's own socket.
async fn read_front(
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    tx: mpsc::UnboundedSender<Incoming>,
    stats: Arc<RelayStats>,
    tasks: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = front.recv_from(&mut buf).await else {
            continue;
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        let via = match clients.get(&from) {
            Some(s) => Arc::clone(s),
            None => {
                let Ok(sock) = bind().await else {
                    continue;
                };
                let sock = Arc::new(sock);
                let back = tokio::spawn(read_upstream(
                    Arc::clone(&sock),
                    Arc::clone(&front),
                    from,
                    tx.clone(),
                    Arc::clone(&stats),
                ));
                tasks.lock().unwrap_or_else(|e| e.into_inner()).push(back);
                clients.insert(from, Arc::clone(&sock));
                sock
            }
        };
        let _ = tx.send(Incoming {
            via,
            dest: upstream,
            bytes: buf[..n].to_vec(),
        });
    }
}

/// Reads the server's replies to one client and passes them back through the front.
async fn read_upstream(
    sock: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    tx: mpsc::UnboundedSender<Incoming>,
    stats: Arc<RelayStats>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, _)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        if tx
            .send(Incoming {
                via: Arc::clone(&front),
                dest: client,
                bytes: buf[..n].to_vec(),
            })
            .is_err()
        {
            return;
        }
    }
}

/// Applies loss, delay, jitter and duplication, and sends each datagram when it is due.
async fn schedule(
    mut rx: mpsc::UnboundedReceiver<Incoming>,
    cfg: RelayConfig,
    stats: Arc<RelayStats>,
) {
    let mut rng = Rng::new(cfg.seed);
    let mut heap: BinaryHeap<Pending> = BinaryHeap::new();
    let mut order = 0u64;
    // The latest delivery time handed out in order: in-order datagrams never come sooner.
    let mut last_due = Instant::now();
    let jitter_ms = cfg.jitter.as_millis() as u64;
    loop {
        let next = heap.peek().map(|p| p.due);
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg.map(Arc::new) else { return };
                let copies = if rng.chance(cfg.loss) {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    0
                } else if rng.chance(cfg.duplicate) {
                    stats.duplicated.fetch_add(1, Ordering::Relaxed);
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if heap.len() >= cfg.max_queue {
                        stats.overflowed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    let extra = if jitter_ms > 0 { rng.below(jitter_ms + 1) } else { 0 };
                    let mut due = Instant::now() + cfg.delay + Duration::from_millis(extra);
                    if !rng.chance(cfg.reorder) {
                        due = due.max(last_due);
                        last_due = due;
                    }
                    order += 1;
                    heap.push(Pending {
                        due,
                        order,
                        msg: Arc::clone(&msg),
                    });
                }
            }
            () = async {
                match next {
                    Some(due) => tokio::time::sleep_until(due).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|p| p.due <= now) {
            let Some(p) = heap.pop() else { break };
            if p.msg.via.try_send_to(&p.msg.bytes, p.msg.dest).is_ok() {
                stats.forwarded.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.overflowed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
