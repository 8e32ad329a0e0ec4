//! An in-process lossy UDP relay for tests and demos over real sockets.
//!
//! Clients send to [`Relay::addr`]; the relay forwards to the upstream server from one
//! socket per client address (so the server sees each client as a distinct address, as
//! behind a NAT) and forwards the replies back. Each direction is a [`sim::Link`](Link) on the
//! real clock, the simulator's and the network emulator's impairment model: delay and
//! jitter, random or bursty loss, duplication, reordering, a bandwidth cap with a
//! tail-drop buffer and a queue limit, from a seed. Without a
//! [`queue_limit`](LinkConfig::queue_limit) the relay holds at most
//! [`DEFAULT_QUEUE_LIMIT`] datagrams per direction.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};

use crate::sim::{Link, LinkConfig, LinkStats, Rng};

/// Datagrams a direction holds when the configuration sets no queue limit.
pub const DEFAULT_QUEUE_LIMIT: usize = 100_000;

/// What the relay did, both directions together.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Datagrams received from either side.
    pub received: AtomicU64,
    /// Datagrams dropped on purpose (loss).
    pub lost: AtomicU64,
    /// Datagrams dropped because the queue or the buffer was full, or the socket refused
    /// them.
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

/// A datagram on its way through a link, with its route.
#[derive(Clone)]
struct Routed {
    /// The socket to send from: the client's own towards the server, the front socket
    /// back to the client.
    via: Arc<UdpSocket>,
    dest: SocketAddr,
    bytes: Vec<u8>,
}

impl AsRef<[u8]> for Routed {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Which link a datagram takes: 0 towards the server, 1 back to a client.
struct Incoming {
    upstream: bool,
    datagram: Routed,
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
    /// Binds the relay on 127.0.0.1 (a free port) in front of `upstream`, each direction
    /// treated as `link` says, its random decisions drawn from `seed`. Needs a tokio
    /// runtime.
    pub async fn start(upstream: SocketAddr, link: LinkConfig, seed: u64) -> io::Result<Relay> {
        Relay::start_asymmetric(upstream, link.clone(), link, seed).await
    }

    /// [`start`](Self::start) with a different treatment towards the server (`to_server`)
    /// and back to the clients (`to_clients`).
    pub async fn start_asymmetric(
        upstream: SocketAddr,
        to_server: LinkConfig,
        to_clients: LinkConfig,
        seed: u64,
    ) -> io::Result<Relay> {
        let front = Arc::new(bind().await?);
        let addr = front.local_addr()?;
        let stats = Arc::new(RelayStats::default());
        let (tx, rx) = mpsc::unbounded_channel::<Incoming>();
        let upstream_tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let links = [to_server, to_clients].map(|mut cfg| {
            cfg.queue_limit = cfg.queue_limit.or(Some(DEFAULT_QUEUE_LIMIT));
            cfg.on_wall_clock()
        });
        let scheduler = tokio::spawn(schedule(rx, links, seed, Arc::clone(&stats)));
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
            upstream: true,
            datagram: Routed {
                via,
                dest: upstream,
                bytes: buf[..n].to_vec(),
            },
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
                upstream: false,
                datagram: Routed {
                    via: Arc::clone(&front),
                    dest: client,
                    bytes: buf[..n].to_vec(),
                },
            })
            .is_err()
        {
            return;
        }
    }
}

/// Passes each datagram through its direction's link and sends it when the link
/// delivers it.
async fn schedule(
    mut rx: mpsc::UnboundedReceiver<Incoming>,
    configs: [LinkConfig; 2],
    seed: u64,
    stats: Arc<RelayStats>,
) {
    let mut rng = Rng::new(seed);
    let [up, down] = configs;
    let mut links: [Link<Routed>; 2] = [
        Link::carrying(up, rng.next_u64()),
        Link::carrying(down, rng.next_u64()),
    ];
    let start = Instant::now();
    let now_ms = || start.elapsed().as_millis() as u32;
    let mut refused = 0;
    loop {
        let now = now_ms();
        for link in &mut links {
            while let Some(d) = link.poll(now) {
                if d.via.try_send_to(&d.bytes, d.dest).is_ok() {
                    stats.forwarded.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused += 1;
                }
            }
        }
        let total = |f: fn(&LinkStats) -> u64| links.iter().map(|l| f(&l.stats())).sum::<u64>();
        stats.lost.store(total(|s| s.lost), Ordering::Relaxed);
        stats
            .duplicated
            .store(total(|s| s.duplicated), Ordering::Relaxed);
        stats
            .overflowed
            .store(total(|s| s.overflowed) + refused, Ordering::Relaxed);

        let next = links.iter().filter_map(Link::next_deadline).map(|due| {
            let ahead = due.wrapping_sub(now) as i32;
            start + Duration::from_millis(u64::from(now) + ahead.max(0) as u64)
        });
        let next = next.min();
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { return };
                links[usize::from(!msg.upstream)].send(now_ms(), msg.datagram);
            }
            () = async {
                match next {
                    Some(due) => tokio::time::sleep_until(due).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}
