//! How `berth proxy` reaches a flow's destination (issue #15): directly,
//! through a SOCKS5 server (RFC 1928, with RFC 1929 user name and password
//! authentication) or through an HTTP proxy's CONNECT tunnel (RFC 9110
//! section 9.3.6).
//!
//! `--upstream` values parse into an [`Upstream`] (`spec`); destinations are
//! [`Target`]s, addresses or names, and names are handed to the proxy
//! unresolved.

mod direct;
mod error;
mod http;
mod socks5;
mod spec;
mod target;
#[cfg(test)]
mod tests;

// The relays' API: until they are wired in, some of it is named only by
// tests.
#[allow(unused_imports)]
pub(crate) use error::{ConnectError, FailureKind};
pub(crate) use spec::{Credentials, HostPort};
pub(crate) use target::Target;

/// Where relayed flows go, the `--upstream` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// Straight to the destination, from this host.
    Direct,
    /// Through a SOCKS5 server (TCP CONNECT, UDP ASSOCIATE).
    Socks5 {
        /// The server.
        server: HostPort,
        /// RFC 1929 credentials, if the server wants them.
        auth: Option<Credentials>,
    },
    /// Through an HTTP proxy's CONNECT method (TCP only).
    Http {
        /// The proxy.
        server: HostPort,
        /// `Basic` credentials for `Proxy-Authorization`.
        auth: Option<Credentials>,
    },
}
