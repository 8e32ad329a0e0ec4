//! Test support for the kcp-rs workspace.
