//! SIP003 (shadowsocks plugin) mode: the environment a shadowsocks client or server hands
//! its plugin, and `SS_PLUGIN_OPTIONS`.
//!
//! The plugin of `ss-local` is the tunnel's client: it listens on `SS_LOCAL_HOST:PORT`
//! (TCP, where ss-local connects) and dials `SS_REMOTE_HOST:PORT` (UDP). The plugin of
//! `ss-server` is the tunnel's server: it listens on `SS_REMOTE_HOST:PORT` (UDP) and
//! forwards to `SS_LOCAL_HOST:PORT` (ss-server's TCP port). The option `server` selects the
//! server role, as with other SIP003 plugins.
//!
//! Options are SIP003's `key=value;key=value` (backslash escapes `\;` `\=` `\\`), or the
//! URL-encoded `key=value&key=value` form, decoded when the string has `&` and no `;`.
//! Keys: every kcptun flag name (`key crypt mode conn autoexpire scavengettl mtu sndwnd
//! rcvwnd datashard ds parityshard ps dscp nocomp acknodelay nodelay interval resend nc
//! sockbuf smuxver framesize smuxbuf streambuf keepalive closewait QPP QPPCount log snmplog
//! snmpperiod quiet ratelimit`), `congestion` (`off` or `bbr`), `raw`, `allow_default_key`,
//! `insecure_no_crypt`, `dial_timeout`, `max_dials`, `stream_idle`, `memory_budget` (MB),
//! `amplification_limit` and `max_streams`, and the seed KCP plugin's `nodelay=true|false`, `nc=true|false`,
//! `outbound_bind_addr`, `outbound_bind_interface`, `outbound_fwmark`, and `plugin` with
//! `plugin_opts` for a secondary plugin chained in front (client) or behind (server).

use crate::config::{Options, Role, host_port};

/// The SIP003 environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginEnv {
    /// `SS_REMOTE_HOST`.
    pub remote_host: String,
    /// `SS_REMOTE_PORT`.
    pub remote_port: u16,
    /// `SS_LOCAL_HOST`.
    pub local_host: String,
    /// `SS_LOCAL_PORT`.
    pub local_port: u16,
    /// `SS_PLUGIN_OPTIONS` (empty when unset).
    pub options: String,
}

impl PluginEnv {
    /// Reads the environment through `get`: `None` unless all four addresses are set (then
    /// this is not plugin mode), an error if a port is not a number.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<Result<PluginEnv, String>> {
        let remote_host = get("SS_REMOTE_HOST")?;
        let remote_port = get("SS_REMOTE_PORT")?;
        let local_host = get("SS_LOCAL_HOST")?;
        let local_port = get("SS_LOCAL_PORT")?;
        let port = |name: &str, v: &str| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| format!("{name}={v:?} is not a port"))
        };
        Some((|| {
            Ok(PluginEnv {
                remote_port: port("SS_REMOTE_PORT", &remote_port)?,
                local_port: port("SS_LOCAL_PORT", &local_port)?,
                remote_host,
                local_host,
                options: get("SS_PLUGIN_OPTIONS").unwrap_or_default(),
            })
        })())
    }

    /// The process's environment.
    pub fn from_env() -> Option<Result<PluginEnv, String>> {
        PluginEnv::from_vars(|k| std::env::var(k).ok())
    }
}

/// A secondary plugin to chain: its command and its `SS_PLUGIN_OPTIONS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secondary {
    /// The command: a program and its arguments, split by [`Secondary::argv`] and run
    /// without a shell (plugin options come from SIP002 links, which others write).
    pub command: String,
    /// Its options.
    pub options: String,
}

impl Secondary {
    /// The program and its arguments: [`split_command`] of the command.
    pub fn argv(&self) -> Result<Vec<String>, String> {
        split_command(&self.command)
    }
}

