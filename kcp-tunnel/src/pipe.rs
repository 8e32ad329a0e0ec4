//! Joining two byte streams the way kcptun does.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Copies between `a` and `b` until either direction ends, then closes both, as kcptun
/// does (it has no half-close): the side that ended is shut down and both are dropped.
/// Returns the bytes moved from `a` to `b`, from `b` to `a`, and the error that ended the
/// copy, if one did.
pub async fn pipe<A, B>(a: A, b: B) -> (u64, u64, Option<io::Error>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut up = 0u64;
    let mut down = 0u64;
    let upward = async {
        let r = copy(&mut ar, &mut bw, &mut up).await;
        let _ = bw.shutdown().await;
        r
    };
    let downward = async {
        let r = copy(&mut br, &mut aw, &mut down).await;
        let _ = aw.shutdown().await;
        r
    };
    // The first direction to end closes the pair.
    let err = tokio::select! {
        r = upward => r.err(),
        r = downward => r.err(),
    };
    (up, down, err)
}

async fn copy<R, W>(r: &mut R, w: &mut W, count: &mut u64) -> io::Result<()>
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
        w.write_all(&buf[..n]).await?;
        *count += n as u64;
    }
}
