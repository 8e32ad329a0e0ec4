//! The KCP control block: state, configuration and read-outs.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::error::{ConfigError, RecvError};
use crate::segment::Segment;
use crate::stats::Stats;
use crate::time::diff;
use crate::{
    DEFAULT_DEAD_LINK, DEFAULT_FAST_LIMIT, DEFAULT_INTERVAL, DEFAULT_MTU, DEFAULT_RCV_WND,
    DEFAULT_SND_WND, MAX_RCV_WND, MIN_MTU, OVERHEAD, RTO_DEFAULT, RTO_MIN, RTO_NODELAY,
};

/// `probe` bit: send a window probe (WASK) on the next flush.
pub(crate) const ASK_SEND: u32 = 1;
/// `probe` bit: announce our window (WINS) on the next flush.
pub(crate) const ASK_TELL: u32 = 2;
/// Initial `ssthresh` and its floor.
pub(crate) const THRESH_INIT: u32 = 2;
/// Free payload buffers kept for reuse beyond the windows' worth.
const POOL_SLACK: usize = 64;

/// One KCP conversation: the ikcp control block (`ikcpcb`).
///
/// Create one per conversation with [`Kcp::new`], configure it, then drive it with
/// [`send`](Kcp::send), [`input`](Kcp::input), [`update`](Kcp::update) and
/// [`recv`](Kcp::recv); see the [crate docs](crate) for the calling pattern. Every method is
/// deterministic: time only enters through the `current` arguments.
#[derive(Debug)]
pub struct Kcp {
    pub(crate) conv: u32,
    pub(crate) mtu: usize,
    pub(crate) mss: usize,
    pub(crate) state: u32,

    pub(crate) snd_una: u32,
    pub(crate) snd_nxt: u32,
    pub(crate) rcv_nxt: u32,

    pub(crate) ssthresh: u32,
    pub(crate) rx_rttval: i32,
    pub(crate) rx_srtt: i32,
    pub(crate) rx_rto: i32,
    pub(crate) rx_minrto: i32,

    pub(crate) snd_wnd: u32,
    pub(crate) rcv_wnd: u32,
    pub(crate) rmt_wnd: u32,
    pub(crate) cwnd: u32,
    pub(crate) incr: u32,
    pub(crate) probe: u32,
    pub(crate) ts_probe: u32,
    pub(crate) probe_wait: u32,

    pub(crate) current: u32,
    pub(crate) interval: u32,
    pub(crate) ts_flush: u32,
    pub(crate) updated: bool,

    pub(crate) nodelay: u32,
    pub(crate) fastresend: u32,
    pub(crate) fastlimit: i32,
    pub(crate) nocwnd: bool,
    pub(crate) stream: bool,
    pub(crate) dead_link: u32,

    /// Opt-in zero-window recovery (see [`Kcp::set_window_recovery`]).
    pub(crate) window_recovery: bool,
    /// Opt-in linear RTO back-off (see [`Kcp::set_linear_backoff`]).
    pub(crate) linear_backoff: bool,
    /// Opt-in early retransmission (see [`Kcp::set_early_retransmit`]).
    pub(crate) early_retransmit: bool,
    /// Opt-in ACK accounting (see [`Kcp::set_strict_acks`]).
    pub(crate) strict_acks: bool,
    /// Opt-in refusal of undeliverable segments (see [`Kcp::set_strict_input`]).
    pub(crate) strict_input: bool,
    /// Segments newly acknowledged (by ACK or `una`) since the last flush: how many
    /// retransmissions ACKs may trigger at the next one, where that is bounded.
    pub(crate) ack_credit: u32,
    /// Opt-in cap on segments in flight (see [`Kcp::set_inflight_cap`]); `u32::MAX` for
    /// none.
    pub(crate) inflight_cap: u32,
    /// Opt-in budget of data bytes flushes may still send (see [`Kcp::set_send_quota`]);
    /// `usize::MAX` for none.
    pub(crate) send_quota: usize,
    /// Opt-in bound on `acklist` (see [`Kcp::set_ack_limit`]); `usize::MAX` for none.
    pub(crate) ack_limit: usize,
    /// A segment advertising a zero receive window went out, and no open one since.
    pub(crate) zero_wnd_sent: bool,
    /// Re-announcements of a reopened window still to send (0: none pending), when the
    /// next is due, and the wait before the one after it.
    pub(crate) tell_left: u32,
    pub(crate) ts_tell: u32,
    pub(crate) tell_wait: u32,
    /// The highest sequence number received when the window reopened: data above it
    /// shows that the peer has heard of the open window.
    pub(crate) tell_mark: u32,

