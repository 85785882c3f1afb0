//! [`ToSocketAddrs`]: the addresses a socket call may use, from the same
//! arguments std's trait of that name takes (a `SocketAddr`, `(ip, port)`,
//! `"198.18.0.2:80"`, `"[2001:2::2]:80"`, `("198.18.0.2", 80)`, a slice of
//! addresses), so that code written against std compiles unchanged, as with
//! tokio's trait of the same name.
//!
//! It differs from std's in one thing: a name is never handed to the
//! host's resolver. The host's resolver asks the host's network, which is
//! not berth's (and may not reach it at all), and can block for seconds.
//! `localhost` is the loopback addresses, 127.0.0.1 and ::1; any other
//! name is `InvalidInput`, with a message that says to pass an address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What a berth socket call accepts as its address (see the module doc).
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use std::net::{Ipv4Addr, SocketAddr};
/// use berth::net::ToSocketAddrs;
///
/// let v4: SocketAddr = "198.18.0.2:80".parse().unwrap();
/// assert_eq!("198.18.0.2:80".to_socket_addrs()?.next(), Some(v4));
/// assert_eq!(("198.18.0.2", 80).to_socket_addrs()?.next(), Some(v4));
/// assert_eq!((Ipv4Addr::new(198, 18, 0, 2), 80).to_socket_addrs()?.next(), Some(v4));
/// assert_eq!(v4.to_socket_addrs()?.next(), Some(v4));
///
/// // `localhost` is the loopback addresses, IPv4 first:
/// let local: Vec<_> = "localhost:80".to_socket_addrs()?.collect();
/// assert_eq!(local, ["127.0.0.1:80".parse::<SocketAddr>().unwrap(), "[::1]:80".parse().unwrap()]);
///
/// // Any other name is refused, never sent to the host's resolver:
/// let e = "example.com:80".to_socket_addrs().unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidInput);
/// # std::io::Result::Ok(())
/// ```
pub trait ToSocketAddrs {
    /// The addresses, in the order to try them.
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>>;
}

fn one(addr: SocketAddr) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    Ok(vec![addr].into_iter())
}

/// A host (an address, or `localhost`) and a port.
fn host_port(host: &str, port: u16) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return one(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]
        .into_iter());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "berth resolves no names, and does not ask the host's resolver (it would query the \
             host's network, not berth's): pass an IP address, e.g. \"198.18.0.2:80\", instead \
             of {host:?}"
        ),
    ))
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::V4(*self))
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::V6(*self))
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(self.0, self.1))
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(IpAddr::V4(self.0), self.1))
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        one(SocketAddr::new(IpAddr::V6(self.0), self.1))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return one(addr);
        }
        let (host, port) = self
            .rsplit_once(':')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
        host_port(host, port)
    }
}

impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        self.as_str().to_socket_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        Ok(Vec::from(self).into_iter())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        (**self).to_socket_addrs()
    }
}

/// The first address `addr` gives (for calls that take one address:
/// bind, send_to, UDP connect).
pub(crate) fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?.next().ok_or_else(no_addresses)
}

/// Tries `op` on each address of `addr` in turn, as std's `connect` does:
/// the first success, or the last error.
pub(crate) fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut op: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match op(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_addresses))
}

pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(a: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
        a.to_socket_addrs().map(Iterator::collect)
    }

    #[test]
    fn the_forms_std_takes() {
        let v4: SocketAddr = "198.18.0.2:80".parse().unwrap();
        let v6: SocketAddr = "[2001:2::2]:80".parse().unwrap();
        assert_eq!(addrs("198.18.0.2:80").unwrap(), [v4]);
        assert_eq!(addrs("[2001:2::2]:80").unwrap(), [v6]);
        assert_eq!(addrs(String::from("198.18.0.2:80")).unwrap(), [v4]);
        assert_eq!(addrs(("198.18.0.2", 80)).unwrap(), [v4]);
        assert_eq!(addrs((v4.ip(), 80)).unwrap(), [v4]);
        assert_eq!(addrs(&[v4, v6][..]).unwrap(), [v4, v6]);
        let by_ref: &SocketAddr = &v6;
        assert_eq!(addrs(by_ref).unwrap(), [v6]);
    }

    #[test]
    fn localhost_is_loopback_and_other_names_are_refused() {
        let got = addrs("localhost:80").unwrap();
        assert_eq!(
            got,
            [
                "127.0.0.1:80".parse::<SocketAddr>().unwrap(),
                "[::1]:80".parse().unwrap()
            ]
        );
        let e = addrs("example.com:80").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("resolves no names"), "{e}");
        assert_eq!(
            addrs("198.18.0.2").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
