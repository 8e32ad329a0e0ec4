//! SVG plots of the study's rows, one set per path (delay and bandwidth):
//!
//! - `game-rtt-*.svg`: game round trips (p50, p99, p99.9, max) against loss;
//! - `request-time-*.svg`: completion of 64 KiB responses (p50, p99, max) against loss;
//! - `goodput-*.svg` and `overhead-*.svg`: the bulk transfer's goodput, and bytes on the
//!   wire per byte delivered, against loss;
//! - `rtt-cdf-*.svg`: the distribution of game round trips at one loss rate.
//!
//! Each figure has a row for FEC off and one for FEC 10/3 (TCP appears in both). Colour
//! tells the mode, solid lines with circles are ours, dashed lines with triangles kcp-go,
//! black is TCP with the kernel's default congestion control, grey TCP with CUBIC. The last position on the loss axis is the bursty (Gilbert-Elliott) run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::table::{Row, Samples, quantile};

type Failure = Box<dyn std::error::Error>;
/// A column of a figure: its name and how to read it from a row.
type Metric = (&'static str, fn(&Row) -> f64);
/// A point of a series: loss position, value, whether it is the bursty run.
type Point = (i32, f64, bool);
/// One contestant's points.
type Series<'a> = (&'a str, Vec<Point>);

/// How a contestant is drawn.
struct Look {
    color: RGBColor,
    dashed: bool,
    triangle: bool,
}

fn look(contestant: &str) -> Look {
    let mode = contestant.split(' ').nth(1).unwrap_or("");
    let color = match mode {
        "normal" => RGBColor(31, 119, 180),
        "fast" => RGBColor(44, 160, 44),
        "fast2" => RGBColor(255, 127, 14),
        "fast3" => RGBColor(214, 39, 40),
        "cubic" => RGBColor(120, 120, 120),
        _ => BLACK,
    };
    let kcpgo = contestant.starts_with("kcp-go");
    Look {
        color,
        dashed: kcpgo,
        triangle: kcpgo,
    }
}

/// Labels series `$drawn` as `$name` with a legend entry: a short line in the
/// contestant's colour, broken for kcp-go, with its marker in the middle.
macro_rules! legend {
    ($drawn:expr, $name:expr, $lk:expr) => {{
        let style = ShapeStyle::from(&$lk.color).stroke_width(2);
        let drawn = $drawn.label($name);
        if $lk.dashed {
            drawn.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (6, 0)], style)
                    + PathElement::new(vec![(14, 0), (20, 0)], style)
                    + TriangleMarker::new((10, 0), 4, style.filled())
            });
        } else {
            drawn.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (20, 0)], style)
                    + Circle::new((10, 0), 3, style.filled())
            });
        }
    }};
}

