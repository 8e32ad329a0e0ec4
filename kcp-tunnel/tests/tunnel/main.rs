//! `kcp-tunnel` against the programs a kcptun user runs today: Debian's kcptun 20210922
//! (`kcptun-client`, `kcptun-server`), shadowsocks-libev (`ss-local`, `ss-server`) with
//! simple-obfs, the `tokio_kcp` crate for `--raw`, and nginx's UDP load balancer; plus bad
//! input and back-pressure.
//!
//! Everything runs on 127.0.0.1. Each test starts its own processes and kills them (by
//! their handles) when it ends; a missing program fails the test with the package to
//! install.

mod bad_input;
mod balancer;
mod cli;
mod harness;
mod hostile;
mod kcptun;
mod qpp;
mod raw;
mod shadowsocks;
