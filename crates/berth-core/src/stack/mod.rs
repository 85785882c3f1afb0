//! [`Stack`]: the sans-IO host. It owns the addresses, the port table and
//! every socket; frames go in through [`Stack::handle_frame`] and out through
//! [`Stack::poll_transmit`], time through [`Stack::poll_timeout`] and
//! [`Stack::handle_timeout`], and socket readiness through
//! [`Stack::poll_event`].
//!
//! Medium: raw IP packets (a TUN device). IPv4 (RFC 791) and IPv6 (RFC 8200,
//! extension headers walked; a packet the walk says to discard is answered
//! with an ICMPv6 Parameter Problem where RFC 4443 allows). Fragments of
//! both families are reassembled within bounds (`crate::frag`, RFC 791
//! 3.2, RFC 8200 4.5, RFC 5722, RFC 7112), an atomic IPv6 fragment (RFC
//! 6946) is taken as it is, and datagrams bigger than the MTU leave as
//! fragments (UDP and ICMP; TCP sizes its segments instead). ICMP echo is
//! answered (RFC 792, RFC 4443), rate-limited like Linux; a segment for no
//! socket draws a RST (RFC 9293 3.10.7.1), a datagram for no socket an ICMP
//! port unreachable (RFC 1122 4.1.3.1). Untrusted input never panics: each
//! drop is counted in [`StackStats`] and logged with its reason
//! (`drops.rs`).
//!
//! Under load: a listener whose SYN queue is full answers with SYN cookies
//! (RFC 4987 3.6, `crate::syn_cookie`); new connections are admitted only
//! within `max_sockets`, `max_conns_per_listener` and `max_buffer_memory`
//! (refusals are counted, existing connections untouched); connection
//! deadlines sit in a heap, so `poll_timeout` is O(1) and `handle_timeout`
//! touches only the connections that are due.
//!
//! Multicast: UDP sockets join groups ([`Stack::udp_join_multicast_v4`],
//! [`Stack::udp_join_multicast_v6`]); the host tells the routers with
//! IGMPv3 (RFC 3376) and MLDv2 (RFC 3810) Reports (`membership.rs`) and
//! delivers a group's datagrams to every socket on their port
//! (`multicast.rs`).
//!
//! Transparent sockets ([`Stack::tcp_listen_transparent`],
//! [`Stack::udp_bind_transparent`]) take TCP and UDP to addresses that are
//! not ours, for a proxy that relays each flow to where it was going; without
//! one, such packets are dropped as `not_for_us`.

mod admission;
mod bound;
mod deferred;
mod drops;
mod echo;
mod ethernet;
mod fragment;
mod gso;
mod icmp;
mod loopback;
mod membership;
mod multicast;
mod neighbor;
mod output;
mod route;
mod sockopt;
mod syn_cookie;
mod tcp;
mod time_wait;
mod udp;
mod unreachable;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::config::StackConfig;
use crate::demux::PortTable;
use crate::frag::ipv6::{Ipv6Head, Ipv6Key};
use crate::frag::{Ipv4Key, Reassembler};
use crate::handle::{Slab, SocketHandle};
use crate::rng::Rng;
use crate::stats::StackStats;
use crate::syn_cookie::SynCookies;
use crate::tcp::isn::IsnGenerator;
use crate::time::Instant;
use crate::wire::{ChecksumCaps, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr};
use drops::{DropReason, Flow};

pub use deferred::{SynRefusal, SynRequest};
pub use echo::EchoRequest;
pub use gso::split_tcp_segment;
pub use sockopt::{
    KeepaliveTiming, MAX_KEEPALIVE_COUNT, MAX_KEEPALIVE_SECS, MAX_USER_MSS, MIN_SOCKET_BUFFER,
    MIN_USER_MSS, TcpOptions, check_mss, check_tos,
};
pub use tcp::TcpInfo;
use tcp::{Listener, TcpSocket};
use udp::UdpSocket;
pub use udp::{Datagram, UdpPayload};

