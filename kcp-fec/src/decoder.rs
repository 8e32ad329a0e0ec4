//! The receiving side: a fixed number of groups in recycled buffers, recovery as soon as a
//! group can be solved, and auto-tuning to the peer's shard counts.

use alloc::vec::Vec;

use crate::autotune::AutoTune;
use crate::codec::{Codec, ShardSet};
use crate::error::{ConfigError, DecodeError};
use crate::gf::{Gf, Kernel};
use crate::packet::{FecPacket, HEADER_LEN, MTU_LIMIT, PacketKind};
use crate::shards::{MAX_TOTAL_SHARDS, Shards};

/// Default number of groups a decoder holds: kcp-go (5.6.22+) keeps the newest group and
/// the three before it.
pub const DEFAULT_GROUPS: usize = 4;
/// The most groups a decoder may be configured to hold.
pub const MAX_GROUPS: usize = 64;
/// kcp-go 5.6.1's `fecExpire`: a group that has not received a shard for this long is
/// dropped.
pub const DEFAULT_EXPIRE_MS: u32 = 60_000;
/// Default [`DecoderConfig::auto_tune_max_total`]: auto-tune follows a peer to at most 32
/// shards per group (kcptun's default is 13; its largest common settings, 20+10 and
/// 16+16, fit), unless the configured counts are larger.
pub const DEFAULT_AUTO_TUNE_MAX_TOTAL: usize = 32;
/// Default [`DecoderConfig::work_per_byte`]: decoding may spend 20 GF(2^8) multiply-adds
/// per byte received.
pub const DEFAULT_WORK_PER_BYTE: u32 = 20;
/// Bytes each packet is credited beyond its length for the decode work budget: the IPv4
/// and UDP headers it cost the sender, so that tiny packets earn a little work too.
const PACKET_OVERHEAD: u64 = 28;
/// The decode work budget holds at most the credit of this many longest packets (or one
/// solve of the largest group, if more), so that work saved up during a quiet spell
/// solves at most a burst of groups.
const BURST_PACKETS: u64 = 256;
/// A multiply-add on the small rows of a matrix costs about as much time as this many on
/// the long rows of shards, which the SIMD kernels run in bulk (measured with the FEC bomb
/// benchmark: a 16 x 16 solve takes about 1.7 ns per matrix multiply-add).
const MATRIX_WEIGHT: u64 = 8;

/// How a [`Decoder`] behaves. Build it with [`DecoderConfig::new`] and adjust the public
/// fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// The shard counts to expect first. kcp-go creates a (1, 1) decoder on the first FEC
    /// packet when its own FEC is off; with `auto_tune` the counts follow the peer anyway.
    pub shards: Shards,
    /// Groups held at once (1..=[`MAX_GROUPS`], default [`DEFAULT_GROUPS`]). A shard of a
    /// new group evicts the least recently touched group when all are in use.
    pub groups: usize,
    /// Longest packet accepted (FEC header onwards), 8..=65,535. Default [`MTU_LIMIT`]
    /// (1500), the most kcp-go ever reads.
    pub max_packet: usize,
    /// Drop a group that received nothing for this long. Default
    /// `Some(`[`DEFAULT_EXPIRE_MS`]`)` as kcp-go 5.6.1; `None` keeps groups until evicted.
    pub expire_ms: Option<u32>,
    /// Follow the peer's shard counts when packet types disagree with their positions.
    /// Default `true`, as kcp-go.
    pub auto_tune: bool,
    /// The most shards per group auto-tune follows a peer to: detected counts with
    /// `data + parity` above both this and `shards.total()` are refused (counted in
    /// [`FecStats::retunes_refused`]; the packets still reach KCP, only without FEC).
    /// Default [`DEFAULT_AUTO_TUNE_MAX_TOTAL`] (32), 2..=256. The cost it bounds: a group
    /// of `n` shards holds `n` buffers, and rebuilding it inverts a matrix of up to `n/2`
    /// rows.
    pub auto_tune_max_total: usize,
    /// The decode work budget: each packet received credits `work_per_byte` times its
    /// length (plus 28 bytes of IP and UDP headers) of work, up to the credit of 256
    /// longest packets. Solving a group that lost `r` of its `data` data shards costs its
    /// `r x r` matrix solve (`2r^3 + r^2 (data - r)` multiply-adds on matrix rows, each
    /// counted 8, as they run far slower than the bulk ones) plus `data` multiply-adds per
    /// byte of each rebuilt shard; a group the credit does not cover is dropped unsolved
    /// ([`FecStats::over_budget`]); the credit kept is capped at that of 256 longest
    /// packets, or one solve of the largest group if more. Default
    /// [`DEFAULT_WORK_PER_BYTE`] (20): a 10+3 group is paid for by its own packets
    /// whatever it lost and whatever their size, and so is a 16+16 group of packets of
    /// 1,000 bytes or more, or one of the smallest KCP packets that lost up to 8 data
    /// shards; other losses draw on credit saved by groups that lost less. Raise it
    /// (to about `data + 4`) for large groups under heavy loss. A peer sending groups of
    /// tiny or uneven shards built to need big inversions gets this much work per byte it
    /// sends, no more. `0` disables recovery.
    pub work_per_byte: u32,
    /// The GF(2^8) kernel for recovery. `None` (default): [`Kernel::best`], the fastest
    /// this CPU runs. Every kernel rebuilds the same bytes; name one to compare them or to
    /// test a slower path ([`Decoder::new`] refuses one the CPU cannot run).
    pub kernel: Option<Kernel>,
}

