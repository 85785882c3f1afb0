//! Why an upstream connect failed, sorted into what a relay tells its client.

use std::fmt;
use std::io;
use std::time::Duration;

use super::HostPort;

/// What a failed connect means for the client, the answer to "reset it,
/// send it an ICMP unreachable, or let it time out?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The destination refused the connection.
    Refused,
    /// No route to the destination host.
    HostUnreachable,
    /// No route to the destination's network.
    NetUnreachable,
    /// The destination did not answer in time.
    TimedOut,
    /// The upstream's rules (or the local host's) do not allow it.
    NotAllowed,
    /// The upstream itself failed: its server unreachable, credentials
    /// rejected, its protocol broken, a failure it does not explain.
    Failed,
}

/// A failed [`Upstream::connect`](super::Upstream::connect) or
/// [`Upstream::udp_associate`](super::Upstream::udp_associate).
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// Connecting straight to the destination failed.
    Direct(io::Error),
    /// The destination's name did not resolve (direct upstream only).
    Resolve {
        /// The name.
        name: String,
        /// Why.
        source: io::Error,
    },
    /// The proxy server could not be reached.
    Server {
        /// The server.
        server: HostPort,
        /// Why.
        source: io::Error,
    },
    /// The connection to the proxy server failed during the exchange (it
    /// closed or reset before answering in full).
    Exchange(io::Error),
    /// A local socket could not be set up (the UDP association's).
    Local(io::Error),
    /// The proxy server broke its protocol.
    Protocol(String),
    /// The SOCKS5 server accepts none of the authentication methods offered.
    NoAcceptableMethod,
    /// The SOCKS5 server rejected the user name and password (RFC 1929).
    AuthRejected,
    /// The SOCKS5 server answered with this REP code, not success.
    Socks5Reply(u8),
    /// The HTTP proxy answered CONNECT with this non-2xx status.
    HttpStatus {
        /// The status code.
        status: u16,
        /// The reason phrase, sanitised and shortened for logs.
        reason: String,
    },
    /// The whole connect took longer than allowed.
    TimedOut(Duration),
    /// The upstream cannot relay UDP.
    UdpUnsupported(&'static str),
    /// The request cannot be expressed: a destination that is not a host
    /// name, credentials the protocol cannot carry.
    Invalid(String),
}

impl ConnectError {
    /// What this failure means for the client.
    pub(crate) fn kind(&self) -> FailureKind {
        match self {
            Self::Direct(e) => io_failure(e),
            // A name that does not resolve is a host that cannot be reached.
            Self::Resolve { .. } => FailureKind::HostUnreachable,
            Self::Socks5Reply(rep) => socks5_failure(*rep),
            Self::HttpStatus { status, .. } => http_failure(*status),
            Self::TimedOut(_) => FailureKind::TimedOut,
            Self::Server { .. }
            | Self::Exchange(_)
            | Self::Local(_)
            | Self::Protocol(_)
            | Self::NoAcceptableMethod
            | Self::AuthRejected
            | Self::UdpUnsupported(_)
            | Self::Invalid(_) => FailureKind::Failed,
        }
    }

    /// The `io::ErrorKind` this failure converts to: the kind's own for all
    /// but [`FailureKind::Failed`], which never claims to be about the
    /// destination (a refused *proxy server* is not a refused destination).
    fn io_kind(&self) -> io::ErrorKind {
        match self.kind() {
            FailureKind::Refused => io::ErrorKind::ConnectionRefused,
            FailureKind::HostUnreachable => io::ErrorKind::HostUnreachable,
            FailureKind::NetUnreachable => io::ErrorKind::NetworkUnreachable,
            FailureKind::TimedOut => io::ErrorKind::TimedOut,
            FailureKind::NotAllowed => io::ErrorKind::PermissionDenied,
            FailureKind::Failed => match self {
                Self::Direct(e) => e.kind(),
                Self::Protocol(_) => io::ErrorKind::InvalidData,
                Self::Invalid(_) => io::ErrorKind::InvalidInput,
                Self::UdpUnsupported(_) => io::ErrorKind::Unsupported,
                _ => io::ErrorKind::Other,
            },
        }
    }
}

