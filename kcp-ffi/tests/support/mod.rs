//! Building and running C and C++ programs against the library under test.
//!
//! `cargo test` builds this crate's `staticlib` and `cdylib` next to the test binaries
//! (`target/<profile>/deps/libkcp_ffi.{a,so}`), from the same sources as the tests, so
//! the programs here link exactly the code under test. gcc and g++ must be installed
//! (`scripts/setup.sh` does it); the upstream ikcp sources come from the `kcp-sys` crate
//! in cargo's registry.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The library's `include/` (its `ikcp.h`).
pub(crate) fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// `tests/c/`: the C sources of the tests.
pub(crate) fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// The crate's own directory.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put `libkcp_ffi.a` and `libkcp_ffi.so` for this test run.
pub(crate) fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().expect("deps directory").to_path_buf();
    let lib = dir.join("libkcp_ffi.a");
    assert!(
        lib.exists(),
        "{} is missing: cargo builds it with the crate's tests (`cargo test -p kcp-ffi`)",
        lib.display()
    );
    dir
}

/// The static library under test.
pub(crate) fn staticlib() -> PathBuf {
    lib_dir().join("libkcp_ffi.a")
}

/// The libraries a Rust `staticlib` needs on Linux after it, on the link line.
pub(crate) const SYSTEM_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm", "-lrt", "-lutil"];

/// The upstream ikcp 1.7.1 sources (`ikcp.c`, `ikcp.h`, `test.cpp`, `test.h`) shipped in
/// the `kcp-sys` crate, from cargo's registry. Fails with instructions when absent.
pub(crate) fn upstream_dir() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let find = || {
        let src = home.join("registry/src");
        std::fs::read_dir(&src).ok()?.flatten().find_map(|index| {
            let dir = index.path().join("kcp-sys-0.1.0/kcp");
            dir.join("ikcp.c").exists().then_some(dir)
        })
    };
    if let Some(dir) = find() {
        return dir;
    }
    // The workspace depends on kcp-sys (the C oracle of kcp-testkit): fetch it.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _ = Command::new(cargo)
        .args(["fetch", "--manifest-path"])
        .arg(crate_dir().join("../Cargo.toml"))
        .status();
    find().unwrap_or_else(|| {
        panic!(
            "the kcp-sys 0.1.0 sources (ikcp.c, test.cpp) are not in {}: run `cargo fetch` \
             in the workspace (kcp-testkit depends on kcp-sys)",
            home.join("registry/src").display()
        )
    })
}

/// A fresh, empty scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("kcp-ffi")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Runs a command to completion; panics with its output unless it exits 0.
pub(crate) fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (is gcc/g++ installed? run scripts/setup.sh)")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compiles C sources (`gcc`, or `g++` when `cxx`) into objects in `dir`; returns them.
pub(crate) fn compile(dir: &Path, cxx: bool, flags: &[&str], sources: &[PathBuf]) -> Vec<PathBuf> {
    sources
        .iter()
        .map(|src| {
            let stem = src.file_stem().expect("file name").to_string_lossy();
            let obj = dir.join(format!("{stem}.o"));
            run(Command::new(if cxx { "g++" } else { "gcc" })
                .args(flags)
                .arg("-c")
                .arg(src)
                .arg("-o")
                .arg(&obj));
            obj
        })
        .collect()
}

/// Links objects and libraries into the program `dir/name`; returns its path.
pub(crate) fn link(
    dir: &Path,
    name: &str,
    cxx: bool,
    flags: &[&str],
    inputs: &[PathBuf],
) -> PathBuf {
    let exe = dir.join(name);
    run(Command::new(if cxx { "g++" } else { "gcc" })
        .args(flags)
        .args(inputs)
        .args(SYSTEM_LIBS)
        .arg("-o")
        .arg(&exe));
    exe
}

/// Global symbols an object or archive defines (`nm -g --defined-only`).
pub(crate) fn defined_symbols(path: &Path) -> Vec<String> {
    let out = run(Command::new("nm").args(["-g", "--defined-only"]).arg(path));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind != "U").then(|| name.to_owned())
        })
        .collect()
}

/// Symbols a shared library exports (`nm -D --defined-only`).
pub(crate) fn exported_symbols(path: &Path) -> Vec<String> {
    let out = run(Command::new("nm").args(["-D", "--defined-only"]).arg(path));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

/// Builds the real ikcp.c 1.7.1 with every external name prefixed by `c_`
/// (`tests/c/rename.h`), checks that nothing kept its ikcp name, and returns the object.
pub(crate) fn renamed_ikcp_c(dir: &Path, flags: &[&str]) -> PathBuf {
    let upstream = upstream_dir();
    let rename = c_dir().join("rename.h");
    let mut all = flags.to_vec();
    let include = format!("-I{}", upstream.display());
    all.extend([
        "-w",
        "-include",
        rename.to_str().expect("utf-8 path"),
        &include,
    ]);
    let obj = dir.join("ikcp_c.o");
    run(Command::new("gcc")
        .args(&all)
        .arg("-c")
        .arg(upstream.join("ikcp.c"))
        .arg("-o")
        .arg(&obj));
    let clashing: Vec<String> = defined_symbols(&obj)
        .into_iter()
        .filter(|s| s.starts_with("ikcp") || s.starts_with("IKCP") || s.starts_with("iqueue"))
        .collect();
    assert!(
        clashing.is_empty(),
        "ikcp.c defines names that tests/c/rename.h does not prefix: {clashing:?}"
    );
    obj
}