impl DecoderConfig {
    /// Defaults for `shards`: 4 groups, 1500-byte packets, 60 s expiry, auto-tune on, the
    /// fastest kernel.
    pub const fn new(shards: Shards) -> Self {
        DecoderConfig {
            shards,
            groups: DEFAULT_GROUPS,
            max_packet: MTU_LIMIT,
            expire_ms: Some(DEFAULT_EXPIRE_MS),
            auto_tune: true,
            auto_tune_max_total: DEFAULT_AUTO_TUNE_MAX_TOTAL,
            work_per_byte: DEFAULT_WORK_PER_BYTE,
            kernel: None,
        }
    }

    /// The most shards per group this decoder ever works with: `shards.total()`, or with
    /// auto-tune the larger of that and `auto_tune_max_total`.
    pub fn max_total_shards(&self) -> usize {
        if self.auto_tune {
            self.shards.total().max(self.auto_tune_max_total)
        } else {
            self.shards.total()
        }
    }

    /// An upper bound, in bytes, of the heap memory a decoder with this configuration ever
    /// holds, whatever it is fed: every group holding every shard at the longest size, at
    /// the largest shard count it works with ([`max_total_shards`](Self::max_total_shards)),
    /// plus the codec's and the sampler's fixed scratch space. For 10+3 and the defaults
    /// that is about 200 KB with auto-tune (32 shards), 85 KB without. Shard buffers grow
    /// only to the shards they hold, so a decoder fed kcp-go traffic holds only the groups
    /// in flight at their packets' sizes ([`Decoder::retained_bytes`]).
    pub fn memory_bound(&self) -> usize {
        let total = self.max_total_shards();
        let per_shard = size_of::<Vec<u8>>() + (self.max_packet - HEADER_LEN);
        let groups = self.groups * (size_of::<Group>() + total * per_shard);
        // Codec scratch: parity rows k*m, solve r*2r and coefficients r*k with
        // r = min(k, m), each at most total^2 / 2 for k + m <= total; three index lists.
        let codec = total * total + 3 * total * size_of::<usize>();
        let retired = retired_len(self.groups) * size_of::<u32>();
        let sampler = 2 * crate::autotune::SAMPLES * 8;
        groups + codec + retired + sampler
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.groups == 0 || self.groups > MAX_GROUPS {
            return Err(ConfigError::BadGroupCount);
        }
        if self.max_packet < crate::packet::DATA_HEADER_LEN
            || self.max_packet > crate::packet::MAX_UDP_PAYLOAD
        {
            return Err(ConfigError::BadSizeLimit);
        }
        if !(2..=MAX_TOTAL_SHARDS).contains(&self.auto_tune_max_total) {
            return Err(ConfigError::TooManyShards);
        }
        Ok(())
    }
}

