//! KCP sessions over UDP, wire-compatible with kcp-go and kcptun.
//!
//! Work in progress: the sans-io `Session` and the tokio front land with the kcp-session issue.
