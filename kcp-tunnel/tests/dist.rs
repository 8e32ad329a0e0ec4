//! The files in `dist/` (systemd units, example JSON, their README, manual pages) agree
//! with the program: each unit's command line runs, each example parses and passes the
//! program's checks, every key in the examples is explained in the README, and the manual
//! pages are the ones the program's flags render to.

use std::path::PathBuf;
use std::process::Command;

use clap::CommandFactory;
use kcp_tunnel::config::{Cli, JsonConfig, Options, Role};

fn dist(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(dist(file)).unwrap_or_else(|e| panic!("dist/{file}: {e}"))
}

/// The examples parse, and pass `check` once a key is set; a server without one is
/// refused (kcptun's public default key on a public address), so an instance whose key
/// file was not filled in does not start.
#[test]
fn examples_parse_and_a_server_without_a_key_is_refused() {
    for (file, role) in [("server.json", Role::Server), ("client.json", Role::Client)] {
        let mut o = Options::defaults(role);
        o.apply_json(JsonConfig::parse(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}")));
        let unkeyed = o.check();
        o.kcp.key = "a long random secret".into();
        o.check().unwrap_or_else(|e| panic!("{file}: {e}"));
        if role == Role::Server {
            let e = unkeyed.unwrap_err();
            assert!(e.contains("default key"), "{e}");
        }
    }
}

/// Each unit's `ExecStart`, with the instance's file replaced by the example, is a command
/// line the program accepts: run without `KCPTUN_KEY`, the server stops at the key check
/// (before binding anything), not at a usage error.
#[test]
fn unit_command_lines_run() {
    for (unit, json) in [
        ("kcp-tunnel-server@.service", "server.json"),
        ("kcp-tunnel-client@.service", "client.json"),
    ] {
        let text = read(unit);
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap_or_else(|| panic!("{unit} has no ExecStart"));
        let mut words = exec.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/kcp-tunnel"), "{unit}");
        let args: Vec<String> = words
            .map(|w| match w {
                "/etc/kcp-tunnel/%i.json" => dist(json).to_string_lossy().into_owned(),
                w => w.to_owned(),
            })
            .collect();
        assert!(
            text.contains("EnvironmentFile=/etc/kcp-tunnel/%i.env"),
            "{unit}"
        );
        if json == "server.json" {
            let out = Command::new(env!("CARGO_BIN_EXE_kcp-tunnel"))
                .args(&args)
                .env_remove("KCPTUN_KEY")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{unit}: {err}");
            assert!(err.contains("default key"), "{unit}: {err}");
        } else {
            // The client would connect out: check its command line with --help instead.
            let out = Command::new(env!("CARGO_BIN_EXE_kcp-tunnel"))
                .args(&args)
                .arg("--help")
                .output()
                .unwrap();
            assert!(out.status.success(), "{unit}: {out:?}");
        }
    }
}

/// Every key of the examples has a row in dist/README.md's table.
#[test]
fn every_example_key_is_explained() {
    let readme = read("README.md");
    for file in ["server.json", "client.json"] {
        let value: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
        for key in value.as_object().unwrap().keys() {
            assert!(
                readme.contains(&format!("`{key}`")),
                "dist/README.md does not explain {key} of {file}"
            );
        }
    }
}

/// `dist/man/` holds the manual pages clap_mangen renders from the program's own flags
/// (`kcp-tunnel.1`, `kcp-tunnel-client.1`, `kcp-tunnel-server.1`), so a flag changed
/// without them fails here. `KCP_TUNNEL_WRITE_MAN=1 cargo test -p kcp-tunnel --test dist`
/// writes them anew.
#[test]
fn man_pages_are_current() {
    let fresh = std::env::temp_dir().join(format!("kcp-tunnel-man-{}", std::process::id()));
    std::fs::create_dir_all(&fresh).unwrap();
    clap_mangen::generate_to(Cli::command(), &fresh).unwrap();
    let committed = dist("man");
    let write = std::env::var_os("KCP_TUNNEL_WRITE_MAN").is_some();
    let mut names: Vec<String> = std::fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["kcp-tunnel-client.1", "kcp-tunnel-server.1", "kcp-tunnel.1"]
    );
    for name in &names {
        let page = std::fs::read_to_string(fresh.join(name)).unwrap();
        assert!(page.contains(".SH OPTIONS"), "{name}");
        if write {
            std::fs::create_dir_all(&committed).unwrap();
            std::fs::write(committed.join(name), &page).unwrap();
        }
        let old = std::fs::read_to_string(committed.join(name)).unwrap_or_default();
        assert!(
            old == page,
            "dist/man/{name} is not what the flags render to; run \
             KCP_TUNNEL_WRITE_MAN=1 cargo test -p kcp-tunnel --test dist"
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}
