//! kcp-go's SNMP counter set, per session, per endpoint and (with the `tokio` feature)
//! summed over the process.

use alloc::vec;
use alloc::vec::Vec;
#[cfg(feature = "std")]
use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! snmp {
    ($( $(#[$doc:meta])* $field:ident => $name:literal, )*) => {
        /// A snapshot of kcp-go's SNMP counters (the fields of kcp-go 5.6.1 plus the newer
        /// ones that apply here), for one session ([`Session::snmp`](crate::Session::snmp))
        /// or summed over the process ([`global`]). Log it with [`Snmp::header`] and
        /// [`Snmp::values`], which follow kcptun's CSV column order.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub struct Snmp {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl Snmp {
            /// kcp-go's `Header()`: the column names, in kcptun's snmplog order.
            pub const fn header() -> &'static [&'static str] {
                &[$($name),*]
            }

            /// The values, in the order of [`Snmp::header`].
            pub fn values(&self) -> Vec<u64> {
                vec![$(self.$field),*]
            }

            /// Adds every counter of `other` to `self` (gauges included).
            pub fn accumulate(&mut self, other: &Snmp) {
                $( self.$field += other.$field; )*
            }

            /// Adds the change from `before` to `after` (wrapping, so gauges that went
            /// down subtract).
            pub(crate) fn add_delta(&mut self, before: &Snmp, after: &Snmp) {
                $( self.$field = self.$field.wrapping_add(after.$field.wrapping_sub(before.$field)); )*
            }
        }

        /// Process-wide counters that sessions add to as they run; snapshot them with
        /// [`global`].
        #[cfg(feature = "std")]
        #[derive(Debug, Default)]
        pub(crate) struct AtomicSnmp {
            $( pub(crate) $field: AtomicU64, )*
        }

        #[cfg(feature = "std")]
        impl AtomicSnmp {
            pub(crate) const fn new() -> AtomicSnmp {
                AtomicSnmp { $( $field: AtomicU64::new(0), )* }
            }

            pub(crate) fn snapshot(&self) -> Snmp {
                Snmp { $( $field: self.$field.load(Ordering::Relaxed), )* }
            }

            /// Adds the change from `before` to `after` (wrapping, so gauges that went
            /// down subtract).
            #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
            pub(crate) fn add_delta(&self, before: &Snmp, after: &Snmp) {
                $(
                    let d = after.$field.wrapping_sub(before.$field);
                    if d != 0 {
                        self.$field.fetch_add(d, Ordering::Relaxed);
                    }
                )*
            }
        }
    };
}

snmp! {
    /// Bytes handed to the socket, headers included.
    bytes_sent => "BytesSent",
    /// Bytes received from the socket, headers included.
    bytes_received => "BytesReceived",
    /// The largest number of sessions open at once.
    max_conn => "MaxConn",
    /// Sessions opened by dialing.
    active_opens => "ActiveOpens",
    /// Sessions opened by a listener.
    passive_opens => "PassiveOpens",
    /// Sessions open now (a gauge).
    curr_estab => "CurrEstab",
    /// Datagrams dropped before KCP: wrong source, FEC packet too short.
    in_errs => "InErrs",
    /// Datagrams failing the CRC32 or AEAD check.
    in_csum_errors => "InCsumErrors",
    /// Datagrams KCP rejected (bad conv, bad length, unknown command).
    kcp_in_errors => "KCPInErrors",
    /// Datagrams received (after the crypto layer).
    in_pkts => "InPkts",
    /// Datagrams sent.
    out_pkts => "OutPkts",
    /// KCP segments received.
    in_segs => "InSegs",
    /// KCP segments sent.
    out_segs => "OutSegs",
    /// Bytes received after the crypto header.
    in_bytes => "InBytes",
    /// KCP bytes sent.
    out_bytes => "OutBytes",
    /// Segments retransmitted (timeout and fast).
    retrans_segs => "RetransSegs",
    /// Segments fast-retransmitted.
    fast_retrans_segs => "FastRetransSegs",
    /// Early retransmissions (kcp-go's; see [`Config::early_retransmit`](crate::Config::early_retransmit)).
    early_retrans_segs => "EarlyRetransSegs",
    /// Segments retransmitted after their timeout.
    lost_segs => "LostSegs",
    /// Duplicate data segments received.
    repeat_segs => "RepeatSegs",
    /// FEC parity shards received.
    fec_parity_shards => "FECParityShards",
    /// Recovered FEC shards that were invalid or failed to decode.
    fec_errs => "FECErrs",
    /// Data shards rebuilt by FEC.
    fec_recovered => "FECRecovered",
    /// Data shards evicted before their group completed.
    fec_short_shards => "FECShortShards",
    /// FEC groups that arrived complete, nothing to rebuild (newer kcp-go).
    fec_full_shard_set => "FECFullShards",
}

#[cfg(feature = "std")]
static GLOBAL: AtomicSnmp = AtomicSnmp::new();

/// The process-wide counters of the tokio front: the counters of every socket that
/// [`KcpStream`](crate::KcpStream)s and [`KcpListener`](crate::KcpListener)s drive,
/// summed (each one's [`Endpoint::snmp`](crate::Endpoint::snmp)), with `max_conn` the most
/// sessions open at once in the process. kcptun's `--snmplog` logs this. Current up to
/// each socket's last wake-up. A sans-io [`Endpoint`](crate::Endpoint) adds nothing here:
/// its counters are its own ([`Endpoint::snmp`](crate::Endpoint::snmp)), so two endpoints
/// in one process never see each other's counts. Needs the `std` feature (64-bit
/// atomics).
#[cfg(feature = "std")]
pub fn global() -> Snmp {
    GLOBAL.snapshot()
}

/// Adds what an endpoint counted since `reported` to the process-wide counters, and
/// moves `reported` to `now`. `max_conn` is the process's own maximum, not a sum.
#[cfg(feature = "tokio")]
pub(crate) fn report(reported: &mut Snmp, now: &Snmp) {
    if reported == now {
        return;
    }
    let (mut before, mut after) = (*reported, *now);
    before.max_conn = 0;
    after.max_conn = 0;
    GLOBAL.add_delta(&before, &after);
    let open = GLOBAL.curr_estab.load(Ordering::Relaxed);
    GLOBAL.max_conn.fetch_max(open, Ordering::Relaxed);
    *reported = *now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_follows_kcptun_order() {
        let h = Snmp::header();
        assert_eq!(h[0], "BytesSent");
        assert_eq!(h[19], "RepeatSegs");
        assert_eq!(
            &h[20..24],
            &[
                "FECParityShards",
                "FECErrs",
                "FECRecovered",
                "FECShortShards"
            ]
        );
        assert_eq!(h.len(), Snmp::default().values().len());
    }

    #[test]
    #[cfg(feature = "std")]
    fn accumulate_and_delta() {
        let mut a = Snmp {
            in_pkts: 3,
            ..Snmp::default()
        };
        let b = Snmp {
            in_pkts: 4,
            out_pkts: 1,
            ..Snmp::default()
        };
        a.accumulate(&b);
        assert_eq!((a.in_pkts, a.out_pkts), (7, 1));
        let g = AtomicSnmp::new();
        g.add_delta(&b, &a);
        assert_eq!(g.snapshot().in_pkts, 3);
    }
}
