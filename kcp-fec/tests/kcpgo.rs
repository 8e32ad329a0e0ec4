//! Cross-check with the real kcp-go 5.6.1 (pinned in peers/go.mod), through
//! the Go program `peers/fec`, which runs kcp-go UDPSessions with FEC over an in-memory
//! packet connection. For 10/3, 7/2, 3/1 and 1/1, without a cipher (`null`) and behind
//! kcp-go's 20-byte nonce + CRC32 header (`none`):
//!
//! - kcp-go sends: our encoder, fed the same KCP frames, produces byte-identical data and
//!   parity datagrams; our decoder, after up to `parity` shards per group are dropped,
//!   yields every KCP frame kcp-go sent, exactly once.
//! - we send: kcp-go, given our datagrams with up to `parity` shards per group dropped
//!   (never retransmitted: there is no KCP sender behind them), delivers every message,
//!   and its `FECRecovered` counter equals the number of data shards we dropped.
//!
//! Both directions run through every GF(2^8) kernel this CPU has: each kernel's encoder
//! must reproduce kcp-go's datagrams, each kernel's decoder must rebuild kcp-go's frames,
//! and kcp-go gets the datagrams all our kernels agree on.
//!
//! A missing Go toolchain or kcp-go package fails these tests (run scripts/setup.sh).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use kcp_fec::{
    Decoder, DecoderConfig, Encoder, EncoderConfig, Kernel, PacketKind, Shards, classify,
};

fn kernels() -> impl Iterator<Item = Kernel> {
    Kernel::available()
}

const SHARDS: [(usize, usize); 4] = [(10, 3), (7, 2), (3, 1), (1, 1)];
const CRYPTS: [&str; 2] = ["null", "none"];
const CONV: u32 = 0x1122_3344;

/// kcp-go's crypto header for the `none` cipher: 16-byte nonce, CRC32 of the rest.
fn crypto_offset(crypt: &str) -> usize {
    if crypt == "none" { 20 } else { 0 }
}

fn run_go(args: &[String], stdin: &[u8]) -> Vec<u8> {
    let bin = kcp_testkit::go_peer::build("fec");
    let mut child = Command::new(&bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "peers/fec {args:?} failed: {}",
        out.status
    );
    out.stdout
}

