//! The study's results as rows of a CSV file, and the statistics that fill them.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::contest::{Cell, Impl, Measured, Workload};

/// The columns of `study.csv`, in order.
pub(crate) const HEADER: &str = "contestant,impl,mode,fec,workload,loss,loss_model,burst,\
delay_ms,rate_mbit,seed,samples,censored,mean_ms,p50_ms,p99_ms,p999_ms,max_ms,goodput_mbit,\
payload_bytes,wire_bytes,overhead,lost_pkts,queue_drops,wall_secs,failure";

/// One measurement, as written to and read back from `study.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Row {
    pub(crate) contestant: String,
    pub(crate) imp: String,
    pub(crate) mode: String,
    pub(crate) fec: bool,
    pub(crate) workload: String,
    /// Mean loss probability each way (0..1).
    pub(crate) loss: f64,
    pub(crate) loss_model: String,
    /// Mean burst length of bursty loss (0 for random).
    pub(crate) burst: f64,
    pub(crate) delay_ms: u32,
    pub(crate) rate_mbit: u32,
    pub(crate) seed: u64,
    pub(crate) samples: usize,
    pub(crate) censored: usize,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) goodput_mbit: f64,
    pub(crate) payload_bytes: u64,
    pub(crate) wire_bytes: u64,
    /// Bytes on the wire (both ways, IP headers and losses included) per application
    /// byte delivered.
    pub(crate) overhead: f64,
    pub(crate) lost_pkts: u64,
    pub(crate) queue_drops: u64,
    pub(crate) wall_secs: f64,
    /// Why the run did not finish normally; empty if it did.
    pub(crate) failure: String,
}

/// The `q` quantile of sorted samples (nearest rank); NaN when there are none.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Row {
    /// The row of `cell`'s measurement `m`, which took `wall_secs`.
    pub(crate) fn new(cell: &Cell, m: &Measured, wall_secs: f64) -> Row {
        let mut sorted = m.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = if sorted.is_empty() {
            f64::NAN
        } else {
            sorted.iter().sum::<f64>() / sorted.len() as f64
        };
        let wire = m.wire.wire_bytes();
        let who = cell.who;
        let (imp, mode) = match who.imp {
            Impl::Ours => ("ours", who.to_string()),
            Impl::KcpGo => ("kcp-go", who.to_string()),
            Impl::Tcp | Impl::TcpCubic => ("tcp", who.to_string()),
        };
        let mode = match who.imp {
            Impl::Tcp => "-".to_owned(),
            _ => mode.split(' ').nth(1).unwrap_or("-").to_owned(),
        };
        Row {
            contestant: who.to_string(),
            imp: imp.to_owned(),
            mode,
            fec: who.fec,
            workload: cell.workload.name().to_owned(),
            loss: cell.path.loss,
            loss_model: cell.path.loss_model().to_owned(),
            burst: cell.path.burst.unwrap_or(0.0),
            delay_ms: cell.path.delay_ms,
            rate_mbit: cell.path.rate_mbit,
            seed: cell.seed,
            samples: sorted.len(),
            censored: m.censored,
            mean_ms: mean,
            p50_ms: quantile(&sorted, 0.50),
            p99_ms: quantile(&sorted, 0.99),
            p999_ms: quantile(&sorted, 0.999),
            max_ms: sorted.last().copied().unwrap_or(f64::NAN),
            goodput_mbit: if cell.workload == Workload::Bulk && m.bulk_secs > 0.0 {
                m.payload as f64 * 8.0 / m.bulk_secs / 1e6
            } else {
                f64::NAN
            },
            payload_bytes: m.payload,
            wire_bytes: wire,
            overhead: if m.payload > 0 {
                wire as f64 / m.payload as f64
            } else {
                f64::NAN
            },
            lost_pkts: m.wire.a_to_b.lost + m.wire.b_to_a.lost,
            queue_drops: m.wire.a_to_b.overflowed + m.wire.b_to_a.overflowed,
            wall_secs,
            failure: m
                .failure
                .as_deref()
                .unwrap_or("")
                .replace([',', '\n', '\r'], ";"),
        }
    }

    /// The row as one CSV line (no newline).
    pub(crate) fn to_csv(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.4},{},{},{:.4},{},{},{:.2},{}",
            self.contestant,
            self.imp,
            self.mode,
            u8::from(self.fec),
            self.workload,
            self.loss,
            self.loss_model,
            self.burst,
            self.delay_ms,
            self.rate_mbit,
            self.seed,
            self.samples,
            self.censored,
            self.mean_ms,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.goodput_mbit,
            self.payload_bytes,
            self.wire_bytes,
            self.overhead,
            self.lost_pkts,
            self.queue_drops,
            self.wall_secs,
            self.failure,
        );
        s
    }

    /// Parses a line written by [`to_csv`](Self::to_csv).
    pub(crate) fn from_csv(line: &str) -> Result<Row, String> {
        let f: Vec<&str> = line.splitn(26, ',').collect();
        if f.len() != 26 {
            return Err(format!("{} fields instead of 26: {line:?}", f.len()));
        }
        fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
            s.parse().map_err(|_| format!("bad {what} {s:?}"))
        }
        Ok(Row {
            contestant: f[0].to_owned(),
            imp: f[1].to_owned(),
            mode: f[2].to_owned(),
            fec: f[3] == "1",
            workload: f[4].to_owned(),
            loss: num(f[5], "loss")?,
            loss_model: f[6].to_owned(),
            burst: num(f[7], "burst")?,
            delay_ms: num(f[8], "delay_ms")?,
            rate_mbit: num(f[9], "rate_mbit")?,
            seed: num(f[10], "seed")?,
            samples: num(f[11], "samples")?,
            censored: num(f[12], "censored")?,
            mean_ms: num(f[13], "mean_ms")?,
            p50_ms: num(f[14], "p50_ms")?,
            p99_ms: num(f[15], "p99_ms")?,
            p999_ms: num(f[16], "p999_ms")?,
            max_ms: num(f[17], "max_ms")?,
            goodput_mbit: num(f[18], "goodput_mbit")?,
            payload_bytes: num(f[19], "payload_bytes")?,
            wire_bytes: num(f[20], "wire_bytes")?,
            overhead: num(f[21], "overhead")?,
            lost_pkts: num(f[22], "lost_pkts")?,
            queue_drops: num(f[23], "queue_drops")?,
            wall_secs: num(f[24], "wall_secs")?,
            failure: f[25].to_owned(),
        })
    }
}

