//! One scenario: two endpoints in each world, a shared script, a shared wire.

use kcp_core::Kcp;
use kcp_testkit::ikcp::CKcp;
use kcp_testkit::sim::Rng;

use crate::Coverage;
use crate::report::{
    datagrams_diff, describe, readout_c, readout_diff, readout_r, segment_starts, usize_code,
};

/// How many recent steps a failure report lists.
const HISTORY: usize = 40;

/// Segment commands, as on the wire.
const PUSH: u8 = 81;
const ACK: u8 = 82;
const WASK: u8 = 83;
const WINS: u8 = 84;

/// One endpoint, in both worlds.
struct Side {
    c: CKcp,
    r: Kcp,
    /// Rust-only headroom and tailroom around each datagram.
    reserved: usize,
    tailroom: usize,
    /// This endpoint's clock is the scenario clock plus this offset.
    offset: u32,
}

/// The link parameters of one scenario.
struct Net {
    loss: f64,
    duplicate: f64,
    reorder: f64,
    /// How often an input is preceded by `set_current(now)`.
    fresh_clock: f64,
}

/// Two conversations, one C and one Rust, driven by one seeded script: every random
/// choice comes from `rng`, so a seed replays the same scenario exactly.
pub(crate) struct Scenario {
    seed: u64,
    rng: Rng,
    sides: [Side; 2],
    /// The scenario clock.
    now: u32,
    net: Net,
    /// Datagrams in flight from side `i` to the other side.
    wire: [Vec<Vec<u8>>; 2],
    /// Recent datagrams, raw material for damaged copies.
    recent: Vec<Vec<u8>>,
    /// The first sequence numbers, to notice wrapping.
    first_sn: [u32; 2],
    pub(crate) step: usize,
    pub(crate) history: Vec<String>,
    verbose: bool,
    /// Coverage counters reported at the end of a run.
    pub(crate) stats: Coverage,
}

impl Scenario {
    pub(crate) fn new(seed: u64, verbose: bool) -> Self {
        let mut rng = Rng::new(seed);
        let conv = match rng.below(4) {
            0 => u32::MAX - rng.below(3) as u32,
            1 => rng.below(3) as u32,
            _ => rng.next_u32(),
        };
        let now = match rng.below(4) {
            0 => u32::MAX - rng.below(200_000) as u32,
            1 => rng.below(1_000) as u32,
            _ => rng.next_u32(),
        };
        let side = |rng: &mut Rng| Side {
            c: CKcp::new(conv),
            r: Kcp::new(conv),
            reserved: if rng.chance(0.5) {
                0
            } else {
                rng.range_usize(1, 40)
            },
            tailroom: if rng.chance(0.7) {
                0
            } else {
                rng.range_usize(1, 20)
            },
            offset: if rng.chance(0.6) {
                0
            } else {
                rng.range_u32(0, 6_000).wrapping_sub(3_000)
            },
        };
        let sides = [side(&mut rng), side(&mut rng)];
        let net = match rng.below(5) {
            0 => Net {
                loss: 0.0,
                duplicate: 0.0,
                reorder: 0.0,
                fresh_clock: 0.0,
            },
            _ => Net {
                loss: rng.unit() * 0.4,
                duplicate: rng.unit() * 0.15,
                reorder: rng.unit() * 0.3,
                fresh_clock: rng.unit(),
            },
        };
        let mut sc = Scenario {
            seed,
            rng,
            sides,
            now,
            net,
            wire: [Vec::new(), Vec::new()],
            recent: Vec::new(),
            first_sn: [0; 2],
            step: 0,
            history: Vec::new(),
            verbose,
            stats: Coverage::default(),
        };
        sc.setup();
        sc
    }

    fn side_now(&self, i: usize) -> u32 {
        self.now.wrapping_add(self.sides[i].offset)
    }

