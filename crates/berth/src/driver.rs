//! The stack thread: owns the device, reads the clock, runs the core, fires
//! timers and wakes waiters. It sleeps in `epoll` (mio) until the device is
//! readable, an application thread wakes it, or the core's next deadline
//! comes; it never busy-polls. The device is in the `epoll`
//! level-triggered (`berth_device::watch_level`), so a frame left unread
//! makes the next wait return at once: a wake-up reads one frame in
//! request/response traffic and up to `link::BATCH` otherwise
//! (`link::ReadPolicy`), then writes what the core produced. While an
//! application thread or a runtime leads the device (`lead.rs`), the
//! device is out of this thread's `epoll` and read on every turn, a whole
//! batch, polling again at once after a full one.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::Waker;
use std::thread::JoinHandle;
use std::time::{Duration, Instant as StdInstant};

use berth_core::config::{Medium, StackConfig};
use berth_core::handle::SocketHandle;
use berth_core::stack::Stack;
use berth_core::tcp::{State, TcpConfig};
use berth_core::time::Instant;
use berth_core::wire::EthernetAddress;
use berth_device::Device;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::callback::Handlers;
use crate::link::{BATCH, Link, Received, receive, transmit};
use crate::shared::{Inner, Shared};

const DEVICE: Token = Token(0);
const WAKER: Token = Token(1);
const TIMER: Token = Token(2);
/// How long a dropped `NetStack` lets its connections finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running stack: its thread, its device and its sockets. Dropping it
/// closes every socket (FIN where data was delivered) and joins the thread.
///
/// Made with [`NetStack::builder`]; every socket constructor
/// ([`net::TcpListener::bind`](crate::net::TcpListener::bind),
/// [`net::TcpStream::connect`](crate::net::TcpStream::connect),
/// [`net::UdpSocket::bind`](crate::net::UdpSocket::bind) and their
/// `tokio_net` twins) takes it as its first argument. Keep it for as long
/// as its sockets are used: once it is dropped, every call on them fails
/// with `NotConnected`.
///
/// # Examples
///
/// Two stacks joined by an in-memory link (a real program gives one a
/// TUN or TAP device from [`berth_device`]):
///
/// ```
/// use std::io::{Read, Write};
/// use berth::{NetStack, net::{TcpListener, TcpStream}};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
/// let (mut s, peer) = listener.accept()?;
/// assert_eq!(peer, c.local_addr()?);
/// c.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// s.read_exact(&mut buf)?;
///
/// drop(server); // closes its sockets and stops its thread
/// assert_eq!(s.write(b"x").unwrap_err().kind(), std::io::ErrorKind::NotConnected);
/// # std::io::Result::Ok(())
/// ```
pub struct NetStack {
    pub(crate) shared: Arc<Shared>,
    /// The callback ports' handlers (`callback.rs`).
    pub(crate) handlers: Arc<std::sync::Mutex<Handlers>>,
    thread: Option<JoinHandle<()>>,
}

/// `NetStack { addrs: [198.18.0.2], mtu: 1500, sockets: 3 }`.
impl std::fmt::Debug for NetStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.shared.lock();
        let cfg = inner.stack.config();
        f.debug_struct("NetStack")
            .field("addrs", &cfg.addrs)
            .field("mtu", &cfg.mtu)
            .field("sockets", &inner.stack.socket_count())
            .finish()
    }
}

/// What [`NetStackBuilder::config`] leaves in `StackConfig::seed` while
/// its closure runs, to tell whether the closure set the seed.
const SEED_UNSET: u64 = 0xB3E7_5EED_0000_0001;

/// Settings for a [`NetStack`]: its addresses, routes, MTU, TCP settings
/// and seed; [`build`](Self::build) starts the stack on a device.
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use berth::NetStack;
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
/// let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let stack = NetStack::builder()
///     .addr_prefix(ip("198.18.0.2"), 24) // 198.18.0.0/24 on-link
///     .addr_prefix(ip("2001:2::2"), 64)
///     .default_route(ip("198.18.0.1")) // everything else through a gateway
///     .mtu(1400)
///     .seed(7) // deterministic: for tests and simulations only
///     .build(device)?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct NetStackBuilder {
    cfg: StackConfig,
    mtu: Option<usize>,
    /// Set by [`NetStackBuilder::seed`] (or a `config` that changed it);
    /// otherwise the operating system's randomness decides.
    seed: Option<u64>,
    /// The CPU the stack thread is kept on.
    cpu: Option<usize>,
}

