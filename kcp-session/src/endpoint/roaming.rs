//! Roaming ([`Config::roaming`](crate::Config::roaming)): sessions found by conversation id
//! as well as by address, and a session that follows its peer to a new address once that
//! address answers a challenge only its receiver can answer (see the session's
//! `roaming.rs`). Until then datagrams from the new address reach the session's KCP, as
//! replays from the old one would, but the session keeps sending to the old address.

use alloc::collections::BTreeMap;
use core::net::SocketAddr;

use super::{DropReason, Endpoint, Handle, slot_entry};
use crate::session::{InputError, conv_and_sn};

/// The address maps and the pending moves.
#[derive(Debug, Default)]
pub(super) struct Roaming {
    /// Every session held, by conversation id.
    pub(super) by_conv: BTreeMap<u32, Handle>,
    /// How many sessions each address holds.
    per_addr: BTreeMap<SocketAddr, u32>,
    /// Per session, the address its datagrams last came from other than its own.
    candidates: BTreeMap<Handle, Candidate>,
}

/// A new address of a session's peer, not yet proven.
#[derive(Debug)]
struct Candidate {
    addr: SocketAddr,
    /// Bytes received from it and sent to it (challenges): at most the amplification
    /// limit times what it sent go there.
    received: u64,
    sent: u64,
    /// When the last challenge went (extended clock).
    last: Option<u64>,
}

impl Endpoint {
    /// Finds the session for a payload from `remote` when roaming: by conversation id
    /// (any address), or by address for FEC parity, which carries no id; a new
    /// conversation opens a session by the listener rules, beside any other session of
    /// that address (never replacing one).
    pub(super) fn route_roaming(
        &mut self,
        now: u32,
        remote: SocketAddr,
        payload: &[u8],
    ) -> Result<(Handle, bool), DropReason> {
        let Some((conv, _)) = conv_and_sn(payload) else {
            // FEC parity names no conversation: it goes to the session of its address only
            // if there is one. Decoding a group with another session's parity would
            // rebuild garbage that can pass for data (the conversation ids of an even
            // number of shards cancel out in the XOR), so with several sessions at one
            // address, parity is dropped and those sessions recover no loss by FEC.
            if self.roaming.per_addr.get(&remote) != Some(&1) {
                return Err(DropReason::NoConversation);
            }
            return self
                .by_addr
                .get(&remote)
                .map(|&h| (h, false))
                .ok_or(DropReason::NoConversation);
        };
        if let Some(&h) = self.roaming.by_conv.get(&conv) {
            return Ok((h, false));
        }
        self.check_replay(conv)?;
        self.admit(remote, 0)?;
        Ok((self.open_incoming(now, remote, conv), true))
    }

    /// Gives session `h` a datagram from `from`, which is not its peer's address: feeds
    /// its KCP (without counting it toward the old address's proof), moves the session if
    /// the datagram answers a challenge sent to `from`, and otherwise sends `from` a
    /// challenge: at most one per flush interval, and at most the amplification limit
    /// (3 without one) times the bytes `from` sent.
    pub(super) fn input_elsewhere(
        &mut self,
        now: u32,
        h: Handle,
        from: SocketAddr,
        wire_len: usize,
        payload: &[u8],
    ) -> Result<(), InputError> {
        let cfg = self.settings.config();
        let limit = u64::from(cfg.amplification_limit.unwrap_or(3));
        let interval = u64::from(cfg.mode.interval());
        let now64 = self.clock.now;
        let c = self.roaming.candidates.entry(h).or_insert(Candidate {
            addr: from,
            received: 0,
            sent: 0,
            last: None,
        });
        if c.addr != from {
            // Another new address: only the latest one can be proven.
            *c = Candidate {
                addr: from,
                received: 0,
                sent: 0,
                last: None,
            };
        }
        c.received += wire_len as u64;
        let Some(entry) = slot_entry(&mut self.slots, h) else {
            return Err(InputError::Ended);
        };
        let answered = entry.session.answers_challenge(payload);
        let result = entry.session.input_elsewhere(now, wire_len, payload);
        if answered && result.is_ok() {
            self.move_session(h, from);
            return result;
        }
        let due = c.last.is_none_or(|t| now64 >= t + interval);
        if due && !entry.session.state().is_ended() {
            let challenge = entry.session.roaming_challenge(now);
            if c.sent + challenge.len() as u64 <= c.received.saturating_mul(limit) {
                c.sent += challenge.len() as u64;
                c.last = Some(now64);
                self.out.push(from, &challenge);
                self.stats.challenges += 1;
            }
        }
        result
    }

    /// Session `h`'s peer proved it receives at `to`: the session sends there from now.
    fn move_session(&mut self, h: Handle, to: SocketAddr) {
        self.roaming.candidates.remove(&h);
        let Some(entry) = slot_entry(&mut self.slots, h) else {
            return;
        };
        let from = core::mem::replace(&mut entry.remote, to);
        entry.session.moved();
        let passive = entry.passive;
        if self.by_addr.get(&from) == Some(&h) {
            self.by_addr.remove(&from);
        }
        self.by_addr.insert(to, h);
        super::decrement(&mut self.roaming.per_addr, &from);
        *self.roaming.per_addr.entry(to).or_default() += 1;
        if passive && from.ip() != to.ip() {
            super::decrement(&mut self.per_ip, &from.ip());
            *self.per_ip.entry(to.ip()).or_default() += 1;
        }
        self.stats.roamed += 1;
        self.mark_dirty(h);
    }

    /// Notes a new session `h` of conversation `conv` at `remote`.
    pub(super) fn note_roaming(&mut self, h: Handle, conv: u32, remote: SocketAddr) {
        self.roaming.by_conv.insert(conv, h);
        *self.roaming.per_addr.entry(remote).or_default() += 1;
    }

    /// Forgets session `h` of conversation `conv` at `remote` in the roaming maps (it
    /// ended).
    pub(super) fn forget_roaming(&mut self, h: Handle, conv: u32, remote: SocketAddr) {
        self.roaming.candidates.remove(&h);
        if self.roaming.by_conv.get(&conv) == Some(&h) {
            self.roaming.by_conv.remove(&conv);
            super::decrement(&mut self.roaming.per_addr, &remote);
        }
    }
}
