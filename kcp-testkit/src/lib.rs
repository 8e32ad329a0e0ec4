//! Test support for the kcp-rs workspace.
//!
//! - [`counting_alloc`] is a counting global allocator: allocations and heap bytes per thread, for
//!   tests that prove a path allocates nothing or stays within a memory bound.
//! - [`sim`] is a deterministic link simulator (virtual clock, delay, jitter, loss,
//!   duplication, reordering, bandwidth and queue limits) and a two-endpoint harness, for
//!   protocol tests of any crate; it knows nothing about KCP.
//! - `ikcp` (feature `c-ikcp`) wraps the real C ikcp 1.7.1 from the `kcp-sys` crate as a
//!   reference implementation for differential tests, examples and benchmarks.
//! - [`go_peer`] builds the Go programs of the `peers/` module (kcp-go 5.6.1, pinned in
//!   `peers/go.mod`), so tests can cross-check our wire format with the real peer.
//! - [`stats`] summarises measured samples (nearest-rank quantiles, the median) for the
//!   examples, benchmarks and the study.
//! - [`payload`] is the deterministic, incompressible byte stream the examples and the
//!   tunnel's tests send and check without storing it.
//! - [`proc_stat`] reads a process's CPU time and resident memory from `/proc`, for the
//!   benchmarks that measure a peer process beside ours.
//! - [`go_process`] runs the kcp-go session peer (`peers/session`) as child processes in tests.
//!
//! - `relay` (feature `relay`) is an in-process lossy UDP relay (loss, delay, jitter,
//!   duplication, bounded queue) for tests and demos over real sockets.
//!
//! The network emulator for real sockets built on [`sim::Link`] is the `kcp-netem` crate in
//! `tools/netem`.
//!
//! This crate is not published; the workspace's tests, benchmarks and examples use it.

pub mod counting_alloc;
pub mod go_peer;
pub mod go_process;
#[cfg(feature = "c-ikcp")]
pub mod ikcp;
pub mod payload;
pub mod proc_stat;
#[cfg(feature = "relay")]
pub mod relay;
pub mod sim;
pub mod stats;
