//! A KCP echo server and client over UDP, wire-compatible with the kcp-go peer
//! `peers/session` (`echo-server`, `echo-client`), so either side pairs with kcp-go's.
//!
//! ```text
//! echo server [--listen ADDR] [flags]
//! echo client --remote ADDR [--bytes N] [--conns K] [flags]
//! ```
//!
//! The server echoes every session it accepts until it is killed, printing
//! `listening <addr>` first and then `accepted <peer> conv=<conv>` per session. The client
//! writes `--bytes` of pseudo-random data on each of `--conns` sessions while reading the
//! echo back, checks every byte and prints one summary line (throughput, retransmissions,
//! FEC recoveries, smoothed RTT). The session flags are kcptun's, with kcptun's defaults
//! (`--crypt aes --key "it's a secrect" --mode fast --datashard 10 --parityshard 3` ...);
//! `--help` lists them. For example:
//!
//! ```text
//! cargo run --release -p kcp-examples --example echo -- server --listen 127.0.0.1:4000
//! cargo run --release -p kcp-examples --example echo -- client --remote 127.0.0.1:4000 --bytes 64M
//! ```

use std::process::ExitCode;

use kcp_examples as common;

fn main() -> ExitCode {
    common::tool_main(
        "echo",
        "echo: a KCP echo server and client (the protocol of kcp-go's peers/session echo-*)",
        common::wire::Proto::Echo,
    )
}
