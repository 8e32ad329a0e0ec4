//! Shared helpers for the kcp-rs benchmarks (the benchmarks themselves live in `benches/`).

pub mod crypt;

/// A size or count from the environment variable `name`, or `default` when it is unset or
/// not a number: how the longer benchmarks take their sizes (`KCP_BENCH_SINK_MIB=16`).
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
