//! Typed errors of the KCP operations, each with the return code ikcp gives for it.

use core::fmt;

/// Why [`Kcp::send`](crate::Kcp::send) refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// The message needs [`MAX_FRAGMENTS`](crate::MAX_FRAGMENTS) or more segments of `mss`
    /// bytes; split it above KCP, or use stream mode. ikcp returns -2.
    TooLarge,
}

impl SendError {
    /// The value `ikcp_send` returns for this error.
    pub const fn code(self) -> i32 {
        match self {
            SendError::TooLarge => -2,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TooLarge => f.write_str("message needs too many fragments"),
        }
    }
}

impl core::error::Error for SendError {}

/// Why [`Kcp::recv`](crate::Kcp::recv), [`Kcp::peek`](crate::Kcp::peek) or
/// [`Kcp::peek_size`](crate::Kcp::peek_size) returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing has been received in order yet. ikcp returns -1.
    Empty,
    /// The first message has not arrived in full yet. ikcp returns -2 (`peeksize` -1).
    Incomplete,
    /// The caller's buffer is smaller than the next message; nothing was consumed. Ask
    /// [`Kcp::peek_size`](crate::Kcp::peek_size) for the size. ikcp returns -3.
    BufferTooSmall,
}

impl RecvError {
    /// The value `ikcp_recv` returns for this error (`ikcp_peeksize` returns -1 for both
    /// [`Empty`](RecvError::Empty) and [`Incomplete`](RecvError::Incomplete)).
    pub const fn code(self) -> i32 {
        match self {
            RecvError::Empty => -1,
            RecvError::Incomplete => -2,
            RecvError::BufferTooSmall => -3,
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Empty => f.write_str("no message received"),
            RecvError::Incomplete => f.write_str("next message not complete yet"),
            RecvError::BufferTooSmall => f.write_str("buffer smaller than the next message"),
        }
    }
}

impl core::error::Error for RecvError {}

/// Why [`Kcp::input`](crate::Kcp::input) stopped reading a datagram.
///
/// Segments before the offending one have been applied, as in ikcp; the fast-ack and
/// congestion-window steps that end a successful input are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputError {
    /// The datagram is shorter than one segment header. ikcp returns -1.
    Truncated,
    /// A segment belongs to another conversation. ikcp returns -1.
    ConvMismatch,
    /// A segment's length field exceeds the bytes that follow it. ikcp returns -2.
    BadLength,
    /// A segment's command is not PUSH, ACK, WASK or WINS. ikcp returns -3.
    UnknownCommand,
    /// A data segment announces a message of more fragments than the receive window can
    /// ever hold (`frg >= rcv_wnd`); refused only with
    /// [`Kcp::set_strict_input`](crate::Kcp::set_strict_input). ikcp accepts it and
    /// wedges; [`code`](InputError::code) gives -4, a value ikcp never returns.
    TooManyFragments,
}

impl InputError {
    /// The value `ikcp_input` returns for this error.
    pub const fn code(self) -> i32 {
        match self {
            InputError::Truncated | InputError::ConvMismatch => -1,
            InputError::BadLength => -2,
            InputError::UnknownCommand => -3,
            InputError::TooManyFragments => -4,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Truncated => f.write_str("datagram shorter than a segment header"),
            InputError::ConvMismatch => f.write_str("segment of another conversation"),
            InputError::BadLength => f.write_str("segment length exceeds the datagram"),
            InputError::UnknownCommand => f.write_str("unknown segment command"),
            InputError::TooManyFragments => {
                f.write_str("message of more fragments than the receive window holds")
            }
        }
    }
}

impl core::error::Error for InputError {}

/// A configuration value [`Kcp`](crate::Kcp) cannot accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MTU is below [`MIN_MTU`](crate::MIN_MTU). ikcp's `setmtu` returns -1.
    MtuTooSmall,
    /// The receive window exceeds [`MAX_RCV_WND`](crate::MAX_RCV_WND): the header's 16-bit
    /// window field would advertise a truncated (possibly zero) window. ikcp accepts it and
    /// stalls; this port refuses it.
    WindowTooLarge,
    /// Sequence numbers can only be set while nothing is in flight or queued.
    Busy,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MtuTooSmall => f.write_str("mtu below 50 bytes"),
            ConfigError::WindowTooLarge => f.write_str("receive window above 65535 segments"),
            ConfigError::Busy => f.write_str("segments are queued or in flight"),
        }
    }
}

impl core::error::Error for ConfigError {}
