//! kcp-tunnel's parsers on hostile input: bytes from a KCP peer into an smux server
//! session (raw, and behind kcptun's snappy framing), and the text of `SS_PLUGIN_OPTIONS`
//! and of a kcptun JSON file. Nothing may panic; a malformed stream must end the session
//! with an error, never hang it, and the streams it yields read only what was sent.
//! With bit 2 of the first byte set the session's streams are accepted but never read and
//! the peer never reads what the session sends: what it buffers must stay within its
//! receive budget plus its queue's limit, whatever the frames.
#![no_main]
use std::time::Duration;

use kcp_tunnel::config::JsonConfig;
use kcp_tunnel::plugin::parse_options;
use kcp_tunnel::smux::{MuxConfig, Session};
use kcp_tunnel::snappy::SnappyReader;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = parse_options(text);
        let _ = JsonConfig::parse(text);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    if mode & 4 != 0 {
        rt.block_on(unread(mode, bytes));
        return;
    }
    rt.block_on(async {
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let (r, w) = tokio::io::split(ours);
        let config = MuxConfig {
            version: 1 + (mode & 1),
            max_receive_buffer: 1 << 16,
            max_stream_buffer: 1 << 15,
            ..MuxConfig::default()
        };
        let session = if mode & 2 == 0 {
            Session::server(r, w, config, false)
        } else {
            Session::server(SnappyReader::new(r), w, config, true)
        };
        let bytes = bytes.to_vec();
        let feeder = tokio::spawn(async move {
            let _ = peer.write_all(&bytes).await;
            // Drain what the session sends back so it never blocks on us.
            let mut sink = vec![0u8; 1 << 16];
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Ok(n) = peer.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        });
        // Accept and read every stream until the session ends (the feeder hangs up after
        // a second of virtual time; the keepalive timeout bounds the rest).
        let mut total = 0usize;
        let run = async {
            while let Ok(mut s) = session.accept().await {
                let mut buf = vec![0u8; 4096];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(10), s.read(&mut buf)).await
                {
                    if n == 0 {
                        break;
                    }
                    total += n;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .expect("the session ends");
        assert!(total <= data.len(), "read more than was sent");
        session.close();
        let _ = feeder.await;
    });
});

/// Feeds `bytes` to a server session whose streams nobody reads and whose peer never reads
/// back; checks what it buffers against its bounds.
async fn unread(mode: u8, bytes: &[u8]) {
    const BUDGET: usize = 1 << 16;
    let (mut peer, ours) = tokio::io::duplex(1 << 12);
    let (r, w) = tokio::io::split(ours);
    let config = MuxConfig {
        version: 1 + (mode & 1),
        max_receive_buffer: BUDGET,
        max_stream_buffer: 1 << 15,
        max_streams: 64,
        ..MuxConfig::default()
    };
    let session = if mode & 2 == 0 {
        Session::server(r, w, config, false)
    } else {
        Session::server(SnappyReader::new(r), w, config, true)
    };
    // The input, repeated up to 64 times: small inputs become floods.
    let mut streams = Vec::new();
    for _ in 0..64 {
        let sent = tokio::time::timeout(Duration::from_secs(1), peer.write_all(bytes)).await;
        while let Ok(Ok(s)) = tokio::time::timeout(Duration::ZERO, session.accept()).await {
            streams.push(s);
        }
        let held = session.buffered_bytes();
        assert!(held <= BUDGET + 65_535 + 128 + (240 << 10), "{held} bytes buffered");
        if sent.is_err() || session.is_closed() || bytes.is_empty() {
            break;
        }
    }
    session.close();
}
