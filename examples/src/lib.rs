//! Shared pieces of the kcp-rs example programs and of `kcp-tunnel`.
//!
//! [`cli`] holds what their `clap` command lines share: Go-style single-dash flags (as
//! kcptun and kcp-go's tools accept them), byte counts with suffixes, seconds, and kcptun's
//! cipher and mode names.

pub mod cli;
pub mod payload;
pub mod tunnel;
