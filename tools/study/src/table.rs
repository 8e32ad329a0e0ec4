//! The study's results as rows of a CSV file, and the statistics that fill them.

use std::io;
use std::path::Path;

use kcp_testkit::stats::quantile;
use serde::{Deserialize, Serialize};

use crate::contest::{Cell, Impl, Measured, Workload};

/// One measurement, as written to and read back from `study.csv` (one column per field,
/// named after it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) contestant: String,
    #[serde(rename = "impl")]
    pub(crate) imp: String,
    pub(crate) mode: String,
    /// Written `1`/`0`, as the study always has.
    #[serde(with = "flag")]
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

/// `bool` as `1`/`0`.
mod flag {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(u8::from(*v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(u8::deserialize(d)? == 1)
    }
}

/// `x` rounded to `digits` decimals, so the file shows what was measured, not float noise.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
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
            mean_ms: round(mean, 3),
            p50_ms: round(quantile(&sorted, 0.50), 3),
            p99_ms: round(quantile(&sorted, 0.99), 3),
            p999_ms: round(quantile(&sorted, 0.999), 3),
            max_ms: round(sorted.last().copied().unwrap_or(f64::NAN), 3),
            goodput_mbit: if cell.workload == Workload::Bulk && m.bulk_secs > 0.0 {
                round(m.payload as f64 * 8.0 / m.bulk_secs / 1e6, 4)
            } else {
                f64::NAN
            },
            payload_bytes: m.payload,
            wire_bytes: wire,
            overhead: if m.payload > 0 {
                round(wire as f64 / m.payload as f64, 4)
            } else {
                f64::NAN
            },
            lost_pkts: m.wire.a_to_b.lost + m.wire.b_to_a.lost,
            queue_drops: m.wire.a_to_b.overflowed + m.wire.b_to_a.overflowed,
            wall_secs: round(wall_secs, 2),
            failure: m.failure.clone().unwrap_or_default(),
        }
    }
}

/// Writes `rows` to `path` with the header.
pub(crate) fn write(path: &Path, rows: &[Row]) -> io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    for r in rows {
        w.serialize(r)?;
    }
    w.flush()
}

/// Reads a file written by [`write()`].
pub(crate) fn read(path: &Path) -> io::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path)?;
    r.deserialize()
        .map(|row| row.map_err(|e| io::Error::other(format!("{}: {e}", path.display()))))
        .collect()
}

/// The samples kept for the CDF plot: one line per row, `contestant,workload,loss,
/// loss_model,delay_ms,rate_mbit,samples_ms`, the last the sorted samples in ms separated by
/// spaces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Samples {
    pub(crate) contestant: String,
    pub(crate) workload: String,
    pub(crate) loss: f64,
    pub(crate) loss_model: String,
    pub(crate) delay_ms: u32,
    pub(crate) rate_mbit: u32,
    #[serde(rename = "samples_ms", with = "spaced")]
    pub(crate) values: Vec<f64>,
}

/// A list of numbers as one field, separated by spaces, two decimals each.
mod spaced {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
        s.serialize_str(&text.join(" "))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let text = String::deserialize(d)?;
        text.split_whitespace()
            .map(|x| {
                x.parse()
                    .map_err(|_| D::Error::custom(format!("bad sample {x:?}")))
            })
            .collect()
    }
}

/// Writes the samples file.
pub(crate) fn write_samples(path: &Path, all: &[Samples]) -> io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    for s in all {
        w.serialize(s)?;
    }
    w.flush()
}

/// Reads the samples file.
pub(crate) fn read_samples(path: &Path) -> io::Result<Vec<Samples>> {
    let mut r = csv::Reader::from_path(path)?;
    r.deserialize()
        .map(|s| s.map_err(|e| io::Error::other(format!("{}: {e}", path.display()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed results still read, and write back to the same rows.
    #[test]
    fn the_committed_study_reads_and_round_trips() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/study");
        let rows = read(&dir.join("study.csv")).expect("docs/study/study.csv reads");
        assert!(rows.len() > 10, "{} rows", rows.len());
        assert!(rows.iter().any(|r| r.fec) && rows.iter().any(|r| !r.fec));
        let samples = read_samples(&dir.join("study-samples.csv")).expect("samples read");
        assert!(samples.iter().all(|s| s.values.is_sorted()));

        let out = std::env::temp_dir().join(format!("kcp-study-table-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let mut odd = rows[0].clone();
        odd.failure = "timed out, \"twice\"\nthen gave up".to_owned();
        let rows = [rows, vec![odd]].concat();
        write(&out.join("t.csv"), &rows).unwrap();
        let back = read(&out.join("t.csv")).unwrap();
        // NaN is not equal to itself: compare the text of each row.
        assert_eq!(format!("{back:?}"), format!("{rows:?}"));
        write_samples(&out.join("s.csv"), &samples).unwrap();
        assert_eq!(read_samples(&out.join("s.csv")).unwrap(), samples);
        std::fs::remove_dir_all(&out).unwrap();
    }
}
