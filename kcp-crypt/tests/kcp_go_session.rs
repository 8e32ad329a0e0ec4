//! Every cipher through a real kcp-go 5.6.1 `UDPSession` over UDP on 127.0.0.1.
//!
//! `kcp_go.rs` checks our framing against `peers/crypt`, which calls kcp-go's `BlockCrypt`s
//! but re-implements the nonce + CRC framing around them. Here nothing is re-implemented:
//! the Go peer `peers/session` runs kcp-go's own listener (`echo-server`, FEC off) with
//! each cipher, and a KCP conversation of ours (kcp-core, framed by `Crypt::seal` /
//! `Crypt::open`) streams data through it and checks every echoed byte. kcp-go opens each
//! of our datagrams in its `packetInput` and seals its echo and acknowledgements in its
//! `output`; a datagram it cannot open is dropped there, so the echo never completes.
//! Fails, never skips, when Go or kcp-go is missing (scripts/setup.sh installs them).

mod common;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{GO_KINDS, TestRng};
use kcp_core::Kcp;
use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, NonceRng, PacketCipher};
use kcp_testkit::go_process::{self, GoServer};

/// The passphrase both sides derive their key from (kcptun's PBKDF2).
const PASSPHRASE: &str = "kcp-rs real session";

/// Bytes streamed through each session.
const BYTES: usize = 192 * 1024;

/// kcptun's MTU: the UDP payload, cipher header included (kcp-go's `SetMtu`).
const MTU: usize = 1350;

/// Upper bound on one cipher's exchange; a healthy one takes well under a second.
const LIMIT: Duration = Duration::from_secs(30);

/// What one exchange saw.
struct Outcome {
    /// The echo, in order.
    echoed: Vec<u8>,
    /// Datagrams from kcp-go, and those of them that `open` refused.
    received: usize,
    refused: usize,
    /// Distinct lengths of the datagrams sent and of those received.
    sent_lengths: BTreeSet<usize>,
    received_lengths: BTreeSet<usize>,
}

/// Streams `data` to the kcp-go echo server at `server` over a conversation `conv` of
/// ours with `crypt`, in messages of varied sizes each flushed at once (so datagrams come
/// in many lengths), until the whole echo is back or [`LIMIT`] passes.
fn echo(crypt: &Crypt, server: &GoServer, conv: u32, data: &[u8], seed: u64) -> Outcome {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    socket.connect(server.addr()).expect("connect to kcp-go");
    socket
        .set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    let mut kcp = Kcp::new(conv);
    // kcptun's fast3 and window sizes and kcp-go's MTU arithmetic. Message mode, so that
    // every write of ours leaves as a segment of its own size: kcp-go reads segments of
    // either mode, and its stream-mode echo comes back as whole messages, one per segment.
    kcp.set_nodelay(1, 10, 2, true);
    kcp.set_window_size(1024, 1024).unwrap();
    kcp.set_stream(false);
    kcp.set_mtu(MTU - crypt.overhead()).unwrap();
    let mss = kcp.mss();
    kcp.set_reserved(crypt.header_len());
    kcp.set_tailroom(crypt.trailer_len());

    let mut nonces = NonceRng::from_seed([seed as u8; 32]);
    let mut sizes = TestRng::new(seed);
    let mut out = Outcome {
        echoed: Vec::with_capacity(data.len()),
        received: 0,
        refused: 0,
        sent_lengths: BTreeSet::new(),
        received_lengths: BTreeSet::new(),
    };
    let mut send_error = None;
    let mut transmit = |frame: &mut [u8], lengths: &mut BTreeSet<usize>| {
        let payload_len = frame.len() - crypt.overhead();
        let len = crypt
            .seal(frame, payload_len, &mut nonces)
            .expect("kcp-core reserved the header and tailroom");
        lengths.insert(len);
        if let Err(e) = socket.send(&frame[..len]) {
            send_error.get_or_insert(e);
        }
    };

    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u32;
    let mut written = 0;
    let mut messages = 0usize;
    let mut datagram = [0u8; 2048];
    let mut chunk = vec![0u8; 64 * 1024];
    while out.echoed.len() < data.len() && start.elapsed() < LIMIT {
        // Keep up to 256 segments in flight, in writes of 1 byte to a full segment (every
        // 16th one full, so full-MTU datagrams go out as well).
        while written < data.len() && kcp.wait_snd() < 256 {
            let n = if messages.is_multiple_of(16) {
                mss
            } else {
                1 + sizes.below_eq(mss - 1)
            };
            messages += 1;
            let n = n.min(data.len() - written);
            kcp.send(&data[written..written + n]).unwrap();
            written += n;
            kcp.flush(|frame| transmit(frame, &mut out.sent_lengths));
        }
        kcp.update(now(), |frame| transmit(frame, &mut out.sent_lengths));
        // One blocking receive (up to 1 ms), then whatever else is queued.
        let mut block = true;
        loop {
            if !block {
                socket.set_nonblocking(true).unwrap();
            }
            let received = socket.recv(&mut datagram);
            if !block {
                socket.set_nonblocking(false).unwrap();
            }
            block = false;
            let Ok(len) = received else { break };
            out.received += 1;
            out.received_lengths.insert(len);
            match crypt.open(&mut datagram[..len]) {
                Ok(range) => kcp.input(&datagram[range]).expect("kcp-go's KCP segments"),
                Err(_) => out.refused += 1,
            }
        }
        kcp.flush(|frame| transmit(frame, &mut out.sent_lengths));
        while let Ok(n) = kcp.recv(&mut chunk) {
            out.echoed.extend_from_slice(&chunk[..n]);
        }
    }
    if let Some(e) = send_error {
        panic!("{}: sending to kcp-go failed: {e}", crypt.kind());
    }
    out
}