    /// Messages not yet numbered (`snd_queue`).
    pub(crate) snd_queue: VecDeque<Segment>,
    /// Segments in flight, one slot per sequence number from `snd_una` to `snd_nxt - 1`;
    /// slots acknowledged out of order are marked `acked` until the head passes them.
    pub(crate) snd_buf: VecDeque<Segment>,
    /// Live (unacknowledged) segments in `snd_buf` (ikcp's `nsnd_buf`).
    pub(crate) snd_buf_live: usize,
    /// Received out of order, ascending by sequence number (`rcv_buf`).
    pub(crate) rcv_buf: VecDeque<Segment>,
    /// Received in order, ready for `recv` (`rcv_queue`).
    pub(crate) rcv_queue: VecDeque<Segment>,
    /// Pending acknowledgements as (sn, ts), in arrival order (`acklist`).
    pub(crate) acklist: Vec<(u32, u32)>,

    /// Output scratch: `reserved` headroom, then the datagram under construction.
    pub(crate) buffer: Vec<u8>,
    pub(crate) reserved: usize,
    pub(crate) tailroom: usize,
    /// Payload buffers of released segments, reused by the next ones.
    pub(crate) pool: Vec<Vec<u8>>,

    pub(crate) stats: Stats,
}

impl Kcp {
    /// Creates a conversation with ikcp's defaults (`ikcp_create`): MTU 1400, windows
    /// 32/128, interval 100 ms, normal (not no-delay) mode, congestion window on, message
    /// mode. Both peers must use the same `conv`.
    pub fn new(conv: u32) -> Kcp {
        let mut kcp = Kcp {
            conv,
            mtu: DEFAULT_MTU,
            mss: DEFAULT_MTU - OVERHEAD,
            state: 0,
            snd_una: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            ssthresh: THRESH_INIT,
            rx_rttval: 0,
            rx_srtt: 0,
            rx_rto: RTO_DEFAULT as i32,
            rx_minrto: RTO_MIN as i32,
            snd_wnd: DEFAULT_SND_WND,
            rcv_wnd: DEFAULT_RCV_WND,
            rmt_wnd: DEFAULT_RCV_WND,
            cwnd: 0,
            incr: 0,
            probe: 0,
            ts_probe: 0,
            probe_wait: 0,
            current: 0,
            interval: DEFAULT_INTERVAL,
            ts_flush: DEFAULT_INTERVAL,
            updated: false,
            nodelay: 0,
            fastresend: 0,
            fastlimit: DEFAULT_FAST_LIMIT,
            nocwnd: false,
            stream: false,
            dead_link: DEFAULT_DEAD_LINK,
            window_recovery: false,
            linear_backoff: false,
            early_retransmit: false,
            strict_acks: false,
            strict_input: false,
            ack_credit: 0,
            inflight_cap: u32::MAX,
            send_quota: usize::MAX,
            ack_limit: usize::MAX,
            zero_wnd_sent: false,
            tell_left: 0,
            ts_tell: 0,
            tell_wait: 0,
            tell_mark: 0,
            snd_queue: VecDeque::new(),
            snd_buf: VecDeque::new(),
            snd_buf_live: 0,
            rcv_buf: VecDeque::new(),
            rcv_queue: VecDeque::new(),
            acklist: Vec::new(),
            buffer: Vec::new(),
            reserved: 0,
            tailroom: 0,
            pool: Vec::new(),
            stats: Stats::default(),
        };
        kcp.resize_buffer();
        kcp
    }

    /// Sizes the output scratch buffer: headroom, three MTUs' worth as ikcp allocates, and
    /// tailroom. A segment larger than that (possible after shrinking the MTU) grows it.
    fn resize_buffer(&mut self) {
        let len = self.reserved + (self.mtu + OVERHEAD) * 3 + self.tailroom;
        self.buffer.clear();
        self.buffer.resize(len, 0);
    }

    /// A payload buffer for a new segment, recycled when possible.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    /// Returns a released segment's payload buffer for reuse. The pool holds at most the
    /// windows' worth of buffers, none larger than two MTUs (a buffer grown past that by
    /// an oversized segment is freed, not kept), so what it retains is bounded.
    pub(crate) fn recycle(&mut self, mut data: Vec<u8>) {
        let limit = self.snd_wnd as usize + self.rcv_wnd as usize + POOL_SLACK;
        let cap = data.capacity();
        if self.pool.len() < limit && cap > 0 && cap <= 2 * self.mtu {
            data.clear();
            self.pool.push(data);
        }
    }

