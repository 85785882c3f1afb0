//! [`StackConfig`]: the addresses, sizes, limits and seed of one stack.

use core::ops::RangeInclusive;
use std::net::IpAddr;

use crate::demux::ephemeral::DEFAULT_RANGE;
use crate::frag::{IPV6_MAX_PAYLOAD, MAX_PAYLOAD};
use crate::tcp::TcpConfig;
use crate::time::Duration;
use crate::wire::EthernetAddress;

pub use crate::frag::FragLimits;

/// What the stack's frames are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Medium {
    /// Raw IPv4/IPv6 packets (a TUN device).
    #[default]
    Ip,
    /// Ethernet II frames (a TAP device) from and to this MAC address, with
    /// ARP (RFC 826) and NDP (RFC 4861) resolving neighbours.
    Ethernet(EthernetAddress),
}

/// A route: packets to `prefix/len` go to `gateway`, or straight to their
/// destination (on-link) when it is `None`. The longest matching prefix
/// wins. With no routes at all the device leads everywhere; once there are
/// some, a destination none matches is unreachable (`NetworkUnreachable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The destination prefix.
    pub prefix: IpAddr,
    /// Its length in bits.
    pub prefix_len: u8,
    /// The next hop, or `None` for on-link.
    pub gateway: Option<IpAddr>,
}

/// Settings of a [`crate::stack::Stack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    /// The stack's own addresses (any number, both families).
    pub addrs: Vec<IpAddr>,
    /// The link MTU: the largest IP packet sent (the Ethernet header, on
    /// that medium, comes on top).
    pub mtu: usize,
    /// Raw IP (TUN) or Ethernet (TAP).
    pub medium: Medium,
    /// Routes, both families (see [`Route`]): whether a destination can
    /// be reached, and on the Ethernet medium which neighbour to resolve.
    pub routes: Vec<Route>,
    /// Settings for each TCP connection; its `mss` is derived from `mtu`.
    pub tcp: TcpConfig,
    /// Seeds every random choice (ISN secret, ephemeral ports, hash keys,
    /// timestamp offsets): the same seed gives the same behaviour.
    pub seed: u64,
    /// Ephemeral ports (RFC 6056); Linux's default range.
    pub ephemeral_ports: RangeInclusive<u16>,
    /// Datagrams a UDP socket queues before it drops (counted).
    pub udp_recv_queue: usize,
    /// The most sockets (listeners, connections, UDP) at once.
    pub max_sockets: usize,
    /// The most live connections made from one listener (half-open,
    /// waiting to be accepted, and accepted until freed).
    pub max_conns_per_listener: usize,
    /// The most bytes of send and receive buffers all TCP connections may
    /// hold together. Each is charged the storage its buffers hold (they
    /// grow as data comes); past three quarters of this, no buffer grows,
    /// and at this bound buffers shrink to what they hold (Linux
    /// `tcp_mem`). A new connection needs room for its first 8 KiB.
    /// Below three quarters a buffer's storage may grow up to half again
    /// ahead of its size (so that a size that creeps up is not copied at
    /// every step): a bound smaller than four times the largest buffer's
    /// growth can be passed by that growth.
    pub max_buffer_memory: usize,
    /// Answer with SYN cookies when a listener's SYN queue is full (Linux
    /// `tcp_syncookies = 1`); off, such SYNs are dropped.
    pub syn_cookies: bool,
    /// A handshake that completes while its listener's accept queue is
    /// full is reset (Linux `tcp_abort_on_overflow = 1`): the client
    /// learns at once that the server is overloaded. Off (Linux's
    /// default), its final ACK is dropped and the client's retransmission
    /// completes it once the application has accepted.
    pub tcp_abort_on_overflow: bool,
    /// While a transparent socket exists, answer echo requests (ping) to
    /// any unicast address it would take, not only to our own: a proxy
    /// that stands in for every host behind it answers their pings too.
    pub transparent_echo: bool,
    /// ICMP messages (echo replies and errors) sent per second at most
    /// (Linux `icmp_msgs_per_sec`: 1000), with a burst of `icmp_burst`.
    pub icmp_rate: u32,
    /// The ICMP token bucket's depth (Linux `icmp_msgs_burst`: 50).
    pub icmp_burst: u32,
    /// Let a new outbound connection take a 4-tuple still in TIME-WAIT when
    /// timestamps were on and the TIME-WAIT is at least a second old
    /// (Linux `tcp_tw_reuse = 1`; Linux's default 2 allows it on loopback
    /// only, berth allows it everywhere by default: see RFC 6191).
    pub tcp_tw_reuse: bool,
    /// TTL / hop limit of packets we send (Linux: 64).
    pub hop_limit: u8,
    /// The longest IP packet carrying TCP that the device splits into
    /// MTU-sized segments itself (TSO; `Device::tso_max` in berth-device);
    /// 0, the default, when it cannot. Above the MTU (IP medium only),
    /// connections send long segments, every TCP segment leaves with its
    /// checksum for the device to complete, and the caller must use
    /// [`Stack::poll_transmit_gso`](crate::stack::Stack::poll_transmit_gso)
    /// to learn which and where each is to be split.
    pub tso_max: usize,
    /// Bounds of IPv4 reassembly: memory (Linux `ipfrag_high_thresh`,
    /// 4 MiB), datagram size, fragments per datagram and timeout (Linux
    /// `ipfrag_time`, 30 s).
    pub frag: FragLimits,
    /// Bounds of IPv6 reassembly, apart from IPv4's as in Linux: memory
    /// (Linux `ip6frag_high_thresh`, 4 MiB), Fragmentable Part size,
    /// fragments per datagram and timeout (RFC 8200 and Linux
    /// `ip6frag_time`, 60 s).
    pub frag6: FragLimits,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            addrs: Vec::new(),
            mtu: 1500,
            medium: Medium::Ip,
            routes: Vec::new(),
            tcp: TcpConfig::default(),
            seed: 0,
            ephemeral_ports: DEFAULT_RANGE,
            udp_recv_queue: 256,
            max_sockets: 65536,
            max_conns_per_listener: 65536,
            // 4096 connections with the default 256 KiB + 256 KiB buffers.
            max_buffer_memory: 2 << 30,
            syn_cookies: true,
            tcp_abort_on_overflow: false,
            transparent_echo: false,
            icmp_rate: 1000,
            icmp_burst: 50,
            tcp_tw_reuse: true,
            hop_limit: 64,
            tso_max: 0,
            frag: FragLimits {
                memory: 4 << 20,
                max_payload: MAX_PAYLOAD,
                // A 64 KiB datagram cut for a 1280-byte path is 52 pieces.
                max_fragments: 64,
                timeout: Duration::from_secs(30),
            },
            frag6: FragLimits {
                memory: 4 << 20,
                max_payload: IPV6_MAX_PAYLOAD,
                // A 64 KiB packet cut for the minimum MTU of 1280 is 54
                // pieces of 1232 octets.
                max_fragments: 64,
                //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
                //# If insufficient fragments are received to complete reassembly
                //# of a packet within 60 seconds of the reception of the first-
                //# arriving fragment of that packet, reassembly of that packet
                //# must be abandoned
                timeout: Duration::from_secs(60),
            },
        }
    }
}
