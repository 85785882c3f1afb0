//! Every packet the stack drops and every new connection or request it
//! refuses goes through [`Stack::dropped`]: one call counts it in
//! [`StackStats`] and logs it with its reason, so that neither the count
//! nor the line can be forgotten at a new drop site.
//!
//! Refusals, resource limits and anything a socket's owner would want to
//! know about log at `debug`; what a busy or hostile network produces all
//! the time (malformed packets, packets for other hosts, duplicates) at
//! `trace`, so that `RUST_LOG=berth=debug` stays readable under load.
//! `tracing`'s macros test the level before they evaluate their fields:
//! a drop costs a counter increment and a level check when logging is
//! off. A drop that concerns a transport flow carries `local` (our end,
//! the packet's destination) and `remote`, as the connection's own lines
//! do (`tcp/connection`), so that a trace filtered on a peer's address
//! reads as that connection's story.

use std::net::{IpAddr, SocketAddr};

use tracing::field::{DisplayValue, display};

use super::Stack;
use crate::stats::StackStats;

/// Why the stack dropped a packet or refused a connection. Each reason
/// counts in one [`StackStats`] counter; several may share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// Not an IP packet we can parse.
    IpMalformed,
    /// A link frame (Ethernet, ARP, NDP) we cannot use.
    LinkMalformed,
    /// A fragmented Neighbor Discovery message (RFC 6980 5).
    NdpFragmented,
    /// To an address (or MAC) that is not ours.
    NotForUs,
    /// From an address no other host can have.
    MartianSource,
    /// To a loopback address, from the device.
    MartianDestination,
    /// An upper-layer protocol or EtherType we do not speak.
    UnknownProtocol,
    /// A TCP segment that does not parse, or whose checksum is wrong.
    TcpMalformed,
    /// SYN and FIN together, to a listener (only scanners send it).
    TcpSynFin,
    /// A UDP datagram that does not parse, or whose checksum is wrong.
    UdpMalformed,
    /// An ICMP message that does not parse, or whose checksum is wrong.
    IcmpMalformed,
    /// A TCP segment for no connection or listener: answered with a RST.
    TcpNoSocket,
    /// An ACK to a listener that completes no handshake: answered with a
    /// RST (RFC 9293 3.10.7.2).
    ListenerAck,
    /// A segment to a listener that starts nothing: a RST, neither SYN
    /// nor ACK, or a SYN from an address that cannot be a peer.
    ListenerStray,
    /// A UDP datagram for no socket: answered with port unreachable.
    UdpNoSocket,
    /// A UDP datagram from a peer other than the connected socket's.
    UdpOtherPeer,
    /// A UDP socket's receive queue is full.
    UdpQueueFull,
    /// A listener's SYN queue is full (a cookie answers, if on).
    SynQueueFull,
    /// A listener's accept queue is full: the SYN or final ACK is dropped.
    AcceptQueueFull,
    /// A retransmitted SYN for one a deferring listener holds.
    SynHeld,
    /// The echo socket's queue of requests is full.
    EchoQueueFull,
    /// `max_sockets` reached.
    SocketLimit,
    /// `max_conns_per_listener` reached.
    ListenerConnLimit,
    /// `max_buffer_memory` reached.
    BufferMemoryLimit,
    /// An ACK to a listener whose SYN cookie is not valid.
    SyncookieInvalid,
    /// An ICMP message not sent for the rate limit.
    IcmpRateLimited,
    /// An ICMP error too short to name a flow.
    IcmpErrorTruncated,
    /// An ICMP error about a packet that never left this host.
    IcmpErrorForged,
    /// An ICMP error of a type or code we do not act on.
    IcmpErrorUnknown,
    /// An ICMP error quoting a sequence number outside the connection's
    /// unacknowledged data (RFC 5927 4.1).
    IcmpErrorOutOfWindow,
    /// An ICMP error about a flow no socket (or no connected UDP socket)
    /// has.
    IcmpErrorNoSocket,
    /// A fragment we already have.
    FragDuplicate,
    /// Fragments that overlap: the datagram is dropped.
    FragOverlap,
    /// Reassembly memory is full.
    FragNoMemory,
    /// A datagram in too many fragments.
    FragTooMany,
    /// An inconsistent fragment or reassembled datagram.
    FragMalformed,
    /// An incomplete datagram whose reassembly time ran out.
    FragTimeout,
    /// The queue of ready-made packets (resets, ICMP, UDP) is full.
    OutQueueFull,
    /// To a multicast group (or its Ethernet address) no socket joined.
    MulticastNotJoined,
    /// A datagram to a joined group's port that no socket is bound to.
    MulticastNoSocket,
    /// An IGMP message that does not parse, or whose checksum is wrong.
    IgmpMalformed,
    /// An MLD Query not from a link-local address, with a hop limit other
    /// than 1, or without the MLD Router Alert (RFC 3810 5.1.14, 6.2).
    MldQueryInvalid,
}

