//! A deterministic link simulator for protocol tests.
//!
//! Nothing here reads a clock, touches a socket or depends on a protocol crate: time is a
//! `u32` count of milliseconds that the caller passes in (it may start anywhere and wrap),
//! and every random decision comes from a seeded [`Rng`]. The same seed and the same calls
//! give the same deliveries, byte for byte, on every machine, so a failing case can be
//! replayed from its seed.
//!
//! - [`Link`] is one direction of a network path: it takes datagrams with
//!   [`send`](Link::send) and hands them back with [`poll`](Link::poll) once they are due,
//!   after delay, jitter, loss, duplication, reordering, a bandwidth limit and a queue
//!   limit configured by [`LinkConfig`].
//! - [`Pair`] joins two [`Endpoint`]s with two links and runs them on a virtual clock,
//!   jumping from event to event: use it when a test only needs "run these two peers over
//!   this path until done".
//!
//! ```
//! use kcp_testkit::sim::{Link, LinkConfig};
//!
//! let mut link = Link::new(LinkConfig::new().delay(30, 60).loss(0.1), 7);
//! link.send(1000, b"hello");
//! while let Some(t) = link.next_deadline() {
//!     let d = link.poll(t).expect("due at its deadline");
//!     assert_eq!(d, b"hello");
//!     assert!((1030..=1060).contains(&t));
//! }
//! ```
//!
//! The parts, by job: [`Rng`] (`rng.rs`), the link model (`link.rs`) and the two-endpoint
//! driver (`pair.rs`).

mod link;
mod pair;
mod rng;

pub use link::{GilbertElliott, Link, LinkConfig, LinkStats};
pub use pair::{Endpoint, Pair};
pub use rng::Rng;