impl NetStackBuilder {
    /// Adds an address the stack answers to (any number, both families).
    /// Without routes ([`addr_prefix`](Self::addr_prefix),
    /// [`route`](Self::route)) every destination is sent out of the device.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .addr("2001:2::2".parse().unwrap())
    ///     .build(device)?;
    /// let v4 = berth::net::UdpSocket::bind(&stack, "198.18.0.2:53")?;
    /// let v6 = berth::net::UdpSocket::bind(&stack, "[2001:2::2]:53")?;
    /// // Not one of the stack's addresses:
    /// let e = berth::net::UdpSocket::bind(&stack, "198.18.0.9:53").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::AddrNotAvailable);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn addr(mut self, addr: IpAddr) -> Self {
        self.cfg.addrs.push(addr);
        self
    }

    /// Adds an address with its prefix (`198.18.0.2/24` is
    /// `addr_prefix(198.18.0.2, 24)`): the address, and a route that puts
    /// the prefix on-link. Once a stack has routes, a destination none of
    /// them leads to fails at once with `NetworkUnreachable`, as on Linux;
    /// add a default route ([`NetStackBuilder::default_route`]) for the
    /// rest. With `addr` alone, and no routes, the device leads everywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// use std::io::ErrorKind;
    /// use berth::net::UdpSocket;
    ///
    /// let stack = NetStack::builder()
    ///     .addr_prefix("198.18.0.2".parse().unwrap(), 24)
    ///     .build(device)?;
    /// let socket = UdpSocket::bind(&stack, "198.18.0.2:0")?;
    /// socket.send_to(b"on-link", "198.18.0.1:9")?;
    /// // No route leads to another network:
    /// let e = socket.send_to(b"elsewhere", "198.19.0.1:9").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NetworkUnreachable);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn addr_prefix(mut self, addr: IpAddr, prefix_len: u8) -> Self {
        self.cfg.addrs.push(addr);
        self.route(addr, prefix_len, None)
    }

    /// Adds a route: `prefix/prefix_len` through `gateway` (`None`:
    /// on-link, straight out of the device). The longest prefix wins.
    /// A `prefix_len` longer than the family's (32, 128) counts as the
    /// whole address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// use std::net::IpAddr;
    /// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    /// let stack = NetStack::builder()
    ///     .addr_prefix(ip("198.18.0.2"), 24)
    ///     // 198.19.0.0/16 through the router at 198.18.0.1:
    ///     .route(ip("198.19.0.0"), 16, Some(ip("198.18.0.1")))
    ///     // 2001:2::/48 straight out of the device:
    ///     .route(ip("2001:2::"), 48, None)
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn route(mut self, prefix: IpAddr, prefix_len: u8, gateway: Option<IpAddr>) -> Self {
        let max = if prefix.is_ipv4() { 32 } else { 128 };
        self.cfg.routes.push(berth_core::config::Route {
            prefix,
            prefix_len: prefix_len.min(max),
            gateway,
        });
        self
    }

    /// Adds a default route of `gateway`'s family through it
    /// (`0.0.0.0/0` or `::/0`); one for each family that needs one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// use std::net::IpAddr;
    /// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    /// let stack = NetStack::builder()
    ///     .addr_prefix(ip("198.18.0.2"), 24)
    ///     .default_route(ip("198.18.0.1"))
    ///     .addr_prefix(ip("2001:2::2"), 64)
    ///     .default_route(ip("2001:2::1"))
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn default_route(self, gateway: IpAddr) -> Self {
        let any = match gateway {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        self.route(any, 0, Some(gateway))
    }

    /// The IP MTU (default: the device's, less the Ethernet header on a
    /// TAP device). The TCP MSS follows from it (the MTU less 40 bytes of
    /// headers, 60 over IPv6); larger UDP datagrams leave in fragments.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// // Room for a tunnel's headers on the path:
    /// let stack = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .mtu(1400)
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Seeds every random choice of the stack: the ISN secret (RFC 6528),
    /// ephemeral port offsets (RFC 6056), the SYN-cookie secret, hash keys,
    /// timestamp offsets and the MAC. The same seed gives the same
    /// behaviour, for simulations and tests. Without it the stack draws a
    /// seed from the operating system's randomness, so that none of these
    /// can be predicted: leave it unset in production.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// // A test that replays the same ports and sequence numbers each run.
    /// let stack = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .seed(42)
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// TCP settings for every connection (default: Linux's, see
    /// [`TcpConfig`]). Two fields are not taken as given: `mss` is
    /// computed from the MTU ([`mtu`](Self::mtu)) and `tso` from the
    /// device. Per-socket options (`set_nodelay`, `set_linger`, tokio's
    /// `TcpSocket` buffer sizes) override these for one connection.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// use std::time::Duration;
    /// use berth::berth_core::tcp::{Keepalive, TcpConfig};
    ///
    /// let tcp = TcpConfig {
    ///     nodelay: true,
    ///     keepalive: Some(Keepalive { idle: Duration::from_secs(60), ..Keepalive::default() }),
    ///     ..TcpConfig::default()
    /// };
    /// let stack = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .tcp_config(tcp)
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn tcp_config(mut self, tcp: TcpConfig) -> Self {
        self.cfg.tcp = tcp;
        self
    }

    /// The MAC address on a TAP device (default: a locally administered one
    /// drawn from the seed). `build` fails with `InvalidInput` on an IP
    /// (TUN or in-memory) device, which has no MAC.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// use berth::NetStack;
    /// use berth_device::tap::TapDevice;
    ///
    /// let tap = TapDevice::create("tap0", 1500)?; // needs CAP_NET_ADMIN
    /// let stack = NetStack::builder()
    ///     .addr_prefix("198.18.0.2".parse().unwrap(), 24)
    ///     .mac([0x02, 0, 0, 0, 0, 0x02])
    ///     .build(tap)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.cfg.medium = Medium::Ethernet(EthernetAddress(mac));
        self
    }

    /// Keeps the stack thread on CPU `cpu` (`sched_setaffinity`): a
    /// server that gives the stack a core of its own, or a benchmark that
    /// places client and server. `build` fails if the CPU cannot be used.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let built = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .stack_thread_cpu(0)
    ///     .build(device);
    /// match built {
    ///     Ok(_stack) => { /* serve */ }
    ///     // A CPU this process may not use (its cpuset), or not Linux:
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stack_thread_cpu(mut self, cpu: usize) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// Any other core setting: `f` may change any field of
    /// [`StackConfig`] (limits, ephemeral ports, SYN cookies, ICMP rate,
    /// hop limit, reassembly bounds). Three are not taken as given: `mtu`
    /// is [`mtu`](Self::mtu)'s or the device's, `tso_max` the device's,
    /// and a `seed` counts only if `f` sets it (to any value, 0 included;
    /// [`seed`](Self::seed) says it plainly).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = NetStack::builder()
    ///     .addr("198.18.0.2".parse().unwrap())
    ///     .config(|c| {
    ///         c.ephemeral_ports = 49152..=65535;
    ///         c.max_sockets = 10_000;
    ///         c.hop_limit = 32;
    ///     })
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn config(mut self, f: impl FnOnce(&mut StackConfig)) -> Self {
        // The seed field holds a marker while `f` runs: any value `f`
        // writes, 0 included, is then seen as chosen.
        let before = self.cfg.seed;
        self.cfg.seed = SEED_UNSET;
        f(&mut self.cfg);
        if self.cfg.seed == SEED_UNSET {
            self.cfg.seed = before;
        } else {
            self.seed = Some(self.cfg.seed);
        }
        self
    }

    /// Starts the stack thread on `device`. Fails if the operating system's
    /// randomness cannot be read (without [`seed`](Self::seed)), the
    /// thread cannot be started or kept on its CPU
    /// ([`stack_thread_cpu`](Self::stack_thread_cpu)), or a MAC was given
    /// for a device without Ethernet (`InvalidInput`).
    ///
    /// # Examples
    ///
    /// ```
    /// use berth::NetStack;
    /// use berth_device::{channel::ChannelDevice, Medium};
    ///
    /// let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn build<D: Device + 'static>(self, device: D) -> io::Result<NetStack> {
        let mut cfg = self.cfg;
        cfg.seed = match self.seed {
            Some(seed) => seed,
            None => os_random_seed()?,
        };
        match (device.medium(), cfg.medium) {
            (berth_device::Medium::Ethernet, Medium::Ip) => {
                // A locally administered unicast MAC drawn from the seed
                // (IEEE 802: bit 1 of the first octet set, bit 0 clear).
                let b = cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes();
                cfg.medium =
                    Medium::Ethernet(EthernetAddress([0x02, b[1], b[2], b[3], b[4], b[5]]));
                // The device's MTU counts the Ethernet header; the IP MTU does not.
                cfg.mtu = self.mtu.unwrap_or_else(|| device.mtu().saturating_sub(14));
            }
            (berth_device::Medium::Ip, Medium::Ethernet(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an Ethernet medium needs a TAP device",
                ));
            }
            (berth_device::Medium::Ethernet, Medium::Ethernet(_)) => {
                cfg.mtu = self.mtu.unwrap_or_else(|| device.mtu().saturating_sub(14));
            }
            (berth_device::Medium::Ip, Medium::Ip) => {
                cfg.mtu = self.mtu.unwrap_or_else(|| device.mtu());
                // A device that splits TCP segments gets long ones.
                cfg.tso_max = device.tso_max();
            }
        }
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let raw_fd = device.raw_fd();
        if let Some(fd) = raw_fd {
            // Level-triggered: a turn may read one frame and wait again,
            // the wait reporting the device while frames are left.
            berth_device::watch_level(std::os::fd::AsRawFd::as_raw_fd(&poll), fd, DEVICE.0 as u64)?;
        }
        // Without a timer (off Linux) application threads wake the stack
        // thread instead.
        let timer = berth_device::Timer::new().ok();
        if let Some(t) = &timer {
            poll.registry()
                .register(&mut SourceFd(&t.raw_fd()), TIMER, Interest::READABLE)?;
        }
        // Blocked application threads may read the device themselves
        // (`lead.rs`); without a doorbell they cannot be rung out of it.
        let lead = match raw_fd {
            Some(fd) => Some(crate::lead::Lead::new(
                fd,
                poll.registry().try_clone()?,
                DEVICE,
            )?),
            None => None,
        };
        let shared = Arc::new(Shared::new(
            Stack::new(cfg),
            waker,
            Some(Link::new(Box::new(device))),
            timer,
            lead,
        ));
        let thread_shared = shared.clone();
        let handlers = Arc::new(std::sync::Mutex::new(Handlers::default()));
        let thread_handlers = handlers.clone();
        let (pinned_tx, pinned) = std::sync::mpsc::channel();
        let cpu = self.cpu;
        let thread = std::thread::Builder::new()
            .name("berth-stack".into())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    let pinned = berth_device::pin_current_thread(cpu);
                    let failed = pinned.is_err();
                    let _ = pinned_tx.send(pinned);
                    if failed {
                        return;
                    }
                }
                drop(pinned_tx);
                run(&thread_shared, &thread_handlers, raw_fd, poll);
            })?;
        // The CPU could not be used: the thread ended; say why.
        if let Ok(Err(e)) = pinned.recv() {
            let _ = thread.join();
            return Err(io::Error::new(
                e.kind(),
                format!("keeping the stack thread on CPU {}: {e}", cpu.unwrap_or(0)),
            ));
        }
        Ok(NetStack {
            shared,
            handlers,
            thread: Some(thread),
        })
    }
}

