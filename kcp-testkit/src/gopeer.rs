//! Building and running the Go peer programs kept under `peers/` in this repository.
//!
//! The programs import `github.com/xtaci/kcp-go` (without `/v5`) and build in GOPATH mode
//! against Debian's `golang-github-xtaci-kcp-dev` 5.6.1 sources in `/usr/share/gocode`,
//! offline. A missing Go toolchain or kcp-go package is a test failure with instructions,
//! never a silent skip: `scripts/setup.sh` installs both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Where Debian installs Go library sources (kcp-go 5.6.1 and its dependencies).
pub const GOPATH: &str = "/usr/share/gocode";

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("kcp-testkit lives inside the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `peers/<name>` (a Go `package main`) once per process and returns the binary's
/// path. Panics with a clear message when Go or kcp-go is missing or the build fails.
pub fn build(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let src = workspace_root().join("peers").join(name);
    assert!(src.is_dir(), "no Go peer program at {}", src.display());
    let kcp_go = Path::new(GOPATH).join("src/github.com/xtaci/kcp-go");
    assert!(
        kcp_go.is_dir(),
        "kcp-go 5.6.1 sources are missing ({}): run scripts/setup.sh \
         (apt-get install golang-go golang-github-xtaci-kcp-dev)",
        kcp_go.display()
    );
    let out_dir = target_dir().join("go-peers");
    std::fs::create_dir_all(&out_dir).expect("create target/go-peers");
    // Build under a per-process name, then rename: test binaries may build concurrently.
    let tmp = out_dir.join(format!("{name}.{}.tmp", std::process::id()));
    let out = out_dir.join(name);
    let status = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&tmp)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", out_dir.join("cache"))
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `go` ({e}): the Go toolchain is missing; run scripts/setup.sh \
                 (apt-get install golang-go golang-github-xtaci-kcp-dev)"
            )
        });
    assert!(
        status.success(),
        "go build of peers/{name} failed: {status}"
    );
    std::fs::rename(&tmp, &out).expect("move the built Go peer into place");
    built.push((name.to_owned(), out.clone()));
    out
}
