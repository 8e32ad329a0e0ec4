//! The tokio front: [`KcpStream`] and [`KcpListener`] over real UDP sockets, one driver
//! task per socket.

mod endpoint;
mod listener;
mod socket;
mod stream;
mod udp;

pub use listener::KcpListener;
pub use stream::{KcpStream, OwnedReadHalf, OwnedWriteHalf, ReuniteError, SessionInfo};
