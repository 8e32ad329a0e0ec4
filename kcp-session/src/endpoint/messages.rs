//! Whole messages on an endpoint's sessions: [`Session::send_message`] and
//! [`Session::recv_message`] by handle.

use alloc::vec::Vec;

use super::{Endpoint, Handle};
#[cfg(doc)]
use crate::session::Session;
use crate::session::{RecvError, SendError};

impl Endpoint {
    /// [`Session::send_message`] on session `h`: `data` goes out as one message, delivered
    /// whole. A freed handle reports [`SendError::Closed`].
    pub fn send_message(&mut self, now: u32, h: Handle, data: &[u8]) -> Result<(), SendError> {
        self.clock.extend(now);
        let entry = self.entry_mut(h).ok_or(SendError::Closed)?;
        let r = entry.session.send_message(now, data);
        self.mark_dirty(h);
        r
    }

    /// [`Session::recv_message`] on session `h`: the next whole message, however large.
    /// A freed handle reports [`RecvError::Closed`].
    pub fn recv_message(&mut self, h: Handle) -> Result<Vec<u8>, RecvError> {
        let entry = self.entry_mut(h).ok_or(RecvError::Closed)?;
        let r = entry.session.recv_message();
        // Taking a message from a full receive queue reopens the window: tell the peer.
        if entry.session.poll_due() {
            self.mark_dirty(h);
        }
        r
    }
}
