//! A KCP sink server and client over UDP, wire-compatible with the kcp-go peer
//! `peers/session` (`sink-server`, `sink-client`), so either side pairs with kcp-go's.
//!
//! ```text
//! sink server [--listen ADDR] [flags]
//! sink client --remote ADDR [--bytes N] [--conns K] [flags]
//! ```
//!
//! The client sends an 8-byte big-endian length L and then L bytes; the server reads them,
//! replies with the 8-byte big-endian count it read and waits for the next request on the
//! same session. The server prints `listening <addr>` first, then a line per accepted
//! session and per request served; the client checks the reply and prints one summary
//! line (throughput, retransmissions, FEC recoveries, smoothed RTT). One-way bulk
//! transfer, unlike `echo`, which moves every byte both ways. The session flags are
//! kcptun's, with kcptun's defaults; `--help` lists them. For example:
//!
//! ```text
//! cargo run --release -p kcp-examples --example sink -- server --listen 127.0.0.1:4000
//! cargo run --release -p kcp-examples --example sink -- client --remote 127.0.0.1:4000 --bytes 64M
//! ```

use std::process::ExitCode;

use kcp_examples as common;

fn main() -> ExitCode {
    common::tool_main(
        "sink",
        "sink: a KCP sink server and client (the protocol of kcp-go's peers/session sink-*)",
        common::wire::Proto::Sink,
    )
}