impl NetStack {
    /// A builder, with no address, no routes and Linux's TCP settings.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = berth::NetStack::builder()
    ///     .addr_prefix("198.18.0.2".parse().unwrap(), 24)
    ///     .build(device)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn builder() -> NetStackBuilder {
        NetStackBuilder::default()
    }

    /// A snapshot of the stack's counters ([`StackStats`](berth_core::stats::StackStats)): frames in and
    /// out, what was dropped and why, resets and ICMP errors sent, queue
    /// overflows. Per-connection figures are in
    /// [`net::TcpStream::info`](crate::net::TcpStream::info).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::TcpStream;
    ///
    /// // No one listens on port 9: the server answers with a reset.
    /// let e = TcpStream::connect(&client, "198.18.0.2:9").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// let stats = server.stats();
    /// assert_eq!(stats.tcp_no_socket, 1);
    /// assert_eq!(stats.resets_sent, 1);
    /// assert!(client.stats().frames_out >= 1);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stats(&self) -> berth_core::stats::StackStats {
        *self.shared.lock().stack.stats()
    }

    /// The bytes each TCP stream holds in its own queues, outside the core
    /// (received but not read, written but not yet handed to the core), by
    /// socket: what `ss` adds to the core's Recv-Q and Send-Q. The keys are
    /// the core's handles, as [`with_stack`](Self::with_stack) sees them;
    /// for one stream, [`TcpStream::info`](crate::net::TcpStream::info)
    /// already counts them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Write;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// let (s, _) = listener.accept()?;
    /// c.write_all(b"unread")?;
    /// s.peek(&mut [0; 1])?; // waits for the data to arrive
    /// // What the server's stream holds and its application has not read:
    /// let unread: usize = server.app_queues().values().map(|&(rx, _tx)| rx).sum();
    /// assert_eq!(unread, 6);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn app_queues(&self) -> std::collections::HashMap<SocketHandle, (usize, usize)> {
        let inner = self.shared.lock();
        inner
            .pipes
            .iter()
            .map(|(&h, p)| (h, p.queued_bytes()))
            .collect()
    }

    /// Runs `f` on the core stack (for `berth ss` and diagnostics), under
    /// the stack's lock: the stack thread and every socket call wait until
    /// `f` returns, so keep it short, and call no `NetStack` or socket
    /// method from inside it (that would wait for the lock `f` holds).
    /// `f` may change anything, sockets that berth's objects own
    /// included: prefer the socket methods for what they offer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// // The client's connections, as `berth ss` lists them:
    /// let conns = client.with_stack(|stack| {
    ///     stack.sockets().into_iter()
    ///         .filter_map(|h| stack.tcp_info(h).ok())
    ///         .map(|info| (info.local, info.remote, info.state))
    ///         .collect::<Vec<_>>()
    /// });
    /// assert_eq!(conns.len(), 1);
    /// assert_eq!(conns[0].1, "198.18.0.2:7".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn with_stack<T>(&self, f: impl FnOnce(&mut Stack) -> T) -> T {
        let mut inner = self.shared.lock();
        let out = f(&mut inner.stack);
        drop(inner);
        self.shared.kick();
        out
    }
}