/// Splits a plugin command into words the way a shell splits a simple command, and no
/// further: words are separated by spaces or tabs, `'...'` and `"..."` quote, and `\`
/// escapes the next character (outside single quotes). Nothing is expanded or run: `$`,
/// backquotes, `;`, `|`, `&`, `<`, `>` and `*` are ordinary characters of a word. Refuses
/// an empty command and an unterminated quote.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => w.push(q),
                        None => return Err(format!("plugin {command:?}: unterminated '")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => w.push(e),
                            None => return Err(format!("plugin {command:?}: unterminated \"")),
                        },
                        Some(q) => w.push(q),
                        None => return Err(format!("plugin {command:?}: unterminated \"")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err(format!("plugin {command:?} ends with a lone backslash")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    if words.is_empty() {
        return Err("plugin: empty command".into());
    }
    Ok(words)
}

/// What plugin mode runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginSetup {
    /// The tunnel's options; addresses from the environment.
    pub options: Options,
    /// The secondary plugin, if `plugin` was given.
    pub secondary: Option<Secondary>,
    /// Things worth a log line (options accepted but without effect here).
    pub notes: Vec<String>,
}

/// Splits SIP003 options into `(key, value)` pairs; a bare key has no value.
pub fn parse_options(s: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let url_form = s.contains('&') && !s.contains(';');
    let mut pairs = Vec::new();
    if url_form {
        for item in s.split('&').filter(|i| !i.is_empty()) {
            let (k, v) = match item.split_once('=') {
                Some((k, v)) => (percent_decode(k)?, Some(percent_decode(v)?)),
                None => (percent_decode(item)?, None),
            };
            pairs.push((k, v));
        }
        return Ok(pairs);
    }
    let mut key = String::new();
    let mut value: Option<String> = None;
    let mut chars = s.chars();
    let flush = |key: &mut String, value: &mut Option<String>, pairs: &mut Vec<_>| {
        if !key.is_empty() || value.is_some() {
            pairs.push((std::mem::take(key), value.take()));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars
                    .next()
                    .ok_or_else(|| "plugin options end with a lone backslash".to_owned())?;
                match value.as_mut() {
                    Some(v) => v.push(e),
                    None => key.push(e),
                }
            }
            ';' => flush(&mut key, &mut value, &mut pairs),
            '=' if value.is_none() => value = Some(String::new()),
            c => match value.as_mut() {
                Some(v) => v.push(c),
                None => key.push(c),
            },
        }
    }
    flush(&mut key, &mut value, &mut pairs);
    Ok(pairs)
}

