//! Membership Reports: IGMPv3 (RFC 3376) for IPv4 groups, MLDv2 (RFC 3810)
//! for IPv6 ones, as a host sends them.
//!
//! - A socket's join or leave that changes the host's membership sends a
//!   State-Change Report at once (CHANGE_TO_EXCLUDE with no sources to
//!   join, CHANGE_TO_INCLUDE with none to leave: berth's members want
//!   every source), and once more after a random delay of up to a second
//!   (Robustness Variable 2). Changes still pending go in the same Report.
//! - A Query is answered after a random delay within its Max Resp Time:
//!   a General Query with a MODE_IS_EXCLUDE record for every group, a
//!   Group-Specific one for its group (a Group-and-Source-Specific one is
//!   answered as Group-Specific: a member of every source wants the ones
//!   asked about too).
//!
//! Reports go to 224.0.0.22 or ff02::16 with a TTL or hop limit of 1 and a
//! Router Alert option, from one of our addresses (IGMP; 0.0.0.0 without
//! one) or our link-local address (MLD; `::` without one, as Linux does
//! when it has none). An MLD Query counts only from a link-local source,
//! with hop limit 1 and the Router Alert (RFC 3810 section 6.2).
//!
//! Not done: the IGMPv1/v2 and MLDv1 compatibility modes (RFC 3376 section
//! 7, RFC 3810 section 8): older Queries are answered with v3 and v2
//! Reports all the same; an IGMPv3 Query without the Router Alert is
//! acted on too (RFC 3376 section 9.1 says hosts SHOULD ignore it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Stack;
use super::drops::{DropReason, Flow};
use super::multicast::{ROBUSTNESS, UNSOLICITED_REPORT_INTERVAL, family, reportable};
use super::output::MAX_QUEUED_PACKETS;
use crate::time::{Duration, Instant};
use crate::wire::group_record::{GroupAddr, Record, RecordType, RecordsBuf};
use crate::wire::icmpv6::mld;
use crate::wire::{
    ChecksumCaps, Ecn, IgmpPacket, IgmpRepr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, RxChecksum, igmp,
};

/// The IPv4 header of a Report: 20 bytes and the Router Alert option.
const IGMP_IP_HEADER: usize = 24;

/// The IPv6 header of a Report and its Hop-by-Hop header.
const MLD_IP_HEADER: usize = 48;

/// Before the records: the IGMPv3 Report's 8-byte header, and MLDv2's.
const REPORT_HEADER: usize = 8;

/// RFC 3376 section 4: "IP Precedence of Internetwork Control (e.g., Type
/// of Service 0xc0)": DSCP 48 (CS6).
const INTERNETWORK_CONTROL: u8 = 0xc0 >> 2;

impl Stack {
    /// The host's membership of `group` just changed: a State-Change
    /// Report now, retransmitted later.
    pub(super) fn state_change(&mut self, now: Instant, group: IpAddr) {
        if let Some(g) = self.groups.groups.get_mut(&group) {
            //= https://www.rfc-editor.org/rfc/rfc3376#section-5.1
            //# To cover the possibility of the State-Change Report being missed by
            //# one or more multicast routers, it is retransmitted [Robustness
            //# Variable] - 1 more times, at intervals chosen at random from the
            //# range (0, [Unsolicited Report Interval]).
            g.changes_left = ROBUSTNESS;
        }
        self.send_state_changes(now, family(group));
    }

    /// Sends one State-Change Report with every group of the family whose
    /// changes are not all sent, and schedules the next.
    fn send_state_changes(&mut self, now: Instant, family: usize) {
        let mut records = Vec::new();
        for (&group, g) in &mut self.groups.groups {
            if super::multicast::family(group) != family || g.changes_left == 0 {
                continue;
            }
            g.changes_left -= 1;
            let kind = if g.sockets > 0 {
                RecordType::ChangeToExclude
            } else {
                RecordType::ChangeToInclude
            };
            records.push((kind, group));
        }
        let more = self
            .groups
            .groups
            .iter()
            .any(|(&ip, g)| super::multicast::family(ip) == family && g.changes_left > 0);
        self.groups.prune();
        self.groups.change_at[family] = if more {
            let interval = UNSOLICITED_REPORT_INTERVAL.as_micros() as u64;
            Some(now + Duration::from_micros(1 + self.rng.below(interval)))
        } else {
            None
        };
        self.send_reports(family, &records);
    }

