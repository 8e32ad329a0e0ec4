//! Dialing that waits for the server's answer.

use std::io;
use std::task::Poll;
use std::time::Duration;

use crate::session::State;

use super::stream::{KcpStream, dead, driver_failed};
use crate::Settings;

impl KcpStream {
    /// Dials `addr` as [`connect`](KcpStream::connect) does, then waits until the server
    /// has answered: KCP has no handshake, so the session sends a window probe (a 24-byte
    /// segment that every ikcp, kcp-go and kcptun peer answers at its next flush, without
    /// telling its application) every 250 ms until an answer comes (see
    /// [`Session::confirm`](crate::Session::confirm)). Use it to learn within `timeout`
    /// that a server is dead, unreachable or speaking another key, instead of at the idle
    /// timeout. Costs one round trip before the stream is handed out.
    ///
    /// Fails with [`io::ErrorKind::TimedOut`] carrying the session's
    /// [`State::Dead`](crate::State::Dead)`(`[`DeadReason::Unanswered`](crate::DeadReason::Unanswered)`)`
    /// (reach it with [`io::Error::get_ref`]) when nothing answered within `timeout` (on the runtime's
    /// clock, to within a millisecond and the driver's wake-up).
    pub async fn connect_confirmed(
        addr: impl tokio::net::ToSocketAddrs,
        settings: &Settings,
        timeout: Duration,
    ) -> io::Result<KcpStream> {
        let stream = KcpStream::connect(addr, settings).await?;
        let h = &stream.handle;
        {
            let mut st = h.shared.lock();
            let now = h.shared.now();
            st.endpoint.confirm(now, h.session, timeout);
            h.shared.send_and_unlock(st);
        }
        std::future::poll_fn(|cx| {
            let mut st = h.shared.lock();
            let Some(s) = st.endpoint.session(h.session) else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match s.state() {
                _ if s.is_confirmed() => Poll::Ready(Ok(())),
                State::Dead(r) => Poll::Ready(Err(dead(r))),
                State::Open => match st.failed {
                    Some(kind) => Poll::Ready(Err(driver_failed(kind))),
                    None => {
                        st.wait_write(h.session, cx.waker());
                        Poll::Pending
                    }
                },
                _ => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
            }
        })
        .await?;
        Ok(stream)
    }
}
