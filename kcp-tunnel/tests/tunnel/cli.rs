//! The command line as a kcptun user meets it: help, usage errors, refusals, the
//! kcptun-client/kcptun-server names, and plugin mode's bad options.

use std::process::{Command, Stdio};

use crate::harness::{scratch, tunnel_bin};

/// Runs kcp-tunnel (as `program`, a link to it, if given) and returns (status, stdout,
/// stderr); it must end by itself.
fn run(
    program: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(program.unwrap_or(std::path::Path::new(tunnel_bin())));
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("KCPTUN_KEY")
        .env_remove("SS_REMOTE_HOST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kcp-tunnel");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_kcptun_flags() {
    let (code, out, _) = run(None, &["client", "--help"], &[]);
    assert_eq!(code, Some(0));
    for flag in [
        "--localaddr",
        "-r, --remoteaddr",
        "--autoexpire",
        "--scavengettl",
        "--smuxver",
        "KCPTUN_KEY",
        "[default: 128]",
    ] {
        assert!(out.contains(flag), "client --help lacks {flag}:\n{out}");
    }
    let (code, out, _) = run(None, &["server", "--help"], &[]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("-t, --target") && out.contains("[default: 1024]"),
        "{out}"
    );
    for flag in ["--amplification-limit <N>", "--max-streams <N>"] {
        assert!(out.contains(flag), "server --help lacks {flag}:\n{out}");
    }
}

/// `-v`/`--version`, kcptun's flag, on its own and after a role, print the version and
/// exit 0 (packagers and GUI front ends read it).
#[test]
fn version_flag() {
    let version = env!("CARGO_PKG_VERSION");
    for args in [
        &["-v"][..],
        &["--version"],
        &["server", "-v"],
        &["client", "--version"],
    ] {
        let (code, out, err) = run(None, args, &[]);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(
            out.starts_with("kcp-tunnel") && out.trim_end().ends_with(version),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn usage_errors_and_refusals() {
    for (args, code, needle) in [
        (&["client", "--bogus"][..], 2, "--bogus"),
        (&["client", "--conn", "many"][..], 2, "--conn"),
        (&["sideways"][..], 2, "sideways"),
        (&["client", "--tcp"][..], 1, "--tcp"),
        (&["client", "--conn", "0"][..], 1, "--conn"),
        (&["server", "--smuxver", "3"][..], 1, "smux version"),
        (&["server", "--max-streams", "0"][..], 1, "--max-streams"),
        (
            &["server", "--amplification-limit", "x"][..],
            2,
            "--amplification-limit",
        ),
        (&["server", "-l", ":29900"][..], 1, "--allow-default-key"),
        (
            &["server", "-l", "0.0.0.0:1", "--mtu", "9000"][..],
            1,
            "mtu 9000",
        ),
        (
            &["client", "-c", "/nonexistent.json"][..],
            1,
            "/nonexistent.json",
        ),
    ] {
        let (got, _, err) = run(None, args, &[]);
        assert_eq!(got, Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    }
    let bad_json = scratch().join("bad.json");
    std::fs::write(&bad_json, r#"{"mtu": "big"}"#).unwrap();
    let (got, _, err) = run(None, &["client", "-c", bad_json.to_str().unwrap()], &[]);
    assert_eq!(got, Some(1), "{err}");
    assert!(err.contains("bad.json"), "{err}");
}

/// Linked as kcptun-server, the program is the server without the subcommand.
#[test]
fn kcptun_names_select_the_role() {
    let link = scratch().join("kcptun-server");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(tunnel_bin(), &link).unwrap();
    let (code, _, err) = run(Some(&link), &["-l", ":1"], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--allow-default-key"), "{err}");
    let (code, out, _) = run(Some(&link), &["--help"], &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("--target"), "{out}");
}

/// Plugin mode with a bad option or port fails at once with the reason.
#[test]
fn plugin_mode_bad_options() {
    let env = |opts: &'static str, port: &'static str| {
        [
            ("SS_REMOTE_HOST", "127.0.0.1"),
            ("SS_REMOTE_PORT", port),
            ("SS_LOCAL_HOST", "127.0.0.1"),
            ("SS_LOCAL_PORT", "1"),
            ("SS_PLUGIN_OPTIONS", opts),
        ]
    };
    for (opts, port, needle) in [
        ("bogus=1", "2", "bogus"),
        ("mtu=big", "2", "mtu"),
        ("key=k", "70000", "SS_REMOTE_PORT"),
        ("server;key=k;smuxver=9", "2", "smux version"),
    ] {
        let (code, _, err) = run(None, &[], &env(opts, port));
        assert_eq!(code, Some(1), "{opts}: {err}");
        assert!(err.contains(needle), "{opts}: {err}");
    }
}