    // ----- configuration -------------------------------------------------------------

    /// Sets the MTU: the largest KCP frame `flush` emits, headroom and tailroom not
    /// included (`ikcp_setmtu`). Segments already queued keep their size. Set it before
    /// traffic starts. Below [`MIN_MTU`] it fails and changes nothing.
    pub fn set_mtu(&mut self, mtu: usize) -> Result<(), ConfigError> {
        if mtu < MIN_MTU {
            return Err(ConfigError::MtuTooSmall);
        }
        self.mtu = mtu;
        self.mss = mtu - OVERHEAD;
        self.resize_buffer();
        Ok(())
    }

    /// Reserves `bytes` of headroom in front of every datagram handed to the output
    /// callback, for the headers of lower layers (kcp-go's `ReserveBytes`, without its
    /// effect on the MSS: the MTU stays the size of the KCP frame). The headroom's content
    /// is unspecified; the lower layers overwrite it in place.
    pub fn set_reserved(&mut self, bytes: usize) {
        self.reserved = bytes;
        self.resize_buffer();
    }

    /// Reserves `bytes` of tailroom after every datagram handed to the output callback
    /// (room for an AEAD tag, say). The callback's slice then ends with these bytes.
    pub fn set_tailroom(&mut self, bytes: usize) {
        self.tailroom = bytes;
        self.resize_buffer();
    }

    /// Sets the send and receive windows in segments (`ikcp_wndsize`); 0 leaves a window
    /// unchanged. The receive window is raised to at least [`MAX_FRAGMENTS`](crate::MAX_FRAGMENTS)
    /// (128) so that the largest message always fits, as ikcp does. A receive window above
    /// [`MAX_RCV_WND`] cannot be advertised in the 16-bit header and is refused.
    pub fn set_window_size(&mut self, snd: u32, rcv: u32) -> Result<(), ConfigError> {
        if rcv > MAX_RCV_WND {
            return Err(ConfigError::WindowTooLarge);
        }
        if snd > 0 {
            self.snd_wnd = snd;
        }
        if rcv > 0 {
            self.rcv_wnd = rcv.max(DEFAULT_RCV_WND);
        }
        Ok(())
    }

    /// Sets the four latency knobs at once (`ikcp_nodelay`): `nodelay` 0 (normal), 1
    /// (no-delay: minimum RTO 30 ms, RTO backs off ×1.5) or 2 (as 1, with linear back-off);
    /// the flush `interval` in ms (clamped to 10..=5000); fast retransmission after `resend`
    /// acknowledgements that skipped a segment (0 = off); and `nc` to ignore the
    /// congestion window. `(1, 10, 2, true)` is the fastest profile; kcptun's modes are
    /// normal `(0, 40, 2, true)`, fast `(0, 30, 2, true)`, fast2 `(1, 20, 2, true)` and
    /// fast3 `(1, 10, 2, true)`.
    pub fn set_nodelay(&mut self, nodelay: u32, interval: u32, resend: u32, nc: bool) {
        self.set_nodelay_mode(nodelay);
        self.set_interval(interval);
        self.set_fast_resend(resend);
        self.set_nocwnd(nc);
    }

    /// Sets only the no-delay mode (0, 1 or 2; see [`set_nodelay`](Kcp::set_nodelay)). It
    /// also resets the minimum RTO to 30 ms (no-delay) or 100 ms (normal).
    pub fn set_nodelay_mode(&mut self, nodelay: u32) {
        self.nodelay = nodelay;
        self.rx_minrto = if nodelay != 0 { RTO_NODELAY } else { RTO_MIN } as i32;
    }

    /// Sets the flush interval in milliseconds, clamped to 10..=5000. Shorter intervals
    /// cut latency and cost CPU.
    pub fn set_interval(&mut self, interval: u32) {
        self.interval = interval.clamp(10, 5000);
    }

    /// Fast-retransmits a segment once `resend` acknowledgements of later segments arrived
    /// (ikcp's `fastresend`); 0 disables fast retransmission.
    pub fn set_fast_resend(&mut self, resend: u32) {
        self.fastresend = resend;
    }

    /// Limits fast retransmissions to segments transmitted at most `limit` times (ikcp's
    /// `fastlimit`, default 5); `limit <= 0` removes the limit.
    pub fn set_fast_limit(&mut self, limit: i32) {
        self.fastlimit = limit;
    }

