//! berth's servers for `--api async`: discard, echo and source on
//! `berth::tokio_net`, one task per connection on a current-thread tokio
//! runtime of their own (one thread, as a small async server runs),
//! speaking the same protocols as the threaded servers of `workload.rs`.
//! Discard and echo are `berth up --services-api async`'s own (what a user
//! gets), as the callback contender's are `berth up`'s sessions.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use anyhow::Context;
use berth::NetStack;
use berth::tokio_net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::workload::{SOURCE_BYTE, Service, pin};

/// What a task reads or writes at a time.
const CHUNK: usize = 64 * 1024;

/// The runtime's thread and its stop signal; dropping stops it (its
/// listeners and connections close with it).
pub(super) struct AsyncServers {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for AsyncServers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl AsyncServers {
    /// Serves each of `services` at its address on `stack`.
    pub(super) fn start(
        stack: &NetStack,
        services: Vec<(Service, SocketAddr)>,
        cpu: Option<usize>,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async servers' runtime")?;
        let listeners = runtime.block_on(async {
            let mut out = Vec::new();
            for (service, addr) in services {
                out.push((service, TcpListener::bind(stack, addr).await?));
            }
            std::io::Result::Ok(out)
        })?;
        // The runtime's thread reads the device while its tasks wait, so
        // a segment wakes it directly (`berth::tokio_net::lead_device`).
        let lead = berth::tokio_net::lead_device(stack);
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("bench-async".into())
            .spawn(move || {
                if pin(cpu).is_err() {
                    return;
                }
                runtime.block_on(async move {
                    tokio::spawn(lead);
                    for (service, listener) in listeners {
                        tokio::spawn(accept(service, listener));
                    }
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

async fn accept(service: Service, listener: TcpListener) {
    while let Ok((s, _)) = listener.accept().await {
        match service {
            Service::Discard => tokio::spawn(served(s, crate::services::Service::Discard)),
            Service::Echo => tokio::spawn(served(s, crate::services::Service::Echo)),
            Service::Source => tokio::spawn(source(s)),
            // The loss workloads' checked services stay threaded.
            Service::Verify | Service::Pattern => continue,
        };
    }
}

/// `berth up`'s async service `svc` on `s` (its counters unread here).
async fn served(s: TcpStream, svc: crate::services::Service) {
    let counters = crate::services::Counters::default();
    let _ = crate::services::async_connection(s, svc, None, &counters).await;
}

async fn source(mut s: TcpStream) {
    let mut count = [0u8; 8];
    if s.read_exact(&mut count).await.is_err() {
        return;
    }
    let mut left = u64::from_be_bytes(count);
    let chunk = vec![SOURCE_BYTE; CHUNK];
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        if s.write_all(chunk.get(..n).unwrap_or_default())
            .await
            .is_err()
        {
            return;
        }
        left -= n as u64;
    }
    let _ = s.shutdown().await;
}
