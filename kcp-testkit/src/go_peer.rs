//! Building the Go peer programs kept under `peers/` in this repository.
//!
//! `peers/` is a Go module (`peers/go.mod`) that pins the real kcp-go by version: 5.6.1,
//! the release Debian packages and kcptun 20210922 was built with. A program that needs
//! another kcp-go is a module of its own (`peers/oob/go.mod` pins 5.6.60, the first
//! release with out-of-band datagrams). Every program builds in module mode from the
//! local module cache, offline: `scripts/setup.sh` downloads the pinned modules once
//! through the Go module proxy (`go mod download`). A missing Go toolchain or module is a
//! test failure with instructions, never a silent skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("kcp-testkit lives inside the workspace")
        .to_path_buf()
}

/// The Go module of the kcp-go 5.6.1 peers (`peers/`).
pub fn module_dir() -> PathBuf {
    workspace_root().join("peers")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `peers/<name>` (a Go `package main` of the peers module, or a module of its own
/// when `peers/<name>/go.mod` exists) once per process and returns the binary's path. Panics with a clear message when Go or a pinned module is
/// missing or the build fails.
pub fn build(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let module = module_dir();
    assert!(
        module.join(name).is_dir(),
        "no Go peer program at {}",
        module.join(name).display()
    );
    let out_dir = target_dir().join("go-peers");
    std::fs::create_dir_all(&out_dir).expect("create target/go-peers");
    // Build under a per-process name, then rename: test binaries may build concurrently.
    let tmp = out_dir.join(format!("{name}.{}.tmp", std::process::id()));
    let out = out_dir.join(name);
    let (dir, package) = if module.join(name).join("go.mod").is_file() {
        (module.join(name), ".".to_owned())
    } else {
        (module.clone(), format!("./{name}"))
    };
    let output = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&tmp)
        .arg(package)
        .current_dir(&dir)
        .env("GO111MODULE", "on")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .env("GOPROXY", "off")
        .env("GOCACHE", out_dir.join("cache"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `go` ({e}): the Go toolchain is missing; install Go 1.24 or \
                 newer, then run scripts/setup.sh"
            )
        });
    assert!(
        output.status.success(),
        "go build of peers/{name} failed ({}); if a module is missing from the module \
         cache, run scripts/setup.sh (it runs `go mod download` in peers/ and peers/oob/):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&tmp, &out).expect("move the built Go peer into place");
    built.push((name.to_owned(), out.clone()));
    out
}
