//! The namespace's DNS (port 53, UDP and TCP, to any address): with
//! `--dns fake-ip`, A and AAAA queries are answered from the fake pool (the
//! name is remembered, and a connection to the fake address reaches the
//! upstream as that name); everything else, and every query with
//! `--dns forward`, goes over TCP (RFC 1035 4.2.2) through the upstream to
//! `--dns-server`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use berth::tokio_net::{TcpStream, UdpSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::fake_ip::{self, Reply};
use super::state::{Counters, DnsMode, Proxy};
use super::sync::lock;
use super::upstream::Target;

/// How long a forwarded query may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a DNS-over-TCP client may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(30);

/// What the proxy does with one query.
enum Decision {
    Answer(Vec<u8>),
    Forward,
    Drop,
}

fn decide(proxy: &Proxy, query: &[u8]) -> Decision {
    if proxy.dns == DnsMode::FakeIp
        && let Some(pool) = &proxy.fake
    {
        return match fake_ip::answer(&mut lock(pool), query) {
            Reply::Answer(bytes) => {
                Counters::add(&proxy.counters.dns_answered);
                Decision::Answer(bytes)
            }
            Reply::Forward => Decision::Forward,
            Reply::Drop => Decision::Drop,
        };
    }
    Decision::Forward
}

/// The answer to a query the pool does not answer: the DNS server's, or a
/// SERVFAIL if it cannot be had (`None`: not a query at all).
async fn forwarded(proxy: &Proxy, query: &[u8]) -> Option<Vec<u8>> {
    match forward(proxy, query).await {
        Ok(reply) => Some(reply),
        Err(e) => {
            tracing::debug!("berth proxy: DNS query forwarded: {e}");
            fake_ip::server_failure(query)
        }
    }
}

/// A query over UDP from `src` to `dst`: answered from `dst`. Only
/// forwarded queries wait for a slot among
/// [`MAX_DNS_FORWARDS`](super::state::MAX_DNS_FORWARDS).
pub(crate) fn query_udp(
    proxy: &Arc<Proxy>,
    sock: &Arc<UdpSocket>,
    query: Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
) {
    let answer = match decide(proxy, &query) {
        Decision::Answer(bytes) => Some(bytes),
        Decision::Drop => {
            Counters::add(&proxy.counters.udp_dropped);
            return;
        }
        Decision::Forward => None,
    };
    let permit = match answer {
        Some(_) => None,
        None => match proxy.dns_forwards.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                Counters::add(&proxy.counters.udp_dropped);
                return;
            }
        },
    };
    let (proxy, sock) = (proxy.clone(), sock.clone());
    tokio::spawn(async move {
        let _permit = permit;
        let reply = match answer {
            Some(r) => r,
            None => match forwarded(&proxy, &query).await {
                Some(r) => r,
                None => return,
            },
        };
        if let Err(e) = sock.send_from(&reply, dst, src).await {
            tracing::debug!("berth proxy: DNS answer to {src}: {e}");
        }
    });
}

/// `msg` with its two-octet length in front, as DNS over TCP carries it
/// (RFC 1035 4.2.2); `None` if it is longer than that can say.
fn framed(msg: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(msg.len()).ok()?;
    let mut out = Vec::with_capacity(2 + msg.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
    Some(out)
}

/// Reads one length-prefixed DNS message.
async fn read_framed<R: AsyncReadExt + Unpin>(from: &mut R) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    from.read_exact(&mut len).await?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    from.read_exact(&mut msg).await?;
    Ok(msg)
}

/// DNS over TCP, answered query by query until the client closes or
/// idles.
pub(crate) async fn serve_tcp(proxy: Arc<Proxy>, mut stream: TcpStream) {
    loop {
        let Ok(Ok(query)) = tokio::time::timeout(TCP_IDLE, read_framed(&mut stream)).await else {
            return;
        };
        let reply = match decide(&proxy, &query) {
            Decision::Answer(r) => r,
            Decision::Drop => return,
            Decision::Forward => match forwarded(&proxy, &query).await {
                Some(r) => r,
                None => return,
            },
        };
        let Some(out) = framed(&reply) else {
            return;
        };
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Sends `query` over TCP through the upstream to the DNS server; its
/// answer.
async fn forward(proxy: &Proxy, query: &[u8]) -> io::Result<Vec<u8>> {
    let Some(server) = proxy.dns_server else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no --dns-server to forward to",
        ));
    };
    Counters::add(&proxy.counters.dns_forwarded);
    let exchange = async {
        let mut s = proxy
            .upstream
            .connect(&Target::Addr(server), FORWARD_TIMEOUT)
            .await
            .map_err(io::Error::from)?;
        let out = framed(query)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "query too long"))?;
        s.write_all(&out).await?;
        read_framed(&mut s).await
    };
    tokio::time::timeout(FORWARD_TIMEOUT, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "DNS server did not answer"))?
}
