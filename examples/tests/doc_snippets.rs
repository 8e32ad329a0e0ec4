//! The documentation's code is code: every ```rust and ```c block in the README, `docs/` and
//! the crates' READMEs appears verbatim below (or in `doc_snippets/*.c`), where the compiler
//! checks it against today's API; and every `cargo` command in a ```sh block names a
//! package, example, bench, feature or path that exists.
//!
//! When a test here fails, the message names the file and the block: copy the block into the
//! harness below (inside a function that supplies what it uses), or fix the document.
#![allow(
    dead_code,
    unused_imports,
    unused_variables,
    unused_mut,
    unreachable_code
)]
#![allow(clippy::all)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Res = Result<(), Box<dyn std::error::Error>>;

// ---- Rust blocks, each inside a function that supplies the names it uses ----------------
// (rustfmt would realign the documents' comments; the blocks stay as the documents show them)

#[rustfmt::skip]
mod snippets {
use super::Res;

/// docs/usage.md: the tokio listener and stream.
async fn usage_tokio() -> Res {
    use kcp_session::{Config, KcpListener, KcpStream};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let settings = Config::kcptun().build()?;          // kcptun's defaults: aes, fast, FEC 10/3
    let listener = KcpListener::bind("0.0.0.0:4000", &settings).await?;
    let (mut stream, peer) = listener.accept().await?;  // a kcp-go or kcptun client works too

    let mut client = KcpStream::connect("127.0.0.1:4000", &settings).await?;
    client.write_all(b"hello").await?;
    client.shutdown().await?;                            // waits until the peer acknowledged it
    Ok(())
}

/// docs/usage.md: the sans-io Endpoint on a blocking socket.
fn usage_endpoint() -> Res {
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};
    use kcp_session::{Config, Endpoint, Event};

    let socket = UdpSocket::bind("0.0.0.0:4000")?;
    // A 32-byte seed from the OS (or your hardware's random source): it keys the address
    // proof and the replay cache, so it must be secret.
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    let mut endpoint = Endpoint::new(&Config::kcptun().build()?, seed);
    endpoint.listen(true);
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u32;
    let (mut buf, mut data) = ([0u8; 1500], [0u8; 4096]);
    loop {
        // 1. Wait for datagrams, at most until the next timer; feed a bounded burst.
        let wait = endpoint.poll_timeout().map_or(10, |t| t.wrapping_sub(now()).clamp(1, 10));
        socket.set_read_timeout(Some(Duration::from_millis(wait.into())))?;
        for _ in 0..256 {
            let Ok((n, from)) = socket.recv_from(&mut buf) else { break };
            endpoint.handle(now(), from, &mut buf[..n]);
            socket.set_read_timeout(Some(Duration::from_micros(1)))?;
        }
        endpoint.handle_timeout(now());
        // 2. Your application: new sessions, and sessions that made progress.
        while endpoint.accept().is_some() {}
        while let Some(event) = endpoint.poll_event() {
            match event {
                // Echo what the send window has room for; the rest comes with the
                // next event, when acknowledgements have made room.
                Event::Progress(h) => loop {
                    let room = endpoint.session(h).map_or(0, |s| s.send_capacity());
                    match endpoint.recv(h, &mut data[..room.min(4096)]) {
                        Ok(n) if n > 0 => endpoint.send(now(), h, &data[..n])?,
                        _ => break,
                    };
                },
                Event::Ended(h) => endpoint.release(now(), h),
                Event::Incoming(_) => {}
            }
        }
        // 3. Send what is due; acknowledgements of the whole burst go out together.
        while let Some(t) = endpoint.poll_transmit(now()) {
            for datagram in t.datagrams() {
                socket.send_to(datagram, t.destination)?;
            }
        }
    }
    Ok(())
}