/// kcp-go's FEC counters for one decoder (sum them over sessions for kcp-go's global
/// `DefaultSnmp` figures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FecStats {
    /// Data packets decoded (their frames are returned whether or not FEC uses them).
    pub data_shards: u64,
    /// Parity packets received (kcp-go `FECParityShards`).
    pub parity_shards: u64,
    /// Data shards rebuilt with a valid size field and handed to the callback (kcp-go
    /// `FECRecovered` additionally requires KCP to accept the frame).
    pub recovered: u64,
    /// Rebuilt shards whose size field was invalid, and groups that could not be solved
    /// (kcp-go `FECErrs`). Only inconsistent or forged shards cause these.
    pub errors: u64,
    /// Groups whose data shards all arrived, so nothing needed rebuilding (kcp-go HEAD
    /// `FECFullShardSet`).
    pub full_groups: u64,
    /// Data shards dropped unused because their group was evicted or expired before it
    /// could be solved (kcp-go `FECShortShards`).
    pub short_shards: u64,
    /// Packets whose seqid was already held.
    pub duplicates: u64,
    /// Packets that arrived after their group was solved or dropped (parity after a full
    /// group is the common case).
    pub late: u64,
    /// Packets kept out of FEC decoding: seqid beyond `paws`, type disagreeing with its
    /// position, or shard counts being re-detected.
    pub ignored: u64,
    /// Times auto-tune switched to different shard counts.
    pub retunes: u64,
    /// Times auto-tune detected shard counts beyond
    /// [`DecoderConfig::auto_tune_max_total`] and did not follow them (FEC decoding stays
    /// paused meanwhile).
    pub retunes_refused: u64,
    /// Groups dropped unsolved because solving them would have cost more decode work than
    /// the packets received had paid for ([`DecoderConfig::work_per_byte`]): a peer
    /// sending groups of tiny or uneven shards built to need large inversions, or large
    /// groups of small packets under heavy loss.
    pub over_budget: u64,
}

/// One group in progress.
#[derive(Debug)]
struct Group {
    id: u32,
    active: bool,
    last_ms: u32,
    /// Order of the last touch, for eviction.
    stamp: u64,
    present: ShardSet,
    count: usize,
    data_count: usize,
    max_len: usize,
    /// One buffer per shard index; capacity kept across groups.
    shards: Vec<Vec<u8>>,
}

impl Group {
    fn new(total: usize) -> Group {
        let mut shards = Vec::with_capacity(total);
        shards.resize_with(total, Vec::new);
        Group {
            id: 0,
            active: false,
            last_ms: 0,
            stamp: 0,
            present: ShardSet::default(),
            count: 0,
            data_count: 0,
            max_len: 0,
            shards,
        }
    }

    fn retained_bytes(&self) -> usize {
        self.shards.capacity() * size_of::<Vec<u8>>()
            + self.shards.iter().map(Vec::capacity).sum::<usize>()
    }
}

fn retired_len(groups: usize) -> usize {
    (2 * groups).max(8)
}

/// kcp-go's `fecDecoder`: takes every FEC packet received (data and parity, any order,
/// duplicates, gaps, wrap-around), returns each data packet's KCP frame at once, and
/// rebuilds lost data shards as soon as their group holds `data` shards.
///
/// Memory is fixed by the configuration ([`DecoderConfig::memory_bound`]): at most
/// `groups` groups, whose shard buffers are recycled, so a hostile stream of seqids cannot
/// grow it, and once every buffer has been used, decoding allocates nothing.
#[derive(Debug)]
pub struct Decoder {
    config: DecoderConfig,
    codec: Codec,
    groups: Vec<Group>,
    /// Recently solved or dropped group ids, so their stragglers do not take a slot.
    retired: Vec<u32>,
    retired_next: usize,
    stamp: u64,
    tune: AutoTune,
    /// Decode work paid for and not yet spent.
    credit: u64,
    /// The most credit kept.
    credit_cap: u64,
    stats: FecStats,
}

