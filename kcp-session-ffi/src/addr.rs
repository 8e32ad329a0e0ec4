//! `kcps_addr`: UDP addresses without the platform's socket headers.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `kcps_addr.family` of an IPv4 address.
pub const KCPS_AF_INET: u16 = 4;
/// `kcps_addr.family` of an IPv6 address.
pub const KCPS_AF_INET6: u16 = 6;

/// A UDP address as C passes it (`kcps_addr`): the family, the port in host byte order,
/// the IPv6 scope, and the address bytes in network order (IPv4 in the first four).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcpsAddr {
    /// [`KCPS_AF_INET`] or [`KCPS_AF_INET6`].
    pub family: u16,
    /// Host byte order.
    pub port: u16,
    /// IPv6 scope (interface index); 0 otherwise.
    pub scope_id: u32,
    /// Network byte order.
    pub ip: [u8; 16],
}

impl KcpsAddr {
    /// The socket address, or `None` for an unknown family.
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        match self.family {
            KCPS_AF_INET => {
                let [a, b, c, d, ..] = self.ip;
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::new(a, b, c, d),
                    self.port,
                )))
            }
            KCPS_AF_INET6 => Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(self.ip),
                self.port,
                0,
                self.scope_id,
            ))),
            _ => None,
        }
    }

    /// The C form of a socket address.
    pub fn from_socket_addr(addr: SocketAddr) -> KcpsAddr {
        let mut out = KcpsAddr {
            port: addr.port(),
            ..KcpsAddr::default()
        };
        match addr.ip() {
            IpAddr::V4(ip) => {
                out.family = KCPS_AF_INET;
                out.ip[..4].copy_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.family = KCPS_AF_INET6;
                out.ip = ip.octets();
                if let SocketAddr::V6(v6) = addr {
                    out.scope_id = v6.scope_id();
                }
            }
        }
        out
    }
}
