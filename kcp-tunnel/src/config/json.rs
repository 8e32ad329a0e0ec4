//! kcptun's `-c file.json`: its keys, matched case-insensitively as Go's `encoding/json`
//! matches them.

use serde::Deserialize;

/// kcptun's JSON keys (client and server together); absent keys leave the flag's value,
/// and a key not listed here is an error naming it (kcptun ignores it silently, which hides
/// a misspelt key).
#[derive(Deserialize, Debug, Default)]
#[serde(default, deny_unknown_fields)]
pub struct JsonConfig {
    /// Client: local listen address.
    pub localaddr: Option<String>,
    /// Client: server address.
    pub remoteaddr: Option<String>,
    /// Server: listen address.
    pub listen: Option<String>,
    /// Server: target address.
    pub target: Option<String>,
    /// Pre-shared secret.
    pub key: Option<String>,
    /// Cipher name.
    pub crypt: Option<String>,
    /// Profile name.
    pub mode: Option<String>,
    /// Client: sessions.
    pub conn: Option<u32>,
    /// Client: session expiry (s).
    pub autoexpire: Option<u64>,
    /// Client: expired session lifetime (s).
    pub scavengettl: Option<u64>,
    /// MTU.
    pub mtu: Option<usize>,
    /// Send window.
    pub sndwnd: Option<u32>,
    /// Receive window.
    pub rcvwnd: Option<u32>,
    /// FEC data shards.
    pub datashard: Option<usize>,
    /// FEC parity shards.
    pub parityshard: Option<usize>,
    /// DSCP.
    pub dscp: Option<u8>,
    /// No compression.
    pub nocomp: Option<bool>,
    /// ACK no delay.
    pub acknodelay: Option<bool>,
    /// Manual nodelay.
    pub nodelay: Option<u32>,
    /// Manual interval.
    pub interval: Option<u32>,
    /// Manual resend.
    pub resend: Option<u32>,
    /// Manual nc.
    pub nc: Option<u32>,
    /// Socket buffer.
    pub sockbuf: Option<usize>,
    /// smux version.
    pub smuxver: Option<u8>,
    /// smux session buffer.
    pub smuxbuf: Option<usize>,
    /// smux stream buffer.
    pub streambuf: Option<usize>,
    /// Keepalive seconds.
    pub keepalive: Option<u64>,
    /// Log file.
    pub log: Option<String>,
    /// SNMP log file.
    pub snmplog: Option<String>,
    /// SNMP period.
    pub snmpperiod: Option<u64>,
    /// Quiet.
    pub quiet: Option<bool>,
    /// TCP emulation.
    pub tcp: Option<bool>,
    /// Server: pprof.
    pub pprof: Option<bool>,
    /// Raw KCP mode (ours).
    pub raw: Option<bool>,
    /// Bytes per second per session (kcptun's last release).
    pub ratelimit: Option<u32>,
    /// Largest smux frame sent (kcptun's last release).
    pub framesize: Option<usize>,
    /// Seconds a connection lingers after one direction ended (kcptun's last release).
    pub closewait: Option<u64>,
    /// Quantum Permutation Pads (kcptun's last release).
    pub qpp: Option<bool>,
    /// The number of pads for QPP (kcptun's last release).
    #[serde(rename = "qpp-count")]
    pub qpp_count: Option<u16>,
}

impl JsonConfig {
    /// Parses kcptun's JSON: an object whose keys match case-insensitively.
    pub fn parse(text: &str) -> Result<JsonConfig, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(map) = value else {
            return Err("the configuration must be a JSON object".into());
        };
        let lower: serde_json::Map<String, serde_json::Value> = map
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        serde_json::from_value(serde_json::Value::Object(lower)).map_err(|e| {
            let e = e.to_string();
            if e.starts_with("unknown field `qppcount`") {
                format!("{e} (kcptun's key for QPPCount is \"qpp-count\")")
            } else {
                e
            }
        })
    }
}
