//! Shared pieces of the kcp-rs example programs.
