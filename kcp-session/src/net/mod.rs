//! The tokio front: [`KcpStream`] and [`KcpListener`] over real UDP sockets, each socket
//! served by one driver task over an [`Endpoint`](crate::Endpoint).

mod batch;
mod bind;
mod driver;
mod listener;
mod liveness;
mod stream;

pub use listener::KcpListener;
pub use stream::{KcpStream, OwnedReadHalf, OwnedWriteHalf, ReuniteError, SessionInfo};