impl Decoder {
    /// Builds a decoder. Allocates the codec and the auto-tune sampler (a few KB); shard
    /// buffers are allocated as groups first use them. Fails on an invalid configuration
    /// or a kernel this CPU cannot run.
    pub fn new(config: DecoderConfig) -> Result<Decoder, ConfigError> {
        config.validate()?;
        let gf = Gf::choose(config.kernel).ok_or(ConfigError::KernelUnavailable)?;
        Ok(Decoder {
            codec: Codec::new(config.shards, gf),
            groups: Vec::with_capacity(config.groups),
            retired: Vec::with_capacity(retired_len(config.groups)),
            retired_next: 0,
            stamp: 0,
            tune: AutoTune::new(),
            credit: 0,
            credit_cap: credit_cap(&config),
            stats: FecStats::default(),
            config,
        })
    }

    /// The shard counts currently expected (they change when auto-tune follows the peer).
    pub fn shards(&self) -> Shards {
        self.codec.shards()
    }

    /// The GF(2^8) kernel this decoder runs.
    pub fn kernel(&self) -> Kernel {
        self.codec.gf().kernel()
    }

    /// The counters so far.
    pub fn stats(&self) -> FecStats {
        self.stats
    }

    /// Groups currently held (at most `groups` of the configuration).
    pub fn groups_held(&self) -> usize {
        self.groups.iter().filter(|g| g.active).count()
    }

    /// Heap bytes this decoder holds now, buffers kept for reuse included. Never more
    /// than [`DecoderConfig::memory_bound`].
    pub fn retained_bytes(&self) -> usize {
        self.groups.capacity() * size_of::<Group>()
            + self.groups.iter().map(Group::retained_bytes).sum::<usize>()
            + self.retired.capacity() * size_of::<u32>()
            + self.codec.retained_bytes()
            + self.tune.retained_bytes()
    }

