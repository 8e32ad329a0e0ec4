//! The replay cache: conversation ids that opened a session lately, so that a recorded
//! datagram replayed from another address (or from the same one, to replace the session)
//! opens nothing.

use alloc::collections::{BTreeMap, VecDeque};

/// Conversation ids that opened a session within the window, oldest first, bounded.
#[derive(Debug, Default)]
pub(super) struct ReplayCache {
    /// When each id opened a session (extended clock, ms).
    opened: BTreeMap<u32, u64>,
    /// The same, in opening order, for expiry.
    order: VecDeque<(u64, u32)>,
}

impl ReplayCache {
    /// Whether `conv` opened a session less than `window` ms before `now`.
    pub(super) fn contains(&mut self, conv: u32, now: u64, window: u64) -> bool {
        self.expire(now, window);
        self.opened.contains_key(&conv)
    }

    /// Notes that `conv` opened a session at `now`; forgets the oldest beyond `capacity`.
    pub(super) fn insert(&mut self, conv: u32, now: u64, window: u64, capacity: usize) {
        self.expire(now, window);
        if capacity == 0 {
            return;
        }
        while self.order.len() >= capacity {
            self.pop();
        }
        self.opened.insert(conv, now);
        self.order.push_back((now, conv));
    }

    /// How many ids it holds.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    fn expire(&mut self, now: u64, window: u64) {
        while self.order.front().is_some_and(|&(t, _)| t + window <= now) {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((t, conv)) = self.order.pop_front()
            && self.opened.get(&conv) == Some(&t)
        {
            self.opened.remove(&conv);
        }
    }
}
