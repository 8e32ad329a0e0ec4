//! Interoperability with the real kcp-go 5.6.1 (pinned in peers/go.mod):
//! the Go program in `peers/crypt` seals datagrams exactly as kcp-go's UDPSession sends
//! them and opens ours as its packetInput does. A missing Go toolchain fails these tests.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{GO_KINDS, TestRng, sizes};
use kcp_crypt::rand_core::SeedableRng;
use kcp_crypt::{CipherKind, Crypt, NonceRng, OpenError, PacketCipher};

/// The passphrase both sides derive their key from (kcptun's PBKDF2).
const PASSPHRASE: &str = "kcp-rs interop";

/// A reply of the Go peer: `Ok(bytes)` or `Err(reason)` ("short", "checksum").
type Reply = Result<Vec<u8>, String>;

/// Sends every request line to a fresh Go peer and returns its replies, in order.
fn go(requests: &[String]) -> Vec<Reply> {
    let bin = kcp_testkit::go_peer::build("crypt");
    let mut child = Command::new(&bin)
        .arg("-key")
        .arg(PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the Go peer {}: {e}", bin.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    // Write from another thread: the peer answers while we are still sending.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let replies: Vec<Reply> = stdout
        .lines()
        .map(|line| {
            let line = line.expect("read the Go peer's reply");
            match line.split_once(' ') {
                Some(("ok", "-")) => Ok(Vec::new()),
                Some(("ok", data)) => Ok(hex::decode(data).unwrap()),
                Some(("err", reason)) => Err(reason.to_owned()),
                _ => panic!("unexpected reply from the Go peer: {line:?}"),
            }
        })
        .collect();
    writer
        .join()
        .unwrap()
        .expect("write requests to the Go peer");
    let status = child.wait().expect("wait for the Go peer");
    assert!(status.success(), "the Go peer failed: {status}");
    assert_eq!(replies.len(), requests.len(), "one reply per request");
    replies
}

fn hex_arg(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_owned()
    } else {
        hex::encode(bytes)
    }
}

fn crypt(kind: CipherKind) -> Crypt {
    Crypt::from_passphrase(kind, PASSPHRASE.as_bytes())
}

/// Seals `payload` with ours into a fresh buffer; returns the datagram.
fn seal(crypt: &Crypt, payload: &[u8], rng: &mut NonceRng) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + crypt.overhead()];
    let start = crypt.header_len();
    buf[start..start + payload.len()].copy_from_slice(payload);
    let len = crypt.seal(&mut buf, payload.len(), rng).unwrap();
    assert_eq!(len, buf.len());
    buf
}

#[test]
fn kcp_go_datagrams_open_here() {
    let mut rng = TestRng::new(1);
    let mut cases = Vec::new();
    for kind in GO_KINDS {
        for size in sizes(u64::from(kind.name().len() as u8) + 10, 60) {
            cases.push((kind, rng.bytes(size)));
        }
    }
    let requests: Vec<String> = cases
        .iter()
        .map(|(kind, payload)| format!("seal {kind} {}", hex_arg(payload)))
        .collect();
    let replies = go(&requests);
    let crypts: Vec<Crypt> = GO_KINDS.iter().map(|k| crypt(*k)).collect();
    for ((kind, payload), reply) in cases.iter().zip(replies) {
        let mut datagram = reply.expect("kcp-go seals every payload");
        let ours = &crypts[GO_KINDS.iter().position(|k| k == kind).unwrap()];
        assert_eq!(datagram.len(), payload.len() + ours.header_len(), "{kind}");
        let range = ours
            .open(&mut datagram)
            .unwrap_or_else(|e| panic!("{kind}, {} bytes: {e}", payload.len()));
        assert_eq!(&datagram[range], &payload[..], "{kind}");
    }
}

#[test]
fn our_datagrams_open_in_kcp_go() {
    let mut rng = TestRng::new(2);
    let mut nonces = NonceRng::from_seed([9; 32]);
    let mut cases = Vec::new();
    for kind in GO_KINDS {
        let ours = crypt(kind);
        for size in sizes(u64::from(kind.name().len() as u8) + 20, 60) {
            let payload = rng.bytes(size);
            let datagram = seal(&ours, &payload, &mut nonces);
            cases.push((kind, payload, datagram));
        }
    }
    let requests: Vec<String> = cases
        .iter()
        .map(|(kind, _, datagram)| format!("open {kind} {}", hex_arg(datagram)))
        .collect();
    let replies = go(&requests);
    for ((kind, payload, _), reply) in cases.iter().zip(replies) {
        let opened = reply.unwrap_or_else(|e| panic!("kcp-go rejected our {kind}: {e}"));
        assert_eq!(opened, *payload, "{kind}, {} bytes", payload.len());
    }
}

