//! Echo helpers shared by the tests that run streams over real sockets, and the kcp-go
//! peer's invocation.

#![allow(dead_code)] // each test file uses part of it

pub(crate) mod kcp_go;

use std::net::SocketAddr;

use kcp_session::{KcpListener, KcpStream, Settings, Snmp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Accepts `sessions` sessions and echoes each on its own task; hands the listener back.
pub(crate) fn spawn_echo(listener: KcpListener, sessions: usize) -> JoinHandle<KcpListener> {
    tokio::spawn(async move {
        for _ in 0..sessions {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
        listener
    })
}

/// Dials `to`, writes `data` in 32 KiB writes while reading the echo back, and returns
/// what came back with the session's counters.
pub(crate) async fn echo(settings: &Settings, to: SocketAddr, data: Vec<u8>) -> (Vec<u8>, Snmp) {
    let stream = KcpStream::connect(to, settings).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let n = data.len();
    let writer = tokio::spawn(async move {
        for chunk in data.chunks(32 * 1024) {
            w.write_all(chunk).await.unwrap();
        }
        w
    });
    let mut got = vec![0u8; n];
    r.read_exact(&mut got).await.unwrap();
    let stream = r.reunite(writer.await.unwrap()).unwrap();
    (got, stream.snmp())
}
