//! kcp-go compatible Reed-Solomon forward error correction for KCP datagrams.
//!
//! Work in progress: the encoder and decoder land with the kcp-fec issue.
#![no_std]
#![forbid(unsafe_code)]