    /// `true` ignores the congestion window: only the send window and the peer's receive
    /// window limit what is in flight (ikcp's `nocwnd`). kcptun always sets it.
    pub fn set_nocwnd(&mut self, nc: bool) {
        self.nocwnd = nc;
    }

    /// Sets the minimum retransmission timeout in ms (ikcp's `rx_minrto`). Note that
    /// [`set_nodelay`](Kcp::set_nodelay) and [`set_nodelay_mode`](Kcp::set_nodelay_mode)
    /// reset it; call this after them.
    pub fn set_min_rto(&mut self, ms: u32) {
        self.rx_minrto = ms as i32;
    }

    /// Declares the link dead once a segment has been transmitted `xmit` times (ikcp's
    /// `dead_link`, default 20). See [`is_dead_link`](Kcp::is_dead_link).
    pub fn set_dead_link(&mut self, xmit: u32) {
        self.dead_link = xmit;
    }

    /// Stream mode (`true`) coalesces sends into full segments and gives up message
    /// boundaries; each `recv` then returns one segment of at most `mss` bytes. Set it on
    /// both peers before traffic starts. kcptun uses stream mode.
    pub fn set_stream(&mut self, stream: bool) {
        self.stream = stream;
    }

    /// Opt-in recovery from a zero receive window at retransmission-timeout pace, for
    /// links where a lost window update must not stall a transfer. Off by default, which
    /// is ikcp's behaviour byte for byte. On, two things change, both wire-compatible
    /// with every KCP peer (they only send ikcp's own window commands sooner or more
    /// often):
    ///
    /// - **Sending:** while the peer advertises a zero window, the first window probe
    ///   (WASK) goes out after one RTO (at least one interval) instead of ikcp's 7 s, then
    ///   backs off ×1.5 up to ikcp's 120 s as before.
    /// - **Receiving:** once this side has advertised a zero window, the flush that finds
    ///   it open again announces it (WINS), and the announcement is repeated at RTO pace
    ///   (×1.5 back-off, at most 8 times) until the peer sends data it had not sent
    ///   before, which shows it heard. ikcp announces once; if that datagram is lost, a
    ///   peer with nothing in flight waits for its own probe (7 s in ikcp and kcp-go).
    ///
    /// `kcp-session` turns it on by default.
    pub fn set_window_recovery(&mut self, on: bool) {
        self.window_recovery = on;
        if !on {
            self.zero_wnd_sent = false;
            self.tell_left = 0;
        }
    }

    /// Opt-in linear back-off of a segment's retransmission timeout, as kcp-go does: each
    /// timeout adds the current RTO (half of it in no-delay modes) instead of ikcp's
    /// doubling (×1.5 with no-delay 1). Off by default, which is ikcp's behaviour byte for
    /// byte. With ikcp's back-off, a segment whose retransmissions are lost five times in
    /// a row waits 32 RTOs for the sixth: on a link losing 20% of datagrams each way that
    /// happens a few times per megabyte, and a transfer stalls for seconds where kcp-go's
    /// does not. The wire format is unchanged; `kcp-session` turns it on by default.
    pub fn set_linear_backoff(&mut self, on: bool) {
        self.linear_backoff = on;
    }

    /// Opt-in early retransmission, after kcp-go: at a flush that puts no new segment in
    /// flight, a segment that a later acknowledgement skipped is sent again at once,
    /// without waiting for the `resend` skips of a fast retransmission (which need later
    /// segments to be acknowledged, and at the end of a transfer or a burst there are
    /// none) or for its timeout. Off by default, which is ikcp's behaviour byte for byte.
    /// It costs some duplicate segments and shortens the tail of transfers through loss;
    /// `kcp-session` turns it on by default.
    ///
    /// Unlike kcp-go's, it is bounded, so that ACKs cannot make the sender amplify:
    ///
    /// - only an ACK that newly acknowledges a segment marks the segments below it as
    ///   skipped (kcp-go counts every ACK in flight, repeats of an acknowledged one
    ///   included: counted that way, 8 KB of one repeated ACK over 10 s made a sender
    ///   with 1024 segments in flight resend half its window per ACK, 239 MB in all);
    /// - a segment is sent early only while it has been transmitted at most
    ///   [`fast_limit`](Kcp::fast_limit) times, as fast retransmission is;
    /// - one flush sends at most as many early (and, with
    ///   [`set_strict_acks`](Kcp::set_strict_acks), fast) retransmissions as segments were
    ///   newly acknowledged since the previous flush, oldest first (packet conservation:
    ///   each segment that left the network lets one enter). A tail that lost two
    ///   segments behind one that arrived resends the first at the next flush and the
    ///   second when the first is acknowledged.
    pub fn set_early_retransmit(&mut self, on: bool) {
        self.early_retransmit = on;
    }

