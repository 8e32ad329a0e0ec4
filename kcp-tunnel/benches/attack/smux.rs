//! The smux attacks: a real client with the key that writes raw smux frames and never
//! reads what the server sends.

use std::time::Instant;

use kcp_session::KcpStream;
use kcp_tunnel::smux::frame::{Cmd, Header};
use tokio::io::AsyncWriteExt;

use crate::settings;

/// Which smux attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Smux {
    /// 1-byte PSH frames to a stream whose target stopped reading.
    OneBytePsh,
    /// SYN frames with new stream ids, to a target that refuses connections.
    SynFlood,
}

/// Sends the attack's frames until `until`; returns the bytes KCP accepted.
pub(crate) async fn attack(kind: Smux, server: u16, until: Instant) -> u64 {
    let kcp = KcpStream::connect(&format!("127.0.0.1:{server}"), &settings())
        .await
        .unwrap();
    // Never read: the receive half is kept and left alone.
    let (_r, mut w) = kcp.into_split();
    let mut sent = 0u64;
    let mut next_sid = 1u32;
    if kind == Smux::OneBytePsh {
        let mut open = Vec::new();
        Header::emit(&mut open, 1, Cmd::Syn, 0, 3);
        Header::emit(&mut open, 1, Cmd::Psh, 4, 3);
        open.extend_from_slice(b"HOLD");
        w.write_all(&open).await.unwrap();
    }
    let mut one = Vec::new();
    Header::emit(&mut one, 1, Cmd::Psh, 1, 3);
    one.push(b'x');
    let psh_chunk = one.repeat(4096);
    loop {
        let chunk = match kind {
            Smux::OneBytePsh => psh_chunk.clone(),
            Smux::SynFlood => {
                let mut c = Vec::with_capacity(8 * 4096);
                for _ in 0..4096 {
                    next_sid = next_sid.wrapping_add(2);
                    Header::emit(&mut c, 1, Cmd::Syn, 0, next_sid);
                }
                c
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, w.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len() as u64,
            _ => break,
        }
    }
    sent
}
