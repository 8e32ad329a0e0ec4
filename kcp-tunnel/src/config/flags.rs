//! [`KcpFlags`]: kcptun's KCP session flags and the [`Config`] they give.

use clap::Args;
use kcp_crypt::CipherKind;
use kcp_session::{Config, Mode};

use crate::cli::parse_bool;

/// kcptun's flags for the KCP session, the same for `kcptun-client` and `kcptun-server`
/// (both ends must agree on them), with kcptun's names, defaults and `KCPTUN_KEY`.
///
/// The send and receive windows default to kcptun's server values (1024/1024); the
/// tunnel's client gives them kcptun's client defaults (128/512). [`KcpFlags::config`] is
/// the one place where these flags become a [`kcp_session::Config`]: the tunnel builds its
/// sessions from it, and any program that takes kcptun's flags (the workspace's `echo` and
/// `sink` examples do) can flatten this struct into its own `clap` command:
///
/// ```
/// use clap::Parser;
/// use kcp_tunnel::KcpFlags;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     kcp: KcpFlags,
/// }
///
/// let cli = Cli::parse_from(["prog", "--crypt", "salsa20", "--mode", "fast3", "--ds", "0"]);
/// let config = cli.kcp.config();
/// assert_eq!(config.crypt, kcp_crypt::CipherKind::Salsa20);
/// assert_eq!(config.mode, kcp_session::Mode::Fast3);
/// assert_eq!((config.data_shards, config.parity_shards), (0, 3));
/// ```
///
/// As in kcptun, an unknown `--crypt` name means aes and an unknown `--mode` name means
/// manual ([`KcpFlags::cipher`] and [`KcpFlags::kcp_mode`] say so); a program that wants
/// them refused calls [`KcpFlags::check_names`].
#[derive(Args, Clone, Debug, PartialEq, Eq)]
#[command(next_help_heading = "KCP session (kcptun's flags; both ends must agree)")]
pub struct KcpFlags {
    /// Pre-shared secret between client and server
    #[arg(long, env = "KCPTUN_KEY", value_name = "KEY", allow_hyphen_values = true,
          default_value = kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE)]
    pub key: String,
    /// aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea, xtea, xor, sm4,
    /// none, null, aes-128-gcm (unknown names mean aes, as in kcptun)
    #[arg(long, value_name = "NAME", default_value = "aes")]
    pub crypt: String,
    /// Profiles: fast3, fast2, fast, normal, manual
    #[arg(long, value_name = "NAME", default_value = "fast")]
    pub mode: String,
    /// Maximum transmission unit for UDP packets
    #[arg(long, value_name = "BYTES", default_value_t = 1350)]
    pub mtu: usize,
    /// Send window (packets)
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub sndwnd: u32,
    /// Receive window (packets)
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub rcvwnd: u32,
    /// Reed-Solomon erasure coding: data shards; 0 with --parityshard 0 turns FEC off
    #[arg(long, visible_alias = "ds", value_name = "N", default_value_t = 10)]
    pub datashard: usize,
    /// Reed-Solomon erasure coding: parity shards
    #[arg(long, visible_alias = "ps", value_name = "N", default_value_t = 3)]
    pub parityshard: usize,
    /// DSCP (6 bits)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub dscp: u8,
    /// Flush ACKs as soon as a packet arrives
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = parse_bool)]
    pub acknodelay: bool,
    /// --mode manual: nodelay (0, 1, 2)
    #[arg(long, hide = true, default_value_t = 0)]
    pub nodelay: u32,
    /// --mode manual: update interval (ms)
    #[arg(long, hide = true, default_value_t = 50)]
    pub interval: u32,
    /// --mode manual: fast resend
    #[arg(long, hide = true, default_value_t = 0)]
    pub resend: u32,
    /// --mode manual: 1 disables congestion control
    #[arg(long, hide = true, default_value_t = 0)]
    pub nc: u32,
    /// Per-socket buffer in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 4_194_304)]
    pub sockbuf: usize,
    /// Maximum sending speed of each KCP session, in bytes per second on the wire; 0 for
    /// no limit (kcptun's last release's flag)
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub ratelimit: u32,
    /// Congestion controller of this end's sessions: off (kcptun's sending) or bbr, which
    /// paces to what the path delivers; the other end needs nothing (not a kcptun flag)
    #[arg(long, value_name = "NAME", default_value = "off")]
    pub congestion: kcp_session::Congestion,
}