#[test]
fn every_cipher_echoes_through_a_real_kcp_go_session() {
    let peer = go_process::session_peer();
    let mut data = TestRng::new(99);
    for (i, kind) in GO_KINDS.into_iter().enumerate() {
        let name = kind.name();
        let server = GoServer::start(
            &peer,
            &[
                "echo-server",
                "-listen",
                "127.0.0.1:0",
                "-crypt",
                name,
                "-key",
                PASSPHRASE,
                "-mode",
                "fast3",
                "-datashard",
                "0",
                "-parityshard",
                "0",
                "-timeout",
                "60",
            ],
        );
        let crypt = Crypt::from_passphrase(kind, PASSPHRASE.as_bytes());
        let payload = data.bytes(BYTES);
        let conv = 0x4B43_0000 + i as u32;
        let out = echo(&crypt, &server, conv, &payload, 7 + i as u64);

        let first_bad = out.echoed.iter().zip(&payload).position(|(a, b)| a != b);
        assert!(
            out.echoed.len() == payload.len() && first_bad.is_none(),
            "{name}: {} of {} bytes echoed within {LIMIT:?}, first difference at {first_bad:?}; \
             kcp-go stderr: {}",
            out.echoed.len(),
            payload.len(),
            server.stderr()
        );
        // kcp-go 5.6.1's SM4 (tjfoc/gmsm) keeps scratch buffers in the cipher, and kcp-go
        // shares one cipher between the listener's decryption and the session's
        // encryption, which run in different goroutines: now and then it sends a datagram
        // it garbled itself (two goroutines encrypting with one gmsm SM4 cipher get about
        // 1 block in 14,000 wrong on a quiet machine; 9 of 305 datagrams were garbled on a
        // loaded one, where the goroutines overlap more). Those fail our CRC check like any
        // corrupt datagram and are sent again, so SM4 is allowed up to a fifth as long as
        // the echo arrives intact; every other cipher none. The framing itself is
        // byte-exact (kcp_go.rs, single-threaded).
        let allowed = if kind == CipherKind::Sm4 {
            out.received / 5
        } else {
            0
        };
        assert!(
            out.refused <= allowed,
            "{name}: {} of {} kcp-go datagrams did not open",
            out.refused,
            out.received
        );
        // kcp-go saw one session, ours.
        let accepted = server.wait_for_line(Duration::from_secs(5), |l| l.starts_with("accepted"));
        let accepted = accepted.unwrap_or_else(|| panic!("{name}: kcp-go accepted nothing"));
        assert!(
            accepted.ends_with(&format!(" conv={conv}")),
            "{name}: {accepted}"
        );
        assert_eq!(server.accepted_count(), 1, "{name}: {:?}", server.lines());
        // Ours went out in many lengths (so partial final cipher blocks of every size went
        // through kcp-go), full-MTU ones included; kcp-go's came back full and otherwise.
        let (sent, received) = (&out.sent_lengths, &out.received_lengths);
        let residues: BTreeSet<usize> = sent.iter().map(|len| len % 16).collect();
        assert_eq!(residues.len(), 16, "{name}: sent lengths {sent:?}");
        assert_eq!(sent.last(), Some(&MTU), "{name}: sent lengths");
        let residues: BTreeSet<usize> = received.iter().map(|len| len % 16).collect();
        assert!(residues.len() >= 8, "{name}: received lengths {received:?}");
        assert_eq!(received.last(), Some(&MTU), "{name}: received lengths");
        eprintln!(
            "{name}: {} lengths sent, {} received; {} of {} datagrams refused",
            sent.len(),
            received.len(),
            out.refused,
            out.received
        );
    }
}
