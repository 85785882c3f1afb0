//! The services `berth up` runs, all on berth's own APIs: echo (RFC 862,
//! TCP and UDP 7), discard (RFC 863, TCP and UDP 9), daytime (RFC 867, TCP
//! 13), chargen (RFC 864, TCP 19) and a small HTTP/1.1 server (TCP 80).
//! The TCP services run as sessions on the stack thread by default
//! (`sessions.rs`, run to completion) and the UDP ones as callbacks there
//! too, or on threads with the blocking sockets (`threaded.rs`,
//! `--services-api blocking`) or as tokio tasks (`asyncs.rs`,
//! `--services-api async`), for comparison.

mod asyncs;
mod http;
mod patterns;
mod sessions;
mod threaded;

pub(crate) use asyncs::connection as async_connection;
pub(crate) use sessions::{Discard, Echo};

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use berth::server::Server;
use berth::{NetStack, PortListener};

/// Which services to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Service {
    /// RFC 862, TCP and UDP port 7.
    Echo,
    /// RFC 863, TCP and UDP port 9.
    Discard,
    /// RFC 864, TCP port 19.
    Chargen,
    /// RFC 867, TCP port 13.
    Daytime,
    /// HTTP/1.1, TCP port 80.
    Http,
}

impl Service {
    /// Its TCP port.
    const fn port(self) -> u16 {
        match self {
            Self::Echo => 7,
            Self::Discard => 9,
            Self::Daytime => 13,
            Self::Chargen => 19,
            Self::Http => 80,
        }
    }
}

/// How the TCP services are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum ServicesApi {
    /// Sessions on the stack thread, run to completion (`NetStack::serve`).
    #[default]
    Callback,
    /// Acceptor and worker threads on the blocking sockets.
    Blocking,
    /// Tokio tasks on `berth::tokio_net`, two runtime threads.
    Async,
}

/// Counters the services keep (bytes the discard service swallowed, …).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) discarded: AtomicU64,
    pub(crate) http_requests: AtomicU64,
}

/// The running services.
pub(crate) struct Services {
    ports: Vec<PortListener>,
    servers: Vec<Server>,
    threads: Vec<JoinHandle<()>>,
    /// The async services' runtime (`--services-api async`).
    runtime: Option<tokio::runtime::Runtime>,
    stop: Arc<AtomicBool>,
    pub(crate) counters: Arc<Counters>,
}

impl Services {
    /// Starts `which` on every address family `ips` covers (wildcard binds).
    pub(crate) fn start(
        stack: &NetStack,
        ips: &[IpAddr],
        which: &[Service],
        api: ServicesApi,
        per_source: usize,
        http_root: Option<PathBuf>,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let root = http_root.map(Arc::new);
        let mut services = Self {
            ports: Vec::new(),
            servers: Vec::new(),
            threads: Vec::new(),
            runtime: None,
            stop: stop.clone(),
            counters: counters.clone(),
        };
        if api == ServicesApi::Async {
            let rt = asyncs::runtime()?;
            // The runtime reads the device while its tasks wait, so a
            // segment wakes a runtime thread directly.
            rt.spawn(berth::tokio_net::lead_device(stack));
            services.runtime = Some(rt);
        }
        for &ip in ips {
            for &svc in which {
                match api {
                    ServicesApi::Callback => {
                        services.ports.push(serve(
                            stack,
                            ip,
                            svc,
                            per_source,
                            root.clone(),
                            &counters,
                        )?);
                    }
                    ServicesApi::Blocking => services.servers.push(threaded::start_tcp(
                        stack,
                        ip,
                        svc,
                        root.clone(),
                        &counters,
                    )?),
                    ServicesApi::Async => {
                        if let Some(rt) = &services.runtime {
                            asyncs::start_tcp(rt, stack, ip, svc, root.clone(), &counters)?;
                        }
                    }
                }
                if matches!(svc, Service::Echo | Service::Discard) {
                    let echo = svc == Service::Echo;
                    match api {
                        ServicesApi::Callback => {
                            services
                                .ports
                                .push(udp_serve(stack, ip, svc.port(), echo, &counters)?)
                        }
                        ServicesApi::Blocking => services.threads.push(threaded::udp_service(
                            stack,
                            ip,
                            svc.port(),
                            echo,
                            stop.clone(),
                            counters.clone(),
                        )?),
                        ServicesApi::Async => {
                            if let Some(rt) = &services.runtime {
                                asyncs::udp_service(rt, stack, ip, svc.port(), echo, &counters)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(services)
    }

    /// Stops every service and joins its threads.
    pub(crate) fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.ports);
        for s in self.servers {
            s.shutdown();
        }
        for t in self.threads {
            let _ = t.join();
        }
        if let Some(rt) = self.runtime {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// TCP service `svc` on `ip`, as sessions on the stack thread.
fn serve(
    stack: &NetStack,
    ip: IpAddr,
    svc: Service,
    per_source: usize,
    root: Option<Arc<PathBuf>>,
    counters: &Arc<Counters>,
) -> io::Result<PortListener> {
    let addr = (ip, svc.port());
    let counters = counters.clone();
    match svc {
        Service::Echo => stack.serve_limited(addr, per_source, |_| sessions::Echo::default()),
        Service::Discard => stack.serve_limited(addr, per_source, move |_| {
            sessions::Discard(counters.clone())
        }),
        Service::Chargen => stack.serve_limited(addr, per_source, |_| sessions::Chargen::default()),
        Service::Daytime => stack.serve_limited(addr, per_source, |_| sessions::Daytime),
        Service::Http => stack.serve_limited(addr, per_source, move |_| {
            sessions::Http::new(root.clone(), counters.clone())
        }),
    }
}

/// UDP echo (RFC 862) or discard (RFC 863) on `ip`, on the stack thread:
/// each datagram is answered (or counted) in the turn it came in.
fn udp_serve(
    stack: &NetStack,
    ip: IpAddr,
    port: u16,
    echo: bool,
    counters: &Arc<Counters>,
) -> io::Result<PortListener> {
    let counters = counters.clone();
    stack.udp_with((ip, port), move |ctx, event| {
        let berth::PortEvent::Readable(sock) = event else {
            return;
        };
        berth::session::with_scratch(|buf| {
            while let Ok((n, from)) = ctx.recv_from(sock, buf) {
                if echo {
                    let _ = ctx.send_to(sock, &buf[..n], from);
                } else {
                    counters.discarded.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        });
    })
}

/// RFC 867 suggests "Weekday, Month Day, Year Time-Zone"; like most
/// implementations we send the UTC time in a fixed, readable form.
fn daytime() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC\r\n",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
