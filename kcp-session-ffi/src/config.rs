//! `kcps_config`: kcp-session's [`Config`] set by kcptun's flag names, from text.

use core::ffi::{CStr, c_char, c_int};
use core::time::Duration;

use kcp_session::{Config, Mode};

use crate::error::{KCPS_E_INVALID, KCPS_E_NULL, KCPS_OK, write_message};

/// The settings behind a `kcps_config *`: a [`Config`], changed by [`kcps_config_set`].
#[derive(Debug, Clone)]
pub struct KcpsConfig {
    /// The configuration an endpoint is built from.
    pub config: Config,
}

/// A new config with kcp-session's defaults (`kcps_config_new`): no cipher, no FEC, mode
/// fast. Free it with [`kcps_config_free`].
#[unsafe(no_mangle)]
pub extern "C" fn kcps_config_new() -> *mut KcpsConfig {
    Box::into_raw(Box::new(KcpsConfig {
        config: Config::default(),
    }))
}

/// A new config with kcptun 20210922's defaults (`kcps_config_new_kcptun`): aes, its
/// well-known key, FEC 10/3. Free it with [`kcps_config_free`].
#[unsafe(no_mangle)]
pub extern "C" fn kcps_config_new_kcptun() -> *mut KcpsConfig {
    Box::into_raw(Box::new(KcpsConfig {
        config: Config::kcptun(),
    }))
}

/// Frees a config (`kcps_config_free`); NULL is ignored.
///
/// # Safety
/// `config` is NULL or from [`kcps_config_new`] / [`kcps_config_new_kcptun`], not freed
/// before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_config_free(config: *mut KcpsConfig) {
    if !config.is_null() {
        // SAFETY: from `Box::into_raw`, freed once (the contract).
        drop(unsafe { Box::from_raw(config) });
    }
}

/// Sets one option by its kcptun name from text (`kcps_config_set`); on
/// `KCPS_E_INVALID` writes why into `msg`.
///
/// # Safety
/// `config` is NULL or a live config used by no other thread; `name` and `value` are NULL
/// or NUL-terminated strings; `msg` is NULL or valid for `msg_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_config_set(
    config: *mut KcpsConfig,
    name: *const c_char,
    value: *const c_char,
    msg: *mut c_char,
    msg_len: usize,
) -> c_int {
    if config.is_null() || name.is_null() || value.is_null() {
        return KCPS_E_NULL;
    }
    // SAFETY: live, unshared config; NUL-terminated strings (the contract).
    let (config, name, value) = unsafe {
        (
            &mut (*config).config,
            CStr::from_ptr(name),
            CStr::from_ptr(value),
        )
    };
    match set(config, name, value) {
        Ok(()) => KCPS_OK,
        Err(text) => {
            // SAFETY: forwarded contract.
            unsafe { write_message(msg, msg_len, &text) };
            KCPS_E_INVALID
        }
    }
}

fn set(config: &mut Config, name: &CStr, value: &CStr) -> Result<(), String> {
    let name = name
        .to_str()
        .map_err(|_| "option name is not UTF-8".to_string())?;
    if name == "key" {
        config.key = value.to_bytes().to_vec();
        return Ok(());
    }
    let text = value
        .to_str()
        .map_err(|_| format!("{name}: value is not UTF-8"))?;
    let number = || {
        text.parse::<u64>()
            .map_err(|_| format!("{name}: {text:?} is not a number"))
    };
    let small = |max: u64| {
        number().and_then(|n| {
            if n <= max {
                Ok(n)
            } else {
                Err(format!("{name}: {n} is larger than {max}"))
            }
        })
    };
    let flag = || match text {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("{name}: {text:?} is not 0 or 1")),
    };
    // A duration in milliseconds; 0 turns the option off.
    let millis =
        || small(u32::MAX.into()).map(|n| Some(Duration::from_millis(n)).filter(|d| !d.is_zero()));
    match name {
        "crypt" => {
            config.crypt = text
                .parse()
                .map_err(|_| format!("crypt: unknown cipher {text:?}"))?;
        }
        "mode" => {
            config.mode = text
                .parse::<Mode>()
                .map_err(|e| format!("mode: {text:?}: {e}"))?;
        }
        "nodelay" | "interval" | "resend" | "nc" => {
            let mut k = config.mode.knobs();
            match name {
                "nodelay" => k.nodelay = small(u32::MAX.into())? as u32,
                "interval" => k.interval = small(u32::MAX.into())? as u32,
                "resend" => k.resend = small(u32::MAX.into())? as u32,
                _ => k.nc = flag()?,
            }
            config.mode = Mode::from(k);
        }
        "mtu" => config.mtu = small(u32::MAX.into())? as usize,
        "sndwnd" => config.snd_wnd = small(u32::MAX.into())? as u32,
        "rcvwnd" => config.rcv_wnd = small(u32::MAX.into())? as u32,
        "datashard" => config.data_shards = small(u32::MAX.into())? as usize,
        "parityshard" => config.parity_shards = small(u32::MAX.into())? as usize,
        "dscp" => config.dscp = small(u8::MAX.into())? as u8,
        "sockbuf" => config.sockbuf = small(u32::MAX.into())? as usize,
        "acknodelay" => config.ack_nodelay = flag()?,
        "stream" => config.stream = flag()?,
        "keepalive_ms" => config.keepalive = millis()?,
        "idle_timeout_ms" => config.idle_timeout = millis()?,
        "dead_link" => config.dead_link = Some(small(u32::MAX.into())? as u32).filter(|&n| n > 0),
        "roaming" => config.roaming = flag()?,
        "datagram_queue" => config.datagram_queue = small(u32::MAX.into())? as usize,
        _ => return Err(format!("unknown option {name:?}")),
    }
    Ok(())
}
