//! [`Route`]: a prefix the namespace routes through the proxy, of either
//! family (`198.19.0.0/16`, `2001:2:0:100::/56`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network prefix: the address with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) net: IpAddr,
    pub(crate) prefix: u8,
}

impl Route {
    pub(crate) const fn v4(net: Ipv4Addr, prefix: u8) -> Self {
        Self {
            net: IpAddr::V4(net),
            prefix,
        }
    }

    pub(crate) const fn v6(net: Ipv6Addr, prefix: u8) -> Self {
        Self {
            net: IpAddr::V6(net),
            prefix,
        }
    }

    fn mask4(prefix: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
    }

    fn mask6(prefix: u8) -> u128 {
        u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
    }

    /// Whether `ip` is inside the prefix (never across families).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & Self::mask4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & Self::mask6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// Whether the two prefixes share an address.
    pub(crate) fn overlaps(&self, other: &Self) -> bool {
        let shorter = if self.prefix <= other.prefix {
            self
        } else {
            other
        };
        let longer = if std::ptr::eq(shorter, self) {
            other
        } else {
            self
        };
        shorter.contains(longer.net)
    }

    /// The number of addresses, saturating.
    pub(crate) fn size(&self) -> u128 {
        let bits = if self.net.is_ipv4() { 32 } else { 128 };
        1u128
            .checked_shl(bits - u32::from(self.prefix))
            .unwrap_or(u128::MAX)
    }
}

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s.split_once('/').ok_or_else(|| {
            format!("`{s}` needs a prefix length, like 198.19.0.0/16 or 2001:2:0:100::/56")
        })?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("`{prefix}` is not a prefix length"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if !(1..=max).contains(&prefix) {
            return Err(format!("prefix length {prefix} must be 1..={max}"));
        }
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        if ip.is_loopback() || ip.is_multicast() || broadcast || ip.is_unspecified() {
            return Err(format!("{ip}/{prefix} cannot be routed through a proxy"));
        }
        // `ip route add` refuses host bits; keep the network part.
        let net = match ip {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & Self::mask4(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & Self::mask6(prefix))),
        };
        Ok(Self { net, prefix })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_match() {
        let r: Route = "198.19.7.9/16".parse().unwrap();
        assert_eq!(r.to_string(), "198.19.0.0/16");
        assert!(r.contains("198.19.255.1".parse().unwrap()));
        assert!(!r.contains("198.18.0.1".parse().unwrap()));
        assert!(!r.contains("2001:2::1".parse().unwrap()));
        let host: Route = "198.19.1.1/32".parse().unwrap();
        assert!(host.contains("198.19.1.1".parse().unwrap()));
        assert!(!host.contains("198.19.1.2".parse().unwrap()));
        let v6: Route = "2001:2:0:1:2::/64".parse().unwrap();
        assert_eq!(v6.to_string(), "2001:2:0:1::/64");
        assert!(v6.contains("2001:2:0:1::9".parse().unwrap()));
        assert!(!v6.contains("2001:2:0:2::9".parse().unwrap()));
        assert_eq!(r.size(), 65536);
        for bad in [
            "198.19.0.0",
            "198.19.0.0/0",
            "198.19.0.0/33",
            "2001:2::/129",
            "127.0.0.0/8",
            "224.0.0.0/4",
            "::1/128",
            "x/8",
        ] {
            assert!(bad.parse::<Route>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_is_symmetric() {
        let a: Route = "198.18.0.0/15".parse().unwrap();
        let b: Route = "198.19.3.0/24".parse().unwrap();
        let c: Route = "198.20.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
    }
}
