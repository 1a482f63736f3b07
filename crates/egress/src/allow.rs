//! `OMNIBUS_OUTBOUND_ALLOW`: hosts and networks that may be reached although
//! they are internal (loopback, link-local, private, unique-local).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A malformed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is neither a host name, an address nor a CIDR network (e.g. 127.0.0.1/32)")]
pub struct AllowListError {
    entry: String,
}

/// The parsed allow-list. Empty (the default) refuses every internal
/// address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    networks: Vec<(IpAddr, u8)>,
}

impl FromStr for AllowList {
    type Err = AllowListError;

    /// Comma-separated host names, addresses and CIDR networks.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let mut allow = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || AllowListError {
                entry: entry.to_owned(),
            };
            if let Some((address, bits)) = entry.split_once('/') {
                let address: IpAddr = address.parse().map_err(|_| bad())?;
                let bits: u8 = bits.parse().map_err(|_| bad())?;
                if bits > max_bits(address) {
                    return Err(bad());
                }
                allow.networks.push((address, bits));
            } else if let Ok(address) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                allow.networks.push((address, max_bits(address)));
            } else if entry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                allow.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(bad());
            }
        }
        Ok(allow)
    }
}

impl AllowList {
    /// True when `host` (a name) is listed: every address it resolves to
    /// may be reached.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// True when `address` may be reached: it is public, or listed.
    pub fn allows(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        !is_internal(address)
            || self
                .networks
                .iter()
                .any(|(network, bits)| contains(canonical(*network), *bits, address))
    }
}

fn max_bits(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Loopback, private, link-local, unique-local, shared (CGNAT),
/// unspecified, broadcast and multicast addresses.
pub fn is_internal(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_internal_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) forms.
        || v6.segments()[..6] == [0; 6]
        || v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
}

fn contains(network: IpAddr, bits: u8, address: IpAddr) -> bool {
    match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn internal_addresses_are_refused_unless_listed() {
        let none = AllowList::default();
        for internal in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!none.allows(ip(internal)), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
        ] {
            assert!(none.allows(ip(public)), "{public}");
        }
        let loopback: AllowList = "127.0.0.1/32, fd00::/8".parse().expect("list");
        assert!(loopback.allows(ip("127.0.0.1")));
        assert!(loopback.allows(ip("::ffff:127.0.0.1")));
        assert!(!loopback.allows(ip("127.0.0.2")));
        assert!(loopback.allows(ip("fd12::1")));
        assert!(!loopback.allows(ip("::1")));
    }

    #[test]
    fn entries_are_hosts_addresses_or_networks() {
        let list: AllowList = "localhost, 10.0.0.0/8, [::1], Stand-In.local"
            .parse()
            .expect("list");
        assert!(list.allows_host("LOCALHOST"));
        assert!(list.allows_host("stand-in.local."));
        assert!(list.allows(ip("10.9.9.9")));
        assert!(list.allows(ip("::1")));
        assert!(!list.allows_host("example.com"));
        for bad in ["10.0.0.0/33", "::/129", "http://x", "a b", "1.2.3.4/x"] {
            assert!(bad.parse::<AllowList>().is_err(), "{bad}");
        }
        assert_eq!("".parse::<AllowList>(), Ok(AllowList::default()));
    }
}
