//! Per-stack counters: frames in and out and every reason a packet was
//! dropped, for `berth ss`, logs and tests. Every drop is counted (and
//! logged) through one call, `Stack::dropped` (`stack/drops.rs`).

/// Counters of one stack. They only increase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StackStats {
    /// Frames handed to `handle_frame`.
    pub frames_in: u64,
    /// Frames produced by `poll_transmit`.
    pub frames_out: u64,
    /// Not an IP packet we can parse (bad version, truncated, bad header checksum).
    pub ip_malformed: u64,
    /// Addressed to an address that is not ours.
    pub not_for_us: u64,
    /// IPv4 and IPv6 fragments taken in for reassembly (atomic IPv6
    /// fragments, whole datagrams, are not counted).
    pub frag_in: u64,
    /// Datagrams reassembled and delivered.
    pub frag_reassembled: u64,
    /// Fragments that were exact duplicates (ignored).
    pub frag_duplicates: u64,
    /// Datagrams dropped because fragments overlapped.
    pub frag_overlaps: u64,
    /// Fragments dropped because their family's reassembly memory was full.
    pub frag_no_memory: u64,
    /// Datagrams dropped for having too many fragments.
    pub frag_too_many: u64,
    /// Fragments (or datagrams) dropped as inconsistent: bad lengths or
    /// offsets, an IPv6 first fragment without its whole header chain, a
    /// reassembled packet too long or fragmented again.
    pub frag_malformed: u64,
    /// Incomplete datagrams freed by the reassembly timeout.
    pub frag_timeouts: u64,
    /// Upper-layer protocols we do not speak.
    pub unknown_protocol: u64,
    /// TCP segments that failed to parse or whose checksum was wrong.
    pub tcp_malformed: u64,
    /// UDP datagrams that failed to parse or whose checksum was wrong.
    pub udp_malformed: u64,
    /// ICMP messages that failed to parse or whose checksum was wrong.
    pub icmp_malformed: u64,
    /// TCP segments for no connection or listener (answered with RST).
    pub tcp_no_socket: u64,
    /// ACKs to a listener that complete no handshake (no connection, no
    /// valid SYN cookie), answered with RST (RFC 9293 3.10.7.2).
    pub tcp_listener_acks: u64,
    /// Other segments to a listener that start nothing (a RST, neither SYN
    /// nor ACK, a SYN from an address that cannot be a peer), dropped.
    pub tcp_listener_stray: u64,
    /// UDP datagrams for no socket (answered with port unreachable).
    pub udp_no_socket: u64,
    /// UDP datagrams dropped because the socket's queue was full.
    pub udp_queue_full: u64,
    /// UDP datagrams from a peer other than the one their socket is
    /// connected to, dropped.
    pub udp_other_peer: u64,
    /// SYNs that found a listener's SYN queue full (answered with a cookie,
    /// or dropped when cookies are off).
    pub syn_queue_overflow: u64,
    /// SYNs and final ACKs dropped because a listener's accept queue was
    /// full (Linux `ListenOverflows`).
    pub accept_queue_overflow: u64,
    /// New connections refused because `max_sockets` was reached.
    pub socket_limit: u64,
    /// New connections refused because `max_conns_per_listener` was reached.
    pub listener_conn_limit: u64,
    /// New connections refused because `max_buffer_memory` was reached.
    pub buffer_memory_limit: u64,
    /// SYN-ACKs sent with a SYN cookie (Linux `SyncookiesSent`).
    pub syncookies_sent: u64,
    /// Final ACKs whose cookie was valid (Linux `SyncookiesRecv`).
    pub syncookies_validated: u64,
    /// ACKs to a listener whose cookie was not valid (Linux
    /// `SyncookiesFailed`).
    pub syncookies_failed: u64,
    /// RSTs sent for segments without a connection.
    pub resets_sent: u64,
    /// ICMP echo requests answered.
    pub echo_replies: u64,
    /// ICMP errors sent.
    pub icmp_errors_sent: u64,
    /// ICMP messages not sent because of the rate limit.
    pub icmp_rate_limited: u64,
    /// ICMP errors received and handed to a socket.
    pub icmp_errors_received: u64,
    /// Link frames we could not use (Ethernet, ARP, NDP).
    pub link_malformed: u64,
    /// ARP requests for our addresses answered.
    pub arp_replies: u64,
    /// ARP requests and Neighbor Solicitations sent.
    pub neighbor_solicits: u64,
    /// Neighbor Advertisements sent.
    pub neighbor_adverts: u64,
    /// Outbound connections that took over a 4-tuple in TIME-WAIT.
    pub time_wait_reused: u64,
    /// ICMP errors received and ignored: one quoting a TCP sequence number
    /// outside the connection's unacknowledged data (RFC 5927 4.1), about
    /// a packet that never left this host, for no socket, too short, or of
    /// a code we do not act on.
    pub icmp_errors_ignored: u64,
    /// Packets from a source no other host can have: one of our own
    /// addresses (the "land" attack), loopback, multicast or broadcast
    /// (Linux's martian sources).
    pub martian_source: u64,
    /// Packets from the device to a loopback address (Linux's martian
    /// destinations), dropped.
    pub martian_destination: u64,
    /// Ready-made packets (resets, ICMP, UDP datagrams, SYN cookies)
    /// dropped because the output queue was full: the device is not
    /// draining `poll_transmit` fast enough.
    pub out_queue_full: u64,
    /// Packets the stack sent to itself (to a loopback address or one of
    /// its own) and took back in without the device.
    pub loopback_packets: u64,
    /// IGMPv3 Membership Reports sent.
    pub igmp_reports_out: u64,
    /// MLDv2 Reports sent.
    pub mld_reports_out: u64,
    /// IGMP Membership Queries received.
    pub igmp_queries_in: u64,
    /// MLD Queries received (and valid: link-local source, hop limit 1,
    /// Router Alert).
    pub mld_queries_in: u64,
    /// UDP datagrams to a multicast group delivered to at least one
    /// socket.
    pub multicast_in: u64,
    /// Packets (or Ethernet frames) to a multicast group this host does
    /// not listen to, dropped.
    pub multicast_not_joined: u64,
    /// IGMP messages that failed to parse or whose checksum was wrong, and
    /// MLD Queries from a source that is not link-local, with a hop limit
    /// other than 1 or without the Router Alert option, dropped.
    pub igmp_malformed: u64,
    /// Copies of our own datagrams to a group this host joined, taken
    /// back in (`IP_MULTICAST_LOOP`).
    pub multicast_loopback: u64,
}
