//! Where a relayed flow goes: an address, or a name the upstream resolves.

use std::fmt;
use std::net::SocketAddr;

/// Longest host name accepted (RFC 1035's 255 octets on the wire are at most
/// 253 in text, without the trailing dot).
const MAX_NAME: usize = 253;

/// Longest label of a host name (RFC 1035 section 2.3.4).
const MAX_LABEL: usize = 63;

/// A flow's destination.
///
/// A name is passed to the proxy as a name (SOCKS5 ATYP DOMAINNAME, the
/// authority of an HTTP CONNECT), so it resolves on the proxy's side; only
/// the direct upstream resolves it here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// An IP address and port.
    Addr(SocketAddr),
    /// A host name and port.
    Name(String, u16),
}

impl Target {
    /// The destination port.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn port(&self) -> u16 {
        match self {
            Self::Addr(a) => a.port(),
            Self::Name(_, port) => *port,
        }
    }

    /// Why this target cannot be sent anywhere, if it cannot: a name must be
    /// a host name (letters, digits, `-`, `_` and dots), which also keeps it
    /// from smuggling anything into an HTTP request head.
    pub(crate) fn invalid(&self) -> Option<String> {
        match self {
            Self::Addr(_) => None,
            Self::Name(name, _) if valid_name(name) => None,
            Self::Name(name, _) => Some(format!("`{}` is not a host name", name.escape_debug())),
        }
    }
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Self {
        Self::Addr(addr)
    }
}

impl fmt::Display for Target {
    /// `192.0.2.1:80`, `[2001:db8::1]:443`, `example.com:443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(a) => write!(f, "{a}"),
            Self::Name(name, port) => write!(f, "{name}:{port}"),
        }
    }
}

/// Whether `name` is a host name: dot-separated labels of 1 to 63 letters,
/// digits, `-` or `_`, at most 253 bytes, one trailing dot allowed.
pub(crate) fn valid_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.split('.').all(|label| {
            (1..=MAX_LABEL).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["example.com", "example.com.", "a", "x_y-z.test", "1.2.3.4"] {
            assert!(valid_name(good), "{good}");
        }
        let long_label = "a".repeat(64);
        let long_name = ["a".repeat(63).as_str(); 5].join(".");
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "a\r\nHost: x",
            "[::1]",
            "a:80",
            "ex\u{e4}mple.com",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn display_and_invalid() {
        let v6 = Target::Addr("[2001:db8::1]:443".parse().unwrap());
        assert_eq!(v6.to_string(), "[2001:db8::1]:443");
        assert_eq!(v6.port(), 443);
        let name = Target::Name("example.com".into(), 80);
        assert_eq!(name.to_string(), "example.com:80");
        assert_eq!(name.invalid(), None);
        let bad = Target::Name("a\nb".into(), 80);
        assert_eq!(bad.invalid().unwrap(), "`a\\nb` is not a host name");
    }
}