/// docs/usage.md: kcp-core on its own.
fn usage_core(conv: u32, now_ms: u32) -> Res {
    let (received, mut buf) = (Vec::<u8>::new(), [0u8; 4096]);
    use kcp_core::Kcp;

    let mut kcp = Kcp::new(conv);
    kcp.set_nodelay(1, 10, 2, true);       // kcptun's fast3
    kcp.set_window_size(1024, 1024)?;
    kcp.set_reserved(28);                  // headroom for the crypto + FEC headers below

    kcp.send(b"hello")?;
    kcp.update(now_ms, |datagram: &mut [u8]| {
        // datagram[..28] is yours to fill in place; then send it.
    });
    kcp.input(&received)?;                 // for every datagram from the peer
    let n = kcp.recv(&mut buf)?;           // a complete message
    let next = kcp.check(now_ms);          // when to call update again
    Ok(())
}

/// docs/congestion.md: the controller.
fn congestion_bbr() {
    let mut cfg = kcp_session::Config::kcptun();
    cfg.congestion = kcp_session::Congestion::Bbr;
    let settings = cfg.build().expect("a valid configuration");
}

/// docs/pacing.md: a fixed sending rate.
fn pacing_rate_limit() {
    let mut cfg = kcp_session::Config::kcptun();
    cfg.rate_limit = Some(1_200_000); // bytes/s on the wire, a little under the path's rate
    let settings = cfg.build().expect("a valid configuration");
}
}

// ---- the checks -----------------------------------------------------------------------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Markdown files whose code blocks are checked.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "."] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                if dir == "." {
                    p.is_dir() && p.join("README.md").is_file() && p.join("Cargo.toml").is_file()
                } else {
                    p.extension().is_some_and(|e| e == "md")
                }
            })
            .map(|p| if dir == "." { p.join("README.md") } else { p })
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// The fenced blocks of one Markdown file: (info string, first line number, lines).
fn blocks(text: &str) -> Vec<(String, usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            match open.take() {
                Some(block) => out.push(block),
                None => open = Some((info.trim().to_owned(), i + 1, Vec::new())),
            }
        } else if let Some((_, _, lines)) = open.as_mut() {
            lines.push(line.to_owned());
        }
    }
    assert!(open.is_none(), "an unclosed code fence");
    out
}

