//! When a session's input or timers are worth an [`Event::Progress`](super::Event): only
//! when something the application can act on changed.

use crate::session::{Session, State};

/// What the application can act on: data delivered in order (the receive queue), the send
/// window (acknowledged data, what waits), datagrams received, the state, and whether the
/// peer answered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    rcv_nxt: u32,
    datagrams: u64,
    snd_una: u32,
    wait_snd: usize,
    state: State,
    confirmed: bool,
}

/// The session's mark now: one `Progress` is due when it changes.
pub(super) fn mark(s: &Session) -> Mark {
    let k = s.kcp();
    Mark {
        rcv_nxt: k.rcv_nxt(),
        datagrams: s.datagram_stats().received,
        snd_una: k.snd_una(),
        wait_snd: k.wait_snd(),
        state: s.state(),
        confirmed: s.is_confirmed(),
    }
}