/// Why a socket call failed. The facades map each variant to the
/// `io::ErrorKind` std users expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SocketError {
    /// The handle names no live socket, or a socket of another kind.
    #[error("invalid socket handle")]
    InvalidHandle,
    /// An argument is not usable (port 0 as a destination, unspecified
    /// address, mixed families).
    #[error("invalid argument")]
    InvalidInput,
    /// The address and port are taken.
    #[error("address in use")]
    AddrInUse,
    /// The address is not ours, or no ephemeral port is free.
    #[error("address not available")]
    AddrNotAvailable,
    /// The socket is not connected.
    #[error("not connected")]
    NotConnected,
    /// The sending side was shut down.
    #[error("broken pipe")]
    BrokenPipe,
    /// The peer refused the connection.
    #[error("connection refused")]
    ConnectionRefused,
    /// The peer reset the connection.
    #[error("connection reset")]
    ConnectionReset,
    /// The connection timed out.
    #[error("timed out")]
    TimedOut,
    /// The peer is unreachable.
    #[error("host unreachable")]
    HostUnreachable,
    /// No route leads to the peer's network.
    #[error("network unreachable")]
    NetworkUnreachable,
    /// Not allowed: a path administratively prohibited, or a broadcast
    /// without `SO_BROADCAST`.
    #[error("permission denied")]
    PermissionDenied,
    /// A datagram larger than the path allows.
    #[error("message too long")]
    MessageTooLong,
    /// No room now; try again after the next event.
    #[error("would block")]
    WouldBlock,
    /// A configured limit (sockets) was reached.
    #[error("resource limit reached")]
    LimitReached,
}

/// What became true of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness(u8);

impl Readiness {
    /// Data, end of stream or an error can be read.
    pub const READABLE: Self = Self(1);
    /// Data can be sent (or sending will fail at once). For a TCP
    /// connection: it connected, or an ACK made room after a send found
    /// the buffer full (Linux's `SOCK_NOSPACE`: room nobody asked for is
    /// not news), or it failed or closed.
    pub const WRITABLE: Self = Self(2);
    /// A listener has a connection to accept.
    pub const ACCEPTABLE: Self = Self(4);
    /// A connect completed (or failed).
    pub const CONNECTED: Self = Self(8);
    /// The socket reached CLOSED or failed.
    pub const CLOSED: Self = Self(16);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether nothing is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// An event for the runtime: wake whoever waits on `handle` for `readiness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEvent {
    /// The socket.
    pub handle: SocketHandle,
    /// What became true.
    pub readiness: Readiness,
}

/// The kinds of socket a stack holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// A listening TCP socket.
    TcpListener,
    /// A TCP connection.
    Tcp,
    /// A UDP socket.
    Udp,
    /// A TCP socket bound, not yet listening or connected
    /// ([`Stack::tcp_bind`]).
    TcpBound,
    /// The transparent echo socket ([`Stack::icmp_echo_bind_transparent`]).
    IcmpEcho,
}

#[derive(Debug)]
enum Socket {
    Listener(Listener),
    Tcp(Box<TcpSocket>),
    /// A connection in TIME-WAIT no application holds, compact
    /// (`time_wait.rs`): it stays a TCP connection to every caller.
    TimeWait(time_wait::TimeWaitSocket),
    Udp(UdpSocket),
    Bound(bound::BoundTcp),
    Echo(echo::EchoSocket),
}

/// A token bucket for ICMP output (Linux `icmp_global_allow`).
#[derive(Debug)]
struct IcmpBucket {
    tokens: u32,
    last: Instant,
}

/// Counters of the transparent sockets. They only increase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransparentStats {
    /// TCP segments and UDP datagrams to an address that is not ours,
    /// taken by a transparent socket or a connection one made.
    pub non_local_in: u64,
    /// Connections the transparent listener opened (SYNs it answered).
    pub tcp_opened: u64,
    /// Datagrams queued on the transparent UDP socket.
    pub udp_in: u64,
    /// Datagrams sent from an original destination (`udp_send_from`).
    pub udp_out: u64,
    /// SYNs a deferring listener held for the application's decision.
    pub syn_held: u64,
    /// Held SYNs the application refused.
    pub syn_refused: u64,
}

