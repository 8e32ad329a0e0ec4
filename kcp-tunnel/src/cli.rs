//! Command-line helpers for programs that take kcptun's flags, all on `clap`.
//!
//! kcptun and kcp-go's tools parse flags with Go's `flag` package, which takes `-flag`
//! and `--flag` alike (`-key secret`, `--key=secret`, `-nocomp`). [`go_style`] rewrites
//! such words into clap's `--flag` form before clap sees them, so command lines written
//! for kcptun work unchanged. The value parsers here give the messages the programs print
//! for a bad value; a usage error exits with status 2, as clap does.

use std::ffi::OsString;
use std::time::Duration;

use kcp_crypt::CipherKind;
use kcp_session::Mode;

/// Rewrites Go-style flags for clap: `-name` and `-name=value` become `--name` and
/// `--name=value` when `name` is a long flag of `cmd` or of one of its subcommands, and
/// `--x` becomes `-x` when `x` is a one-letter short flag; any other `-name` becomes
/// `--name` too (none of these programs combines short flags), so clap names it in its
/// error. The word after a flag that takes
/// a value is passed through untouched (so `--key -secret-` keeps its value). The first
/// word (the program name) is kept as it is.
///
/// Call it with `std::env::args_os()` and hand the result to clap's `parse_from`.
pub fn go_style(cmd: &clap::Command, args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut longs: Vec<(String, bool)> = Vec::new();
    let mut shorts: Vec<(char, bool)> = Vec::new();
    collect_flags(cmd, &mut longs, &mut shorts);
    let takes_value = |name: &str| {
        longs
            .iter()
            .find(|(l, _)| l == name)
            .map(|&(_, v)| v)
            .or_else(|| {
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => shorts.iter().find(|(s, _)| *s == c).map(|&(_, v)| v),
                    _ => None,
                }
            })
    };
    let mut out = Vec::new();
    let mut args = args.into_iter();
    out.extend(args.next());
    let mut pass_next = false;
    while let Some(word) = args.next() {
        if std::mem::take(&mut pass_next) {
            out.push(word);
            continue;
        }
        let Some(text) = word.to_str() else {
            out.push(word);
            continue;
        };
        if text == "--" {
            out.push(word);
            out.extend(args.by_ref());
            break;
        }
        let dashes = if text.starts_with("--") {
            2
        } else if text.starts_with('-') {
            1
        } else {
            out.push(word);
            continue;
        };
        let body = &text[dashes..];
        let (name, inline) = match body.split_once('=') {
            Some((n, _)) => (n, true),
            None => (body, false),
        };
        let Some(value) = takes_value(name) else {
            // An unknown `-name` is reported by clap as `--name`, not as `-n`.
            let alphabetic = name.starts_with(|c: char| c.is_ascii_alphabetic());
            if dashes == 1 && alphabetic && name.len() > 1 {
                out.push(OsString::from(format!("-{text}")));
            } else {
                out.push(word);
            }
            continue;
        };
        pass_next = value && !inline;
        let rewritten = if name.chars().count() == 1 {
            format!("-{body}")
        } else {
            format!("--{body}")
        };
        out.push(OsString::from(rewritten));
    }
    out
}