/// An axis label with as many digits as its size needs.
fn number(v: f64) -> String {
    if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The loss positions of a path: the random rates in order, then the bursty run(s).
#[derive(Clone)]
struct Axis {
    /// `(loss, bursty)` per position.
    points: Vec<(f64, bool)>,
}

impl Axis {
    fn of(rows: &[&Row]) -> Axis {
        let mut random = BTreeSet::new();
        let mut bursty = BTreeSet::new();
        for r in rows {
            let key = (r.loss * 1e6).round() as u64;
            if r.loss_model == "bursty" {
                bursty.insert(key);
            } else {
                random.insert(key);
            }
        }
        let points = random
            .into_iter()
            .map(|k| (k as f64 / 1e6, false))
            .chain(bursty.into_iter().map(|k| (k as f64 / 1e6, true)))
            .collect();
        Axis { points }
    }

    fn position(&self, r: &Row) -> Option<i32> {
        let bursty = r.loss_model == "bursty";
        self.points
            .iter()
            .position(|&(l, b)| b == bursty && (l - r.loss).abs() < 1e-9)
            .map(|i| i as i32)
    }

    fn label(&self, i: i32) -> String {
        match usize::try_from(i).ok().and_then(|i| self.points.get(i)) {
            Some(&(l, false)) => format!("{}", l * 100.0),
            Some(&(l, true)) => format!("{} bursty", l * 100.0),
            None => String::new(),
        }
    }
}

/// Draws every figure for every path in `rows` into `dir`; returns the files written.
pub(crate) fn draw_all(
    dir: &Path,
    rows: &[Row],
    samples: &[Samples],
    cdf_loss: f64,
) -> Result<Vec<PathBuf>, Failure> {
    let paths: BTreeSet<(u32, u32)> = rows.iter().map(|r| (r.delay_ms, r.rate_mbit)).collect();
    let mut written = Vec::new();
    for (delay, rate) in paths {
        let here: Vec<&Row> = rows
            .iter()
            .filter(|r| r.delay_ms == delay && r.rate_mbit == rate)
            .collect();
        let tag = format!("d{delay}-r{rate}");
        let title = format!("{delay} ms one way, {rate} Mbit/s each way");
        let of =
            |w: &str| -> Vec<&Row> { here.iter().copied().filter(|r| r.workload == w).collect() };
        let game = of("game");
        if !game.is_empty() {
            let f = dir.join(format!("game-rtt-{tag}.svg"));
            let metrics: [Metric; 4] = [
                ("p50", |r| r.p50_ms),
                ("p99", |r| r.p99_ms),
                ("p99.9", |r| r.p999_ms),
                ("max", |r| r.max_ms),
            ];
            against_loss(
                &f,
                &format!("Game round trip (ms), 50 Hz both ways; {title}"),
                &game,
                &metrics,
                true,
            )?;
            written.push(f);
        }
        let request = of("request");
        if !request.is_empty() {
            let f = dir.join(format!("request-time-{tag}.svg"));
            let metrics: [Metric; 3] = [
                ("p50", |r| r.p50_ms),
                ("p99", |r| r.p99_ms),
                ("max", |r| r.max_ms),
            ];
            against_loss(
                &f,
                &format!("64 KiB response completion (ms); {title}"),
                &request,
                &metrics,
                true,
            )?;
            written.push(f);
        }
        let bulk = of("bulk");
        if !bulk.is_empty() {
            let f = dir.join(format!("goodput-{tag}.svg"));
            let metrics: [Metric; 1] = [("goodput", |r| r.goodput_mbit)];
            against_loss(
                &f,
                &format!("Bulk goodput (Mbit/s); {title}"),
                &bulk,
                &metrics,
                false,
            )?;
            written.push(f);
            let f = dir.join(format!("overhead-{tag}.svg"));
            let metrics: [Metric; 1] = [("wire / delivered", |r| r.overhead)];
            against_loss(
                &f,
                &format!(
                    "Bulk: bytes on the wire per byte delivered (both ways, IP headers included); {title}"
                ),
                &bulk,
                &metrics,
                false,
            )?;
            written.push(f);
        }
        let cdf: Vec<&Samples> = samples
            .iter()
            .filter(|s| {
                s.workload == "game"
                    && s.delay_ms == delay
                    && s.rate_mbit == rate
                    && s.loss_model == "random"
                    && (s.loss - cdf_loss).abs() < 1e-9
            })
            .collect();
        if !cdf.is_empty() {
            let f = dir.join(format!("rtt-cdf-{tag}.svg"));
            rtt_cdf(
                &f,
                &format!(
                    "Game round trips at {}% random loss; {title}",
                    cdf_loss * 100.0
                ),
                &cdf,
            )?;
            written.push(f);
        }
    }
    Ok(written)
}

/// The range a log axis needs for `values` (positive, finite ones).
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 1.0..10.0;
    }
    (lo / 1.3)..(hi * 1.3)
}

fn linear_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.08).max(0.05);
    (lo - pad).max(0.0)..(hi + pad)
}

