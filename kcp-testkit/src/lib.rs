//! Test support for the kcp-rs workspace.
//!
//! - [`alloc`] is a counting global allocator: allocations and heap bytes per thread, for
//!   tests that prove a path allocates nothing or stays within a memory bound.
//! - [`sim`] is a deterministic link simulator (virtual clock, delay, jitter, loss,
//!   duplication, reordering, bandwidth and queue limits) and a two-endpoint harness, for
//!   protocol tests of any crate; it knows nothing about KCP.
//! - `ikcp` (feature `c-ikcp`) wraps the real C ikcp 1.7.1 from the `kcp-sys` crate as a
//!   reference implementation for differential tests, examples and benchmarks.
//! - [`gopeer`] builds the Go programs of the `peers/` module (kcp-go 5.6.1, pinned in
//!   `peers/go.mod`), so tests can cross-check our wire format with the real peer.
//! - [`payload`] is the deterministic, incompressible byte stream the examples and the
//!   tunnel's tests send and check without storing it.
//! - [`goproc`] runs the kcp-go session peer (`peers/session`) as child processes in tests.
//!
//! - `netem` (feature `netem`, Linux, root) is a network emulator for real sockets: two
//!   network namespaces joined through TUN devices by a forwarder that applies delay,
//!   jitter, random or bursty loss, reordering and a bandwidth cap with a bounded queue,
//!   so TCP and UDP cross the same path; the `netem` binary wraps it for the command line.
//! - `relay` (feature `relay`) is an in-process lossy UDP relay (loss, delay, jitter,
//!   duplication, bounded queue) for tests and demos over real sockets.
//!
//! This crate is not published; the workspace's tests, benchmarks and examples use it.

pub mod alloc;
pub mod gopeer;
pub mod goproc;
#[cfg(feature = "c-ikcp")]
pub mod ikcp;
#[cfg(all(feature = "netem", target_os = "linux"))]
pub mod netem;
pub mod payload;
#[cfg(feature = "relay")]
pub mod relay;
pub mod sim;
