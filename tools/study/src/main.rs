//! The latency study: KCP (ours and kcp-go 5.6.1, each mode, FEC off and 10/3) against TCP
//! on the same emulated link, over a grid of loss rates, delays and bandwidths, with three
//! workloads: game traffic (round trips of small messages at 50 Hz both ways), a bulk
//! transfer (goodput and bytes on the wire per byte delivered) and request/response
//! (completion time of 64 KiB responses). Writes `study.csv`, `study-samples.csv` and SVG
//! plots.
//!
//! ```text
//! cargo run --release -p kcp-study            # the default subset
//! cargo run --release -p kcp-study -- --full  # the whole grid (hours)
//! ```
//!
//! Linux, as root: every measurement gets a fresh pair of network namespaces joined by
//! kcp-testkit's emulator (TUN devices and a forwarder), so KCP and TCP cross the same
//! path. The kcp-go contestant is the `peers/session` program (the `peers/` Go module,
//! kcp-go 5.6.1, see `scripts/setup.sh`). Every random decision of the link comes from `--seed`, the
//! same for every contestant on the same path and workload.

mod contest;
mod plot;
mod proto;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use contest::{Cell, Contestant, Impl, PathShape, Sizes, Workload};
use table::{Row, Samples};

/// KCP (ours and kcp-go) against TCP on the same emulated link: latency, goodput and
/// bandwidth cost under loss, as CSV and SVG plots.
#[derive(Parser, Debug)]
#[command(name = "study")]
struct Args {
    /// Run the whole grid: every contestant, loss 0/1/5/10/20/30% and bursty, one-way
    /// delay 10/50/150 ms, 10 and 100 Mbit/s, longer workloads (several hours).
    #[arg(long)]
    full: bool,
    /// Random loss rates each way, in percent [default: 0,1,5,10,20,30].
    #[arg(long, value_delimiter = ',')]
    loss: Option<Vec<f64>>,
    /// Mean loss (percent) of the bursty (Gilbert-Elliott) run; a negative value skips it.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    bursty: f64,
    /// Mean length of a loss burst, in packets.
    #[arg(long, default_value_t = 4.0)]
    burst_len: f64,
    /// One-way delays in ms [default: 50; --full: 10,50,150].
    #[arg(long, value_delimiter = ',')]
    delay: Option<Vec<u32>>,
    /// Bandwidth caps in Mbit/s each way [default: 10; --full: 10,100].
    #[arg(long, value_delimiter = ',')]
    rate: Option<Vec<u32>>,
    /// Extra one-way delay, uniform in 0..=MS (order kept).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u32,
    /// Queue in front of the bandwidth cap, in ms of transmission at the cap.
    #[arg(long, default_value_t = 100)]
    buffer_ms: u32,
    /// Contestants, like `ours:fast3`, `ours:fast:bbr` (with `Config::congestion` Bbr),
    /// `kcp-go:fast:fec`, `tcp`, `tcp:cubic`, or `all`
    /// [default: fast and fast3 without FEC and fast3 with FEC 10/3 of ours and kcp-go,
    /// tcp and tcp:cubic; --full: all].
    #[arg(long, value_delimiter = ',')]
    contestants: Option<Vec<String>>,
    /// Workloads: game, bulk, request [default: all].
    #[arg(long, value_delimiter = ',')]
    workloads: Option<Vec<Workload>>,
    /// Seconds of game traffic per run [default: 6; --full: 20].
    #[arg(long)]
    game_secs: Option<f64>,
    /// MiB per bulk transfer [default: 1; --full: 4].
    #[arg(long)]
    bulk_mib: Option<f64>,
    /// 64 KiB requests per request/response run [default: 12; --full: 40].
    #[arg(long)]
    requests: Option<usize>,
    /// Longest a single run may take, in seconds.
    #[arg(long, default_value_t = 30)]
    limit_secs: u64,
    /// Runs at once, each on its own emulated link.
    #[arg(long, default_value_t = 3)]
    jobs: usize,
    /// Seed of the links' random decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The loss rate (percent, random) whose round trips the CDF plot shows.
    #[arg(long, default_value_t = 10.0)]
    cdf_loss: f64,
    /// Directory for the CSV files and plots [default: docs/study in the workspace].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only redraw the plots from the CSV files in --out.
    #[arg(long)]
    plot_only: bool,
    /// Check that our workloads and the kcp-go peer's agree (each client against the
    /// other's server over a clean emulated link), then exit.
    #[arg(long)]
    cross_check: bool,
}

impl Args {
    fn sizes(&self) -> Sizes {
        let (game, bulk, requests) = if self.full {
            (20.0, 4.0, 40)
        } else {
            (6.0, 1.0, 12)
        };
        Sizes {
            game_secs: self.game_secs.unwrap_or(game),
            game_hz: 50,
            bulk_bytes: (self.bulk_mib.unwrap_or(bulk) * 1_048_576.0) as u64,
            requests: self.requests.unwrap_or(requests),
            response_bytes: 65_536,
            limit: Duration::from_secs(self.limit_secs),
        }
    }

