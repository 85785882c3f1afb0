//! Routing: where a packet to a destination goes, or that it cannot go
//! anywhere. The table is `StackConfig::routes`, longest prefix first, for
//! both media. An empty table means the device leads everywhere (every
//! destination is on-link: the TUN default, as `berth up` has it); once
//! routes are given, a destination none of them matches is unreachable
//! (Linux: `connect` and `sendto` fail with ENETUNREACH at once).
//! Destinations of this host itself never need a route (`loopback.rs`).

use std::net::IpAddr;

use super::Stack;
use crate::config::Route;

/// Whether `prefix/len` contains `ip` (same family only).
pub(super) fn contains(prefix: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (prefix, ip) {
        (IpAddr::V4(p), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(p) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(p), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(p) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The longest route matching `dst`, if any.
fn lookup(routes: &[Route], dst: IpAddr) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| contains(r.prefix, r.prefix_len, dst))
        .max_by_key(|r| r.prefix_len)
}

/// The next hop for `dst`: the gateway of the longest matching route, or
/// `dst` itself (on-link, also when nothing matches).
pub(super) fn next_hop(routes: &[Route], dst: IpAddr) -> IpAddr {
    lookup(routes, dst).and_then(|r| r.gateway).unwrap_or(dst)
}

/// The on-link prefix (`prefix`, `len`) that packets to `dst` leave by:
/// the longest on-link route containing its next hop.
pub(super) fn on_link_prefix(routes: &[Route], dst: IpAddr) -> Option<(IpAddr, u8)> {
    let hop = next_hop(routes, dst);
    routes
        .iter()
        .filter(|r| r.gateway.is_none() && contains(r.prefix, r.prefix_len, hop))
        .max_by_key(|r| r.prefix_len)
        .map(|r| (r.prefix, r.prefix_len))
}

impl Stack {
    /// Replaces the route table (as `ip route` would); connections made
    /// already keep going where the new table sends them.
    pub fn set_routes(&mut self, routes: Vec<Route>) {
        self.cfg.routes = routes;
    }

    /// The route table.
    pub fn routes(&self) -> &[Route] {
        &self.cfg.routes
    }

    /// Whether a packet to `dst` can be sent at all: it is for this host,
    /// the table is empty (the device is the default), or a route matches.
    pub(super) fn routable(&self, dst: IpAddr) -> bool {
        self.is_local(dst)
            || self.cfg.routes.is_empty()
            || lookup(&self.cfg.routes, dst).is_some()
            // The limited broadcast goes out of the link, route or not, and
            // IPv6 link-local addresses are on-link on every interface
            // (Linux adds fe80::/64 to each).
            || matches!(dst, IpAddr::V4(v4) if v4.is_broadcast())
            || matches!(dst, IpAddr::V6(v6) if v6.is_unicast_link_local())
            // A group is reached on the device, route or not: Linux needs
            // a route or IP_MULTICAST_IF to choose the interface, and a
            // stack has one.
            || dst.is_multicast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_no_match_is_on_link() {
        let gw: IpAddr = "198.18.0.254".parse().unwrap();
        let routes = [
            Route {
                prefix: "0.0.0.0".parse().unwrap(),
                prefix_len: 0,
                gateway: Some(gw),
            },
            Route {
                prefix: "198.18.0.0".parse().unwrap(),
                prefix_len: 24,
                gateway: None,
            },
        ];
        let near: IpAddr = "198.18.0.7".parse().unwrap();
        let far: IpAddr = "198.19.3.4".parse().unwrap();
        assert_eq!(next_hop(&routes, near), near);
        assert_eq!(next_hop(&routes, far), gw);
        assert_eq!(next_hop(&[], far), far);
        assert!(lookup(&routes[1..], far).is_none());
    }
}
