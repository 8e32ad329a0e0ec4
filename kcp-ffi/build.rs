//! Compiles `ikcp_log`, the one variadic function of the API, from C (stable Rust cannot
//! define C-variadic functions). Bare-metal targets have no C library to format with:
//! there the firmware compiles `c/ikcp_log.c` itself if it calls `ikcp_log`.

fn main() {
    println!("cargo:rerun-if-changed=c/ikcp_log.c");
    println!("cargo:rerun-if-changed=include/ikcp.h");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        return;
    }
    cc::Build::new()
        .file("c/ikcp_log.c")
        .include("include")
        .warnings(true)
        .link_lib_modifier("+whole-archive")
        .compile("kcp_ffi_log");
    // rustc's version script exports only the Rust symbols from the cdylib; a second
    // one (ELF linkers merge them) exports the C one too.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let apple = matches!(
        os.as_str(),
        "macos" | "ios" | "tvos" | "watchos" | "visionos"
    );
    let elf = family.split(',').any(|f| f == "unix") && !apple;
    if elf {
        let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
        let map = out.join("ikcp_log.map");
        std::fs::write(&map, "{ global: ikcp_log; };\n").expect("OUT_DIR is writable");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            map.display()
        );
    }
}
