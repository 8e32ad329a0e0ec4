//! Liveness without a handshake: confirming that a dialed peer answers, and keeping an
//! idle session alive, with KCP's own window probe.
//!
//! KCP has no handshake and no keepalive, but every implementation (ikcp, kcp-go, and so
//! kcptun) answers a window probe (WASK) with a window announcement (WINS) at its next
//! flush, and delivers neither to its application. A session that wants to know whether
//! its peer is there sends a WASK and waits for a WINS of its conversation (or anything
//! that moves the conversation: new data, an acknowledgement of new data).
//!
//! A WINS carries nothing of ours, so someone who recorded one could replay it to keep a
//! session with a vanished peer alive for a while; with a cipher only the peer can make
//! one, and without a cipher a forger who knows the conversation id can do more harm than
//! that. Only a WINS that arrives while a probe is outstanding counts.

use kcp_fec::{FecPacket, PacketKind};

use crate::config::{Settings, millis};

use super::proof;

/// KCP's window-announcement command.
const CMD_WINS: u8 = 84;

/// The gap between probes while confirming a dialed session, ms.
pub(super) const CONFIRM_RETRY: u32 = 250;

/// Keepalive probes sent after `K`, `2K` of silence; the peer is dead after `3K`.
pub(super) const KEEPALIVE_PROBES: u32 = 2;

/// The probe schedule of one session.
#[derive(Debug)]
pub(super) struct Liveness {
    /// The keepalive interval, ms (`Config::keepalive`).
    keepalive: Option<u32>,
    /// Whether anything has been heard from the peer (see the module docs).
    heard: bool,
    /// While confirming: when to give up if nothing is heard.
    confirm_by: Option<u32>,
    /// When the next confirmation probe goes, while confirming.
    confirm_next: u32,
    /// A probe went and no answer has arrived since.
    outstanding: bool,
    /// The time of hearing from the peer that keepalive probes count from, and how many
    /// went since.
    base: u32,
    sent: u32,
}

/// What [`Liveness::poll`] wants done.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    Nothing,
    Probe,
    Dead,
}

impl Liveness {
    pub(super) fn new(settings: &Settings, now: u32) -> Liveness {
        Liveness {
            keepalive: settings.config().keepalive.map(millis),
            heard: false,
            confirm_by: None,
            confirm_next: now,
            outstanding: false,
            base: now,
            sent: 0,
        }
    }

    /// Starts confirming: a probe at the next poll and every [`CONFIRM_RETRY`] ms until
    /// the peer is heard; dead at `now + timeout` otherwise. Nothing to do once heard.
    pub(super) fn confirm(&mut self, now: u32, timeout: u32) {
        if !self.heard {
            self.confirm_by = Some(now.wrapping_add(timeout));
            self.confirm_next = now;
        }
    }

    pub(super) fn is_heard(&self) -> bool {
        self.heard
    }

    /// Whether an answer to a probe is awaited (so WINS segments must be looked for).
    pub(super) fn awaits_answer(&self) -> bool {
        self.outstanding
    }

    /// Whether the datagram payload `payload` (crypto layer removed) carries a window
    /// announcement of conversation `conv`. A scan of the segment headers.
    pub(super) fn is_answer(payload: &[u8], conv: u32) -> bool {
        let frame = match kcp_fec::classify(payload) {
            PacketKind::Kcp => Some(payload),
            _ => FecPacket::new_checked(payload).ok().and_then(|p| p.frame()),
        };
        frame.is_some_and(|f| proof::segments(f).any(|(c, cmd, _)| c == conv && cmd == CMD_WINS))
    }

    /// The peer was heard at `now` (the caller moved its idle clock there too).
    pub(super) fn heard(&mut self, now: u32) {
        self.heard = true;
        self.confirm_by = None;
        self.outstanding = false;
        self.base = now;
        self.sent = 0;
    }

    /// The next time [`poll`](Liveness::poll) has something to do, if any.
    pub(super) fn deadline(&self) -> Option<u32> {
        let confirm = self
            .confirm_by
            .map(|by| earlier(self.confirm_next, self.confirm_next, by));
        let keepalive = self
            .keepalive
            .map(|k| self.base.wrapping_add(k.saturating_mul(self.sent + 1)));
        match (confirm, keepalive) {
            (Some(a), Some(b)) => Some(earlier(a, a, b)),
            (a, b) => a.or(b),
        }
    }

    /// What is due at `now`: a probe to send, the peer declared gone, or nothing.
    pub(super) fn poll(&mut self, now: u32) -> Due {
        let reached = |t: u32| now.wrapping_sub(t) as i32 >= 0;
        if let Some(by) = self.confirm_by {
            if reached(by) {
                return Due::Dead;
            }
            if reached(self.confirm_next) {
                self.confirm_next = now.wrapping_add(CONFIRM_RETRY);
                self.outstanding = true;
                return Due::Probe;
            }
        }
        if let Some(k) = self.keepalive {
            let next = self.base.wrapping_add(k.saturating_mul(self.sent + 1));
            if reached(next) {
                if self.sent >= KEEPALIVE_PROBES {
                    return Due::Dead;
                }
                self.sent += 1;
                self.outstanding = true;
                return Due::Probe;
            }
        }
        Due::Nothing
    }
}

/// The earlier of `a` and `b` on the wrapping clock, seen from `now`.
pub(super) fn earlier(now: u32, a: u32, b: u32) -> u32 {
    if (a.wrapping_sub(now) as i32) <= (b.wrapping_sub(now) as i32) {
        a
    } else {
        b
    }
}
