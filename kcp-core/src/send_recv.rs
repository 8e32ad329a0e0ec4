//! The application side: fragmenting messages into the send queue (`ikcp_send`) and
//! reassembling them from the receive queue (`ikcp_recv`, `ikcp_peeksize`).

use crate::MAX_FRAGMENTS;
use crate::error::{RecvError, SendError};
use crate::kcp::{ASK_TELL, Kcp};
use crate::segment::Segment;

impl Kcp {
    /// Queues a message for transmission (`ikcp_send`) and returns the bytes queued.
    ///
    /// Nothing is transmitted here: the next [`update`](Kcp::update) or
    /// [`flush`](Kcp::flush) does that, as the windows allow. In message mode the message
    /// is split into at most 127 segments of [`mss`](Kcp::mss) bytes (an empty message is
    /// one empty segment). In stream mode the bytes first top up the last queued segment,
    /// and a send too large for 127 more segments queues what fit and returns that count.
    ///
    /// The send queue is not bounded: watch [`wait_snd`](Kcp::wait_snd) to apply
    /// back-pressure. Costs one copy of the data, into recycled buffers.
    pub fn send(&mut self, mut data: &[u8]) -> Result<usize, SendError> {
        let mss = self.mss;
        let mut sent = 0;
        if self.stream {
            if let Some(last) = self.snd_queue.back_mut()
                && last.data.len() < mss
            {
                let extend = data.len().min(mss - last.data.len());
                last.data.extend_from_slice(&data[..extend]);
                last.frg = 0;
                data = &data[extend..];
                sent = extend;
            }
            if data.is_empty() {
                return Ok(sent);
            }
        }

        let count = if data.len() <= mss {
            1
        } else {
            data.len().div_ceil(mss)
        };
        if count >= MAX_FRAGMENTS {
            return if self.stream && sent > 0 {
                Ok(sent)
            } else {
                Err(SendError::TooLarge)
            };
        }

        for i in 0..count {
            let size = data.len().min(mss);
            let mut buf = self.take_buffer();
            buf.extend_from_slice(&data[..size]);
            let mut seg = Segment::new(buf);
            seg.frg = if self.stream {
                0
            } else {
                (count - i - 1) as u8
            };
            self.snd_queue.push_back(seg);
            data = &data[size..];
            sent += size;
        }
        Ok(sent)
    }

    /// Takes the next complete message into `buf` and returns its length (`ikcp_recv`).
    ///
    /// In stream mode every segment is its own message, so `buf` should hold at least
    /// [`mss`](Kcp::mss) bytes. When `buf` is too small nothing is consumed; see
    /// [`peek_size`](Kcp::peek_size).
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        self.recv_inner(buf, false)
    }

    /// Copies the next complete message into `buf` without consuming it (`ikcp_recv` with
    /// a negative length). Like ikcp, it still moves newly in-order segments into the
    /// receive queue.
    pub fn peek(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        self.recv_inner(buf, true)
    }

    /// The size of the next complete message (`ikcp_peeksize`): use it to size the buffer
    /// for [`recv`](Kcp::recv).
    pub fn peek_size(&self) -> Result<usize, RecvError> {
        let head = self.rcv_queue.front().ok_or(RecvError::Empty)?;
        if head.frg == 0 {
            return Ok(head.data.len());
        }
        if self.rcv_queue.len() < usize::from(head.frg) + 1 {
            return Err(RecvError::Incomplete);
        }
        let mut length = 0;
        for seg in &self.rcv_queue {
            length += seg.data.len();
            if seg.frg == 0 {
                break;
            }
        }
        Ok(length)
    }

    fn recv_inner(&mut self, buf: &mut [u8], peek: bool) -> Result<usize, RecvError> {
        if self.rcv_queue.is_empty() {
            return Err(RecvError::Empty);
        }
        let size = self.peek_size().map_err(|_| RecvError::Incomplete)?;
        if size > buf.len() {
            return Err(RecvError::BufferTooSmall);
        }
        let recover = self.rcv_queue.len() >= self.rcv_wnd as usize;

        // Copy (and unless peeking, release) segments up to the one with frg == 0.
        let mut len = 0;
        if peek {
            for seg in &self.rcv_queue {
                buf[len..len + seg.data.len()].copy_from_slice(&seg.data);
                len += seg.data.len();
                if seg.frg == 0 {
                    break;
                }
            }
        } else {
            while let Some(seg) = self.rcv_queue.pop_front() {
                buf[len..len + seg.data.len()].copy_from_slice(&seg.data);
                len += seg.data.len();
                let last = seg.frg == 0;
                self.recycle(seg.data);
                if last {
                    break;
                }
            }
        }
        debug_assert_eq!(len, size);

        self.move_to_rcv_queue();

        // Fast recover: the queue was full and has room again; tell the peer next flush.
        if self.rcv_queue.len() < self.rcv_wnd as usize && recover {
            self.probe |= ASK_TELL;
        }
        Ok(len)
    }

    /// Moves segments that became in order from the receive buffer to the receive queue,
    /// while the receive window has room.
    pub(crate) fn move_to_rcv_queue(&mut self) {
        while let Some(seg) = self.rcv_buf.front() {
            if seg.sn != self.rcv_nxt || self.rcv_queue.len() >= self.rcv_wnd as usize {
                break;
            }
            if let Some(seg) = self.rcv_buf.pop_front() {
                self.rcv_queue.push_back(seg);
            }
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
        }
    }
}