/// The host.
#[derive(Debug)]
pub struct Stack {
    cfg: StackConfig,
    rng: Rng,
    isn: IsnGenerator,
    /// RFC 6056 Algorithm 4's state for connections' ephemeral ports.
    port_select: crate::demux::ephemeral::DoubleHash,
    ports: PortTable,
    sockets: Slab<Socket>,
    /// TCP sockets that may have output, polled in order.
    dirty: VecDeque<SocketHandle>,
    /// Connections in TIME-WAIT, oldest first (`time_wait.rs`); entries of
    /// sockets since freed are stale and skipped.
    time_waits: VecDeque<SocketHandle>,
    /// Connection deadlines, earliest first. An entry is live only while it
    /// equals its socket's `timer_at`; others are stale and skipped (lazy
    /// invalidation), and the heap is rebuilt when they pile up. A live
    /// entry may be earlier than its connection's deadline (a deadline that
    /// moved later is not pushed again until the entry fires).
    timers: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    /// Ready-made packets: resets, ICMP, UDP datagrams.
    /// Ready-made IP packets, each from its offset (room for headers may
    /// be left unused in front).
    out: VecDeque<(Vec<u8>, usize)>,
    /// The split size of the packet `poll_transmit` just wrote (TSO).
    last_gso: Option<u16>,
    /// The frame being handled has a transport checksum the device vouches
    /// for ([`Stack::handle_frame_offloaded`]).
    rx_csum_trusted: bool,
    /// The packet being handled was sent by this stack to itself
    /// (`loopback.rs`).
    rx_loopback: bool,
    /// The hop limit of the packet being made, when its socket sets one
    /// (`IP_TTL`); else `cfg.hop_limit`.
    tx_hop_limit: Option<u8>,
    /// The traffic class byte of the packet being made, when its socket
    /// sets one (`IP_TOS`, `IPV6_TCLASS`); else 0.
    tx_tos: u8,
    /// Ready-made link frames (Ethernet medium): ARP, NDP, and packets whose
    /// neighbour was just resolved.
    link_out: VecDeque<Vec<u8>>,
    /// IP to MAC (Ethernet medium).
    neighbors: neighbor::NeighborCache,
    /// The multicast groups joined, and their Reports' timers.
    groups: multicast::Groups,
    /// Copies of our own datagrams to groups we joined, to take back in
    /// (`multicast.rs`).
    mcast_loop: VecDeque<Vec<u8>>,
    events: VecDeque<SocketEvent>,
    icmp: IcmpBucket,
    ip_ident: u16,
    /// Keys the IPv6 fragment Identification (see `fragment.rs`).
    frag_ident_key: (u64, u64),
    /// Datagrams given an IPv6 fragment Identification so far.
    frag_ident_seq: u64,
    frag4: Reassembler<Ipv4Key, Ipv4Repr>,
    frag6: Reassembler<Ipv6Key, Ipv6Head>,
    cookies: SynCookies,
    /// Bytes of TCP buffers charged to live connections.
    buffer_memory: usize,
    /// Live TCP connections whose local address is not ours (made by a
    /// transparent listener): they keep receiving after it closes.
    non_local_conns: usize,
    /// The transparent echo socket, if any (`echo.rs`).
    echo_socket: Option<SocketHandle>,
    stats: StackStats,
    transparent: TransparentStats,
}

