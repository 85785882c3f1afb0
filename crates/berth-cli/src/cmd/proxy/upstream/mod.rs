//! How `berth proxy` reaches a flow's destination (issue #15): directly,
//! through a SOCKS5 server (RFC 1928, with RFC 1929 user name and password
//! authentication) or through an HTTP proxy's CONNECT tunnel (RFC 9110
//! section 9.3.6).
//!
//! `--upstream` values parse into an [`Upstream`] (`spec`); destinations are
//! [`Target`]s, addresses or names, and names are handed to the proxy
//! unresolved. [`Upstream::connect`] opens a TCP connection through it,
//! [`Upstream::udp_associate`] a SOCKS5 UDP association; a failure is a
//! [`ConnectError`] whose [`kind`](ConnectError::kind) says what to tell
//! the client. The protocols' bytes are pure functions
//! (`socks5::wire`, `http`) that the async code drives, and everything
//! runs on the caller's tokio runtime, which needs IO and time enabled:
//! no thread of its own, none per connection.

mod direct;
mod error;
mod http;
mod socks5;
mod spec;
mod target;
#[cfg(test)]
mod tests;

pub(crate) use error::ConnectError;
// Named only by tests until the relays are wired in.
#[allow(unused_imports)]
pub(crate) use error::FailureKind;
pub(crate) use socks5::UdpAssociation;
pub(crate) use spec::{Credentials, HostPort};
pub(crate) use target::Target;

use std::time::Duration;

use tokio::net::TcpStream;

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

impl Upstream {
    /// Opens a TCP connection to `target` through this upstream. On success
    /// the stream carries the destination's bytes, none of them consumed.
    /// `timeout` bounds all of it: resolving, reaching the proxy server, its
    /// handshake.
    pub(crate) async fn connect(
        &self,
        target: &Target,
        timeout: Duration,
    ) -> Result<TcpStream, ConnectError> {
        if let Some(why) = target.invalid() {
            return Err(ConnectError::Invalid(why));
        }
        let attempt = async {
            match self {
                Self::Direct => direct::connect(target).await,
                Self::Socks5 { server, auth } => {
                    let stream = direct::connect_server(server).await?;
                    socks5::connect(stream, auth.as_ref(), target).await
                }
                Self::Http { server, auth } => {
                    let stream = direct::connect_server(server).await?;
                    http::connect(stream, auth.as_ref(), target).await
                }
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| ConnectError::TimedOut(timeout))?
    }

    /// Opens a UDP association through a SOCKS5 upstream (RFC 1928 UDP
    /// ASSOCIATE), within `timeout`. It lasts while the returned value
    /// lives. The direct upstream relays UDP with plain sockets and an HTTP
    /// proxy cannot relay it: both are an error here.
    pub(crate) async fn udp_associate(
        &self,
        timeout: Duration,
    ) -> Result<UdpAssociation, ConnectError> {
        let (server, auth) = match self {
            Self::Socks5 { server, auth } => (server, auth),
            Self::Direct => return Err(ConnectError::UdpUnsupported("direct")),
            Self::Http { .. } => return Err(ConnectError::UdpUnsupported("HTTP CONNECT")),
        };
        let attempt = async {
            let control = direct::connect_server(server).await?;
            socks5::udp_associate(control, auth.as_ref()).await
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| ConnectError::TimedOut(timeout))?
    }
}