impl Drop for NetStack {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.kick();
        // Whoever leads the device (a thread, a runtime's task) looks up.
        if let Some(lead) = &self.shared.lead {
            lead.bell.ring();
        }
        // Dropped by a callback handler (its last `Arc` gone there): the
        // stack thread cannot wait for itself; it stops on its own.
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
            && t.join().is_err()
        {
            tracing::error!("berth: the stack thread panicked");
        }
    }
}

/// Handler rounds per turn: handlers' output makes events (window
/// updates, acknowledgements of what they sent make room) that may run
/// them again; after this many the turn ends and the next comes at once.
const HANDLER_ROUNDS: usize = 8;

/// What the stack thread keeps from turn to turn.
struct Turn {
    buf: Vec<u8>,
    wakers: Vec<Waker>,
    pending: Vec<SocketHandle>,
    events: Vec<crate::ports::Dispatch>,
}

impl Turn {
    /// After input and timers: what the applications asked for goes into
    /// the core, the core's output to the device, readiness to the waiters
    /// and the callback ports (whose events are left in `self.events`).
    fn settle(&mut self, shared: &Shared, inner: &mut Inner, device: &mut dyn Device) {
        let now = shared.now();
        // What the applications wrote (or made room for) since the last
        // turn goes into the core before the core's output is written.
        shared.take_pending(&mut self.pending);
        inner.pump_all(&self.pending, now, &mut self.wakers);
        inner.flush(now, device, &mut self.buf, &mut self.wakers);
        inner.callbacks.expire(now);
        inner.callbacks.take(&mut self.events);
    }

