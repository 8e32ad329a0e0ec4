//! Task wake-ups per MiB of bulk transfer: the reader and the writer of a stream wrapped
//! so that every wake-up of their task through the stream's waker is counted.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Counts the wake-ups that reach the task through the waker it registers.
struct Counting {
    inner: Waker,
    count: Arc<AtomicU64>,
}

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.inner.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.inner.wake_by_ref();
    }
}

/// An `AsyncRead`/`AsyncWrite` whose wake-ups are counted in `count`.
pub(crate) struct Counted<T> {
    pub(crate) inner: T,
    pub(crate) count: Arc<AtomicU64>,
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T) -> Counted<T> {
        Counted {
            inner,
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    fn waker(&self, cx: &Context<'_>) -> Waker {
        Waker::from(Arc::new(Counting {
            inner: cx.waker().clone(),
            count: Arc::clone(&self.count),
        }))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let waker = self.waker(cx);
        Pin::new(&mut self.inner).poll_read(&mut Context::from_waker(&waker), buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let waker = self.waker(cx);
        Pin::new(&mut self.inner).poll_write(&mut Context::from_waker(&waker), data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let waker = self.waker(cx);
        Pin::new(&mut self.inner).poll_flush(&mut Context::from_waker(&waker))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let waker = self.waker(cx);
        Pin::new(&mut self.inner).poll_shutdown(&mut Context::from_waker(&waker))
    }
}
