//! The receive path (`ikcp_input`): acknowledgements, RTT estimation, data reassembly and
//! congestion-window growth.

use crate::error::InputError;
use crate::kcp::{ASK_TELL, Kcp};
use crate::segment::{Command, Header, Segment};
use crate::time::diff;
use crate::{OVERHEAD, RTO_MAX};

impl Kcp {
    /// Feeds one datagram received from the peer (`ikcp_input`). A datagram may hold
    /// several segments; bytes after the last whole segment header are ignored.
    ///
    /// RTT samples are taken against the clock of the last [`update`](Kcp::update) (or
    /// [`set_current`](Kcp::set_current)). Acknowledgements of received data go out on the
    /// next flush. On error, the segments before the bad one stay applied, as in ikcp.
    /// Costs one copy of each new data segment, into a recycled buffer.
    pub fn input(&mut self, data: &[u8]) -> Result<(), InputError> {
        let result = self.input_inner(data);
        if result.is_err() {
            self.stats.in_errors += 1;
        }
        result
    }

    fn input_inner(&mut self, data: &[u8]) -> Result<(), InputError> {
        let prev_una = self.snd_una;
        let mut ack: Option<(u32, u32)> = None;
        // The same mark over the ACKs that newly acknowledged a segment.
        let mut fresh: Option<(u32, u32)> = None;

        if data.len() < OVERHEAD {
            return Err(InputError::Truncated);
        }
        let mut rest = data;
        while let Some(h) = Header::parse(rest) {
            if h.conv != self.conv {
                return Err(InputError::ConvMismatch);
            }
            rest = &rest[OVERHEAD..];
            let len = h.len as usize;
            if (h.len as i32) < 0 || rest.len() < len {
                return Err(InputError::BadLength);
            }
            let cmd = Command::from_u8(h.cmd).ok_or(InputError::UnknownCommand)?;
            let (payload, tail) = rest.split_at(len);
            rest = tail;
            self.stats.in_segs += 1;

            self.rmt_wnd = u32::from(h.wnd);
            self.parse_una(h.una);

            match cmd {
                Command::Ack => {
                    let rtt = diff(self.current, h.ts);
                    if rtt >= 0 {
                        self.update_rtt(rtt);
                    }
                    let new = self.parse_ack(h.sn);
                    ack = raise_mark(ack, h.sn, h.ts);
                    if new {
                        fresh = raise_mark(fresh, h.sn, h.ts);
                    }
                }
                Command::Push => {
                    if self.strict_input && u32::from(h.frg) >= self.rcv_wnd {
                        return Err(InputError::TooManyFragments);
                    }
                    if diff(h.sn, self.rcv_nxt.wrapping_add(self.rcv_wnd)) < 0 {
                        if self.acklist.len() < self.ack_limit {
                            self.acklist.push((h.sn, h.ts));
                        } else {
                            self.stats.dropped_acks += 1;
                        }
                        // Window recovery: new data shows the peer heard the window reopen.
                        if self.tell_left > 0 && diff(h.sn, self.tell_mark) > 0 {
                            self.tell_left = 0;
                        }
                        if diff(h.sn, self.rcv_nxt) >= 0 {
                            self.parse_data(&h, payload);
                        } else {
                            self.stats.repeat_segs += 1;
                        }
                    }
                }
                Command::WindowAsk => self.probe |= ASK_TELL,
                Command::WindowTell => {}
            }
        }

        let fast_mark = if self.strict_acks { fresh } else { ack };
        if let Some((maxack, latest_ts)) = fast_mark {
            self.parse_fastack(maxack, latest_ts);
        }
        if self.early_retransmit
            && let Some((maxack, latest_ts)) = fresh
        {
            self.mark_skipped(maxack, latest_ts);
        }

        if diff(self.snd_una, prev_una) > 0 && self.cwnd < self.rmt_wnd {
            self.grow_cwnd();
        }
        Ok(())
    }

    /// Updates the RTT estimator with one sample (`ikcp_update_ack`), in ikcp's integer
    /// arithmetic (wrapping where C's signed arithmetic would overflow on absurd samples).
    fn update_rtt(&mut self, rtt: i32) {
        if self.rx_srtt == 0 {
            self.rx_srtt = rtt;
            self.rx_rttval = rtt / 2;
        } else {
            let delta = i64::from(rtt.wrapping_sub(self.rx_srtt)).abs();
            let rttval = (i64::from(self.rx_rttval.wrapping_mul(3)) + delta) / 4;
            self.rx_rttval = rttval as i32;
            self.rx_srtt = self.rx_srtt.wrapping_mul(7).wrapping_add(rtt) / 8;
            if self.rx_srtt < 1 {
                self.rx_srtt = 1;
            }
        }
        // ikcp mixes signed state with unsigned helpers: max and bound compare as u32.
        let var = (self.rx_rttval.wrapping_mul(4) as u32).max(self.interval);
        let rto = (self.rx_srtt as u32).wrapping_add(var);
        self.rx_rto = rto.max(self.rx_minrto as u32).min(RTO_MAX) as i32;
    }

    /// Releases every in-flight segment below the peer's `una` (`ikcp_parse_una`) and
    /// advances `snd_una` (`ikcp_shrink_buf`).
    fn parse_una(&mut self, una: u32) {
        while let Some(seg) = self.snd_buf.front() {
            if !seg.acked && diff(una, seg.sn) <= 0 {
                break;
            }
            if let Some(seg) = self.snd_buf.pop_front() {
                if !seg.acked {
                    self.snd_buf_live -= 1;
                    self.ack_credit = self.ack_credit.saturating_add(1);
                    self.stats.delivered_segs += 1;
                    self.stats.delivered_bytes += seg.data.len() as u64;
                }
                self.recycle(seg.data);
            }
        }
        self.shrink_buf();
    }