/// Parses `args` (the program name first) with `cmd` as Go's `flag` package would: Go-style
/// words rewritten by [`go_style`] first, and a later flag overriding an earlier one, in
/// every subcommand too. A usage error exits with status 2; `--help` and `--version` print
/// and exit 0. Call it with `std::env::args_os()`.
pub fn parse_go_style<T: clap::FromArgMatches>(
    cmd: clap::Command,
    args: impl IntoIterator<Item = OsString>,
) -> T {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    let mut cmd = names
        .iter()
        .fold(cmd.args_override_self(true), |cmd, name| {
            cmd.mut_subcommand(name, |c| c.args_override_self(true))
        });
    let args = go_style(&cmd, args);
    let matches = cmd.clone().get_matches_from(args);
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

/// Every long and short flag of `cmd` and its subcommands, with whether it takes a value.
fn collect_flags(
    cmd: &clap::Command,
    longs: &mut Vec<(String, bool)>,
    shorts: &mut Vec<(char, bool)>,
) {
    for arg in cmd.get_arguments() {
        let value = arg.get_action().takes_values()
            && arg.get_num_args().is_none_or(|n| n.min_values() > 0);
        for long in arg.get_long_and_visible_aliases().into_iter().flatten() {
            longs.push((long.to_owned(), value));
        }
        for alias in arg.get_all_aliases().into_iter().flatten() {
            longs.push((alias.to_owned(), value));
        }
        for short in arg.get_short_and_visible_aliases().into_iter().flatten() {
            shorts.push((short, value));
        }
    }
    longs.push(("help".to_owned(), false));
    longs.push(("version".to_owned(), false));
    for sub in cmd.get_subcommands() {
        collect_flags(sub, longs, shorts);
    }
}

/// Parses a byte count: digits with an optional K/M/G suffix (powers of 1024; `KiB`,
/// `MiB`, `GiB` and a trailing `B` are accepted too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &s[digits.len()..];
    let shift = match suffix {
        "" | "B" => 0,
        "K" | "KB" | "KiB" | "k" => 10,
        "M" | "MB" | "MiB" => 20,
        "G" | "GB" | "GiB" => 30,
        _ => return Err(format!("unknown suffix {suffix:?} (use K, M or G)")),
    };
    let n: u64 = digits.parse().map_err(|e| format!("{e}"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| "too large".to_owned())
}

/// A time limit given in seconds: `None` for 0 (no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

/// Parses seconds as a decimal number, at least 0; 0 means no limit.
pub fn parse_limit(s: &str) -> Result<Limit, String> {
    match s.parse::<f64>() {
        Ok(0.0) => Ok(Limit(None)),
        Ok(x) if x > 0.0 && x.is_finite() => Ok(Limit(Some(Duration::from_secs_f64(x)))),
        Ok(_) => Err("must be a number of seconds, at least 0".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses a kcptun `--crypt` name (every name kcp-crypt knows, `null` and `aes-128-gcm`
/// included); the error lists them.
pub fn parse_crypt(s: &str) -> Result<CipherKind, String> {
    s.parse().map_err(|_| {
        let names: Vec<_> = CipherKind::ALL.iter().map(|k| k.name()).collect();
        format!("expected one of {}", names.join(" "))
    })
}

/// Parses a kcptun `--mode` name: fast3 fast2 fast normal manual.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
        .map_err(|e: kcp_session::UnknownModeError| e.to_string())
}

/// Parses a switch's value as Go's `strconv.ParseBool` does: 1 t T TRUE true True, or
/// 0 f F FALSE false False.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn cmd() -> Command {
        Command::new("t")
            .arg(Arg::new("key").long("key"))
            .arg(Arg::new("ds").long("datashard").alias("ds"))
            .arg(Arg::new("local").short('l').long("localaddr"))
            .arg(
                Arg::new("nocomp")
                    .long("nocomp")
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
                    .action(ArgAction::Set),
            )
    }

    fn words(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn go_style_rewrites_single_dash_flags() {
        let got = go_style(
            &cmd(),
            words(&[
                "t", "-key", "-secret-", "-ds=4", "--l", ":1", "-nocomp", "-x", "-lv", "-5", "--",
                "-key",
            ]),
        );
        assert_eq!(
            got,
            words(&[
                "t", "--key", "-secret-", "--ds=4", "-l", ":1", "--nocomp", "-x", "--lv", "-5",
                "--", "-key",
            ])
        );
    }

    #[test]
    fn sizes_limits_and_names() {
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1Q").is_err());
        assert_eq!(parse_limit("0"), Ok(Limit(None)));
        assert_eq!(
            parse_limit("1.5"),
            Ok(Limit(Some(Duration::from_millis(1500))))
        );
        assert!(parse_limit("-1").is_err());
        assert_eq!(parse_crypt("salsa20"), Ok(CipherKind::Salsa20));
        assert!(parse_crypt("rot13").unwrap_err().contains("aes-128-gcm"));
        assert_eq!(parse_mode("fast2"), Ok(Mode::Fast2));
        assert!(parse_mode("turbo").is_err());
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }
}