    /// Runs the callback handlers for the events found, then settles what
    /// they did in the same turn (their writes leave now), for a few
    /// rounds. Whether events are still left for the next turn.
    fn run_handlers(
        &mut self,
        shared: &Shared,
        handlers: &std::sync::Mutex<Handlers>,
        link: &Link,
    ) -> bool {
        for _ in 0..HANDLER_ROUNDS {
            // Tasks are woken outside the lock: the first thing they do is
            // take it.
            self.wakers.drain(..).for_each(Waker::wake);
            if !crate::callback::dispatch(shared, handlers, &self.events) {
                return false;
            }
            let mut inner = shared.lock();
            let mut device = link.lock();
            self.settle(shared, &mut inner, device.as_mut());
        }
        !self.events.is_empty()
    }
}

fn run(
    shared: &Shared,
    handlers: &std::sync::Mutex<Handlers>,
    raw_fd: Option<std::os::fd::RawFd>,
    mut poll: Poll,
) {
    let Some(link) = shared.link.as_ref() else {
        return;
    };
    let mut events = Events::with_capacity(8);
    let mut turn = Turn {
        // Long enough for whatever the device hands over and for the long
        // TCP segments it splits (TSO).
        buf: vec![0u8; link.frame_len],
        wakers: Vec::new(),
        pending: Vec::new(),
        events: Vec::new(),
    };
    let mut shutdown_since: Option<StdInstant> = None;
    let mut device_failed = false;
    // The last wait reported the device readable (the first turn looks).
    let mut device_ready = true;
    loop {
        let planned;
        // A device read on every turn (not in the `epoll`) may hold more
        // than a batch, which would raise no event and wait for other
        // traffic or a timer: come straight back.
        let mut unread = false;
        {
            let mut inner = shared.lock();
            let mut device = link.lock();
            let now = shared.now();
            // A device out of this `epoll` (loaned to a leader) or without
            // a descriptor raises no event here: read on every turn.
            let unwatched = raw_fd.is_none() || shared.lead.as_ref().is_some_and(|l| l.loaned());
            let limit = if unwatched {
                BATCH
            } else {
                inner.read_limit(device.as_ref(), device_ready)
            };
            if !device_failed && limit > 0 {
                let Inner { stack, reads, .. } = &mut *inner;
                match receive(stack, device.as_mut(), now, &mut turn.buf, limit, reads) {
                    Received::Drained => {}
                    Received::Full => unread = limit == BATCH,
                    Received::Failed(e) => {
                        // The device is gone (its interface deleted, say):
                        // stop polling it rather than spin on an fd that
                        // stays readable; timers and sockets carry on.
                        tracing::error!("berth: device read failed, no more input: {e}");
                        device_failed = true;
                        if let Some(lead) = &shared.lead {
                            lead.fail();
                        }
                        if let Some(fd) = raw_fd {
                            let _ = poll.registry().deregister(&mut SourceFd(&fd));
                        }
                    }
                }
            }
            if inner.shutdown && shutdown_since.is_none() {
                shutdown_since = Some(StdInstant::now());
                inner.begin_stop(now, &mut turn.wakers);
            }
            inner.stack.handle_timeout(now);
            turn.settle(shared, &mut inner, device.as_mut());
            // No handler to run: the sleep is decided under this hold of
            // the lock, not a second one taken just as the threads woken
            // below reach for it (each would wait for it: a futex and a
            // context switch per wake-up).
            let lead_at = plan_lead(shared, &inner, now);
            planned = turn
                .events
                .is_empty()
                .then(|| sleep_timeout(shared, &inner, device.poll_at(), lead_at, unread));
            if let Some(since) = shutdown_since {
                let settled = inner
                    .stack
                    .sockets()
                    .into_iter()
                    .all(|h| inner.stack.tcp_state(h).map_or(true, State::is_settled));
                if settled || since.elapsed() > SHUTDOWN_GRACE {
                    // Resets for what could not be handed over, and anyone
                    // still blocked woken so they see the end.
                    inner.end_stop(&mut turn.wakers);
                    transmit(&mut inner.stack, device.as_mut(), now, &mut turn.buf);
                    drop(device);
                    drop(inner);
                    turn.wakers.drain(..).for_each(Waker::wake);
                    return;
                }
            }
        }
        // Callback handlers run here, on this thread, in this turn, without
        // the stack's lock; what they write leaves before the poll below.
        let more = turn.run_handlers(shared, handlers, link);
        turn.wakers.drain(..).for_each(Waker::wake);
        let mut timeout = match planned {
            Some(timeout) => timeout,
            None => {
                let inner = shared.lock();
                let device_at = link.lock().poll_at();
                let lead_at = plan_lead(shared, &inner, shared.now());
                sleep_timeout(shared, &inner, device_at, lead_at, more || unread)
            }
        };
        if shutdown_since.is_some() {
            timeout = Some(
                timeout
                    .unwrap_or(Duration::from_millis(50))
                    .min(Duration::from_millis(50)),
            );
        }
        if let Err(e) = poll.poll(&mut events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            tracing::error!("berth: poll failed: {e}");
            return;
        }
        device_ready = events.iter().any(|e| e.token() == DEVICE);
        if events.iter().any(|e| e.token() == TIMER)
            && let Some(t) = &shared.timer
        {
            t.clear();
        }
    }
}