    /// Decodes one FEC packet (the payload after the crypto header, starting at the seqid).
    ///
    /// Returns the KCP frame of a data packet (everything after its size field, as kcp-go
    /// feeds KCP) for immediate input, `None` for a parity packet. Before returning, calls
    /// `recovered` with the KCP frame of each data shard this packet allowed to rebuild
    /// (size field checked: `2 <= size <= shard length`; invalid ones count as
    /// [`errors`](FecStats::errors)), in seqid order; feed those to KCP as well.
    ///
    /// `now_ms` (any origin, may wrap) drives the expiry of idle groups. Cost: a copy of
    /// the packet into a group buffer, plus, when a group with losses completes, `r x data`
    /// GF(2^8) multiply-adds over the shard length for `r` lost data shards.
    pub fn decode<'p, F>(
        &mut self,
        packet: &'p [u8],
        now_ms: u32,
        mut recovered: F,
    ) -> Result<Option<&'p [u8]>, DecodeError>
    where
        F: FnMut(&[u8]),
    {
        if packet.len() > self.config.max_packet {
            return Err(DecodeError::TooLong { len: packet.len() });
        }
        let pkt = FecPacket::new_checked(packet)?;
        let is_data = pkt.kind() == PacketKind::Data;
        if is_data {
            self.stats.data_shards += 1;
        } else {
            self.stats.parity_shards += 1;
        }
        if let Some(expire) = self.config.expire_ms {
            self.expire(now_ms, expire);
        }
        let per_byte = u64::from(self.config.work_per_byte);
        let cap = self.credit_cap;
        let earned = per_byte * (packet.len() as u64 + PACKET_OVERHEAD);
        self.credit = cap.min(self.credit.saturating_add(earned));
        if self.admit(is_data, pkt.seqid()) {
            self.insert(pkt.seqid(), is_data, pkt.shard(), now_ms, &mut recovered);
        } else {
            self.stats.ignored += 1;
            // Its frame goes to KCP directly; were its group solved later, the frame
            // would come out a second time as a "recovery".
            self.poison(pkt.seqid() / self.codec.shards().total() as u32, 0);
        }
        Ok(pkt.frame())
    }

    /// Samples the packet for auto-tune and decides whether it may enter a group.
    fn admit(&mut self, is_data: bool, seqid: u32) -> bool {
        let shards = self.codec.shards();
        let at_data_position = (seqid % shards.total() as u32) < shards.data() as u32;
        let mismatch = at_data_position != is_data;
        if !self.config.auto_tune {
            return !mismatch && seqid < shards.paws();
        }
        self.tune.sample(is_data, seqid);
        if let Some(found) = self.tune.observe(mismatch, shards)
            && found != shards
        {
            if found.total() > self.config.max_total_shards() {
                // Not followed: decoding stays paused until the counts agree again.
                self.stats.retunes_refused += 1;
                self.tune.refuse();
                return false;
            }
            self.retune(found);
            // Packets before this one were not recorded under the new counts: their
            // groups (the current one and those a reordering could still complete)
            // are closed.
            self.poison(seqid / found.total() as u32, self.config.groups as u32);
            // The packet is judged again under the new counts below.
            let at_data = (seqid % found.total() as u32) < found.data() as u32;
            return at_data == is_data && seqid < found.paws();
        }
        !self.tune.pending() && !mismatch && seqid < shards.paws()
    }

    /// Retires group `id` and the `before` groups preceding it: shards of theirs went by
    /// unrecorded, so they must not be solved.
    fn poison(&mut self, id: u32, before: u32) {
        for back in 0..=before {
            let id = id.wrapping_sub(back);
            if let Some(i) = self.groups.iter().position(|g| g.active && g.id == id) {
                self.drop_group(i);
            } else if !self.retired.contains(&id) {
                self.remember_retired(id);
            }
        }
    }

    /// Switches to new shard counts: a new codec, every group dropped.
    fn retune(&mut self, shards: Shards) {
        self.codec = Codec::new(shards, self.codec.gf());
        for g in &mut self.groups {
            if g.active {
                self.stats.short_shards += g.data_count as u64;
            }
            g.active = false;
            g.shards.truncate(shards.total());
            // Exact, so the outer vector never exceeds 256 entries (`memory_bound`).
            g.shards.reserve_exact(shards.total() - g.shards.len());
            g.shards.resize_with(shards.total(), Vec::new);
        }
        self.retired.clear();
        self.retired_next = 0;
        self.stats.retunes += 1;
    }

    fn expire(&mut self, now_ms: u32, expire: u32) {
        for i in 0..self.groups.len() {
            let g = &self.groups[i];
            let idle = now_ms.wrapping_sub(g.last_ms);
            if g.active && idle < 1 << 31 && idle > expire {
                self.drop_group(i);
            }
        }
    }

    /// Drops an unsolved group, counting its data shards as short.
    fn drop_group(&mut self, i: usize) {
        self.stats.short_shards += self.groups[i].data_count as u64;
        self.retire(i);
    }

    /// Frees group slot `i` and remembers its id as finished.
    fn retire(&mut self, i: usize) {
        let g = &mut self.groups[i];
        g.active = false;
        let id = g.id;
        self.remember_retired(id);
    }

    fn remember_retired(&mut self, id: u32) {
        if self.retired.len() < retired_len(self.config.groups) {
            self.retired.push(id);
        } else {
            self.retired[self.retired_next] = id;
            self.retired_next = (self.retired_next + 1) % self.retired.len();
        }
    }

    /// The slot for group `id`: the one holding it, a free one, or the least recently
    /// touched one (dropped). `None` if `id` was finished recently.
    fn slot(&mut self, id: u32, total: usize) -> Option<usize> {
        let mut free = None;
        let mut oldest: Option<usize> = None;
        for (i, g) in self.groups.iter().enumerate() {
            if g.active {
                if g.id == id {
                    return Some(i);
                }
                if oldest.is_none_or(|o| g.stamp < self.groups[o].stamp) {
                    oldest = Some(i);
                }
            } else if free.is_none() {
                free = Some(i);
            }
        }
        if self.retired.contains(&id) {
            return None;
        }
        let i = match (free, oldest) {
            (Some(i), _) => i,
            (None, _) if self.groups.len() < self.config.groups => {
                self.groups.push(Group::new(total));
                self.groups.len() - 1
            }
            (None, Some(i)) => {
                self.drop_group(i);
                i
            }
            // `groups >= 1`, so with no free slot and no room there is an active one.
            (None, None) => return None,
        };
        let g = &mut self.groups[i];
        g.id = id;
        g.active = true;
        g.present.clear();
        g.count = 0;
        g.data_count = 0;
        g.max_len = 0;
        Some(i)
    }

    fn insert<F: FnMut(&[u8])>(
        &mut self,
        seqid: u32,
        is_data: bool,
        shard: &[u8],
        now_ms: u32,
        recovered: &mut F,
    ) {
        let shards = self.codec.shards();
        let (k, n) = (shards.data(), shards.total());
        let id = seqid / n as u32;
        let idx = (seqid % n as u32) as usize;
        let Some(i) = self.slot(id, n) else {
            self.stats.late += 1;
            return;
        };
        self.stamp += 1;
        let g = &mut self.groups[i];
        g.last_ms = now_ms;
        g.stamp = self.stamp;
        if g.present.contains(idx) {
            self.stats.duplicates += 1;
            return;
        }
        let buf = &mut g.shards[idx];
        buf.clear();
        crate::codec::reserve_exact_len(buf, shard.len());
        buf.extend_from_slice(shard);
        g.present.insert(idx);
        g.count += 1;
        g.max_len = g.max_len.max(shard.len());
        if is_data {
            g.data_count += 1;
        }

        if g.data_count == k {
            self.stats.full_groups += 1;
            self.retire(i);
        } else if g.count == k {
            self.solve(i, recovered);
            self.retire(i);
        }
    }

    /// Rebuilds the lost data shards of group `i`, which holds exactly `data` shards.
    fn solve<F: FnMut(&[u8])>(&mut self, i: usize, recovered: &mut F) {
        let k = self.codec.shards().data();
        let g = &mut self.groups[i];
        let len = g.max_len;
        let cost = solve_cost(k, k - g.data_count, len);
        if cost > self.credit {
            self.stats.over_budget += 1;
            return;
        }
        self.credit -= cost;
        for (idx, buf) in g.shards.iter_mut().enumerate() {
            if g.present.contains(idx) {
                crate::codec::reserve_exact_len(buf, len);
                buf.resize(len, 0);
            }
        }
        if self
            .codec
            .reconstruct(&mut g.shards, &g.present, len)
            .is_err()
        {
            self.stats.errors += 1;
            return;
        }
        for (idx, buf) in g.shards[..k].iter().enumerate() {
            if g.present.contains(idx) {
                continue;
            }
            let size = usize::from(u16::from_le_bytes([buf[0], buf[1]]));
            if (2..=len).contains(&size) {
                self.stats.recovered += 1;
                recovered(&buf[2..size]);
            } else {
                self.stats.errors += 1;
            }
        }
    }
}

/// The credit kept at most: that of [`BURST_PACKETS`] longest packets, or one solve of the
/// largest group the decoder works with (every other shard lost, longest shards).
fn credit_cap(config: &DecoderConfig) -> u64 {
    let n = config.max_total_shards();
    let max_shard = config.max_packet - HEADER_LEN;
    let packets = u64::from(config.work_per_byte)
        * (config.max_packet as u64 + PACKET_OVERHEAD)
        * BURST_PACKETS;
    packets.max(solve_cost(n - n / 2, n / 2, max_shard))
}

/// The work of rebuilding `r` of `k` data shards of `len` bytes: the `r x 2r`
/// Gauss-Jordan solve (`2r^3` multiply-adds) and the coefficients of the present data
/// shards (`r^2 (k - r)`), each weighted [`MATRIX_WEIGHT`], then `k` multiply-adds per
/// byte of each rebuilt shard.
fn solve_cost(k: usize, r: usize, len: usize) -> u64 {
    let (k, r, len) = (k as u64, r as u64, len as u64);
    MATRIX_WEIGHT * (2 * r * r * r + r * r * (k - r)) + r * k * len
}
