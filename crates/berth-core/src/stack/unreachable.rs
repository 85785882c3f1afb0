//! What an ICMP Destination Unreachable means to the socket it concerns:
//! the error the application sees and whether it is "hard". The tables are
//! Linux's (`icmp_err_convert` in net/ipv4/icmp.c, `tab_unreach` in
//! net/ipv6/icmp.c), with each errno as the nearest `io::ErrorKind` std
//! users match on.
//!
//! A TCP connect fails on any of them (Linux `tcp_v4_err` in SYN-SENT); an
//! open TCP connection only remembers them (RFC 1122 4.2.3.9); a connected
//! UDP socket is told of the hard ones only (Linux without `IP_RECVERR`).

use crate::tcp::ConnError;
use crate::wire::{Icmpv4DstUnreachable as V4, Icmpv6DstUnreachable as V6};

/// An unreachable error, as a socket takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unreachable {
    /// What the application is told.
    pub(super) error: ConnError,
    /// Linux's `fatal`: the path says the peer will never answer, rather
    /// than that a route may be missing for a while.
    pub(super) hard: bool,
}

const fn soft(error: ConnError) -> Option<Unreachable> {
    Some(Unreachable { error, hard: false })
}

const fn hard(error: ConnError) -> Option<Unreachable> {
    Some(Unreachable { error, hard: true })
}

impl Unreachable {
    /// An ICMPv4 Destination Unreachable's code; `None` for fragmentation
    /// needed (a path MTU, not an error) and codes Linux ignores.
    pub(super) fn v4(code: V4) -> Option<Self> {
        use ConnError::{HostUnreachable as Host, NetworkUnreachable as Net, Refused};
        match code {
            V4::NetUnreachable | V4::NetUnreachToS => soft(Net),
            V4::HostUnreachable | V4::HostUnreachToS | V4::SrcRouteFailed => soft(Host),
            // Linux: ENOPROTOOPT, which std has no kind for; the host
            // refuses the protocol.
            V4::ProtoUnreachable | V4::PortUnreachable => hard(Refused),
            V4::DstNetUnknown | V4::NetProhibited => hard(Net),
            V4::DstHostUnknown
            | V4::SrcHostIsolated
            | V4::HostProhibited
            | V4::AdminProhibited
            | V4::HostPrecedenceViolation
            | V4::PrecedenceCutoff => hard(Host),
            V4::FragRequired | V4::Unknown(_) => None,
        }
    }

    /// An ICMPv6 Destination Unreachable's code (RFC 4443 3.1).
    pub(super) fn v6(code: V6) -> Option<Self> {
        use ConnError::{HostUnreachable as Host, NetworkUnreachable as Net, Prohibited, Refused};
        match code {
            V6::NoRoute => soft(Net),
            V6::BeyondScope | V6::AddrUnreachable => soft(Host),
            V6::PortUnreachable => hard(Refused),
            V6::AdminProhibit | V6::FailedPolicy | V6::RejectRoute => hard(Prohibited),
            V6::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_port_refuses_and_a_missing_route_is_soft() {
        assert_eq!(
            Unreachable::v4(V4::PortUnreachable),
            hard(ConnError::Refused)
        );
        assert_eq!(
            Unreachable::v6(V6::PortUnreachable),
            hard(ConnError::Refused)
        );
        assert_eq!(
            Unreachable::v4(V4::NetUnreachable),
            soft(ConnError::NetworkUnreachable)
        );
        assert_eq!(
            Unreachable::v6(V6::AddrUnreachable),
            soft(ConnError::HostUnreachable)
        );
        assert_eq!(Unreachable::v4(V4::FragRequired), None);
    }
}
