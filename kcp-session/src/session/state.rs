//! Where a session stands, and why an operation on it did nothing.

use core::fmt;

use kcp_crypt::OpenError;

/// Where a session stands. Only [`State::Open`] sessions accept writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Exchanging data.
    Open,
    /// Closed locally; still retransmitting what was written, for up to the linger time.
    Closing,
    /// Closed: everything written was acknowledged, or the linger time ran out.
    Closed,
    /// The peer is gone: nothing was received for the idle timeout, or a segment was
    /// transmitted the dead-link number of times unacknowledged.
    Dead(DeadReason),
    /// A listener replaced this session: its peer started a new conversation from the
    /// same address. It sends nothing more.
    Replaced,
}

impl State {
    /// Whether the session is over (closed, dead or replaced): it sends nothing more and
    /// has no timers.
    pub fn is_ended(self) -> bool {
        !matches!(self, State::Open | State::Closing)
    }
}

/// Why a session was declared dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadReason {
    /// Nothing arrived from the peer for the configured idle timeout.
    IdleTimeout,
    /// A segment reached the dead-link transmission count without an acknowledgement.
    DeadLink,
    /// The endpoint's memory budget ran out, and the peer had not shown that it receives
    /// at its address (see [`Config::memory_budget`](crate::Config::memory_budget)).
    Shed,
    /// Liveness probes went unanswered: nothing heard within the timeout given to
    /// [`Session::confirm`](crate::Session::confirm), or for three
    /// [`Config::keepalive`](crate::Config::keepalive) intervals.
    Unanswered,
}

/// Why [`Session::send`](crate::Session::send) took nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// The send window is full: wait for acknowledgements (drive the session) and retry.
    WouldBlock,
    /// A message-mode message needs more than 127 segments.
    TooLarge,
    /// The session was closed locally.
    Closed,
    /// The peer is gone (see [`DeadReason`]).
    Dead(DeadReason),
    /// The peer started a new conversation from the same address (see [`State::Replaced`]).
    Replaced,
    /// [`Session::send_message`](crate::Session::send_message) on a stream-mode session,
    /// which keeps no message boundaries.
    NotMessageMode,
}

/// Why [`Session::recv`](crate::Session::recv) returned no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing complete has arrived yet.
    WouldBlock,
    /// Closed locally, nothing buffered.
    Closed,
    /// The peer is gone and nothing buffered remains (see [`DeadReason`]).
    Dead(DeadReason),
    /// Replaced by a new conversation from the same address, nothing buffered remains.
    Replaced,
    /// [`Session::recv_message`](crate::Session::recv_message) on a stream-mode session,
    /// which keeps no message boundaries.
    NotMessageMode,
}

/// Why [`Session::input`](crate::Session::input) dropped a datagram; each reason is also
/// counted in [`Session::snmp`](crate::Session::snmp). Hostile or stray datagrams are
/// expected on the Internet: log at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputError {
    /// Longer than [`MTU_LIMIT`](crate::MTU_LIMIT), which no kcp-go peer sends (its reader
    /// truncates there): dropped before any work.
    Oversized,
    /// The crypto layer rejected it (too short, bad CRC32, AEAD failure).
    Crypt(OpenError),
    /// Too short to carry an FEC header or a KCP segment.
    Truncated,
    /// The FEC layer rejected it.
    Fec(kcp_fec::DecodeError),
    /// KCP rejected it (another conversation, bad length, unknown command).
    Kcp(kcp_core::InputError),
    /// The session has ended (closed, dead or replaced) and takes no more input.
    Ended,
    /// An out-of-band datagram (see [`Session::recv_datagram`](crate::Session::recv_datagram))
    /// with a bad size field or another conversation id.
    Datagram,
}

impl State {
    /// The error a write gets in this state, if it cannot write.
    pub(crate) fn send_error(self) -> Option<SendError> {
        match self {
            State::Open => None,
            State::Closing | State::Closed => Some(SendError::Closed),
            State::Dead(r) => Some(SendError::Dead(r)),
            State::Replaced => Some(SendError::Replaced),
        }
    }

    /// The error a read that found nothing gets in this state.
    pub(crate) fn recv_error(self) -> RecvError {
        match self {
            State::Open | State::Closing => RecvError::WouldBlock,
            State::Closed => RecvError::Closed,
            State::Dead(r) => RecvError::Dead(r),
            State::Replaced => RecvError::Replaced,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Open => f.write_str("open"),
            State::Closing => f.write_str("closing"),
            State::Closed => f.write_str("closed"),
            State::Dead(r) => write!(f, "peer gone: {r}"),
            State::Replaced => {
                f.write_str("replaced: the peer started a new conversation from its address")
            }
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::WouldBlock => f.write_str("send window full"),
            SendError::TooLarge => f.write_str("message needs more than 127 segments"),
            SendError::Closed => f.write_str("session closed"),
            SendError::Dead(r) => write!(f, "peer gone: {r}"),
            SendError::Replaced => f.write_str("session replaced by a new conversation"),
            SendError::NotMessageMode => f.write_str("messages need message mode (stream = false)"),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::WouldBlock => f.write_str("nothing received yet"),
            RecvError::Closed => f.write_str("session closed"),
            RecvError::Dead(r) => write!(f, "peer gone: {r}"),
            RecvError::Replaced => f.write_str("session replaced by a new conversation"),
            RecvError::NotMessageMode => f.write_str("messages need message mode (stream = false)"),
        }
    }
}

impl fmt::Display for DeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadReason::IdleTimeout => f.write_str("nothing received within the idle timeout"),
            DeadReason::DeadLink => f.write_str("retransmissions unacknowledged (dead link)"),
            DeadReason::Shed => f.write_str("ended for the memory budget, address unproven"),
            DeadReason::Unanswered => f.write_str("liveness probes unanswered"),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Oversized => write!(f, "datagram longer than {}", crate::MTU_LIMIT),
            InputError::Crypt(e) => write!(f, "crypto: {e}"),
            InputError::Truncated => f.write_str("datagram too short"),
            InputError::Fec(e) => write!(f, "fec: {e}"),
            InputError::Kcp(e) => write!(f, "kcp: {e}"),
            InputError::Ended => f.write_str("session ended"),
            InputError::Datagram => f.write_str("malformed or foreign out-of-band datagram"),
        }
    }
}

impl core::error::Error for DeadReason {}
impl core::error::Error for SendError {}
/// The state of an ended session is the error an operation on it gets; the tokio
/// streams carry it inside their `io::Error`.
impl core::error::Error for State {}
impl core::error::Error for RecvError {}
impl core::error::Error for InputError {}
