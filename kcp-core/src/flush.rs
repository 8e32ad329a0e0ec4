//! The transmit path: the flush timer (`ikcp_update`, `ikcp_check`) and the flush itself
//! (`ikcp_flush`), which packs acknowledgements, window probes and data into datagrams.

use alloc::vec::Vec;

use crate::OVERHEAD;
use crate::kcp::{ASK_SEND, ASK_TELL, Kcp, THRESH_INIT};
use crate::segment::{Command, Header, Segment};
use crate::stats::Stats;
use crate::time::diff;

/// First wait before probing a zero window, ms (`IKCP_PROBE_INIT`).
const PROBE_INIT: u32 = 7000;
/// Longest wait between window probes, ms (`IKCP_PROBE_LIMIT`).
const PROBE_LIMIT: u32 = 120_000;
/// A clock jump larger than this resynchronises the flush timer, ms.
const RESYNC: i32 = 10_000;
/// Repeats of a reopened window's announcement with window recovery on.
const TELL_REPEATS: u32 = 8;

/// Packs segments into datagrams in the scratch buffer and hands each full datagram to the
/// output callback, exactly where ikcp splits them.
struct Packer<'a, F> {
    buffer: &'a mut Vec<u8>,
    reserved: usize,
    tailroom: usize,
    /// Bytes of the datagram under construction (after the headroom).
    size: usize,
    mtu: usize,
    output: F,
    stats: &'a mut Stats,
}

impl<F: FnMut(&mut [u8])> Packer<'_, F> {
    /// Makes room for a segment of `need` bytes: emits the datagram so far when the segment
    /// would push it past the MTU (ikcp's check), and grows the scratch buffer if a single
    /// oversized segment (after an MTU decrease) needs it.
    fn reserve(&mut self, need: usize) {
        if self.size + need > self.mtu {
            self.emit();
        }
        let end = self.reserved + self.size + need + self.tailroom;
        if end > self.buffer.len() {
            self.buffer.resize(end, 0);
        }
    }

    /// Appends a header and its payload.
    fn push(&mut self, header: &Header, payload: &[u8]) {
        self.reserve(OVERHEAD + payload.len());
        let at = self.reserved + self.size;
        header.emit(&mut self.buffer[at..]);
        self.buffer[at + OVERHEAD..at + OVERHEAD + payload.len()].copy_from_slice(payload);
        self.size += OVERHEAD + payload.len();
        self.stats.out_segs += 1;
    }

    /// Hands the datagram under construction, if any, to the output callback.
    fn emit(&mut self) {
        if self.size == 0 {
            return;
        }
        let end = self.reserved + self.size + self.tailroom;
        (self.output)(&mut self.buffer[..end]);
        self.stats.out_datagrams += 1;
        self.stats.out_bytes += self.size as u64;
        self.size = 0;
    }
}

impl Kcp {
    /// Advances the clock to `current` and flushes when the flush timer is due
    /// (`ikcp_update`). Call it every [`interval`](Kcp::interval) ms, or better at the time
    /// [`check`](Kcp::check) returns. Every datagram produced is passed to `output` (see
    /// [`flush`](Kcp::flush)).
    pub fn update(&mut self, current: u32, output: impl FnMut(&mut [u8])) {
        self.current = current;
        if !self.updated {
            self.updated = true;
            self.ts_flush = current;
        }
        let mut slap = diff(current, self.ts_flush);
        if !(-RESYNC..RESYNC).contains(&slap) {
            self.ts_flush = current;
            slap = 0;
        }
        if slap >= 0 {
            self.ts_flush = self.ts_flush.wrapping_add(self.interval);
            if diff(current, self.ts_flush) >= 0 {
                self.ts_flush = current.wrapping_add(self.interval);
            }
            self.flush(output);
        }
    }

    /// When to call [`update`](Kcp::update) next, as an absolute clock value
    /// (`ikcp_check`): `current` if it is due now, else the earlier of the flush timer and
    /// the first retransmission, never more than one interval away. Like ikcp it ignores
    /// pending acknowledgements and queued data: call [`flush`](Kcp::flush) yourself after
    /// [`input`](Kcp::input) or [`send`](Kcp::send) for the lowest latency. Costs a scan of
    /// the in-flight segments.
    pub fn check(&self, current: u32) -> u32 {
        self.check_with_interval(current, self.interval)
    }

    /// [`check`](Kcp::check) as if the flush interval were `interval` (clamped to
    /// 10..=5000 as [`set_interval`](Kcp::set_interval) does), without changing it: for
    /// callers that hold a pending interval change and only have shared access, such as
    /// ikcp.h's `ikcp_check`, which takes a `const` control block. Same cost as `check`.
    pub fn check_with_interval(&self, current: u32, interval: u32) -> u32 {
        let interval = interval.clamp(10, 5000);
        if !self.updated {
            return current;
        }
        let mut ts_flush = self.ts_flush;
        if !(-RESYNC..RESYNC).contains(&diff(current, ts_flush)) {
            ts_flush = current;
        }
        if diff(current, ts_flush) >= 0 {
            return current;
        }
        let tm_flush = diff(ts_flush, current);
        let mut tm_packet = i32::MAX;
        for seg in self.snd_buf.iter().filter(|s| !s.acked) {
            let d = diff(seg.resendts, current);
            if d <= 0 {
                return current;
            }
            tm_packet = tm_packet.min(d);
        }
        let minimal = (tm_packet.min(tm_flush) as u32).min(interval);
        current.wrapping_add(minimal)
    }

