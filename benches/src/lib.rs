//! Shared helpers for the kcp-rs benchmarks (the benchmarks themselves live in `benches/`).

pub mod crypt;
