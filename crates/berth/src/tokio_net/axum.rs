//! `axum::serve` on a berth listener (feature `axum`): [`TcpListener`]
//! implements axum 0.8's [`Listener`]; the impl's docs have the details.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ::axum::serve::Listener;

use super::{TcpListener, TcpStream};

/// How long `accept` waits after an error that is not about one
/// connection (axum's own listeners wait as long).
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// `axum::serve(listener, app)` takes a berth listener as it takes
/// tokio's.
///
/// `ConnectInfo<SocketAddr>` needs one more call: axum implements `Connected` for `SocketAddr` on tokio's listener and on
/// its [`TapIo`](::axum::serve::TapIo) wrapper only, and the orphan rule
/// keeps berth from adding the impl for its own listener; so for
/// `ConnectInfo<SocketAddr>` pass the listener through axum's
/// [`ListenerExt::tap_io`](::axum::serve::ListenerExt::tap_io) with a
/// closure that does nothing (upstream: tokio-rs/axum#3331):
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{Router, extract::ConnectInfo, routing::get, serve::ListenerExt};
/// use berth::{NetStack, tokio_net::TcpListener};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
///     peer.to_string()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (dev, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(dev)?;
/// let listener = TcpListener::bind(&stack, "198.18.0.2:80").await?;
/// let app = Router::new().route("/", get(whoami));
/// let serve = axum::serve(
///     listener.tap_io(|_| ()),
///     app.into_make_service_with_connect_info::<SocketAddr>(),
/// )
/// .with_graceful_shutdown(async {}); // a real server: a shutdown signal
/// serve.await?;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl Listener for TcpListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    /// The next connection. As axum's listener for tokio's: an error about
    /// one connection (refused, aborted, reset) is skipped; any other is
    /// logged with `tracing::error!` and retried after a second (it cannot
    /// be returned: axum's `accept` has no error).
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match Self::accept(self).await {
                Ok(conn) => return conn,
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    tracing::error!("berth: axum accept error: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Self::local_addr(self)
    }
}

/// An error that ends one connection, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