    /// Transmits what is due now (`ikcp_flush`): pending acknowledgements, window probes,
    /// new segments as the windows allow, and retransmissions (timeout or fast). Does
    /// nothing before the first [`update`](Kcp::update). Uses the clock of the last update.
    ///
    /// Each datagram goes to `output` as a mutable slice: [`reserved`](Kcp::reserved)
    /// bytes of headroom, a KCP frame of at most [`mtu`](Kcp::mtu) bytes (unless a single
    /// segment is larger, after an MTU decrease), then [`tailroom`](Kcp::tailroom) bytes.
    /// The slice is only valid during the call. No allocation happens here once the
    /// scratch buffer has its size.
    pub fn flush(&mut self, output: impl FnMut(&mut [u8])) {
        if !self.updated {
            return;
        }
        let current = self.current;
        let wnd = self.wnd_unused();
        let segs_before = self.stats.out_segs;
        let probe_init = if self.window_recovery {
            self.rto_pace()
        } else {
            PROBE_INIT
        };
        if self.window_recovery {
            self.announce_reopened(current, wnd);
        }
        let mut template = Header {
            conv: self.conv,
            cmd: Command::Ack as u8,
            frg: 0,
            wnd: wnd as u16,
            ts: 0,
            sn: 0,
            una: self.rcv_nxt,
            len: 0,
        };
        let mut out = Packer {
            buffer: &mut self.buffer,
            reserved: self.reserved,
            tailroom: self.tailroom,
            size: 0,
            mtu: self.mtu,
            output,
            stats: &mut self.stats,
        };

        // 1. Acknowledgements, in arrival order, duplicates included.
        for &(sn, ts) in &self.acklist {
            template.sn = sn;
            template.ts = ts;
            out.push(&template, &[]);
        }
        self.acklist.clear();

        // 2. Zero-window probe timer.
        if self.rmt_wnd == 0 {
            if self.probe_wait == 0 {
                self.probe_wait = probe_init;
                self.ts_probe = current.wrapping_add(self.probe_wait);
            } else if diff(current, self.ts_probe) >= 0 {
                self.probe_wait = self.probe_wait.max(probe_init);
                self.probe_wait += self.probe_wait / 2;
                self.probe_wait = self.probe_wait.min(PROBE_LIMIT);
                self.ts_probe = current.wrapping_add(self.probe_wait);
                self.probe |= ASK_SEND;
            }
        } else {
            self.ts_probe = 0;
            self.probe_wait = 0;
        }

        // 3. Window probe and window announcement; they reuse the template, so they carry
        //    the sn/ts of the last acknowledgement above (ikcp does the same).
        if self.probe & ASK_SEND != 0 {
            template.cmd = Command::WindowAsk as u8;
            out.push(&template, &[]);
        }
        if self.probe & ASK_TELL != 0 {
            template.cmd = Command::WindowTell as u8;
            out.push(&template, &[]);
        }
        self.probe = 0;

        // 4. The effective window, then admission from the queue into flight.
        let mut cwnd = self.snd_wnd.min(self.rmt_wnd);
        if !self.nocwnd {
            cwnd = cwnd.min(self.cwnd);
        }
        cwnd = cwnd.min(self.inflight_cap);
        let mut admitted = 0usize;
        while diff(self.snd_nxt, self.snd_una.wrapping_add(cwnd)) < 0 {
            let Some(mut seg) = self.snd_queue.pop_front() else {
                break;
            };
            admitted += 1;
            seg.wnd = wnd;
            seg.ts = current;
            seg.sn = self.snd_nxt;
            seg.una = self.rcv_nxt;
            seg.resendts = current;
            seg.rto = self.rx_rto as u32;
            seg.fastack = 0;
            seg.xmit = 0;
            self.snd_nxt = self.snd_nxt.wrapping_add(1);
            self.snd_buf.push_back(seg);
            self.snd_buf_live += 1;
        }

        // 5. First transmissions and retransmissions.
        let resent = if self.fastresend > 0 {
            self.fastresend
        } else {
            u32::MAX
        };
        let rtomin = if self.nodelay == 0 {
            (self.rx_rto >> 3) as u32
        } else {
            0
        };
        let mut change = false;
        let mut lost = false;
        // Retransmissions ACKs may still trigger at this flush, where that is bounded.
        let mut credit = self.ack_credit;
        self.ack_credit = 0;
        let within_fast_limit = |seg: &Segment, limit: i32| seg.xmit as i32 <= limit || limit <= 0;
        for seg in self.snd_buf.iter_mut().filter(|s| !s.acked) {
            if self.send_quota == 0 {
                break;
            }
            if seg.xmit == 0 {
                seg.xmit = 1;
                out.stats.first_sends += 1;
                seg.rto = self.rx_rto as u32;
                seg.resendts = current.wrapping_add(seg.rto).wrapping_add(rtomin);
            } else if diff(current, seg.resendts) >= 0 {
                seg.xmit = seg.xmit.wrapping_add(1);
                out.stats.lost_segs += 1;
                out.stats.retransmits += 1;
                if self.linear_backoff {
                    // kcp-go: grow by the current RTO (half of it in no-delay modes).
                    let step = self.rx_rto as u32;
                    seg.rto = seg
                        .rto
                        .wrapping_add(if self.nodelay == 0 { step } else { step / 2 });
                } else if self.nodelay == 0 {
                    seg.rto = seg.rto.wrapping_add(seg.rto.max(self.rx_rto as u32));
                } else {
                    let step = if self.nodelay < 2 {
                        seg.rto as i32
                    } else {
                        self.rx_rto
                    };
                    seg.rto = seg.rto.wrapping_add((step / 2) as u32);
                }
                seg.resendts = current.wrapping_add(seg.rto);
                lost = true;
            } else if seg.fastack >= resent
                && within_fast_limit(seg, self.fastlimit)
                && (!self.strict_acks || credit > 0)
            {
                seg.xmit = seg.xmit.wrapping_add(1);
                seg.fastack = 0;
                seg.resendts = current.wrapping_add(seg.rto);
                change = true;
                credit = credit.saturating_sub(1);
                out.stats.fast_retransmits += 1;
                out.stats.retransmits += 1;
            } else if self.early_retransmit
                && seg.skipped
                && admitted == 0
                && credit > 0
                && within_fast_limit(seg, self.fastlimit)
            {
                // kcp-go: a later segment was acknowledged and nothing new went out that
                // could bring the acknowledgements a fast retransmission waits for.
                seg.xmit = seg.xmit.wrapping_add(1);
                seg.fastack = 0;
                seg.rto = self.rx_rto as u32;
                seg.resendts = current.wrapping_add(seg.rto);
                change = true;
                credit -= 1;
                out.stats.early_retransmits += 1;
                out.stats.retransmits += 1;
            } else {
                continue;
            }
            seg.skipped = false;
            seg.ts = current;
            seg.wnd = wnd;
            seg.una = self.rcv_nxt;
            out.push(&seg.header(self.conv, Command::Push), &seg.data);
            if self.send_quota != usize::MAX {
                self.send_quota = self.send_quota.saturating_sub(OVERHEAD + seg.data.len());
            }
            if seg.xmit >= self.dead_link {
                self.state = u32::MAX;
            }
        }
        out.emit();
        if self.window_recovery && wnd == 0 && self.stats.out_segs != segs_before {
            self.zero_wnd_sent = true;
        }

        // 6. Congestion reaction (tracked even when the congestion window is ignored).
        let mss = self.mss as u32;
        if change {
            let inflight = self.snd_nxt.wrapping_sub(self.snd_una);
            self.ssthresh = (inflight / 2).max(THRESH_INIT);
            self.cwnd = self.ssthresh.wrapping_add(resent);
            self.incr = self.cwnd.wrapping_mul(mss);
        }
        if lost {
            self.ssthresh = (cwnd / 2).max(THRESH_INIT);
            self.cwnd = 1;
            self.incr = mss;
        }
        if self.cwnd < 1 {
            self.cwnd = 1;
            self.incr = mss;
        }
    }