/// A direct connect's error by its `io::ErrorKind` (ECONNREFUSED,
/// EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EACCES/EPERM).
fn io_failure(e: &io::Error) -> FailureKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => FailureKind::Refused,
        io::ErrorKind::HostUnreachable => FailureKind::HostUnreachable,
        io::ErrorKind::NetworkUnreachable => FailureKind::NetUnreachable,
        io::ErrorKind::TimedOut => FailureKind::TimedOut,
        io::ErrorKind::PermissionDenied => FailureKind::NotAllowed,
        _ => FailureKind::Failed,
    }
}

/// A SOCKS5 reply code, every one of RFC 1928's.
fn socks5_failure(rep: u8) -> FailureKind {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# o  X'00' succeeded
    //# o  X'01' general SOCKS server failure
    //# o  X'02' connection not allowed by ruleset
    //# o  X'03' Network unreachable
    //# o  X'04' Host unreachable
    //# o  X'05' Connection refused
    //# o  X'06' TTL expired
    //# o  X'07' Command not supported
    //# o  X'08' Address type not supported
    //# o  X'09' to X'FF' unassigned
    match rep {
        0x02 => FailureKind::NotAllowed,
        0x03 => FailureKind::NetUnreachable,
        0x04 => FailureKind::HostUnreachable,
        0x05 => FailureKind::Refused,
        // Servers send "TTL expired" when connecting timed out (Dante's
        // errno2reply maps ETIMEDOUT to it, and its client maps it back).
        0x06 => FailureKind::TimedOut,
        // 0x00 is not a failure and never gets here; 0x01 (general
        // failure), 0x07 (command), 0x08 (address type) and the unassigned
        // codes are the server's own failures.
        _ => FailureKind::Failed,
    }
}

/// An HTTP CONNECT status other than 2xx. HTTP has no status for "the
/// destination refused": proxies answer 502 (Bad Gateway) or 503 (Service
/// Unavailable) when they could not connect, whatever the reason, so both
/// are taken as refused (the client gets a reset, the quickest honest
/// failure); 504 (Gateway Timeout) is a timeout; 403 (Forbidden) and 407
/// (Proxy Authentication Required) are the proxy's rules; anything else is
/// the proxy failing.
fn http_failure(status: u16) -> FailureKind {
    match status {
        403 | 407 => FailureKind::NotAllowed,
        502 | 503 => FailureKind::Refused,
        504 => FailureKind::TimedOut,
        _ => FailureKind::Failed,
    }
}

