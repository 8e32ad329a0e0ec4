//! Joining two byte streams the way kcptun does.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Copies between `a` and `b` until either direction ends, then closes both, as kcptun
/// does (it has no half-close): the side that ended is shut down and both are dropped.
/// Returns the bytes moved from `a` to `b`, from `b` to `a`, and the error that ended the
/// copy, if one did.
pub async fn pipe<A, B>(a: A, b: B) -> (u64, u64, Option<io::Error>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    pipe_idle(a, b, None).await
}

/// [`pipe`], and when nothing moved either way for `idle` (if given), both are closed
/// and the error is [`io::ErrorKind::TimedOut`]. Use it where a peer could hold
/// connections open for nothing; it costs a timer per pipe.
pub async fn pipe_idle<A, B>(a: A, b: B, idle: Option<Duration>) -> (u64, u64, Option<io::Error>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut up = 0u64;
    let mut down = 0u64;
    let start = Instant::now();
    let last = Activity {
        start,
        ms: AtomicU64::new(0),
    };
    let upward = async {
        let r = copy(&mut ar, &mut bw, &mut up, &last).await;
        let _ = bw.shutdown().await;
        r
    };
    let downward = async {
        let r = copy(&mut br, &mut aw, &mut down, &last).await;
        let _ = aw.shutdown().await;
        r
    };
    let watchdog = async {
        let Some(idle) = idle else {
            return std::future::pending().await;
        };
        loop {
            let deadline = last.get() + idle;
            if Instant::now() >= deadline {
                return io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("idle for {}s", idle.as_secs()),
                );
            }
            tokio::time::sleep_until(deadline).await;
        }
    };
    // The first direction to end closes the pair.
    let err = tokio::select! {
        r = upward => r.err(),
        r = downward => r.err(),
        e = watchdog => Some(e),
    };
    (up, down, err)
}

/// When bytes last moved, in milliseconds since `start` (shared by both directions).
struct Activity {
    start: Instant,
    ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.ms.store(ms, Ordering::Relaxed);
    }

    fn get(&self) -> Instant {
        self.start + Duration::from_millis(self.ms.load(Ordering::Relaxed))
    }
}

async fn copy<R, W>(r: &mut R, w: &mut W, count: &mut u64, last: &Activity) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        last.touch();
        w.write_all(&buf[..n]).await?;
        last.touch();
        *count += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// A pair with no traffic closes after the idle time; traffic keeps it open.
    #[tokio::test(start_paused = true)]
    async fn idle_pairs_close() {
        let (a, mut a_far) = duplex(1024);
        let (b, mut b_far) = duplex(1024);
        let idle = Duration::from_secs(60);
        let started = Instant::now();
        let job = tokio::spawn(pipe_idle(a, b, Some(idle)));
        // Traffic every 40 s for 4 minutes keeps it open.
        for i in 0..6u8 {
            tokio::time::sleep(Duration::from_secs(40)).await;
            a_far.write_all(&[i]).await.unwrap();
            let mut one = [0u8; 1];
            b_far.read_exact(&mut one).await.unwrap();
            assert_eq!(one, [i]);
        }
        assert!(!job.is_finished());
        let (up, down, err) = job.await.unwrap();
        assert_eq!((up, down), (6, 0));
        assert_eq!(err.unwrap().kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(240 + 60));
        // Both far ends read EOF.
        let mut rest = Vec::new();
        b_far.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        // Without a limit, a quiet pair stays.
        let (a, _a_far) = duplex(1024);
        let (b, _b_far) = duplex(1024);
        let job = tokio::spawn(pipe(a, b));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!job.is_finished());
        job.abort();
    }
}