/// With the stack's lock held, at the end of a turn: takes the device
/// back from the application threads that lead (`lead.rs`) when it must
/// stay here or has gone unwatched too long; when to look again at the
/// latest.
fn plan_lead(shared: &Shared, inner: &Inner, now: Instant) -> Option<Instant> {
    let lead = shared.lead.as_ref()?;
    // Callback handlers run on this thread: their ports keep the device.
    lead.plan(now, inner.shutdown || !inner.callbacks.is_empty())
}

/// How long the stack thread may sleep, decided with the stack's lock
/// held: until the core's or a callback port's next deadline, or the
/// device's (`device_at`), and not at all if work is left (`more`:
/// handlers still have events, the output of the last round made them,
/// or the device has frames a full batch left unread).
/// Records the sleep for the application threads that transmit inline:
/// they look at it to tell whether they moved a deadline before it (and
/// must wake this thread).
fn sleep_timeout(
    shared: &Shared,
    inner: &Inner,
    device_at: Option<StdInstant>,
    lead_at: Option<Instant>,
    more: bool,
) -> Option<Duration> {
    let deadline = [
        inner.stack.poll_timeout(),
        inner.callbacks.next_timer(),
        lead_at,
    ]
    .into_iter()
    .flatten()
    .min();
    shared.sleeping_until(deadline);
    if more || inner.stack.has_events() || inner.callbacks.has_pending() {
        return Some(Duration::ZERO);
    }
    [deadline.map(|t| shared.to_std(t)), device_at]
        .into_iter()
        .flatten()
        .min()
        .map(|d| d.saturating_duration_since(StdInstant::now()))
}

/// 64 bits from the operating system's randomness (`/dev/urandom`, which
/// never blocks once the kernel's pool is initialised, as it is long
/// before any program runs). A stack without it would have guessable ISNs
/// and ports: fail rather than fall back to something predictable.
fn os_random_seed() -> io::Result<u64> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("reading /dev/urandom for the stack's random seed (or set one with NetStackBuilder::seed): {e}"),
            )
        })?;
    Ok(u64::from_le_bytes(bytes))
}
