//! `include/ikcp.h` against the library and against ikcp 1.7.1's own header: the same
//! functions, all of them exported (from the static and the shared library), the same
//! struct layout as the Rust side and as the upstream header, and a header that compiles
//! warning-free as C and as C++.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use kcp_ffi::IKCPCB;
use support::{
    SYSTEM_LIBS, defined_symbols, exported_symbols, include_dir, lib_dir, run, scratch, staticlib,
    upstream_dir,
};

/// The functions ikcp.h 1.7.1 declares.
const API: [&str; 17] = [
    "ikcp_create",
    "ikcp_release",
    "ikcp_setoutput",
    "ikcp_recv",
    "ikcp_send",
    "ikcp_update",
    "ikcp_check",
    "ikcp_input",
    "ikcp_flush",
    "ikcp_peeksize",
    "ikcp_setmtu",
    "ikcp_wndsize",
    "ikcp_waitsnd",
    "ikcp_nodelay",
    "ikcp_log",
    "ikcp_allocator",
    "ikcp_getconv",
];

/// The `ikcp_*` names a header declares as functions: comments and preprocessor lines
/// (with their continuations) removed, then every `ikcp_name(` outside parentheses.
fn declared_functions(header: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(header)
        .expect("read header")
        .replace("\r\n", "\n");
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    code.push_str(rest);
    let code = code.replace("\\\n", " ");
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    let mut depth = 0;
    let bytes = code.as_bytes();
    for (i, c) in code.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0
            && code[i..].starts_with("ikcp_")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            let name: String = code[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if code[i + name.len()..].trim_start().starts_with('(') {
                names.insert(name);
            }
        }
    }
    names
}

fn api() -> BTreeSet<String> {
    API.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn header_declares_exactly_the_upstream_functions() {
    assert_eq!(declared_functions(&include_dir().join("ikcp.h")), api());
    assert_eq!(declared_functions(&upstream_dir().join("ikcp.h")), api());
}

#[test]
fn libraries_export_every_declared_function() {
    let ikcp = |names: Vec<String>| -> BTreeSet<String> {
        names
            .into_iter()
            .filter(|n| n.starts_with("ikcp_"))
            .collect()
    };
    assert_eq!(ikcp(defined_symbols(&staticlib())), api(), "libkcp_ffi.a");
    assert_eq!(
        ikcp(exported_symbols(&lib_dir().join("libkcp_ffi.so"))),
        api(),
        "libkcp_ffi.so"
    );
}

/// `(field, offset)` of every field of `struct IKCPCB`, in declaration order, as the
/// Rust side lays it out.
macro_rules! rust_layout {
    ($($f:ident),* $(,)?) => {
        vec![$((stringify!($f), core::mem::offset_of!(IKCPCB, $f))),*]
    };
}

fn rust_fields() -> Vec<(&'static str, usize)> {
    rust_layout!(
        conv, mtu, mss, state, snd_una, snd_nxt, rcv_nxt, ts_recent, ts_lastack, ssthresh,
        rx_rttval, rx_srtt, rx_rto, rx_minrto, snd_wnd, rcv_wnd, rmt_wnd, cwnd, probe, current,
        interval, ts_flush, xmit, nrcv_buf, nsnd_buf, nrcv_que, nsnd_que, nodelay, updated,
        ts_probe, probe_wait, dead_link, incr, snd_queue, rcv_queue, snd_buf, rcv_buf, acklist,
        ackcount, ackblock, user, buffer, fastresend, fastlimit, nocwnd, stream, logmask, output,
        writelog,
    )
}

/// Compiles and runs a program that prints the layout of the structs of the `ikcp.h`
/// found in `include`.
fn c_layout(name: &str, include: &Path) -> String {
    let dir = scratch(name);
    let mut src = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"ikcp.h\"\nint main(void) {\n",
    );
    for (field, _) in rust_fields() {
        src.push_str(&format!(
            "  printf(\"{field} %zu\\n\", offsetof(struct IKCPCB, {field}));\n"
        ));
    }
    src.push_str("  printf(\"sizeof %zu\\n\", sizeof(struct IKCPCB));\n");
    src.push_str("  printf(\"segment %zu %zu\\n\", sizeof(struct IKCPSEG), offsetof(struct IKCPSEG, data));\n");
    src.push_str("  return 0;\n}\n");
    std::fs::write(dir.join("layout.c"), src).expect("write layout.c");
    let exe = dir.join("layout");
    run(Command::new("gcc")
        .arg(format!("-I{}", include.display()))
        .arg(dir.join("layout.c"))
        .arg("-o")
        .arg(&exe));
    String::from_utf8(run(&mut Command::new(exe)).stdout).expect("utf-8")
}

#[test]
fn struct_layout_matches_rust_and_upstream() {
    let ours = c_layout("layout-ours", &include_dir());
    let theirs = c_layout("layout-upstream", &upstream_dir());
    assert_eq!(
        ours, theirs,
        "ikcp.h and ikcp 1.7.1's header lay the structs out differently"
    );
    let mut rust: String = rust_fields()
        .into_iter()
        .map(|(f, o)| format!("{f} {o}\n"))
        .collect();
    rust.push_str(&format!("sizeof {}\n", size_of::<IKCPCB>()));
    assert!(
        ours.starts_with(&rust),
        "Rust and C layouts differ:\n--- Rust\n{rust}--- C\n{ours}"
    );
}

#[test]
fn header_compiles_cleanly_as_c_and_cpp_and_links() {
    let dir = scratch("header-use");
    let mut src = String::from("#include \"ikcp.h\"\n#include <stdio.h>\n");
    src.push_str("typedef void (*any_fn)(void);\n");
    src.push_str("int main(void) {\n  any_fn table[] = {\n");
    for f in API {
        src.push_str(&format!("    (any_fn){f},\n"));
    }
    src.push_str("  };\n  ikcpcb *k = ikcp_create(7, NULL);\n");
    src.push_str(
        "  int ok = k != NULL && k->conv == 7 && k->mtu == 1400 && ikcp_getconv(k) == 7;\n",
    );
    src.push_str("  ikcp_release(k);\n  printf(\"%d %d\\n\", (int)(sizeof(table) / sizeof(table[0])), ok);\n  return 0;\n}\n");
    for (file, compiler, std) in [
        ("use.c", "gcc", "-std=c99"),
        ("use.cpp", "g++", "-std=c++11"),
    ] {
        std::fs::write(dir.join(file), &src).expect("write source");
        let exe = dir.join(format!("{file}.exe"));
        let mut cmd = Command::new(compiler);
        cmd.args([std, "-Wall", "-Wextra", "-Werror"]);
        if compiler == "gcc" {
            cmd.arg("-pedantic");
        }
        run(cmd
            .arg(format!("-I{}", include_dir().display()))
            .arg(dir.join(file))
            .arg(staticlib())
            .args(SYSTEM_LIBS)
            .arg("-o")
            .arg(&exe));
        let out = run(&mut Command::new(&exe));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "17 1\n", "{file}");
    }
}
