//! kcp_session.h compiles as C99 and as C++11 with every warning an error, and the static
//! library exports exactly the functions it declares.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/setup.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn header_is_clean_c99_and_cxx11() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kcp-session-ffi");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let src = dir.join("include_only.c");
    std::fs::write(
        &src,
        "#include \"kcp_session.h\"\nint main(void) { return 0; }\n",
    )
    .expect("write source");
    for (compiler, std) in [("gcc", "-std=c99"), ("g++", "-std=c++11")] {
        let mut cmd = Command::new(compiler);
        if compiler == "g++" {
            cmd.args(["-x", "c++"]);
        }
        run(cmd
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-Werror",
                "-fsyntax-only",
            ])
            .arg(format!("-I{}", include_dir().display()))
            .arg(&src));
    }
}

#[test]
fn library_exports_what_the_header_declares() {
    // The functions: `kcps_` words followed by a parenthesis (types are not).
    let text = run(Command::new("gcc")
        .args(["-E", "-P"])
        .arg(include_dir().join("kcp_session.h")));
    let declared: BTreeSet<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| w.starts_with("kcps_") && text.contains(&format!("{w}(")))
        .map(str::to_owned)
        .collect();
    let lib = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .expect("deps directory")
        .join("libkcp_session_ffi.a");
    let exported: BTreeSet<String> =
        run(Command::new("nm").args(["-g", "--defined-only"]).arg(&lib))
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let (kind, name) = (fields.nth(1)?, fields.next()?);
                (kind == "T" && name.starts_with("kcps_")).then(|| name.to_owned())
            })
            .collect();
    assert!(declared.len() >= 20, "{declared:?}");
    assert_eq!(declared, exported);
}
