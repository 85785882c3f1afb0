//! Per-connection counters: every drop reason and every notable event, for
//! `berth ss`, logs and tests. Counters only ever increase; every segment
//! drop is counted (and logged) through one call,
//! `Connection::drop_segment` (`connection/log.rs`).

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Segments handed to `on_segment`.
    pub segs_in: u64,
    /// Segments produced by `poll_transmit`.
    pub segs_out: u64,
    /// Payload octets accepted into the receive queue (duplicates excluded).
    pub bytes_in: u64,
    /// Payload octets acknowledged by the peer.
    pub bytes_acked: u64,
    /// Payload octets sent, retransmissions included.
    pub bytes_out: u64,
    /// Segments retransmitted, for any reason.
    pub retransmits: u64,
    /// Retransmissions on duplicate ACKs or SACK loss detection.
    pub fast_retransmits: u64,
    /// Retransmission timer expiries.
    pub rto_fired: u64,
    /// Loss-recovery episodes entered (RACK, or duplicate ACKs).
    pub recoveries: u64,
    /// Loss-recovery episodes that used SACK information.
    pub sack_recoveries: u64,
    /// Duplicate ACKs received.
    pub dup_acks: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Challenge or out-of-window ACKs suppressed by the rate limit.
    pub acks_rate_limited: u64,
    /// Segments dropped by PAWS (RFC 7323 section 5).
    pub paws_drops: u64,
    /// Segments dropped as outside the receive window.
    pub out_of_window: u64,
    /// Segments dropped for an unacceptable ACK field.
    pub bad_acks: u64,
    /// Segments dropped because they carried no ACK when one was required.
    pub no_ack_drops: u64,
    /// Segments dropped for another reason: a RST in the window but not at
    /// RCV.NXT or a SYN on a synchronized connection (both answered with a
    /// challenge ACK, RFC 5961), in SYN-SENT one with neither SYN nor an
    /// acceptable RST, any after CLOSED.
    pub other_drops: u64,
    /// Segments that arrived out of order and were queued.
    pub out_of_order: u64,
    /// Payload octets dropped because the receive queue could not hold them.
    pub recv_queue_drops: u64,
    /// Zero-window probes sent.
    pub window_probes: u64,
    /// Keepalive probes sent.
    pub keepalives: u64,
    /// RSTs sent.
    pub resets_sent: u64,
    /// Acceptable RSTs received.
    pub resets_received: u64,
    /// D-SACK blocks received: duplicates the peer got (RFC 2883).
    pub dsacks: u64,
    /// D-SACK blocks sent: duplicates we got.
    pub dsacks_sent: u64,
    /// Window reductions undone as spurious (Eifel, D-SACK, F-RTO).
    pub undos: u64,
    /// Retransmission timeouts found spurious (F-RTO, Eifel).
    pub spurious_rtos: u64,
    /// RACK reordering timer expiries (RFC 8985 6.3).
    pub reo_timeouts: u64,
    /// Segments that arrived marked Congestion Experienced (RFC 3168).
    pub ecn_ce_received: u64,
    /// Window reductions for an ECN echo.
    pub ecn_reductions: u64,
    /// Tail loss probes sent (RFC 8985 7).
    pub loss_probes: u64,
    /// Losses a tail loss probe repaired (the congestion window was cut).
    pub loss_probe_recoveries: u64,
}
