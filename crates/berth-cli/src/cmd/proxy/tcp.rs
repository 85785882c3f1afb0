//! TCP relays: each connection attempt from the namespace is held (no
//! SYN-ACK yet) while the upstream is dialled; only when the upstream
//! connection stands does the client's handshake complete. A refused
//! upstream refuses the client's SYN with a RST (its connect fails with
//! "connection refused"), an unreachable one with an ICMP unreachable, so
//! the client learns what a direct connection would have told it. Then
//! both directions are copied by one task, half-close carried each way
//! (RFC 9293 3.6), until both ends are done or the relay is idle too long.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use berth::net::{SynRefusal, SynRequest};
use berth::tokio_net::{TcpForwarder, TcpStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::dns;
use super::relays::Relay;
use super::state::{Counters, Proxy};
use super::upstream::{FailureKind, Target};

/// Copy buffer per direction: it starts small (most flows are
/// interactive, and ten thousand of them should not cost 640 MiB) and
/// doubles up to the largest while reads fill it.
const COPY_BUF_FIRST: usize = 2 * 1024;
const COPY_BUF: usize = 32 * 1024;

/// Takes connection attempts until the forwarder fails (the stack is
/// gone).
pub(crate) async fn accept_loop(proxy: Arc<Proxy>, forwarder: TcpForwarder) {
    loop {
        let req = match forwarder.request().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("berth proxy: no more TCP: {e}");
                return;
            }
        };
        let (client, dst) = (req.peer_addr(), req.local_addr());
        if proxy.intercepts_dns(dst) && proxy.fake.is_some() {
            // DNS over TCP, answered here.
            match req.accept().and_then(TcpStream::from_std) {
                Ok(s) => {
                    tokio::spawn(dns::serve_tcp(proxy.clone(), s));
                }
                Err(e) => tracing::debug!("berth proxy: DNS over TCP from {client}: {e}"),
            }
            continue;
        }
        if !proxy.allowed(dst) && !proxy.intercepts_dns(dst) {
            tracing::debug!("berth proxy: {client} -> {dst} is not routed here; refused");
            refuse(&proxy, req, SynRefusal::Reset);
            continue;
        }
        if proxy.tcp_live.load(Ordering::SeqCst) >= proxy.limits.tcp_relays {
            tracing::warn!(
                "berth proxy: {} relays busy, refusing {client}",
                proxy.limits.tcp_relays
            );
            refuse(&proxy, req, SynRefusal::Reset);
            continue;
        }
        let Some(dial) = proxy.start_dial(client.ip()) else {
            // The client's SYN is dropped: it retransmits, and by then a
            // dial may have finished (a SYN flood from one client costs
            // the others nothing).
            tracing::debug!("berth proxy: {client} has too many dials in flight");
            refuse(&proxy, req, SynRefusal::Silent);
            continue;
        };
        proxy.tcp_live.fetch_add(1, Ordering::SeqCst);
        let p = proxy.clone();
        tokio::spawn(async move {
            relay(&p, req, dial).await;
            p.tcp_live.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn refuse(proxy: &Proxy, req: SynRequest, how: SynRefusal) {
    Counters::add(&proxy.counters.tcp_refused);
    if let Err(e) = req.refuse(how) {
        tracing::debug!("berth proxy: refusing: {e}");
    }
}

/// What the client is told when the upstream cannot be reached.
fn refusal_for(kind: FailureKind) -> SynRefusal {
    match kind {
        FailureKind::Refused => SynRefusal::Reset,
        FailureKind::NetUnreachable => SynRefusal::NetUnreachable,
        FailureKind::NotAllowed => SynRefusal::Prohibited,
        // A timeout, or the upstream itself failing: the destination could
        // not be reached through it.
        _ => SynRefusal::HostUnreachable,
    }
}

/// One connection: dial, then complete or refuse the client's handshake,
/// then copy.
async fn relay(proxy: &Arc<Proxy>, req: SynRequest, dial: super::state::Dial) {
    let (client, dst) = (req.peer_addr(), req.local_addr());
    let Some(target) = proxy.target_for(dst) else {
        tracing::debug!("berth proxy: {client} -> {dst}: a fake address no name holds now");
        refuse(proxy, req, SynRefusal::HostUnreachable);
        return;
    };
    let target = match proxy.dns_server {
        // DNS over TCP in forward mode: to the configured server.
        Some(server) if proxy.intercepts_dns(dst) => Target::Addr(server),
        _ => target,
    };
    let timeout = proxy.limits.connect_timeout;
    let upstream = match proxy.upstream.connect(&target, timeout).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("berth proxy: {client} -> {target}: {e}");
            refuse(proxy, req, refusal_for(e.kind()));
            return;
        }
    };
    drop(dial);
    let client_stream = match req.accept().and_then(TcpStream::from_std) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("berth proxy: {client} -> {dst}: {e}");
            return;
        }
    };
    Counters::add(&proxy.counters.tcp_relayed);
    tracing::debug!("berth proxy: relaying {client} -> {dst} as {target}");
    let _ = upstream.set_nodelay(true);
    let _ = client_stream.set_nodelay(true);
    let registered = proxy.relays.register(
        "tcp",
        client,
        Some(dst),
        target.to_string(),
        proxy.upstream.to_string(),
    );
    copy_both(
        client_stream,
        upstream,
        &registered.relay,
        proxy.limits.tcp_idle,
    )
    .await;
}

/// Copies both ways until both directions end, one fails (then both ends
/// are reset), or nothing moves for `idle`.
async fn copy_both(
    mut client: TcpStream,
    mut upstream: tokio::net::TcpStream,
    relay: &Relay,
    idle: Duration,
) {
    let outcome = {
        let (mut cr, mut cw) = client.split();
        let (mut ur, mut uw) = upstream.split();
        let up = pump(&mut cr, &mut uw, |n| relay.add_up(n));
        let down = pump(&mut ur, &mut cw, |n| relay.add_down(n));
        let both = async { tokio::try_join!(up, down) };
        tokio::pin!(both);
        loop {
            tokio::select! {
                r = &mut both => break r.map(|_| ()),
                () = tokio::time::sleep(idle) => {
                    if relay.idle() >= idle {
                        break Err(io::Error::new(io::ErrorKind::TimedOut, "idle"));
                    }
                }
            }
        }
    };
    if let Err(e) = outcome {
        tracing::debug!("berth proxy: relay ended: {e}");
        // Neither side may mistake a cut stream for a complete one.
        let _ = client.set_zero_linger();
        let _ = upstream.set_zero_linger();
    }
}

/// Copies `from` into `to` until end of stream, then ends `to`'s write
/// side (a FIN: the other direction carries on).
async fn pump<R, W>(from: &mut R, to: &mut W, count: impl Fn(usize)) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; COPY_BUF_FIRST];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            to.shutdown().await?;
            return Ok(());
        }
        to.write_all(buf.get(..n).unwrap_or(&[])).await?;
        count(n);
        if n == buf.len() && buf.len() < COPY_BUF {
            buf.resize(buf.len() * 2, 0);
        }
    }
}