    /// The pace of window recovery: one RTO, at least one flush interval.
    fn rto_pace(&self) -> u32 {
        (self.rx_rto as u32).max(self.interval)
    }

    /// Window recovery, receiving side: announces a window that reopened after a zero
    /// window went out, then repeats the announcement at RTO pace until the peer sends new
    /// data (see `input`) or the repeats run out. `wnd` is the window this flush advertises.
    fn announce_reopened(&mut self, current: u32, wnd: u32) {
        if wnd == 0 {
            self.tell_left = 0;
        } else if self.zero_wnd_sent {
            self.zero_wnd_sent = false;
            self.probe |= ASK_TELL;
            self.tell_left = TELL_REPEATS;
            self.tell_wait = self.rto_pace();
            self.ts_tell = current.wrapping_add(self.tell_wait);
            self.tell_mark = self
                .rcv_buf
                .back()
                .map_or(self.rcv_nxt.wrapping_sub(1), |s| s.sn);
        } else if self.tell_left > 0 && diff(current, self.ts_tell) >= 0 {
            self.probe |= ASK_TELL;
            self.tell_left -= 1;
            self.tell_wait = (self.tell_wait + self.tell_wait / 2).min(PROBE_LIMIT);
            self.ts_tell = current.wrapping_add(self.tell_wait);
        }
    }

    /// Free slots in the receive queue, advertised in every segment (`ikcp_wnd_unused`).
    pub(crate) fn wnd_unused(&self) -> u32 {
        (self.rcv_wnd as usize).saturating_sub(self.rcv_queue.len()) as u32
    }
}