    fn note(&mut self, what: String) {
        if self.verbose {
            println!("step {}: {what}", self.step);
        }
        if self.history.len() == HISTORY {
            self.history.remove(0);
        }
        self.history.push(format!("{}: {what}", self.step));
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "C and Rust diverge: seed {seed} step {step}\n\
             replay: KCP_DIFF_SEED={seed} cargo test --release -p kcp-core --test differential\n\
             recent steps:\n  {hist}\n{what}",
            seed = self.seed,
            step = self.step,
            hist = self.history.join("\n  "),
        );
    }

    fn expect_eq<T: PartialEq + core::fmt::Debug>(&self, what: &str, c: T, r: T) {
        if c != r {
            self.fail(&format!("{what}: C {c:?}, Rust {r:?}"));
        }
    }

    /// Random configuration before any traffic, then the initial sequence numbers.
    fn setup(&mut self) {
        for i in 0..2 {
            for _ in 0..self.rng.range_usize(0, 6) {
                self.configure(i, true);
            }
            let (reserved, tailroom) = (self.sides[i].reserved, self.sides[i].tailroom);
            self.sides[i].r.set_reserved(reserved);
            self.sides[i].r.set_tailroom(tailroom);
        }
        let mut base = || match self.rng.below(3) {
            0 => u32::MAX - self.rng.below(300) as u32,
            1 => 0,
            _ => self.rng.next_u32(),
        };
        let (sn_a, sn_b) = (base(), base());
        self.first_sn = [sn_a, sn_b];
        // Usually each side expects what the other sends; sometimes it is off by a little.
        let skew = |rng: &mut Rng, sn: u32| {
            if rng.chance(0.9) {
                sn
            } else {
                sn.wrapping_add(rng.range_u32(0, 400)).wrapping_sub(200)
            }
        };
        let rcv_a = skew(&mut self.rng, sn_b);
        let rcv_b = skew(&mut self.rng, sn_a);
        for (i, (snd, rcv)) in [(sn_a, rcv_a), (sn_b, rcv_b)].into_iter().enumerate() {
            let s = &mut self.sides[i];
            s.c.set_initial_sequence(snd, rcv);
            if let Err(e) = s.r.set_initial_sequence(snd, rcv) {
                self.fail(&format!("set_initial_sequence refused before traffic: {e}"));
            }
        }
        self.note(format!(
            "setup: conv {:#x}, clock {}, sn {sn_a}/{sn_b}, rcv {rcv_a}/{rcv_b}, offsets {}/{}, \
             headroom {}+{} / {}+{}, loss {:.2} dup {:.2} reorder {:.2}",
            self.sides[0].c.conv(),
            self.now,
            self.sides[0].offset as i32,
            self.sides[1].offset as i32,
            self.sides[0].reserved,
            self.sides[0].tailroom,
            self.sides[1].reserved,
            self.sides[1].tailroom,
            self.net.loss,
            self.net.duplicate,
            self.net.reorder,
        ));
        self.compare(0);
        self.compare(1);
    }

    /// One random configuration call on side `i`, applied to both worlds.
    fn configure(&mut self, i: usize, initial: bool) {
        let rng = &mut self.rng;
        let what = match rng.below(13) {
            0 | 1 => {
                let mtu = match rng.below(4) {
                    0 => rng.range_u32(40, 60),
                    1 => rng.range_u32(50, 200),
                    2 => 1400,
                    _ => rng.range_u32(50, 1500),
                };
                // Shrinking below a queued segment would overflow C's scratch buffer.
                let longest = self.sides[i].c.max_queued_segment_len();
                if longest + 24 > 3 * (mtu + 24) {
                    return;
                }
                let s = &mut self.sides[i];
                let c = s.c.set_mtu(mtu as i32);
                let r = s.r.set_mtu(mtu as usize);
                self.expect_eq(
                    "set_mtu result",
                    i64::from(c),
                    if r.is_ok() { 0 } else { -1 },
                );
                format!("set_mtu({mtu}) -> {c}")
            }
            2 | 3 => {
                let mut wnd = || match rng.below(5) {
                    0 => 0,
                    1 => rng.range_u32(1, 8),
                    2 => rng.range_u32(1, 300),
                    3 if rng.chance(0.1) => rng.range_u32(4096, 65_535),
                    _ => rng.range_u32(1, 4096),
                };
                let (snd, rcv) = (wnd(), wnd());
                let s = &mut self.sides[i];
                let c = s.c.set_window_size(snd as i32, rcv as i32);
                let r = s.r.set_window_size(snd, rcv);
                if r.is_err() {
                    self.fail(&format!("set_window_size({snd}, {rcv}) refused: {r:?}"));
                }
                format!("set_window_size({snd}, {rcv}) -> {c}")
            }
            4 | 5 => {
                let nd = rng.range_u32(0, 3);
                let iv = match rng.below(3) {
                    0 => rng.range_u32(0, 20),
                    1 => rng.range_u32(10, 200),
                    _ => rng.range_u32(0, 6000),
                };
                let rs = rng.range_u32(0, 3);
                let nc = rng.chance(0.5);
                let s = &mut self.sides[i];
                s.c.set_nodelay(nd as i32, iv as i32, rs as i32, i32::from(nc));
                s.r.set_nodelay(nd, iv, rs, nc);
                format!("set_nodelay({nd}, {iv}, {rs}, {nc})")
            }
            6 => {
                let nd = rng.range_u32(0, 3);
                let s = &mut self.sides[i];
                s.c.set_nodelay(nd as i32, -1, -1, -1);
                s.r.set_nodelay_mode(nd);
                format!("set_nodelay_mode({nd})")
            }
            7 => {
                let iv = rng.range_u32(0, 6000);
                let s = &mut self.sides[i];
                s.c.set_nodelay(-1, iv as i32, -1, -1);
                s.r.set_interval(iv);
                format!("set_interval({iv})")
            }
            8 => {
                let ms = match rng.below(7) {
                    0 => rng.range_u32(0, 10),
                    1..=3 => rng.range_u32(10, 300),
                    // Beyond i32::MAX: C's signed field goes negative and its unsigned
                    // clamp then reads it as huge.
                    4 => u32::MAX - rng.range_u32(0, 1000),
                    _ => rng.range_u32(0, 5000),
                };
                let s = &mut self.sides[i];
                s.c.set_min_rto(ms as i32);
                s.r.set_min_rto(ms);
                format!("set_min_rto({ms})")
            }
            9 => {
                let n = rng.range_u32(0, 12) as i32 - 2;
                let rs = rng.range_u32(0, 4);
                let nc = rng.chance(0.5);
                let s = &mut self.sides[i];
                s.c.set_fast_limit(n);
                s.r.set_fast_limit(n);
                s.c.set_fast_resend(rs as i32);
                s.r.set_fast_resend(rs);
                s.c.set_nocwnd(nc);
                s.r.set_nocwnd(nc);
                format!("set_fast_limit({n}), set_fast_resend({rs}), set_nocwnd({nc})")
            }
            10 => {
                let n = if rng.chance(0.5) {
                    rng.range_u32(1, 8)
                } else {
                    rng.range_u32(0, 40)
                };
                let s = &mut self.sides[i];
                s.c.set_dead_link(n);
                s.r.set_dead_link(n);
                format!("set_dead_link({n})")
            }
            11 if !initial => {
                // Headroom and tailroom are ours alone: changing them must not change
                // a single byte of the KCP frames.
                let (head, tail) = (rng.range_usize(0, 64), rng.range_usize(0, 32));
                let s = &mut self.sides[i];
                s.reserved = head;
                s.tailroom = tail;
                s.r.set_reserved(head);
                s.r.set_tailroom(tail);
                format!("(Rust only) set_reserved({head}), set_tailroom({tail})")
            }
            _ => {
                // Switching modes mid-conversation is legal in C; mostly do it up front.
                if !initial && rng.chance(0.8) {
                    return;
                }
                let stream = rng.chance(0.5);
                let s = &mut self.sides[i];
                s.c.set_stream(stream);
                s.r.set_stream(stream);
                format!("set_stream({stream})")
            }
        };
        self.note(format!("side {i}: {what}"));
    }

    /// Compares everything observable about side `i`.
    fn compare(&mut self, i: usize) {
        let now = self.side_now(i);
        let c = readout_c(&self.sides[i].c, now);
        let r = readout_r(&self.sides[i].r, now);
        if c != r {
            self.fail(&format!(
                "read-outs of side {i} differ:\n{}",
                readout_diff(&c, &r)
            ));
        }
        if (c.state != 0) != self.sides[i].r.is_dead_link() {
            self.fail("is_dead_link disagrees with state");
        }
    }

    /// Collects the datagrams both worlds emitted on side `i`, compares them and puts the
    /// C copies on the wire.
    fn exchange_output(&mut self, i: usize, r_out: Vec<Vec<u8>>) {
        let c_out = self.sides[i].c.take_output();
        if let Some(diff) = datagrams_diff(&c_out, &r_out) {
            self.fail(&format!("output of side {i} differs: {diff}"));
        }
        let mtu = self.sides[i].c.mtu() as usize;
        for d in c_out {
            self.stats.datagrams += 1;
            for at in segment_starts(&d) {
                if let Some(n) = self
                    .stats
                    .segments
                    .get_mut(usize::from(d[at + 4].wrapping_sub(PUSH)))
                {
                    *n += 1;
                }
            }
            if d.len() > mtu {
                self.stats.oversize_datagrams += 1;
            }
            if self.recent.len() == 32 {
                self.recent.swap_remove(self.rng.below(32) as usize);
            }
            self.recent.push(d.clone());
            if self.rng.chance(self.net.loss) {
                continue;
            }
            if self.rng.chance(self.net.duplicate) {
                self.wire[i].push(d.clone());
            }
            self.wire[i].push(d);
        }
    }

    /// Runs `call` on side `i`'s Rust endpoint with an output sink that strips headroom
    /// and tailroom, and returns the datagrams. The sink then scribbles over the whole
    /// slice, as a cipher encrypting in place would: later datagrams must not depend on
    /// what the callback left in the buffer.
    fn rust_output(
        &mut self,
        i: usize,
        call: impl FnOnce(&mut Kcp, &mut dyn FnMut(&mut [u8])),
    ) -> Vec<Vec<u8>> {
        let s = &mut self.sides[i];
        let (head, tail) = (s.reserved, s.tailroom);
        let mut out = Vec::new();
        let mut short = false;
        call(&mut s.r, &mut |d: &mut [u8]| {
            if d.len() < head + tail {
                short = true;
                return;
            }
            out.push(d[head..d.len() - tail].to_vec());
            d.fill(0xA5);
        });
        if short {
            self.fail("an output slice is shorter than its headroom and tailroom");
        }
        out
    }

    fn update(&mut self, i: usize) {
        let now = self.side_now(i);
        self.sides[i].c.update(now);
        let out = self.rust_output(i, |k, sink| k.update(now, sink));
        self.note(format!(
            "side {i}: update({now}) -> {} datagrams",
            out.len()
        ));
        self.exchange_output(i, out);
    }

    fn flush(&mut self, i: usize) {
        self.sides[i].c.flush();
        let out = self.rust_output(i, |k, sink| k.flush(sink));
        self.note(format!("side {i}: flush -> {} datagrams", out.len()));
        self.exchange_output(i, out);
    }

    fn advance_clock(&mut self) {
        let interval = self.sides[0].c.interval().max(self.sides[1].c.interval());
        let dt: i64 = match self.rng.below(100) {
            0..10 => 0,
            10..50 => i64::from(self.rng.range_u32(1, interval)),
            50..80 => i64::from(self.rng.range_u32(interval, 3 * interval)),
            80..95 => i64::from(self.rng.range_u32(100, 2_000)),
            95..99 => i64::from(self.rng.range_u32(5_000, 16_000)),
            _ => -i64::from(self.rng.range_u32(1, 50)),
        };
        let before = self.now;
        self.now = self.now.wrapping_add(dt as u32);
        self.stats.clock_wrapped |= u64::from(dt > 0 && self.now < before);
        self.note(format!("clock {dt:+} -> {}", self.now));
    }

    fn send(&mut self, i: usize) {
        let mss = self.sides[i].c.mss() as usize;
        let len = match self.rng.below(100) {
            0..6 => 0,
            6..50 => self.rng.range_usize(1, mss),
            50..80 => self.rng.range_usize(mss, 4 * mss),
            80..95 => self.rng.range_usize(4 * mss, 40 * mss),
            _ => self.rng.range_usize(125 * mss, 129 * mss),
        };
        let mut data = vec![0u8; len];
        self.rng.fill(&mut data);
        let c = i64::from(self.sides[i].c.send(&data));
        let r = usize_code(&self.sides[i].r.send(&data), |e| e.code());
        self.note(format!("side {i}: send({len}) -> {c}"));
        self.expect_eq("send result", c, r);
        if c == -2 {
            self.stats.send_too_large += 1;
        }
    }

    fn recv(&mut self, i: usize) {
        let mss = self.sides[i].c.mss() as usize;
        let size = self.sides[i].c.peek_size();
        let cap = match self.rng.below(8) {
            0..=2 if size >= 0 => size as usize,
            3 if size > 0 => size as usize - 1,
            4 => self.rng.range_usize(0, 2 * mss),
            5 => mss,
            _ => 128 * mss,
        };
        let peek = cap > 0 && self.rng.chance(0.2);
        let mut cbuf = vec![0u8; cap];
        let mut rbuf = vec![0u8; cap];
        let s = &mut self.sides[i];
        let (c, r) = if peek {
            (s.c.peek(&mut cbuf), s.r.peek(&mut rbuf))
        } else {
            (s.c.recv(&mut cbuf), s.r.recv(&mut rbuf))
        };
        let r = usize_code(&r, |e| e.code());
        let op = if peek { "peek" } else { "recv" };
        self.note(format!("side {i}: {op}(buf {cap}) -> {c}"));
        self.expect_eq(&format!("{op} result"), i64::from(c), r);
        if c >= 0 {
            let n = c as usize;
            if cbuf[..n] != rbuf[..n] {
                let at = cbuf.iter().zip(&rbuf).position(|(a, b)| a != b);
                self.fail(&format!("{op} data differs (first at byte {at:?} of {n})"));
            }
            self.stats.recv_ok += 1;
            self.stats.bytes_delivered += n as u64;
        } else {
            self.stats.recv_errors += 1;
        }
    }

    /// Feeds `datagram` to side `i` in both worlds and compares the results.
    fn input(&mut self, i: usize, datagram: &[u8], label: &str) {
        if self.rng.chance(self.net.fresh_clock) {
            let now = self.side_now(i);
            self.sides[i].c.set_current(now);
            self.sides[i].r.set_current(now);
        }
        let c = i64::from(self.sides[i].c.input(datagram));
        let r = match self.sides[i].r.input(datagram) {
            Ok(()) => 0,
            Err(e) => i64::from(e.code()),
        };
        self.note(format!(
            "side {i}: input {label} ({} bytes) -> {c}",
            datagram.len()
        ));
        if c != r {
            self.fail(&format!(
                "input result: C {c}, Rust {r}; datagram: {}",
                describe(datagram)
            ));
        }
        if c != 0 {
            self.stats.input_errors += 1;
        }
    }

    /// Delivers one or more datagrams from the other side's wire to side `i`.
    fn deliver(&mut self, i: usize) {
        let from = 1 - i;
        let n = if self.rng.chance(0.3) {
            self.wire[from].len()
        } else {
            1
        };
        for _ in 0..n {
            if self.wire[from].is_empty() {
                break;
            }
            let at = if self.rng.chance(self.net.reorder) {
                self.rng.below(self.wire[from].len() as u64) as usize
            } else {
                0
            };
            let mut d = self.wire[from].remove(at);
            // Sometimes two datagrams arrive glued together, as a lower layer that batches
            // could hand them over: one input call then sees more ACKs at once.
            if !self.wire[from].is_empty() && self.rng.chance(0.05) {
                let next = self.wire[from].remove(0);
                d.extend_from_slice(&next);
                self.input(i, &d, "two datagrams glued");
            } else {
                self.input(i, &d, "datagram");
            }
        }
    }

    /// A clock value close to side `i`'s clock. Every `ts` that reaches an RTT sample
    /// must be: ikcp's estimator overflows signed integers on absurd samples. The two
    /// clocks differ by at most 6 s, so a `ts` near either is fine for both.
    fn plausible_ts(&mut self, i: usize) -> u32 {
        self.side_now(i).wrapping_sub(self.rng.range_u32(0, 5_000))
    }

    /// Feeds side `i` something a broken or hostile network could deliver.
    fn garbage(&mut self, i: usize) {
        let conv = self.sides[i].c.conv();
        let pick = self.rng.below(7);
        let (label, d) = match pick {
            0 => {
                let mut d = vec![0u8; self.rng.range_usize(0, 80)];
                self.rng.fill(&mut d);
                ("random bytes", d)
            }
            1..=3 if !self.recent.is_empty() => {
                let mut d = self.recent[self.rng.below(self.recent.len() as u64) as usize].clone();
                match pick {
                    1 => {
                        d.truncate(self.rng.range_usize(0, d.len()));
                        ("truncated datagram", d)
                    }
                    2 => {
                        let v = d[0] ^ (1 + self.rng.below(255) as u8);
                        d[0] = v;
                        ("wrong conv", d)
                    }
                    _ => {
                        // Damage any field but `ts` (every `ts` on the wire comes from one
                        // of the two clocks, which stay close, so RTT samples stay sane).
                        let starts = segment_starts(&d);
                        let seg = starts[self.rng.below(starts.len() as u64) as usize];
                        match self.rng.below(6) {
                            0 => {
                                d[seg + 4] = [0, 80, PUSH, ACK, WASK, WINS, 85, 255]
                                    [self.rng.below(8) as usize];
                            }
                            1 => d[seg + 5] = self.rng.next_u32() as u8,
                            2 => d[seg + 6..seg + 8]
                                .copy_from_slice(&(self.rng.below(3) as u16).to_le_bytes()),
                            3 => d[seg + 12] ^= 1 + self.rng.below(255) as u8,
                            4 => d[seg + 16..seg + 20]
                                .copy_from_slice(&self.rng.next_u32().to_le_bytes()),
                            _ => d[seg + 20..seg + 24]
                                .copy_from_slice(&self.rng.next_u32().to_le_bytes()),
                        }
                        ("mutated datagram", d)
                    }
                }
            }
            4 if !self.recent.is_empty() => {
                // A datagram of either direction, possibly back to its own sender.
                let d = self.recent[self.rng.below(self.recent.len() as u64) as usize].clone();
                ("reflected datagram", d)
            }
            _ => {
                let mut d = Vec::new();
                for _ in 0..self.rng.range_usize(1, 4) {
                    let cmd = [PUSH, ACK, WASK, WINS, PUSH, 0x55][self.rng.below(6) as usize];
                    let len = if cmd == PUSH {
                        self.rng.range_usize(0, 64)
                    } else {
                        0
                    };
                    let base = if cmd == ACK {
                        self.sides[i].c.snd_una()
                    } else {
                        self.sides[i].c.rcv_nxt()
                    };
                    let sn = base
                        .wrapping_add(self.rng.range_u32(0, 300))
                        .wrapping_sub(20);
                    let ts = self.plausible_ts(i);
                    let una = self.sides[i]
                        .c
                        .snd_una()
                        .wrapping_add(self.rng.range_u32(0, 40))
                        .wrapping_sub(10);
                    let wnd = [0u16, 1, 128, 65535, self.rng.next_u32() as u16]
                        [self.rng.below(5) as usize];
                    d.extend_from_slice(&conv.to_le_bytes());
                    d.push(cmd);
                    d.push(self.rng.below(4) as u8);
                    d.extend_from_slice(&wnd.to_le_bytes());
                    d.extend_from_slice(&ts.to_le_bytes());
                    d.extend_from_slice(&sn.to_le_bytes());
                    d.extend_from_slice(&una.to_le_bytes());
                    let claimed = if self.rng.chance(0.1) {
                        len as u32 + 1 + self.rng.below(100) as u32
                    } else {
                        len as u32
                    };
                    d.extend_from_slice(&claimed.to_le_bytes());
                    let mut payload = vec![0u8; len];
                    self.rng.fill(&mut payload);
                    d.extend_from_slice(&payload);
                }
                ("crafted segments", d)
            }
        };
        self.input(i, &d, label);
    }

    pub(crate) fn run(&mut self, steps: usize) {
        // Per-scenario habits: how often each side receives (a rarely reading receiver
        // fills its window and forces zero-window probing).
        let recv_weight = [self.rng.range_u32(1, 20), self.rng.range_u32(1, 20)];
        for _ in 0..steps {
            self.step += 1;
            self.stats.steps += 1;
            let i = self.rng.below(2) as usize;
            match self.rng.below(100) {
                0..18 => self.send(i),
                18..36 => {
                    self.advance_clock();
                    if self.rng.chance(0.85) {
                        self.update(0);
                    }
                    if self.rng.chance(0.85) {
                        self.update(1);
                    }
                }
                36..40 => self.flush(i),
                40..62 => self.deliver(i),
                62..70 => {
                    if self.rng.below(20) < u64::from(recv_weight[i]) {
                        self.recv(i);
                    }
                }
                70..72 => self.configure(i, false),
                72..74 => self.garbage(i),
                _ => {
                    if self.rng.below(20) < u64::from(recv_weight[i]) {
                        while self.sides[i].c.peek_size() >= 0 {
                            self.recv(i);
                        }
                    } else {
                        self.deliver(i);
                    }
                }
            }
            self.compare(0);
            self.compare(1);
            self.count_states();
        }
        self.drain();
    }

    /// Ends with a clean link: deliver everything, keep updating and reading, so every
    /// scenario also exercises long stretches of ordinary traffic.
    fn drain(&mut self) {
        self.note("drain: lossless delivery".into());
        self.net.loss = 0.0;
        self.net.duplicate = 0.0;
        for _ in 0..self.rng.range_usize(10, 120) {
            self.step += 1;
            let interval = self.sides[0].c.interval().min(self.sides[1].c.interval());
            self.now = self.now.wrapping_add(interval);
            for i in 0..2 {
                self.update(i);
                while !self.wire[1 - i].is_empty() {
                    self.deliver(i);
                }
                while self.sides[i].c.peek_size() >= 0 {
                    self.recv(i);
                }
                self.compare(0);
                self.compare(1);
            }
            if self.sides.iter().all(|s| s.c.wait_snd() == 0) && self.wire.iter().all(Vec::is_empty)
            {
                break;
            }
        }
        self.count_states();
    }

    fn count_states(&mut self) {
        for (i, s) in self.sides.iter().enumerate() {
            let st = &mut self.stats;
            st.dead_link |= u64::from(s.c.state() != 0);
            st.zero_window |= u64::from(s.c.rmt_wnd() == 0);
            st.sn_wrapped |= u64::from(s.c.snd_nxt() < self.first_sn[i]);
            st.rto_retransmits = st.rto_retransmits.max(u64::from(s.c.xmit()));
            st.fast_retransmits = st.fast_retransmits.max(s.r.stats().fast_retransmits);
        }
    }
}
