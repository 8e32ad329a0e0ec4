//! The three tasks of a session: the writer sends what the streams queued, the reader
//! parses frames and hands data to the streams, and the keepalive pings and times out.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::config::{ACCEPT_BACKLOG, FRAME_COST, MAX_FRAME, QUEUE_LIMIT, WRITE_QUEUE};
use super::counters;
use super::frame::{self, Cmd, HEADER_LEN, Header, UPD_LEN};
use super::state::{Shared, StreamState, wait_closed};
use crate::snappy::Compressor;

/// Sends what the streams queue, in batches, until the session ends or the transport
/// fails.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    shared: Arc<Shared>,
    mut transport: W,
    mut compressor: Option<Compressor>,
) {
    let mut batch: Vec<u8> = Vec::with_capacity(WRITE_QUEUE + HEADER_LEN + MAX_FRAME);
    loop {
        let more = poll_fn(|cx| {
            let mut st = shared.lock();
            if st.closed.is_some() {
                return Poll::Ready(false);
            }
            if st.queue.is_empty() {
                st.writer_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut st.queue, &mut batch);
            for w in st.queue_waiters.drain(..) {
                w.wake();
            }
            // The reader may be waiting for queue room.
            if let Some(w) = st.reader_waker.take() {
                w.wake();
            }
            Poll::Ready(true)
        })
        .await;
        if !more {
            break;
        }
        let write = async {
            match compressor.as_mut() {
                Some(c) => match c.compress(&batch) {
                    Ok(chunks) => transport.write_all(chunks).await,
                    Err(e) => Err(e),
                },
                None => transport.write_all(&batch).await,
            }
        };
        // A write blocked on a full KCP window must not outlive the session.
        let result = tokio::select! {
            r = write => r,
            _ = wait_closed(&shared) => break,
        };
        batch.clear();
        if let Err(e) = result {
            shared
                .lock()
                .close(e.kind(), format!("transport write failed: {e}"));
            break;
        }
    }
    let _ = transport.shutdown().await;
}

