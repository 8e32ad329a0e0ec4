//! kcp-tunnel's parsers on hostile input: bytes from a KCP peer into an smux server
//! session (raw, and behind kcptun's snappy framing), and the text of `SS_PLUGIN_OPTIONS`
//! and of a kcptun JSON file. Nothing may panic; a malformed stream must end the session
//! with an error, never hang it, and the streams it yields read only what was sent.
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