/// Contestant names in a stable order: ours, kcp-go, tcp; modes in order.
fn contestants(rows: &[&Row], fec: bool) -> Vec<String> {
    let order = |c: &str| {
        let imp = if c.starts_with("ours") {
            0
        } else if c.starts_with("kcp-go") {
            1
        } else {
            2
        };
        let mode = ["normal", "fast", "fast2", "fast3"]
            .iter()
            .position(|m| c.split(' ').nth(1) == Some(*m))
            .unwrap_or(9);
        (imp, mode)
    };
    let mut names: Vec<String> = rows
        .iter()
        .filter(|r| r.fec == fec || r.imp == "tcp")
        .map(|r| r.contestant.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    names.sort_by_key(|c| order(c));
    names
}

/// One figure: a row per FEC setting present, a column per metric; x = loss position.
fn against_loss(
    file: &Path,
    title: &str,
    rows: &[&Row],
    metrics: &[Metric],
    log_y: bool,
) -> Result<(), Failure> {
    let fecs: Vec<bool> = [false, true]
        .into_iter()
        .filter(|&f| rows.iter().any(|r| r.fec == f && r.imp != "tcp"))
        .collect();
    let fecs = if fecs.is_empty() { vec![false] } else { fecs };
    let axis = Axis::of(rows);
    let (w, h) = (
        (560 * metrics.len()).max(900) as u32,
        (60 + 460 * fecs.len()) as u32,
    );
    let root = SVGBackend::new(file, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((fecs.len(), metrics.len()));
    for (i, fec) in fecs.iter().enumerate() {
        let names = contestants(rows, *fec);
        for (j, (metric, value)) in metrics.iter().enumerate() {
            let area = &panels[i * metrics.len() + j];
            let caption = format!("{metric}, FEC {}", if *fec { "10/3" } else { "off" });
            let relevant: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|r| names.contains(&r.contestant))
                .collect();
            let values = relevant.iter().map(|r| value(r));
            let series = names.iter().map(|name| {
                let pts: Vec<Point> = relevant
                    .iter()
                    .filter(|r| &r.contestant == name)
                    .filter_map(|r| Some((axis.position(r)?, value(r), r.loss_model == "bursty")))
                    .filter(|(_, v, _)| v.is_finite() && (!log_y || *v > 0.0))
                    .collect();
                (name.as_str(), pts)
            });
            let series: Vec<Series<'_>> = series.collect();
            let n = axis.points.len() as i32;
            if log_y {
                let y = log_range(values);
                let mut chart = ChartBuilder::on(area)
                    .caption(&caption, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(36)
                    .y_label_area_size(56)
                    .build_cartesian_2d(-1..n, y.log_scale())?;
                draw_series(&mut chart, &axis, &series, j == 0)?;
            } else {
                let y = linear_range(values);
                let mut chart = ChartBuilder::on(area)
                    .caption(&caption, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(36)
                    .y_label_area_size(56)
                    .build_cartesian_2d(-1..n, y)?;
                draw_series(&mut chart, &axis, &series, j == 0)?;
            }
        }
    }
    root.present()?;
    Ok(())
}

fn draw_series<'a, Y>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<plotters::coord::types::RangedCoordi32, Y>,
    >,
    axis: &Axis,
    series: &[Series<'_>],
    legend: bool,
) -> Result<(), Failure>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let n = axis.points.len();
    chart
        .configure_mesh()
        .x_labels(n + 2)
        .x_label_formatter(&|i| axis.label(*i))
        .y_label_formatter(&|v| number(*v))
        .x_desc("loss each way (%)")
        .light_line_style(RGBColor(240, 240, 240))
        .max_light_lines(2)
        .draw()?;
    for (name, pts) in series {
        let lk = look(name);
        let style = ShapeStyle::from(&lk.color).stroke_width(2);
        // The random-loss points joined by a line; the bursty point on its own.
        let line: Vec<(i32, f64)> = pts.iter().filter(|p| !p.2).map(|p| (p.0, p.1)).collect();
        let drawn = if lk.dashed {
            chart.draw_series(DashedLineSeries::new(line.clone(), 6, 4, style))?
        } else {
            chart.draw_series(LineSeries::new(line.clone(), style))?
        };
        if legend {
            legend!(drawn, *name, lk);
        }
        let all: Vec<(i32, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
        if lk.triangle {
            chart.draw_series(
                all.iter()
                    .map(|&p| TriangleMarker::new(p, 4, ShapeStyle::from(&lk.color).filled())),
            )?;
        } else {
            chart.draw_series(
                all.iter()
                    .map(|&p| Circle::new(p, 3, ShapeStyle::from(&lk.color).filled())),
            )?;
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    Ok(())
}

/// The CDF of round trips, one line per contestant, a panel per FEC setting.
fn rtt_cdf(file: &Path, title: &str, samples: &[&Samples]) -> Result<(), Failure> {
    let fecs: Vec<bool> = [false, true]
        .into_iter()
        .filter(|&f| {
            samples
                .iter()
                .any(|s| s.contestant.ends_with(" fec") == f && s.contestant != "tcp")
        })
        .collect();
    let fecs = if fecs.is_empty() { vec![false] } else { fecs };
    let root = SVGBackend::new(file, ((640 * fecs.len()) as u32, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, fecs.len()));
    let x = log_range(samples.iter().flat_map(|s| s.values.iter().copied()));
    for (area, fec) in panels.iter().zip(&fecs) {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("FEC {}", if *fec { "10/3" } else { "off" }),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x.clone().log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| number(*v))
            .x_desc("round trip (ms)")
            .y_desc("fraction of round trips at most x")
            .light_line_style(RGBColor(235, 235, 235))
            .max_light_lines(2)
            .draw()?;
        let mut mine: Vec<&&Samples> = samples
            .iter()
            .filter(|s| s.contestant == "tcp" || s.contestant.ends_with(" fec") == *fec)
            .collect();
        mine.sort_by(|a, b| a.contestant.cmp(&b.contestant));
        for s in mine {
            let mut v = s.values.clone();
            v.sort_by(f64::total_cmp);
            if v.is_empty() {
                continue;
            }
            // 1,000 quantiles and the largest value are plenty for the eye.
            let pts: Vec<(f64, f64)> = (0..=1000)
                .map(|i| {
                    let q = f64::from(i) / 1000.0;
                    (quantile(&v, q).max(x.start), q)
                })
                .collect();
            let lk = look(&s.contestant);
            let style = ShapeStyle::from(&lk.color).stroke_width(2);
            let drawn = if lk.dashed {
                chart.draw_series(DashedLineSeries::new(pts, 6, 4, style))?
            } else {
                chart.draw_series(LineSeries::new(pts, style))?
            };
            legend!(drawn, s.contestant.as_str(), lk);
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