/// What the SOCKS5 REP codes say (RFC 1928 section 6).
fn socks5_reply_text(rep: u8) -> &'static str {
    match rep {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct(e) => write!(f, "connect: {e}"),
            Self::Resolve { name, source } => write!(f, "resolving {name}: {source}"),
            Self::Server { server, source } => write!(f, "proxy server {server}: {source}"),
            Self::Exchange(e) => write!(f, "talking to the proxy server: {e}"),
            Self::Local(e) => write!(f, "local socket: {e}"),
            Self::Protocol(what) => write!(f, "proxy protocol violation: {what}"),
            Self::NoAcceptableMethod => {
                f.write_str("the SOCKS5 server accepts none of the authentication methods offered")
            }
            Self::AuthRejected => {
                f.write_str("the SOCKS5 server rejected the user name and password")
            }
            Self::Socks5Reply(rep) => {
                write!(f, "SOCKS5 reply {rep:#04x}: {}", socks5_reply_text(*rep))
            }
            Self::HttpStatus { status, reason } => {
                write!(f, "HTTP proxy answered CONNECT with {status} {reason}")
            }
            Self::TimedOut(limit) => write!(f, "no connection within {limit:?}"),
            Self::UdpUnsupported(upstream) => {
                write!(f, "UDP not supported by this upstream ({upstream})")
            }
            Self::Invalid(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Direct(e) | Self::Exchange(e) | Self::Local(e) => Some(e),
            Self::Resolve { source, .. } | Self::Server { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ConnectError> for io::Error {
    /// An `io::Error` of the fitting kind that carries the `ConnectError`
    /// (`get_ref()` and `downcast` give it back).
    fn from(e: ConnectError) -> Self {
        Self::new(e.io_kind(), e)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_socks5_reply_has_a_kind() {
        let kinds: Vec<_> = (0x01..=0x09).map(socks5_failure).collect();
        assert_eq!(
            kinds,
            [
                FailureKind::Failed,
                FailureKind::NotAllowed,
                FailureKind::NetUnreachable,
                FailureKind::HostUnreachable,
                FailureKind::Refused,
                FailureKind::TimedOut,
                FailureKind::Failed,
                FailureKind::Failed,
                FailureKind::Failed,
            ]
        );
        assert_eq!(socks5_failure(0xff), FailureKind::Failed);
        assert_eq!(
            ConnectError::Socks5Reply(0x04).to_string(),
            "SOCKS5 reply 0x04: host unreachable"
        );
    }

    #[test]
    fn http_statuses() {
        for (status, kind) in [
            (403, FailureKind::NotAllowed),
            (407, FailureKind::NotAllowed),
            (502, FailureKind::Refused),
            (503, FailureKind::Refused),
            (504, FailureKind::TimedOut),
            (400, FailureKind::Failed),
            (500, FailureKind::Failed),
            (301, FailureKind::Failed),
        ] {
            let e = ConnectError::HttpStatus {
                status,
                reason: String::new(),
            };
            assert_eq!(e.kind(), kind, "{status}");
        }
    }

    #[test]
    fn direct_errors_keep_their_meaning() {
        for (io_kind, kind) in [
            (io::ErrorKind::ConnectionRefused, FailureKind::Refused),
            (io::ErrorKind::HostUnreachable, FailureKind::HostUnreachable),
            (
                io::ErrorKind::NetworkUnreachable,
                FailureKind::NetUnreachable,
            ),
            (io::ErrorKind::TimedOut, FailureKind::TimedOut),
            (io::ErrorKind::PermissionDenied, FailureKind::NotAllowed),
            (io::ErrorKind::AddrNotAvailable, FailureKind::Failed),
        ] {
            let e = ConnectError::Direct(io::Error::from(io_kind));
            assert_eq!(e.kind(), kind);
            assert_eq!(io::Error::from(e).kind(), io_kind);
        }
        // A name that does not resolve: no such host.
        let e = ConnectError::Resolve {
            name: "no-such-host.invalid".into(),
            source: io::ErrorKind::NotFound.into(),
        };
        assert_eq!(e.kind(), FailureKind::HostUnreachable);
        // The kernel's errno, as a connect returns it.
        let e = ConnectError::Direct(io::Error::from_raw_os_error(113)); // EHOSTUNREACH
        assert_eq!(e.kind(), FailureKind::HostUnreachable);
        let e = ConnectError::Direct(io::Error::from_raw_os_error(101)); // ENETUNREACH
        assert_eq!(e.kind(), FailureKind::NetUnreachable);
    }

    #[test]
    fn io_conversion() {
        let cases = [
            (
                ConnectError::Socks5Reply(5),
                io::ErrorKind::ConnectionRefused,
            ),
            (
                ConnectError::Socks5Reply(3),
                io::ErrorKind::NetworkUnreachable,
            ),
            (
                ConnectError::Socks5Reply(2),
                io::ErrorKind::PermissionDenied,
            ),
            (ConnectError::Socks5Reply(1), io::ErrorKind::Other),
            (
                ConnectError::TimedOut(Duration::from_secs(1)),
                io::ErrorKind::TimedOut,
            ),
            (
                ConnectError::Protocol("x".into()),
                io::ErrorKind::InvalidData,
            ),
            (
                ConnectError::UdpUnsupported("http"),
                io::ErrorKind::Unsupported,
            ),
            (
                ConnectError::Invalid("x".into()),
                io::ErrorKind::InvalidInput,
            ),
            (ConnectError::AuthRejected, io::ErrorKind::Other),
            // The proxy server refusing is not the destination refusing.
            (
                ConnectError::Server {
                    server: HostPort::new("127.0.0.1", 1),
                    source: io::ErrorKind::ConnectionRefused.into(),
                },
                io::ErrorKind::Other,
            ),
        ];
        for (e, io_kind) in cases {
            let shown = e.to_string();
            let io = io::Error::from(e);
            assert_eq!(io.kind(), io_kind, "{shown}");
            assert_eq!(io.to_string(), shown);
            let back = io.get_ref().and_then(|e| e.downcast_ref::<ConnectError>());
            assert!(back.is_some(), "{shown}");
        }
    }
}