    /// Drops acknowledged slots from the head of the send buffer and sets `snd_una` to the
    /// oldest live segment, or `snd_nxt` when nothing is in flight (`ikcp_shrink_buf`).
    fn shrink_buf(&mut self) {
        while self.snd_buf.front().is_some_and(|s| s.acked) {
            self.snd_buf.pop_front();
        }
        self.snd_una = self.snd_buf.front().map_or(self.snd_nxt, |s| s.sn);
    }

    /// Marks the in-flight segment `sn` acknowledged (`ikcp_parse_ack`) and returns
    /// whether that is news (it was in flight and not yet acknowledged). The send buffer
    /// holds one slot per sequence number from `snd_una`, so this is a lookup, not a scan.
    fn parse_ack(&mut self, sn: u32) -> bool {
        if diff(sn, self.snd_una) < 0 || diff(sn, self.snd_nxt) >= 0 {
            return false;
        }
        let index = sn.wrapping_sub(self.snd_una) as usize;
        let mut new = false;
        if let Some(seg) = self.snd_buf.get_mut(index)
            && !seg.acked
        {
            seg.acked = true;
            let data = core::mem::take(&mut seg.data);
            self.snd_buf_live -= 1;
            self.ack_credit = self.ack_credit.saturating_add(1);
            self.stats.delivered_segs += 1;
            self.stats.delivered_bytes += data.len() as u64;
            self.recycle(data);
            new = true;
        }
        self.shrink_buf();
        new
    }

    /// Counts a skip for every live segment older than `maxack` sent no later than
    /// `latest_ts` (`ikcp_parse_fastack` with `IKCP_FASTACK_CONSERVE`).
    fn parse_fastack(&mut self, maxack: u32, latest_ts: u32) {
        if diff(maxack, self.snd_una) < 0 || diff(maxack, self.snd_nxt) >= 0 {
            return;
        }
        let below = maxack.wrapping_sub(self.snd_una) as usize;
        for seg in self.snd_buf.iter_mut().take(below) {
            if !seg.acked && diff(latest_ts, seg.ts) >= 0 {
                seg.fastack = seg.fastack.wrapping_add(1);
            }
        }
    }

    /// Marks for early retransmission every live segment older than `maxack` sent no
    /// later than `latest_ts`, as [`parse_fastack`](Kcp::parse_fastack) counts them, for
    /// a mark made of ACKs that newly acknowledged something.
    fn mark_skipped(&mut self, maxack: u32, latest_ts: u32) {
        if diff(maxack, self.snd_una) < 0 || diff(maxack, self.snd_nxt) >= 0 {
            return;
        }
        let below = maxack.wrapping_sub(self.snd_una) as usize;
        for seg in self.snd_buf.iter_mut().take(below) {
            if !seg.acked && diff(latest_ts, seg.ts) >= 0 {
                seg.skipped = true;
            }
        }
    }

    /// Stores a new data segment in the receive buffer, in order, unless it is outside the
    /// window or a duplicate (`ikcp_parse_data`), then moves what became in order to the
    /// receive queue.
    fn parse_data(&mut self, h: &Header, payload: &[u8]) {
        let sn = h.sn;
        if diff(sn, self.rcv_nxt.wrapping_add(self.rcv_wnd)) >= 0 || diff(sn, self.rcv_nxt) < 0 {
            return;
        }
        // The buffer is sorted and lies within one window above rcv_nxt.
        let at = self.rcv_buf.partition_point(|s| diff(s.sn, sn) < 0);
        if self.rcv_buf.get(at).is_some_and(|s| s.sn == sn) {
            self.stats.repeat_segs += 1;
        } else {
            let mut data = self.take_buffer();
            data.extend_from_slice(payload);
            let mut seg = Segment::new(data);
            seg.frg = h.frg;
            seg.wnd = u32::from(h.wnd);
            seg.ts = h.ts;
            seg.sn = sn;
            seg.una = h.una;
            self.rcv_buf.insert(at, seg);
        }
        self.move_to_rcv_queue();
    }

    /// Grows the congestion window after `snd_una` advanced: slow start below `ssthresh`,
    /// congestion avoidance above, capped by the peer's window.
    fn grow_cwnd(&mut self) {
        let mss = self.mss as u32;
        if self.cwnd < self.ssthresh {
            self.cwnd += 1;
            self.incr = self.incr.wrapping_add(mss);
        } else {
            if self.incr < mss {
                self.incr = mss;
            }
            self.incr = self
                .incr
                .wrapping_add(mss.wrapping_mul(mss) / self.incr + mss / 16);
            if self.cwnd.wrapping_add(1).wrapping_mul(mss) <= self.incr {
                self.cwnd = self.incr.wrapping_add(mss - 1) / mss.max(1);
            }
        }
        if self.cwnd > self.rmt_wnd {
            self.cwnd = self.rmt_wnd;
            self.incr = self.rmt_wnd.wrapping_mul(mss);
        }
    }
}

/// Raises a fast-ack mark `(maxack, latest_ts)` with the ACK of `sn` echoing `ts`, as ikcp
/// does with `IKCP_FASTACK_CONSERVE`: a later ACK raises the mark only if its segment left
/// after the mark's (strictly newer timestamp).
fn raise_mark(mark: Option<(u32, u32)>, sn: u32, ts: u32) -> Option<(u32, u32)> {
    match mark {
        None => Some((sn, ts)),
        Some((maxack, latest_ts)) if diff(sn, maxack) > 0 && diff(ts, latest_ts) > 0 => {
            Some((sn, ts))
        }
        keep => keep,
    }
}