impl Default for KcpFlags {
    /// kcptun-server's defaults.
    fn default() -> KcpFlags {
        KcpFlags {
            key: kcp_crypt::KCPTUN_DEFAULT_PASSPHRASE.into(),
            crypt: "aes".into(),
            mode: "fast".into(),
            mtu: 1350,
            sndwnd: 1024,
            rcvwnd: 1024,
            datashard: 10,
            parityshard: 3,
            dscp: 0,
            acknodelay: false,
            nodelay: 0,
            interval: 50,
            resend: 0,
            nc: 0,
            sockbuf: 4 << 20,
            ratelimit: 0,
            congestion: kcp_session::Congestion::Off,
        }
    }
}

impl KcpFlags {
    /// The cipher: kcptun's name, or aes for a name kcptun does not know (with a note
    /// saying so, for the log).
    pub fn cipher(&self) -> (CipherKind, Option<String>) {
        match self.crypt.parse::<CipherKind>() {
            Ok(k) => (k, None),
            Err(_) => (
                CipherKind::Aes256,
                Some(format!(
                    "unknown crypt {:?}: using aes, as kcptun does",
                    self.crypt
                )),
            ),
        }
    }

    /// The KCP profile: a named mode, or (for `manual` and any other name, as kcptun)
    /// the `--nodelay --interval --resend --nc` knobs.
    pub fn kcp_mode(&self) -> Mode {
        match self.mode.as_str() {
            "normal" => Mode::Normal,
            "fast" => Mode::Fast,
            "fast2" => Mode::Fast2,
            "fast3" => Mode::Fast3,
            _ => Mode::Manual {
                nodelay: self.nodelay,
                interval: self.interval,
                resend: self.resend,
                nc: self.nc != 0,
            },
        }
    }

    /// Refuses what kcptun would quietly replace: a `--crypt` or `--mode` name it does not
    /// know. The message names the flag and the names it takes.
    pub fn check_names(&self) -> Result<(), String> {
        if self.crypt.parse::<CipherKind>().is_err() {
            let names: Vec<_> = CipherKind::ALL.iter().map(|k| k.name()).collect();
            return Err(format!(
                "--crypt {:?}: expected one of {}",
                self.crypt,
                names.join(" ")
            ));
        }
        if let Err(e) = self.mode.parse::<Mode>() {
            return Err(format!("--mode {:?}: {e}", self.mode));
        }
        Ok(())
    }

    /// The session configuration, as kcptun sets up its sessions: these flags, stream
    /// mode and no write delay; everything else keeps [`Config::default`]'s value (an
    /// idle timeout of 60 s among them, which the tunnel replaces with smux's keepalive).
    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.crypt = self.cipher().0;
        c.key = self.key.clone().into_bytes();
        c.data_shards = self.datashard;
        c.parity_shards = self.parityshard;
        c.mtu = self.mtu;
        c.snd_wnd = self.sndwnd;
        c.rcv_wnd = self.rcvwnd;
        c.mode = self.kcp_mode();
        c.stream = true;
        c.ack_nodelay = self.acknodelay;
        c.write_delay = false;
        c.dscp = self.dscp;
        c.sockbuf = self.sockbuf;
        c.rate_limit = (self.ratelimit > 0).then_some(self.ratelimit);
        c.congestion = self.congestion;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kcptun_servers() {
        let c = KcpFlags::default().config();
        let k = Config::kcptun();
        assert_eq!(
            (c.crypt, &c.key, c.data_shards, c.parity_shards),
            (k.crypt, &k.key, k.data_shards, k.parity_shards)
        );
        assert_eq!(
            (c.mode, c.mtu, c.snd_wnd, c.rcv_wnd),
            (Mode::Fast, 1350, 1024, 1024)
        );
        assert!(c.stream && !c.write_delay && !c.ack_nodelay);
    }

    #[test]
    fn names_kcptun_does_not_know() {
        let mut f = KcpFlags::default();
        assert_eq!(f.check_names(), Ok(()));
        f.crypt = "rot13".into();
        assert_eq!(f.cipher().0, CipherKind::Aes256);
        assert!(f.cipher().1.is_some());
        assert!(f.check_names().unwrap_err().contains("aes-128-gcm"));
        f.crypt = "salsa20".into();
        f.mode = "turbo".into();
        f.interval = 15;
        assert!(matches!(f.kcp_mode(), Mode::Manual { interval: 15, .. }));
        assert!(f.check_names().unwrap_err().contains("--mode"));
    }
}
