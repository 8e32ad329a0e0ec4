//! Whole messages in message mode (`Config::stream = false`): one `send_message` is one
//! `recv_message` on the other side, whatever its size up to KCP's fragment limit.

use alloc::vec::Vec;

use super::{RecvError, SendError, Session};

impl Session {
    /// The largest message [`send_message`](Session::send_message) takes: 127 segments
    /// of KCP's MSS (KCP numbers a message's fragments in one byte and ikcp refuses 128
    /// or more), about 170 KB at the default MTU. 0 in stream mode, which has no messages.
    pub fn max_message_size(&self) -> usize {
        if self.kcp.is_stream() {
            return 0;
        }
        (kcp_core::MAX_FRAGMENTS - 1) * self.kcp.mss()
    }

    /// Queues `data` as one message, delivered whole, in order and reliably, to the
    /// peer's `recv_message` (or one `Read` of a kcp-go `UDPSession` in message mode with
    /// a large enough buffer). Sends as [`send`](Session::send) does.
    ///
    /// Use it for request/response or event protocols that need boundaries; it costs
    /// nothing beyond `send`. Errors: [`SendError::NotMessageMode`] in stream mode,
    /// [`SendError::TooLarge`] beyond [`max_message_size`](Session::max_message_size),
    /// [`SendError::WouldBlock`] while the send window is full (nothing taken: retry
    /// after the next acknowledgements), and the session's end.
    pub fn send_message(&mut self, now: u32, data: &[u8]) -> Result<(), SendError> {
        if self.kcp.is_stream() {
            return Err(SendError::NotMessageMode);
        }
        if let Some(e) = self.state.send_error() {
            return Err(e);
        }
        if data.len() > self.max_message_size() {
            return Err(SendError::TooLarge);
        }
        self.send(now, data).map(drop)
    }

    /// Takes the next whole message, however large: never split, never truncated (a
    /// message that a [`recv`](Session::recv) began is completed with its rest). Empty
    /// messages are returned too. Costs one allocation of the message's size.
    ///
    /// Errors: [`RecvError::WouldBlock`] until a whole message has arrived,
    /// [`RecvError::NotMessageMode`] in stream mode, and the session's end once nothing
    /// buffered remains.
    pub fn recv_message(&mut self) -> Result<Vec<u8>, RecvError> {
        if self.kcp.is_stream() {
            return Err(RecvError::NotMessageMode);
        }
        if self.leftover_pos < self.leftover.len() {
            let rest = self.leftover.split_off(self.leftover_pos);
            self.leftover.clear();
            self.leftover_pos = 0;
            return Ok(rest);
        }
        let Ok(size) = self.kcp.peek_size() else {
            return Err(self.state.recv_error());
        };
        let was_full = self.kcp.rcv_queue_len() >= self.kcp.rcv_wnd() as usize;
        let mut message = alloc::vec![0u8; size];
        let n = self.kcp.recv(&mut message).unwrap_or(0);
        message.truncate(n);
        if was_full && self.kcp.rcv_queue_len() < self.kcp.rcv_wnd() as usize {
            self.flush_wanted = true;
        }
        Ok(message)
    }
}