/// Command line of `peers/fec`: mode, shard counts, cipher, our conv, then `extra`.
fn go_args(mode: &str, k: usize, m: usize, crypt: &str, extra: &[&str]) -> Vec<String> {
    let (k, m, conv) = (k.to_string(), m.to_string(), CONV.to_string());
    let common = [mode, "-ds", &k, "-ps", &m, "-crypt", crypt, "-conv", &conv];
    common.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn frame_records(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

fn parse_records(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        out.push(bytes[4..4 + len].to_vec());
        bytes = &bytes[4 + len..];
    }
    out
}

/// Strips (and checks) kcp-go's nonce + CRC32 header.
fn open(datagram: &[u8], offset: usize) -> &[u8] {
    if offset == 0 {
        return datagram;
    }
    let crc = u32::from_le_bytes(datagram[16..20].try_into().unwrap());
    assert_eq!(crc, crc32fast::hash(&datagram[20..]), "kcp-go CRC32");
    &datagram[offset..]
}

/// Fills kcp-go's nonce + CRC32 header in place.
fn seal(datagram: &mut [u8], offset: usize, nonce: u8) {
    if offset == 0 {
        return;
    }
    datagram[..16].fill(nonce);
    let crc = crc32fast::hash(&datagram[20..]);
    datagram[16..20].copy_from_slice(&crc.to_le_bytes());
}

fn seqid(payload: &[u8]) -> u32 {
    u32::from_le_bytes(payload[..4].try_into().unwrap())
}

/// Which shards of each group to drop: group `g` loses `g % (parity + 1)` shards, picked
/// from a rotating mix of data and parity positions. Groups missing any shard on the wire
/// (the incomplete last one) lose nothing.
fn drop_plan(seqids: &[u32], shards: Shards) -> Vec<bool> {
    let n = shards.total() as u32;
    let mut per_group: HashMap<u32, usize> = HashMap::new();
    for &s in seqids {
        *per_group.entry(s / n).or_default() += 1;
    }
    seqids
        .iter()
        .map(|&s| {
            let g = s / n;
            if per_group[&g] != shards.total() {
                return false;
            }
            let g = g as usize;
            let losses = g % (shards.parity() + 1);
            // Positions r, r + 3, r + 6, ... modulo n with r advancing every parity + 1
            // groups, so that data and parity positions both get hit.
            let r = g / (shards.parity() + 1);
            (0..losses).any(|j| (r + 3 * j) % shards.total() == (s % n) as usize)
        })
        .collect()
}

fn kcpgo_sends_we_decode(k: usize, m: usize, crypt: &str) {
    let shards = Shards::new(k, m).unwrap();
    let offset = crypto_offset(crypt);
    let seed = (k * 31 + m).to_string();
    let args = go_args("send", k, m, crypt, &["-msgs", "120", "-seed", &seed]);
    let records = parse_records(&run_go(&args, &[]));
    let payloads: Vec<&[u8]> = records.iter().map(|d| open(d, offset)).collect();
    assert!(
        payloads.len() >= 10 * shards.total(),
        "{k}/{m} {crypt}: only {} datagrams",
        payloads.len()
    );
    // The window announcement the Go side injected is incoming, so everything here is FEC.
    assert!(payloads.iter().all(|p| classify(p) != PacketKind::Kcp));
    for kernel in kernels() {
        we_match_kcpgo(&payloads, shards, offset, kernel, crypt);
    }
}

/// Our encoder and decoder, running `kernel`, against the datagrams kcp-go sent.
fn we_match_kcpgo(payloads: &[&[u8]], shards: Shards, offset: usize, kernel: Kernel, crypt: &str) {
    let (k, m) = (shards.data(), shards.parity());
    // 1. Our encoder, given kcp-go's KCP frames in order, emits the same datagrams.
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = offset;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();
    let mut ours: Vec<Vec<u8>> = Vec::new();
    let mut next_parity = 0;
    let mut parity = Vec::new();
    for p in payloads {
        match classify(p) {
            PacketKind::Data => {
                let mut d = vec![0u8; enc.header_len()];
                d.extend_from_slice(&p[8..]);
                enc.encode(&mut d, 0, |x| parity.push(x.as_bytes()[offset..].to_vec()))
                    .unwrap();
                ours.push(d[offset..].to_vec());
                assert_eq!(
                    ours.last().unwrap()[..],
                    p[..],
                    "{k}/{m} {crypt} {kernel}: data datagram"
                );
            }
            _ => {
                assert_eq!(
                    parity[next_parity][..],
                    p[..],
                    "{k}/{m} {crypt} {kernel}: parity datagram"
                );
                next_parity += 1;
            }
        }
    }
    assert_eq!(next_parity, parity.len());
    assert!(next_parity >= 10 * m);

    // 2. Our decoder rebuilds every dropped data frame.
    let seqids: Vec<u32> = payloads.iter().map(|p| seqid(p)).collect();
    let plan = drop_plan(&seqids, shards);
    let mut expected: Vec<&[u8]> = payloads
        .iter()
        .filter(|p| classify(p) == PacketKind::Data)
        .map(|p| &p[8..])
        .collect();
    let dropped_data = payloads
        .iter()
        .zip(&plan)
        .filter(|(p, d)| **d && classify(p) == PacketKind::Data)
        .count();
    assert!(dropped_data >= 3, "{k}/{m}: the plan must drop data shards");
    let mut dcfg = DecoderConfig::new(shards);
    dcfg.kernel = Some(kernel);
    let mut dec = Decoder::new(dcfg).unwrap();
    let mut got: Vec<Vec<u8>> = Vec::new();
    for (p, _) in payloads.iter().zip(&plan).filter(|(_, d)| !**d) {
        if let Some(f) = dec.decode(p, 0, |r| got.push(r.to_vec())).unwrap() {
            got.push(f.to_vec());
        }
    }
    let mut got: Vec<&[u8]> = got.iter().map(Vec::as_slice).collect();
    got.sort();
    expected.sort();
    assert!(
        got == expected,
        "{k}/{m} {crypt} {kernel}: decoded frames differ from kcp-go's"
    );
    let st = dec.stats();
    assert_eq!(
        st.recovered, dropped_data as u64,
        "{k}/{m} {crypt} {kernel}"
    );
    assert_eq!(
        (st.errors, st.ignored, st.retunes),
        (0, 0, 0),
        "{k}/{m} {crypt} {kernel}"
    );
}

/// A KCP PUSH segment as ikcp lays it out: conv, cmd 81, frg 0, wnd, ts, sn, una 0, len.
fn push_segment(out: &mut Vec<u8>, sn: u32, payload: &[u8]) {
    out.extend_from_slice(&CONV.to_le_bytes());
    out.extend_from_slice(&[81, 0]);
    out.extend_from_slice(&1024u16.to_le_bytes());
    out.extend_from_slice(&(sn * 10).to_le_bytes());
    out.extend_from_slice(&sn.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

fn message(sn: u32) -> Vec<u8> {
    let len = 1 + (sn as usize * 97) % 400;
    let mut m = sn.to_le_bytes().to_vec();
    m.extend((0..len).map(|i| (i as u32 ^ sn.wrapping_mul(131)) as u8));
    m
}

fn we_send_kcpgo_decodes(k: usize, m: usize, crypt: &str) {
    let shards = Shards::new(k, m).unwrap();
    let offset = crypto_offset(crypt);
    let mut wires = kernels().map(|kernel| (kernel, our_wire(shards, offset, kernel)));
    let (_, wire) = wires.next().unwrap();
    for (kernel, other) in wires {
        assert!(
            other == wire,
            "{k}/{m} {crypt}: {kernel} sends other bytes than portable"
        );
    }
    kcpgo_decodes(shards, offset, crypt, wire);
}

/// 300 messages, one to three KCP segments per datagram, through our encoder.
fn our_wire(shards: Shards, offset: usize, kernel: Kernel) -> Vec<Vec<u8>> {
    let mut cfg = EncoderConfig::new(shards);
    cfg.offset = offset;
    cfg.kernel = Some(kernel);
    let mut enc = Encoder::new(cfg).unwrap();

    let mut wire: Vec<Vec<u8>> = Vec::new();
    let mut sn = 0;
    while sn < MSGS {
        let mut d = vec![0u8; enc.header_len()];
        let per = 1 + sn % 3;
        for _ in 0..per.min(MSGS - sn) {
            push_segment(&mut d, sn, &message(sn));
            sn += 1;
        }
        let mut parity = Vec::new();
        enc.encode(&mut d, 0, |mut p| {
            seal(p.datagram(), offset, 0xA5);
            parity.push(p.as_bytes().to_vec());
        })
        .unwrap();
        seal(&mut d, offset, 0x5A);
        wire.push(d);
        wire.extend(parity);
    }
    wire
}

const MSGS: u32 = 300;

/// kcp-go, given `wire` with up to `parity` datagrams per group dropped, delivers every
/// message and counts the recoveries.
fn kcpgo_decodes(shards: Shards, offset: usize, crypt: &str, wire: Vec<Vec<u8>>) {
    let (k, m) = (shards.data(), shards.parity());
    let seqids: Vec<u32> = wire.iter().map(|d| seqid(&d[offset..])).collect();
    let plan = drop_plan(&seqids, shards);
    let dropped_data = wire
        .iter()
        .zip(&plan)
        .filter(|(d, x)| **x && classify(&d[offset..]) == PacketKind::Data)
        .count();
    assert!(dropped_data >= 3);
    let kept: Vec<Vec<u8>> = wire
        .into_iter()
        .zip(&plan)
        .filter(|(_, x)| !**x)
        .map(|(d, _)| d)
        .collect();

    let args = go_args("recv", k, m, crypt, &["-msgs", &MSGS.to_string()]);
    let out = String::from_utf8(run_go(&args, &frame_records(&kept))).unwrap();
    let mut lines = out.lines();
    let mut delivered = 0;
    for (sn, line) in (0..MSGS).zip(lines.by_ref()) {
        let hex = line.strip_prefix("msg ").unwrap_or_else(|| {
            panic!("{k}/{m} {crypt}: kcp-go delivered only {sn} messages; then {line}")
        });
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(bytes, message(sn), "{k}/{m} {crypt}: message {sn}");
        delivered += 1;
    }
    assert_eq!(delivered, MSGS, "{k}/{m} {crypt}");
    let snmp: HashMap<&str, u64> = lines
        .next()
        .and_then(|l| l.strip_prefix("snmp "))
        .expect("snmp line")
        .split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    // kcp-go 5.6.1 with one data shard "recovers" from every parity packet that arrives
    // after its group's data was used (the group is freed, and the lone parity shard then
    // forms a solvable group of its own), so there FECRecovered counts parity packets. The
    // messages whose datagrams were dropped arrived all the same: only FEC can do that here.
    let kept_parity = kept
        .iter()
        .filter(|d| classify(&d[offset..]) == PacketKind::Parity)
        .count();
    let expect_recovered = if k == 1 { kept_parity } else { dropped_data };
    assert_eq!(
        snmp["FECRecovered"], expect_recovered as u64,
        "{k}/{m} {crypt}: {snmp:?}"
    );
    assert_eq!(
        snmp["FECParityShards"], kept_parity as u64,
        "{k}/{m} {crypt}: {snmp:?}"
    );
    assert_eq!(snmp["FECErrs"], 0, "{k}/{m} {crypt}: {snmp:?}");
    assert_eq!(snmp["InCsumErrors"], 0, "{k}/{m} {crypt}: {snmp:?}");
    assert_eq!(snmp["KCPInErrors"], 0, "{k}/{m} {crypt}: {snmp:?}");
}

#[test]
fn kcp_go_encodes_we_decode() {
    for (k, m) in SHARDS {
        for crypt in CRYPTS {
            kcpgo_sends_we_decode(k, m, crypt);
        }
    }
}

#[test]
fn we_encode_kcp_go_decodes() {
    for (k, m) in SHARDS {
        for crypt in CRYPTS {
            we_send_kcpgo_decodes(k, m, crypt);
        }
    }
}
