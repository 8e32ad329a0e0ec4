//! A `no_std`, clock-injected, byte-exact port of ikcp 1.7.1.
#![no_std]
#![forbid(unsafe_code)]
