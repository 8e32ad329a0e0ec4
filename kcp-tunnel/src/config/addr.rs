//! Addresses as kcptun writes them: `:port` for every interface, `host:min-max` for a
//! range of ports.

use std::net::IpAddr;

/// True when `addr`'s host is a loopback address or `localhost` (an empty host, as in
/// `:29900`, means every interface).
pub fn is_loopback(addr: &str) -> bool {
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h,
        None => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits `host:port` or `host:min-max` (kcptun's port range) into the host and the
/// ports, in order. At most 1024 ports.
pub fn port_range(addr: &str) -> Result<(String, Vec<u16>), String> {
    let (host, ports) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr:?}: expected host:port or host:min-max"))?;
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{addr:?}: bad port {p:?}"))
    };
    let (min, max) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if min > max {
        return Err(format!("{addr:?}: port range {min}-{max} is empty"));
    }
    if usize::from(max - min) >= 1024 {
        return Err(format!("{addr:?}: at most 1024 ports in a range"));
    }
    Ok((host.to_owned(), (min..=max).collect()))
}

/// Joins a host (possibly empty, meaning every interface, or an IPv6 literal) and a port
/// into an address tokio can bind or connect to.
pub fn host_port(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        format!("0.0.0.0:{port}")
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for (a, lo) in [
            ("127.0.0.1:1", true),
            ("127.3.4.5:1", true),
            ("[::1]:1", true),
            ("localhost:1", true),
            (":1", false),
            ("0.0.0.0:1", false),
            ("10.0.0.1:1", false),
        ] {
            assert_eq!(is_loopback(a), lo, "{a}");
        }
        assert_eq!(port_range("h:5").unwrap(), ("h".into(), vec![5]));
        assert_eq!(port_range(":5-7").unwrap(), ("".into(), vec![5, 6, 7]));
        assert!(port_range("h:7-5").is_err());
        assert!(port_range("h:1-5000").is_err());
        assert!(port_range("h").is_err());
        assert_eq!(host_port("", 9), "0.0.0.0:9");
        assert_eq!(host_port("::1", 9), "[::1]:9");
        assert_eq!(host_port("[::1]", 9), "[::1]:9");
    }
}