impl Stack {
    /// A stack with `cfg`; every random choice is drawn from `cfg.seed`.
    pub fn new(cfg: StackConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut secret = [0u8; 16];
        secret[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        secret[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let ports = PortTable::new(rng.next_u64(), rng.next_u64());
        let mut cfg = cfg;
        // MSS from the MTU (RFC 9293 3.7.1): IPv4's 20-byte header and
        // TCP's 20; IPv6 connections subtract 20 more (see tcp.rs).
        cfg.tcp.mss = u16::try_from(cfg.mtu.saturating_sub(40))
            .unwrap_or(u16::MAX)
            .max(88);
        cfg.tcp.tso = cfg.tso_max > cfg.mtu && cfg.medium == crate::config::Medium::Ip;
        let burst = cfg.icmp_burst;
        let frag4 = Reassembler::new(cfg.frag, rng.next_u64(), rng.next_u64());
        let frag6 = Reassembler::new(cfg.frag6, rng.next_u64(), rng.next_u64());
        let frag_ident_key = (rng.next_u64(), rng.next_u64());
        let mut port_key = [0u8; 16];
        port_key[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        port_key[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let mut keys = [[0u8; 16]; 3];
        for key in &mut keys {
            key[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            key[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        Self {
            frag4,
            frag6,
            frag_ident_key,
            frag_ident_seq: 0,
            cookies: SynCookies::new(keys),
            buffer_memory: 0,
            non_local_conns: 0,
            echo_socket: None,
            ip_ident: rng.next_u64() as u16,
            cfg,
            isn: IsnGenerator::new(secret),
            port_select: crate::demux::ephemeral::DoubleHash::new(port_key),
            rng,
            ports,
            sockets: Slab::default(),
            dirty: VecDeque::new(),
            time_waits: VecDeque::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            last_gso: None,
            rx_csum_trusted: false,
            rx_loopback: false,
            tx_hop_limit: None,
            tx_tos: 0,
            link_out: VecDeque::new(),
            neighbors: neighbor::NeighborCache::default(),
            groups: multicast::Groups::default(),
            mcast_loop: VecDeque::new(),
            events: VecDeque::new(),
            icmp: IcmpBucket {
                tokens: burst,
                last: Instant::ZERO,
            },
            stats: StackStats::default(),
            transparent: TransparentStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StackConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> &StackStats {
        &self.stats
    }

    /// Counters of the transparent sockets.
    pub fn transparent_stats(&self) -> &TransparentStats {
        &self.transparent
    }

    /// Bytes of send and receive buffers charged to live TCP connections.
    pub fn buffer_memory(&self) -> usize {
        self.buffer_memory
    }

    /// Packets dropped because their next hop's link-layer address could not
    /// be resolved (Ethernet medium).
    pub fn neighbor_drops(&self) -> u64 {
        self.neighbors.dropped
    }

    /// How many sockets exist.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    /// Every socket's handle.
    pub fn sockets(&self) -> Vec<SocketHandle> {
        self.sockets.handles().collect()
    }

    /// Whether `ip` is this host's: one of its addresses, or a loopback
    /// address (127.0.0.0/8, ::1), which every stack has, as Linux's `lo`.
    fn is_local(&self, ip: IpAddr) -> bool {
        self.is_own(ip) || ip.is_loopback()
    }

    /// Whether `ip` is one of the addresses configured on the device: what
    /// ARP and NDP answer for (never a loopback address).
    fn is_own(&self, ip: IpAddr) -> bool {
        self.cfg.addrs.contains(&ip)
    }

    /// Whether `ip` could be a unicast host that a transparent socket
    /// stands in for: never unspecified, loopback, multicast or the limited
    /// broadcast address (Linux drops such destinations as martians,
    /// `ip_route_input_slow`).
    fn transparent_dst_ok(ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        !ip.is_unspecified() && !ip.is_loopback() && !ip.is_multicast() && !broadcast
    }

    /// Whether a packet to `dst` is taken in: ours, or (while a
    /// transparent socket or a connection it made exists) another unicast
    /// host's; the transport layer then decides per protocol. Counts what
    /// is refused.
    fn accepts_dst(&mut self, src: IpAddr, dst: IpAddr) -> bool {
        if dst.to_canonical().is_loopback() && !self.rx_loopback {
            // A loopback address from outside: Linux drops it as a martian
            // destination (ip_route_input_slow).
            self.dropped(DropReason::MartianDestination, Flow::Ip(src, dst));
            return false;
        }
        if self.is_local(dst)
            || self.is_our_multicast(dst)
            || ((self.ports.has_transparent()
                || self.non_local_conns > 0
                || self.has_echo_socket())
                && Self::transparent_dst_ok(dst))
        {
            return true;
        }
        if dst.is_multicast() {
            self.dropped(DropReason::MulticastNotJoined, Flow::Ip(src, dst));
            return false;
        }
        self.dropped(DropReason::NotForUs, Flow::Ip(src, dst));
        false
    }

    /// Whether a packet from `src` that came in from the device is taken:
    /// not if its source is one no other host on the link can have, our
    /// own address above all (a SYN from and to us is the "land" attack;
    /// Linux drops it as a martian source in `fib_validate_source`), nor a
    /// loopback, multicast or broadcast address.
    fn accepts_src(&mut self, src: IpAddr, dst: IpAddr) -> bool {
        if self.rx_loopback {
            // From ourselves, by construction.
            return true;
        }
        //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3
        //# A host MUST silently discard an incoming datagram containing an IP
        //# source address that is invalid by the rules of this section.
        // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
        let canonical = src.to_canonical();
        let broadcast = matches!(canonical, IpAddr::V4(v4) if v4.is_broadcast());
        if self.is_local(src) || canonical.is_loopback() || canonical.is_multicast() || broadcast {
            self.dropped(DropReason::MartianSource, Flow::Ip(src, dst));
            return false;
        }
        true
    }

    /// A local address of the family of `remote`, for binding a socket
    /// whose address was left unspecified.
    fn source_for(&self, remote: IpAddr) -> Option<IpAddr> {
        if self.is_local(remote) {
            // To ourselves: from that address, or from the loopback
            // address of its family (Linux's local routes: `src
            // 127.0.0.1` for 127.0.0.0/8).
            return Some(loopback::source_for_local(remote));
        }
        let mut ours = self
            .cfg
            .addrs
            .iter()
            .copied()
            .filter(|a| a.is_ipv4() == remote.is_ipv4());
        // The address on the on-link prefix that leads toward `remote`
        // (Linux's preferred source of the route), else the first.
        if let Some(prefix) = route::on_link_prefix(&self.cfg.routes, remote)
            && let Some(a) = ours
                .clone()
                .find(|&a| route::contains(prefix.0, prefix.1, a))
        {
            return Some(a);
        }
        ours.next()
    }

    fn push_event(&mut self, handle: SocketHandle, readiness: Readiness) {
        if !readiness.is_empty() {
            self.events.push_back(SocketEvent { handle, readiness });
        }
    }

    /// The next readiness event, if any.
    pub fn poll_event(&mut self) -> Option<SocketEvent> {
        self.events.pop_front()
    }

    /// Whether readiness events wait for [`Stack::poll_event`].
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Takes one frame (a raw IPv4 or IPv6 packet) from the device. Never
    /// fails: whatever cannot be used is counted and dropped.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.stats.frames_in += 1;
        match self.cfg.medium {
            crate::config::Medium::Ip => self.handle_ip(now, frame),
            crate::config::Medium::Ethernet(_) => self.ethernet_input(now, frame),
        }
    }

    /// [`Stack::handle_frame`] for a frame whose TCP or UDP checksum the
    /// device vouches for (checksum offload: a packet the local kernel
    /// handed over with its checksum left to complete, never on a wire), so
    /// it is not verified; a fragment's is still verified once reassembled.
    pub fn handle_frame_offloaded(&mut self, now: Instant, frame: &[u8]) {
        self.rx_csum_trusted = true;
        self.handle_frame(now, frame);
        self.rx_csum_trusted = false;
    }

    /// How to treat the transport checksum of what is being handled.
    pub(super) fn rx_checksums(&self) -> crate::wire::ChecksumCaps {
        let mut caps = self.cfg.tcp.checksums;
        if self.rx_csum_trusted {
            caps.rx = crate::wire::RxChecksum::Trust;
        }
        caps
    }

    /// One IP packet, whatever the medium carried it.
    pub(super) fn handle_ip(&mut self, now: Instant, frame: &[u8]) {
        match frame.first().map(|b| b >> 4) {
            Some(4) => self.ipv4_input(now, frame),
            Some(6) => self.ipv6_input(now, frame),
            _ => self.dropped(DropReason::IpMalformed, Flow::Unknown),
        }
    }

    fn ipv4_input(&mut self, now: Instant, frame: &[u8]) {
        let Ok(packet) = Ipv4Packet::new_checked(frame) else {
            self.dropped(DropReason::IpMalformed, Flow::Unknown);
            return;
        };
        let Ok(ip) = Ipv4Repr::parse(&packet, ChecksumCaps::FULL) else {
            self.dropped(DropReason::IpMalformed, Flow::Unknown);
            return;
        };
        let (src, dst) = (IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr));
        if !self.accepts_dst(src, dst) || !self.accepts_src(src, dst) {
            return;
        }
        let payload = packet.payload();
        if ip.more_frags || ip.frag_offset != 0 {
            self.ipv4_fragment_input(now, &ip, payload);
            return;
        }
        self.transport_input(now, ip.next_header, src, dst, payload, frame);
    }

    /// Bytes held by reassembly now (IPv4 and IPv6, each under its own
    /// bound), and how many incomplete datagrams.
    pub fn frag_memory(&self) -> (usize, usize) {
        (
            self.frag4.memory() + self.frag6.memory(),
            self.frag4.len() + self.frag6.len(),
        )
    }

    fn ipv6_input(&mut self, now: Instant, frame: &[u8]) {
        self.ipv6_packet_input(now, frame, false);
    }

    /// One IPv6 packet, as received or (`reassembled`) rebuilt from its
    /// fragments.
    pub(super) fn ipv6_packet_input(&mut self, now: Instant, frame: &[u8], reassembled: bool) {
        let Ok(packet) = Ipv6Packet::new_checked(frame) else {
            self.dropped(DropReason::IpMalformed, Flow::Unknown);
            return;
        };
        let Ok(walk) = packet.walk_extensions() else {
            self.dropped(DropReason::IpMalformed, Flow::Unknown);
            return;
        };
        let (src, dst) = (IpAddr::V6(packet.src_addr()), IpAddr::V6(packet.dst_addr()));
        if !self.accepts_dst(src, dst) || !self.accepts_src(src, dst) {
            return;
        }
        if let Some(discard) = walk.discard {
            self.ipv6_discard(now, frame, discard);
            return;
        }
        match walk.fragment {
            Some(_) if reassembled => {
                // A Fragment header in the reassembled packet: fragments of
                // fragments, which no sender makes and Linux drops
                // (IP6SKB_FRAGMENTED). The walk of the first fragment has
                // refused them already; this keeps reassembly from
                // recursing whatever the walk does.
                self.dropped(DropReason::FragMalformed, Flow::Ip(src, dst));
                return;
            }
            Some(fragment) if !fragment.is_atomic() => {
                self.ipv6_fragment_input(now, &packet, &walk, &fragment);
                return;
            }
            _ => {}
        }
        let Ok(ip) = Ipv6Repr::parse(&packet) else {
            self.dropped(DropReason::IpMalformed, Flow::Ip(src, dst));
            return;
        };
        let Some(payload) = packet.payload().get(walk.upper_offset..) else {
            self.dropped(DropReason::IpMalformed, Flow::Ip(src, dst));
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc6980#section-5
        //# Nodes MUST silently ignore the following Neighbor Discovery and
        //# SEcure Neighbor Discovery messages if the packets carrying them
        //# include an IPv6 Fragmentation Header:
        // Router and Neighbor Solicitation and Advertisement, Redirect.
        if ip.next_header == IpProtocol::Icmpv6
            && (reassembled || walk.fragment.is_some())
            && payload.first().is_some_and(|&t| (133..=137).contains(&t))
        {
            self.dropped(DropReason::NdpFragmented, Flow::Ip(src, dst));
            return;
        }
        if !matches!(
            ip.next_header,
            IpProtocol::Tcp | IpProtocol::Udp | IpProtocol::Icmpv6 | IpProtocol::Ipv6NoNxt
        ) && self.is_local(dst)
        {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4
            //# If, as a result of processing a header, the destination node is
            //# required to proceed to the next header but the Next Header value in
            //# the current header is unrecognized by the node, it should discard
            //# the packet and send an ICMP Parameter Problem message to the source
            //# of the packet, with an ICMP Code value of 1 ("unrecognized Next
            //# Header type encountered") and the ICMP Pointer field containing the
            //# offset of the unrecognized value within the original packet.
            self.dropped(DropReason::UnknownProtocol, Flow::Ip(src, dst));
            let problem = icmp::Icmpv6Error::ParamProblem(
                crate::wire::Icmpv6ParamProblem::UnrecognizedNextHeader,
                walk.next_header_pointer,
            );
            self.icmpv6_error(now, frame, problem);
            return;
        }
        self.transport_input(now, ip.next_header, src, dst, payload, frame);
    }

    fn transport_input(
        &mut self,
        now: Instant,
        protocol: IpProtocol,
        src: IpAddr,
        dst: IpAddr,
        payload: &[u8],
        frame: &[u8],
    ) {
        if dst.is_multicast() && protocol == IpProtocol::Tcp {
            //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.10
            //# A TCP implementation MUST silently discard an incoming SYN
            //# segment that is addressed to a broadcast or multicast
            //# address.
            self.dropped(DropReason::NotForUs, Flow::Ip(src, dst));
            return;
        }
        if !self.is_local(dst)
            && !dst.is_multicast()
            && !matches!(
                protocol,
                IpProtocol::Tcp | IpProtocol::Udp | IpProtocol::Icmp | IpProtocol::Icmpv6
            )
        {
            // Not ours: a transparent socket stands in for TCP and UDP
            // (tcp_input, udp_input decide), ICMP errors may concern its
            // connections; nothing else is answered for another host.
            self.dropped(DropReason::NotForUs, Flow::Ip(src, dst));
            return;
        }
        match protocol {
            IpProtocol::Tcp => {
                // The ECN field: the low two bits of IPv4's TOS byte, of
                // IPv6's Traffic Class (RFC 3168 section 5).
                let ecn = match frame.first().map(|b| b >> 4) {
                    Some(4) => frame.get(1).map_or(0, |b| *b),
                    _ => frame.get(1).map_or(0, |b| b >> 4),
                };
                let ce = crate::wire::Ecn::from_bits(ecn) == crate::wire::Ecn::Ce;
                self.tcp_input(now, src, dst, payload, ce);
            }
            IpProtocol::Udp => self.udp_input(now, src, dst, payload, frame),
            IpProtocol::Icmp if src.is_ipv4() => self.icmpv4_input(now, src, dst, payload),
            IpProtocol::Igmp if src.is_ipv4() => self.igmp_input(now, src, dst, payload),
            IpProtocol::Icmpv6 if src.is_ipv6() => self.icmpv6_input(now, src, dst, payload, frame),
            _ => {
                self.dropped(DropReason::UnknownProtocol, Flow::Ip(src, dst));
                if self.is_local(dst) {
                    self.protocol_unreachable(now, src, dst, frame);
                }
            }
        }
    }

    fn remote_ok(remote: SocketAddr) -> bool {
        remote.port() != 0 && !remote.ip().is_unspecified() && !remote.ip().is_multicast()
    }

    fn alloc_check(&mut self) -> Result<(), SocketError> {
        if self.sockets.len() >= self.cfg.max_sockets && !self.recycle_time_wait() {
            self.dropped(DropReason::SocketLimit, Flow::Unknown);
            return Err(SocketError::LimitReached);
        }
        Ok(())
    }

    /// Sets the TTL (IPv4) or unicast hop limit (IPv6) of the socket's
    /// packets (`IP_TTL`, `IPV6_UNICAST_HOPS`): 1 to 255; a listener's
    /// connections inherit it. `InvalidInput` outside that range, as
    /// Linux's EINVAL.
    pub fn set_ttl(&mut self, handle: SocketHandle, ttl: u32) -> Result<(), SocketError> {
        let ttl = u8::try_from(ttl)
            .ok()
            .filter(|&t| t > 0)
            .ok_or(SocketError::InvalidInput)?;
        match self.sockets.get_mut(handle) {
            Some(Socket::Tcp(t)) => t.ttl = Some(ttl),
            Some(Socket::TimeWait(tw)) => tw.ttl = Some(ttl),
            Some(Socket::Listener(l)) => l.ttl = Some(ttl),
            Some(Socket::Udp(u)) => u.ttl = Some(ttl),
            Some(Socket::Bound(b)) => b.ttl = Some(ttl),
            // Replies carry the stack's hop limit.
            Some(Socket::Echo(_)) => return Err(SocketError::InvalidInput),
            None => return Err(SocketError::InvalidHandle),
        }
        Ok(())
    }

    /// The TTL the socket's packets carry (the stack's, 64, unless set).
    pub fn ttl(&self, handle: SocketHandle) -> Result<u32, SocketError> {
        let ttl = match self.sockets.get(handle) {
            Some(Socket::Tcp(t)) => t.ttl,
            Some(Socket::TimeWait(tw)) => tw.ttl,
            Some(Socket::Listener(l)) => l.ttl,
            Some(Socket::Udp(u)) => u.ttl,
            Some(Socket::Bound(b)) => b.ttl,
            Some(Socket::Echo(_)) => None,
            None => return Err(SocketError::InvalidHandle),
        };
        Ok(u32::from(ttl.unwrap_or(self.cfg.hop_limit)))
    }

    /// What kind of socket `handle` is.
    pub fn socket_kind(&self, handle: SocketHandle) -> Option<SocketKind> {
        match self.sockets.get(handle)? {
            Socket::Listener(_) => Some(SocketKind::TcpListener),
            Socket::Tcp(_) | Socket::TimeWait(_) => Some(SocketKind::Tcp),
            Socket::Udp(_) => Some(SocketKind::Udp),
            Socket::Bound(_) => Some(SocketKind::TcpBound),
            Socket::Echo(_) => Some(SocketKind::IcmpEcho),
        }
    }

    /// Whether `handle` is a transparent listener or UDP socket.
    pub fn is_transparent(&self, handle: SocketHandle) -> bool {
        match self.sockets.get(handle) {
            Some(Socket::Listener(l)) => l.transparent,
            Some(Socket::Udp(u)) => u.transparent,
            Some(Socket::Echo(_)) => true,
            _ => false,
        }
    }

    /// Closes a UDP socket, a listener or a bound TCP socket (TCP
    /// connections: see `tcp_close`).
    pub fn close(&mut self, now: Instant, handle: SocketHandle) -> Result<(), SocketError> {
        match self.sockets.get(handle) {
            Some(Socket::Listener(_)) => {
                self.close_listener(now, handle);
                Ok(())
            }
            Some(Socket::Udp(_)) => {
                self.close_udp(now, handle);
                Ok(())
            }
            Some(Socket::Bound(_)) => {
                self.close_bound(handle);
                Ok(())
            }
            Some(Socket::Echo(_)) => {
                self.close_echo(handle);
                Ok(())
            }
            Some(Socket::Tcp(_) | Socket::TimeWait(_)) => self.tcp_close(now, handle),
            None => Err(SocketError::InvalidHandle),
        }
    }
}

#[cfg(test)]
mod tests;