/// Decodes the URL form's `%XX` escapes, as URL parsers do: an escape that is not two hex
/// digits stays as written.
fn percent_decode(s: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

/// The tunnel `env` describes. `role` overrides the `server` option (for a command line
/// that names the role).
pub fn setup(env: &PluginEnv, role: Option<Role>) -> Result<PluginSetup, String> {
    let pairs = parse_options(&env.options)?;
    let is_server = pairs
        .iter()
        .any(|(k, v)| k == "server" && v.as_deref().is_none_or(|v| v != "false"));
    let role = role.unwrap_or(if is_server {
        Role::Server
    } else {
        Role::Client
    });
    let mut o = Options::defaults(role);
    let local = host_port(&env.local_host, env.local_port);
    let remote = host_port(&env.remote_host, env.remote_port);
    match role {
        Role::Client => {
            o.listen = local;
            o.remote = remote;
        }
        Role::Server => {
            o.listen = remote;
            o.remote = local;
        }
    }
    let mut notes = Vec::new();
    let mut secondary: Option<Secondary> = None;
    let mut secondary_opts = String::new();
    let mut knobs = false;
    let mut mode_given = false;
    for (k, v) in pairs {
        let text = |v: &Option<String>| {
            v.clone()
                .ok_or_else(|| format!("plugin option {k} needs a value"))
        };
        let num = |v: &Option<String>| -> Result<u64, String> {
            let t = text(v)?;
            t.parse()
                .map_err(|_| format!("plugin option {k}={t:?} is not a number"))
        };
        // A switch: bare, or true/false/1/0.
        let flag = |v: &Option<String>| -> Result<bool, String> {
            match v.as_deref() {
                None => Ok(true),
                Some(t) => crate::cli::parse_bool(t)
                    .map_err(|_| format!("plugin option {k}={t:?} is not true or false")),
            }
        };
        // The seed plugin's nodelay/nc are booleans, kcptun's are numbers.
        let bool_or_num = |v: &Option<String>| -> Result<u32, String> {
            match v.as_deref() {
                Some("true") => Ok(1),
                Some("false") => Ok(0),
                _ => num(v).and_then(|n| u32::try_from(n).map_err(|e| e.to_string())),
            }
        };
        let small =
            |n: u64| u32::try_from(n).map_err(|_| format!("plugin option {k} is too large"));
        match k.as_str() {
            "server" | "client" => {}
            "key" => o.kcp.key = text(&v)?,
            "crypt" => o.kcp.crypt = text(&v)?,
            "mode" => {
                o.kcp.mode = text(&v)?;
                mode_given = true;
            }
            "conn" => o.conn = small(num(&v)?)?,
            "autoexpire" => o.autoexpire = num(&v)?,
            "scavengettl" => o.scavengettl = num(&v)?,
            "mtu" => o.kcp.mtu = num(&v)? as usize,
            "sndwnd" => o.kcp.sndwnd = small(num(&v)?)?,
            "rcvwnd" => o.kcp.rcvwnd = small(num(&v)?)?,
            "datashard" | "ds" => o.kcp.datashard = num(&v)? as usize,
            "parityshard" | "ps" => o.kcp.parityshard = num(&v)? as usize,
            "dscp" => {
                o.kcp.dscp =
                    u8::try_from(num(&v)?).map_err(|_| "plugin option dscp is too large")?;
            }
            "nocomp" => o.nocomp = flag(&v)?,
            "acknodelay" => o.kcp.acknodelay = flag(&v)?,
            "quiet" => o.quiet = flag(&v)?,
            "raw" => o.raw = flag(&v)?,
            "allow_default_key" => o.allow_default_key = flag(&v)?,
            "insecure_no_crypt" => o.insecure_no_crypt = flag(&v)?,
            "ratelimit" => o.kcp.ratelimit = small(num(&v)?)?,
            "dial_timeout" => o.dial_timeout = std::time::Duration::from_secs(num(&v)?),
            "max_dials" => o.max_dials = num(&v)? as usize,
            "amplification_limit" => {
                let n = small(num(&v)?)?;
                o.amplification_limit = (n > 0).then_some(n);
            }
            "max_streams" => o.max_streams = num(&v)? as usize,
            "memory_budget" => {
                let mb = num(&v)? as usize;
                o.memory_budget = (mb > 0).then(|| mb.saturating_mul(1 << 20));
            }
            "stream_idle" => {
                let secs = num(&v)?;
                o.stream_idle = (secs > 0).then(|| std::time::Duration::from_secs(secs));
            }
            "nodelay" => {
                o.kcp.nodelay = bool_or_num(&v)?;
                knobs = true;
            }
            "interval" => {
                o.kcp.interval = small(num(&v)?)?;
                knobs = true;
            }
            "resend" => {
                o.kcp.resend = small(num(&v)?)?;
                knobs = true;
            }
            "nc" => {
                o.kcp.nc = bool_or_num(&v)?;
                knobs = true;
            }
            "sockbuf" => o.kcp.sockbuf = num(&v)? as usize,
            "smuxver" => {
                o.smuxver = u8::try_from(num(&v)?).map_err(|_| "bad smuxver".to_owned())?;
            }
            "smuxbuf" => o.smuxbuf = num(&v)? as usize,
            "framesize" => o.framesize = num(&v)? as usize,
            "congestion" => {
                o.kcp.congestion = text(&v)?.parse().map_err(|e| format!("congestion: {e}"))?;
            }
            "closewait" => o.closewait = num(&v)?,
            "QPP" | "qpp" => o.qpp = flag(&v)?,
            "QPPCount" | "qppcount" | "qpp-count" => {
                o.qpp_count = u16::try_from(num(&v)?).map_err(|_| "bad QPPCount".to_owned())?;
            }
            "streambuf" => o.streambuf = num(&v)? as usize,
            "keepalive" => o.keepalive = num(&v)?,
            "log" => o.log = text(&v)?,
            "snmplog" => o.snmplog = text(&v)?,
            "snmpperiod" => o.snmpperiod = num(&v)?,
            "outbound_bind_addr" => {
                let t = text(&v)?;
                o.bind_addr = Some(
                    t.parse()
                        .map_err(|_| format!("outbound_bind_addr={t:?} is not an IP address"))?,
                );
            }
            "outbound_bind_interface" => o.bind_interface = Some(text(&v)?),
            "outbound_fwmark" => o.fwmark = Some(small(num(&v)?)?),
            "outbound_user_cookie" => {
                notes.push("outbound_user_cookie is FreeBSD's; ignored here".to_owned());
            }
            "plugin" => {
                secondary = Some(Secondary {
                    command: text(&v)?,
                    options: String::new(),
                });
            }
            "plugin_opts" => secondary_opts = text(&v)?,
            _ => return Err(format!("unknown plugin option {k:?}")),
        }
    }
    if knobs && !mode_given {
        // The seed plugin applies nodelay/interval/resend/nc directly.
        o.kcp.mode = "manual".into();
    }
    if let Some(s) = secondary.as_mut() {
        s.options = secondary_opts;
    } else if !secondary_opts.is_empty() {
        return Err("plugin_opts given without plugin".into());
    }
    Ok(PluginSetup {
        options: o,
        secondary,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kcp_session::Mode;

    fn env(options: &str) -> PluginEnv {
        PluginEnv {
            remote_host: "127.0.0.1".into(),
            remote_port: 8388,
            local_host: "127.0.0.1".into(),
            local_port: 1080,
            options: options.into(),
        }
    }

    #[test]
    fn option_syntaxes() {
        let p = parse_options("key=a\\;b\\=c;nocomp;mode=fast3").unwrap();
        assert_eq!(
            p,
            [
                ("key".into(), Some("a;b=c".into())),
                ("nocomp".into(), None),
                ("mode".into(), Some("fast3".into())),
            ]
        );
        let p = parse_options("plugin=obfs-local&plugin_opts=obfs%3dhttp%3bhost%3dwww.example.com")
            .unwrap();
        assert_eq!(p[1].1.as_deref(), Some("obfs=http;host=www.example.com"));
        let p = parse_options("a=%zz&b").unwrap();
        assert_eq!(
            p[0].1.as_deref(),
            Some("%zz"),
            "not an escape: kept as written"
        );
        assert!(parse_options("a=%ff&b").is_err(), "not UTF-8");
        assert!(parse_options("a=b\\").is_err());
        assert_eq!(parse_options("").unwrap(), []);
    }

    /// Shell syntax in a plugin command is text, not something to run.
    #[test]
    fn plugin_commands_split_without_a_shell() {
        let w = |s: &str| split_command(s).unwrap();
        assert_eq!(w("obfs-local"), ["obfs-local"]);
        assert_eq!(
            w("  v2ray-plugin\t--fast-open  -v "),
            ["v2ray-plugin", "--fast-open", "-v"]
        );
        assert_eq!(
            w("true $(touch x); rm -rf ~ | cat `id` > y"),
            [
                "true", "$(touch", "x);", "rm", "-rf", "~", "|", "cat", "`id`", ">", "y"
            ]
        );
        assert_eq!(
            w("'/opt/my plugin/bin' \"a \\\"b\" c\\ d ''"),
            ["/opt/my plugin/bin", "a \"b", "c d", ""]
        );
        assert!(split_command("").is_err());
        assert!(split_command("   ").is_err());
        assert!(split_command("a 'b").is_err());
        assert!(split_command("a \"b").is_err());
        assert!(split_command("a \\").is_err());
    }

    #[test]
    fn env_needs_all_four() {
        let vars = |k: &str| match k {
            "SS_REMOTE_HOST" => Some("1.2.3.4".to_owned()),
            "SS_REMOTE_PORT" => Some("8388".to_owned()),
            "SS_LOCAL_HOST" => Some("127.0.0.1".to_owned()),
            "SS_LOCAL_PORT" => Some("x".to_owned()),
            _ => None,
        };
        assert!(PluginEnv::from_vars(vars).unwrap().is_err());
        assert!(PluginEnv::from_vars(|_| None).is_none());
    }

    #[test]
    fn roles_addresses_and_options() {
        let c = setup(&env("key=k;nocomp;conn=2"), None).unwrap();
        assert_eq!(c.options.role, Role::Client);
        assert_eq!(c.options.listen, "127.0.0.1:1080");
        assert_eq!(c.options.remote, "127.0.0.1:8388");
        assert!(c.options.nocomp);
        assert_eq!((c.options.conn, c.options.kcp.sndwnd), (2, 128));
        let s = setup(&env("server;key=k"), None).unwrap();
        assert_eq!(s.options.role, Role::Server);
        assert_eq!(s.options.listen, "127.0.0.1:8388");
        assert_eq!(s.options.remote, "127.0.0.1:1080");
        assert_eq!(s.options.kcp.sndwnd, 1024);
        // The seed plugin's names: knobs without a mode mean manual.
        let f = setup(
            &env("nodelay=true&interval=10&resend=2&nc=true&outbound_bind_addr=127.0.0.1"),
            None,
        )
        .unwrap();
        assert_eq!(
            f.options.kcp.kcp_mode(),
            Mode::Manual {
                nodelay: 1,
                interval: 10,
                resend: 2,
                nc: true
            }
        );
        assert_eq!(f.options.bind_addr, Some("127.0.0.1".parse().unwrap()));
        let chained = setup(&env("plugin=obfs-local;plugin_opts=obfs\\=http"), None).unwrap();
        assert_eq!(
            chained.secondary,
            Some(Secondary {
                command: "obfs-local".into(),
                options: "obfs=http".into()
            })
        );
        let hardened = setup(
            &env("server;crypt=null;insecure_no_crypt;ratelimit=500000;dial_timeout=3;max_dials=8"),
            None,
        )
        .unwrap()
        .options;
        assert!(hardened.insecure_no_crypt);
        assert_eq!(hardened.session_config().rate_limit, Some(500_000));
        assert_eq!(hardened.dial_timeout, std::time::Duration::from_secs(3));
        assert_eq!(hardened.max_dials, 8);
        let o = setup(&env("server;amplification_limit=0;max_streams=64"), None)
            .unwrap()
            .options;
        assert_eq!(o.session_config().amplification_limit, None);
        assert_eq!(o.mux_config().max_streams, 64);
        let o = setup(&env("server;amplification_limit=10"), None)
            .unwrap()
            .options;
        assert_eq!(o.session_config().amplification_limit, Some(10));
        let o = setup(&env("server;memory_budget=32"), None)
            .unwrap()
            .options;
        assert_eq!(o.session_config().memory_budget, Some(32 << 20));
        assert!(setup(&env("bogus=1"), None).unwrap_err().contains("bogus"));
        assert!(setup(&env("mtu=big"), None).is_err());
        assert!(setup(&env("plugin_opts=x"), None).is_err());
        assert!(setup(&env("key"), None).is_err());
    }
}
