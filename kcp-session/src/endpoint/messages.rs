//! Whole messages and unreliable datagrams on an endpoint's sessions, by handle:
//! [`Session::send_message`], [`Session::recv_message`], [`Session::send_datagram`] and
//! [`Session::recv_datagram`].

use alloc::vec::Vec;

use super::{Endpoint, Handle};
#[cfg(doc)]
use crate::session::Session;
use crate::session::{DatagramError, RecvError, SendError, State};

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

    /// [`Session::send_datagram`] on session `h`: one unreliable datagram on kcp-go's
    /// out-of-band wire, out at the next [`poll_transmit`](Endpoint::poll_transmit). A
    /// freed handle reports the session closed.
    pub fn send_datagram(&mut self, now: u32, h: Handle, data: &[u8]) -> Result<(), DatagramError> {
        self.clock.extend(now);
        let entry = self
            .entry_mut(h)
            .ok_or(DatagramError::Ended(State::Closed))?;
        entry.session.send_datagram(data)?;
        self.mark_dirty(h);
        Ok(())
    }

    /// [`Session::recv_datagram`] on session `h`: the oldest datagram received, if any.
    /// A datagram's arrival is reported as [`Event::Progress`](crate::Event::Progress).
    pub fn recv_datagram(&mut self, h: Handle) -> Option<Vec<u8>> {
        self.entry_mut(h)?.session.recv_datagram()
    }
}
