//! Test support for the kcp-rs workspace.
//!
//! - [`gopeer`] builds the Go programs under `peers/` against Debian's kcp-go 5.6.1, so
//!   tests can cross-check our wire format with the real peer.
//!
//! This crate is not published; the workspace's tests, benchmarks and examples use it.

pub mod gopeer;
