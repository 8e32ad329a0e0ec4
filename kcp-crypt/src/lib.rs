//! kcp-go and kcptun compatible packet encryption for KCP datagrams.
//!
//! Work in progress: the ciphers and the framing land with the kcp-crypt issue.
#![no_std]
#![forbid(unsafe_code)]