    /// Opt-in accounting of ACKs for fast retransmission that a flood cannot exploit. Off
    /// by default, which is ikcp's behaviour byte for byte: every input datagram carrying
    /// an ACK of any segment in flight counts as one skip of every earlier segment, so a
    /// peer (or a forger who knows the conversation) repeating one ACK makes the sender
    /// fast-retransmit everything below it, up to [`fast_limit`](Kcp::fast_limit) times
    /// per segment. On:
    ///
    /// - only ACKs that newly acknowledge a segment count as skips (a duplicate ACK
    ///   carries no news: the segment it names was already known to have arrived);
    /// - one flush fast-retransmits at most as many segments as were newly acknowledged
    ///   (by ACK or `una`) since the previous flush, sharing that budget with early
    ///   retransmission (see [`set_early_retransmit`](Kcp::set_early_retransmit)).
    ///
    /// An ACK flood then triggers at most one retransmission per ACK that acknowledges
    /// something new, and none for the rest. Recovery from a burst of losses in a full
    /// window proceeds at the rate ACKs arrive instead of resending the whole burst at
    /// once, which is also what a congested bottleneck can take. The wire format is
    /// unchanged; `kcp-session` turns it on by default. Costs nothing per packet.
    pub fn set_strict_acks(&mut self, on: bool) {
        self.strict_acks = on;
    }

    /// Opt-in refusal of data segments that can never be delivered: a fragment announcing
    /// a message of more segments than the receive window holds (`frg >= rcv_wnd`, which
    /// only a window below 256 makes possible) is refused with
    /// [`InputError::TooManyFragments`](crate::InputError::TooManyFragments), counted in
    /// [`Stats::in_errors`](crate::Stats::in_errors), neither stored nor acknowledged.
    ///
    /// Off by default, which is ikcp's behaviour: the fragments fill the receive queue up
    /// to the window, the message can never complete, the window stays shut and reads
    /// are wedged for good. ikcp and kcp-go never send more than 127 fragments in a message
    /// of their own, but kcp-go's `Send` accepts up to 255 and a hostile peer may send any
    /// `frg`. On, the conversation still cannot get past the refused segment (data is
    /// delivered in order), but the error says so, and the peer's retransmissions of it
    /// end in its dead-link limit instead of a silent, eternal stall. `kcp-session` turns
    /// it on by default. Costs one comparison per data segment.
    pub fn set_strict_input(&mut self, on: bool) {
        self.strict_input = on;
    }

    /// Opt-in bound on the acknowledgements waiting for the next flush. ikcp queues one
    /// per data segment received, without limit: a peer (or a forger who knows the
    /// conversation id) sending tiny segments faster than the flush interval grows the list
    /// without bound. With a limit, a segment arriving at a full list is still taken but not
    /// acknowledged; the peer retransmits it and it is acknowledged then (counted in
    /// [`Stats::dropped_acks`](crate::Stats::dropped_acks)). An honest peer never has more
    /// segments in flight than its send window, so twice the receive window is a safe
    /// limit when the list is flushed after every burst of input, as `kcp-session` does.
    /// `None` (the default) is ikcp's behaviour.
    pub fn set_ack_limit(&mut self, limit: Option<usize>) {
        self.ack_limit = limit.unwrap_or(usize::MAX);
    }

    /// Opt-in hook for a congestion controller outside this crate: caps the segments in
    /// flight (`snd_nxt - snd_una`, as ikcp's windows count them) at `cap`, on top of the
    /// send window, the peer's window and (unless [`set_nocwnd`](Kcp::set_nocwnd)) ikcp's
    /// own congestion window. A controller that estimates the path's bandwidth-delay
    /// product (from [`Stats::delivered_bytes`](crate::Stats::delivered_bytes) over time
    /// and [`srtt`](Kcp::srtt), say) sets it before each [`update`](Kcp::update); no new
    /// segment enters flight while the cap is reached, retransmissions still go. A cap of
    /// 0 counts as 1, so a conversation can always make progress. `None` (the default) is
    /// ikcp's behaviour. Costs one comparison per flush.
    pub fn set_inflight_cap(&mut self, cap: Option<u32>) {
        self.inflight_cap = cap.map_or(u32::MAX, |c| c.max(1));
    }