    /// The Report timers due at `now`.
    pub(super) fn membership_timeout(&mut self, now: Instant) {
        // Nothing joined and nothing pending: the common case, at every
        // timeout of every connection.
        if self.groups.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for family in 0..2 {
            if self.groups.change_at[family].is_some_and(|at| at <= now) {
                self.send_state_changes(now, family);
            }
            let general = self.groups.general_at[family].is_some_and(|at| at <= now);
            if general {
                self.groups.general_at[family] = None;
            }
            let mut records = Vec::new();
            for (&group, g) in &mut self.groups.groups {
                if super::multicast::family(group) != family {
                    continue;
                }
                let asked = g.query_at.is_some_and(|at| at <= now);
                if asked {
                    g.query_at = None;
                }
                //= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
                //# 1. If the expired timer is the interface timer (i.e., it is a pending
                //#    response to a General Query), then one Current-State Record is
                //#    sent for each multicast address for which the specified interface
                //#    has reception state, as described in section 3.2.
                if (general || asked) && g.sockets > 0 && reportable(group) {
                    records.push((RecordType::ModeIsExclude, group));
                }
            }
            self.groups.prune();
            if !records.is_empty() {
                self.send_reports(family, &records);
            }
        }
    }

    /// A Query for `group` (unspecified: a General Query) that allows
    /// `max_resp` to answer.
    fn query_input(&mut self, now: Instant, family: usize, group: IpAddr, max_resp: Duration) {
        //= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
        //# When a new Query with the Router-Alert option arrives on an
        //# interface, provided the system has state to report, a delay for a
        //# response is randomly selected in the range (0, [Max Resp Time]) where
        //# Max Resp Time is derived from Max Resp Code in the received Query
        //# message.
        let has_state = self
            .groups
            .joined()
            .any(|g| super::multicast::family(g) == family && reportable(g));
        if !has_state {
            return;
        }
        let max = max_resp.as_micros() as u64;
        let at = now + Duration::from_micros(self.rng.below(max + 1));
        //= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
        //# 1. If there is a pending response to a previous General Query
        //#    scheduled sooner than the selected delay, no additional response
        //#    needs to be scheduled.
        if self.groups.general_at[family].is_some_and(|g| g <= at) {
            return;
        }
        if group.is_unspecified() {
            //= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
            //# 2. If the received Query is a General Query, the interface timer is
            //#    used to schedule a response to the General Query after the
            //#    selected delay.  Any previously pending response to a General
            //#    Query is canceled.
            self.groups.general_at[family] = Some(at);
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
        //# The new response is
        //# scheduled to be sent at the earliest of the remaining time for the
        //# pending report and the selected delay.
        if let Some(g) = self.groups.groups.get_mut(&group)
            && g.sockets > 0
            && reportable(group)
        {
            g.query_at = Some(g.query_at.map_or(at, |p| p.min(at)));
        }
    }

    /// An IGMP message: Queries are acted on, other hosts' Reports ignored.
    pub(super) fn igmp_input(&mut self, now: Instant, src: IpAddr, dst: IpAddr, bytes: &[u8]) {
        let Ok(packet) = IgmpPacket::new_checked(bytes) else {
            self.dropped(DropReason::IgmpMalformed, Flow::Ip(src, dst));
            return;
        };
        match IgmpRepr::parse(&packet, RxChecksum::Verify) {
            Ok(IgmpRepr::Query(q)) => {
                self.stats.igmp_queries_in += 1;
                tracing::trace!(%src, group = %q.group, version = q.version, "IGMP query");
                let max_resp = q.max_resp_time();
                self.query_input(now, 0, IpAddr::V4(q.group), max_resp);
            }
            //= https://www.rfc-editor.org/rfc/rfc3376#section-5
            //# (Received IGMP messages of types other than Query are silently
            //# ignored, except as required for interoperation with earlier versions
            //# of IGMP.)
            Ok(_) => {}
            Err(_) => self.dropped(DropReason::IgmpMalformed, Flow::Ip(src, dst)),
        }
    }

    /// An MLD message (an ICMPv6 type 130 to 132 or 143), in a packet with
    /// `hop_limit` and the Router Alert value `router_alert`.
    pub(super) fn mld_input(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        bytes: &[u8],
        hop_limit: u8,
        router_alert: Option<u16>,
    ) {
        let flow = Flow::Ip(IpAddr::V6(src), IpAddr::V6(dst));
        let Ok(packet) = mld::Packet::new_checked(bytes) else {
            self.dropped(DropReason::IcmpMalformed, flow);
            return;
        };
        let Ok(repr) = mld::Repr::parse(&packet, src, dst, self.rx_icmp_checksums()) else {
            self.dropped(DropReason::IcmpMalformed, flow);
            return;
        };
        let mld::Repr::Query(q) = repr else {
            // Other listeners' Reports and Dones: nothing for a host to do.
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc3810#section-5.1.14
        //# If a node (router or host) receives a Query message with
        //# the IPv6 Source Address set to the unspecified address (::), or any
        //# other address that is not a valid IPv6 link-local address, it MUST
        //# silently discard the message and SHOULD log a warning.
        //= https://www.rfc-editor.org/rfc/rfc3810#section-6.2
        //# Upon reception of an MLD message that contains a Query, the node
        //# checks if the source address of the message is a valid link-local
        //# address, if the Hop Limit is set to 1, and if the Router Alert
        //# option is present in the Hop-By-Hop Options header of the IPv6
        //# packet.  If any of these checks fails, the packet is dropped.
        if !src.is_unicast_link_local() || hop_limit != 1 || router_alert != Some(0) {
            self.dropped(DropReason::MldQueryInvalid, flow);
            return;
        }
        self.stats.mld_queries_in += 1;
        tracing::trace!(%src, group = %q.group, version = q.version, "MLD query");
        let max_resp = q.max_resp_time();
        self.query_input(now, 1, IpAddr::V6(q.group), max_resp);
    }

    /// How to treat the checksum of an ICMPv6 message being handled: a
    /// looped-back one is trusted like any other.
    fn rx_icmp_checksums(&self) -> ChecksumCaps {
        if self.rx_csum_trusted {
            ChecksumCaps {
                rx: RxChecksum::Trust,
                ..ChecksumCaps::FULL
            }
        } else {
            ChecksumCaps::FULL
        }
    }

    /// Sends `records` in as few Reports of the family as fit the MTU.
    fn send_reports(&mut self, family: usize, records: &[(RecordType, IpAddr)]) {
        if family == 0 {
            let records: Vec<_> = records
                .iter()
                .filter_map(|&(k, g)| match g {
                    IpAddr::V4(g) => Some(Record::new(k, g)),
                    IpAddr::V6(_) => None,
                })
                .collect();
            for chunk in chunks(&records, self.cfg.mtu, IGMP_IP_HEADER) {
                self.send_igmp_report(&chunk);
            }
        } else {
            let records: Vec<_> = records
                .iter()
                .filter_map(|&(k, g)| match g {
                    IpAddr::V6(g) => Some(Record::new(k, g)),
                    IpAddr::V4(_) => None,
                })
                .collect();
            for chunk in chunks(&records, self.cfg.mtu, MLD_IP_HEADER) {
                self.send_mld_report(&chunk);
            }
        }
    }

    fn push_report(&mut self, packet: Vec<u8>, src: IpAddr, dst: IpAddr) -> bool {
        if self.out.len() >= MAX_QUEUED_PACKETS {
            self.dropped(DropReason::OutQueueFull, Flow::Ip(src, dst));
            return false;
        }
        self.out.push_back((packet, 0));
        true
    }

    fn send_igmp_report(&mut self, records: &RecordsBuf<Ipv4Addr>) {
        //= https://www.rfc-editor.org/rfc/rfc3376#section-4.2.13
        //# An IGMP report is sent with a valid IP source address for the
        //# destination subnet.  The 0.0.0.0 source address may be used by a
        //# system that has not yet acquired an IP address.
        let dst = IpAddr::V4(igmp::ALL_V3_ROUTERS);
        let src = match self.source_for(dst) {
            Some(IpAddr::V4(a)) => a,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let repr = IgmpRepr::Report(records.as_records());
        let len = repr.buffer_len();
        let mut packet = vec![0u8; IGMP_IP_HEADER + len];
        self.ip_ident = self.ip_ident.wrapping_add(1);
        //= https://www.rfc-editor.org/rfc/rfc3376#section-4
        //# Every IGMP message described in this document is sent with an IP
        //# Time-to-Live of 1, IP Precedence of Internetwork Control (e.g., Type
        //# of Service 0xc0), and carries an IP Router Alert option [RFC-2113] in
        //# its IP header.
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: igmp::ALL_V3_ROUTERS,
            next_header: IpProtocol::Igmp,
            payload_len: igmp::ROUTER_ALERT.len() + len,
            hop_limit: 1,
            dscp: INTERNETWORK_CONTROL,
            ecn: Ecn::NotEct,
            ident: self.ip_ident,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let Some(head) = packet.get_mut(..IGMP_IP_HEADER) else {
            return;
        };
        let mut header = Ipv4Packet::new_unchecked(head);
        ip.emit_header(&mut header);
        header.set_header_len(IGMP_IP_HEADER);
        header.options_mut().copy_from_slice(&igmp::ROUTER_ALERT);
        header.fill_checksum();
        let Some(body) = packet.get_mut(IGMP_IP_HEADER..) else {
            return;
        };
        repr.emit(&mut IgmpPacket::new_unchecked(body));
        if self.push_report(packet, IpAddr::V4(src), dst) {
            self.stats.igmp_reports_out += 1;
            tracing::debug!(records = records.as_records().count(), "IGMPv3 report sent");
        }
    }

    fn send_mld_report(&mut self, records: &RecordsBuf<Ipv6Addr>) {
        //= https://www.rfc-editor.org/rfc/rfc3810#section-5.2.13
        //# An MLDv2 Report MUST be sent with a valid IPv6 link-local source
        //# address, or the unspecified address (::), if the sending interface
        //# has not acquired a valid link-local address yet.
        // A stack configured without a link-local address never acquires
        // one: `::`, as Linux sends when it has none (`mld_newpack`).
        let src = self
            .cfg
            .addrs
            .iter()
            .find_map(|a| match a {
                IpAddr::V6(a) if a.is_unicast_link_local() => Some(*a),
                _ => None,
            })
            .unwrap_or(Ipv6Addr::UNSPECIFIED);
        let dst = mld::ALL_V2_ROUTERS;
        let repr = mld::Repr::Report(records.as_records());
        let len = repr.buffer_len();
        let mut packet = vec![0u8; MLD_IP_HEADER + len];
        //= https://www.rfc-editor.org/rfc/rfc3810#section-5
        //# All MLDv2 messages
        //# described in this document MUST be sent with a link-local IPv6 Source
        //# Address, an IPv6 Hop Limit of 1, and an IPv6 Router Alert option
        //# [RFC2711] in a Hop-by-Hop Options header.
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::HopByHop,
            payload_len: mld::HOP_BY_HOP_ROUTER_ALERT.len() + len,
            hop_limit: 1,
            traffic_class: 0,
            flow_label: 0,
        };
        let Some(head) = packet.get_mut(..40) else {
            return;
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(head));
        if let Some(hbh) = packet.get_mut(40..MLD_IP_HEADER) {
            hbh.copy_from_slice(&mld::HOP_BY_HOP_ROUTER_ALERT);
        }
        let Some(body) = packet.get_mut(MLD_IP_HEADER..) else {
            return;
        };
        repr.emit(
            &mut mld::Packet::new_unchecked(body),
            src,
            dst,
            ChecksumCaps::FULL,
        );
        if self.push_report(packet, IpAddr::V6(src), IpAddr::V6(dst)) {
            self.stats.mld_reports_out += 1;
            tracing::debug!(records = records.as_records().count(), "MLDv2 report sent");
        }
    }
}

/// `records` in groups that each fit a Report within `mtu` behind
/// `header` bytes of IP headers.
//= https://www.rfc-editor.org/rfc/rfc3376#section-4.2.16
//# If the set of Group Records required in a Report does not fit within
//# the size limit of a single Report message (as determined by the MTU
//# of the network on which it will be sent), the Group Records are sent
//# in as many Report messages as needed to report the entire set.
fn chunks<A: GroupAddr>(
    records: &[Record<'_, A>],
    mtu: usize,
    header: usize,
) -> Vec<RecordsBuf<A>> {
    let room = mtu.saturating_sub(header + REPORT_HEADER);
    let mut out = Vec::new();
    let mut buf = RecordsBuf::new();
    for r in records {
        if !buf.is_empty() && buf.len() + r.buffer_len() > room {
            out.push(std::mem::take(&mut buf));
        }
        buf.push(r);
    }
    if !buf.is_empty() {
        out.push(buf);
    }
    out
}