fn normalized(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A block's paragraphs (runs of non-empty lines), trimmed: the harness may put what a
/// fragment needs (an enclosing function, declarations) between them.
fn paragraphs(lines: &[String]) -> Vec<Vec<String>> {
    lines
        .split(|l| l.trim().is_empty())
        .filter(|p| !p.is_empty())
        .map(normalized)
        .collect()
}

/// Whether each paragraph of `block` appears, contiguous, among `haystack`'s lines.
fn contains(haystack: &[String], block: &[String]) -> bool {
    paragraphs(block)
        .iter()
        .all(|p| haystack.windows(p.len()).any(|w| w == p.as_slice()))
}

fn relative(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

fn check_blocks(lang: &str, harness: &str) -> usize {
    let harness = normalized(&harness.lines().map(str::to_owned).collect::<Vec<_>>());
    let mut checked = 0;
    let mut missing = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (info, line, lines) in blocks(&text) {
            if info.split(',').next() != Some(lang) {
                continue;
            }
            checked += 1;
            if !contains(&harness, &lines) {
                missing.push(format!("{}:{line}", relative(&doc)));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "```{lang} blocks not in the compiled harness (copy them into examples/tests/doc_snippets*): {missing:?}"
    );
    checked
}

#[test]
fn every_rust_block_is_compiled_here() {
    let n = check_blocks("rust", include_str!("doc_snippets.rs"));
    assert!(
        n >= 4,
        "found only {n} ```rust blocks: is the document walk broken?"
    );
}

#[test]
fn every_c_block_compiles_against_the_headers() {
    let dir = root().join("examples/tests/doc_snippets");
    let mut harness = String::new();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for src in &sources {
        harness.push_str(&std::fs::read_to_string(src).unwrap());
        let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args([
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-Werror",
                "-fsyntax-only",
            ])
            // Fragments show a call, not what is done with its result.
            .args([
                "-Wno-unused-parameter",
                "-Wno-unused-but-set-variable",
                "-Wno-unused-variable",
            ])
            .arg("-I")
            .arg(root().join("kcp-ffi/include"))
            .arg("-I")
            .arg(root().join("kcp-session-ffi/include"))
            .arg(src)
            .output()
            .expect("a C compiler (cc) on PATH");
        assert!(
            out.status.success(),
            "{} does not compile:\n{}",
            relative(src),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let n = check_blocks("c", &harness);
    assert!(
        n >= 2,
        "found only {n} ```c blocks: is the document walk broken?"
    );
}

/// What `cargo metadata` says exists: package name → (directory, examples, benches, bins,
/// features).
struct Package {
    dir: PathBuf,
    targets: BTreeMap<&'static str, BTreeSet<String>>,
    features: BTreeSet<String>,
}

fn packages() -> BTreeMap<String, Package> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut map = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let mut targets: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for t in p["targets"].as_array().unwrap() {
            for kind in t["kind"].as_array().unwrap() {
                let kind = match kind.as_str().unwrap() {
                    "example" => "--example",
                    "bench" => "--bench",
                    "bin" => "--bin",
                    "test" => "--test",
                    _ => continue,
                };
                targets
                    .entry(kind)
                    .or_default()
                    .insert(t["name"].as_str().unwrap().to_owned());
            }
        }
        let features = p["features"].as_object().unwrap().keys().cloned().collect();
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_path_buf();
        map.insert(
            p["name"].as_str().unwrap().to_owned(),
            Package {
                dir,
                targets,
                features,
            },
        );
    }
    map
}

/// One problem with a `cargo` command line, or None when everything it names exists.
fn check_cargo_command(words: &[&str], packages: &BTreeMap<String, Package>) -> Vec<String> {
    let mut problems = Vec::new();
    let args: Vec<&str> = words
        .iter()
        .take_while(|w| **w != "--" && !w.starts_with('#'))
        .copied()
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|w| *w == flag)
            .and_then(|i| args.get(i + 1).copied())
    };
    let package = value("-p").or_else(|| value("--package"));
    if let Some(name) = package {
        match packages.get(name) {
            None => problems.push(format!("no package {name}")),
            Some(p) => {
                for kind in ["--example", "--bench", "--bin", "--test"] {
                    if let Some(target) = value(kind) {
                        if !p.targets.get(kind).is_some_and(|t| t.contains(target)) {
                            problems.push(format!("{name} has no {kind} {target}"));
                        }
                    }
                }
                if let Some(features) = value("--features") {
                    for f in features.split(',') {
                        if !p.features.contains(f) {
                            problems.push(format!("{name} has no feature {f}"));
                        }
                    }
                }
            }
        }
    }
    if let Some(path) = value("--path") {
        if !root().join(path).join("Cargo.toml").is_file() {
            problems.push(format!("no crate at --path {path}"));
        }
    }
    problems
}

#[test]
fn every_cargo_command_names_what_exists() {
    let packages = packages();
    let mut checked = 0;
    let mut problems = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (info, line, lines) in blocks(&text) {
            if !matches!(info.as_str(), "sh" | "bash" | "console" | "shell") {
                continue;
            }
            for (i, l) in lines.iter().enumerate() {
                let words: Vec<&str> = l
                    .trim()
                    .trim_start_matches("$ ")
                    .split_whitespace()
                    .collect();
                let Some(at) = words.iter().position(|w| *w == "cargo") else {
                    continue;
                };
                checked += 1;
                for p in check_cargo_command(&words[at..], &packages) {
                    problems.push(format!("{}:{}: {p}", relative(&doc), line + 1 + i));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "documented commands that cannot work: {problems:#?}"
    );
    assert!(
        checked >= 10,
        "found only {checked} cargo commands: is the document walk broken?"
    );
}

#[test]
fn the_command_checker_catches_what_is_wrong() {
    let packages = packages();
    let bad = |cmd: &str| {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        check_cargo_command(&words, &packages)
    };
    assert!(bad("cargo run -p kcp-examples --example demo -- --x 1").is_empty());
    assert_eq!(bad("cargo run -p kcp-examples --example nope").len(), 1);
    assert_eq!(bad("cargo run -p no-such-crate").len(), 1);
    assert_eq!(bad("cargo bench -p kcp-benches --bench nope").len(), 1);
    assert_eq!(bad("cargo install --path no-such-dir").len(), 1);
    assert_eq!(
        bad("cargo run -p kcp-examples --features no-such --example demo").len(),
        1
    );
}