#[test]
fn block_encryption_is_byte_identical_to_kcp_go() {
    // The bare BlockCrypt.Encrypt of random datagrams (20 to 1520 bytes, so past the XOR
    // pad's 1500 as well): ours and kcp-go's must agree byte for byte.
    let mut rng = TestRng::new(3);
    let mut cases = Vec::new();
    for kind in GO_KINDS.iter().filter(|k| **k != CipherKind::Null) {
        for size in sizes(4, 40) {
            cases.push((*kind, rng.bytes(size + 20)));
        }
    }
    let requests: Vec<String> = cases
        .iter()
        .map(|(kind, data)| format!("encrypt {kind} {}", hex_arg(data)))
        .collect();
    let replies = go(&requests);
    let crypts: Vec<Crypt> = GO_KINDS.iter().map(|k| crypt(*k)).collect();
    for ((kind, data), reply) in cases.iter().zip(replies) {
        let ours = &crypts[GO_KINDS.iter().position(|k| k == kind).unwrap()];
        let mut mine = data.clone();
        ours.block_crypt().unwrap().encrypt(&mut mine);
        assert_eq!(
            hex::encode(&mine),
            hex::encode(reply.unwrap()),
            "{kind}, {} bytes",
            data.len()
        );
    }
}

#[test]
fn corrupt_and_short_datagrams_fail_on_both_sides() {
    let mut rng = TestRng::new(4);
    let mut nonces = NonceRng::from_seed([5; 32]);
    let mut cases = Vec::new();
    for kind in GO_KINDS.iter().filter(|k| **k != CipherKind::Null) {
        let ours = crypt(*kind);
        for size in [0, 1, 24, 100, 1400] {
            let mut datagram = seal(&ours, &rng.bytes(size), &mut nonces);
            // kcp-go's CRC covers bytes 20.. of the plaintext, not the nonce: flip a bit at
            // 16.. (the CRC field or the payload), where every cipher turns it into a
            // checksum mismatch (CFB garbles the following block as well).
            let at = 16 + rng.below_eq(datagram.len() - 17);
            datagram[at] ^= 1 << rng.below_eq(7);
            let mut copy = datagram.clone();
            assert_eq!(ours.open(&mut copy), Err(OpenError::BadChecksum), "{kind}");
            cases.push((*kind, datagram, "checksum"));
        }
        for short in [0, 1, 19] {
            let datagram = rng.bytes(short);
            assert_eq!(ours.open(&mut datagram.clone()), Err(OpenError::TooShort));
            cases.push((*kind, datagram, "short"));
        }
    }
    let requests: Vec<String> = cases
        .iter()
        .map(|(kind, datagram, _)| format!("open {kind} {}", hex_arg(datagram)))
        .collect();
    for ((kind, _, expected), reply) in cases.iter().zip(go(&requests)) {
        assert_eq!(reply, Err((*expected).to_owned()), "{kind}");
    }
}

#[test]
fn aes_128_gcm_and_kcp_go_5_6_1_reject_each_other_cleanly() {
    // kcp-go 5.6.1 has no AEAD framing: kcptun 20210922 given `--crypt aes-128-gcm` falls
    // back to AES-256-CFB, which is what the Go peer runs for that name.
    let gcm = crypt(CipherKind::Aes128Gcm);
    let mut rng = TestRng::new(5);
    let mut nonces = NonceRng::from_seed([6; 32]);
    let payloads: Vec<Vec<u8>> = sizes(6, 30).into_iter().map(|n| rng.bytes(n)).collect();

    // Theirs to ours: every datagram is refused with a typed error, never a panic: too
    // short for a nonce and a tag (kcp-go's 20-byte header + under 8 bytes of payload), or
    // a tag that does not verify. Count each outcome, then compare with what the lengths
    // predict, so a datagram that opened, or an error of the wrong kind, shows up.
    let requests: Vec<String> = payloads
        .iter()
        .map(|p| format!("seal aes-128-gcm {}", hex_arg(p)))
        .collect();
    let (mut too_short, mut unauthentic, mut other) = (0, 0, Vec::new());
    for reply in go(&requests) {
        match gcm.open(&mut reply.unwrap()) {
            Err(OpenError::TooShort) => too_short += 1,
            Err(OpenError::AeadFailure) => unauthentic += 1,
            outcome => other.push(outcome),
        }
    }
    let expected_short = payloads.iter().filter(|p| 20 + p.len() < 28).count();
    assert!(expected_short > 0 && expected_short < payloads.len());
    assert_eq!(other, [], "kcp-go 5.6.1 datagrams must not open as AES-GCM");
    assert_eq!(too_short, expected_short);
    assert_eq!(unauthentic, payloads.len() - expected_short);

    // Ours to theirs: kcp-go decrypts with AES-CFB and counts a checksum error.
    let requests: Vec<String> = payloads
        .iter()
        .map(|p| format!("open aes-128-gcm {}", hex_arg(&seal(&gcm, p, &mut nonces))))
        .collect();
    for reply in go(&requests) {
        assert_eq!(reply, Err("checksum".to_owned()));
    }
}