    /// The cap set with [`set_inflight_cap`](Kcp::set_inflight_cap), if any.
    pub fn inflight_cap(&self) -> Option<u32> {
        (self.inflight_cap != u32::MAX).then_some(self.inflight_cap)
    }

    /// Opt-in hook for a pacer outside this crate: a budget, in bytes on the wire (header
    /// included), of data segments (first transmissions and retransmissions) that flushes
    /// may still send. Each data segment sent takes its size from the budget; a flush
    /// stops sending data once the budget is spent, oldest segments first, and the rest
    /// wait for a later flush, unchanged (acknowledgements and window probes always go).
    /// The last segment may overshoot the budget by at most one segment: a segment is sent
    /// while any budget is left. A pacer refills it from its rate and its clock before each
    /// [`update`](Kcp::update) or [`flush`](Kcp::flush), and reads what was spent from
    /// [`send_quota`](Kcp::send_quota).
    ///
    /// While segments wait for budget, [`check`](Kcp::check) reports them due at once: the
    /// pacer, not `check`, decides when the next flush is worth it. `None` (the default)
    /// is ikcp's behaviour. Costs one comparison per data segment sent.
    pub fn set_send_quota(&mut self, bytes: Option<usize>) {
        self.send_quota = bytes.unwrap_or(usize::MAX);
    }

    /// What is left of the budget set with [`set_send_quota`](Kcp::set_send_quota), or
    /// `None` without one.
    pub fn send_quota(&self) -> Option<usize> {
        (self.send_quota != usize::MAX).then_some(self.send_quota)
    }

    /// Moves the clock and the flush timer to `current` as [`update`](Kcp::update) called
    /// every interval would have, without flushing.
    ///
    /// A flush while [`is_idle`](Kcp::is_idle) sends nothing and changes nothing but the
    /// flush timer, so an event loop may stop calling `update` while the conversation is
    /// idle, and call this instead when it has work again (before `input`, `send` or
    /// `update`): the flush timer then stays on the grid of `interval`s that ikcp's
    /// regular updates keep, and the datagrams are exactly those of a loop that never
    /// skipped. Only valid if the conversation was idle since the last `update` or
    /// `flush` (a `recv` in between is fine) and less than 2^31 ms have passed.
    pub fn advance_idle(&mut self, current: u32) {
        self.current = current;
        if !self.updated {
            return;
        }
        let behind = diff(current, self.ts_flush);
        if behind > 0 {
            let steps = (behind as u32).div_ceil(self.interval);
            self.ts_flush = self
                .ts_flush
                .wrapping_add(steps.wrapping_mul(self.interval));
        }
    }

    /// Sets the clock without flushing (writing ikcp's `current`). `input` takes RTT
    /// samples against this value, so calling this just before [`input`](Kcp::input) with
    /// a fresh clock gives more accurate RTTs, as ikcp's maintainer advises.
    pub fn set_current(&mut self, current: u32) {
        self.current = current;
    }

    /// Starts the conversation's sequence numbers at `snd` (ours) and `rcv` (the peer's),
    /// for protocols that negotiate them and for tests. Refused once anything is queued,
    /// in flight or received.
    pub fn set_initial_sequence(&mut self, snd: u32, rcv: u32) -> Result<(), ConfigError> {
        if !(self.snd_queue.is_empty()
            && self.snd_buf.is_empty()
            && self.rcv_buf.is_empty()
            && self.rcv_queue.is_empty())
        {
            return Err(ConfigError::Busy);
        }
        self.snd_una = snd;
        self.snd_nxt = snd;
        self.rcv_nxt = rcv;
        Ok(())
    }

