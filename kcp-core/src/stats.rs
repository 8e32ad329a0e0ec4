//! Counters of what a [`Kcp`](crate::Kcp) did, named after kcp-go's SNMP fields.

/// Cumulative counters of one [`Kcp`](crate::Kcp); read them with
/// [`Kcp::stats`](crate::Kcp::stats) for logging or to sum them across conversations.
/// They only count and never change protocol behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Segments parsed by `input` (kcp-go `InSegs`).
    pub in_segs: u64,
    /// Datagrams `input` rejected with an error (kcp-go `KCPInErrors`).
    pub in_errors: u64,
    /// Received data segments that were duplicates or already delivered (`RepeatSegs`).
    pub repeat_segs: u64,
    /// Segments written by `flush`: data, acks and window probes (`OutSegs`).
    pub out_segs: u64,
    /// Datagrams handed to the output callback.
    pub out_datagrams: u64,
    /// Bytes handed to the output callback, headroom not included (`OutBytes`).
    pub out_bytes: u64,
    /// All retransmissions: timeouts plus fast retransmissions (`RetransSegs`).
    pub retransmits: u64,
    /// Retransmissions triggered by later acknowledgements (`FastRetransSegs`).
    pub fast_retransmits: u64,
    /// Early retransmissions (`EarlyRetransSegs`; see
    /// [`Kcp::set_early_retransmit`](crate::Kcp::set_early_retransmit)).
    pub early_retransmits: u64,
    /// Retransmissions after the retransmission timeout expired (`LostSegs`; ikcp's `xmit`).
    pub lost_segs: u64,
    /// Acknowledgements not queued because the list was at its limit
    /// ([`Kcp::set_ack_limit`](crate::Kcp::set_ack_limit)); the peer retransmits those
    /// segments and they are acknowledged then.
    pub dropped_acks: u64,
    /// Segments of ours newly acknowledged by the peer (by ACK or `una`), each counted
    /// once: what a congestion controller samples the delivery rate from.
    pub delivered_segs: u64,
    /// Payload bytes of those segments.
    pub delivered_bytes: u64,
    /// Data segments transmitted for the first time. Segments admitted into flight
    /// (`snd_nxt` moved past them) but held back by
    /// [`Kcp::set_send_quota`](crate::Kcp::set_send_quota) are not counted until they go:
    /// a congestion controller tells what is really in flight from it.
    pub first_sends: u64,
}