impl DropReason {
    /// The reason as a log field.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::IpMalformed => "malformed IP packet",
            Self::LinkMalformed => "malformed link frame",
            Self::NdpFragmented => "fragmented neighbor discovery",
            Self::NotForUs => "not for us",
            Self::MartianSource => "martian source",
            Self::MartianDestination => "martian destination",
            Self::UnknownProtocol => "unknown protocol",
            Self::TcpMalformed => "malformed TCP segment",
            Self::TcpSynFin => "SYN with FIN to a listener",
            Self::UdpMalformed => "malformed UDP datagram",
            Self::IcmpMalformed => "malformed ICMP message",
            Self::TcpNoSocket => "no socket",
            Self::ListenerAck => "ACK to a listener completes no handshake",
            Self::ListenerStray => "segment to a listener starts nothing",
            Self::UdpNoSocket => "no socket",
            Self::UdpOtherPeer => "not from the connected peer",
            Self::UdpQueueFull => "socket receive queue full",
            Self::SynQueueFull => "SYN queue full",
            Self::AcceptQueueFull => "accept queue full",
            Self::SynHeld => "SYN already held for a decision",
            Self::EchoQueueFull => "echo socket queue full",
            Self::SocketLimit => "max_sockets reached",
            Self::ListenerConnLimit => "max_conns_per_listener reached",
            Self::BufferMemoryLimit => "max_buffer_memory reached",
            Self::SyncookieInvalid => "invalid SYN cookie",
            Self::IcmpRateLimited => "ICMP rate limit",
            Self::IcmpErrorTruncated => "ICMP error too short",
            Self::IcmpErrorForged => "ICMP error about a packet never sent",
            Self::IcmpErrorUnknown => "ICMP error of no use",
            Self::IcmpErrorOutOfWindow => "ICMP error quotes a sequence number not in flight",
            Self::IcmpErrorNoSocket => "ICMP error for no socket",
            Self::FragDuplicate => "duplicate fragment",
            Self::FragOverlap => "overlapping fragments",
            Self::FragNoMemory => "reassembly memory full",
            Self::FragTooMany => "too many fragments",
            Self::FragMalformed => "malformed fragment",
            Self::FragTimeout => "reassembly timed out",
            Self::OutQueueFull => "output queue full",
            Self::MulticastNotJoined => "multicast group not joined",
            Self::MulticastNoSocket => "no socket on the group's port",
            Self::IgmpMalformed => "malformed IGMP message",
            Self::MldQueryInvalid => "MLD query not link-local, forwarded, or without router alert",
        }
    }

    /// What became of the packet or request: the log line's message.
    fn outcome(self) -> &'static str {
        match self {
            Self::TcpNoSocket => "connection refused: RST sent",
            Self::ListenerAck => "RST sent",
            Self::UdpNoSocket => "datagram refused: port unreachable",
            Self::SocketLimit | Self::ListenerConnLimit | Self::BufferMemoryLimit => {
                "connection refused"
            }
            Self::SynQueueFull => "SYN queue overflow",
            Self::IcmpRateLimited => "ICMP not sent",
            Self::IcmpErrorTruncated
            | Self::IcmpErrorForged
            | Self::IcmpErrorUnknown
            | Self::IcmpErrorOutOfWindow
            | Self::IcmpErrorNoSocket => "ICMP error ignored",
            _ => "packet dropped",
        }
    }

    /// Whether the network produces it all the time: logged at `trace`
    /// rather than `debug`.
    fn routine(self) -> bool {
        matches!(
            self,
            Self::IpMalformed
                | Self::LinkMalformed
                | Self::NdpFragmented
                | Self::NotForUs
                | Self::UnknownProtocol
                | Self::TcpMalformed
                | Self::TcpSynFin
                | Self::UdpMalformed
                | Self::IcmpMalformed
                | Self::ListenerStray
                | Self::SynHeld
                | Self::UdpOtherPeer
                | Self::IcmpRateLimited
                | Self::FragDuplicate
                | Self::FragMalformed
                | Self::MulticastNotJoined
                | Self::MulticastNoSocket
                | Self::IgmpMalformed
                | Self::MldQueryInvalid
        )
    }

    /// The counter it counts in.
    fn counter(self, s: &mut StackStats) -> &mut u64 {
        match self {
            Self::IpMalformed => &mut s.ip_malformed,
            Self::LinkMalformed | Self::NdpFragmented => &mut s.link_malformed,
            Self::NotForUs => &mut s.not_for_us,
            Self::MartianSource => &mut s.martian_source,
            Self::MartianDestination => &mut s.martian_destination,
            Self::UnknownProtocol => &mut s.unknown_protocol,
            Self::TcpMalformed | Self::TcpSynFin => &mut s.tcp_malformed,
            Self::UdpMalformed => &mut s.udp_malformed,
            Self::IcmpMalformed => &mut s.icmp_malformed,
            Self::TcpNoSocket => &mut s.tcp_no_socket,
            Self::ListenerAck => &mut s.tcp_listener_acks,
            Self::ListenerStray => &mut s.tcp_listener_stray,
            Self::UdpNoSocket => &mut s.udp_no_socket,
            Self::UdpOtherPeer => &mut s.udp_other_peer,
            Self::UdpQueueFull => &mut s.udp_queue_full,
            Self::SynQueueFull => &mut s.syn_queue_overflow,
            Self::AcceptQueueFull => &mut s.accept_queue_overflow,
            Self::SynHeld => &mut s.syn_held_retransmits,
            Self::EchoQueueFull => &mut s.echo_queue_full,
            Self::SocketLimit => &mut s.socket_limit,
            Self::ListenerConnLimit => &mut s.listener_conn_limit,
            Self::BufferMemoryLimit => &mut s.buffer_memory_limit,
            Self::SyncookieInvalid => &mut s.syncookies_failed,
            Self::IcmpRateLimited => &mut s.icmp_rate_limited,
            Self::IcmpErrorTruncated
            | Self::IcmpErrorForged
            | Self::IcmpErrorUnknown
            | Self::IcmpErrorOutOfWindow
            | Self::IcmpErrorNoSocket => &mut s.icmp_errors_ignored,
            Self::FragDuplicate => &mut s.frag_duplicates,
            Self::FragOverlap => &mut s.frag_overlaps,
            Self::FragNoMemory => &mut s.frag_no_memory,
            Self::FragTooMany => &mut s.frag_too_many,
            Self::FragMalformed => &mut s.frag_malformed,
            Self::FragTimeout => &mut s.frag_timeouts,
            Self::OutQueueFull => &mut s.out_queue_full,
            Self::MulticastNotJoined => &mut s.multicast_not_joined,
            Self::MulticastNoSocket => &mut s.udp_no_socket,
            Self::IgmpMalformed | Self::MldQueryInvalid => &mut s.igmp_malformed,
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a drop concerns, as far as the packet was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Not parsed far enough to say.
    Unknown,
    /// An IP packet from `.0` to `.1`.
    Ip(IpAddr, IpAddr),
    /// A transport flow: our end (`local`, the packet's destination, or
    /// the source of what we could not send) and the peer's.
    Ports {
        /// Our end.
        local: SocketAddr,
        /// The peer's end.
        remote: SocketAddr,
    },
}

impl Flow {
    fn src(self) -> Option<DisplayValue<IpAddr>> {
        match self {
            Self::Ip(src, _) => Some(display(src)),
            _ => None,
        }
    }

    fn dst(self) -> Option<DisplayValue<IpAddr>> {
        match self {
            Self::Ip(_, dst) => Some(display(dst)),
            _ => None,
        }
    }

    fn local(self) -> Option<DisplayValue<SocketAddr>> {
        match self {
            Self::Ports { local, .. } => Some(display(local)),
            _ => None,
        }
    }

    fn remote(self) -> Option<DisplayValue<SocketAddr>> {
        match self {
            Self::Ports { remote, .. } => Some(display(remote)),
            _ => None,
        }
    }
}

impl Stack {
    /// Counts a drop or refusal in its counter and logs it with its reason
    /// and what it concerns: every drop site is this one call.
    pub(super) fn dropped(&mut self, reason: DropReason, flow: Flow) {
        *reason.counter(&mut self.stats) += 1;
        if reason.routine() {
            tracing::trace!(
                reason = reason.as_str(),
                local = flow.local(),
                remote = flow.remote(),
                src = flow.src(),
                dst = flow.dst(),
                "{}",
                reason.outcome()
            );
        } else {
            tracing::debug!(
                reason = reason.as_str(),
                local = flow.local(),
                remote = flow.remote(),
                src = flow.src(),
                dst = flow.dst(),
                "{}",
                reason.outcome()
            );
        }
    }
}
