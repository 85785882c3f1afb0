//! Per-stack counters: frames in and out and every reason a packet was
//! dropped, for `berth ss`, logs and tests. Every drop is counted (and
//! logged) through one call, `Stack::dropped` (`stack/drops.rs`).
//!
//! The counters are declared once, in the list below: the same list makes
//! the fields of [`StackStats`] and [`StackStats::counters`], so a new
//! counter is listed (and shown by `berth ss --stats`) as soon as it exists.

/// Defines [`StackStats`] with one `u64` field per name (its doc comment
/// kept), and [`StackStats::counters`] listing them in the same order.
macro_rules! stack_stats {
    ($($(#[$attr:meta])* $name:ident,)*) => {
        /// Counters of one stack. They only increase.
        ///
        /// [`StackStats::counters`] lists every one by name, in the order
        /// below (what `berth ss --stats` and the control socket show).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct StackStats {
            $($(#[$attr])* pub $name: u64,)*
        }

        impl StackStats {
            /// How many counters there are.
            pub const COUNT: usize = [$(stringify!($name)),*].len();

            /// Every counter, as `(field name, value)`, in declaration order.
            ///
            /// ```
            /// use berth_core::stats::StackStats;
            ///
            /// let stats = StackStats { frames_in: 3, ..StackStats::default() };
            /// let counters = stats.counters();
            /// assert_eq!(counters.len(), StackStats::COUNT);
            /// assert!(counters.contains(&("frames_in", 3)));
            /// ```
            pub fn counters(&self) -> [(&'static str, u64); Self::COUNT] {
                [$((stringify!($name), self.$name)),*]
            }
        }
    };
}

stack_stats! {
    /// Frames handed to `handle_frame`.
    frames_in,
    /// Frames produced by `poll_transmit`.
    frames_out,
    /// Not an IP packet we can parse (bad version, truncated, bad header checksum).
    ip_malformed,
    /// Addressed to an address that is not ours.
    not_for_us,
    /// IPv4 and IPv6 fragments taken in for reassembly (atomic IPv6
    /// fragments, whole datagrams, are not counted).
    frag_in,
    /// Datagrams reassembled and delivered.
    frag_reassembled,
    /// Fragments that were exact duplicates (ignored).
    frag_duplicates,
    /// Datagrams dropped because fragments overlapped.
    frag_overlaps,
    /// Fragments dropped because their family's reassembly memory was full.
    frag_no_memory,
    /// Datagrams dropped for having too many fragments.
    frag_too_many,
    /// Fragments (or datagrams) dropped as inconsistent: bad lengths or
    /// offsets, an IPv6 first fragment without its whole header chain, a
    /// reassembled packet too long or fragmented again.
    frag_malformed,
    /// Incomplete datagrams freed by the reassembly timeout.
    frag_timeouts,
    /// Upper-layer protocols we do not speak.
    unknown_protocol,
    /// TCP segments that failed to parse or whose checksum was wrong.
    tcp_malformed,
    /// UDP datagrams that failed to parse or whose checksum was wrong.
    udp_malformed,
    /// ICMP messages that failed to parse or whose checksum was wrong.
    icmp_malformed,
    /// TCP segments for no connection or listener (answered with RST).
    tcp_no_socket,
    /// ACKs to a listener that complete no handshake (no connection, no
    /// valid SYN cookie), answered with RST (RFC 9293 3.10.7.2).
    tcp_listener_acks,
    /// Other segments to a listener that start nothing (a RST, neither SYN
    /// nor ACK, a SYN from an address that cannot be a peer), dropped.
    tcp_listener_stray,
    /// UDP datagrams for no socket (answered with port unreachable).
    udp_no_socket,
    /// UDP datagrams dropped because the socket's queue was full.
    udp_queue_full,
    /// UDP datagrams from a peer other than the one their socket is
    /// connected to, dropped.
    udp_other_peer,
    /// SYNs that found a listener's SYN queue full (answered with a cookie,
    /// or dropped when cookies are off).
    syn_queue_overflow,
    /// SYNs and final ACKs dropped because a listener's accept queue was
    /// full (Linux `ListenOverflows`).
    accept_queue_overflow,
    /// Retransmitted SYNs dropped while a deferring listener held the
    /// first for the application's decision.
    syn_held_retransmits,
    /// Echo requests to other hosts dropped because the echo socket's queue
    /// was full.
    echo_queue_full,
    /// New connections refused because `max_sockets` was reached.
    socket_limit,
    /// New connections refused because `max_conns_per_listener` was reached.
    listener_conn_limit,
    /// New connections refused because `max_buffer_memory` was reached.
    buffer_memory_limit,
    /// SYN-ACKs sent with a SYN cookie (Linux `SyncookiesSent`).
    syncookies_sent,
    /// Final ACKs whose cookie was valid (Linux `SyncookiesRecv`).
    syncookies_validated,
    /// ACKs to a listener whose cookie was not valid (Linux
    /// `SyncookiesFailed`).
    syncookies_failed,
    /// RSTs sent for segments without a connection.
    resets_sent,
    /// ICMP echo requests answered.
    echo_replies,
    /// ICMP errors sent.
    icmp_errors_sent,
    /// ICMP messages not sent because of the rate limit.
    icmp_rate_limited,
    /// ICMP errors received and handed to a socket.
    icmp_errors_received,
    /// Link frames we could not use (Ethernet, ARP, NDP).
    link_malformed,
    /// ARP requests for our addresses answered.
    arp_replies,
    /// ARP requests and Neighbor Solicitations sent.
    neighbor_solicits,
    /// Neighbor Advertisements sent.
    neighbor_adverts,
    /// Outbound connections that took over a 4-tuple in TIME-WAIT.
    time_wait_reused,
    /// Connections in TIME-WAIT, closed by the application, ended before
    /// their time to make room for a new socket at `max_sockets` (Linux
    /// counts its equivalent, a TIME-WAIT not made for want of room, as
    /// `TCPTimeWaitOverflow`).
    time_wait_recycled,
    /// ICMP errors received and ignored: one quoting a TCP sequence number
    /// outside the connection's unacknowledged data (RFC 5927 4.1), about
    /// a packet that never left this host, for no socket, too short, or of
    /// a code we do not act on.
    icmp_errors_ignored,
    /// Packets from a source no other host can have: one of our own
    /// addresses (the "land" attack), loopback, multicast or broadcast
    /// (Linux's martian sources).
    martian_source,
    /// Packets from the device to a loopback address (Linux's martian
    /// destinations), dropped.
    martian_destination,
    /// Ready-made packets (resets, ICMP, UDP datagrams, SYN cookies)
    /// dropped because the output queue was full: the device is not
    /// draining `poll_transmit` fast enough.
    out_queue_full,
    /// Packets the stack sent to itself (to a loopback address or one of
    /// its own) and took back in without the device.
    loopback_packets,
    /// IGMPv3 Membership Reports sent.
    igmp_reports_out,
    /// MLDv2 Reports sent.
    mld_reports_out,
    /// IGMP Membership Queries received.
    igmp_queries_in,
    /// MLD Queries received (and valid: link-local source, hop limit 1,
    /// Router Alert).
    mld_queries_in,
    /// UDP datagrams to a multicast group delivered to at least one
    /// socket.
    multicast_in,
    /// Packets (or Ethernet frames) to a multicast group this host does
    /// not listen to, dropped.
    multicast_not_joined,
    /// IGMP messages that failed to parse or whose checksum was wrong, and
    /// MLD Queries from a source that is not link-local, with a hop limit
    /// other than 1 or without the Router Alert option, dropped.
    igmp_malformed,
    /// Copies of our own datagrams to a group this host joined, taken
    /// back in (`IP_MULTICAST_LOOP`).
    multicast_loopback,
}