    // ----- read-outs -----------------------------------------------------------------

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.conv
    }

    /// The MTU: the largest KCP frame emitted, headroom not included.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// The maximum segment payload: `mtu - 24`.
    pub fn mss(&self) -> usize {
        self.mss
    }

    /// Headroom bytes in front of each output datagram.
    pub fn reserved(&self) -> usize {
        self.reserved
    }

    /// Tailroom bytes after each output datagram.
    pub fn tailroom(&self) -> usize {
        self.tailroom
    }

    /// ikcp's `state`: 0, or `0xFFFF_FFFF` once the link was declared dead.
    pub fn state(&self) -> u32 {
        self.state
    }

    /// `true` once some segment was transmitted [`set_dead_link`](Kcp::set_dead_link)
    /// times without being acknowledged. It never resets and retransmission goes on; a
    /// session layer uses it to give up on the peer.
    pub fn is_dead_link(&self) -> bool {
        self.state != 0
    }

    /// Segments queued or in flight (`ikcp_waitsnd`). Stop sending while it exceeds a
    /// couple of send windows: KCP itself never pushes back.
    pub fn wait_snd(&self) -> usize {
        self.snd_buf_live + self.snd_queue.len()
    }

    /// The oldest unacknowledged sequence number.
    pub fn snd_una(&self) -> u32 {
        self.snd_una
    }

    /// The next sequence number to assign.
    pub fn snd_nxt(&self) -> u32 {
        self.snd_nxt
    }

    /// The next sequence number expected from the peer.
    pub fn rcv_nxt(&self) -> u32 {
        self.rcv_nxt
    }

    /// The congestion window in segments.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// The slow-start threshold in segments.
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// The current retransmission timeout in ms.
    pub fn rto(&self) -> i32 {
        self.rx_rto
    }

    /// The smoothed round-trip time in ms (0 before the first sample).
    pub fn srtt(&self) -> i32 {
        self.rx_srtt
    }

    /// The round-trip time variation in ms.
    pub fn rttvar(&self) -> i32 {
        self.rx_rttval
    }

    /// The minimum retransmission timeout in ms.
    pub fn min_rto(&self) -> i32 {
        self.rx_minrto
    }

    /// The peer's last advertised free receive window in segments.
    pub fn rmt_wnd(&self) -> u32 {
        self.rmt_wnd
    }

    /// The send window in segments.
    pub fn snd_wnd(&self) -> u32 {
        self.snd_wnd
    }

    /// The receive window in segments.
    pub fn rcv_wnd(&self) -> u32 {
        self.rcv_wnd
    }

    /// The flush interval in ms.
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// The no-delay mode (0, 1 or 2).
    pub fn nodelay(&self) -> u32 {
        self.nodelay
    }

    /// Whether stream mode is on.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The clock value of the last [`update`](Kcp::update) or
    /// [`set_current`](Kcp::set_current).
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Segments waiting to enter the send window.
    pub fn snd_queue_len(&self) -> usize {
        self.snd_queue.len()
    }

    /// Segments in flight (sent, not yet acknowledged).
    pub fn snd_buf_len(&self) -> usize {
        self.snd_buf_live
    }

    /// Segments received in order and not yet taken by `recv`.
    pub fn rcv_queue_len(&self) -> usize {
        self.rcv_queue.len()
    }

    /// Segments received out of order, waiting for a gap to fill.
    pub fn rcv_buf_len(&self) -> usize {
        self.rcv_buf.len()
    }

    /// Whether a flush now would send nothing and change nothing but the flush timer: no
    /// data queued or in flight, no acknowledgement pending, no window probe or window
    /// announcement due or pending, and the peer's window open. An event loop can then
    /// skip the flush timer until the next `send`, `recv` or `input` (ikcp would run
    /// `flush` every interval for nothing); see [`advance_idle`](Kcp::advance_idle) for
    /// resuming with exactly ikcp's timing.
    pub fn is_idle(&self) -> bool {
        self.snd_queue.is_empty()
            && self.snd_buf_len() == 0
            && self.acklist.is_empty()
            && self.probe == 0
            && self.rmt_wnd != 0
            // The flush after the peer's window reopened resets the probe timer.
            && self.probe_wait == 0
            && self.tell_left == 0
            && !(self.zero_wnd_sent && self.wnd_unused() > 0)
    }

    /// Acknowledgements waiting for the next flush.
    pub fn ack_pending(&self) -> usize {
        self.acklist.len()
    }

    /// Heap bytes this conversation holds now: the segments queued, in flight, received
    /// out of order and waiting for `recv` (their headers and their payload buffers'
    /// capacity), the payload buffers kept for reuse, the pending acknowledgements and the
    /// output scratch buffer. For memory budgets over many conversations: what a peer
    /// can make one conversation hold is bounded by the windows (each payload buffer holds
    /// at most two MTUs), and this says how much it holds at the moment. Costs a pass over
    /// every segment and pooled buffer (a few microseconds at full 1024-segment windows):
    /// call it after a burst of input, not per datagram.
    ///
    /// ```
    /// # use kcp_core::Kcp;
    /// let (mut a, mut b) = (Kcp::new(1), Kcp::new(1));
    /// a.set_nocwnd(true);
    /// let idle = b.buffered_bytes();
    /// a.send(&[7u8; 3000]).unwrap();
    /// a.update(0, |d: &mut [u8]| b.input(d).unwrap());
    /// assert!(b.buffered_bytes() >= idle + 3000);
    /// ```
    pub fn buffered_bytes(&self) -> usize {
        let segments = |q: &VecDeque<Segment>| {
            q.capacity() * size_of::<Segment>() + q.iter().map(|s| s.data.capacity()).sum::<usize>()
        };
        segments(&self.snd_queue)
            + segments(&self.snd_buf)
            + segments(&self.rcv_buf)
            + segments(&self.rcv_queue)
            + self.pool.capacity() * size_of::<Vec<u8>>()
            + self.pool.iter().map(Vec::capacity).sum::<usize>()
            + self.acklist.capacity() * size_of::<(u32, u32)>()
            + self.buffer.capacity()
    }

    /// The cumulative counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    // ----- internal state, for mirrors of ikcp's `IKCPCB` --------------------------------
    //
    // These read-outs expose the remaining fields of ikcp's control block, so that a C ABI
    // layer can show C programs the struct they expect. Protocol code rarely needs them.

    /// The fast-retransmission threshold set by [`set_fast_resend`](Kcp::set_fast_resend)
    /// (ikcp's `fastresend`; 0 = off).
    pub fn fast_resend(&self) -> u32 {
        self.fastresend
    }

    /// The fast-retransmission limit set by [`set_fast_limit`](Kcp::set_fast_limit)
    /// (ikcp's `fastlimit`).
    pub fn fast_limit(&self) -> i32 {
        self.fastlimit
    }

    /// Whether the congestion window is ignored (ikcp's `nocwnd`).
    pub fn is_nocwnd(&self) -> bool {
        self.nocwnd
    }

    /// The transmission count that declares the link dead (ikcp's `dead_link`).
    pub fn dead_link(&self) -> u32 {
        self.dead_link
    }

    /// Whether [`update`](Kcp::update) has run at least once (ikcp's `updated`); before
    /// that, [`flush`](Kcp::flush) sends nothing.
    pub fn is_updated(&self) -> bool {
        self.updated
    }

    /// The clock value at which [`update`](Kcp::update) flushes next (ikcp's `ts_flush`).
    pub fn ts_flush(&self) -> u32 {
        self.ts_flush
    }

    /// Window-probe requests pending for the next flush (ikcp's `probe`): bit 1 asks the
    /// peer for its window, bit 2 announces ours.
    pub fn probe(&self) -> u32 {
        self.probe
    }

    /// Makes the next [`flush`](Kcp::flush) send a window probe (WASK), the segment ikcp
    /// sends on its own only while the peer advertises a zero window. Every KCP peer
    /// (ikcp, kcp-go) answers one with a window announcement (WINS) at its next flush and
    /// delivers nothing to its application, which makes it a liveness probe that any peer
    /// understands: kcp-session's connect confirmation and keepalive use it. One 24-byte
    /// segment; not part of ikcp's API, and nothing calls it unless asked.
    pub fn request_window_probe(&mut self) {
        self.probe |= ASK_SEND;
    }

    /// When the next zero-window probe is due (ikcp's `ts_probe`; 0 while the peer's
    /// window is open).
    pub fn ts_probe(&self) -> u32 {
        self.ts_probe
    }

    /// The current wait between zero-window probes in ms (ikcp's `probe_wait`).
    pub fn probe_wait(&self) -> u32 {
        self.probe_wait
    }

    /// The congestion-avoidance byte counter (ikcp's `incr`).
    pub fn incr(&self) -> u32 {
        self.incr
    }

    /// How many segments of the receive queue the next complete message spans: what
    /// [`recv`](Kcp::recv) would take out. Errors as [`peek_size`](Kcp::peek_size).
    ///
    /// ```
    /// # use kcp_core::Kcp;
    /// let (mut a, mut b) = (Kcp::new(1), Kcp::new(1));
    /// a.set_nocwnd(true);
    /// a.send(&[7u8; 3000]).unwrap(); // three segments at the default MTU
    /// a.update(0, |d: &mut [u8]| b.input(d).unwrap());
    /// assert_eq!(b.peek_segments(), Ok(3));
    /// assert_eq!(b.peek_size(), Ok(3000));
    /// ```
    pub fn peek_segments(&self) -> Result<usize, RecvError> {
        self.peek_size()?;
        let end = self.rcv_queue.iter().position(|s| s.frg == 0);
        Ok(end.map_or(self.rcv_queue.len(), |i| i + 1))
    }
}
