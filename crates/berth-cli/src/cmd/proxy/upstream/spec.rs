//! `--upstream` values: `direct`, `socks5://[user:pass@]HOST:PORT` and
//! `http://[user:pass@]HOST:PORT`, parsed and shown without the password.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use super::target::valid_name;
use super::{Target, Upstream};

/// Longest user name or password RFC 1929 can carry.
pub(crate) const MAX_CREDENTIAL: usize = 255;

/// What `--upstream` accepts, for error messages.
const FORMS: &str = "direct, socks5://[user:pass@]HOST:PORT or http://[user:pass@]HOST:PORT";

/// A proxy server: an IP address or a host name, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// An IPv4 or IPv6 address (no brackets) or a host name.
    host: String,
    port: u16,
}

impl HostPort {
    /// A server at `host` (an address without brackets, or a name) and `port`.
    pub(crate) fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The server as a place to connect to: its address, or its name to
    /// resolve here (the proxy server itself is always resolved locally).
    pub(crate) fn target(&self) -> Target {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => Target::Addr(SocketAddr::new(ip, self.port)),
            Err(_) => Target::Name(self.host.clone(), self.port),
        }
    }
}

impl From<SocketAddr> for HostPort {
    fn from(addr: SocketAddr) -> Self {
        Self::new(addr.ip().to_string(), addr.port())
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A user name and password for the proxy server (RFC 1929 for SOCKS5,
/// `Basic` for HTTP). Neither `Debug` nor the upstream's `Display` shows the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Credentials as given; `--upstream` parsing checks them per scheme.
    pub(crate) fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl FromStr for Upstream {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("direct") {
            return Ok(Self::Direct);
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("`{s}` is not an upstream: expected {FORMS}"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "socks5" && scheme != "http" {
            return Err(format!(
                "`{s}`: unknown scheme `{scheme}`: expected {FORMS}"
            ));
        }
        // A URL's trailing slash is harmless; a path is not something a
        // proxy server address has.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(format!("`{s}`: a proxy server address has no path"));
        }
        // The last `@` ends the user information: an unencoded `@` in a
        // password is forgiven, one in a host is not possible.
        let (auth, server) = match authority.rsplit_once('@') {
            Some((userinfo, server)) => (Some(credentials(userinfo, &scheme)?), server),
            None => (None, authority),
        };
        let server = host_port(server)?;
        Ok(if scheme == "socks5" {
            Self::Socks5 { server, auth }
        } else {
            Self::Http { server, auth }
        })
    }
}

impl fmt::Display for Upstream {
    /// The `--upstream` value, with `***` in place of any password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, server, auth) = match self {
            Self::Direct => return f.write_str("direct"),
            Self::Socks5 { server, auth } => ("socks5", server, auth),
            Self::Http { server, auth } => ("http", server, auth),
        };
        write!(f, "{scheme}://")?;
        if let Some(auth) = auth {
            write!(f, "{}:***@", PercentEncoded(auth.user()))?;
        }
        write!(f, "{server}")
    }
}

/// `user:pass`, percent-decoded and checked against what `scheme` can carry.
fn credentials(userinfo: &str, scheme: &str) -> Result<Credentials, String> {
    let (user, password) = userinfo
        .split_once(':')
        .ok_or("credentials need a password: `user:pass@HOST:PORT`")?;
    let user = percent_decode(user).map_err(|e| format!("user name: {e}"))?;
    let password = percent_decode(password).map_err(|e| format!("password: {e}"))?;
    if user.is_empty() {
        return Err("the user name is empty".into());
    }
    if scheme == "socks5" {
        //= https://www.rfc-editor.org/rfc/rfc1929#section-2
        //# +----+------+----------+------+----------+
        //# |VER | ULEN |  UNAME   | PLEN |  PASSWD  |
        //# +----+------+----------+------+----------+
        //# | 1  |  1   | 1 to 255 |  1   | 1 to 255 |
        //# +----+------+----------+------+----------+
        for (what, value) in [("user name", &user), ("password", &password)] {
            if value.is_empty() || value.len() > MAX_CREDENTIAL {
                return Err(format!(
                    "the {what} is {} bytes; SOCKS5 (RFC 1929) carries 1 to {MAX_CREDENTIAL}",
                    value.len()
                ));
            }
        }
    } else {
        //= https://www.rfc-editor.org/rfc/rfc7617#section-2
        //# Furthermore, a user-id containing a colon character is invalid
        if user.contains(':') {
            return Err("an HTTP (Basic) user name cannot contain `:`".into());
        }
        //= https://www.rfc-editor.org/rfc/rfc7617#section-2
        //# The user-id and password MUST NOT contain any control characters
        if user.chars().chain(password.chars()).any(char::is_control) {
            return Err("HTTP (Basic) credentials cannot contain control characters".into());
        }
    }
    Ok(Credentials::new(user, password))
}

/// `HOST:PORT`: an IPv4 address, a bracketed IPv6 address or a host name,
/// and a port 1 to 65535.
fn host_port(s: &str) -> Result<HostPort, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{s}`: `[` without `]`"))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("`{s}` needs a port: `[{ip}]:PORT`"))?;
        (ip.to_string(), port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}` needs a port: `HOST:PORT`"))?;
        if host.contains(':') {
            return Err(format!(
                "`{s}`: an IPv6 address goes in brackets, `[{host}]:PORT`"
            ));
        }
        if host.parse::<Ipv4Addr>().is_err() && !valid_name(host) {
            return Err(format!(
                "`{host}` is neither an IPv4 address nor a host name"
            ));
        }
        (host.to_string(), port)
    };
    if port.is_empty() {
        return Err(format!("`{s}` needs a port after `:`"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{port}` is not a port (1 to 65535)"))?;
    Ok(HostPort::new(host, port))
}

/// `%XX` escapes decoded (RFC 3986 section 2.1); the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next(), bytes.next()];
        let [Some(hi), Some(lo)] = hex.map(|d| d.and_then(|d| (d as char).to_digit(16))) else {
            return Err("`%` must be followed by two hex digits".into());
        };
        // Two hex digits make at most 0xff.
        out.push(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX));
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once percent-decoded".into())
}

/// Shows a user name so that it parses back: bytes other than unreserved
/// characters (RFC 3986 section 2.3) as `%XX`.
struct PercentEncoded<'a>(&'a str);

impl fmt::Display for PercentEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Upstream {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn error(s: &str) -> String {
        match s.parse::<Upstream>() {
            Ok(u) => panic!("{s} parsed as {u:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn forms() {
        assert_eq!(parse("direct"), Upstream::Direct);
        assert_eq!(parse("DIRECT"), Upstream::Direct);
        assert_eq!(
            parse("socks5://127.0.0.1:1080"),
            Upstream::Socks5 {
                server: HostPort::new("127.0.0.1", 1080),
                auth: None
            }
        );
        assert_eq!(
            parse("SOCKS5://[::1]:1080/"),
            Upstream::Socks5 {
                server: HostPort::new("::1", 1080),
                auth: None
            }
        );
        assert_eq!(
            parse("http://proxy.example:3128"),
            Upstream::Http {
                server: HostPort::new("proxy.example", 3128),
                auth: None
            }
        );
        assert_eq!(
            parse("http://al%69ce:p%40ss:w@rd@[2001:db8::1]:8080"),
            Upstream::Http {
                server: HostPort::new("2001:db8::1", 8080),
                auth: Some(Credentials::new("alice", "p@ss:w@rd"))
            }
        );
        assert_eq!(
            parse("socks5://u:%E2%82%AC@h:1"),
            Upstream::Socks5 {
                server: HostPort::new("h", 1),
                auth: Some(Credentials::new("u", "\u{20ac}"))
            }
        );
    }

    #[test]
    fn server_targets() {
        assert_eq!(
            HostPort::new("::1", 1080).target(),
            Target::Addr("[::1]:1080".parse().unwrap())
        );
        assert_eq!(
            HostPort::new("proxy", 3128).target(),
            Target::Name("proxy".into(), 3128)
        );
        assert_eq!(HostPort::new("::1", 1080).to_string(), "[::1]:1080");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("socks5://127.0.0.1", "needs a port"),
            ("socks5://127.0.0.1:", "needs a port after"),
            ("socks5://[::1]", "needs a port"),
            ("socks5://::1:1080", "goes in brackets"),
            ("socks5://[::1:1080", "without `]`"),
            ("socks5://[nope]:1", "not an IPv6 address"),
            ("socks5://h:0", "not a port"),
            ("socks5://h:65536", "not a port"),
            ("socks5://h:x", "not a port"),
            (
                "socks5://bad_host!:1",
                "neither an IPv4 address nor a host name",
            ),
            ("socks4://h:1", "unknown scheme `socks4`"),
            ("https://h:1", "unknown scheme `https`"),
            ("h:1", "not an upstream"),
            ("socks5://h:1/path", "no path"),
            ("socks5://:pw@h:1", "user name is empty"),
            ("socks5://user@h:1", "need a password"),
            ("socks5://u:@h:1", "password is 0 bytes"),
            ("socks5://u:%zz@h:1", "two hex digits"),
            ("socks5://u:%4@h:1", "two hex digits"),
            ("socks5://u:%ff@h:1", "not UTF-8"),
            ("http://a%3Ab:pw@h:1", "cannot contain `:`"),
            ("http://ab:p%0Aw@h:1", "control characters"),
        ];
        for (input, wanted) in cases {
            let e = error(input);
            assert!(e.contains(wanted), "{input}: {e:?} lacks {wanted:?}");
        }
        let long = "x".repeat(256);
        let e = error(&format!("socks5://{long}:pw@h:1"));
        assert!(e.contains("user name is 256 bytes"), "{e}");
        let e = error(&format!("socks5://u:{long}@h:1"));
        assert!(e.contains("password is 256 bytes"), "{e}");
        // Exactly 255 bytes fits; HTTP has no such limit.
        parse(&format!("socks5://{}:{}@h:1", &long[1..], &long[1..]));
        parse(&format!("http://u:{long}@h:1"));
        // An empty password is fine in Basic.
        parse("http://u:@h:1");
    }

    #[test]
    fn display_never_shows_the_password() {
        for s in [
            "socks5://alice:hunter2@127.0.0.1:1080",
            "http://alice:hunter2@[::1]:3128",
            "http://al%20ice:hunter2@proxy:3128",
        ] {
            let u = parse(s);
            let shown = u.to_string();
            let debug = format!("{u:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!debug.contains("hunter2"), "{debug}");
            // What is shown parses back to the same server and user.
            let back = parse(&shown);
            assert_eq!(back.to_string(), shown);
        }
        assert_eq!(
            parse("http://al%20ice:pw@[::1]:3128").to_string(),
            "http://al%20ice:***@[::1]:3128"
        );
        assert_eq!(parse("socks5://h:1").to_string(), "socks5://h:1");
        assert_eq!(parse("direct").to_string(), "direct");
    }
}
