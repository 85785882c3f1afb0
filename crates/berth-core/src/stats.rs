//! Per-stack counters: frames in and out and every reason a packet was
//! dropped, for `berth ss`, logs and tests.

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
    /// IP fragments (not yet reassembled).
    pub fragments_dropped: u64,
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
    /// UDP datagrams for no socket (answered with port unreachable).
    pub udp_no_socket: u64,
    /// UDP datagrams dropped because the socket's queue was full.
    pub udp_queue_full: u64,
    /// SYNs dropped because a listener's SYN queue was full.
    pub syn_queue_overflow: u64,
    /// Final ACKs dropped because a listener's accept queue was full.
    pub accept_queue_overflow: u64,
    /// New connections refused because `max_sockets` was reached.
    pub socket_limit: u64,
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
}