/// Writes `rows` to `path` with the header.
pub(crate) fn write(path: &Path, rows: &[Row]) -> io::Result<()> {
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(&r.to_csv());
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// Reads a file written by [`write()`].
pub(crate) fn read(path: &Path) -> io::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(io::Error::other(format!(
            "{} does not start with the study's header",
            path.display()
        )));
    }
    lines
        .filter(|l| !l.is_empty())
        .map(|l| Row::from_csv(l).map_err(io::Error::other))
        .collect()
}

/// The samples kept for the CDF plot: one line per row, `contestant,workload,loss,
/// loss_model,delay_ms,rate_mbit,` then the sorted samples in ms separated by spaces.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Samples {
    pub(crate) contestant: String,
    pub(crate) workload: String,
    pub(crate) loss: f64,
    pub(crate) loss_model: String,
    pub(crate) delay_ms: u32,
    pub(crate) rate_mbit: u32,
    pub(crate) values: Vec<f64>,
}

/// Writes the samples file.
pub(crate) fn write_samples(path: &Path, all: &[Samples]) -> io::Result<()> {
    let mut text =
        String::from("contestant,workload,loss,loss_model,delay_ms,rate_mbit,samples_ms\n");
    for s in all {
        let _ = write!(
            text,
            "{},{},{},{},{},{},",
            s.contestant, s.workload, s.loss, s.loss_model, s.delay_ms, s.rate_mbit
        );
        let values: Vec<String> = s.values.iter().map(|v| format!("{v:.2}")).collect();
        text.push_str(&values.join(" "));
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// Reads the samples file.
pub(crate) fn read_samples(path: &Path) -> io::Result<Vec<Samples>> {
    let text = std::fs::read_to_string(path)?;
    let bad = |l: &str| io::Error::other(format!("bad samples line {l:?}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(7, ',').collect();
            if f.len() != 7 {
                return Err(bad(l));
            }
            Ok(Samples {
                contestant: f[0].to_owned(),
                workload: f[1].to_owned(),
                loss: f[2].parse().map_err(|_| bad(l))?,
                loss_model: f[3].to_owned(),
                delay_ms: f[4].parse().map_err(|_| bad(l))?,
                rate_mbit: f[5].parse().map_err(|_| bad(l))?,
                values: f[6]
                    .split_whitespace()
                    .map(|v| v.parse().map_err(|_| bad(l)))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}