/// Reads frames and dispatches them until the session ends or the transport fails.
///
/// Frames are handled only while the session has receive tokens and room in its queue
/// for the transport; otherwise the reader waits (and stops reading the transport, so the
/// peer meets KCP's closed window), as smux's `recvLoop` waits for tokens.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(shared: Arc<Shared>, mut transport: R) {
    let mut buf = BytesMut::with_capacity(128 << 10);
    let mut version = shared.version();
    let why = loop {
        let open = poll_fn(|cx| {
            let mut st = shared.lock();
            if st.closed.is_some() {
                return Poll::Ready(false);
            }
            if st.bucket > 0 && st.queue.len() < QUEUE_LIMIT {
                return Poll::Ready(true);
            }
            st.reader_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if !open {
            return;
        }
        if !shared.version_known()
            && let Some(&v) = buf.first()
        {
            // The peer's first frame tells its version (a server serving both).
            shared.learn_version(v);
            version = shared.version();
        }
        match dispatch(&shared, &mut buf, version) {
            Err(e) => {
                counters().protocol_errors.fetch_add(1, Ordering::Relaxed);
                break (io::ErrorKind::InvalidData, e.to_string());
            }
            // Out of tokens or queue room: wait for them before the rest of `buf`.
            Ok(false) => continue,
            Ok(true) => {}
        }
        if buf.capacity() - buf.len() < 32 << 10 {
            buf.reserve(64 << 10);
        }
        let read = tokio::select! {
            r = transport.read_buf(&mut buf) => r,
            _ = wait_closed(&shared) => return,
        };
        match read {
            Ok(0) => break (io::ErrorKind::UnexpectedEof, "transport ended".to_owned()),
            Ok(_) => shared.lock().data_ready = true,
            Err(e) => break (e.kind(), format!("transport read failed: {e}")),
        }
    };
    shared.lock().close(why.0, why.1);
}

/// Handles the whole frames at the front of `buf` while the session has receive tokens
/// and queue room. True when it stopped for want of bytes, false when for want of room.
fn dispatch(shared: &Shared, buf: &mut BytesMut, version: u8) -> Result<bool, frame::FrameError> {
    let config = shared.config;
    let mut st = shared.lock();
    loop {
        if st.bucket <= 0 || st.queue.len() >= QUEUE_LIMIT {
            return Ok(false);
        }
        let Some(head) = buf.get(..HEADER_LEN) else {
            return Ok(true);
        };
        let head: &[u8; HEADER_LEN] = head.try_into().unwrap_or(&[0; HEADER_LEN]);
        let h = Header::parse(head, version)?;
        let len = usize::from(h.len);
        if buf.len() < HEADER_LEN + len {
            return Ok(true);
        }
        buf.advance(HEADER_LEN);
        match h.cmd {
            Cmd::Nop => {}
            Cmd::Syn => {
                if !st.streams.contains_key(&h.sid) {
                    if st.accepts.len() >= ACCEPT_BACKLOG || st.streams.len() >= config.max_streams
                    {
                        counters().refused_streams.fetch_add(1, Ordering::Relaxed);
                        st.push_control(version, Cmd::Fin, h.sid);
                    } else {
                        st.streams.insert(h.sid, StreamState::new());
                        st.accepts.push_back(h.sid);
                        if let Some(w) = st.accept_waker.take() {
                            w.wake();
                        }
                    }
                }
            }
            Cmd::Fin => {
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    s.fin_received = true;
                    s.wake();
                }
            }
            Cmd::Psh => {
                if len == 0 {
                    continue;
                }
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    // A copy of its own: a held frame must not pin the read buffer.
                    s.recv.push_back(Bytes::copy_from_slice(&buf[..len]));
                    if let Some(w) = s.read_waker.take() {
                        w.wake();
                    }
                    st.bucket -= (len + FRAME_COST) as i64;
                } else {
                    counters()
                        .discarded_bytes
                        .fetch_add(len as u64, Ordering::Relaxed);
                }
            }
            Cmd::Upd => {
                let upd: &[u8; UPD_LEN] = buf[..UPD_LEN].try_into().unwrap_or(&[0; UPD_LEN]);
                let (consumed, window) = frame::parse_upd(upd);
                if let Some(s) = st.streams.get_mut(&h.sid) {
                    s.peer_consumed = consumed;
                    s.peer_window = window;
                    if let Some(w) = s.write_waker.take() {
                        w.wake();
                    }
                }
            }
        }
        buf.advance(len);
    }
}

/// Sends a NOP every keepalive interval; closes the session when no frame arrived for a
/// keepalive timeout while it had room to receive (smux's rule), or, while it was not
/// reading, when the liveness probe (if set) did not move either.
pub(super) async fn keepalive(shared: Arc<Shared>) {
    let config = shared.config;
    let start = tokio::time::Instant::now();
    let mut ping =
        tokio::time::interval_at(start + config.keepalive_interval, config.keepalive_interval);
    let mut check =
        tokio::time::interval_at(start + config.keepalive_timeout, config.keepalive_timeout);
    loop {
        tokio::select! {
            _ = ping.tick() => {
                let mut st = shared.lock();
                if st.closed.is_some() {
                    return;
                }
                // Detecting, a keepalive waits until the peer's version is known.
                if shared.version_known() {
                    st.push_control(shared.version(), Cmd::Nop, 0);
                }
            }
            _ = wait_closed(&shared) => return,
            _ = check.tick() => {
                let mut st = shared.lock();
                if st.closed.is_some() {
                    return;
                }
                let frames = std::mem::take(&mut st.data_ready);
                let reading = st.bucket > 0 && st.queue.len() < QUEUE_LIMIT;
                // smux's rule while reading; while not, the transport's own count (if
                // there is a probe) says whether the peer is still heard from.
                let silent = if reading {
                    true
                } else {
                    st.liveness.as_mut().is_some_and(|(probe, last)| {
                        let now = probe();
                        std::mem::replace(last, now) == now
                    })
                };
                if !frames && silent {
                    counters().keepalive_timeouts.fetch_add(1, Ordering::Relaxed);
                    st.close(io::ErrorKind::TimedOut, "smux keepalive timeout");
                    return;
                }
            }
        }
    }
}