    /// The contestants asked for.
    fn contestants(&self) -> Result<Vec<Contestant>, String> {
        let Some(names) = &self.contestants else {
            if self.full {
                return Ok(Contestant::all());
            }
            return [
                "ours:fast",
                "ours:fast3",
                "ours:fast3:fec",
                "kcp-go:fast",
                "kcp-go:fast3",
                "kcp-go:fast3:fec",
                "tcp",
                "tcp:cubic",
            ]
            .iter()
            .map(|n| n.parse())
            .collect();
        };
        let mut who = Vec::new();
        for n in names {
            if n == "all" {
                who.extend(Contestant::all());
            } else {
                who.push(n.parse()?);
            }
        }
        Ok(who)
    }

    /// The grid, path by path, contestant by contestant.
    fn cells(&self) -> Result<Vec<Cell>, String> {
        let losses = self
            .loss
            .clone()
            .unwrap_or_else(|| vec![0.0, 1.0, 5.0, 10.0, 20.0, 30.0]);
        let delays = self.delay.clone().unwrap_or_else(|| {
            if self.full {
                vec![10, 50, 150]
            } else {
                vec![50]
            }
        });
        let rates = self
            .rate
            .clone()
            .unwrap_or_else(|| if self.full { vec![10, 100] } else { vec![10] });
        let who = self.contestants()?;
        let workloads = self
            .workloads
            .clone()
            .unwrap_or_else(|| Workload::ALL.to_vec());
        let mut shapes: Vec<(f64, Option<f64>)> =
            losses.iter().map(|&l| (l / 100.0, None)).collect();
        if self.bursty >= 0.0 {
            shapes.push((self.bursty / 100.0, Some(self.burst_len)));
        }
        let mut cells = Vec::new();
        for &rate in &rates {
            for &delay in &delays {
                for &workload in &workloads {
                    for &(loss, burst) in &shapes {
                        let path = PathShape {
                            loss,
                            burst,
                            delay_ms: delay,
                            jitter_ms: self.jitter_ms,
                            rate_mbit: rate,
                            buffer_ms: self.buffer_ms,
                        };
                        let seed = contest::mix(
                            self.seed,
                            &[
                                (loss * 1e6) as u64,
                                burst.map_or(0, |b| (b * 1e3) as u64),
                                u64::from(delay),
                                u64::from(rate),
                                workload as u64,
                            ],
                        );
                        for &c in &who {
                            cells.push(Cell {
                                who: c,
                                path,
                                workload,
                                seed,
                            });
                        }
                    }
                }
            }
        }
        Ok(cells)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.cross_check {
        return cross_check();
    }
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("docs")
            .join("study")
    });
    if let Err(e) = std::fs::create_dir_all(&out) {
        return error(format_args!("{}: {e}", out.display()));
    }
    let csv = out.join("study.csv");
    let samples_csv = out.join("study-samples.csv");
    if !args.plot_only
        && let Err(e) = run(&args, &csv, &samples_csv)
    {
        return error(e);
    }
    let rows = match table::read(&csv) {
        Ok(r) => r,
        Err(e) => return error(format_args!("{}: {e}", csv.display())),
    };
    let samples = table::read_samples(&samples_csv).unwrap_or_default();
    match plot::draw_all(&out, &rows, &samples, args.cdf_loss / 100.0) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
        }
        Err(e) => return error(format_args!("plots: {e}")),
    }
    summary(&rows);
    ExitCode::SUCCESS
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn cross_check() -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return error(e),
    };
    match contest::cross_check(&rt, &kcp_testkit::go_process::session_peer()) {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => error(format_args!("cross-check: {e}")),
    }
}

