//! Placeholder until this benchmark's crate lands.
#![allow(missing_docs)]
fn main() {}
