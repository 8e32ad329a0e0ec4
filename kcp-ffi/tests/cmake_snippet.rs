//! The CMake snippet of the README, run: a CMake project made of `examples/c/hello.c`
//! and the README's ```cmake block, configured and built with CMake, must produce a
//! program that runs. The snippet's `cargo build` runs a stand-in `cargo` (first on the
//! PATH) that checks its arguments and puts the library this test run built where cargo
//! would; everything else is the snippet as written. Needs `cmake` (scripts/setup.sh
//! installs it).

mod support;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::Command;

use support::{crate_dir, include_dir, run, scratch, staticlib};

#[test]
fn readme_cmake_snippet_builds_and_links_hello() {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).expect("README.md");
    let snippet = readme
        .split("```cmake\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```cmake block in the README");

    let dir = scratch("cmake-snippet");
    let project = dir.join("project");
    let kcp_rs = project.join("third_party/kcp-rs");
    std::fs::create_dir_all(kcp_rs.join("kcp-ffi")).expect("mkdir");
    symlink(include_dir(), kcp_rs.join("kcp-ffi/include")).expect("symlink include");
    std::fs::copy(
        crate_dir().join("examples/c/hello.c"),
        project.join("hello.c"),
    )
    .expect("copy hello.c");
    std::fs::write(
        project.join("CMakeLists.txt"),
        format!(
            "cmake_minimum_required(VERSION 3.13)\nproject(snippet C)\n\
             add_executable(my_game hello.c)\n{snippet}"
        ),
    )
    .expect("write CMakeLists.txt");

    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    let fake = bin.join("cargo");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nset -e\n[ \"$*\" = \"build -p kcp-ffi --release\" ] || \
             {{ echo \"unexpected: cargo $*\" >&2; exit 1; }}\n\
             mkdir -p target/release\ncp '{}' target/release/libkcp_ffi.a\n",
            staticlib().display()
        ),
    )
    .expect("write fake cargo");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let build = dir.join("build");
    assert!(
        Command::new("cmake").arg("--version").output().is_ok(),
        "cmake is not installed: run scripts/setup.sh (apt-get install cmake)"
    );
    let cmake = |args: &[&str]| run(Command::new("cmake").args(args).env("PATH", &path));
    cmake(&[
        "-S",
        project.to_str().expect("utf-8"),
        "-B",
        build.to_str().expect("utf-8"),
    ]);
    cmake(&["--build", build.to_str().expect("utf-8")]);
    assert!(
        kcp_rs.join("target/release/libkcp_ffi.a").exists(),
        "the snippet ran cargo"
    );
    let out = run(&mut Command::new(build.join("my_game")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("10 messages"), "{stdout}");
}