/// Runs the grid and writes the CSV files.
fn run(args: &Args, csv: &Path, samples_csv: &Path) -> Result<(), String> {
    let cells = args.cells()?;
    let sizes = args.sizes();
    if cells.is_empty() {
        return Err("the grid is empty".into());
    }
    let go_peer = if cells.iter().any(|c| c.who.imp == Impl::KcpGo) {
        // Panics with instructions when Go or kcp-go is missing.
        kcp_testkit::go_process::session_peer()
    } else {
        PathBuf::new()
    };
    let rt = Arc::new(runtime()?);
    println!(
        "study: TCP's default congestion control here is {}",
        contest::default_congestion_control()
    );
    println!(
        "study: {} runs ({} at once), game {} s at {} Hz, bulk {} bytes, {} requests of {} \
         bytes, {} s limit per run, seed {}",
        cells.len(),
        args.jobs.max(1),
        sizes.game_secs,
        sizes.game_hz,
        sizes.bulk_bytes,
        sizes.requests,
        sizes.response_bytes,
        sizes.limit.as_secs(),
        args.seed
    );
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let cells = Arc::new(cells);
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..args.jobs.max(1) {
        let (next, cells, tx, rt, sizes, go_peer) = (
            Arc::clone(&next),
            Arc::clone(&cells),
            tx.clone(),
            Arc::clone(&rt),
            sizes.clone(),
            go_peer.clone(),
        );
        workers.push(thread::spawn(move || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(cell) = cells.get(i) else { return };
                let t = Instant::now();
                let m = contest::run_cell(cell, &sizes, &rt, &go_peer);
                if tx.send((i, m, t.elapsed().as_secs_f64())).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut rows: Vec<Option<Row>> = vec![None; cells.len()];
    let mut samples = Vec::new();
    let cdf_loss = args.cdf_loss / 100.0;
    for (done, (i, m, wall)) in rx.iter().enumerate() {
        let cell = &cells[i];
        let row = Row::new(cell, &m, wall);
        println!("[{}/{}] {}", done + 1, cells.len(), describe(&row));
        if cell.workload == Workload::Game
            && cell.path.burst.is_none()
            && (cell.path.loss - cdf_loss).abs() < 1e-9
        {
            let mut values = m.samples.clone();
            values.sort_by(f64::total_cmp);
            samples.push(Samples {
                contestant: row.contestant.clone(),
                workload: row.workload.clone(),
                loss: row.loss,
                loss_model: row.loss_model.clone(),
                delay_ms: row.delay_ms,
                rate_mbit: row.rate_mbit,
                values,
            });
        }
        rows[i] = Some(row);
        // Keep what is done on disk, in grid order, so an interrupted run leaves a file.
        let so_far: Vec<Row> = rows.iter().flatten().cloned().collect();
        table::write(csv, &so_far).map_err(|e| format!("{}: {e}", csv.display()))?;
    }
    for w in workers {
        let _ = w.join();
    }
    samples.sort_by(|a, b| {
        (a.delay_ms, a.rate_mbit, &a.contestant).cmp(&(b.delay_ms, b.rate_mbit, &b.contestant))
    });
    table::write_samples(samples_csv, &samples)
        .map_err(|e| format!("{}: {e}", samples_csv.display()))?;
    println!(
        "study: {} runs in {:.0} s; {}",
        cells.len(),
        started.elapsed().as_secs_f64(),
        csv.display()
    );
    Ok(())
}

/// One line per finished run.
fn describe(r: &Row) -> String {
    let path = format!(
        "{:>4}% {:<6} {:>3} ms {:>3} Mbit/s",
        r.loss * 100.0,
        r.loss_model,
        r.delay_ms,
        r.rate_mbit
    );
    let what = match r.workload.as_str() {
        "bulk" => format!(
            "goodput {:>6.2} Mbit/s, {:.2} wire bytes per byte",
            r.goodput_mbit, r.overhead
        ),
        _ => format!(
            "p50 {:>7.1} p99 {:>7.1} p99.9 {:>7.1} max {:>7.1} ms ({} samples)",
            r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms, r.samples
        ),
    };
    let failed = if r.failure.is_empty() {
        String::new()
    } else {
        format!("  [{}]", r.failure)
    };
    format!(
        "{:<18} {:<8} {path}: {what} in {:.1} s{failed}",
        r.contestant, r.workload, r.wall_secs
    )
}

/// The headline comparison: per path and loss, game round trips of the best KCP setting
/// of ours and of kcp-go against TCP.
fn summary(rows: &[Row]) {
    let game: Vec<&Row> = rows.iter().filter(|r| r.workload == "game").collect();
    if game.is_empty() {
        return;
    }
    println!(
        "\ngame round trips (ms): mean / max; for KCP the setting with the lowest mean\n{:<28} {:>17} {:>17} {:>17}",
        "path", "ours", "kcp-go", "tcp"
    );
    let mut keys: Vec<(u32, u32, String, u64)> = game
        .iter()
        .map(|r| {
            (
                r.delay_ms,
                r.rate_mbit,
                r.loss_model.clone(),
                (r.loss * 1e6) as u64,
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    for (delay, rate, model, loss) in keys {
        let here: Vec<&&Row> = game
            .iter()
            .filter(|r| {
                r.delay_ms == delay
                    && r.rate_mbit == rate
                    && r.loss_model == model
                    && (r.loss * 1e6) as u64 == loss
            })
            .collect();
        let best = |imp: &str| -> String {
            here.iter()
                .filter(|r| r.imp == imp && r.mean_ms.is_finite())
                .min_by(|a, b| a.mean_ms.total_cmp(&b.mean_ms))
                .map_or("-".into(), |r| {
                    format!("{:.0} / {:.0} {}", r.mean_ms, r.max_ms, r.mode)
                })
        };
        println!(
            "{:<28} {:>17} {:>17} {:>17}",
            format!("{}% {model}, {delay} ms, {rate} Mbit/s", loss as f64 / 1e4),
            best("ours"),
            best("kcp-go"),
            best("tcp")
        );
    }
}

/// Prints `error: ...` on stderr; the exit code of a failed run.
fn error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
