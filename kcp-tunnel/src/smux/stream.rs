//! [`Stream`]: one multiplexed stream, its reads, writes and v2 flow control.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Buf;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::config::{FRAME_COST, WRITE_QUEUE};
use super::frame::{self, Cmd, Header};
use super::state::Shared;

/// One multiplexed stream: [`AsyncRead`] + [`AsyncWrite`].
///
/// `shutdown` sends FIN (the peer reads EOF); reading goes on until the peer's FIN.
/// Dropping the stream sends FIN if it was not sent and forgets the stream: data the
/// peer still sends for it is discarded, as in Go's smux.
pub struct Stream {
    shared: Arc<Shared>,
    sid: u32,
    fin_sent: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("sid", &self.sid).finish()
    }
}

impl Stream {
    pub(super) fn new(shared: Arc<Shared>, sid: u32) -> Stream {
        Stream {
            shared,
            sid,
            fin_sent: false,
        }
    }

    /// The stream id (odd for streams the client opened).
    pub fn id(&self) -> u32 {
        self.sid
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let version = self.shared.version();
        let mut st = self.shared.lock();
        if !self.fin_sent && st.closed.is_none() {
            st.push_control(version, Cmd::Fin, self.sid);
        }
        st.remove_stream(self.sid);
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let config = shared.config;
        let version = shared.version();
        let mut st = shared.lock();
        let st = &mut *st;
        let Some(s) = st.streams.get_mut(&self.sid) else {
            return Poll::Ready(Err(st.error().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")
            })));
        };
        let mut n = 0;
        let mut frames = 0;
        while buf.remaining() > 0 {
            let Some(front) = s.recv.front_mut() else {
                break;
            };
            let m = front.len().min(buf.remaining());
            buf.put_slice(&front[..m]);
            front.advance(m);
            if front.is_empty() {
                s.recv.pop_front();
                frames += 1;
            }
            n += m;
        }
        if n > 0 {
            let mut upd = None;
            if version == 2 {
                s.num_read = s.num_read.wrapping_add(n as u32);
                s.incr = s.incr.wrapping_add(n as u32);
                if s.incr as usize >= config.max_stream_buffer / 2 || s.num_read == n as u32 {
                    upd = Some(s.num_read);
                    s.incr = 0;
                }
            }
            st.return_tokens(n + frames * FRAME_COST);
            if let Some(consumed) = upd
                && st.closed.is_none()
            {
                frame::emit_upd(
                    &mut st.queue,
                    version,
                    self.sid,
                    consumed,
                    config.max_stream_buffer as u32,
                );
                st.wake_writer();
            }
            return Poll::Ready(Ok(()));
        }
        if s.fin_received {
            return Poll::Ready(Ok(()));
        }
        s.read_waker = Some(cx.waker().clone());
        match st.error() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.fin_sent {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream shut down",
            )));
        }
        let config = self.shared.config;
        let version = self.shared.version();
        let mut st = self.shared.lock();
        let st = &mut *st;
        if let Some(e) = st.error() {
            return Poll::Ready(Err(e));
        }
        if st.queue.len() >= WRITE_QUEUE {
            st.queue_waiters.push(cx.waker().clone());
            return Poll::Pending;
        }
        let Some(s) = st.streams.get_mut(&self.sid) else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream closed",
            )));
        };
        let mut n = data.len().min(config.max_frame);
        if version == 2 {
            let inflight = s.num_written.wrapping_sub(s.peer_consumed) as i32;
            if inflight < 0 {
                st.close(
                    io::ErrorKind::InvalidData,
                    "invalid protocol: peer consumed more than sent",
                );
                return Poll::Ready(Err(st
                    .error()
                    .unwrap_or_else(|| io::ErrorKind::InvalidData.into())));
            }
            let window = i64::from(s.peer_window) - i64::from(inflight);
            if window <= 0 {
                // A peer that sent FIN may still read and update the window (smux 1.5.16
                // gives up here; waiting is what a half-closed peer needs).
                s.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            n = n.min(window as usize);
            s.num_written = s.num_written.wrapping_add(n as u32);
        }
        Header::emit(&mut st.queue, version, Cmd::Psh, n as u16, self.sid);
        st.queue.extend_from_slice(&data[..n]);
        st.wake_writer();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.fin_sent {
            self.fin_sent = true;
            let version = self.shared.version();
            let mut st = self.shared.lock();
            if st.closed.is_none() {
                st.push_control(version, Cmd::Fin, self.sid);
            }
        }
        Poll::Ready(Ok(()))
    }
}
